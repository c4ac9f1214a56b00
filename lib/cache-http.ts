/**
 * Reading an HTTP(S) binary cache: `nix-cache-info`, `<hash>.narinfo` and NAR files, fetched
 * concurrently with a per-request timeout and retries (network errors, 5xx and 429 are retried with
 * backoff; 404 is an answer, not an error). Verification itself is the same code as for a directory.
 */
import type { VerifyCacheResult, VerifyFileResult } from './cache';
import { problemResult, verdictResult, verifyCollector, withNarCheck } from './cache';
import { argTypeError, NarsignError } from './errors';
import { parseNixCacheInfo } from './cache-info';
import { mapConcurrent } from './concurrent';
import { checkNarHttp } from './nar-check';
import { trustedKeySet, TrustedKeysInput, verifyNarinfo } from './signatures';

export interface FetchOptions {
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Further attempts after a failure that may be passing (default 3). */
  retries?: number;
  /** Cancels everything. */
  signal?: AbortSignal;
}

export type FetchResult = { status: 'ok'; body: Buffer } | { status: 'missing' };

export const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The URL of a file in the cache, whatever the trailing slashes of `base`. */
export function cacheFileUrl(base: string, file: string): string {
  return `${base.replace(/\/+$/, '')}/${file}`;
}

/** GET one file of the cache. 404/410 → `missing`; other failures throw `ERR_HTTP` after the retries. */
export async function fetchCacheFile(url: string, options: FetchOptions = {}): Promise<FetchResult> {
  const retries = options.retries ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let lastError = '';
  let attempts = 0;
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    attempts = attempt + 1;
    if (options.signal?.aborted) throw new NarsignError('ERR_ABORTED', 'aborted');
    if (attempt > 0) await delay(Math.min(2000, 100 * 2 ** (attempt - 1)), options.signal);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const response = await fetch(url, { signal, redirect: 'follow' });
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        return { status: 'missing' };
      }
      if (!response.ok) {
        await response.body?.cancel();
        lastError = `HTTP ${response.status}`;
        if (RETRYABLE_STATUS.has(response.status)) continue;
        break;
      }
      return { status: 'ok', body: Buffer.from(await response.arrayBuffer()) };
    } catch (error) {
      if (options.signal?.aborted) throw new NarsignError('ERR_ABORTED', 'aborted');
      lastError = timeout.aborted ? `timed out after ${timeoutMs} ms` : describeFetchError(error);
    }
  }
  throw new NarsignError('ERR_HTTP', `${url}: ${lastError}${attempts > 1 ? `, after ${attempts} attempts` : ''}`, { file: url });
}

const NETWORK_WORDS: Record<string, string> = {
  UND_ERR_SOCKET: 'the server closed the connection',
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response',
};

/** A network error in words (undici's codes mean little to a user), with the code kept in brackets. */
export function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  if (code && NETWORK_WORDS[code]) return `${NETWORK_WORDS[code]} (${code})`;
  return code ?? cause?.message ?? (error as Error).message ?? String(error);
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** What `verifyHttpCache` is asked for: store paths (`/nix/store/<hash>-name`) or bare hash parts. */
export function hashPartOf(pathOrHash: string): string | undefined {
  const base = pathOrHash.trim().replace(/\/+$/, '').split('/').pop() ?? '';
  const hash = base.endsWith('.narinfo') ? base.slice(0, -'.narinfo'.length) : base.slice(0, 32);
  return /^[0-9abcdfghijklmnpqrsvwxyz]{32}$/.test(hash) ? hash : undefined;
}

export interface VerifyHttpOptions extends FetchOptions {
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
  const result: VerifyCacheResult = { total: 0, trusted: 0, untrusted: 0, corrupt: 0, failed: 0, problems: [], durationMs: 0 };
  const note = verifyCollector(result, options.onResult);

  let storeDir: string | undefined;
  const cacheInfo = await fetchCacheFile(cacheFileUrl(baseUrl, 'nix-cache-info'), options).catch(() => undefined);
  if (cacheInfo?.status === 'ok') storeDir = parseNixCacheInfo(cacheInfo.body.toString('utf8')).storeDir;

  const one = async (wanted: string): Promise<VerifyFileResult> => {
    const hash = hashPartOf(wanted);
    if (!hash) return { file: wanted, status: 'failed', problem: { file: wanted, code: 'ERR_STORE_PATH', message: `${wanted}: not a store path or hash part` } };
    const url = cacheFileUrl(baseUrl, `${hash}.narinfo`);
    let fetched: FetchResult;
    try {
      fetched = await fetchCacheFile(url, options);
    } catch (error) {
      if ((error as NarsignError).code === 'ERR_ABORTED') throw error;
      return problemResult(url, error);
    }
    if (fetched.status === 'missing') return { file: url, status: 'failed', problem: { file: url, code: 'ERR_NOT_IN_CACHE', message: `${url}: not in the cache (HTTP 404)` } };
    let r: VerifyFileResult;
    try {
      const verdict = verifyNarinfo(fetched.body, keys, { where: url, fileName: `${hash}.narinfo`, sigsNeeded: options.sigsNeeded, ...(storeDir ? { storeDir } : {}) });
      r = verdictResult(url, verdict);
    } catch (error) {
      return problemResult(url, error);
    }
    if (options.checkNars && r.status === 'trusted' && 'verdict' in r) r = withNarCheck(r, await checkNarHttp(baseUrl, r.verdict.info, options));
    return r;
  };

  for await (const r of mapConcurrent(paths, options.concurrency ?? 16, one)) {
    note(r);
    options.onProgress?.({ done: result.total, total: paths.length });
  }
  result.durationMs = Date.now() - started;
  return result;
}
