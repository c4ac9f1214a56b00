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

/** Checks the NAR file of `info` in the cache directory `dir`. */
export async function checkNarFile(dir: string, info: NarInfo): Promise<NarCheck> {
  const { hash, size } = expected(info);
  const file = path.resolve(dir, info.url);
  if (!file.startsWith(path.resolve(dir) + path.sep)) {
    return { ok: false, code: 'ERR_NAR_URL', problem: `${info.url}: the URL points outside the cache` };
  }
  const hasher = hash ? crypto.createHash(hash.algo) : undefined;
  let length = 0;
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
      length += (chunk as Buffer).length;
      hasher?.update(chunk as Buffer);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, code: 'ERR_NAR_MISSING', problem: `${info.url}: ${code === 'ENOENT' ? 'no such file in the cache' : code}` };
  }
  return judge(info, length, hasher?.digest(), hash, size);
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
