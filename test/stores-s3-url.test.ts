/**
 * The S3 store's parts that need no server: the `s3://` URL parser (Nix's spelling) and the promise
 * that loading narsign does not load the AWS SDK (the store loads it when opened). The store itself
 * is tested against a real S3 server in test/s3/.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseS3Url, describeS3Location } from '../lib/stores/s3-url';
import { NarsignError } from '../lib/errors';

const ROOT = path.join(__dirname, '..');

function loadedSdk(script: string): string {
  const run = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

const COUNT_SDK = "console.log(Object.keys(require.cache).filter((k) => k.includes('@aws-sdk') || k.includes('@smithy')).length)";

test("require('narsign') loads no AWS SDK module; the S3 store's module neither until a store is opened", (t) => {
  t.is(loadedSdk(`require('./dist/index.js'); ${COUNT_SDK}`), '0');
  t.is(loadedSdk(`require('./dist/index.js'); require('./dist/stores/s3.js'); ${COUNT_SDK}`), '0');
  // The check can fail: opening a store does load the SDK.
  t.not(loadedSdk(`require('./dist/stores/s3.js').openS3Store('s3://bucket?endpoint=127.0.0.1:1&scheme=http'); ${COUNT_SDK}`), '0');
});

test('s3:// URLs in the spelling of Nix: bucket, prefix, region, endpoint, scheme, profile', (t) => {
  t.deepEqual(parseS3Url('s3://cache'), { bucket: 'cache', prefix: '', region: 'us-east-1' });
  t.deepEqual(parseS3Url('s3://cache/some/prefix/?region=eu-west-1&profile=ci'), { bucket: 'cache', prefix: 'some/prefix', region: 'eu-west-1', profile: 'ci' });
  t.deepEqual(parseS3Url('s3://cache?endpoint=minio.example:9000&scheme=http'), { bucket: 'cache', prefix: '', region: 'us-east-1', endpoint: 'http://minio.example:9000' });
  t.deepEqual(parseS3Url('s3://cache?endpoint=minio.example'), { bucket: 'cache', prefix: '', region: 'us-east-1', endpoint: 'https://minio.example' });
  t.deepEqual(parseS3Url('s3://cache?endpoint=http%3A%2F%2F127.0.0.1%3A8000'), { bucket: 'cache', prefix: '', region: 'us-east-1', endpoint: 'http://127.0.0.1:8000' });
  // Nix's settings for uploading new paths are accepted and change nothing here.
  t.deepEqual(parseS3Url('s3://cache?narinfo-compression=xz&multipart-upload=true'), { bucket: 'cache', prefix: '', region: 'us-east-1' });
  t.is(describeS3Location(parseS3Url('s3://cache/p?endpoint=h:1&scheme=http')), 's3://cache/p at http://h:1');
});

test('bad s3:// URLs are ERR_S3_URL, and user-info never appears in the message', (t) => {
  const cases = [
    'https://cache', 's3://', 's3://a', 's3://bad bucket', 's3://cache?region=EU WEST', 's3://cache?scheme=ftp',
    's3://cache?unknown=1', 's3://cache/../x', 's3://cache:9000', 's3://cache?endpoint=ftp://h',
    's3://AKIDSECRETUSER:hunter2secret@cache', 's3://cache?endpoint=http://AKIDSECRETUSER:hunter2secret@host:9000',
    's3://cache?endpoint=AKIDSECRETUSER:hunter2secret@host',
  ];
  for (const url of cases) {
    const error = t.throws(() => parseS3Url(url), undefined, url);
    t.true(error instanceof NarsignError && error.code === 'ERR_S3_URL', url);
    t.false(error!.message.includes('hunter2secret') || error!.message.includes('AKIDSECRETUSER'), url);
  }
});
