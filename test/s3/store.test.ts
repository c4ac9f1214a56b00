/**
 * lib/stores/s3.ts against a real S3 server (Ceph's RADOS Gateway, started by scripts/s3-server.sh).
 * Every test has a bucket of its own, set up and checked with a separate SDK client.
 */
import test from 'ava';
import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { GetObjectAclCommand, GetObjectCommand, HeadObjectCommand, PutObjectAclCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { NarsignError } from '../../lib/errors';
import { openS3Store } from '../../lib/stores/s3';
import type { ReadResult, Store } from '../../lib/stores/store';
import { adminClient, credentials, freshBucket, narinfoName, putMany, server, skipReason, storeUrl } from './server';

const s3test = server ? test : test.skip;
if (skipReason) console.error(`narsign: skipping the S3 tests: ${skipReason}`);

// For the tests that talk to no real server.
const FAKE_CREDENTIALS = { accessKeyId: 'AKIDNOTREAL', secretAccessKey: 'not-a-real-secret' };

function narinfoText(name: string, extra = ''): string {
  const hash = name.slice(0, 32);
  return `StorePath: /nix/store/${hash}-hello-2.12\nURL: nar/${hash}.nar\nCompression: none\nNarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0\nNarSize: 120\nReferences: \n${extra}`;
}

async function readOk(store: Store, name: string): Promise<Extract<ReadResult, { status: 'ok' }>> {
  const [result] = await store.readNarinfos([name]);
  if (result.status !== 'ok') throw new Error(`expected ${name} to be read, got ${result.status}${result.status === 'error' ? `: ${result.error.message}` : ''}`);
  return result;
}

async function rawObject(bucket: string, key: string) {
  const out = await adminClient().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { out, body: Buffer.from(await out.Body!.transformToByteArray()) };
}

s3test('listing pages over more than 1000 keys, each narinfo once, and nothing that is not a top-level narinfo', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const names = Array.from({ length: 1010 }, narinfoName);
  const strays = [
    'nix-cache-info', 'nar/abc.nar.xz', `sub/${narinfoName()}`, `.${narinfoName()}`, `${narinfoName().toUpperCase()}`,
    `${narinfoName().slice(0, 31)}.narinfo`, `${narinfoName()}.tmp`, `${narinfoName().slice(0, 31)}e.narinfo`, 'x.signed.narinfo',
  ];
  await putMany(client, bucket, [...names.map((key) => ({ key, body: narinfoText(key) })), ...strays.map((key) => ({ key, body: 'not a narinfo' }))]);
  const store = openS3Store(storeUrl(bucket), { credentials: credentials(), maxKeys: 97 });
  const listed: string[] = [];
  for await (const name of store.listNarinfos!()) listed.push(name);
  await store.close();
  t.is(listed.length, names.length, 'each narinfo listed once');
  t.deepEqual([...listed].sort(), [...names].sort());
});

s3test('a prefix lists and reads only under it', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const inside = narinfoName();
  const outside = narinfoName();
  await putMany(client, bucket, [{ key: `cache/${inside}`, body: narinfoText(inside) }, { key: outside, body: narinfoText(outside) }]);
  const store = openS3Store(storeUrl(bucket, 'cache'), { credentials: credentials() });
  const listed: string[] = [];
  for await (const name of store.listNarinfos!()) listed.push(name);
  t.deepEqual(listed, [inside]);
  t.is((await readOk(store, inside)).bytes.toString(), narinfoText(inside));
  t.deepEqual((await store.readNarinfos([outside]))[0], { name: outside, status: 'missing' });
  await store.close();
});

s3test('two writers racing on the same narinfos: exactly one wins each, the other gets conflict, nothing is lost', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const names = Array.from({ length: 24 }, narinfoName);
  await putMany(client, bucket, names.map((key) => ({ key, body: narinfoText(key) })));
  const a = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const b = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const readA = await a.readNarinfos(names);
  const readB = await b.readNarinfos(names);
  const replacements = (reads: ReadResult[], who: string) => reads.map((read) => {
    if (read.status !== 'ok') throw new Error(read.status);
    return { name: read.name, bytes: Buffer.from(`${read.bytes}Sig: ${who}:x\n`), version: read.version };
  });
  const [resultsA, resultsB] = await Promise.all([a.replaceNarinfos(replacements(readA, 'a')), b.replaceNarinfos(replacements(readB, 'b'))]);
  for (let i = 0; i < names.length; i += 1) {
    const statuses = [resultsA[i].status, resultsB[i].status].sort();
    t.deepEqual(statuses, ['conflict', 'replaced'], `${names[i]}: ${JSON.stringify([resultsA[i], resultsB[i]].map((r) => r.status === 'error' ? r.error.message : r.status))}`);
    const winner = resultsA[i].status === 'replaced' ? 'a' : 'b';
    t.is((await rawObject(bucket, names[i])).body.toString(), `${narinfoText(names[i])}Sig: ${winner}:x\n`);
  }
  // The loser re-reads and writes on top of the winner: both signatures end up in every narinfo.
  for (const [store, who, results] of [[a, 'a', resultsA], [b, 'b', resultsB]] as const) {
    const lost = names.filter((_, i) => results[i].status === 'conflict');
    if (lost.length === 0) continue;
    const again = await store.readNarinfos(lost);
    const retried = await store.replaceNarinfos(replacements(again, who));
    t.true(retried.every((r) => r.status === 'replaced'));
  }
  for (const name of names) {
    const text = (await rawObject(bucket, name)).body.toString();
    t.true(text.includes('Sig: a:x\n') && text.includes('Sig: b:x\n'), name);
  }
  await a.close();
  await b.close();
});

s3test('a replacement with a stale version is a conflict and writes nothing', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const name = narinfoName();
  await putMany(client, bucket, [{ key: name, body: narinfoText(name) }]);
  const store = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const read = await readOk(store, name);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: name, Body: narinfoText(name, 'Sig: other:y\n') }));
  const [result] = await store.replaceNarinfos([{ name, bytes: Buffer.from('overwritten'), version: read.version }]);
  t.is(result.status, 'conflict');
  t.is((await rawObject(bucket, name)).body.toString(), narinfoText(name, 'Sig: other:y\n'));
  await store.close();
});

for (const encoding of ['gzip', 'br'] as const) {
  s3test(`a narinfo stored with Content-Encoding ${encoding} is read decoded and written back in ${encoding}`, async (t) => {
    const client = adminClient();
    const bucket = await freshBucket(client);
    const name = narinfoName();
    const compress = encoding === 'gzip' ? zlib.gzipSync : zlib.brotliCompressSync;
    const decompress = encoding === 'gzip' ? zlib.gunzipSync : zlib.brotliDecompressSync;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: name, Body: compress(narinfoText(name)), ContentEncoding: encoding, ContentType: 'text/x-nix-narinfo' }));
    const store = openS3Store(storeUrl(bucket), { credentials: credentials() });
    const read = await readOk(store, name);
    t.is(read.bytes.toString(), narinfoText(name));
    const [result] = await store.replaceNarinfos([{ name, bytes: Buffer.from(narinfoText(name, 'Sig: k:z\n')), version: read.version }]);
    t.is(result.status, 'replaced');
    const { out, body } = await rawObject(bucket, name);
    t.is(out.ContentEncoding, encoding);
    t.is(decompress(body).toString(), narinfoText(name, 'Sig: k:z\n'));
    await store.close();
  });
}

s3test('a narinfo in an encoding narsign cannot write back (xz) is refused, and a bad gzip body is an error', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const xz = narinfoName();
  const broken = narinfoName();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: xz, Body: 'whatever', ContentEncoding: 'xz' }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: broken, Body: 'not gzip at all', ContentEncoding: 'gzip' }));
  const store = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const [a, b] = await store.readNarinfos([xz, broken]);
  t.is(a.status === 'error' && a.error.code, 'ERR_S3_ENCODING_UNSUPPORTED');
  t.is(b.status === 'error' && b.error.code, 'ERR_S3_ENCODING');
  await store.close();
});

s3test("a replacement keeps the object's content type, Cache-Control, metadata and ACL", async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const name = narinfoName();
  const bare = narinfoName();
  await client.send(new PutObjectCommand({
    Bucket: bucket, Key: name, Body: narinfoText(name), ContentType: 'text/x-nix-narinfo', CacheControl: 'public, max-age=3600',
    ContentDisposition: 'inline', Metadata: { origin: 'nix-copy', 'x-extra': 'kept' }, ACL: 'public-read',
  }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: bare, Body: narinfoText(bare) }));
  const aclBefore = await client.send(new GetObjectAclCommand({ Bucket: bucket, Key: name }));
  t.true(aclBefore.Grants!.some((g) => g.Grantee?.URI?.endsWith('/AllUsers') && g.Permission === 'READ'), 'the test object is public-read');
  const store = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const [read, readBare] = await store.readNarinfos([name, bare]);
  if (read.status !== 'ok' || readBare.status !== 'ok') throw new Error('not read');
  const results = await store.replaceNarinfos([
    { name, bytes: Buffer.from(narinfoText(name, 'Sig: k:1\n')), version: read.version },
    { name: bare, bytes: Buffer.from(narinfoText(bare, 'Sig: k:1\n')), version: readBare.version },
  ]);
  t.deepEqual(results.map((r) => r.status), ['replaced', 'replaced']);
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: name }));
  t.is(head.ContentType, 'text/x-nix-narinfo');
  t.is(head.CacheControl, 'public, max-age=3600');
  t.is(head.ContentDisposition, 'inline');
  t.deepEqual(head.Metadata, { origin: 'nix-copy', 'x-extra': 'kept' });
  const aclAfter = await client.send(new GetObjectAclCommand({ Bucket: bucket, Key: name }));
  t.deepEqual(grantSet(aclAfter.Grants), grantSet(aclBefore.Grants));
  // An object stored without a content type gets Nix's.
  t.is((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: bare }))).ContentType, 'text/x-nix-narinfo');
  // A private object stays private (nothing public is added).
  await client.send(new PutObjectAclCommand({ Bucket: bucket, Key: bare, ACL: 'private' }));
  const privateRead = await readOk(store, bare);
  await store.replaceNarinfos([{ name: bare, bytes: Buffer.from(narinfoText(bare, 'Sig: k:2\n')), version: privateRead.version }]);
  const privateAcl = await client.send(new GetObjectAclCommand({ Bucket: bucket, Key: bare }));
  t.false(privateAcl.Grants!.some((g) => g.Grantee?.URI !== undefined));
  await store.close();
});

function grantSet(grants: Array<{ Grantee?: { ID?: string; URI?: string }; Permission?: string }> | undefined): string[] {
  return (grants ?? []).map((g) => `${g.Grantee?.ID ?? g.Grantee?.URI}:${g.Permission}`).sort();
}

s3test('objects above the narinfo limit are refused: a 5 MiB narinfo, and a small gzip body that inflates past it', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const big = narinfoName();
  const bomb = narinfoName();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: big, Body: Buffer.alloc(5 * 1024 * 1024, 0x61) }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: bomb, Body: zlib.gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x61)), ContentEncoding: 'gzip' }));
  const store = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const [a, b] = await store.readNarinfos([big, bomb]);
  t.is(a.status === 'error' && a.error.code, 'ERR_STORE_OBJECT_TOO_LARGE');
  t.is(b.status === 'error' && b.error.code, 'ERR_STORE_OBJECT_TOO_LARGE');
  // A NAR opened with a cap is refused past it: on its announced size, or as it streams.
  const error = await t.throwsAsync(async () => { for await (const _ of (await store.openFile(big, { maxBytes: 1024 * 1024 }))!) void _; });
  t.is((error as NarsignError).code, 'ERR_STORE_OBJECT_TOO_LARGE');
  const small = await store.openFile(big, { maxBytes: 6 * 1024 * 1024 });
  let length = 0;
  for await (const chunk of small!) length += (chunk as Buffer).length;
  t.is(length, 5 * 1024 * 1024);
  t.is(await store.openFile('nar/missing.nar', { maxBytes: 10 }), undefined);
  await store.close();
});

s3test('wrong credentials are ERR_S3_CREDENTIALS, and the secret is in no error', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const name = narinfoName();
  await putMany(client, bucket, [{ key: name, body: narinfoText(name) }]);
  const secret = 'WRONG-secret-0123456789-abcdefghijklmnop';
  for (const accessKeyId of [server!.accessKeyId, 'NOSUCHACCESSKEY12345']) {
    const store = openS3Store(storeUrl(bucket), { credentials: { accessKeyId, secretAccessKey: secret }, maxAttempts: 1 });
    const listError = await t.throwsAsync(async () => { for await (const _ of store.listNarinfos!()) void _; });
    t.is((listError as NarsignError).code, 'ERR_S3_CREDENTIALS', (listError as Error).message);
    const [read] = await store.readNarinfos([name]);
    t.is(read.status === 'error' && read.error.code, 'ERR_S3_CREDENTIALS');
    for (const error of [listError, read.status === 'error' ? read.error : undefined]) {
      t.false(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack, ...(error as object) }).includes(secret));
    }
    await store.close();
  }
});

s3test('a missing bucket is ERR_S3_NO_SUCH_BUCKET', async (t) => {
  const store = openS3Store(storeUrl('narsign-no-such-bucket-here'), { credentials: credentials(), maxAttempts: 1 });
  const error = await t.throwsAsync(async () => { for await (const _ of store.listNarinfos!()) void _; });
  t.is((error as NarsignError).code, 'ERR_S3_NO_SUCH_BUCKET');
  const [read] = await store.readNarinfos([narinfoName()]);
  t.is(read.status === 'error' && read.error.code, 'ERR_S3_NO_SUCH_BUCKET');
  await store.close();
});

test('an endpoint where nothing listens is ERR_S3_UNREACHABLE', async (t) => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const store = openS3Store(`s3://somebucket?endpoint=127.0.0.1:${port}&scheme=http`, { credentials: FAKE_CREDENTIALS, maxAttempts: 2 });
  const error = await t.throwsAsync(async () => { for await (const _ of store.listNarinfos!()) void _; });
  t.is((error as NarsignError).code, 'ERR_S3_UNREACHABLE', (error as Error).message);
  await store.close();
});

s3test('a key that is not a narinfo is never read as one nor written', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const name = narinfoName();
  await putMany(client, bucket, [{ key: 'nix-cache-info', body: 'StoreDir: /nix/store\n' }, { key: name, body: narinfoText(name) }]);
  const store = openS3Store(storeUrl(bucket), { credentials: credentials() });
  const read = await readOk(store, name);
  const reads = await store.readNarinfos(['nix-cache-info', '../x.narinfo', `sub/${name}`]);
  t.deepEqual(reads.map((r) => r.status === 'error' && r.error.code), ['ERR_STORE_NOT_NARINFO', 'ERR_STORE_NOT_NARINFO', 'ERR_STORE_NOT_NARINFO']);
  const results = await store.replaceNarinfos([
    { name: 'nix-cache-info', bytes: Buffer.from('hijacked'), version: read.version },
    { name: narinfoName(), bytes: Buffer.from('another key'), version: read.version },
  ]);
  t.deepEqual(results.map((r) => r.status === 'error' && r.error.code), ['ERR_STORE_NOT_NARINFO', 'ERR_STORE_VERSION']);
  t.is((await rawObject(bucket, 'nix-cache-info')).body.toString(), 'StoreDir: /nix/store\n');
  await store.close();
});

s3test('a read-only store refuses to replace', async (t) => {
  const client = adminClient();
  const bucket = await freshBucket(client);
  const name = narinfoName();
  await putMany(client, bucket, [{ key: name, body: narinfoText(name) }]);
  const store = openS3Store(storeUrl(bucket), { credentials: credentials(), readOnly: true });
  t.false(store.writable);
  const read = await readOk(store, name);
  const error = await t.throwsAsync(store.replaceNarinfos([{ name, bytes: Buffer.from('x'), version: read.version }]));
  t.is((error as NarsignError).code, 'ERR_STORE_READ_ONLY');
  await store.close();
});
