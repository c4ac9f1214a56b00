/**
 * The S3 server the s3 suite runs against: the one `scripts/s3-server.sh start` started, found
 * through the env file it wrote ($NARSIGN_S3_ENV, else the script's default run directory). The
 * suite starts nothing itself. Without the file the tests are skipped with a message — except when
 * NARSIGN_S3_REQUIRED=1 (CI), where a missing server is a failure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mapConcurrent } from '../../lib/concurrent';

// Nothing in these tests may probe an instance-metadata address, and the SDK's Node 20 notice is noise here.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function envFile(): string {
  if (process.env.NARSIGN_S3_ENV) return process.env.NARSIGN_S3_ENV;
  const runDir = process.env.NARSIGN_S3_RUN_DIR ?? path.join(process.env.TMPDIR ?? '/tmp', `narsign-s3-${os.userInfo().uid}`);
  return path.join(runDir, 'env');
}

function readServer(): S3Server | undefined {
  let text: string;
  try {
    text = fs.readFileSync(envFile(), 'utf8');
  } catch {
    if (process.env.NARSIGN_S3_REQUIRED === '1') throw new Error(`the S3 server's env file ${envFile()} is missing (start it: scripts/s3-server.sh start)`);
    return undefined;
  }
  const vars = Object.fromEntries(text.split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return { endpoint: vars.NARSIGN_S3_ENDPOINT, accessKeyId: vars.AWS_ACCESS_KEY_ID, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY };
}

export const server = readServer();
export const skipReason = server ? undefined : `no S3 server (${envFile()} missing): start one with scripts/s3-server.sh start`;

/** A client of our own (not the code under test) to set up and inspect buckets. */
export function adminClient(): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: server!.endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: server!.accessKeyId, secretAccessKey: server!.secretAccessKey },
  });
}

/** A fresh bucket for one test (random name: tests run in parallel and never share a bucket). */
export async function freshBucket(client: S3Client): Promise<string> {
  const bucket = `narsign-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export function storeUrl(bucket: string, prefix = ''): string {
  return `s3://${bucket}${prefix ? `/${prefix}` : ''}?endpoint=${encodeURIComponent(server!.endpoint)}&region=us-east-1`;
}

export function credentials() {
  return { accessKeyId: server!.accessKeyId, secretAccessKey: server!.secretAccessKey };
}

/** A random narinfo name (`<32 nix32>.narinfo`). */
export function narinfoName(): string {
  const alphabet = '0123456789abcdfghijklmnpqrsvwxyz';
  return `${Array.from(randomBytes(32), (byte) => alphabet[byte % 32]).join('')}.narinfo`;
}

/** Puts many objects, 32 in flight. */
export async function putMany(client: S3Client, bucket: string, objects: Array<{ key: string; body: string | Buffer }>): Promise<void> {
  for await (const _ of mapConcurrent(objects, 32, (object) => client.send(new PutObjectCommand({ Bucket: bucket, Key: object.key, Body: object.body, ContentType: 'text/x-nix-narinfo' })))) void _;
}
