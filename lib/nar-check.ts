/**
 * `--check-nars`: does the NAR file a narinfo points to (its `URL`, relative to the cache) have the
 * narinfo's `FileSize` and `FileHash`? The file is streamed through the hash, never held whole.
 * Where a narinfo has no FileHash/FileSize and its Compression is `none`, the NAR itself is the
 * file, so NarHash/NarSize are checked instead.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheFileUrl, delay, describeFetchError, FetchOptions, RETRYABLE_STATUS } from './cache-http';
import { fileKind } from './bounded-read';
import { NarsignError } from './errors';
import { formatHash, Hash } from './hash';
import type { NarInfo } from './narinfo';

export interface NarCheck {
  ok: boolean;
  /** What was wrong, in words (`FileSize is 100 but the file has 99 bytes`). */
  problem?: string;
  code?: string;
}

function expected(info: NarInfo): { hash?: Hash; size?: number } {
  if (info.fileHash || info.fileSize !== undefined) return { hash: info.fileHash, size: info.fileSize };
  if (info.compression === 'none') return { hash: info.narHash, size: info.narSize };
  return {};
}

function judge(info: NarInfo, size: number, digest: Buffer | undefined, hash: Hash | undefined, wantSize: number | undefined): NarCheck {
  if (wantSize !== undefined && size !== wantSize) {
    return { ok: false, code: 'ERR_NAR_SIZE', problem: `${info.url}: the narinfo says ${wantSize} bytes but the file has ${size}` };
  }
  if (hash && digest && !digest.equals(hash.digest)) {
    return {
      ok: false,
      code: 'ERR_NAR_HASH',
      problem: `${info.url}: hash mismatch: the narinfo says ${formatHash(hash, 'nix32')}, the file is ${formatHash({ algo: hash.algo, digest }, 'nix32')}`,
    };
  }
  return { ok: true };
}

/** A local NAR file is not read past this when its narinfo gives no size to expect. */
const NAR_FILE_ABSOLUTE_CAP = 64 * 1024 ** 3;
/** Reading one local NAR file gives up after this (a stalled network file system must not hang verify). */
const NAR_FILE_TIMEOUT_MS = 300_000;

const isInside = (root: string, file: string) => file.startsWith(root + path.sep);

/**
 * Checks the NAR file of `info` in the cache directory `dir`. Anyone who can write the cache may
 * have put anything at the URL, so only a regular file inside the cache is read — after resolving
 * links (a symlink to /dev/zero or out of the cache is refused before it is opened, so nothing
 * outside is read or its size told), opened without blocking or following a link swapped in since,
 * checked with fstat — and at most the size the narinfo expects (plus one byte) is read, within a
 * time limit.
 */
export async function checkNarFile(dir: string, info: NarInfo, options: { timeoutMs?: number } = {}): Promise<NarCheck> {
  const { hash, size } = expected(info);
  const file = path.resolve(dir, info.url);
  if (!isInside(path.resolve(dir), file)) {
    return { ok: false, code: 'ERR_NAR_URL', problem: `${info.url}: the URL points outside the cache` };
  }
  const missing = (error: unknown): NarCheck => {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, code: 'ERR_NAR_MISSING', problem: `${info.url}: ${code === 'ENOENT' ? 'no such file in the cache' : code}` };
  };
  let real: string;
  try {
    real = fs.realpathSync(file);
    if (!isInside(fs.realpathSync(dir), real)) return { ok: false, code: 'ERR_NAR_URL', problem: `${info.url}: the file links outside the cache` };
  } catch (error) {
    return missing(error);
  }
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (error) {
    return missing(error);
  }
  let stream: fs.ReadStream | undefined;
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { ok: false, code: 'ERR_NAR_NOT_FILE', problem: `${info.url}: not a regular file (${fileKind(stat)})` };
    const cap = size ?? NAR_FILE_ABSOLUTE_CAP;
    // Larger than expected: the size is wrong whatever the bytes are; nothing needs reading.
    if (stat.size > cap) return size === undefined ? tooLarge(info) : judge(info, stat.size, undefined, undefined, size);
    const hasher = hash ? crypto.createHash(hash.algo) : undefined;
    let length = 0;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? NAR_FILE_TIMEOUT_MS);
    // end is inclusive: cap + 1 bytes at most, so a file that grew since the fstat shows as too long.
    stream = fs.createReadStream('', { fd, start: 0, end: cap, highWaterMark: 1 << 20, signal: timeout });
    try {
      for await (const chunk of stream) {
        length += (chunk as Buffer).length;
        hasher?.update(chunk as Buffer);
      }
    } catch (error) {
      if (timeout.aborted) return { ok: false, code: 'ERR_NAR_TIMEOUT', problem: `${info.url}: not read within ${Math.round((options.timeoutMs ?? NAR_FILE_TIMEOUT_MS) / 1000)} s` };
      return missing(error);
    }
    if (size === undefined && length > cap) return tooLarge(info);
    return judge(info, length, hasher?.digest(), hash, size);
  } finally {
    // The stream owns the fd once made (it closes it after any read still in flight).
    if (stream) stream.destroy();
    else fs.closeSync(fd);
  }
}

function tooLarge(info: NarInfo): NarCheck {
  return { ok: false, code: 'ERR_NAR_SIZE', problem: `${info.url}: the file is larger than ${NAR_FILE_ABSOLUTE_CAP} bytes, the most narsign reads of a NAR whose narinfo gives no size` };
}

/**
 * Checks the NAR file of `info` in the HTTP cache at `baseUrl`, streaming the download. Network
 * errors (mid-download too), 5xx and 429 are retried like narinfo fetches (`retries`, default 3).
 */
export async function checkNarHttp(baseUrl: string, info: NarInfo, options: FetchOptions = {}): Promise<NarCheck> {
  const { hash, size } = expected(info);
  const url = cacheFileUrl(baseUrl, info.url);
  const retries = options.retries ?? 3;
  let failure: NarCheck = { ok: false, code: 'ERR_HTTP', problem: `${url}: not fetched` };
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    if (attempt > 0) await delay(Math.min(2000, 100 * 2 ** (attempt - 1)), options.signal);
    if (options.signal?.aborted) throw new NarsignError('ERR_ABORTED', 'the operation was aborted');
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 300_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const response = await fetch(url, { signal });
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        if (response.status === 404 || response.status === 410) return { ok: false, code: 'ERR_NAR_MISSING', problem: `${url}: not in the cache (HTTP ${response.status})` };
        failure = { ok: false, code: 'ERR_HTTP', problem: `${url}: HTTP ${response.status}` };
        if (RETRYABLE_STATUS.has(response.status)) continue;
        return failure;
      }
      const hasher = hash ? crypto.createHash(hash.algo) : undefined;
      let length = 0;
      for await (const chunk of response.body) {
        length += chunk.length;
        hasher?.update(chunk);
      }
      return judge(info, length, hasher?.digest(), hash, size);
    } catch (error) {
      if (options.signal?.aborted) throw new NarsignError('ERR_ABORTED', 'the operation was aborted');
      failure = { ok: false, code: 'ERR_HTTP', problem: `${url}: ${timeout.aborted ? 'timed out' : describeFetchError(error)}` };
    }
  }
  return { ...failure, problem: `${failure.problem}${retries > 0 ? `, after ${retries + 1} attempts` : ''}` };
}
