/**
 * Attack (issue 14, class 5): unbounded local reads. A co-tenant puts a 1.9 GB sparse file (no disk
 * to speak of) under a narinfo's name: every reader must refuse it by the size of the opened file,
 * with ERR_NARINFO_LIMIT, before reading it (the old fallback read it whole: 2 GB of memory, then
 * "not valid UTF-8"). And a FIFO under a narinfo's (or nix-cache-info's) name must not make any
 * reader wait for a writer forever.
 *
 * The CLI runs are real child processes; runCli kills one that has not ended after a minute (a hang
 * then shows as SIGKILL, a failure).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { signCache, verifyCache } from '../../lib/cache';
import { generateSecretKey, toPublicKey } from '../../lib/keys';
import { fixtureTexts, makeCache, tempDir } from '../helpers/cache-dir';
import { CLI, runCli } from '../helpers/run-cli';

const secret = generateSecretKey('adversary-test-1');
const publicKey = toPublicKey(secret);
const SPARSE_BYTES = 1_900_000_000;
const LIMIT_MESSAGE = /more than the limit of 4194304/;

/** A cache of two real narinfos and `big.narinfo`, a 1.9 GB sparse file (fs.truncate: no disk used). */
function cacheWithSparse(): { dir: string; big: string } {
  const dir = makeCache(fixtureTexts(['F1', 'F2']));
  const big = path.join(dir, 'big.narinfo');
  fs.writeFileSync(big, 'StorePath: /nix/store/');
  fs.truncateSync(big, SPARSE_BYTES);
  return { dir, big };
}

const keyFile = () => {
  const file = path.join(tempDir('narsign-key-'), 'secret.key');
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return file;
};

test('signCache and verifyCache refuse a 1.9 GB sparse narinfo by its size, without reading it', async (t) => {
  const { dir, big } = cacheWithSparse();
  const before = process.memoryUsage().rss;
  const v = await verifyCache(dir, { trustedKeys: publicKey });
  const s = await signCache(dir, { keys: secret });
  const grown = process.memoryUsage().rss - before;
  t.like(v.problems.find((p) => p.file === big), { code: 'ERR_NARINFO_LIMIT' });
  t.regex(v.problems.find((p) => p.file === big)!.message, LIMIT_MESSAGE);
  t.like(s, { total: 3, signed: 2, failed: 1 });
  t.is(s.failures[0].code, 'ERR_NARINFO_LIMIT');
  t.true(grown < 256 * 1024 * 1024, `RSS grew by ${grown} bytes`);
  t.is(fs.statSync(big).size, SPARSE_BYTES);
});

for (const [name, args] of [
  ['fingerprint FILE', ['fingerprint']],
  ['inspect FILE', ['inspect']],
  ['verify FILE', ['verify', '-t', publicKey]],
  ['sign FILE', ['sign', '-k', '<key>']],
] as const) {
  test(`CLI ${name}: the 1.9 GB sparse narinfo is refused by its size (exit 1, the limit named)`, async (t) => {
    const { big } = cacheWithSparse();
    const r = await runCli([...args.map((a) => (a === '<key>' ? keyFile() : a)), big]);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, LIMIT_MESSAGE);
  });
}

for (const [name, args] of [
  ['fingerprint -', ['fingerprint', '-']],
  ['sign -', ['sign', '-k', '<key>', '-']],
] as const) {
  test(`CLI ${name} < the 1.9 GB sparse file: refused by its size (exit 1, the limit named)`, async (t) => {
    const { big } = cacheWithSparse();
    const argv = args.map((a) => (a === '<key>' ? keyFile() : a));
    const r = await runCli([], { command: ['sh', '-c', `exec "$0" "$@" < "${big}"`, process.execPath, CLI, ...argv] });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, LIMIT_MESSAGE);
  });
}

test('CLI: a FIFO named x.narinfo given to fingerprint, inspect, verify and sign is refused at once (exit 4), never waited on', async (t) => {
  const dir = tempDir('narsign-fifo-');
  const fifo = path.join(dir, 'x.narinfo');
  execFileSync('mkfifo', [fifo]);
  const key = keyFile();
  for (const args of [['fingerprint', fifo], ['inspect', fifo], ['verify', '-t', publicKey, fifo], ['sign', '-k', key, fifo]]) {
    const r = await runCli(args);
    t.is(r.code, 4, `${args[0]}: ${r.stderr}`);
    t.regex(r.stderr, /not a regular file \(a FIFO\)/, args[0]);
  }
});

test('CLI: a FIFO as nix-cache-info does not hang verify or sign of the cache', async (t) => {
  const dir = makeCache(fixtureTexts(['F1']));
  fs.rmSync(path.join(dir, 'nix-cache-info'));
  execFileSync('mkfifo', [path.join(dir, 'nix-cache-info')]);
  const signed = await runCli(['sign', '-k', keyFile(), dir]);
  t.is(signed.code, 0, signed.stderr);
  const verified = await runCli(['verify', '-t', publicKey, dir]);
  t.is(verified.code, 0, verified.stderr);
});
