/**
 * Key files on disk (lib/key-files.ts, and the CLI that reads and writes them): a secret key file
 * others can read is warned about by name; key files narsign writes are 0600 (secret) and 0644
 * (public) whatever the umask; symlinks, FIFOs, devices, directories and oversized files get a
 * clear coded error (or, for a symlink to a good key, just work).
 *
 * Oracles: modes set and read with node:fs, public keys derived with node:crypto.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NarsignError } from '../lib/errors';
import { MAX_KEY_FILE_BYTES, readKeyFile } from '../lib/key-files';
import { toPublicKey } from '../lib/keys';
import { fixtureTexts, makeCache, tempDir } from './helpers/cache-dir';
import { nodePublicKeyOfSeed, splitNixString } from './helpers/oracles';
import { CLI, runCli } from './helpers/run-cli';
import { SecretScanner } from './helpers/secret-scan';
import { keyVectors } from './helpers/vectors';

const C = keyVectors().find((v) => v.section === 'C')!;
const SECRET = C.secretKey!;
const PUBLIC = C.publicKey!;
const scanner = new SecretScanner().addKeyString('section C', SECRET);

/** A file holding `content` with exactly `mode` (chmod after writing: the umask does not interfere). */
function file(dir: string, name: string, content: string, mode = 0o600): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  fs.chmodSync(p, mode);
  return p;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof NarsignError ? error.code : `not a NarsignError: ${String(error)}`;
  }
  return undefined;
}

test('the documented key-file limit is 64 KiB', (t) => {
  t.is(MAX_KEY_FILE_BYTES, 64 * 1024);
});

test('readKeyFile warns about a secret key file group or others can read — naming the file, never the key — and only then', (t) => {
  const dir = tempDir();
  for (const mode of [0o600, 0o400, 0o700]) {
    const warnings: string[] = [];
    t.is(readKeyFile(file(dir, `ok-${mode.toString(8)}`, SECRET, mode), { secret: true, warn: (m) => warnings.push(m) }), SECRET);
    t.deepEqual(warnings, [], mode.toString(8));
  }
  for (const mode of [0o640, 0o604, 0o660, 0o644, 0o666, 0o610, 0o601]) {
    const warnings: string[] = [];
    const p = file(dir, `open-${mode.toString(8)}`, SECRET, mode);
    t.is(readKeyFile(p, { secret: true, warn: (m) => warnings.push(m) }), SECRET);
    t.is(warnings.length, 1, mode.toString(8));
    t.true(warnings[0].includes(p), warnings[0]);
    t.true(warnings[0].includes(mode.toString(8)), warnings[0]);
    t.deepEqual(scanner.scan('warning', warnings[0]), []);
  }
  // A public (trusted) key file is not a secret: no warning.
  const warnings: string[] = [];
  readKeyFile(file(dir, 'trusted.pub', PUBLIC, 0o644), { warn: (m) => warnings.push(m) });
  t.deepEqual(warnings, []);
});

test('readKeyFile follows a symlink (secret managers link keys into place) and checks the target’s mode', (t) => {
  const dir = tempDir();
  const target = file(dir, 'target.sec', SECRET, 0o600);
  const link = path.join(dir, 'link.sec');
  fs.symlinkSync(target, link);
  const chain = path.join(dir, 'chain.sec');
  fs.symlinkSync(link, chain);
  const warnings: string[] = [];
  t.is(readKeyFile(link, { secret: true, warn: (m) => warnings.push(m) }), SECRET);
  t.is(readKeyFile(chain, { secret: true, warn: (m) => warnings.push(m) }), SECRET);
  t.deepEqual(warnings, []);
  fs.chmodSync(target, 0o644);
  readKeyFile(link, { secret: true, warn: (m) => warnings.push(m) });
  t.is(warnings.length, 1);
  t.true(warnings[0].includes(link), 'the warning names the path the user gave');
});

test('readKeyFile refuses with ERR_KEY_FILE what is not a readable regular file', (t) => {
  const dir = tempDir();
  const dangling = path.join(dir, 'dangling.sec');
  fs.symlinkSync(path.join(dir, 'nowhere'), dangling);
  const loop = path.join(dir, 'loop.sec');
  fs.symlinkSync(loop, loop);
  const toDir = path.join(dir, 'to-dir.sec');
  fs.symlinkSync(dir, toDir);
  const toNull = path.join(dir, 'to-null.sec');
  fs.symlinkSync('/dev/null', toNull);
  for (const [what, p] of [
    ['a missing file', path.join(dir, 'missing.sec')],
    ['a dangling symlink', dangling],
    ['a symlink loop', loop],
    ['a directory', dir],
    ['a symlink to a directory', toDir],
    ['a character device', '/dev/zero'],
    ['a symlink to /dev/null', toNull],
    ['a path through a file', path.join(file(dir, 'plain', SECRET), 'x')],
  ]) {
    t.is(codeOf(() => readKeyFile(p, { secret: true, warn: () => {} })), 'ERR_KEY_FILE', what);
    const error = t.throws(() => readKeyFile(p))!;
    t.true(error.message.includes(p), `${what}: the message names the file: ${error.message}`);
  }
});

test('readKeyFile: a file of exactly 64 KiB is read; one byte more, or a huge sparse file, is ERR_KEY_FILE_TOO_LARGE', (t) => {
  const dir = tempDir();
  // A key followed by newlines up to the limit: Nix's reader and narsign's trim both accept it.
  const exact = file(dir, 'exact.sec', SECRET + '\n'.repeat(64 * 1024 - SECRET.length));
  t.is(fs.statSync(exact).size, 64 * 1024);
  t.is(toPublicKey(readKeyFile(exact, { secret: true })), PUBLIC);
  const over = file(dir, 'over.sec', SECRET + '\n'.repeat(64 * 1024 - SECRET.length + 1));
  t.is(codeOf(() => readKeyFile(over, { secret: true })), 'ERR_KEY_FILE_TOO_LARGE');
  const sparse = path.join(dir, 'sparse.sec');
  fs.writeFileSync(sparse, SECRET);
  fs.truncateSync(sparse, 1024 ** 3);
  const error = t.throws(() => readKeyFile(sparse, { secret: true }))! as NarsignError;
  t.is(error.code, 'ERR_KEY_FILE_TOO_LARGE');
  t.true(error.message.includes(sparse) && error.message.includes(String(64 * 1024)), error.message);
  fs.rmSync(sparse);
});

// ---------------------------------------------------------------------------------------------
// Through the CLI.

test('CLI: sign -k and key public FILE warn (on stderr, naming the file) about a key file others can read, and still work', async (t) => {
  const dir = tempDir();
  const open = file(dir, 'open.sec', `${SECRET}\n`, 0o640);
  const closed = file(dir, 'closed.sec', `${SECRET}\n`, 0o600);
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  makeCache(fixtureTexts(['F1']), cache);
  const [signOpen, signClosed, publicOpen, publicClosed] = await Promise.all([
    runCli(['sign', '--dry-run', '-k', open, cache]),
    runCli(['sign', '--dry-run', '-k', closed, cache]),
    runCli(['key', 'public', open]),
    runCli(['key', 'public', closed]),
  ]);
  for (const r of [signOpen, publicOpen]) {
    t.is(r.code, 0, r.stderr);
    const warning = r.stderr.split('\n').filter((l) => l.startsWith('narsign: warning: '));
    t.is(warning.length, 1, r.stderr);
    t.true(warning[0].includes(open), warning[0]);
    t.true(warning[0].includes('640'), warning[0]);
  }
  for (const r of [signClosed, publicClosed]) {
    t.is(r.code, 0, r.stderr);
    t.notRegex(r.stderr, /warning/);
  }
  t.is(publicOpen.stdout.trim(), PUBLIC);
  t.is(publicClosed.stdout.trim(), PUBLIC);
  for (const r of [signOpen, signClosed, publicOpen, publicClosed]) t.deepEqual(scanner.scan('stderr', r.stderr), []);
});

test('CLI: key generate writes the secret file 0600 and the public file 0644 whatever the umask', async (t) => {
  const dir = tempDir();
  const runs = await Promise.all(
    ['000', '022', '077', '002'].map((umask) =>
      runCli([], {
        command: ['sh', '-c', `umask ${umask}; exec "$0" "$1" key generate test-${umask} --secret-file "$2" --public-file "$3"`, process.execPath, CLI, path.join(dir, `${umask}.sec`), path.join(dir, `${umask}.pub`)],
      }).then((r) => ({ umask, r })),
    ),
  );
  for (const { umask, r } of runs) {
    t.is(r.code, 0, `umask ${umask}: ${r.stderr}`);
    t.is(r.stdout, '', 'nothing printed: the secret went to the file');
    t.is(fs.statSync(path.join(dir, `${umask}.sec`)).mode & 0o7777, 0o600, `umask ${umask}: secret file`);
    t.is(fs.statSync(path.join(dir, `${umask}.pub`)).mode & 0o7777, 0o644, `umask ${umask}: public file`);
    const secret = fs.readFileSync(path.join(dir, `${umask}.sec`), 'utf8');
    const pub = fs.readFileSync(path.join(dir, `${umask}.pub`), 'utf8');
    const { name, bytes } = splitNixString(secret);
    t.is(name, `test-${umask}`);
    t.is(bytes.length, 64);
    // node:crypto derives the public key from the seed: the pair is consistent.
    t.is(pub, `test-${umask}:${nodePublicKeyOfSeed(bytes.subarray(0, 32)).toString('base64')}`);
    t.deepEqual(bytes.subarray(32), nodePublicKeyOfSeed(bytes.subarray(0, 32)));
    // No temporary file is left next to them.
    t.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith(`.${umask}`)), []);
  }
  // The umask really was in effect for the shell (the control: a plain file it creates).
  const probe = path.join(dir, 'probe');
  execFileSync('sh', ['-c', `umask 000; : > "${probe}"`]);
  t.is(fs.statSync(probe).mode & 0o777, 0o666);
});

test('CLI: key generate never writes through a symlink: refused without --force, the link replaced (target untouched) with it', async (t) => {
  const dir = tempDir();
  const target = file(dir, 'target', 'precious\n', 0o644);
  const link = path.join(dir, 'link.sec');
  fs.symlinkSync(target, link);
  const dangling = path.join(dir, 'dangling.sec');
  fs.symlinkSync(path.join(dir, 'elsewhere'), dangling);

  const refused = await runCli(['key', 'generate', 'x-1', '--secret-file', link, '--public-file', path.join(dir, 'x.pub')]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /^narsign: error: .*already exists/m);
  const refusedDangling = await runCli(['key', 'generate', 'x-1', '--secret-file', dangling, '--public-file', path.join(dir, 'y.pub')]);
  t.not(refusedDangling.code, 0, 'a dangling symlink is not followed to create its target');
  t.false(fs.existsSync(path.join(dir, 'elsewhere')));
  t.false(fs.existsSync(path.join(dir, 'x.pub')) || fs.existsSync(path.join(dir, 'y.pub')), 'no half-made pair');
  t.is(fs.readFileSync(target, 'utf8'), 'precious\n');

  const forced = await runCli(['key', 'generate', 'x-1', '--secret-file', link, '--public-file', path.join(dir, 'x.pub'), '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.is(fs.readFileSync(target, 'utf8'), 'precious\n', 'the symlink target is untouched');
  t.is(fs.statSync(target).mode & 0o777, 0o644);
  const st = fs.lstatSync(link);
  t.true(st.isFile(), 'the link itself was replaced by the key file');
  t.is(st.mode & 0o777, 0o600);
});

test('CLI: a dangling symlink, a FIFO, a directory and an oversized file as -k or key public FILE: one coded error line, exit 4, no hang', async (t) => {
  const dir = tempDir();
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  makeCache(fixtureTexts(['F1']), cache);
  const dangling = path.join(dir, 'dangling.sec');
  fs.symlinkSync(path.join(dir, 'nowhere'), dangling);
  const fifo = path.join(dir, 'fifo.sec');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const big = file(dir, 'big.sec', `${SECRET}\n`.repeat(1000));
  const cases: Array<[string, string, RegExp]> = [
    // A name that does not open may be a pasted key: the option is named, not the value.
    ['a dangling symlink', dangling, /cannot read the key file given to (key public|-k): no such file \(ENOENT\)/],
    ['a FIFO with no writer', fifo, /not a regular file/],
    ['a directory', dir, /not a regular file/],
    ['an oversized file', big, /at most 65536/],
  ];
  const runs = await Promise.all(
    cases.flatMap(([what, p]) => [
      runCli(['key', 'public', p]).then((r) => ({ what: `key public (${what})`, p, r })),
      runCli(['sign', '-k', p, cache]).then((r) => ({ what: `sign -k (${what})`, p, r })),
    ]),
  );
  for (const [i, { what, p, r }] of runs.entries()) {
    t.is(r.signal, null, `${what}: killed — it hung`);
    t.is(r.code, 4, `${what}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    t.is(lines.length, 1, `${what}: one line: ${r.stderr}`);
    t.true(lines[0].startsWith('narsign: error: ') && lines[0].includes(p) === (p !== dangling), `${what}: ${lines[0]}`);
    t.regex(lines[0], cases[Math.floor(i / 2)][2], what);
    t.is(r.stdout, '');
    t.deepEqual(scanner.scan(what, r.stderr), []);
  }
  t.is(fs.readdirSync(cache).filter((n) => n.endsWith('.narinfo')).map((n) => fs.readFileSync(path.join(cache, n), 'utf8')).join(''), fixtureTexts(['F1']).join(''), 'nothing was signed');
});
