/**
 * Attack (issue 14, class 8): `verify --check-nars` on a local cache whose NAR files a co-tenant
 * replaced: a symlink to /dev/zero (an endless read), a FIFO (a read that waits for a writer
 * forever), a symlink out of the cache to a file whose bytes match the narinfo (read, and its size
 * told), a directory. Each must be a failure of its own NAR, found without reading anything outside
 * the cache and without hanging; the intact NARs still check out.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { signCache, verifyCache } from '../../lib/cache';
import { generateSecretKey, toPublicKey } from '../../lib/keys';
import { tempDir } from '../helpers/cache-dir';
import { narCache } from '../helpers/cli';

const secret = generateSecretKey('adversary-test-1');
const publicKey = toPublicKey(secret);

/** Rejects when `run` has not settled within `ms` (a hang is a failure, not a stuck test). */
function watchdog<T>(run: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms (a hang)`)), ms);
  });
  return Promise.race([run, hang]).finally(() => clearTimeout(timer));
}

test('NARs replaced by a symlink to /dev/zero, a FIFO, a symlink out of the cache and a directory: each fails alone, nothing hangs', async (t) => {
  const { dir, nars, names } = narCache(tempDir('narsign-nars-'), 6);
  await signCache(dir, { keys: secret, durable: false });
  const nar = (i: number) => path.join(dir, nars[i]);
  // 0: endless; 1: a FIFO; 2: out of the cache, with exactly the right bytes; 3: a directory.
  fs.rmSync(nar(0));
  fs.symlinkSync('/dev/zero', nar(0));
  fs.rmSync(nar(1));
  execFileSync('mkfifo', [nar(1)]);
  const outside = path.join(tempDir('narsign-outside-'), 'secret.nar');
  fs.renameSync(nar(2), outside);
  fs.symlinkSync(outside, nar(2));
  fs.rmSync(nar(3));
  fs.mkdirSync(nar(3));
  const r = await watchdog(verifyCache(dir, { trustedKeys: publicKey, checkNars: true }));
  t.like(r, { total: 6, trusted: 2, failed: 4 });
  const problem = (i: number) => r.problems.find((p) => p.file === path.join(dir, names[i]));
  t.is(problem(0)?.code, 'ERR_NAR_URL', 'a link to /dev/zero points out of the cache');
  t.is(problem(1)?.code, 'ERR_NAR_NOT_FILE');
  t.regex(problem(1)!.message, /FIFO/);
  t.is(problem(2)?.code, 'ERR_NAR_URL', 'a link out of the cache is refused, not read');
  t.notRegex(problem(2)!.message, /bytes|hash/, 'nothing about the outside file is told');
  t.is(problem(3)?.code, 'ERR_NAR_NOT_FILE');
});
