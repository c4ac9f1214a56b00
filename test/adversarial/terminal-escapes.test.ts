/**
 * Attack (issue 14, sibling of the printable() rule): a co-tenant chooses file names, narinfo lines
 * and the lock file's content; whatever of that narsign quotes must not reach the operator's
 * terminal raw. Escape sequences (`ESC [2J` clears the screen, `ESC ]0;…BEL` sets the title), other
 * control characters and the bidi override U+202E could hide a line, forge "signed 0 failed" or pose
 * as another file name. `verify` already made its lines printable; `sign`, `inspect` and the
 * warnings (the lock's owner) must too.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSecretKey } from '../../lib/keys';
import { fixtureTexts, makeCache, tempDir } from '../helpers/cache-dir';
import { runCli } from '../helpers/run-cli';

const secret = generateSecretKey('adversary-test-1');
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const ESC = '\u001b';

/** A narinfo the parser accepts whose URL, Compression and an unknown field carry terminal escapes. */
const hostileNarinfo = (hash: string) =>
  `StorePath: /nix/store/${hash}-x\nURL: nar/x${ESC}[2J${ESC}]0;pwned\u0007\u202e\nCompression: xz${ESC}[31m\n` +
  `NarHash: sha256:1094wph9z4nwlgvsd53abfz8i117ykiv5dwnq9nnhz846s7xqd7d\nNarSize: 1\nReferences: \nX-Note: ${ESC}[1A${ESC}[2K\n`;

test('sign: a planted file name and a corrupt line with escapes are shown escaped', async (t) => {
  const dir = makeCache(fixtureTexts(['F1']));
  fs.writeFileSync(path.join(dir, `zz${ESC}[2J${ESC}[1A.narinfo`), `junk${ESC}[31m\n`);
  fs.writeFileSync(path.join(dir, '0000000000000000000000000000000a.narinfo'), `StorePath: /nix/store/0000000000000000000000000000000a-x${ESC}[2J\n`);
  const keyFile = path.join(tempDir(), 'secret.key');
  fs.writeFileSync(keyFile, secret, { mode: 0o600 });
  const r = await runCli(['sign', '-k', keyFile, dir]);
  t.true(r.stderr.includes('\\x1b[2J'), r.stderr);
  t.false(RAW_CONTROL.test(r.stderr), JSON.stringify(r.stderr));
});

test('inspect: narinfo fields with escapes are shown escaped', async (t) => {
  const file = path.join(tempDir(), '0000000000000000000000000000000b.narinfo');
  fs.writeFileSync(file, hostileNarinfo('0000000000000000000000000000000b'));
  const r = await runCli(['inspect', file]);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes('\\x1b]0;pwned\\x07\\u202e'), r.stdout);
  t.false(RAW_CONTROL.test(r.stdout + r.stderr), JSON.stringify(r.stdout));
});

test('sign: a planted lock naming a host with escapes is shown escaped in the wait warning and the error', async (t) => {
  const dir = makeCache(fixtureTexts(['F1']));
  // pid 1 is alive; another host's lock is never taken over at once: narsign waits, then gives up.
  fs.writeFileSync(path.join(dir, '.narsign.lock'), `1 not-${os.hostname()}${ESC}[2J${ESC}]0;pwned\u0007 2026-01-01T00:00:00Z\n`);
  const keyFile = path.join(tempDir(), 'secret.key');
  fs.writeFileSync(keyFile, secret, { mode: 0o600 });
  const r = await runCli(['sign', '-k', keyFile, '--lock-timeout', '0', dir]);
  t.not(r.code, 0);
  t.true(r.stderr.includes('\\x1b[2J'), r.stderr);
  t.false(RAW_CONTROL.test(r.stderr), JSON.stringify(r.stderr));
});
