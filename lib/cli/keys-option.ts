/**
 * Where the CLI's keys come from. Secret keys: `-k FILE` (repeatable) and `--key-env VAR`. Trusted
 * public keys: `-t "K1 K2"` and `--trusted-key-file F`, else nix.conf found as Nix finds it
 * (or `--nix-conf FILE`). Errors name the file or variable and the key, never the secret.
 */
import fs from 'node:fs';
import { mayBeKeyMaterial, NarsignError } from '../errors';
import { readKeyFile } from '../key-files';
import { parsePublicKeys, parseSecretKey, PublicKey, SecretKey } from '../keys';
import { findNixConf, readNixConf } from '../nixconf';
import { UsageError } from './exit-codes';
import { warn } from './output';

export function secretKeysFrom(options: { keyFile?: string[]; keyEnv?: string[] }): SecretKey[] {
  const keys: SecretKey[] = [];
  for (const file of options.keyFile ?? []) {
    keys.push(parseSecretKey(readKeyFile(file, { secret: true, warn }), `secret key in '${file}'`));
  }
  for (const variable of options.keyEnv ?? []) {
    // `--key-env "$KEY"` (the value, not the variable's name) must not print the key back.
    if (mayBeKeyMaterial(variable)) throw new UsageError('--key-env takes the name of an environment variable, not a key (the value given is not shown)', 'narsign sign --help');
    const value = process.env[variable];
    if (value === undefined || value === '') throw new UsageError(`environment variable ${variable} (--key-env) is not set`, 'narsign sign --help');
    keys.push(parseSecretKey(value, `secret key in $${variable}`));
  }
  return keys;
}

export interface TrustedKeyOptions {
  trustedPublicKeys?: string[];
  trustedKeyFile?: string[];
  nixConf?: string;
}

/** The trusted keys a verify run uses, and where they came from (for messages). */
export function trustedKeysFrom(options: TrustedKeyOptions, hint = 'narsign verify --help'): { keys: PublicKey[]; source: string } {
  const given = [...(options.trustedPublicKeys ?? [])];
  const files = options.trustedKeyFile ?? [];
  if (given.length || files.length) {
    const keys: PublicKey[] = [];
    for (const list of given) {
      try {
        keys.push(...parsePublicKeys(list, '--trusted-public-keys'));
      } catch (error) {
        // A malformed key typed on the command line is a usage error (64), like a bad option value.
        if (error instanceof NarsignError) throw new UsageError(error.message, hint);
        throw error;
      }
    }
    for (const file of files) keys.push(...parsePublicKeys(readKeyFile(file), `trusted key file '${file}'`));
    return { keys, source: 'the command line' };
  }
  if (options.nixConf !== undefined) {
    // Nix skips a missing nix.conf; a file named on the command line must exist.
    let isFile = false;
    try {
      isFile = fs.statSync(options.nixConf).isFile();
    } catch {
      /* reported below */
    }
    if (!isFile) throw new NarsignError('ERR_PATH', `--nix-conf '${options.nixConf}': no such file`, { file: options.nixConf });
  }
  const conf = readNixConf(options.nixConf !== undefined ? { sources: options.nixConf } : { sources: findNixConf() });
  const where = conf.files.length ? conf.files.join(', ') : 'the built-in default';
  return { keys: conf.trustedPublicKeys, source: `nix.conf (${where})` };
}
