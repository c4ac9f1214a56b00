/**
 * `narsign verify PATH…` (cache directories or .narinfo files) and `narsign verify URL PATH|HASH…`
 * (an HTTP(S) cache). Thin over verifyCache / verifyNarinfoFiles / verifyHttpCache. Exit status as
 * `nix store verify`: bits 1 corrupt, 2 untrusted, 4 other failure.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import fs from 'node:fs';
import { verifyCache, verifyNarinfoFiles, VerifyCacheOptions, VerifyCacheResult, VerifyFileResult } from '../cache';
import { hashPartOf, verifyHttpCache } from '../cache-http';
import { NarsignError } from '../errors';
import { MAX_RETRIES, MAX_TIMEOUT_MS } from '../http-fetch';
import { inShard } from '../shard';
import type { PublicKey } from '../keys';
import { collect, jsonOption, nonNegativeInteger, positiveInteger } from './collect';
import { UsageError } from './exit-codes';
import { readStdin } from './key';
import { readFileBounded } from '../bounded-read';
import { trustedKeysFrom, TrustedKeyOptions } from './keys-option';
import { describeProblem, warn, writeOut } from './output';
import { createProgress } from './progress';
import { mergeResults, verifyExitCode, verifySummary } from './report';
import { parseShardOption } from './sign';

interface VerifyOptions extends TrustedKeyOptions {
  sigsNeeded?: number;
  json?: boolean;
  checkNars?: boolean;
  pathsFrom?: string[];
  format?: string;
  jobs?: number;
  shard?: string;
  timeout?: number;
  retries?: number;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('check the signatures of every narinfo in each PATH, or of store paths in an HTTP(S) cache')
    .argument('<path...>', 'cache directories or .narinfo files; or URL followed by store paths / hash parts')
    .option('-t, --trusted-public-keys <keys>', 'trusted public keys, "NAME:BASE64 …" (repeatable)', collect)
    .option('--trusted-key-file <file>', 'file of trusted public keys (repeatable)', collect)
    .option('--nix-conf <file>', 'read trusted keys from this nix.conf (default: as Nix finds it)')
    .option('-n, --sigs-needed <n>', 'signatures by distinct trusted keys required (default 1)', positiveInteger('--sigs-needed'))
    .option('--check-nars', "also check each NAR file's size and FileHash")
    .option('--paths-from <file>', 'with URL: more store paths, one per line (- for stdin)', collect)
    .option('-j, --jobs <n>', 'crypto chunks in flight, or HTTP requests in flight for a URL', positiveInteger('--jobs'))
    .option('--shard <I/N>', 'only the narinfos of shard I of N')
    .option('--timeout <seconds>', 'HTTP: seconds for one attempt, whole body included (default 30; 300 for a NAR)', atMost(positiveInteger('--timeout'), '--timeout', MAX_TIMEOUT_MS / 1000))
    .option('--retries <n>', 'HTTP: retries after a failed request (default 3)', atMost(nonNegativeInteger('--retries'), '--retries', MAX_RETRIES))
    .addOption(new Option('--format <format>', 'signature format').choices(['nix', '2015']).default('nix'))
    .addOption(jsonOption())
    .addHelpText('after', `
Trusted keys come from -t / --trusted-key-file, else from nix.conf (NIX_CONF_DIR, the user's
config files, NIX_CONFIG), like Nix.

Examples:
  narsign verify -t "$(cat public.key)" ./cache
  narsign verify --nix-conf /etc/nix/nix.conf --json ./cache > report.json
  narsign verify https://cache.example.org /nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin

Exit status: 0 all trusted; bit 1 some narinfo corrupt; bit 2 some narinfo untrusted; bit 4 some other
failure (unreadable, network error, malformed signature under a trusted key name); 64 usage error.`)
    .action(async (paths: string[], options: VerifyOptions) => {
      const { keys, source } = trustedKeysFrom(options);
      if (options.shard) parseShardOption(options.shard, 'narsign verify --help');
      const reports: VerifyFileResult[] = [];
      const onResult = options.json ? (r: VerifyFileResult) => reports.push(r) : undefined;
      const progress = createProgress('verifying');
      let result: VerifyCacheResult;
      try {
        result = /^https?:\/\//.test(paths[0])
          ? await verifyUrl(paths[0], inShardPaths([...paths.slice(1), ...(await pathsFrom(options.pathsFrom))], options.shard), keys, options, onResult, progress.update)
          : await verifyLocal(paths, keys, options, onResult, progress.update);
      } finally {
        progress.stop();
      }
      if (options.json) {
        const { problems: _problems, ...counts } = result;
        await writeOut(`${JSON.stringify({ command: 'verify', trustedKeys: keys.map((k) => k.name), keySource: source, ...counts, files: reports.map(jsonResult) }, null, 2)}\n`);
      } else {
        for (const p of result.problems) process.stderr.write(`narsign: ${describeProblem(p)}\n`);
        if (result.total === 0 && !options.shard) warn(`no narinfo found in ${paths.join(', ')} (a binary cache has <hash>.narinfo files at its top level)`);
        if (result.total > result.problems.length + result.trusted) process.stderr.write(`narsign: (${result.total - result.trusted - result.problems.length} more problems not listed)\n`);
        process.stderr.write(`${verifySummary(result)}\n`);
      }
      process.exitCode = verifyExitCode(result);
    });
}

async function verifyLocal(paths: string[], keys: PublicKey[], options: VerifyOptions, onResult: VerifyCacheOptions['onResult'], update: (d: number, t?: number) => void): Promise<VerifyCacheResult> {
  const common: VerifyCacheOptions = {
    trustedKeys: keys,
    sigsNeeded: options.sigsNeeded,
    checkNars: options.checkNars,
    format: options.format === '2015' ? '2015' : 'nix',
    jobs: options.jobs,
    shard: options.shard,
    onResult,
    onWarning: warn,
  };
  let total: VerifyCacheResult | undefined;
  const files: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = fs.statSync(p).isDirectory();
    } catch {
      // A missing or unreadable file is reported with the others (a failure, exit bit 4), not fatal.
    }
    if (isDir) {
      const r = await verifyCache(p, { ...common, onProgress: ({ done, total: n }) => update(done, n) });
      total = total ? mergeResults(total, r) : r;
    } else files.push(p);
  }
  if (files.length) {
    const r = await verifyNarinfoFiles(files, { ...common, onProgress: ({ done, total: n }) => update(done, n) });
    total = total ? mergeResults(total, r) : r;
  }
  return total!;
}

async function verifyUrl(url: string, wanted: string[], keys: PublicKey[], options: VerifyOptions, onResult: VerifyCacheOptions['onResult'], update: (d: number, t?: number) => void): Promise<VerifyCacheResult> {
  if (wanted.length === 0) throw new UsageError('with a URL, name the store paths or hash parts to check (or --paths-from FILE)', 'narsign verify --help');
  if (options.format === '2015') throw new UsageError('--format 2015 is for local caches only');
  return verifyHttpCache(url, wanted, {
    trustedKeys: keys,
    sigsNeeded: options.sigsNeeded,
    checkNars: options.checkNars,
    concurrency: options.jobs,
    timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
    retries: options.retries,
    onResult,
    onProgress: ({ done, total }) => update(done, total),
  });
}

/** `parse`, refusing numbers above `max` (the HTTP waits are bounded). */
function atMost(parse: (value: string) => number, name: string, max: number): (value: string) => number {
  return (value) => {
    const n = parse(value);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}`);
    return n;
  };
}

/** With --shard, the store paths / hash parts of that shard (by hash part, as for a directory). */
function inShardPaths(wanted: string[], shard: string | undefined): string[] {
  if (!shard) return wanted;
  const parsed = parseShardOption(shard, 'narsign verify --help');
  return wanted.filter((w) => inShard(hashPartOf(w) ?? w, parsed));
}

/** --paths-from: at most this many bytes per list (standard input has the same limit in readStdin). */
export const MAX_PATHS_FROM_BYTES = 64 * 1024 * 1024;

async function pathsFrom(files: string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const text =
      file === '-'
        ? await readStdin(MAX_PATHS_FROM_BYTES)
        : readFileBounded(file, { limit: MAX_PATHS_FROM_BYTES, tooLarge: (size) => new NarsignError('ERR_FILE_TOO_LARGE', `--paths-from ${file}: the file is ${size} bytes, more than the limit of ${MAX_PATHS_FROM_BYTES} bytes`, { file }) }).bytes.toString('utf8');
    out.push(...text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  }
  return out;
}


/** One file in the --json report: its status, each signature's verdict, or its problem. */
function jsonResult(r: VerifyFileResult): unknown {
  const from = r.fetchedFrom === undefined ? {} : { fetchedFrom: r.fetchedFrom };
  if ('verdict' in r) {
    return {
      file: r.file,
      ...from,
      status: r.status,
      storePath: r.verdict.info.storePath,
      reason: r.verdict.reason,
      bySignatures: r.verdict.bySignatures,
      validSignatures: r.verdict.validSignatures,
      signatures: r.verdict.signatures.map((s) => ({ keyName: s.keyName, status: s.status })),
    };
  }
  if ('legacy' in r) return { file: r.file, ...from, status: r.status, legacy: { status: r.legacy.status, code: r.legacy.code, keyName: r.legacy.keyName } };
  return { file: r.file, ...from, status: r.status, code: r.problem.code, message: r.problem.message, ...(r.problem.line === undefined ? {} : { line: r.problem.line }) };
}
