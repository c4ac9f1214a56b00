/**
 * `--check-nars`: does the NAR file a narinfo points to (its `URL`, relative to the cache) have the
 * narinfo's `FileSize` and `FileHash`? The file is streamed through the hash, never held whole.
 * Where a narinfo has no FileHash/FileSize and its Compression is `none`, the NAR itself is the
 * file, so NarHash/NarSize are checked instead.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheFileUrl, HttpGetOptions, httpGetStream } from './http-fetch';
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
    const cap = size ?? narFileBound(info.narSize);
    // Larger than expected: the size is wrong whatever the bytes are; nothing needs reading.
    if (stat.size > cap) return size === undefined ? tooLarge(info, cap) : judge(info, stat.size, undefined, undefined, size);
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
    if (size === undefined && length > cap) return tooLarge(info, cap);
    return judge(info, length, hasher?.digest(), hash, size);
  } finally {
    // The stream owns the fd once made (it closes it after any read still in flight).
    if (stream) stream.destroy();
    else fs.closeSync(fd);
  }
}

function tooLarge(info: NarInfo, cap: number): NarCheck {
  return { ok: false, code: 'ERR_NAR_SIZE', problem: `${info.url}: the file is larger than ${cap} bytes, the most a NAR of NarSize ${info.narSize} compresses to` };
}

/**
 * Checks the NAR file of `info` in the HTTP cache at `baseUrl`, streaming the download through the
 * hash (lib/http-fetch.ts: retries, a timeout over the whole transfer, default 300 s here since a
 * NAR can be large). The transfer stops at the narinfo's size: a server sending more is
 * `ERR_NAR_SIZE` without the rest being read.
 */
export async function checkNarHttp(baseUrl: string, info: NarInfo, options: HttpGetOptions = {}): Promise<NarCheck> {
  const { hash, size } = expected(info);
  const url = cacheFileUrl(baseUrl, info.url);
  const maxBytes = size ?? narFileBound(info.narSize);
  try {
    const r = await httpGetStream(url, { ...options, timeoutMs: options.timeoutMs ?? 300_000, maxBytes }, () => {
      const hasher = hash ? crypto.createHash(hash.algo) : undefined;
      let length = 0;
      return {
        write(chunk) {
          length += chunk.length;
          hasher?.update(chunk);
        },
        end: () => ({ length, digest: hasher?.digest() }),
      };
    });
    if (r.status === 'missing') return { ok: false, code: 'ERR_NAR_MISSING', problem: `${url}: not in the cache (HTTP ${r.httpStatus})` };
    return judge(info, r.value.length, r.value.digest, hash, size);
  } catch (error) {
    if (!(error instanceof NarsignError) || error.code === 'ERR_ABORTED') throw error;
    if (error.code === 'ERR_HTTP_BODY_TOO_LARGE' && size !== undefined) {
      return { ok: false, code: 'ERR_NAR_SIZE', problem: `${info.url}: the narinfo says ${size} bytes but the server sends more (${error.message})` };
    }
    return { ok: false, code: error.code, problem: error.message };
  }
}

/**
 * The most bytes a compressed NAR file of `narSize` bytes may have, when the narinfo gives no
 * FileSize: what compressors add to incompressible data is far less than an eighth plus 64 KiB.
 */
function narFileBound(narSize: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, narSize + Math.floor(narSize / 8) + 64 * 1024);
}
