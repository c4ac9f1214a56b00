/**
 * The `narsign` command line, run as a child process (dist/cli/main.js) on real files in temp
 * dirs: every command and option of issue 5, every exit code, --json parsed, the progress bar under
 * a pseudo-terminal, the 2015 scenario end to end. Oracles: the vectors (fixtures' fingerprints
 * and verdicts), node:crypto (keys, signatures, hashes), the spec's shard rule — never values the
 * code under test produced. Every run is scanned for secrets and stack traces (helpers/cli.ts).
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corpus, fixture, fixtures, CACHE_NIXOS_ORG_KEY } from './helpers/vectors';
import { nodePublicKeyOfSeed, nodeSign, nodeVerify } from './helpers/oracles';
import {
  breakNars, cleanupTemps, cli, copyDir, CLI, EXAMPLES, ROOT, hashOf, makeKey, narCache, NIX32, rememberSecret,
  shellQuote, sigsOf, snapshot, tempDir, VERSION, writeCache, writeSecret,
} from './helpers/cli';

test.after.always(cleanupTemps);

const F = (id: string) => fixture(id).text;
/** The fixtures that examples/cache holds, by hash part (examples/cache is F1–F6, X1, X2). */
const EXAMPLE_IDS = ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'X1', 'X2'];
const FP_BY_HASH = new Map(fixtures().filter((f) => EXAMPLE_IDS.includes(f.id)).map((f) => [hashOf(f.text), f.fingerprint]));
/** go-nix's test key (key-vectors.txt section B), which signed F1's second Sig. */
const GO_NIX_TEST1 = 'test1:tLAEn+EeaBUJYqEpTd2yeerr7Ic6+0vWe+aXL/vYUpE=';
const F5_FILE = `${hashOf(F('F5'))}.narinfo`;
const F4_FILE = `${hashOf(F('F4'))}.narinfo`;

/** `narsign: FILE: …` problems and then one summary line: the summary. */
const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';

function exampleCache(name = 'cache'): string {
  return copyDir(EXAMPLES, path.join(tempDir(), name));
}

/** The Sig value `key` makes over `fp`, computed by node:crypto. */
const expectedSig = (key: ReturnType<typeof makeKey>, fp: string) => `${key.secret.split(':')[0]}:${nodeSign(key.seed, Buffer.from(fp)).toString('base64')}`;

function checkUsage(t: ExecutionContext, r: { code: number | null; stderr: string; stdout: string }, what: string) {
  t.is(r.code, 64, `${what}: exit 64`);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 2, `${what}: one message line and one hint line: ${r.stderr}`);
  t.regex(lines[0], /^narsign: (error: )?\S/, what);
  t.regex(lines[1], /^\(see: narsign( [a-z]+)* --help\)$/, what);
}

// ---- key ----------------------------------------------------------------------------------------

test('key generate prints NAME:BASE64 of a 64-byte secret whose second half is the public key of its seed (node:crypto)', async (t) => {
  const a = await cli(t, ['key', 'generate', 'cache.example.org-1'], { secretOnStdout: true });
  const b = await cli(t, ['key', 'generate', 'cache.example.org-1'], { secretOnStdout: true });
  for (const r of [a, b]) {
    t.is(r.code, 0);
    t.is(r.stderr, '');
    t.regex(r.stdout, /^cache\.example\.org-1:[A-Za-z0-9+/]{86}==$/); // no trailing newline, like nix key generate-secret
    rememberSecret(r.stdout);
    const bytes = Buffer.from(r.stdout.split(':')[1], 'base64');
    t.is(bytes.length, 64);
    t.deepEqual(bytes.subarray(32), nodePublicKeyOfSeed(bytes.subarray(0, 32)));
  }
  t.not(a.stdout, b.stdout);

  // key public: from a file and from stdin, node:crypto's public key
  const dir = tempDir();
  const file = writeSecret(dir, 'secret.key', a.stdout);
  const expected = `cache.example.org-1:${nodePublicKeyOfSeed(Buffer.from(a.stdout.split(':')[1], 'base64').subarray(0, 32)).toString('base64')}`;
  const fromFile = await cli(t, ['key', 'public', file]);
  t.is(fromFile.code, 0);
  t.is(fromFile.stdout, expected);
  t.is(fromFile.stderr, '');
  const fromStdin = await cli(t, ['key', 'public'], { input: a.stdout });
  t.is(fromStdin.stdout, expected);
  const dash = await cli(t, ['key', 'public', '-'], { input: `${a.stdout}\n` });
  t.is(dash.stdout, expected);
  // a secret file others can read: a warning naming the file (never the key), still works
  fs.chmodSync(file, 0o644);
  const loose = await cli(t, ['key', 'public', file]);
  t.is(loose.stdout, expected);
  t.regex(loose.stderr, /warning: secret key file '.*secret\.key' can be read by others/);
});

test('key public: a damaged secret fails (exit 4) naming the key, never printing it', async (t) => {
  const key = makeKey('damaged-1');
  const b64 = key.secret.split(':')[1];
  const r = await cli(t, ['key', 'public'], { input: `damaged-1:${b64.slice(0, 20)}%${b64.slice(21)}` });
  t.is(r.code, 4);
  t.regex(r.stderr, /^narsign: error: .*'damaged-1'.*standard input/);
  t.is(r.stdout, '');
  const short = await cli(t, ['key', 'public'], { input: key.public }); // a public key is 32 bytes, not 64
  t.is(short.code, 4);
  t.regex(short.stderr, /secret key is not valid/);
});

test('key generate --secret-file/--public-file: mode 0600, no overwrite without --force, --force replaces', async (t) => {
  const dir = tempDir();
  const sk = path.join(dir, 'secret.key');
  const pk = path.join(dir, 'public.key');
  const made = await cli(t, ['key', 'generate', 'cache.example.org-1', '--secret-file', sk, '--public-file', pk]);
  t.is(made.code, 0);
  t.is(made.stdout, '');
  t.is(made.stderr, '');
  t.is(fs.statSync(sk).mode & 0o777, 0o600);
  const secret = fs.readFileSync(sk, 'utf8');
  rememberSecret(secret);
  t.regex(secret, /^cache\.example\.org-1:[A-Za-z0-9+/]{86}==$/);
  const seed = Buffer.from(secret.split(':')[1], 'base64').subarray(0, 32);
  t.is(fs.readFileSync(pk, 'utf8'), `cache.example.org-1:${nodePublicKeyOfSeed(seed).toString('base64')}`);

  const before = snapshot(dir);
  const again = await cli(t, ['key', 'generate', 'cache.example.org-1', '--secret-file', sk, '--public-file', pk]);
  checkUsage(t, again, 'both exist');
  t.regex(again.stderr, /already exists; use --force/);
  const onlyPublic = await cli(t, ['key', 'generate', 'x-1', '--secret-file', path.join(dir, 'new.key'), '--public-file', pk]);
  checkUsage(t, onlyPublic, 'public exists');
  t.deepEqual(snapshot(dir), before, 'nothing written, nothing replaced');

  const forced = await cli(t, ['key', 'generate', 'cache.example.org-2', '--secret-file', sk, '--public-file', pk, '--force']);
  t.is(forced.code, 0);
  const secret2 = fs.readFileSync(sk, 'utf8');
  rememberSecret(secret2);
  t.regex(secret2, /^cache\.example\.org-2:/);
  t.is(fs.statSync(sk).mode & 0o777, 0o600);
  t.is(fs.readFileSync(pk, 'utf8'), `cache.example.org-2:${nodePublicKeyOfSeed(Buffer.from(secret2.split(':')[1], 'base64').subarray(0, 32)).toString('base64')}`);
  t.deepEqual(fs.readdirSync(dir).sort(), ['public.key', 'secret.key'], 'no temporary files left');

  // a directory that does not exist: exit 4, the message names the key file (not a temp file)
  const nowhere = await cli(t, ['key', 'generate', 'x-1', '--secret-file', path.join(dir, 'no', 's'), '--public-file', path.join(dir, 'no', 'p')]);
  t.is(nowhere.code, 4);
  t.regex(nowhere.stderr, /^narsign: error: cannot write key file '.*\/no\/s': its directory does not exist\n$/);
});

// ---- sign ---------------------------------------------------------------------------------------

test('sign DIR: one Sig per narinfo, equal to node:crypto over the fixture fingerprint; nothing else changes; idempotent', async (t) => {
  const dir = exampleCache();
  const key = makeKey('test-1');
  const keyFile = writeSecret(tempDir(), 'sk', key.secret);
  const original = new Map(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));

  const r = await cli(t, ['sign', '-k', keyFile, dir]);
  t.is(r.code, 0);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^signed 8 narinfos \(8 new, 0 already signed\) in \d+\.\d s\n$/, 'off a TTY: just the summary line');
  for (const [name, text] of original) {
    const now = fs.readFileSync(path.join(dir, name), 'utf8');
    if (!name.endsWith('.narinfo')) {
      t.is(now, text, name);
      continue;
    }
    const mine = sigsOf(now).filter((s) => s.startsWith('test-1:'));
    t.deepEqual(mine, [expectedSig(key, FP_BY_HASH.get(name.slice(0, 32))!)], name);
    t.is(now.replace(`Sig: ${mine[0]}\n`, ''), text, `${name}: only the Sig line was added`);
  }
  t.deepEqual(fs.readdirSync(dir).sort(), [...original.keys()].sort(), 'no lock or temporary file left');

  const before = snapshot(dir);
  const again = await cli(t, ['sign', '-k', keyFile, dir]);
  t.is(again.code, 0);
  t.regex(again.stderr, /^signed 8 narinfos \(0 new, 8 already signed\) in /);
  t.deepEqual(snapshot(dir), before);

  // --force rewrites every narinfo (new files), to the same bytes (Ed25519 is deterministic)
  const inodes = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => fs.statSync(path.join(dir, n)).ino);
  const forced = await cli(t, ['sign', '-k', keyFile, '--force', dir]);
  t.is(forced.code, 0);
  t.regex(forced.stderr, /^signed 8 narinfos \(8 new, 0 already signed\)/);
  t.deepEqual(snapshot(dir), before);
  const after = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => fs.statSync(path.join(dir, n)).ino);
  t.true(after.every((ino, i) => ino !== inodes[i]), 'each narinfo was replaced');

  // and the signed cache verifies under the new key alone (F5 too: narsign signs Nix's sorted fingerprint)
  const v = await cli(t, ['verify', '-t', key.public, dir]);
  t.is(v.code, 0);
  t.regex(v.stderr, /^checked 8 narinfos: 8 trusted in \d+\.\d s\n$/);
});

test('sign single files, - (stdin to stdout), --key-env and several keys give the same bytes', async (t) => {
  const k1 = makeKey('one-1');
  const k2 = makeKey('two-1');
  const keys = tempDir();
  const f1 = writeSecret(keys, 'k1', k1.secret);
  const f2 = writeSecret(keys, 'k2', `${k2.secret}\n`); // a trailing newline is fine, as in Nix
  const dir = writeCache(path.join(tempDir(), 'c'), [F('F1'), F('F3'), F('F6')]);
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo'));

  const files = await cli(t, ['sign', '-k', f1, '-k', f2, ...names.slice(0, 2).map((n) => path.join(dir, n))]);
  t.is(files.code, 0);
  t.regex(files.stderr, /^signed 2 narinfos \(2 new, 0 already signed\)/);
  for (const name of names.slice(0, 2)) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    const fp = FP_BY_HASH.get(name.slice(0, 32))!;
    t.true(sigsOf(text).includes(expectedSig(k1, fp)), name);
    t.true(sigsOf(text).includes(expectedSig(k2, fp)), name);
  }
  const untouched = fs.readFileSync(path.join(dir, names[2]), 'utf8');
  t.is(untouched, [F('F1'), F('F3'), F('F6')].find((x) => hashOf(x) === names[2].slice(0, 32))!);

  // stdin → stdout: the same bytes as signing the file
  const viaStdin = await cli(t, ['sign', '-k', f1, '-k', f2, '-'], { input: untouched });
  t.is(viaStdin.code, 0);
  t.is(viaStdin.stderr, '');
  const env = await cli(t, ['sign', '--key-env', 'NARSIGN_TEST_KEY', '-k', f2, path.join(dir, names[2])], { env: { NARSIGN_TEST_KEY: k1.secret } });
  t.is(env.code, 0);
  t.is(viaStdin.stdout, fs.readFileSync(path.join(dir, names[2]), 'utf8'));
  t.true(sigsOf(viaStdin.stdout).includes(expectedSig(k1, FP_BY_HASH.get(names[2].slice(0, 32))!)));
  // the help's example: `sign - < x.narinfo > x.signed.narinfo`, then verify that file
  const copy = path.join(tempDir(), 'x.signed.narinfo');
  fs.writeFileSync(copy, viaStdin.stdout);
  t.is((await cli(t, ['verify', '-t', k1.public, copy])).code, 0);
  t.is((await cli(t, ['inspect', '-t', k2.public, copy])).code, 0);

  // a corrupt narinfo on stdin: exit 1, nothing on stdout
  const bad = await cli(t, ['sign', '-k', f1, '-'], { input: 'StorePath: nonsense\n' });
  t.is(bad.code, 1);
  t.is(bad.stdout, '');
  t.regex(bad.stderr, /^narsign: <stdin>: line 1: /);
});

test('sign --shard I/N: the N shards cover every narinfo exactly once, by the spec rule (first 6 hash chars, base 32, mod N)', async (t) => {
  const dir = path.join(tempDir(), 'corpus');
  const texts = corpus();
  writeCache(dir, texts);
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo'));
  t.is(names.length, texts.length);
  const keys = [makeKey('shard-1'), makeKey('shard-2'), makeKey('shard-3')];
  const keyDir = tempDir();
  const totals: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await cli(t, ['sign', '-k', writeSecret(keyDir, `k${i}`, keys[i].secret), '--shard', `${i + 1}/3`, '--no-fsync', '--json', dir]);
    t.is(r.code, 0, r.stderr);
    totals.push((JSON.parse(r.stdout) as { total: number }).total);
  }
  t.is(totals.reduce((a, b) => a + b, 0), names.length, 'the shard totals add up to the cache');
  for (const name of names) {
    const signers = sigsOf(fs.readFileSync(path.join(dir, name), 'utf8')).map((s) => s.split(':')[0]).filter((n) => n.startsWith('shard-'));
    let value = 0;
    for (const c of name.slice(0, 6)) value = value * 32 + NIX32.indexOf(c);
    t.deepEqual(signers, [`shard-${(value % 3) + 1}`], name);
  }
  const bad = await cli(t, ['sign', '-k', path.join(keyDir, 'k0'), '--shard', '4/3', dir]);
  checkUsage(t, bad, '--shard 4/3');
});

test('sign --remove NAME with --require-trusted: key rotation never launders an untrusted narinfo (exit 2)', async (t) => {
  const dir = exampleCache();
  const key = makeKey('cache.example.org-2');
  const before = new Map(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
  const r = await cli(t, ['sign', '-k', writeSecret(tempDir(), 'sk', key.secret), '--remove', 'cache.nixos.org-1', '--require-trusted', CACHE_NIXOS_ORG_KEY, dir]);
  t.is(r.code, 2);
  t.regex(r.stderr, new RegExp(`narsign: skipped .*${F5_FILE}: not trusted`));
  t.regex(lastLine(r.stderr), /^signed 7 narinfos \(7 new, 0 already signed\), 1 skipped \(not trusted\) in /);
  for (const [name, text] of before) {
    const now = fs.readFileSync(path.join(dir, name), 'utf8');
    if (name === F5_FILE || !name.endsWith('.narinfo')) {
      t.is(now, text, `${name} untouched`);
      continue;
    }
    const sigs = sigsOf(now);
    t.false(sigs.some((s) => s.startsWith('cache.nixos.org-1:')), name);
    t.true(sigs.includes(expectedSig(key, FP_BY_HASH.get(name.slice(0, 32))!)), name);
    // signatures by other names stay (test1 on F1, hydra.other.net-1 on F2)
    t.deepEqual(sigs.filter((s) => !s.startsWith('cache.example.org-2:')), sigsOf(text).filter((s) => !s.startsWith('cache.nixos.org-1:')), name);
  }
});

test('sign --dry-run changes no byte; --json reports what would be signed', async (t) => {
  const dir = exampleCache();
  const keyFile = writeSecret(tempDir(), 'sk', makeKey('dry-1').secret);
  const before = snapshot(dir);
  const r = await cli(t, ['sign', '-k', keyFile, '--dry-run', '--json', dir]);
  t.is(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.like(report, { command: 'sign', dryRun: true, total: 8, signed: 8, alreadySigned: 0, skipped: 0, failed: 0 });
  t.deepEqual(report.failures, []);
  t.is(r.stderr, '');
  t.deepEqual(snapshot(dir), before);
  t.deepEqual(fs.readdirSync(dir).sort(), Object.keys(before).sort());
  const human = await cli(t, ['sign', '-k', keyFile, '--dry-run', dir]);
  t.regex(human.stderr, /^would sign 8 narinfos \(8 to change, 0 already signed\) in /);
  t.deepEqual(snapshot(dir), before);
});

test('sign --format 2015 appends Signature: 2;NAME;BASE64 over the lines before it (node:crypto)', async (t) => {
  const dir = exampleCache();
  const key = makeKey('test.nixos.org-1');
  const before = new Map(fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
  const r = await cli(t, ['sign', '--format', '2015', '-k', writeSecret(tempDir(), 'sk', key.secret), dir]);
  t.is(r.code, 0, r.stderr);
  for (const [name, text] of before) {
    const now = fs.readFileSync(path.join(dir, name), 'utf8');
    t.true(now.startsWith(text), name);
    const m = /^Signature: 2;test\.nixos\.org-1;([A-Za-z0-9+/]{86}==)\n$/.exec(now.slice(text.length));
    t.truthy(m, name);
    t.true(nodeVerify(key.publicKey, Buffer.from(m![1], 'base64'), Buffer.from(text)), name);
    t.false(now.includes('\nSig: test.nixos.org-1'), 'no modern Sig line');
  }
});

test('sign --json and exit codes: corrupt (1, FILE: line N), untrusted skipped (2), both (3), unreadable (4)', async (t) => {
  const dir = exampleCache();
  const keyFile = writeSecret(tempDir(), 'sk', makeKey('exit-1').secret);
  const corruptName = `${hashOf(F('F6'))}.narinfo`;
  fs.writeFileSync(path.join(dir, corruptName), F('F6').replace(/^NarSize: .*$/m, 'NarSize: many'));
  const r = await cli(t, ['sign', '-k', keyFile, '--json', dir]);
  t.is(r.code, 1);
  const report = JSON.parse(r.stdout);
  t.like(report, { total: 8, signed: 7, failed: 1 });
  t.is(report.failures[0].file, path.join(dir, corruptName));
  t.is(report.failures[0].code, 'ERR_NARINFO_CORRUPT');
  t.is(report.failures[0].line, 7);
  const human = await cli(t, ['sign', '-k', keyFile, dir]);
  t.is(human.code, 1);
  t.regex(human.stderr, new RegExp(`^narsign: ${dir}/${corruptName}: line 7: corrupt narinfo: .*NarSize`, 'm'));
  const both = await cli(t, ['sign', '-k', keyFile, '--require-trusted', CACHE_NIXOS_ORG_KEY, dir]);
  t.is(both.code, 3);
  const missing = await cli(t, ['sign', '-k', keyFile, path.join(dir, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.narinfo')]);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /aaaaaaaa\.narinfo: no such file or directory/);
});

test('a narinfo under another path\'s name is a failure (exit 4) for sign and verify alike; an empty cache is named', async (t) => {
  const dir = writeCache(path.join(tempDir(), 'c'), [F('F1')]);
  // F3's text under F1's name: Nix refuses it ("path is not valid")
  fs.writeFileSync(path.join(dir, `${hashOf(F('F1'))}.narinfo`), F('F3'));
  const sk = writeSecret(tempDir(), 'sk', makeKey('name-1').secret);
  const before = snapshot(dir);
  const signed = await cli(t, ['sign', '-k', sk, dir]);
  t.is(signed.code, 4);
  t.regex(signed.stderr, /another path's name/);
  t.deepEqual(snapshot(dir), before);
  const verified = await cli(t, ['verify', '-t', CACHE_NIXOS_ORG_KEY, dir]);
  t.is(verified.code, 4);
  const empty = tempDir();
  for (const command of [['sign', '-k', sk], ['verify', '-t', CACHE_NIXOS_ORG_KEY]]) {
    const r = await cli(t, [...command, empty]);
    t.is(r.code, 0);
    t.regex(r.stderr, /^narsign: warning: no narinfo found in /m, command[0]);
  }
});

test('one file-name rule for inspect, verify and sign: a signed narinfo named like an entry but not base-32 (eeee…e.narinfo) is refused by all', async (t) => {
  const dir = writeCache(path.join(tempDir(), 'c'), []);
  // 'e' is not a Nix base-32 digit: no path has this name, so Nix never asks for it. Upper case neither.
  for (const name of [`${'e'.repeat(32)}.narinfo`, `${hashOf(F('F1')).toUpperCase()}.narinfo`]) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, F('F1'));
    const inspected = await cli(t, ['inspect', '-t', CACHE_NIXOS_ORG_KEY, file]);
    const verified = await cli(t, ['verify', '-t', CACHE_NIXOS_ORG_KEY, dir]);
    const verifiedFile = await cli(t, ['verify', '-t', CACHE_NIXOS_ORG_KEY, file]);
    for (const [what, r] of [['inspect', inspected], ['verify DIR', verified], ['verify FILE', verifiedFile]] as const) {
      t.is(r.code, 4, `${name}: ${what}: ${r.stderr}`);
      t.regex(r.stderr, /another path's name/, `${name}: ${what}`);
    }
    const sk = writeSecret(tempDir(), 'sk', makeKey('name-1').secret);
    const signed = await cli(t, ['sign', '-k', sk, dir]);
    t.is(signed.code, 4, name);
    t.is(fs.readFileSync(file, 'utf8'), F('F1'), `${name}: signed`);
    fs.rmSync(file);
  }
});

test('a bad --shard names the command it was given to', async (t) => {
  const dir = writeCache(path.join(tempDir(), 'c'), [F('F1')]);
  const sk = writeSecret(tempDir(), 'sk', makeKey('name-1').secret);
  for (const [command, args] of [['verify', ['-t', CACHE_NIXOS_ORG_KEY]], ['sign', ['-k', sk]]] as const) {
    const r = await cli(t, [command, ...args, '--shard', '3/2', dir]);
    checkUsage(t, r, command);
    t.regex(r.stderr, new RegExp(`\\(see: narsign ${command} --help\\)`), command);
  }
});

// ---- verify -------------------------------------------------------------------------------------

test('verify: trusted keys from -t, --trusted-key-file, --nix-conf, NIX_CONF_DIR, NIX_CONFIG', async (t) => {
  const dir = exampleCache();
  const key = makeKey('cache.example.org-1');
  const other = makeKey('other-1');
  await cli(t, ['sign', '-k', writeSecret(tempDir(), 'sk', key.secret), dir]);
  const conf = tempDir();
  fs.writeFileSync(path.join(conf, 'nix.conf'), `trusted-public-keys = ${other.public} ${key.public}\n`);
  fs.writeFileSync(path.join(conf, 'keys.pub'), `${key.public}\n`);
  fs.writeFileSync(path.join(conf, 'none.conf'), 'trusted-public-keys =\n');
  const ok = /^checked 8 narinfos: 8 trusted in /;
  for (const [what, args, env] of [
    ['-t', ['-t', key.public], {}],
    ['two -t', ['-t', other.public, '-t', key.public], {}],
    ['--trusted-key-file', ['--trusted-key-file', path.join(conf, 'keys.pub')], {}],
    ['--nix-conf', ['--nix-conf', path.join(conf, 'nix.conf')], {}],
    ['NIX_CONF_DIR', [], { NIX_CONF_DIR: conf }],
    ['NIX_CONFIG', [], { NIX_CONFIG: `trusted-public-keys = ${key.public}` }],
  ] as Array<[string, string[], Record<string, string>]>) {
    const r = await cli(t, ['verify', ...args, dir], { env });
    t.is(r.code, 0, `${what}: ${r.stderr}`);
    t.regex(r.stderr, ok, what);
  }
  // the same cache under no key (an empty trusted-public-keys): only F4, content-addressed, is trusted
  const none = await cli(t, ['verify', '--nix-conf', path.join(conf, 'none.conf'), '--json', dir]);
  t.is(none.code, 2);
  const report = JSON.parse(none.stdout);
  t.like(report, { total: 8, trusted: 1, untrusted: 7 });
  t.deepEqual(report.trustedKeys, []);
  t.deepEqual(report.files.filter((f: { status: string }) => f.status === 'trusted').map((f: { file: string; reason: string }) => [path.basename(f.file), f.reason]), [[F4_FILE, 'content-addressed']]);
  // the built-in default (no nix.conf at all): cache.nixos.org-1, under which F5 is untrusted by design
  const builtIn = await cli(t, ['verify', path.join(EXAMPLES)]);
  t.is(builtIn.code, 2);
  t.regex(builtIn.stderr, new RegExp(`^narsign: .*${F5_FILE}: not trusted \\(cache\\.nixos\\.org-1: invalid\\)$`, 'm'));
  t.regex(lastLine(builtIn.stderr), /^checked 8 narinfos: 7 trusted, 1 untrusted in /);
  // --nix-conf naming a missing file is an error, not the built-in default
  const missing = await cli(t, ['verify', '--nix-conf', path.join(conf, 'nope.conf'), dir]);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /--nix-conf '.*nope\.conf': no such file/);
  // a bad entry in nix.conf is named
  fs.writeFileSync(path.join(conf, 'bad.conf'), `trusted-public-keys = ${key.public} garbage\n`);
  const bad = await cli(t, ['verify', '--nix-conf', path.join(conf, 'bad.conf'), dir]);
  t.is(bad.code, 4);
  t.regex(bad.stderr, /bad\.conf line 1/);
});

test('verify --json: one report, each file with its status and signature verdicts (fixture verdicts as oracle)', async (t) => {
  const r = await cli(t, ['verify', '-t', `${CACHE_NIXOS_ORG_KEY} ${GO_NIX_TEST1}`, '--json', EXAMPLES]);
  t.is(r.code, 2);
  const report = JSON.parse(r.stdout);
  t.like(report, { command: 'verify', total: 8, trusted: 7, untrusted: 1, corrupt: 0, failed: 0, keySource: 'the command line' });
  t.deepEqual(report.trustedKeys, ['cache.nixos.org-1', 'test1']);
  const byName = new Map(report.files.map((f: { file: string }) => [path.basename(f.file), f]));
  t.is(byName.size, 8);
  t.like(byName.get(F5_FILE), { status: 'untrusted', reason: 'not-enough-signatures', signatures: [{ keyName: 'cache.nixos.org-1', status: 'invalid' }] });
  t.like(byName.get(F4_FILE), { status: 'trusted', reason: 'content-addressed' });
  // F1 carries two valid signatures (cache.nixos.org-1 and go-nix's test1)
  t.like(byName.get(`${hashOf(F('F1'))}.narinfo`), { status: 'trusted', validSignatures: 2, storePath: /^StorePath: (.*)$/m.exec(F('F1'))![1] });
  t.is(r.stderr, '', '--json: nothing on stderr but problems');
});

test('verify -n/--sigs-needed counts distinct trusted keys', async (t) => {
  const dir = writeCache(path.join(tempDir(), 'c'), [F('F1'), F('F3')]);
  const a = makeKey('a-1');
  const b = makeKey('b-1');
  const keys = tempDir();
  await cli(t, ['sign', '-k', writeSecret(keys, 'a', a.secret), '-k', writeSecret(keys, 'b', b.secret), dir]);
  t.is((await cli(t, ['verify', '-n', '2', '-t', `${a.public} ${b.public}`, dir])).code, 0);
  t.is((await cli(t, ['verify', '--sigs-needed', '2', '-t', a.public, dir])).code, 2);
  t.is((await cli(t, ['verify', '-n', '3', '-t', `${a.public} ${b.public}`, dir])).code, 2);
  // both carry cache.nixos.org-1's signature too; F1 also go-nix's test1: four signers for F1, three for F3
  t.is((await cli(t, ['verify', '-n', '3', '-t', `${a.public} ${b.public} ${CACHE_NIXOS_ORG_KEY}`, dir])).code, 0);
  const four = await cli(t, ['verify', '-n', '4', '-t', `${a.public} ${b.public} ${CACHE_NIXOS_ORG_KEY} ${GO_NIX_TEST1}`, '--json', dir]);
  t.is(four.code, 2);
  t.like(JSON.parse(four.stdout), { trusted: 1, untrusted: 1 });
  t.like(JSON.parse(four.stdout).files.find((f: { status: string }) => f.status === 'trusted'), { storePath: /^StorePath: (.*)$/m.exec(F('F1'))![1], validSignatures: 4 });
});

test('verify exit codes: 1 corrupt (FILE: line N), 2 untrusted, 3 both, 4 malformed signature under a trusted name (named), 7 all', async (t) => {
  const key = makeKey('trusted-1');
  const sk = writeSecret(tempDir(), 'sk', key.secret);
  const base = exampleCache('base');
  await cli(t, ['sign', '-k', sk, base]);
  const variant = (name: string, edit: (files: Record<string, string>) => void): string => {
    const dir = copyDir(base, path.join(tempDir(), name));
    const files: Record<string, string> = {};
    for (const n of fs.readdirSync(dir)) files[n] = fs.readFileSync(path.join(dir, n), 'utf8');
    edit(files);
    for (const [n, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), text);
    return dir;
  };
  const f3 = `${hashOf(F('F3'))}.narinfo`;
  const f6 = `${hashOf(F('F6'))}.narinfo`;
  const f1 = `${hashOf(F('F1'))}.narinfo`;
  const corrupt = (files: Record<string, string>) => {
    files[f3] = files[f3].replace(/^NarHash: .*$/m, 'NarHash: sha256:not-a-hash');
  };
  const untrusted = (files: Record<string, string>) => {
    files[f6] = files[f6].replace(/^NarSize: (\d+)$/m, (_, n) => `NarSize: ${Number(n) + 1}`);
  };
  const malformed = (files: Record<string, string>) => {
    files[f1] = files[f1].replace(/^Sig: trusted-1:.*$/m, 'Sig: trusted-1:AAAA');
  };
  const run = (dir: string) => cli(t, ['verify', '-t', key.public, dir]);

  const one = await run(variant('corrupt', corrupt));
  t.is(one.code, 1);
  const narHashLine = F('F3').split('\n').findIndex((l) => l.startsWith('NarHash:')) + 1;
  t.regex(one.stderr, new RegExp(`^narsign: \\S+/corrupt/${f3}: line ${narHashLine}: corrupt narinfo: `, 'm'));
  t.regex(lastLine(one.stderr), /^checked 8 narinfos: 7 trusted, 1 corrupt in /);

  const two = await run(variant('untrusted', untrusted));
  t.is(two.code, 2);
  t.regex(two.stderr, new RegExp(`^narsign: \\S+/${f6}: not trusted \\(cache\\.nixos\\.org-1: unknown-key, trusted-1: invalid\\)$`, 'm'));

  const three = await run(variant('both', (f) => (corrupt(f), untrusted(f))));
  t.is(three.code, 3);

  const four = await run(variant('malformed', malformed));
  t.is(four.code, 4);
  const sigLine = fs.readFileSync(path.join(base, f1), 'utf8').split('\n').findIndex((l) => l.startsWith('Sig: trusted-1:')) + 1;
  t.regex(four.stderr, new RegExp(`^narsign: \\S+/${f1}: line ${sigLine}: the signature by trusted key 'trusted-1' is malformed: signature is not valid`, 'm'));
  // the same malformed payload under a name nobody trusts is just not counted (as in Nix)
  const ignored = await cli(t, ['verify', '-t', CACHE_NIXOS_ORG_KEY, variant('malformed-untrusted', malformed)]);
  t.is(ignored.code, 2); // F5 only

  const seven = await run(variant('all', (f) => (corrupt(f), untrusted(f), malformed(f))));
  t.is(seven.code, 7);
  t.regex(lastLine(seven.stderr), /^checked 8 narinfos: 5 trusted, 1 untrusted, 1 corrupt, 1 failed in /);

  // a file named on the command line that does not exist: a failure among the others
  const missing = await cli(t, ['verify', '-t', key.public, path.join(base, f1), path.join(base, 'nothere.narinfo')]);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /nothere\.narinfo: no such file or directory/);
  t.regex(lastLine(missing.stderr), /^checked 2 narinfos: 1 trusted, 1 failed in /);
});

test('verify: an unreadable narinfo is a failure (exit 4) naming the file', async (t) => {
  const root = tempDir();
  const dir = copyDir(EXAMPLES, path.join(root, 'cache'));
  const unreadable = path.join(dir, F5_FILE);
  fs.chmodSync(unreadable, 0o000);
  // Root reads anything: run as nobody (the temp dirs made reachable), if nobody can run the CLI
  // from where this checkout is; else make the file one whose read fails (/proc/self/mem: EIO).
  let as: { uid?: number; cwd?: string } = {};
  let why = 'permission denied';
  if (process.getuid?.() === 0) {
    const probe = spawnSync(process.execPath, [CLI, '--version'], { uid: 65534, gid: 65534, cwd: '/' });
    if (probe.status === 0) {
      fs.chmodSync(root, 0o755);
      fs.chmodSync(dir, 0o755);
      as = { uid: 65534, cwd: '/' };
    } else {
      fs.rmSync(unreadable);
      fs.symlinkSync('/proc/self/mem', unreadable);
      why = 'input/output error';
    }
  }
  const r = await cli(t, ['verify', '-t', CACHE_NIXOS_ORG_KEY, dir], as);
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, new RegExp(`^narsign: ${dir}/${F5_FILE}: ${why}`, 'm'));
  t.regex(lastLine(r.stderr), /^checked 8 narinfos: 7 trusted, 1 failed in /);
  const single = await cli(t, ['fingerprint', unreadable], as);
  t.is(single.code, 4);
  t.regex(single.stderr, new RegExp(`^narsign: ${unreadable}: ${why}\n$`));
});

test('verify --check-nars: NAR size and FileHash checked (node:crypto sha256 in the narinfos), also with --format 2015', async (t) => {
  const key = makeKey('nars-1');
  const sk = writeSecret(tempDir(), 'sk', key.secret);
  const { dir, nars, names } = narCache(path.join(tempDir(), 'c'), 4);
  const legacy = copyDir(dir, path.join(tempDir(), 'legacy'));
  t.is((await cli(t, ['sign', '-k', sk, dir])).code, 0);
  t.is((await cli(t, ['sign', '--format', '2015', '-k', sk, legacy])).code, 0);
  for (const [format, cache] of [['nix', dir], ['2015', legacy]]) {
    const good = await cli(t, ['verify', '--format', format, '--check-nars', '-t', key.public, cache]);
    t.is(good.code, 0, `${format}: ${good.stderr}`);
    breakNars(cache, nars);
    const notChecked = await cli(t, ['verify', '--format', format, '-t', key.public, cache]);
    t.is(notChecked.code, 0, `${format}: without --check-nars the NARs are not read`);
    const r = await cli(t, ['verify', '--format', format, '--check-nars', '-t', key.public, '--json', cache]);
    t.is(r.code, 4, format);
    const byName = new Map(JSON.parse(r.stdout).files.map((f: { file: string }) => [path.basename(f.file), f]));
    t.like(byName.get(names[0]), { status: 'trusted' }, format);
    t.like(byName.get(names[1]), { status: 'failed', code: 'ERR_NAR_HASH' }, format);
    t.like(byName.get(names[2]), { status: 'failed', code: 'ERR_NAR_SIZE' }, format);
    t.like(byName.get(names[3]), { status: 'failed', code: 'ERR_NAR_MISSING' }, format);
    const human = await cli(t, ['verify', '--format', format, '--check-nars', '-t', key.public, cache]);
    t.regex(human.stderr, new RegExp(`${names[1]}: nar/1\\.nar: hash mismatch`));
    t.regex(human.stderr, new RegExp(`${names[2]}: nar/2\\.nar: the narinfo says \\d+ bytes but the file has \\d+`));
    t.regex(human.stderr, new RegExp(`${names[3]}: nar/3\\.nar: no such file`));
  }
});

// ---- fingerprint and inspect --------------------------------------------------------------------

test('fingerprint FILE…: one line per file in argument order, equal to the fixtures; - reads stdin', async (t) => {
  const dir = path.join(tempDir(), 'c');
  const all = fixtures();
  const order = ['F3', 'F1', 'X2', 'F5', 'F6', 'F2', 'F4', 'X1'];
  writeCache(dir, order.map(F));
  const x3 = path.join(tempDir(), `${hashOf(F('X3'))}.narinfo`);
  fs.writeFileSync(x3, F('X3'));
  const files = [...order.map((id) => path.join(dir, `${hashOf(F(id))}.narinfo`)), x3];
  const r = await cli(t, ['fingerprint', ...files]);
  t.is(r.code, 0);
  t.is(r.stderr, '');
  t.is(r.stdout, [...order, 'X3'].map((id) => `${all.find((f) => f.id === id)!.fingerprint}\n`).join(''));
  const stdin = await cli(t, ['fingerprint', '-'], { input: F('F6') });
  t.is(stdin.stdout, `${fixture('F6').fingerprint}\n`);
  // a corrupt file in the middle: exit 1, named with its line; the others still printed, in order
  const bad = path.join(tempDir(), 'bad.narinfo');
  fs.writeFileSync(bad, F('F2').replace('NarSize: ', 'NarSize: x'));
  const mixed = await cli(t, ['fingerprint', files[0], bad, files[1]]);
  t.is(mixed.code, 1);
  t.is(mixed.stdout, `${fixture('F3').fingerprint}\n${fixture('F1').fingerprint}\n`);
  t.regex(mixed.stderr, /^narsign: \S+bad\.narinfo: line \d+: corrupt narinfo: .*\n$/);
});

test('inspect FILE and inspect --json: fields, fingerprint and each signature status (fixture verdicts)', async (t) => {
  const dir = path.join(tempDir(), 'c');
  writeCache(dir, [F('F1'), F('F5')]);
  const f1 = path.join(dir, `${hashOf(F('F1'))}.narinfo`);
  const trusted = `${CACHE_NIXOS_ORG_KEY} ${GO_NIX_TEST1}`;
  const text = await cli(t, ['inspect', '-t', CACHE_NIXOS_ORG_KEY, f1]);
  t.is(text.code, 0);
  t.regex(text.stdout, /^StorePath {4}\/nix\/store\/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7\.82\.0-bin$/m);
  t.true(text.stdout.includes(`\nFingerprint  ${fixture('F1').fingerprint}\n`));
  t.regex(text.stdout, /^ {2}cache\.nixos\.org-1: valid$/m);
  t.regex(text.stdout, /^ {2}test1: unknown-key$/m);
  t.regex(text.stdout, /^Trusted {5}yes \(signatures\)$/m);

  const json = await cli(t, ['inspect', '--json', '-t', trusted, f1]);
  const report = JSON.parse(json.stdout);
  t.is(report.fingerprint, fixture('F1').fingerprint);
  t.is(report.storePath, '/nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin');
  t.is(report.narSize, 196040);
  t.true(report.trusted);
  t.deepEqual(report.signatures, [{ keyName: 'cache.nixos.org-1', status: 'valid' }, { keyName: 'test1', status: 'valid' }]);

  const f5 = await cli(t, ['inspect', '--json', '-t', CACHE_NIXOS_ORG_KEY, path.join(dir, F5_FILE)]);
  t.is(f5.code, 0, 'inspect shows; verify judges');
  t.like(JSON.parse(f5.stdout), { trusted: false, reason: 'not-enough-signatures', signatures: [{ keyName: 'cache.nixos.org-1', status: 'invalid' }] });
  const x3 = await cli(t, ['inspect', '--json', '-t', CACHE_NIXOS_ORG_KEY, '-'], { input: F('X3') });
  t.like(JSON.parse(x3.stdout), { trusted: false, signatures: [{ keyName: 'cache.nixos.org-1', status: 'invalid' }] });

  const corrupt = path.join(dir, 'copy.narinfo');
  fs.writeFileSync(corrupt, F('F1').replace('\nURL: ', '\nURL '));
  const bad = await cli(t, ['inspect', corrupt]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^narsign: \S+copy\.narinfo: line 2: corrupt narinfo: /);
  const missing = await cli(t, ['inspect', path.join(dir, 'none.narinfo')]);
  t.is(missing.code, 4);
});

// ---- the 2015 scenario ------------------------------------------------------------------------

for (const format of ['nix', '2015']) {
  test(`the 2015 tests/binary-cache.sh scenario through the CLI, --format ${format}`, async (t) => {
    // As in 2015: a narinfo with no Sig lines, a key test.nixos.org-1, a wrong key of the same name, another name.
    const unsigned = F('F1').replace(/^Sig: .*\n/gm, '');
    const dir = writeCache(path.join(tempDir(), 'cache'), [unsigned]);
    const keys = tempDir();
    const good = makeKey('test.nixos.org-1');
    const bad = makeKey('test.nixos.org-1');
    const other = makeKey('foo.nixos.org-1');
    const fmt = ['--format', format];
    t.is((await cli(t, ['sign', ...fmt, '-k', writeSecret(keys, 'sk', good.secret), dir])).code, 0);
    fs.writeFileSync(path.join(keys, 'no-keys.conf'), 'trusted-public-keys =\n');

    // Downloading should fail if we don't provide a key.
    const none = await cli(t, ['verify', ...fmt, '--nix-conf', path.join(keys, 'no-keys.conf'), dir]);
    t.is(none.code, 2);
    // And it should fail if we provide an incorrect key.
    const wrong = await cli(t, ['verify', ...fmt, '-t', bad.public, dir]);
    t.is(wrong.code, 2);
    // It should succeed if we provide the correct key.
    const right = await cli(t, ['verify', ...fmt, '-t', `${other.public} ${good.public}`, dir]);
    t.is(right.code, 0, right.stderr);
    // It should fail if we corrupt the .narinfo.
    const file = path.join(dir, `${hashOf(unsigned)}.narinfo`);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^References: .*\n/m, ''));
    const corrupted = await cli(t, ['verify', ...fmt, '-t', `${other.public} ${good.public}`, dir]);
    t.is(corrupted.code, 2);
    if (format === '2015') t.regex(corrupted.stderr, /has an incorrect signature/);
    else t.regex(corrupted.stderr, /not trusted \(test\.nixos\.org-1: invalid\)/);
  });
}

// ---- usage, --version, --help -----------------------------------------------------------------

test('usage errors: exit 64, one line and a hint, no stack trace', async (t) => {
  const dir = exampleCache();
  const sk = writeSecret(tempDir(), 'sk', makeKey('usage-1').secret);
  const cases: string[][] = [
    ['bogus'],
    ['sign', '-k', sk],
    ['sign', dir],
    ['sign', '--key-env', 'NARSIGN_TEST_UNSET_VARIABLE', dir],
    ['sign', '-k', sk, '--shard', '0/2', dir],
    ['sign', '-k', sk, '--shard', 'x', dir],
    ['sign', '-k', sk, '--jobs', '0', dir],
    ['sign', '-k', sk, '--format', '1999', dir],
    ['sign', '-k', sk, '-', dir],
    ['sign', '-k', sk, '--json', '-'],
    ['verify'],
    ['verify', '--bogus', dir],
    ['verify', '-n', '0', dir],
    ['verify', '-t', 'no-colon-here', dir],
    ['verify', '--retries', 'x', 'http://127.0.0.1:9', 'syd87l2rxw8cbsxmxl853h0r6pdwhwjr'],
    ['verify', 'http://127.0.0.1:9'],
    ['key', 'generate'],
    ['key', 'generate', 'has space'],
    ['key', 'generate', 'x-1', '--secret-file', path.join(dir, 's')],
    ['fingerprint'],
    ['inspect'],
  ];
  for (const args of cases) checkUsage(t, await cli(t, args), args.join(' '));
  // no command at all: the help, on stderr, and 64
  for (const args of [[], ['key']]) {
    const r = await cli(t, args);
    t.is(r.code, 64, args.join(' '));
    t.regex(r.stderr, /^Usage: narsign/);
  }
});

test('--version, --help and <command> --help', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = await cli(t, [flag]);
    t.is(r.code, 0);
    t.is(r.stdout, `${VERSION}\n`);
  }
  const help = await cli(t, ['--help']);
  t.is(help.code, 0);
  for (const command of ['key', 'sign', 'verify', 'fingerprint', 'inspect']) t.regex(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  for (const command of [['key'], ['key', 'generate'], ['key', 'public'], ['sign'], ['verify'], ['fingerprint'], ['inspect']]) {
    const r = await cli(t, [...command, '--help']);
    t.is(r.code, 0, command.join(' '));
    t.true(r.stdout.startsWith(`Usage: narsign ${command.join(' ')} `), command.join(' '));
    const viaHelp = await cli(t, ['help', ...command]);
    t.is(viaHelp.stdout, r.stdout);
  }
  for (const command of ['sign', 'verify']) t.regex((await cli(t, [command, '--help'])).stdout, /Exit status: 0 /);
});

test('a reader that closes the pipe early gets no stack trace', async (t) => {
  const dir = path.join(tempDir(), 'c');
  writeCache(dir, corpus().slice(0, 400));
  const r = await cli(t, [], {}, ['sh', '-c', `${shellQuote(process.execPath)} ${shellQuote(CLI)} fingerprint ${shellQuote(dir)}/*.narinfo | head -c 10 >/dev/null`]);
  t.is(r.code, 0);
  t.is(r.stderr, '');
});

// ---- the progress bar ---------------------------------------------------------------------------

test('the progress bar shows on a terminal (script -qec) and not off one, where only the summary line is printed', async (t) => {
  const dir = exampleCache();
  const key = makeKey('bar-1');
  const sk = writeSecret(tempDir(), 'sk', key.secret);
  // NARSIGN_PROGRESS_DELAY_MS=0: the bar from the first batch on (by default after about a second)
  const env = { NARSIGN_PROGRESS_DELAY_MS: '0' };
  const node = shellQuote(process.execPath);
  const inTty = (args: string[]) => cli(t, args, { env }, ['script', '-qec', `${node} ${shellQuote(CLI)} ${args.map(shellQuote).join(' ')}`, '/dev/null']);

  const signTty = await inTty(['sign', '-k', sk, dir]);
  t.is(signTty.code, 0);
  t.regex(signTty.stdout, /\r\x1b\[2Ksigning \[#+\] 8\/8 100% .*\/s {2}ETA /);
  t.regex(signTty.stdout, /\r\x1b\[2Ksigned 8 narinfos \(8 new, 0 already signed\) in \d+\.\d s\r?\n$/, 'the bar is cleared before the summary');

  const verifyTty = await inTty(['verify', '-t', key.public, dir]);
  t.is(verifyTty.code, 0);
  t.regex(verifyTty.stdout, /verifying \[#+\] 8\/8 100%/);

  const plain = await cli(t, ['verify', '-t', key.public, dir], { env });
  t.is(plain.code, 0);
  t.regex(plain.stderr, /^checked 8 narinfos: 8 trusted in \d+\.\d s\n$/);
  t.false(/[\r\x1b]/.test(plain.stderr));
  const disabled = await cli(t, [], { env: { ...env, NARSIGN_NO_PROGRESS: '1' } }, ['script', '-qec', `${node} ${shellQuote(CLI)} verify -t ${shellQuote(key.public)} ${shellQuote(dir)}`, '/dev/null']);
  t.false(disabled.stdout.includes('verifying ['), 'NARSIGN_NO_PROGRESS=1 turns it off');
});

// ---- the cache lock ------------------------------------------------------------------------------

test('two signers at once on one cache: each narinfo ends with both signatures (the cache lock)', async (t) => {
  const dir = path.join(tempDir(), 'c');
  writeCache(dir, corpus().slice(0, 600));
  const [a, b] = [makeKey('first-1'), makeKey('second-1')];
  const keys = tempDir();
  const [ra, rb] = await Promise.all([
    cli(t, ['sign', '--no-fsync', '-k', writeSecret(keys, 'a', a.secret), dir]),
    cli(t, ['sign', '--no-fsync', '-k', writeSecret(keys, 'b', b.secret), dir]),
  ]);
  t.is(ra.code, 0, ra.stderr);
  t.is(rb.code, 0, rb.stderr);
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo'))) {
    const names = sigsOf(fs.readFileSync(path.join(dir, name), 'utf8')).map((s) => s.split(':')[0]);
    t.true(names.includes('first-1') && names.includes('second-1'), name);
  }
  t.false(fs.readdirSync(dir).some((n) => n.startsWith('.')), 'no lock or temporary file left');
});

test('sign waits for a live lock holder, saying so, and goes on once the lock is gone', async (t) => {
  const dir = exampleCache();
  const lock = path.join(dir, '.narsign.lock');
  // pid 1 is alive on this host: the lock is not stale
  fs.writeFileSync(lock, `1 ${os.hostname()} 2000-01-01T00:00:00.000Z\n`);
  const sk = writeSecret(tempDir(), 'sk', makeKey('waiter-1').secret);
  const child = spawn(process.execPath, [CLI, 'sign', '-k', sk, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill());
  let stderr = '';
  const waiting = new Promise<void>((resolve) => {
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes('waiting')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waiting;
  t.regex(stderr, /^narsign: warning: the cache is being signed by process 1 on .*; waiting for it to finish \(lock file \.narsign\.lock\)\n$/);
  t.true(sigsOf(fs.readFileSync(path.join(dir, F5_FILE), 'utf8')).every((s) => !s.startsWith('waiter-1:')), 'nothing signed while waiting');
  fs.rmSync(lock);
  t.is(await exited, 0);
  t.regex(lastLine(stderr), /^signed 8 narinfos \(8 new, 0 already signed\)/);
});

test('--shard on single files selects as in a directory', async (t) => {
  const dir = exampleCache();
  const files = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => path.join(dir, n));
  const counts = [];
  for (const shard of ['1/2', '2/2']) {
    const r = await cli(t, ['verify', '--json', '--shard', shard, '-t', CACHE_NIXOS_ORG_KEY, ...files]);
    const fromDir = await cli(t, ['verify', '--json', '--shard', shard, '-t', CACHE_NIXOS_ORG_KEY, dir]);
    const names = (x: string) => JSON.parse(x).files.map((f: { file: string }) => path.basename(f.file)).sort();
    t.deepEqual(names(r.stdout), names(fromDir.stdout), shard);
    counts.push(names(r.stdout).length);
  }
  t.is(counts[0] + counts[1], 8);
});

// ---- npm start ------------------------------------------------------------------------------------

test('npm start (scripts/demo.js): prints each command, runs them on a temp copy, leaves examples/cache as it was', async (t) => {
  const before = snapshot(EXAMPLES);
  const r = await cli(t, [], {}, [process.execPath, path.join(ROOT, 'scripts', 'demo.js')]);
  t.is(r.code, 0, r.stderr);
  for (const command of ['key generate', 'sign', 'verify', 'inspect']) t.regex(r.stdout, new RegExp(`^\\$ narsign ${command} `, 'm'));
  t.regex(r.stderr, /^checked 8 narinfos: 8 trusted in /m);
  t.regex(r.stdout, /^ {2}demo\.example\.org-1: valid$/m);
  t.deepEqual(snapshot(EXAMPLES), before);
  const work = /narsign demo, in (\S+)/.exec(r.stdout)![1];
  t.false(fs.existsSync(work), 'the temp copy is removed');
});
