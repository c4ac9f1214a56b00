/**
 * A binary cache in an S3 bucket (AWS, or an S3-compatible server such as Ceph's RADOS Gateway),
 * through the AWS SDK for JavaScript v3 and its standard credential chain (environment, shared
 * config and credentials files with `profile=`, container and instance metadata, SSO).
 *
 * The SDK is loaded by `openS3Store`, never by loading narsign: users without S3 do not pay for it.
 *
 * Safety, as for a local cache:
 *  - only `<hash>.narinfo` keys are listed, and only keys read as such are replaced;
 *  - every body is capped as it is read, counting decompressed bytes (narinfos stored with
 *    Content-Encoding gzip or br, Nix's `narinfo-compression`, are read and written back in the same
 *    encoding; another encoding is refused with ERR_S3_ENCODING_UNSUPPORTED);
 *  - a replacement is a conditional PUT on the ETag that was read (compare-and-swap): a concurrent
 *    writer's change is never overwritten, it is reported as `conflict`. Whether the server honours
 *    `If-Match`, and in which spelling, is probed once per store on a scratch key; a server that
 *    does not is refused (ERR_S3_NO_CONDITIONAL_WRITES) unless `allowUnconditionalWrites` is set;
 *  - a replacement keeps the object's Content-Type (Nix's `text/x-nix-narinfo` where it had none, or
 *    only a server's default octet-stream),
 *    Content-Encoding, Cache-Control, Content-Disposition, Content-Language, user metadata, storage
 *    class, server-side encryption (SSE-S3, SSE-KMS with its key; SSE-C objects are refused: the key
 *    is not ours), and its ACL (read with GetObjectAcl and written with the PUT itself, so no window
 *    leaves the object with another ACL; a bucket where ACLs are disabled has none to keep);
 *  - 503 SlowDown and other passing failures are retried by the SDK's standard retry strategy with
 *    backoff, a bounded number of times;
 *  - errors are NarsignErrors with stable codes, naming the bucket and key, never credentials.
 */
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type * as S3 from '@aws-sdk/client-s3';
import { NarsignError, rangeError } from '../errors';
import { mapConcurrent } from '../concurrent';
import { NARINFO_LIMITS } from '../narinfo';
import { describeS3Location, parseS3Url, S3Location } from './s3-url';
import { NARINFO_NAME, ReadResult, Replacement, ReplaceResult, Store, StoreCallOptions, VersionToken } from './store';

export { parseS3Url, describeS3Location } from './s3-url';
export type { S3Location } from './s3-url';

/** Nix's content type for narinfos. */
export const NARINFO_CONTENT_TYPE = 'text/x-nix-narinfo';

export interface S3StoreOptions {
  /** Open for reading only: `replaceNarinfos` then throws ERR_STORE_READ_ONLY. */
  readOnly?: boolean;
  /**
   * Replace narinfos with a plain PUT when the server does not honour conditional writes. Unsafe
   * with concurrent writers (one may erase the other's signature): the user's explicit choice.
   */
  allowUnconditionalWrites?: boolean;
  /** Requests in flight per batch (default 32). */
  concurrency?: number;
  /** Keys per listing page (default 1000, S3's most). */
  maxKeys?: number;
  /** Largest narinfo, in decompressed bytes (default NARINFO_LIMITS.maxLength, 4 MiB). */
  maxNarinfoBytes?: number;
  /** Attempts per request, the first included (default 5): passing failures and throttling are retried. */
  maxAttempts?: number;
  /**
   * Per-request socket timeout in milliseconds (default 30 s; connecting: 10 s). One narinfo's whole
   * exchange (attempts and body) must end within timeoutMs × maxAttempts: ERR_S3_TIMEOUT otherwise.
   */
  timeoutMs?: number;
  /** Explicit credentials instead of the SDK's default chain (e.g. for tests). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** The object's settings a replacement must keep. Carried in the version token, not in the store. */
interface S3Version extends VersionToken {
  readonly key: string;
  readonly contentType?: string;
  readonly contentEncoding?: 'gzip' | 'br';
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly metadata?: Record<string, string>;
  readonly storageClass?: string;
  readonly sse?: string;
  readonly sseKmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
}

/** How the server takes If-Match: the ETag as S3 returns it (quoted, AWS) or without its quotes (RGW 16). */
type IfMatchForm = 'quoted' | 'unquoted' | 'none';

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/**
 * Opens the S3 store at `url` (`s3://BUCKET[/PREFIX]?…`). Loads the AWS SDK. Touches no network
 * until the first call: a wrong bucket or wrong credentials are reported by the first request.
 */
export function openS3Store(url: string | S3Location, options: S3StoreOptions = {}): Store {
  const location = typeof url === 'string' ? parseS3Url(url) : url;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('@aws-sdk/client-s3') as typeof S3;
  const client = new sdk.S3Client({
    region: location.region,
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
    ...(location.profile ? { profile: location.profile } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // A checksum on every PUT makes the SDK buffer or trailer-encode bodies, which S3-compatible
    // servers refuse (RGW answers a streamed body with 411): only where the API requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: 'standard',
    requestHandler: { requestTimeout: options.timeoutMs ?? 30_000, connectionTimeout: 10_000 },
  });
  capResponses(client);
  return new S3Store(sdk, client, location, options);
}

/**
 * The most bytes of any response but an object's body: a listing page (1000 keys of at most 1 KiB)
 * or an error document is far smaller. The SDK reads these whole, so the cap is in the request
 * handler, before the SDK sees them.
 */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Truncated listing pages in a row with no key past the last one before the listing is refused (S3 may send a few). */
const MAX_STALLED_PAGES = 16;

/**
 * Wraps the client's request handler so every response body the SDK reads itself is capped. An
 * object's body (a successful GET of a key, no query) is left to the store, which caps it by what
 * it is: a narinfo (decompressed) or a NAR.
 */
function capResponses(client: S3.S3Client): void {
  type Handler = { handle: (request: any, options?: any) => Promise<{ response: { statusCode: number; body?: any } }>; [key: string]: any };
  const config = client.config as unknown as { requestHandler: Handler };
  const inner = config.requestHandler;
  config.requestHandler = {
    async handle(request: { method: string; query?: Record<string, unknown> }, options?: unknown) {
      const out = await inner.handle(request, options);
      const body = out.response.body as Readable | undefined;
      const objectBody = request.method === 'GET' && Object.keys(request.query ?? {}).length === 0 && out.response.statusCode < 300;
      if (!objectBody && body && typeof body.pipe === 'function') {
        const capped = capStream(MAX_RESPONSE_BYTES, 'an S3 response');
        body.on('error', (error) => capped.destroy(error));
        out.response.body = body.pipe(capped);
      }
      return out;
    },
    updateHttpClientConfig: (key: unknown, value: unknown) => inner.updateHttpClientConfig?.(key, value),
    httpHandlerConfigs: () => inner.httpHandlerConfigs?.() ?? {},
    destroy: () => inner.destroy?.(),
    metadata: inner.metadata,
  };
}

class S3Store implements Store {
  readonly url: string;
  readonly writable: boolean;
  private ifMatchForm?: Promise<IfMatchForm>;
  private readonly concurrency: number;
  private readonly maxNarinfoBytes: number;
  private readonly deadlineMs: number;

  constructor(
    private readonly sdk: typeof S3,
    private readonly client: S3.S3Client,
    private readonly location: S3Location,
    private readonly options: S3StoreOptions,
  ) {
    this.url = describeS3Location(location);
    this.writable = !options.readOnly;
    this.concurrency = positiveInteger(options.concurrency ?? 32, 'concurrency');
    this.maxNarinfoBytes = positiveInteger(options.maxNarinfoBytes ?? NARINFO_LIMITS.maxLength, 'maxNarinfoBytes');
    positiveInteger(options.maxKeys ?? 1000, 'maxKeys');
    // Every attempt may use the socket timeout; the whole exchange gets that once per attempt.
    this.deadlineMs = positiveInteger(options.timeoutMs ?? 30_000, 'timeoutMs') * positiveInteger(options.maxAttempts ?? 5, 'maxAttempts');
  }

  private key(name: string): string {
    return this.location.prefix ? `${this.location.prefix}/${name}` : name;
  }

  async *listNarinfos(options: StoreCallOptions = {}): AsyncIterable<string> {
    const listPrefix = this.location.prefix ? `${this.location.prefix}/` : '';
    // A listing must move forward: S3 returns keys in UTF-8 byte order, page after page. Only the
    // last key and token are kept (memory flat in the bucket's size); a server that pages without
    // progress — a repeated token, or pages that never pass the last key — is stopped with an error.
    let token: string | undefined;
    let lastKey: Buffer | undefined;
    let stalled = 0;
    for (;;) {
      const page = await this.send(new this.sdk.ListObjectsV2Command({
        Bucket: this.location.bucket,
        Prefix: listPrefix,
        // Top level only, as for a directory: keys under deeper "folders" come back as one prefix each.
        Delimiter: '/',
        MaxKeys: this.options.maxKeys ?? 1000,
        ContinuationToken: token,
      }), listPrefix || '/', options.signal);
      let progressed = false;
      for (const key of [...(page.Contents ?? []).map((o: { Key?: string }) => o.Key), ...(page.CommonPrefixes ?? []).map((p: { Prefix?: string }) => p.Prefix)]) {
        if (key === undefined) continue;
        const bytes = Buffer.from(key, 'utf8');
        if (lastKey === undefined || Buffer.compare(bytes, lastKey) > 0) {
          lastKey = bytes;
          progressed = true;
        }
      }
      for (const object of page.Contents ?? []) {
        const name = object.Key?.startsWith(listPrefix) ? object.Key.slice(listPrefix.length) : undefined;
        if (name !== undefined && NARINFO_NAME.test(name)) yield name;
      }
      if (!page.IsTruncated) return;
      const next = page.NextContinuationToken;
      if (!next) throw new NarsignError('ERR_S3_LISTING', `${this.url}: the listing is truncated but the server gave no continuation token`);
      if (next === token) throw new NarsignError('ERR_S3_LISTING', `${this.url}: the server repeated a continuation token`);
      stalled = progressed ? 0 : stalled + 1;
      if (stalled > MAX_STALLED_PAGES) throw new NarsignError('ERR_S3_LISTING', `${this.url}: the listing made no progress in ${stalled} pages (no key past the last one)`);
      token = next;
    }
  }

  async readNarinfos(names: readonly string[], options: StoreCallOptions = {}): Promise<ReadResult[]> {
    const results: ReadResult[] = [];
    for await (const result of mapConcurrent(names, this.concurrency, (name) => this.readOne(name, options.signal))) results.push(result);
    return results;
  }

  private async readOne(name: string, callerSignal?: AbortSignal): Promise<ReadResult> {
    if (!NARINFO_NAME.test(name)) return { name, status: 'error', error: notNarinfo(name) };
    const key = this.key(name);
    const { signal, timedOut } = this.deadline(callerSignal);
    try {
      const object = await this.send(new this.sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: key }), key, signal, true);
      if (object === undefined) return { name, status: 'missing' };
      const encoding = contentEncoding(object.ContentEncoding, this.where(key));
      if (object.SSECustomerAlgorithm) {
        destroyBody(object.Body);
        throw new NarsignError('ERR_S3_SSE_C', `${this.where(key)}: encrypted with a customer-provided key (SSE-C): narsign cannot read or replace it`);
      }
      const raw = await readCapped(object.Body, object.ContentLength, this.maxNarinfoBytes, this.where(key), signal);
      const bytes = await decodeCapped(raw, encoding, this.maxNarinfoBytes, this.where(key));
      if (!object.ETag) throw new NarsignError('ERR_S3_PROTOCOL', `${this.where(key)}: the server gave no ETag`);
      const version: S3Version = {
        etag: object.ETag,
        key,
        contentType: object.ContentType,
        contentEncoding: encoding,
        cacheControl: object.CacheControl,
        contentDisposition: object.ContentDisposition,
        contentLanguage: object.ContentLanguage,
        metadata: object.Metadata,
        storageClass: object.StorageClass,
        sse: object.ServerSideEncryption,
        sseKmsKeyId: object.SSEKMSKeyId,
        bucketKeyEnabled: object.BucketKeyEnabled,
      };
      return { name, status: 'ok', bytes, version };
    } catch (error) {
      return { name, status: 'error', error: timedOut() ? this.timeoutError(key) : asNarsignError(error, this.where(key)) };
    }
  }

  /**
   * The caller's signal joined with a deadline for one whole narinfo exchange (request, retries and
   * body): the socket timeout alone would let a server drip a body a byte at a time for hours.
   */
  private deadline(callerSignal?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean } {
    const timeout = AbortSignal.timeout(this.deadlineMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    return { signal, timedOut: () => timeout.aborted && !callerSignal?.aborted };
  }

  private timeoutError(key: string): NarsignError {
    return new NarsignError('ERR_S3_TIMEOUT', `${this.where(key)}: no complete answer within ${this.deadlineMs} ms`, { file: this.where(key) });
  }

  async replaceNarinfos(items: readonly Replacement[], options: StoreCallOptions = {}): Promise<ReplaceResult[]> {
    if (!this.writable) throw new NarsignError('ERR_STORE_READ_ONLY', `${this.url} was opened read-only`);
    if (items.length === 0) return [];
    const form = await this.conditionalWriteForm(options.signal);
    const results: ReplaceResult[] = [];
    for await (const result of mapConcurrent(items, this.concurrency, (item) => this.replaceOne(item, form, options.signal))) results.push(result);
    return results;
  }

  private async replaceOne(item: Replacement, form: IfMatchForm, callerSignal?: AbortSignal): Promise<ReplaceResult> {
    const { name } = item;
    const version = item.version as S3Version;
    // Only a key that was read as a narinfo, under this name, is ever written.
    if (!NARINFO_NAME.test(name)) return { name, status: 'error', error: notNarinfo(name) };
    const key = this.key(name);
    if (version?.key !== key || typeof version.etag !== 'string') {
      return { name, status: 'error', error: new NarsignError('ERR_STORE_VERSION', `${this.where(key)}: replaced with a version token that was not read from this key`) };
    }
    const { signal, timedOut } = this.deadline(callerSignal);
    try {
      const acl = await this.objectAcl(key, signal);
      const body = await encode(item.bytes, version.contentEncoding);
      const put: S3.PutObjectCommandInput = {
        Bucket: this.location.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: narinfoContentType(version.contentType),
        ContentEncoding: version.contentEncoding,
        CacheControl: version.cacheControl,
        ContentDisposition: version.contentDisposition,
        ContentLanguage: version.contentLanguage,
        Metadata: version.metadata,
        StorageClass: version.storageClass && version.storageClass !== 'STANDARD' ? version.storageClass as S3.StorageClass : undefined,
        ServerSideEncryption: version.sse as S3.ServerSideEncryption | undefined,
        SSEKMSKeyId: version.sse === 'aws:kms' || version.sse === 'aws:kms:dsse' ? version.sseKmsKeyId : undefined,
        BucketKeyEnabled: version.bucketKeyEnabled,
        ...acl,
      };
      if (form !== 'none') put.IfMatch = form === 'quoted' ? quoted(version.etag) : unquoted(version.etag);
      const written = await this.sendPut(put, key, signal);
      if (written === 'conflict') return { name, status: 'conflict' };
      if (written === 'maybe') return await this.settleAmbiguous(item, key, signal);
      return { name, status: 'replaced', version: { ...version, etag: written } as S3Version };
    } catch (error) {
      // A PUT cut off by the deadline may still have landed: the caller's re-read settles it.
      return { name, status: 'error', error: timedOut() ? this.timeoutError(key) : asNarsignError(error, this.where(key)) };
    }
  }

  /**
   * A PUT that ended in a server error with If-Match set: RGW sometimes answers a lost race with 500
   * instead of 412. If the object is no longer the version read, another writer got there: conflict.
   */
  private async settleAmbiguous(item: Replacement, key: string, signal?: AbortSignal): Promise<ReplaceResult> {
    const head = await this.send(new this.sdk.HeadObjectCommand({ Bucket: this.location.bucket, Key: key }), key, signal, true);
    if (head === undefined || unquoted(head.ETag ?? '') !== unquoted(item.version.etag)) return { name: item.name, status: 'conflict' };
    return { name: item.name, status: 'error', error: new NarsignError('ERR_S3_SERVER', `${this.where(key)}: the server failed the conditional write (HTTP 500) and the object is unchanged`) };
  }

  /** PUT → the new ETag, 'conflict' (412/409), or 'maybe' (a 5xx left after the retries, If-Match set). */
  private async sendPut(put: S3.PutObjectCommandInput, key: string, signal?: AbortSignal): Promise<string | 'conflict' | 'maybe'> {
    try {
      const out = await this.client.send(new this.sdk.PutObjectCommand(put), { abortSignal: signal });
      return out.ETag ?? '';
    } catch (error) {
      const status = httpStatus(error);
      if (put.IfMatch !== undefined && (status === 412 || status === 409)) return 'conflict';
      if (put.IfMatch !== undefined && status !== undefined && status >= 500) return 'maybe';
      throw s3Error(error, this.where(key));
    }
  }

  /** The object's ACL as PUT headers, so the replacement keeps it; {} where the bucket has ACLs disabled. */
  private async objectAcl(key: string, signal?: AbortSignal): Promise<Partial<S3.PutObjectCommandInput>> {
    let acl: S3.GetObjectAclCommandOutput;
    try {
      acl = await this.client.send(new this.sdk.GetObjectAclCommand({ Bucket: this.location.bucket, Key: key }), { abortSignal: signal });
    } catch (error) {
      if (errorName(error) === 'AccessControlListNotSupported') return {};
      throw s3Error(error, this.where(key));
    }
    return aclHeaders(acl, this.where(key));
  }

  /**
   * Whether and how the server honours If-Match on PUT, probed once per store on a scratch key
   * (`.narsign-probe-<random>`, never a narinfo name, deleted after): a PUT whose If-Match names
   * another ETag must be refused, and one naming the current ETag must succeed.
   */
  private conditionalWriteForm(signal?: AbortSignal): Promise<IfMatchForm> {
    this.ifMatchForm ??= this.probeConditionalWrites(signal).catch((error) => {
      this.ifMatchForm = undefined; // a failed probe (network) is tried again by the next batch
      throw error;
    });
    return this.ifMatchForm;
  }

  private async probeConditionalWrites(signal?: AbortSignal): Promise<IfMatchForm> {
    const key = this.key(`.narsign-probe-${randomBytes(12).toString('hex')}`);
    const base = { Bucket: this.location.bucket, Key: key, ContentType: 'text/plain' };
    const attempt = async (body: string, ifMatch?: string): Promise<string | number> => {
      try {
        const out = await this.client.send(new this.sdk.PutObjectCommand({ ...base, Body: body, IfMatch: ifMatch }), { abortSignal: signal });
        return out.ETag ?? '';
      } catch (error) {
        const status = httpStatus(error);
        if (status === 412 || status === 409 || status === 501 || status === 400) return status;
        throw s3Error(error, this.where(key));
      }
    };
    try {
      const first = await attempt('narsign probe 1');
      if (typeof first !== 'string' || !first) throw new NarsignError('ERR_S3_PROTOCOL', `${this.where(key)}: the server gave no ETag for a PUT`);
      let form: IfMatchForm = 'none';
      const stale = '"00000000000000000000000000000000"';
      for (const candidate of ['quoted', 'unquoted'] as const) {
        const spell = candidate === 'quoted' ? quoted : unquoted;
        // A wrong ETag must be refused (else If-Match is ignored), then the right one accepted.
        if (typeof (await attempt('narsign probe stale', spell(stale))) === 'string') break;
        const current = await attempt('narsign probe 2', spell(first));
        if (typeof current === 'string') {
          form = candidate;
          break;
        }
      }
      if (form === 'none' && !this.options.allowUnconditionalWrites) {
        throw new NarsignError('ERR_S3_NO_CONDITIONAL_WRITES', `${this.url}: the server does not honour conditional writes (If-Match), so a concurrent signer could lose signatures; allow unconditional writes to replace narinfos anyway`);
      }
      return form;
    } finally {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.location.bucket, Key: key })).catch(() => {});
    }
  }

  async openFile(name: string, options: StoreCallOptions & { maxBytes: number }): Promise<Readable | undefined> {
    const maxBytes = positiveInteger(options.maxBytes, 'maxBytes');
    if (typeof name !== 'string' || name === '' || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new NarsignError('ERR_STORE_NAME', `'${String(name).slice(0, 200)}' is not a file name in the cache`);
    }
    const key = this.key(name);
    const object = await this.send(new this.sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: key }), key, options.signal, true);
    if (object === undefined) return undefined;
    if (object.ContentLength !== undefined && object.ContentLength > maxBytes) {
      destroyBody(object.Body);
      throw tooLarge(this.where(key), maxBytes, object.ContentLength);
    }
    return (object.Body as Readable).pipe(capStream(maxBytes, this.where(key)));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private where(key: string): string {
    return `s3://${this.location.bucket}/${key}`;
  }

  /** Sends a command; errors become NarsignErrors. With `missingOk`, 404 NoSuchKey → undefined. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's per-command output types
  private async send(command: any, key: string, signal: AbortSignal | undefined, missingOk = false): Promise<any> {
    try {
      return await this.client.send(command, { abortSignal: signal });
    } catch (error) {
      if (missingOk && (errorName(error) === 'NoSuchKey' || errorName(error) === 'NotFound')) return undefined;
      throw s3Error(error, key === '/' || key.endsWith('/') ? `s3://${this.location.bucket}/${key.replace(/^\/$/, '')}` : this.where(key));
    }
  }
}

/**
 * The content type a replacement is written with: the object's own, but Nix's where the object had
 * only the type a server gives an upload that named none (AWS: binary/octet-stream; RGW:
 * application/octet-stream), so a replaced narinfo is served as Nix serves it.
 */
function narinfoContentType(type: string | undefined): string {
  if (type === undefined || type === '' || type === 'binary/octet-stream' || type === 'application/octet-stream') return NARINFO_CONTENT_TYPE;
  return type;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw rangeError(`${name} must be a positive integer`);
  }
  return value;
}

function notNarinfo(name: string): NarsignError {
  return new NarsignError('ERR_STORE_NOT_NARINFO', `'${String(name).slice(0, 200)}' is not a narinfo name (<32 nix32 characters>.narinfo): not read or written`);
}

function quoted(etag: string): string {
  return `"${unquoted(etag)}"`;
}

function unquoted(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** The encodings narsign can undo and redo; anything else is refused rather than written back wrong. */
function contentEncoding(value: string | undefined, where: string): 'gzip' | 'br' | undefined {
  const encoding = (value ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return undefined;
  if (encoding === 'gzip' || encoding === 'br') return encoding;
  throw new NarsignError('ERR_S3_ENCODING_UNSUPPORTED', `${where}: stored with Content-Encoding '${encoding.slice(0, 40)}', which narsign cannot read and write back (gzip and br can be)`);
}

async function encode(bytes: Buffer, encoding: 'gzip' | 'br' | undefined): Promise<Buffer> {
  if (encoding === 'gzip') return gzip(bytes);
  if (encoding === 'br') return brotli(bytes);
  return bytes;
}

function tooLarge(where: string, limit: number, size?: number): NarsignError {
  const what = size === undefined ? 'more than' : `${size} bytes, more than`;
  return new NarsignError('ERR_STORE_OBJECT_TOO_LARGE', `${where} is ${what} the limit of ${limit} bytes`, { file: where });
}

function destroyBody(body: unknown): void {
  (body as Readable | undefined)?.destroy?.();
}

/** Reads a response body, refusing it past `limit` bytes: by its length before reading, else as it comes. */
async function readCapped(body: unknown, length: number | undefined, limit: number, where: string, signal?: AbortSignal): Promise<Buffer> {
  if (length !== undefined && length > limit) {
    destroyBody(body);
    throw tooLarge(where, limit, length);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = body as Readable;
  // The SDK's abort signal stops a request, not a body already streaming: stop that here.
  const stop = () => stream.destroy(new NarsignError('ERR_ABORTED', 'aborted'));
  signal?.addEventListener('abort', stop, { once: true });
  try {
    if (signal?.aborted) stop();
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > limit) throw tooLarge(where, limit);
      chunks.push(chunk as Buffer);
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    stream.destroy?.();
  }
  return Buffer.concat(chunks, total);
}

/** Undoes the Content-Encoding, counting decompressed bytes against the limit (a zip bomb stops there). */
async function decodeCapped(raw: Buffer, encoding: 'gzip' | 'br' | undefined, limit: number, where: string): Promise<Buffer> {
  if (encoding === undefined) return raw;
  const decoder = encoding === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    const output = Readable.from([raw]).pipe(decoder);
    for await (const chunk of output) {
      total += (chunk as Buffer).length;
      if (total > limit) throw tooLarge(where, limit);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    decoder.destroy();
    if (error instanceof NarsignError) throw error;
    throw new NarsignError('ERR_S3_ENCODING', `${where}: the ${encoding} body does not decompress`, { file: where });
  }
  return Buffer.concat(chunks, total);
}

/** A pass-through stream that fails past `limit` bytes. */
function capStream(limit: number, where: string): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > limit) callback(tooLarge(where, limit));
      else callback(null, chunk);
    },
  });
}

/**
 * The grants of an object's ACL as the PUT headers that set the same ACL. Every grant is spelled
 * out, the owner's too: a PUT with grant headers sets exactly those (RGW drops an owner grant left out).
 */
function aclHeaders(acl: S3.GetObjectAclCommandOutput, where: string): Partial<S3.PutObjectCommandInput> {
  const headers: Record<string, string[]> = { GrantRead: [], GrantReadACP: [], GrantWriteACP: [], GrantFullControl: [] };
  const field: Record<string, string> = { READ: 'GrantRead', READ_ACP: 'GrantReadACP', WRITE_ACP: 'GrantWriteACP', FULL_CONTROL: 'GrantFullControl' };
  for (const grant of acl.Grants ?? []) {
    const grantee = grant.Grantee;
    const target = field[grant.Permission ?? ''];
    if (!grantee || !target) {
      throw new NarsignError('ERR_S3_ACL_UNSUPPORTED', `${where}: its ACL has a grant narsign cannot keep (${String(grant.Permission).slice(0, 40)}): not replaced`);
    }
    const who = grantee.Type === 'Group' && grantee.URI ? `uri="${grantee.URI}"`
      : grantee.Type === 'CanonicalUser' && grantee.ID ? `id="${grantee.ID}"`
      : grantee.EmailAddress ? `emailAddress="${grantee.EmailAddress}"` : undefined;
    if (!who) throw new NarsignError('ERR_S3_ACL_UNSUPPORTED', `${where}: its ACL names a grantee narsign cannot keep: not replaced`);
    headers[target].push(who);
  }
  const out: Partial<S3.PutObjectCommandInput> = {};
  for (const [name, list] of Object.entries(headers)) if (list.length) (out as Record<string, string>)[name] = list.join(', ');
  return out;
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string })?.name;
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError', 'RequestTimeout']);

/**
 * An SDK error as a NarsignError with a stable code. The message is built from the error's name and
 * status, never from its text or request (which could carry a signed URL or an endpoint's user-info).
 */
export function s3Error(error: unknown, where: string): NarsignError {
  if (error instanceof NarsignError) return error;
  const name = errorName(error) ?? 'Error';
  const status = httpStatus(error);
  const code = (error as { code?: string })?.code;
  const said = (text: string, errorCode: string) => new NarsignError(errorCode, `${where}: ${text}`, { file: where });
  if (name === 'AbortError' || code === 'ABORT_ERR') return said('aborted', 'ERR_ABORTED');
  if (name === 'CredentialsProviderError') return said('no AWS credentials found (environment, shared config/credentials files and profile, container or instance metadata, SSO)', 'ERR_S3_NO_CREDENTIALS');
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken' || name === 'TokenRefreshRequired') {
    return said(`the server refused the credentials (${name}${status ? `, HTTP ${status}` : ''})`, 'ERR_S3_CREDENTIALS');
  }
  if (name === 'AccessDenied' || status === 403) return said(`access denied (${name}, HTTP ${status ?? 403})`, 'ERR_S3_ACCESS_DENIED');
  if (name === 'NoSuchBucket') return said('the bucket does not exist (NoSuchBucket)', 'ERR_S3_NO_SUCH_BUCKET');
  if (name === 'SlowDown' || name === 'ThrottlingException' || name === 'TooManyRequestsException' || status === 503 || status === 429) {
    return said(`the server is still throttling after the retries (${name}, HTTP ${status ?? 503})`, 'ERR_S3_THROTTLED');
  }
  const networkCode = code ?? (error as { cause?: { code?: string } })?.cause?.code;
  if (status === undefined && (NETWORK_CODES.has(networkCode ?? '') || NETWORK_CODES.has(name))) {
    return said(`the endpoint cannot be reached (${networkCode ?? name})`, 'ERR_S3_UNREACHABLE');
  }
  if (status === undefined) return said(`the request failed (${name}${networkCode ? `, ${networkCode}` : ''})`, 'ERR_S3_UNREACHABLE');
  return said(`the server answered ${name} (HTTP ${status})`, status >= 500 ? 'ERR_S3_SERVER' : 'ERR_S3_REQUEST');
}

function asNarsignError(error: unknown, where: string): NarsignError {
  return error instanceof NarsignError ? error : s3Error(error, where);
}
