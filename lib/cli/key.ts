/**
 * `narsign key generate NAME` and `narsign key public [FILE]` — like `nix key generate-secret`,
 * `nix-store --generate-binary-cache-key` and `nix key convert-secret-to-public`.
 */
import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { NarsignError } from '../errors';
import { generateSecretKey, toPublicKey } from '../keys';
import { describeKeyFile, readKeyFile, writeKeyFile } from '../key-files';
import { readStdinBounded } from '../bounded-read';
import { UsageError } from './exit-codes';
import { warn, writeOut } from './output';

export function keyCommand(): Command {
  const key = new Command('key').description('create keys and derive public keys');

  key
    .command('generate')
    .argument('<name>', 'key name, e.g. cache.example.org-1 (no ":" or whitespace)')
    .description('generate a secret key and print it (NAME:BASE64), or write a key pair to files')
    .option('--secret-file <file>', 'write the secret key here (mode 0600) instead of printing it')
    .option('--public-file <file>', 'write the public key here (with --secret-file)')
    .option('--force', 'replace existing key files')
    .addHelpText('after', `
Examples:
  narsign key generate cache.example.org-1 > secret.key
  narsign key generate cache.example.org-1 --secret-file secret.key --public-file public.key`)
    .action(async (name: string, options: { secretFile?: string; publicFile?: string; force?: boolean }) => {
      if (Boolean(options.secretFile) !== Boolean(options.publicFile)) {
        throw new UsageError('--secret-file and --public-file go together', 'narsign key generate --help');
      }
      let secret: string;
      try {
        secret = generateSecretKey(name);
      } catch (err) {
        throw new UsageError((err as Error).message, 'narsign key generate --help');
      }
      if (!options.secretFile || !options.publicFile) {
        await writeOut(secret); // no trailing newline, like `nix key generate-secret`
        return;
      }
      if (path.resolve(options.secretFile) === path.resolve(options.publicFile)) {
        throw new UsageError('--secret-file and --public-file must be different files', 'narsign key generate --help');
      }
      for (const file of [options.secretFile, options.publicFile]) {
        if (!options.force && fs.existsSync(file)) {
          throw new UsageError(`'${file}' already exists; use --force to replace it`, 'narsign key generate --help');
        }
      }
      writeKey(options.secretFile, secret, 0o600, options.force);
      try {
        writeKey(options.publicFile, toPublicKey(secret), 0o644, options.force);
      } catch (error) {
        // Leave no half-made pair behind (a secret file we just created, whose public file is missing).
        if (!options.force) fs.rmSync(options.secretFile, { force: true });
        throw error;
      }
    });

  key
    .command('public')
    .argument('[file]', 'secret key file (default: standard input)')
    .description('print the public key of a secret key')
    .addHelpText('after', `
Examples:
  narsign key public secret.key
  narsign key generate test-1 | narsign key public`)
    .action(async (file?: string) => {
      // The file's name is never echoed: it may be a key pasted where the file belongs (lib/cli/keys-option.ts).
      const fromFile = file !== undefined && file !== '-';
      const text = fromFile ? readKeyFile(file, { secret: true, warn, label: 'the key file given to key public' }) : await readStdin();
      await writeOut(toPublicKey(text, fromFile ? `secret key in ${describeKeyFile(file)}` : 'secret key on standard input'));
    });

  return key;
}

/** writeKeyFile, with errors naming the key file (not its temporary file). */
function writeKey(file: string, content: string, mode: number, force: boolean | undefined): void {
  try {
    writeKeyFile(file, content, { mode, force });
  } catch (error) {
    if (error instanceof NarsignError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied' : code ?? String(error);
    throw new NarsignError('ERR_KEY_FILE', `cannot write key file '${file}': ${why}`, { cause: error });
  }
}

/** Most bytes read from standard input or a --paths-from file (a key, a list of store paths). */
export const STDIN_LIMIT = 64 * 1024 * 1024;

/** Standard input as text, at most `limit` bytes (lib/bounded-read.ts). */
export async function readStdin(limit = STDIN_LIMIT): Promise<string> {
  const bytes = await readStdinBounded({ limit, tooLarge: () => new UsageError(`standard input is larger than ${limit} bytes`) });
  return bytes.toString('utf8');
}

