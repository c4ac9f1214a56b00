/**
 * `narsign sign -k FILE PATH…`: sign every narinfo of each cache directory or file (or `-`: one
 * narinfo from stdin to stdout). Thin over signCache / signNarinfoFiles (lib/cache.ts).
 */
import { Command, Option } from 'commander';
import fs from 'node:fs';
import { isCorruptCode, signCache, signNarinfoFiles, SignCacheOptions, SignCacheResult } from '../cache';
import { NarsignError, printable } from '../errors';
import { signLegacy2015 } from '../legacy2015';
import { formatNarinfo, NarInfo, parseNarinfo, removeSignatures } from '../narinfo';
import { parsePublicKeys, PublicKey } from '../keys';
import { parseShard } from '../shard';
import { signingRefusal, signParsedNarinfo, trustedKeySet, verifyNarinfo } from '../signatures';
import { collect, jsonOption, nonNegativeInteger, positiveInteger } from './collect';
import { interruptible } from './interrupt';
import { readNarinfoStdin } from '../bounded-read';
import { LOCK_FILE } from '../cache-lock';
import { EXIT_CORRUPT, EXIT_UNTRUSTED, UsageError } from './exit-codes';
import { secretKeysFrom } from './keys-option';
import { describeError, describeProblem, warn, writeOut } from './output';
import { createProgress } from './progress';
import { mergeResults, signExitCode, signSummary } from './report';

interface SignOptions {
  keyFile?: string[];
  keyEnv?: string[];
  force?: boolean;
  jobs?: number;
  shard?: string;
  fsync: boolean;
  remove?: string[];
  requireTrusted?: string[];
  dryRun?: boolean;
  format?: string;
  json?: boolean;
  lockTimeout?: number;
}

export function signCommand(): Command {
  return new Command('sign')
    .description('sign every narinfo in each PATH (a binary-cache directory or .narinfo files) with every key')
    .argument('<path...>', 'cache directories, .narinfo files, or - (one narinfo on stdin, signed to stdout)')
    .option('-k, --key-file <file>', 'secret key file (repeatable)', collect)
    .option('--key-env <var>', 'take a secret key from this environment variable (repeatable)', collect)
    .option('--force', 're-sign even where a valid signature by the key exists')
    .option('-j, --jobs <n>', 'crypto chunks in flight (default: twice the cores)', positiveInteger('--jobs'))
    .option('--shard <I/N>', 'only the narinfos of shard I of N (split a cache across runs)')
    .option('--no-fsync', 'do not fsync rewritten narinfos (faster; like Nix, not crash-safe)')
    .option('--remove <name>', 'drop signatures by this key name (key rotation; repeatable)', collect)
    .option('--require-trusted <keys>', 'only sign narinfos already trusted by these public keys', collect)
    .option('--dry-run', 'change nothing; report what would be signed')
    .option('--lock-timeout <seconds>', 'wait at most this long for another signer of the cache (default 600)', nonNegativeInteger('--lock-timeout'))
    .addOption(new Option('--format <format>', 'signature format').choices(['nix', '2015']).default('nix'))
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  narsign sign -k secret.key ./cache
  narsign sign -k new.key --remove cache.example.org-1 --require-trusted "$(cat old.pub)" ./cache
  narsign sign --key-env NARSIGN_KEY --shard 2/4 --no-fsync ./cache
  narsign sign -k secret.key - < x.narinfo > x.signed.narinfo

Exit status: 0 done; 1 some narinfo corrupt; 2 some narinfo skipped as untrusted (--require-trusted);
4 some other failure; 64 usage error.`)
    .action(async (paths: string[], options: SignOptions) => {
      const keys = secretKeysFrom(options);
      if (keys.length === 0 && !options.remove?.length) {
        throw new UsageError('no secret key: give -k FILE or --key-env VAR', 'narsign sign --help');
      }
      if (options.shard) parseShardOption(options.shard, 'narsign sign --help');
      let requireTrusted: PublicKey[] | undefined;
      if (options.requireTrusted?.length) {
        try {
          requireTrusted = parsePublicKeys(options.requireTrusted.join(' '), '--require-trusted');
        } catch (error) {
          if (error instanceof NarsignError) throw new UsageError(error.message, 'narsign sign --help');
          throw error;
        }
      }
      if (paths.includes('-')) {
        if (paths.length > 1) throw new UsageError('- (stdin) cannot be combined with other paths', 'narsign sign --help');
        if (options.json || options.dryRun) {
          throw new UsageError(`${options.json ? '--json' : '--dry-run'} cannot be used with - (stdout is the signed narinfo)`, 'narsign sign --help');
        }
        await signStdin(keys, options, requireTrusted);
        return;
      }
      const common: SignCacheOptions = {
        keys,
        force: options.force,
        jobs: options.jobs,
        shard: options.shard,
        durable: options.fsync,
        remove: options.remove,
        requireTrusted,
        dryRun: options.dryRun,
        format: options.format === '2015' ? '2015' : 'nix',
        onLockWait: (owner) => warn(`the cache is being signed by process ${owner.pid} on ${owner.host}; waiting for it to finish (lock file ${LOCK_FILE})`),
        onWarning: warn,
        ...(options.lockTimeout === undefined ? {} : { lockTimeoutMs: options.lockTimeout * 1000 }),
      };
      let total: SignCacheResult | undefined;
      const files: string[] = [];
      const progress = createProgress(options.dryRun ? 'checking' : 'signing');
      // Ctrl-C / SIGTERM: stop after the batch being written, clean up, exit 130 / 143.
      const interrupt = interruptible();
      common.signal = interrupt.signal;
      try {
        for (const p of paths) {
          if (isDirectory(p)) {
            const r = await signCache(p, { ...common, onProgress: ({ done, total: n }) => progress.update(done, n) });
            total = total ? mergeResults(total, r) : r;
          } else files.push(p);
        }
        if (files.length) {
          const r = await signNarinfoFiles(files, { ...common, onProgress: ({ done, total: n }) => progress.update(done, n) });
          total = total ? mergeResults(total, r) : r;
        }
      } catch (error) {
        if (interrupt.exitCode() === undefined) throw error;
      } finally {
        interrupt.dispose();
        progress.stop();
        keys.forEach((k) => k.secretKey.fill(0));
      }
      const stoppedBy = interrupt.exitCode();
      if (stoppedBy !== undefined) {
        warn('interrupted: stopped after the narinfos being written; the others are unchanged (run again to finish)');
        process.exitCode = stoppedBy;
        return;
      }
      const result = total!;
      if (options.json) {
        await writeOut(`${JSON.stringify({ command: 'sign', dryRun: Boolean(options.dryRun), ...result }, null, 2)}\n`);
      } else {
        for (const f of result.failures) process.stderr.write(`narsign: ${describeProblem(f)}\n`);
        for (const f of result.skippedFiles) process.stderr.write(`narsign: skipped ${printable(f.message)}\n`);
        if (result.total === 0 && !options.shard) warn(`no narinfo found in ${paths.join(', ')} (a binary cache has <hash>.narinfo files at its top level)`);
        process.stderr.write(`${signSummary(result, Boolean(options.dryRun))}\n`);
      }
      process.exitCode = signExitCode(result);
    });
}

/** `--shard I/N`, or a usage error whose hint names the command it was given to (`hint`). */
export function parseShardOption(value: string, hint: string) {
  try {
    return parseShard(value);
  } catch (error) {
    throw new UsageError(`--shard: ${(error as Error).message}`, hint);
  }
}

/** Whether `p` is a directory; anything else (a missing file too) is handled as a narinfo file and reported per file. */
function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `-`: one narinfo from stdin, the signed narinfo on stdout (nothing is written on an error). */
async function signStdin(keys: ReturnType<typeof secretKeysFrom>, options: SignOptions, requireTrusted: PublicKey[] | undefined): Promise<void> {
  try {
    let info: NarInfo;
    try {
      info = parseNarinfo(await readNarinfoStdin(), { where: '<stdin>' });
    } catch (error) {
      if (!(error instanceof NarsignError) || !isCorruptCode(error.code)) throw error;
      process.stderr.write(`narsign: ${describeError(error)}\n`);
      process.exitCode = EXIT_CORRUPT;
      return;
    }
    const refusal = requireTrusted && signingRefusal(verifyNarinfo(info, trustedKeySet(requireTrusted)));
    if (refusal) {
      warn(`<stdin>: not trusted by the required keys (${refusal}); not signed`);
      process.exitCode = EXIT_UNTRUSTED;
      return;
    }
    if (options.remove?.length) info = removeSignatures(info, options.remove);
    let out: string;
    if (options.format === '2015') {
      out = formatNarinfo(info);
      for (const key of keys) out = signLegacy2015(out, key);
    } else {
      out = formatNarinfo(keys.length ? signParsedNarinfo(info, keys) : info);
    }
    await writeOut(out);
  } finally {
    keys.forEach((k) => k.secretKey.fill(0));
  }
}
