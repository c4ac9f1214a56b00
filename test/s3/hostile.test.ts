/**
 * The S3 store against servers that misbehave in ways the real one here does not on demand: a
 * listing that repeats its continuation token, throttling (503 SlowDown), a server that ignores
 * If-Match, and one that answers a lost conditional write with 500 (as RGW sometimes does). Each is a
 * small HTTP server on 127.0.0.1 speaking just enough S3 for the calls the store makes.
 */
import test from 'ava';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { NarsignError } from '../../lib/errors';
import { openS3Store, S3StoreOptions } from '../../lib/stores/s3';
import type { ReadResult } from '../../lib/stores/store';
import { narinfoName } from './server';

const FAKE_CREDENTIALS = { accessKeyId: 'AKIDNOTREAL', secretAccessKey: 'not-a-real-secret' };

type Handler = (request: http.IncomingMessage, body: Buffer, response: http.ServerResponse) => void;

async function withServer(handler: Handler, run: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`s3://bucket?endpoint=http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function s3Error(response: http.ServerResponse, status: number, code: string): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
}

function listing(keys: string[], truncated: boolean, token?: string): string {
  const contents = keys.map((key) => `<Contents><Key>${key}</Key><Size>1</Size></Contents>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix></Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${truncated}</IsTruncated>${token ? `<NextContinuationToken>${token}</NextContinuationToken>` : ''}${contents}</ListBucketResult>`;
}

const OWNER_ACL = '<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>owner</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>owner</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>';

/**
 * A tiny object store. `ifMatch` says how it treats If-Match on PUT: 'ignore' (writes anyway),
 * 'unquoted' (RGW 16: only the ETag without quotes matches), 'lose-with-500' (like 'unquoted', but a
 * mismatch on a narinfo answers 500 instead of 412), 'fail-with-500' (every conditional PUT of a
 * narinfo fails with 500, the object unchanged).
 */
function objectServer(ifMatch: 'ignore' | 'unquoted' | 'lose-with-500' | 'fail-with-500', seen: { puts: Array<Record<string, unknown>> }): Handler {
  const objects = new Map<string, { body: Buffer; etag: string }>();
  return (request, body, response) => {
    const url = new URL(request.url!, 'http://x');
    const key = decodeURIComponent(url.pathname.replace(/^\/bucket\//, ''));
    if (request.method === 'GET' && url.searchParams.has('acl')) {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(OWNER_ACL);
      return;
    }
    const object = objects.get(key);
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (!object) return s3Error(response, 404, 'NoSuchKey');
      response.writeHead(200, { etag: `"${object.etag}"`, 'content-length': object.body.length, 'content-type': 'text/x-nix-narinfo' });
      response.end(request.method === 'GET' ? object.body : undefined);
      return;
    }
    if (request.method === 'PUT') {
      seen.puts.push({ key, ...request.headers });
      const condition = request.headers['if-match'];
      if (condition !== undefined && ifMatch === 'fail-with-500' && !key.startsWith('.narsign-probe')) return s3Error(response, 500, 'InternalError');
      if (condition !== undefined && ifMatch !== 'ignore' && condition !== object?.etag) {
        if (ifMatch === 'lose-with-500' && !key.startsWith('.narsign-probe')) return s3Error(response, 500, 'InternalError');
        return s3Error(response, 412, 'PreconditionFailed');
      }
      const etag = randomBytes(16).toString('hex');
      objects.set(key, { body, etag });
      response.writeHead(200, { etag: `"${etag}"` });
      response.end();
      return;
    }
    if (request.method === 'DELETE') {
      objects.delete(key);
      response.writeHead(204);
      response.end();
      return;
    }
    s3Error(response, 400, 'InvalidRequest');
  };
}

async function readAndChange(url: string, options: S3StoreOptions, name: string, changeBehind?: () => Promise<void>) {
  const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 2, ...options });
  const [read] = await store.readNarinfos([name]);
  if (read.status !== 'ok') throw new Error(`not read: ${read.status}`);
  await changeBehind?.();
  try {
    return await store.replaceNarinfos([{ name, bytes: Buffer.from(`${read.bytes}Sig: k:1\n`), version: (read as Extract<ReadResult, { status: 'ok' }>).version }]);
  } finally {
    await store.close();
  }
}

/** Puts an object directly (as another writer would). */
async function putDirect(url: string, key: string, body: string): Promise<void> {
  const endpoint = new URL(url).searchParams.get('endpoint')!;
  const response = await fetch(`${endpoint}/bucket/${key}`, { method: 'PUT', body });
  if (!response.ok) throw new Error(`PUT ${response.status}`);
}

test('a server repeating a continuation token is ERR_S3_LISTING, not an endless loop', async (t) => {
  let requests = 0;
  await withServer((_request, _body, response) => {
    requests += 1;
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(listing([narinfoName()], true, 'same'));
  }, async (url) => {
    const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 1 });
    const error = await t.throwsAsync(async () => {
      for await (const _ of store.listNarinfos!()) if (requests > 5) throw new Error('the listing went on past 5 pages');
    });
    t.is((error as NarsignError).code, 'ERR_S3_LISTING', (error as Error).message);
    t.is(requests, 2);
    await store.close();
  });
});

test('a server paging forever with fresh tokens but no new keys is ERR_S3_LISTING after a bounded number of pages, memory flat', async (t) => {
  let requests = 0;
  const name = narinfoName();
  await withServer((_request, _body, response) => {
    requests += 1;
    response.writeHead(200, { 'content-type': 'application/xml' });
    // The same key again and again, each time with a new token: no progress through the bucket.
    response.end(listing([name], true, `token-${requests}`));
  }, async (url) => {
    const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 1 });
    const error = await t.throwsAsync(async () => {
      for await (const _ of store.listNarinfos!()) if (requests > 100) throw new Error('the listing went on past 100 pages');
    });
    t.is((error as NarsignError).code, 'ERR_S3_LISTING', (error as Error).message);
    t.regex((error as Error).message, /no progress/);
    t.true(requests <= 20, `${requests} pages`);
    await store.close();
  });
});

test('503 SlowDown is retried with backoff, a bounded number of times', async (t) => {
  let requests = 0;
  const name = narinfoName();
  await withServer((_request, _body, response) => {
    requests += 1;
    if (requests <= 2) return s3Error(response, 503, 'SlowDown');
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(listing([name], false));
  }, async (url) => {
    const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 3 });
    const listed: string[] = [];
    for await (const listedName of store.listNarinfos!()) listed.push(listedName);
    t.deepEqual(listed, [name], 'answered after two SlowDowns');
    await store.close();
  });
  requests = 0;
  await withServer((_request, _body, response) => {
    requests += 1;
    s3Error(response, 503, 'SlowDown');
  }, async (url) => {
    const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 3 });
    const error = await t.throwsAsync(async () => { for await (const _ of store.listNarinfos!()) void _; });
    t.is((error as NarsignError).code, 'ERR_S3_THROTTLED');
    t.is(requests, 3, 'three attempts, then the error');
    await store.close();
  });
});

test('a server that ignores If-Match is refused (ERR_S3_NO_CONDITIONAL_WRITES) unless unconditional writes are allowed', async (t) => {
  const name = narinfoName();
  const seen = { puts: [] as Array<Record<string, unknown>> };
  await withServer(objectServer('ignore', seen), async (url) => {
    await putDirect(url, name, 'StorePath: /nix/store/x\n');
    const error = await t.throwsAsync(readAndChange(url, {}, name));
    t.is((error as NarsignError).code, 'ERR_S3_NO_CONDITIONAL_WRITES');
    t.false(seen.puts.some((put) => put.key === name && put['if-match'] === undefined && put['content-type'] === 'text/x-nix-narinfo'), 'the narinfo was not written');
    const results = await readAndChange(url, { allowUnconditionalWrites: true }, name);
    t.is(results[0].status, 'replaced');
    const written = seen.puts.filter((put) => put.key === name);
    t.is(written.length, 2, 'the direct PUT and the replacement');
    t.is(written[1]['if-match'], undefined, 'a plain PUT, as allowed');
  });
});

test('RGW-style If-Match (the ETag without quotes) is found by the probe and used', async (t) => {
  const name = narinfoName();
  const seen = { puts: [] as Array<Record<string, unknown>> };
  await withServer(objectServer('unquoted', seen), async (url) => {
    await putDirect(url, name, 'StorePath: /nix/store/x\n');
    const results = await readAndChange(url, {}, name);
    t.is(results[0].status, 'replaced');
    const write = seen.puts.filter((put) => put.key === name)[1];
    t.regex(String(write['if-match']), /^[0-9a-f]{32}$/, 'sent without quotes');
    t.false(seen.puts.some((put) => String(put.key).startsWith('.narsign-probe') && put['content-type'] === 'text/x-nix-narinfo'));
  });
});

test('a lost race answered with HTTP 500 is a conflict when the object changed, and an error when it did not', async (t) => {
  const name = narinfoName();
  const seen = { puts: [] as Array<Record<string, unknown>> };
  await withServer(objectServer('lose-with-500', seen), async (url) => {
    await putDirect(url, name, 'StorePath: /nix/store/x\n');
    const lost = await readAndChange(url, {}, name, () => putDirect(url, name, 'StorePath: /nix/store/x\nSig: other:1\n'));
    t.is(lost[0].status, 'conflict');
  });
  await withServer(objectServer('fail-with-500', seen), async (url) => {
    await putDirect(url, name, 'StorePath: /nix/store/x\n');
    const failed = await readAndChange(url, {}, name);
    t.is(failed[0].status === 'error' && failed[0].error.code, 'ERR_S3_SERVER');
  });
});

test('a server dripping a narinfo body byte by byte is cut off by the deadline (ERR_S3_TIMEOUT)', async (t) => {
  const timers = new Set<NodeJS.Timeout>();
  await withServer((_request, _body, response) => {
    response.writeHead(200, { etag: '"abc"', 'content-length': 100_000 });
    const timer = setInterval(() => response.write('a'), 100);
    timers.add(timer);
    response.on('close', () => clearInterval(timer));
  }, async (url) => {
    const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 1, timeoutMs: 700 });
    const [read] = await store.readNarinfos([narinfoName()]);
    t.is(read.status === 'error' && read.error.code, 'ERR_S3_TIMEOUT', JSON.stringify(read));
    await store.close();
  });
  for (const timer of timers) clearInterval(timer);
});

test('a listing page far larger than any real one is cut off in the request handler (ERR_STORE_OBJECT_TOO_LARGE)', async (t) => {
  let sent = 0;
  await withServer((_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.write('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>');
    const chunk = 'a'.repeat(64 * 1024);
    const more = () => {
      // Endless, unless the client stops reading; bounded here at 32 MiB.
      while (sent < 32 * 1024 * 1024) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', more);
      }
      response.end('</Prefix></ListBucketResult>');
    };
    response.on('close', () => { sent = Math.max(sent, 0); });
    more();
  }, async (url) => {
    const store = openS3Store(url, { credentials: FAKE_CREDENTIALS, maxAttempts: 1 });
    const error = await t.throwsAsync(async () => { for await (const _ of store.listNarinfos!()) void _; });
    t.is((error as NarsignError).code, 'ERR_STORE_OBJECT_TOO_LARGE', (error as Error).message);
    t.true(sent < 32 * 1024 * 1024, `the client stopped reading (${sent} bytes sent)`);
    await store.close();
  });
});
