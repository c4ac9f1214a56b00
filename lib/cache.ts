/**
 * Whole binary caches in a directory: sign or verify every top-level `*.narinfo`.
 *
 * The shape of a run, for flat memory and full cores:
 *  - the directory is streamed (fs.opendir), never listed whole, and files are taken in batches;
 *  - each batch is read and parsed on the JS thread while the previous batch's signatures are being
 *    made or checked on the libuv pool (signManyAsync / verifyManyAsync), so I/O, parsing and crypto
 *    overlap;
 *  - a changed narinfo is replaced atomically: written to a temporary file this run creates in a
 *    private directory of the batch (`.narsign-<pid>-<random>`, 0700, in the cache directory:
 *    lib/private-dir.ts; O_EXCL|O_NOFOLLOW, then the original's mode), made durable (the default:
 *    with the addon, one syncfs for the whole batch on Linux 5.8+, else an fsync per file; without
 *    it, the batch's fsyncs in parallel), then renamed through the private directory's descriptor
 *    over the original (no name a co-tenant can swap is resolved on the way), and the directory is
 *    fsynced once per batch. With the addon a whole batch is written on the pool
 *    (lib/fs-batch.ts) while the next is parsed. A crash leaves each narinfo either as it was or
 *    fully signed; a later run removes the private directories of processes that are gone (and
 *    older versions' temporary files: regular files and links, never followed);
 *  - signing never reads or replaces a narinfo through a symlink (ERR_NARINFO_SYMLINK): the link
 *    could point out of the cache, and replacing it would change what it means; verifying reads
 *    through links to regular files. Every read is bounded (lib/bounded-read.ts);
 *  - signing holds the cache lock (lib/cache-lock.ts), so two signers never lose each other's Sig.
 *
 * Idempotent: Ed25519 is deterministic, so a narinfo already carrying exactly the signature the key
 * would make is left untouched (counted `alreadySigned`) unless `force`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signManyAsync, verifyManyAsync } from './batch';
import { encodeBase64 } from './base64';
import { lockCache, processAlive } from './cache-lock';
import { fileKind, readFileBounded, readNarinfoFile } from './bounded-read';
import { MAX_CACHE_INFO_BYTES, parseNixCacheInfo } from './cache-info';
import { canReplaceFiles, readFileBatch, replaceFiles } from './fs-batch';
import { fsyncDirectory } from './key-files';
import { mapConcurrent } from './concurrent';
import { checkNarFile, NarCheck } from './nar-check';
import { NarsignError, argTypeError } from './errors';
import { fingerprint } from './fingerprint';
import { isSigner, SecretKeyInput, SigningKeyOf, toSigningKey } from './keys';
import { createSigner } from './signer';
import type { Signer } from './ed25519-types';
import { signLegacy2015, verifyLegacy2015 } from './legacy2015';
import { isCacheEntryName } from './narinfo-name';
import { createPrivateDir, entry as inPrivateDir, PRIVATE_DIR_NAME, PrivateDir, removePrivateDir, removeStrayPrivateDir } from './private-dir';
import { formatNarinfo, NarInfo, parseNarinfo, putSignature, removeSignatures, signatureKeyName } from './narinfo';
import { inShard, parseShard, Shard } from './shard';
import {
  checkNarinfoFileName,
  NarinfoVerdict,
  prepareVerification,
  signingRefusal,
  trustedKeySet,
  TrustedKeySet,
  TrustedKeysInput,
} from './signatures';

/**
 * Files per signing batch: large enough to keep every core busy and make one syncfs per batch cheap,
 * small enough for flat memory (measured on 50,000 narinfos: peak RSS 140 MB at 256, 240–400 MB at
 * 1024, at the same speed).
 */
const BATCH_FILES = 256;
/**
 * Verifying: smaller batches, several in flight. A batch's parsed narinfos live until its
 * signatures are checked; at 1024 files that outlives V8's young generation and every batch is
 * copied and promoted by the GC (measured: 6.6k narinfos/s at 1024, 10k/s at 128).
 */
const VERIFY_BATCH_FILES = 128;
const VERIFY_BATCHES_IN_FLIGHT = 2;
/** Failures kept in a result's list (the counts are always complete). */
const MAX_LISTED = 1000;
/** A temporary narinfo as older versions left them in the cache: `.<name>.narsign-<pid>[-<random>].tmp`. */
const TEMP_SUFFIX = /^\.(.+\.narinfo)\.narsign-(\d+)(?:-[0-9a-f]{16})?\.tmp$/;

export interface CacheProgress {
  /** Narinfos handled so far (in this shard). */
  done: number;
  /** Narinfos in this shard, when known (counted before the run when `onProgress` is given). */
  total?: number;
}

export interface FileProblem {
  /** Path of the narinfo. */
  file: string;
  code: string;
  message: string;
  line?: number;
}

interface CommonOptions {
  /** `I/N`: only the narinfos of that shard (see lib/shard.ts). */
  shard?: string | Shard;
  /** Crypto chunks in flight on the libuv pool (default: twice the cores). */
  jobs?: number;
  /** The store directory narinfos must be in (default: the cache's nix-cache-info StoreDir, else any). */
  storeDir?: string;
  onProgress?: (progress: CacheProgress) => void;
  signal?: AbortSignal;
  /** Narinfos per batch (default 256 when signing, 128 when verifying): memory use and abort latency grow with it. */
  batchSize?: number;
  /** Told about a name in the cache that is skipped: a directory, FIFO or socket named like a narinfo or a temporary file. */
  onWarning?: (message: string) => void;
}

export interface SignCacheOptions extends CommonOptions {
  /** Secret keys (`NAME:BASE64` strings or parsed). May be empty when only `remove`-ing. */
  keys: SecretKeyInput | readonly SecretKeyInput[];
  /** Re-sign even where the key's signature is already there. */
  force?: boolean;
  /** Drop the signatures of these key names (key rotation). */
  remove?: readonly string[];
  /** Only sign narinfos already trusted by these keys; others are skipped. */
  requireTrusted?: TrustedKeysInput;
  /** Write nothing; report what would change. */
  dryRun?: boolean;
  /** fsync each rewritten narinfo before its rename, and the directory after (default true). */
  durable?: boolean;
  /** Told once when another live process holds the cache lock and this run waits for it. */
  onLockWait?: (owner: { pid: number; host: string }) => void;
  /** How long to wait for the cache lock before failing with ERR_CACHE_LOCKED (default: DEFAULT_LOCK_TIMEOUT_MS in lib/cache-lock.ts). */
  lockTimeoutMs?: number;
  /** `'2015'`: the 2015 `Signature: 2;…` line instead of `Sig:`. */
  format?: 'nix' | '2015';
}

export interface SignCacheResult {
  /** Narinfos looked at (in the shard). */
  total: number;
  /** Narinfos rewritten (or that would be, with dryRun). */
  signed: number;
  /** Narinfos that already carried every key's signature and needed nothing. */
  alreadySigned: number;
  /** Narinfos not signed because `requireTrusted` did not trust them. */
  skipped: number;
  /** Narinfos that could not be read, parsed or written. */
  failed: number;
  failures: FileProblem[];
  skippedFiles: FileProblem[];
  durationMs: number;
}

export interface VerifyCacheOptions extends CommonOptions {
  trustedKeys: TrustedKeysInput;
  sigsNeeded?: number;
  /** `'2015'`: check the 2015 `Signature: 2;…` line instead of `Sig:` lines. */
  format?: 'nix' | '2015';
  /** Called for every narinfo with its verdict (or its problem), e.g. for a JSON report. */
  onResult?: (result: VerifyFileResult) => void;
  /** Also check each trusted narinfo's NAR file: size and FileHash (lib/nar-check.ts). */
  checkNars?: boolean;
}

export type VerifyFileResult = (
  | { file: string; status: 'trusted' | 'untrusted'; verdict: NarinfoVerdict }
  | { file: string; status: 'trusted' | 'untrusted'; legacy: ReturnType<typeof verifyLegacy2015> }
  | { file: string; status: 'corrupt' | 'failed'; problem: FileProblem }
) & {
  /** HTTP: the URL the narinfo came from, when a redirect took the request elsewhere. */
  fetchedFrom?: string;
};

export interface VerifyCacheResult {
  total: number;
  trusted: number;
  untrusted: number;
  /** Unparsable narinfos (exit bit 1 in the CLI). */
  corrupt: number;
  /** Unreadable files, malformed signatures under trusted names, a narinfo under another path's name. */
  failed: number;
  /** Untrusted, corrupt and failed files (at most MAX_LISTED). */
  problems: FileProblem[];
  durationMs: number;
}

/** A narinfo read from the cache. */
interface Entry {
  file: string;
  name: string;
  bytes: Buffer;
  mode: number;
  info?: NarInfo;
}

function batchSizeOf(value: unknown, fallback = BATCH_FILES): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw argTypeError('batchSize must be a positive integer', 'ERR_INVALID_ARG_VALUE');
  return value;
}

function checkDir(dir: unknown): string {
  if (typeof dir !== 'string' || dir === '') throw argTypeError('dir must be a non-empty path');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    throw new NarsignError('ERR_CACHE_DIR', `cannot open cache '${dir}': ${(error as NodeJS.ErrnoException).code}`, { file: dir, cause: error });
  }
  if (!stat.isDirectory()) throw new NarsignError('ERR_CACHE_DIR', `'${dir}' is not a directory`, { file: dir });
  return dir;
}

/**
 * The cache's StoreDir from nix-cache-info, when it says one. A file that cannot be read as a
 * regular file of at most MAX_CACHE_INFO_BYTES bytes (missing, a FIFO, a directory, huge) says nothing:
 * whoever can put one there could as well write a small one saying anything.
 */
export function cacheStoreDir(dir: string): string | undefined {
  const file = path.join(dir, 'nix-cache-info');
  try {
    const { bytes } = readFileBounded(file, { limit: MAX_CACHE_INFO_BYTES, tooLarge: (size) => new NarsignError('ERR_CACHE_INFO_LIMIT', `${file} is ${size} bytes long`) });
    return parseNixCacheInfo(bytes.toString('utf8')).storeDir;
  } catch {
    return undefined;
  }
}

/**
 * The top-level narinfo names of a cache, streamed, in the shard: regular files and symlinks (the
 * reader decides about those); a directory, FIFO, socket or device named like a narinfo is skipped
 * with a warning. What dead narsign processes left is removed on the way when `cleanTemps` (only
 * under the cache lock): their private directories (lib/private-dir.ts: only ours, else a warning),
 * and older versions' temporary files: a regular file or a symlink of that name is unlinked (the
 * link itself, never what it points to); anything else of that name is left, with a warning.
 */
export async function* narinfoNames(dir: string, shard?: Shard, cleanTemps = false, warn?: (message: string) => void): AsyncGenerator<string> {
  const handle = await fs.promises.opendir(dir, { bufferSize: 256 });
  for await (const dirent of handle) {
    const name = dirent.name;
    if (name.endsWith('.narinfo') && name.charCodeAt(0) !== 0x2e /* . */) {
      if (!dirent.isFile() && !dirent.isSymbolicLink()) {
        warn?.(`${path.join(dir, name)}: skipped: not a regular file (${fileKind(dirent)})`);
        continue;
      }
      if (inShard(name, shard)) yield name;
    } else if (cleanTemps) {
      const temp = TEMP_SUFFIX.exec(name);
      if (temp && deadRun(temp[2])) removeStrayTemp(dir, dirent, warn);
      const priv = PRIVATE_DIR_NAME.exec(name);
      if (priv && deadRun(priv[1])) removeStrayPrivateDir(dir, name, warn);
    }
  }
}

/** Whether the run of `pid` (from a temporary name) is over. */
function deadRun(pid: string): boolean {
  return Number(pid) !== process.pid && !processAlive(Number(pid));
}

/** Unlinks a dead run's temporary file: a regular file or a symlink (not followed); anything else is only reported. */
function removeStrayTemp(dir: string, dirent: fs.Dirent, warn?: (message: string) => void): void {
  const file = path.join(dir, dirent.name);
  if (!dirent.isFile() && !dirent.isSymbolicLink()) {
    warn?.(`${file}: left alone: named like a temporary file but not a regular file (${fileKind(dirent)})`);
    return;
  }
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn?.(`${file}: cannot remove this stray temporary file: ${(error as NodeJS.ErrnoException).code}`);
  }
}

async function countNarinfos(dir: string, shard?: Shard): Promise<number> {
  let n = 0;
  for await (const _ of narinfoNames(dir, shard)) n += 1;
  return n;
}

/** Groups an async stream into arrays of `size`. */
async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
};

function problemOf(file: string, error: unknown): FileProblem {
  if (error instanceof NarsignError) return { file, code: error.code, message: error.message, ...(error.line === undefined ? {} : { line: error.line }) };
  const e = error as NodeJS.ErrnoException;
  if (e?.code) {
    const words = ERRNO_WORDS[e.code] ?? e.code;
    return { file, code: `ERR_IO_${e.code}`, message: `${file}: ${words}${e.syscall ? ` (${e.syscall})` : ''}` };
  }
  return { file, code: 'ERR_IO', message: `${file}: ${e?.message ?? String(error)}` };
}

/** Reads one narinfo (bytes and mode), bounded (lib/bounded-read.ts); parse errors are left to the caller. */
function readEntry(dir: string, name: string, noFollow: boolean): Entry {
  const file = path.join(dir, name);
  return { file, name, ...readNarinfoFile(file, { noFollow }) };
}

/** The error for a narinfo that is a symlink where links are not read through (signing). */
function symlinkRefused(file: string, error: unknown): unknown {
  if ((error as NodeJS.ErrnoException)?.code !== 'ELOOP') return error;
  return new NarsignError('ERR_NARINFO_SYMLINK', `${file}: is a symbolic link; narsign signs only regular files (replace the link by the file it points to)`, { file, cause: error });
}

/** A narinfo of a batch as read: its entry, or the error reading it threw. */
type ReadResult = { name: string; entry: Entry; error?: undefined } | { name: string; entry?: undefined; error: unknown };

/**
 * Reads a batch of narinfos: on the pool where the backend can (lib/fs-batch.ts), else here.
 * `noFollow` (signing): a symlinked narinfo is refused, ERR_NARINFO_SYMLINK.
 */
async function readBatch(dir: string, names: readonly string[], noFollow: boolean): Promise<ReadResult[]> {
  const reads = await readFileBatch(names.map((name) => path.join(dir, name)), noFollow);
  return names.map((name, i): ReadResult => {
    const read = reads[i];
    const refused = (error: unknown) => (noFollow ? symlinkRefused(path.join(dir, name), error) : error);
    if (read === undefined) {
      try {
        return { name, entry: readEntry(dir, name, noFollow) };
      } catch (error) {
        return { name, error: refused(error) };
      }
    }
    if ('error' in read) return { name, error: refused(read.error) };
    return { name, entry: { file: path.join(dir, name), name, bytes: read.bytes, mode: read.mode } };
  });
}

/**
 * The narinfos of `names`, read in batches of `size`, one batch ahead: batch k+1 is read on the
 * pool while the caller parses batch k (and batch k-1's crypto runs there too).
 */
async function* readBatches(dir: string, names: Iterable<string> | AsyncIterable<string>, size: number, noFollow = false): AsyncGenerator<ReadResult[]> {
  let ahead: Promise<ReadResult[]> | undefined;
  for await (const batch of batches(asAsync(names), size)) {
    const next = readBatch(dir, batch, noFollow);
    next.catch(() => {}); // awaited below, on the next round
    if (ahead) yield await ahead;
    ahead = next;
  }
  if (ahead) yield await ahead;
}

function parseEntry(entry: Entry, storeDir: string | undefined): NarInfo {
  const info = parseNarinfo(entry.bytes, { where: entry.file, ...(storeDir ? { storeDir } : {}) });
  // The file-name rule of every mode and command (lib/narinfo-name.ts).
  if (isCacheEntryName(entry.name)) checkNarinfoFileName(info, entry.name);
  return info;
}

/** The keys of a signing run, normalised by lib/keys.ts's toSigningKey (every entry point's one rule). */
function toSecretKeys(keys: SecretKeyInput | readonly SecretKeyInput[]): SigningKeyOf[] {
  const list = (Array.isArray(keys) ? keys : [keys]) as readonly unknown[];
  const resolved: SigningKeyOf[] = [];
  try {
    list.forEach((k, i) => resolved.push(toSigningKey(k, `secret key ${i + 1}`)));
  } catch (error) {
    resolved.forEach((r) => r.release());
    throw error;
  }
  return resolved;
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new NarsignError('ERR_ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/**
 * A temporary file for a new version of `entry`, created in the batch's private directory
 * (lib/private-dir.ts, through its descriptor where the OS allows): an unguessable name,
 * O_EXCL|O_NOFOLLOW, mode 0600 until the original's mode (never setuid: masked to 0777) is set on
 * the open file. The twin of native/files.cc's CreateTemp.
 */
function createTemp(priv: PrivateDir, entry: Entry): OpenTemp {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  for (let attempt = 1; ; attempt += 1) {
    const temp = inPrivateDir(priv, `.${entry.name}.narsign-${process.pid}-${crypto.randomBytes(8).toString('hex')}.tmp`);
    let fd: number;
    try {
      fd = fs.openSync(temp, flags, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < TEMP_ATTEMPTS) continue;
      throw error;
    }
    const open = { temp, fd };
    try {
      fs.fchmodSync(fd, (entry.mode || 0o644) & 0o777);
    } catch (error) {
      fs.closeSync(fd);
      discardTemp(open);
      throw error;
    }
    return open;
  }
}

/** Attempts at a fresh random temporary name (a collision means someone lists the directory and plants). */
const TEMP_ATTEMPTS = 8;

/** A temporary file this run created in its private directory: its path there and open fd (-1 once closed). */
interface OpenTemp {
  temp: string;
  fd: number;
}

/** Removes a temporary file this run created (in the private directory, so no one else can have replaced it). */
function discardTemp(open: OpenTemp): void {
  fs.rmSync(open.temp, { force: true });
}

/** Writes `content` to a new temporary file for `entry`; returns it open. */
function writeTemp(priv: PrivateDir, entry: Entry, content: string): OpenTemp {
  const open = createTemp(priv, entry);
  try {
    fs.writeSync(open.fd, content);
  } catch (error) {
    fs.closeSync(open.fd);
    discardTemp(open);
    throw error;
  }
  return open;
}

const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

/**
 * Replaces every pending file of a batch: with the addon on the pool (lib/fs-batch.ts: one syncfs
 * when durable), else here (parallel fsyncs when durable); then renames, one directory fsync.
 */
async function commitBatch(dir: string, pending: Array<{ entry: Entry; content: string }>, durable: boolean, failures: (p: FileProblem) => void): Promise<number> {
  if (pending.length === 0) return 0;
  if (canReplaceFiles) {
    const files = pending.map(({ entry, content }) => ({ target: entry.file, content, mode: entry.mode || 0o644 }));
    const errors = await replaceFiles(dir, files, durable);
    let written = 0;
    for (let i = 0; i < errors.length; i++) {
      if (errors[i]) failures(problemOf(pending[i].entry.file, errors[i]));
      else written += 1;
    }
    return written;
  }
  let priv: PrivateDir;
  try {
    priv = createPrivateDir(dir);
  } catch (error) {
    for (const { entry } of pending) failures(problemOf(entry.file, error));
    return 0;
  }
  try {
    return await commitVia(priv, dir, pending, durable, failures);
  } finally {
    removePrivateDir(priv);
  }
}

/** commitBatch's node:fs writer, with the batch's private directory. */
async function commitVia(priv: PrivateDir, dir: string, pending: Array<{ entry: Entry; content: string }>, durable: boolean, failures: (p: FileProblem) => void): Promise<number> {
  const open: Array<OpenTemp & { entry: Entry }> = [];
  for (const { entry, content } of pending) {
    try {
      open.push({ entry, ...writeTemp(priv, entry, content) });
    } catch (error) {
      failures(problemOf(entry.file, error));
    }
  }
  if (durable) {
    const results = await Promise.allSettled(open.map((o) => fsyncAsync(o.fd)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        failures(problemOf(open[i].entry.file, r.reason));
        fs.closeSync(open[i].fd);
        discardTemp(open[i]);
        open[i].fd = -1;
      }
    });
  }
  let written = 0;
  for (const o of open) {
    if (o.fd < 0) continue;
    try {
      fs.closeSync(o.fd);
      fs.renameSync(o.temp, o.entry.file);
      written += 1;
    } catch (error) {
      discardTemp(o);
      failures(problemOf(o.entry.file, error));
    }
  }
  if (durable && written > 0) fsyncDirectory(dir);
  return written;
}

/** Verifies a batch of parsed narinfos on the pool; verdict i for infos[i]. */
async function verifyBatch(infos: readonly NarInfo[], keys: TrustedKeySet, sigsNeeded: number | undefined, options: { jobs?: number; signal?: AbortSignal }): Promise<NarinfoVerdict[]> {
  const plans = infos.map((info) => prepareVerification(info, keys, { sigsNeeded }));
  const items = plans.flatMap((p) => p.checks);
  const results = items.length ? await verifyManyAsync(items, { signal: options.signal, concurrency: options.jobs }) : [];
  let at = 0;
  return plans.map((plan) => {
    const mine = results.slice(at, at + plan.checks.length);
    at += plan.checks.length;
    return plan.finish(mine);
  });
}

interface SignSetup {
  keys: SigningKeyOf[];
  /** One signer per key (none for the 2015 format), held for the run; those made here are disposed at its end. */
  signers: Signer[];
  remove: readonly string[];
  trusted: TrustedKeySet | undefined;
  durable: boolean;
  legacy: boolean;
}

function signSetup(options: SignCacheOptions): SignSetup & { ownSigners: Signer[] } {
  if (!options || typeof options !== 'object') throw argTypeError('options must be an object');
  const remove = options.remove ?? [];
  const trusted = options.requireTrusted === undefined ? undefined : trustedKeySet(options.requireTrusted);
  const keys = toSecretKeys(options.keys ?? []);
  const setup = {
    keys,
    signers: [] as Signer[],
    ownSigners: [] as Signer[],
    remove,
    trusted,
    durable: options.durable !== false && !options.dryRun,
    legacy: options.format === '2015',
  };
  try {
    if (keys.length === 0 && remove.length === 0) throw new NarsignError('ERR_NO_KEYS', 'no secret key to sign with (and no signature to remove)');
    // A signer given is used as it is (its owner disposes it); bytes get a signer of this run's.
    if (!setup.legacy) {
      setup.signers = keys.map((k) => {
        if (isSigner(k.key)) return k.key;
        const signer = createSigner(k.key);
        setup.ownSigners.push(signer);
        return signer;
      });
    }
  } catch (error) {
    releaseSetup(setup);
    throw error;
  }
  return setup;
}

/** Wipes the keys signSetup decoded and disposes the signers it made. */
function releaseSetup(setup: SignSetup & { ownSigners: Signer[] }): void {
  setup.ownSigners.forEach((signer) => signer.dispose());
  setup.keys.forEach((k) => k.release());
}

function emptySignResult(): SignCacheResult {
  return { total: 0, signed: 0, alreadySigned: 0, skipped: 0, failed: 0, failures: [], skippedFiles: [], durationMs: 0 };
}

/** Signs every narinfo of a cache directory. See the module comment and SignCacheOptions. */
export async function signCache(dir: string, options: SignCacheOptions): Promise<SignCacheResult> {
  const started = Date.now();
  checkDir(dir);
  const setup = signSetup(options);
  const result = emptySignResult();
  try {
    const shard = options.shard === undefined ? undefined : parseShard(options.shard);
    const total = options.onProgress ? await countNarinfos(dir, shard) : undefined;
    await signIn(dir, narinfoNames(dir, shard, !options.dryRun, options.onWarning), setup, options, result, total);
  } finally {
    releaseSetup(setup);
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** Signs single narinfo files (each under its own directory's lock), with the options of signCache. */
export async function signNarinfoFiles(files: readonly string[], options: SignCacheOptions): Promise<SignCacheResult> {
  const started = Date.now();
  const setup = signSetup(options);
  const result = emptySignResult();
  let mine: readonly string[] = [];
  try {
    mine = inShardFiles(files, options.shard);
    for (const [dir, names] of groupByDirectory(mine)) await signIn(dir, names, setup, options, result, mine.length);
  } finally {
    releaseSetup(setup);
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** The files of `shard` (by file name, as in a directory), so `--shard` means the same for files as for a cache. */
function inShardFiles(files: readonly string[], shard: string | Shard | undefined): readonly string[] {
  if (shard === undefined) return files;
  const parsed = parseShard(shard);
  return files.filter((file) => typeof file !== 'string' || inShard(path.basename(file), parsed));
}

function groupByDirectory(files: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const file of files) {
    if (typeof file !== 'string' || file === '') throw argTypeError('files must be non-empty paths');
    const dir = path.dirname(file);
    groups.set(dir, [...(groups.get(dir) ?? []), path.basename(file)]);
  }
  return groups;
}

async function* asAsync<T>(items: Iterable<T> | AsyncIterable<T>): AsyncGenerator<T> {
  yield* items as AsyncIterable<T>;
}

async function signIn(
  dir: string,
  names: Iterable<string> | AsyncIterable<string>,
  setup: SignSetup,
  options: SignCacheOptions,
  result: SignCacheResult,
  total: number | undefined,
): Promise<void> {
  const storeDir = options.storeDir ?? cacheStoreDir(dir);
  const fail = (p: FileProblem) => {
    result.failed += 1;
    if (result.failures.length < MAX_LISTED) result.failures.push(p);
  };
  const lock = options.dryRun ? undefined : await lockCache(dir, { signal: options.signal, onWait: options.onLockWait, timeoutMs: options.lockTimeoutMs });
  // Batch k's crypto runs on the pool while batch k+1 is read and parsed.
  let previous: Promise<void> = Promise.resolve();
  try {
    for await (const batch of readBatches(dir, names, batchSizeOf(options.batchSize), true)) {
      const entries: Entry[] = [];
      for (const { name, entry, error } of batch) {
        result.total += 1;
        try {
          if (!entry) throw error;
          entry.info = parseEntry(entry, storeDir);
          entries.push(entry);
        } catch (error) {
          fail(problemOf(path.join(dir, name), error));
        }
      }
      await previous;
      aborted(options.signal);
      previous = signBatch(dir, entries, setup, options, result, fail).then(() => {
        options.onProgress?.({ done: result.total, total });
      });
      previous.catch(() => {}); // awaited above on the next round, or below
    }
    await previous;
  } finally {
    // A batch being written when the run stops (an abort, a read error) finishes first: its
    // temporary files are renamed or removed before the lock is given up.
    await previous.catch(() => {});
    lock?.release();
  }
}

async function signBatch(
  dir: string,
  entries: Entry[],
  { keys, signers, remove, trusted, legacy, durable }: SignSetup,
  options: SignCacheOptions,
  result: SignCacheResult,
  fail: (p: FileProblem) => void,
): Promise<void> {
  let work = entries;
  if (trusted) {
    const verdicts = await verifyBatch(work.map((e) => e.info!), trusted, undefined, options);
    work = work.filter((entry, i) => {
      // Checked on the narinfo as read, before any `remove`: rotation needs the old key's signature.
      const refusal = signingRefusal(verdicts[i]);
      if (refusal === undefined) return true;
      result.skipped += 1;
      if (result.skippedFiles.length < MAX_LISTED) {
        result.skippedFiles.push({ file: entry.file, code: 'ERR_NOT_TRUSTED', message: `${entry.file}: not trusted by the required keys (${refusal})` });
      }
      return false;
    });
  }
  const fingerprints: string[] = [];
  const pending: Array<{ entry: Entry; content: string }> = [];
  const signable: Entry[] = [];
  for (const entry of work) {
    try {
      fingerprints.push(legacy ? '' : fingerprint(entry.info!));
      signable.push(entry);
    } catch (error) {
      fail(problemOf(entry.file, error));
    }
  }
  const signatures = legacy ? [] : await Promise.all(signers.map((signer) => signManyAsync(signer, fingerprints, { signal: options.signal, concurrency: options.jobs })));
  signable.forEach((entry, i) => {
    try {
      let info = entry.info!;
      if (remove.length && info.sigs.some((s) => remove.includes(signatureKeyName(s)))) info = removeSignatures(info, remove);
      let content: string | undefined;
      if (legacy) {
        content = formatNarinfo(info);
        for (const key of keys) content = signLegacy2015(content, { name: key.name, secretKey: key.key });
        if (!options.force && content === entry.bytes.toString('utf8')) content = undefined;
      } else {
        keys.forEach((key, k) => {
          const sig = `${key.name}:${encodeBase64(signatures[k][i])}`;
          const same = info.sigs.filter((s) => signatureKeyName(s) === key.name);
          if (options.force || same.length !== 1 || same[0] !== sig) info = putSignature(info, sig);
        });
        // Every edit makes a new NarInfo: the same object means nothing to write.
        if (info !== entry.info || options.force) content = formatNarinfo(info);
      }
      if (content === undefined) result.alreadySigned += 1;
      else pending.push({ entry, content });
    } catch (error) {
      fail(problemOf(entry.file, error));
    }
  });
  if (options.dryRun) {
    result.signed += pending.length;
    return;
  }
  aborted(options.signal);
  result.signed += await commitBatch(dir, pending, durable, fail);
}

function emptyVerifyResult(): VerifyCacheResult {
  return { total: 0, trusted: 0, untrusted: 0, corrupt: 0, failed: 0, problems: [], durationMs: 0 };
}

/** Verifies every narinfo of a cache directory. See VerifyCacheOptions. */
export async function verifyCache(dir: string, options: VerifyCacheOptions): Promise<VerifyCacheResult> {
  const started = Date.now();
  checkDir(dir);
  if (!options || typeof options !== 'object') throw argTypeError('options must be an object');
  const keys = trustedKeySet(options.trustedKeys);
  const shard = options.shard === undefined ? undefined : parseShard(options.shard);
  const result = emptyVerifyResult();
  const total = options.onProgress ? await countNarinfos(dir, shard) : undefined;
  await verifyIn(dir, narinfoNames(dir, shard, false, options.onWarning), keys, options, result, total);
  result.durationMs = Date.now() - started;
  return result;
}

/** Verifies single narinfo files, with the options of verifyCache. */
export async function verifyNarinfoFiles(files: readonly string[], options: VerifyCacheOptions): Promise<VerifyCacheResult> {
  const started = Date.now();
  if (!options || typeof options !== 'object') throw argTypeError('options must be an object');
  const keys = trustedKeySet(options.trustedKeys);
  const result = emptyVerifyResult();
  const mine = inShardFiles(files, options.shard);
  for (const [dir, names] of groupByDirectory(mine)) await verifyIn(dir, names, keys, options, result, mine.length);
  result.durationMs = Date.now() - started;
  return result;
}

/** The function that counts one file's outcome into `result` (shared with the HTTP verifier). */
export function verifyCollector(result: VerifyCacheResult, onResult?: (r: VerifyFileResult) => void): (r: VerifyFileResult) => void {
  return (r) => {
    result.total += 1;
    result[r.status] += 1;
    if (r.status !== 'trusted' && result.problems.length < MAX_LISTED) {
      result.problems.push('problem' in r ? r.problem : describeUntrusted(r));
    }
    onResult?.(r);
  };
}

/** Narinfo errors that mean the file itself is corrupt (exit bit 1), as opposed to other failures. */
export function isCorruptCode(code: string): boolean {
  return code === 'ERR_NARINFO_CORRUPT' || code === 'ERR_NARINFO_LIMIT' || code === 'ERR_NARINFO_ENCODING';
}

/** A trusted verdict becomes a failure when the NAR file does not match (with --check-nars). */
export function withNarCheck(r: VerifyFileResult, check: NarCheck): VerifyFileResult {
  if (check.ok || r.status !== 'trusted') return r;
  return { file: r.file, status: 'failed', problem: { file: r.file, code: check.code ?? 'ERR_NAR', message: `${r.file}: ${check.problem}` } };
}

/** Verdict of a parsed narinfo as a per-file result: a malformed signature under a trusted name fails the path, as in Nix. */
export function verdictResult(file: string, verdict: NarinfoVerdict): VerifyFileResult {
  if (verdict.reason === 'malformed-signature') {
    const failure = verdict.failure ?? { code: 'ERR_SIGNATURE_INVALID', message: 'signature is not valid' };
    // Name the key and the Sig line (never the signature's value: not secret, but noise).
    const bad = verdict.signatures.find((s) => s.status === 'malformed');
    const at = bad ? verdict.info.lines.findIndex((l) => l.name === 'Sig' && l.value === bad.signature) : -1;
    const line = at >= 0 ? at + 1 : undefined;
    const what = bad ? `the signature by trusted key '${bad.keyName}' is malformed: ` : '';
    return {
      file,
      status: 'failed',
      problem: { file, code: failure.code, message: `${file}: ${line === undefined ? '' : `line ${line}: `}${what}${failure.message}`, ...(line === undefined ? {} : { line }) },
    };
  }
  return { file, status: verdict.trusted ? 'trusted' : 'untrusted', verdict };
}

/** A file that could not be read or parsed, as a per-file result. */
export function problemResult(file: string, error: unknown): VerifyFileResult {
  const problem = problemOf(file, error);
  return { file, status: isCorruptCode(problem.code) ? 'corrupt' : 'failed', problem };
}

async function verifyIn(
  dir: string,
  names: Iterable<string> | AsyncIterable<string>,
  keys: TrustedKeySet,
  options: VerifyCacheOptions,
  result: VerifyCacheResult,
  total: number | undefined,
): Promise<void> {
  const storeDir = options.storeDir ?? cacheStoreDir(dir);
  const legacyKeys = options.format === '2015' ? [...keys.keys].map(([name, key]) => ({ name, key })) : undefined;
  const note = verifyCollector(result, options.onResult);

  // Batch k's signatures are checked on the pool while batch k+1 is read and parsed.
  let previous: Promise<void> = Promise.resolve();
  const inFlight: Promise<void>[] = [];
  for await (const batch of readBatches(dir, names, batchSizeOf(options.batchSize, VERIFY_BATCH_FILES))) {
    const parsed: Array<{ file: string; info: NarInfo }> = [];
    const early: VerifyFileResult[] = [];
    for (const { name, entry, error } of batch) {
      const file = path.join(dir, name);
      if (!entry) {
        early.push(problemResult(file, error));
        continue;
      }
      try {
        if (legacyKeys) {
          // The 2015 reader checked StorePath against the path it asked for; here, against the file name.
          const verdict = verifyLegacy2015(entry.bytes.toString('utf8'), legacyKeys, { location: file, ...(isCacheEntryName(name) ? { fileName: name } : {}) });
          if (verdict.code === 'ERR_NARINFO_FILE_NAME') {
            early.push({ file, status: 'failed', problem: { file, code: verdict.code, message: verdict.message! } });
            continue;
          }
          let r: VerifyFileResult = { file, status: verdict.trusted ? 'trusted' : 'untrusted', legacy: verdict };
          // --check-nars applies to the 2015 format too: the NAR of a trusted narinfo must match.
          if (options.checkNars && verdict.trusted) r = withNarCheck(r, await checkNarFile(dir, parseEntry(entry, storeDir)));
          early.push(r);
          continue;
        }
        parsed.push({ file, info: parseEntry(entry, storeDir) });
      } catch (error) {
        early.push(problemResult(file, error));
      }
    }
    // Up to VERIFY_BATCHES_IN_FLIGHT batches are checked on the pool at once, so a pool thread that
    // finishes its chunk early (the JS thread took its core for a while) finds the next batch's
    // chunks queued instead of idling; results are still reported in file order.
    if (inFlight.length >= VERIFY_BATCHES_IN_FLIGHT) await inFlight.shift();
    aborted(options.signal);
    const verdicts = verifyBatch(parsed.map((p) => p.info), keys, options.sigsNeeded, options);
    verdicts.catch(() => {}); // awaited below, in order
    previous = previous.then(async () => {
      early.forEach(note);
      const results = (await verdicts).map((verdict, i) => verdictResult(parsed[i].file, verdict));
      if (options.checkNars) {
        for await (const r of mapConcurrent(results, 8, async (r) => (r.status === 'trusted' && 'verdict' in r ? withNarCheck(r, await checkNarFile(dir, r.verdict.info)) : r))) note(r);
      } else results.forEach(note);
      options.onProgress?.({ done: result.total, total });
    });
    previous.catch(() => {});
    inFlight.push(previous);
  }
  await previous;
}

function describeUntrusted(r: VerifyFileResult): FileProblem {
  if ('verdict' in r) {
    const statuses = r.verdict.signatures.map((s) => `${s.keyName || '(no name)'}: ${s.status}`).join(', ');
    return { file: r.file, code: 'ERR_NOT_TRUSTED', message: `${r.file}: not trusted (${statuses || 'no signatures'})` };
  }
  if ('legacy' in r) return { file: r.file, code: r.legacy.code ?? 'ERR_NOT_TRUSTED', message: r.legacy.message ?? `${r.file}: not trusted` };
  return r.problem;
}
