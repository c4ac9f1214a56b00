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
