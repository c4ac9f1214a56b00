/**
 * Reading an HTTP(S) binary cache: `nix-cache-info`, `<hash>.narinfo` and NAR files, fetched
 * concurrently through lib/http-fetch.ts (one timeout per attempt covering the whole body, retries
 * with backoff, redirects as Nix follows them, every body capped: a narinfo by the narinfo limit,
 * nix-cache-info by MAX_CACHE_INFO_BYTES, a NAR by its FileSize). 404 is an answer, not an error.
 * Verification itself is the same code as for a directory.
 */
import type { VerifyCacheResult, VerifyFileResult } from './cache';
import { problemResult, verdictResult, verifyCollector, withNarCheck } from './cache';
import { argTypeError, NarsignError, printable } from './errors';
import { MAX_CACHE_INFO_BYTES, parseNixCacheInfo } from './cache-info';
import { mapConcurrent } from './concurrent';
import { cacheFileUrl, checkHttpGetOptions, httpGet, HttpGetOptions } from './http-fetch';
import { checkNarHttp } from './nar-check';
import { NARINFO_LIMITS } from './narinfo';
import { trustedKeySet, TrustedKeysInput, verifyNarinfo } from './signatures';

export interface FetchOptions extends HttpGetOptions {
  /** The most bytes accepted (after decompression); default: the narinfo limit, 4 MiB. */
  maxBytes?: number;
}

/** `url`: where the file came from (differs from the requested URL after a redirect). */
export type FetchResult = { status: 'ok'; body: Buffer; url: string } | { status: 'missing'; url: string };

/**
 * GET one file of the cache, at most `maxBytes` (default: a narinfo's limit). 404/410 → `missing`;
 * other failures throw a NarsignError after the retries: `ERR_HTTP`, `ERR_HTTP_BODY_TOO_LARGE`,
 * `ERR_HTTP_REDIRECT`, `ERR_HTTP_INSECURE_REDIRECT`, `ERR_ABORTED`.
 */
export async function fetchCacheFile(url: string, options: FetchOptions = {}): Promise<FetchResult> {
  const r = await httpGet(url, { ...options, maxBytes: options.maxBytes ?? NARINFO_LIMITS.maxLength });
  return r.status === 'ok' ? { status: 'ok', body: r.value, url: r.url } : { status: 'missing', url: r.url };
}

/** A result names where a redirect took its narinfo (`fetchedFrom`), when that is not the URL asked for. */
function withFetchedFrom(r: VerifyFileResult, fetchedFrom: string, url: string): VerifyFileResult {
  return fetchedFrom === url ? r : { ...r, fetchedFrom };
}

/** What `verifyHttpCache` is asked for: store paths (`/nix/store/<hash>-name`) or bare hash parts. */
export function hashPartOf(pathOrHash: string): string | undefined {
  const base = pathOrHash.trim().replace(/\/+$/, '').split('/').pop() ?? '';
  const hash = base.endsWith('.narinfo') ? base.slice(0, -'.narinfo'.length) : base.slice(0, 32);
  return /^[0-9abcdfghijklmnpqrsvwxyz]{32}$/.test(hash) ? hash : undefined;
}

export interface VerifyHttpOptions extends HttpGetOptions {
  trustedKeys: TrustedKeysInput;
  sigsNeeded?: number;
  /** Requests in flight (default 16). */
  concurrency?: number;
  /** Also download each trusted narinfo's NAR and check its size and FileHash. */
  checkNars?: boolean;
  onResult?: (result: VerifyFileResult) => void;
  onProgress?: (progress: { done: number; total?: number }) => void;
}

/**
 * Verifies the narinfos of `paths` (store paths or hash parts) in the HTTP(S) cache at `baseUrl`:
 * the same verdicts as verifyCache gives for the same files in a directory. A narinfo the cache
 * does not have (404) is a failure (`ERR_NOT_IN_CACHE`), as is a network error after the retries.
 */
export async function verifyHttpCache(baseUrl: string, paths: readonly string[], options: VerifyHttpOptions): Promise<VerifyCacheResult> {
  const started = Date.now();
  if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) throw argTypeError('baseUrl must be an http:// or https:// URL');
  const keys = trustedKeySet(options.trustedKeys);
  checkHttpGetOptions(options);
  const result: VerifyCacheResult = { total: 0, trusted: 0, untrusted: 0, corrupt: 0, failed: 0, problems: [], durationMs: 0 };
  const note = verifyCollector(result, options.onResult);

  let storeDir: string | undefined;
  // A cache without a readable nix-cache-info is read with Nix's default StoreDir, as Nix does.
  const http: HttpGetOptions = { timeoutMs: options.timeoutMs, retries: options.retries, signal: options.signal };
  const cacheInfo = await fetchCacheFile(cacheFileUrl(baseUrl, 'nix-cache-info'), { ...http, maxBytes: MAX_CACHE_INFO_BYTES }).catch((error: unknown) => {
    if ((error as NarsignError).code === 'ERR_ABORTED') throw error;
    return undefined;
  });
  if (cacheInfo?.status === 'ok') storeDir = parseNixCacheInfo(cacheInfo.body.toString('utf8')).storeDir;

  const one = async (wanted: string): Promise<VerifyFileResult> => {
    const hash = hashPartOf(wanted);
    if (!hash) return { file: wanted, status: 'failed', problem: { file: wanted, code: 'ERR_STORE_PATH', message: `${wanted}: not a store path or hash part` } };
    const url = cacheFileUrl(baseUrl, `${hash}.narinfo`);
    let fetched: FetchResult;
    try {
      fetched = await fetchCacheFile(url, http);
    } catch (error) {
      if ((error as NarsignError).code === 'ERR_ABORTED') throw error;
      return problemResult(url, error);
    }
    const from = fetched.url === url ? '' : ` (redirected to ${printable(fetched.url)})`;
    if (fetched.status === 'missing') return { file: url, status: 'failed', problem: { file: url, code: 'ERR_NOT_IN_CACHE', message: `${url}${from}: not in the cache (HTTP 404)` } };
    let r: VerifyFileResult;
    try {
      // The file name is the one we asked for, wherever a redirect took us: a narinfo for another path is refused.
      const verdict = verifyNarinfo(fetched.body, keys, { where: `${url}${from}`, fileName: `${hash}.narinfo`, sigsNeeded: options.sigsNeeded, ...(storeDir ? { storeDir } : {}) });
      r = verdictResult(url, verdict);
    } catch (error) {
      return withFetchedFrom(problemResult(url, error), fetched.url, url);
    }
    if (options.checkNars && r.status === 'trusted' && 'verdict' in r) r = withNarCheck(r, await checkNarHttp(baseUrl, r.verdict.info, http));
    return withFetchedFrom(r, fetched.url, url);
  };

  for await (const r of mapConcurrent(paths, options.concurrency ?? 16, one)) {
    note(r);
    options.onProgress?.({ done: result.total, total: paths.length });
  }
  result.durationMs = Date.now() - started;
  return result;
}
