/**
 * Attack (issue 14, class 4): denial of service through the cache lock and stray names. A co-tenant
 * who can write the cache creates `.narsign.lock` empty (also what a signer killed between creating
 * and writing it leaves), as a directory, or as a symlink to another file; or puts a directory, a
 * FIFO or a symlink under names narsign lists (a temporary file's, a narinfo's). Signing must end —
 * waiting is bounded and the error names the lock — touch nothing it did not create, and skip
 * stray names with a warning instead of aborting the run.
 *
 * A watchdog turns a hang (the old behaviour) into a failure instead of a stuck suite.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signCache } from '../../lib/cache';
import { generateSecretKey } from '../../lib/keys';
import { fixtureTexts, makeCache, tempDir } from '../helpers/cache-dir';
import { runCli } from '../helpers/run-cli';

const secret = generateSecretKey('adversary-test-1');
const LOCK = '.narsign.lock';

/** Rejects when `run` has not settled within `ms` (a hang is a failure, not a stuck test). */
function watchdog<T>(run: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms (a hang)`)), ms);
  });
  return Promise.race([run, hang]).finally(() => clearTimeout(timer));
}

const cache = () => makeCache(fixtureTexts(['F1', 'F2']));

test('an empty lock file just made (owner unknown) makes signing wait a bounded time, then fail naming the lock', async (t) => {
  const dir = cache();
  fs.writeFileSync(path.join(dir, LOCK), '');
  const error = await t.throwsAsync(watchdog(signCache(dir, { keys: secret, lockTimeoutMs: 300 })));
  t.is((error as { code?: string }).code, 'ERR_CACHE_LOCKED');
  t.true(error!.message.includes(path.join(dir, LOCK)), error!.message);
  t.true(fs.existsSync(path.join(dir, LOCK)), 'a fresh lock of unknown owner is not taken');
});

test('an empty lock file left long ago (a signer killed between create and write) is stale and taken over', async (t) => {
  const dir = cache();
  const lock = path.join(dir, LOCK);
  fs.writeFileSync(lock, '');
  const old = new Date(Date.now() - 10 * 60 * 1000);
  fs.utimesSync(lock, old, old);
  const r = await watchdog(signCache(dir, { keys: secret, lockTimeoutMs: 5_000 }));
  t.like(r, { total: 2, signed: 2, failed: 0 });
  t.false(fs.existsSync(lock), 'the run released the lock it took over');
});

test('a directory named .narsign.lock: an error at once naming it, the directory untouched', async (t) => {
  const dir = cache();
  const lock = path.join(dir, LOCK);
  fs.mkdirSync(lock);
  fs.writeFileSync(path.join(lock, 'inside'), 'x');
  const error = await t.throwsAsync(watchdog(signCache(dir, { keys: secret })));
  t.is((error as { code?: string }).code, 'ERR_CACHE_LOCK');
  t.true(error!.message.includes(lock) && error!.message.includes('directory'), error!.message);
  t.is(fs.readFileSync(path.join(lock, 'inside'), 'utf8'), 'x');
});

test('.narsign.lock a symlink to another file (even one naming a dead owner): not followed, not renamed, not removed', async (t) => {
  const dir = cache();
  const victim = path.join(tempDir('narsign-victim-'), 'victim');
  // What a stale lock of a dead process on this host says: followed, the old code took it "over".
  fs.writeFileSync(victim, `999999999 ${os.hostname()} 2020-01-01T00:00:00Z\n`);
  fs.symlinkSync(victim, path.join(dir, LOCK));
  const error = await t.throwsAsync(watchdog(signCache(dir, { keys: secret })));
  t.is((error as { code?: string }).code, 'ERR_CACHE_LOCK');
  t.true(fs.lstatSync(path.join(dir, LOCK)).isSymbolicLink(), 'the planted link is where it was');
  t.is(fs.readFileSync(victim, 'utf8'), `999999999 ${os.hostname()} 2020-01-01T00:00:00Z\n`);
});

test('stray names (a directory named like a temporary file, a directory and a FIFO named like narinfos, a symlink temp) are skipped with a warning, the rest signed', async (t) => {
  const dir = cache();
  const victim = path.join(tempDir('narsign-victim-'), 'victim');
  fs.writeFileSync(victim, 'precious');
  const deadPid = 999999999;
  fs.mkdirSync(path.join(dir, `.x.narinfo.narsign-${deadPid}.tmp`));
  fs.symlinkSync(victim, path.join(dir, `.y.narinfo.narsign-${deadPid}.tmp`));
  fs.mkdirSync(path.join(dir, 'dir.narinfo'));
  execFileSync('mkfifo', [path.join(dir, 'fifo.narinfo')]);
  const warnings: string[] = [];
  const r = await watchdog(signCache(dir, { keys: secret, onWarning: (m) => warnings.push(m) }));
  t.like(r, { total: 2, signed: 2, failed: 0 });
  t.is(fs.readFileSync(victim, 'utf8'), 'precious', 'the link named like a temporary file was not followed');
  t.false(fs.existsSync(path.join(dir, `.y.narinfo.narsign-${deadPid}.tmp`)), 'the stray link itself is removed');
  t.true(fs.statSync(path.join(dir, `.x.narinfo.narsign-${deadPid}.tmp`)).isDirectory(), 'a directory is left alone');
  for (const name of [`.x.narinfo.narsign-${deadPid}.tmp`, 'dir.narinfo', 'fifo.narinfo']) {
    t.true(warnings.some((w) => w.includes(name)), `a warning names ${name}: ${warnings.join(' | ')}`);
  }
});

test('CLI: --lock-timeout bounds the wait for a lock of unknown owner; exit 4 and the lock named', async (t) => {
  const dir = cache();
  fs.writeFileSync(path.join(dir, LOCK), '');
  const keyFile = path.join(tempDir('narsign-key-'), 'secret.key');
  fs.writeFileSync(keyFile, secret, { mode: 0o600 });
  const r = await runCli(['sign', '-k', keyFile, '--lock-timeout', '1', dir]);
  t.is(r.code, 4, r.stderr);
  t.true(r.stderr.includes(path.join(dir, LOCK)), r.stderr);
});
