/**
 * The one HTTP GET narsign makes, for every file it reads from a server (narinfos, nix-cache-info,
 * NARs under --check-nars; S3 and a server later). A hostile server chooses the status, the
 * headers, the body and how fast it comes, so everything it could use to exhaust us is bounded:
 *
 * - the body, counted after any Content-Encoding is undone (fetch decodes gzip/deflate/br as the
 *   bytes stream in; we count the decoded chunks and cancel the transfer past `maxBytes`), and a
 *   Content-Length above the cap is refused before anything is read;
 * - the time: `timeoutMs` covers one whole attempt (redirects, headers and the last body byte), and
 *   there are at most `retries` more attempts with a capped backoff (a server's Retry-After is not
 *   obeyed);
 * - redirects: followed like Nix (libcurl's FOLLOWLOCATION, at most 10 hops), but never from https to
 *   http, never in a loop, and the URL we ended at is reported;
 * - the headers: fetch (undici) refuses more than 16 KiB of them, and more than 5 content codings.
 *
 * Text the server chose (a Location, an error from the HTTP stack) is made printable before it goes
 * into a message.
 */
import { argTypeError, NarsignError, printable, rangeError } from './errors';

export interface HttpGetOptions {
  /** One attempt, whole: its redirects, the headers and the entire body, in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Further attempts after a failure that may pass: network errors, timeouts, 408/425/429/5xx (default 3). */
  retries?: number;
  /** Cancels everything (`ERR_ABORTED`). */
  signal?: AbortSignal;
}

export interface HttpGetRequest extends HttpGetOptions {
  /** The most body bytes accepted, counted after decompression; past it, `ERR_HTTP_BODY_TOO_LARGE`. */
  maxBytes: number;
}

/** Where a streamed body goes. `open` is called afresh for each attempt, so a retry starts clean. */
export interface BodySink<T> {
  write(chunk: Uint8Array): void;
  end(): T;
}

/** `url` is where the answer came from: the requested URL, or where the redirects led. */
export type HttpGetResult<T> = { status: 'ok'; url: string; value: T } | { status: 'missing'; url: string; httpStatus: number };

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 3;
/** As Nix (CURLOPT_MAXREDIRS 10). */
export const MAX_REDIRECTS = 10;
/** Bounds on the options, so that no caller can ask for an unbounded wait. */
export const MAX_RETRIES = 100;
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
export const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
/** Errors of the HTTP stack that another attempt would only repeat. */
const FINAL_NETWORK_CODES = new Set(['UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/** The URL of a file in the cache, whatever the trailing slashes of `base`. */
export function cacheFileUrl(base: string, file: string): string {
  return `${base.replace(/\/+$/, '')}/${file}`;
}

/** GET `url` whole, at most `maxBytes` of it. 404/410 → `missing`. */
export async function httpGet(url: string, request: HttpGetRequest): Promise<HttpGetResult<Buffer>> {
  return httpGetStream(url, request, () => {
    const chunks: Uint8Array[] = [];
    return { write: (chunk) => chunks.push(chunk), end: () => Buffer.concat(chunks) };
  });
}

/** A failure of one attempt, and whether another attempt may pass. */
class AttemptFailure extends Error {
  constructor(readonly code: string, message: string, readonly retry: boolean) {
    super(message);
  }
}

/**
 * GET `url`, handing the body to `open()`'s sink as it arrives (never held whole here). Retries
 * what may pass; throws a NarsignError naming the URL (and where redirects led) otherwise.
 */
export async function httpGetStream<T>(url: string, request: HttpGetRequest, open: () => BodySink<T>): Promise<HttpGetResult<T>> {
  const maxBytes = inRange('maxBytes', request.maxBytes, 0, Number.MAX_SAFE_INTEGER);
  const { retries, timeoutMs } = checkHttpGetOptions(request);
  let failure = new AttemptFailure('ERR_HTTP', 'not fetched', false);
  let attempts = 0;
  let lastAt = url;
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    if (attempt > 0) await delay(backoffMs(attempt), request.signal);
    if (request.signal?.aborted) throw aborted();
    attempts = attempt + 1;
    const state: AttemptState = { at: url };
    try {
      return await attemptGet(url, state, { maxBytes, timeoutMs, signal: request.signal }, open);
    } catch (error) {
      if (request.signal?.aborted) throw aborted();
      failure = error instanceof AttemptFailure ? error : new AttemptFailure('ERR_HTTP', describeFetchError(error), true);
      lastAt = state.at;
      if (!failure.retry) break;
    }
  }
  const after = attempts > 1 ? `, after ${attempts} attempts` : '';
  const where = lastAt === url ? '' : ` (redirected to ${printable(lastAt)})`;
  throw new NarsignError(failure.code, `${printable(url)}${where}: ${failure.message}${after}`, { file: url });
}

/** The options with their defaults, or a RangeError (`ERR_OUT_OF_RANGE`) naming the one out of its range. */
export function checkHttpGetOptions(options: HttpGetOptions): { retries: number; timeoutMs: number } {
  return {
    retries: inRange('retries', options.retries ?? DEFAULT_RETRIES, 0, MAX_RETRIES),
    timeoutMs: inRange('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
  };
}

/** `value`, an integer from `min` to `max` (every wait and every loop here is bounded). */
function inRange(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number') throw argTypeError(`${name} must be a number`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Backoff before attempt `attempt` (1, 2, …): 100 ms doubling, at most 2 s. */
function backoffMs(attempt: number): number {
  return Math.min(2000, 100 * 2 ** (attempt - 1));
}

interface AttemptState {
  /** The URL being fetched now (changes with each redirect). */
  at: string;
}

async function attemptGet<T>(url: string, state: AttemptState, limits: { maxBytes: number; timeoutMs: number; signal?: AbortSignal }, open: () => BodySink<T>): Promise<HttpGetResult<T>> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const stop = new AbortController();
  const signal = AbortSignal.any([timeout, stop.signal, ...(limits.signal ? [limits.signal] : [])]);
  try {
    const response = await followRedirects(url, state, signal);
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel().catch(() => {});
      return { status: 'missing', url: state.at, httpStatus: response.status };
    }
    if (response.status !== 200 && response.status !== 203) {
      await response.body?.cancel().catch(() => {});
      // 204/206/304 are not a whole file here: we send no Range and no validators.
      throw new AttemptFailure('ERR_HTTP', `HTTP ${response.status}`, RETRYABLE_STATUS.has(response.status));
    }
    refuseDeclaredSize(response, limits.maxBytes);
    return { status: 'ok', url: state.at, value: await readBody(response, limits.maxBytes, open) };
  } catch (error) {
    if (error instanceof AttemptFailure) throw error;
    if (timeout.aborted) throw new AttemptFailure('ERR_HTTP', `timed out after ${limits.timeoutMs} ms`, true);
    const code = networkCode(error);
    throw new AttemptFailure('ERR_HTTP', describeFetchError(error), !(code && (FINAL_NETWORK_CODES.has(code) || code.startsWith('HPE_'))));
  } finally {
    stop.abort(); // whatever is left of the transfer (a refused body, a redirect's body) is dropped
  }
}

/** GET, following redirects as Nix does, but not to http from https, not in circles, and at most MAX_REDIRECTS. */
async function followRedirects(url: string, state: AttemptState, signal: AbortSignal): Promise<Response> {
  const seen = new Set<string>();
  for (let hops = 0; ; hops += 1) {
    seen.add(state.at);
    // identity: nothing to gain on NARs (compressed already); a server that encodes anyway is decoded and counted.
    const response = await fetch(state.at, { redirect: 'manual', signal, headers: { 'accept-encoding': 'identity' } });
    if (!REDIRECT_STATUS.has(response.status)) return response;
    await response.body?.cancel().catch(() => {});
    state.at = redirectTarget(state.at, response, seen, hops);
  }
}

/** Where a redirect response sends us, if we may go there. Exported for its tests. */
export function redirectTarget(from: string, response: { status: number; headers: { get(name: string): string | null } }, seen: ReadonlySet<string>, hops: number): string {
  const location = response.headers.get('location');
  if (!location) throw new AttemptFailure('ERR_HTTP_REDIRECT', `HTTP ${response.status} without a Location`, false);
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new AttemptFailure('ERR_HTTP_REDIRECT', `HTTP ${response.status} to an invalid URL '${printable(location)}'`, false);
  }
  const to = printable(next.href);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new AttemptFailure('ERR_HTTP_REDIRECT', `redirected to '${to}', which is not an http(s) URL`, false);
  if (new URL(from).protocol === 'https:' && next.protocol === 'http:') {
    throw new AttemptFailure('ERR_HTTP_INSECURE_REDIRECT', `redirected from https to '${to}' (plain http): refused`, false);
  }
  if (seen.has(next.href)) throw new AttemptFailure('ERR_HTTP_REDIRECT', `redirect loop (back to '${to}')`, false);
  if (hops + 1 > MAX_REDIRECTS) throw new AttemptFailure('ERR_HTTP_REDIRECT', `more than ${MAX_REDIRECTS} redirects`, false);
  return next.href;
}

/** A Content-Length above the cap is refused before reading (only without Content-Encoding: then it counts encoded bytes). */
function refuseDeclaredSize(response: Response, maxBytes: number): void {
  if (response.headers.get('content-encoding')) return;
  const declared = response.headers.get('content-length');
  if (declared && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    throw new AttemptFailure('ERR_HTTP_BODY_TOO_LARGE', `the server announces ${declared} bytes (Content-Length), more than the limit of ${maxBytes}`, false);
  }
}

async function readBody<T>(response: Response, maxBytes: number, open: () => BodySink<T>): Promise<T> {
  const sink = open();
  if (!response.body) return sink.end();
  const reader = response.body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return sink.end();
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new AttemptFailure('ERR_HTTP_BODY_TOO_LARGE', `the body is larger than the limit of ${maxBytes} bytes (decompressed); the transfer was stopped`, false);
    }
    sink.write(value);
  }
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
  UND_ERR_HEADERS_OVERFLOW: 'the response headers are larger than 16 KiB',
};

function networkCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error as { code?: string }).code;
}

/** A network error in words (undici's codes mean little to a user), with the code kept in brackets. */
export function describeFetchError(error: unknown): string {
  const code = networkCode(error);
  if (code && NETWORK_WORDS[code]) return `${NETWORK_WORDS[code]} (${code})`;
  if (code?.startsWith('HPE_')) return `the response is not valid HTTP (${printable(code)})`;
  const cause = (error as { cause?: { message?: string } }).cause;
  return printable(code ?? cause?.message ?? (error as Error).message ?? String(error));
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

function aborted(): NarsignError {
  return new NarsignError('ERR_ABORTED', 'the operation was aborted');
}
