/**
 * Attack (issue 14, class 2): planted temporary files. A co-tenant who can write the cache plants,
 * at the name where the signer (often root) writes its temporary copy of a narinfo, a symlink to a
 * file it wants overwritten, or a hard link to one; the signer must not write through either, and
 * the narinfo must stay a regular file (never become the planted link). The old names were
 * predictable (`.<name>.narsign-<pid>.tmp`): these tests plant there. Later versions checked, before
 * renaming, that the name still held their file, which left a window between the check and the
 * rename; now the temporary files live in a private directory (lib/private-dir.ts) and an attacker
 * of another uid that swaps everything new in the cache cannot reach them.
 *
 * In-process (so `process.pid` is the signer's pid, the name an attacker would guess), on the
 * backend the run tests (NARSIGN_BACKEND): the addon's writer or the node:fs one.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { signCache } from '../../lib/cache';
import { writeKeyFile } from '../../lib/key-files';
import { generateSecretKey, toPublicKey } from '../../lib/keys';
import { fixtureTexts, makeCache, makeGeneratedCache, oracleFingerprint, tempDir } from '../helpers/cache-dir';
import { nodeVerify, splitNixString } from '../helpers/oracles';

const secret = generateSecretKey('adversary-test-1');
const publicKey = splitNixString(toPublicKey(secret)).bytes;
const narinfos = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo') && !n.startsWith('.'));

/** Files outside the cache (same file system, so hard links work) that the attacker wants overwritten. */
function victims() {
  const dir = tempDir('narsign-victim-');
  const symlinked = path.join(dir, 'shadow');
  const hardlinked = path.join(dir, 'passwd');
  fs.writeFileSync(symlinked, 'root:precious:0:0\n', { mode: 0o600 });
  fs.writeFileSync(hardlinked, 'root:x:0:0:precious\n', { mode: 0o644 });
  return { symlinked, hardlinked, intact: (t: import('ava').ExecutionContext) => {
    t.is(fs.readFileSync(symlinked, 'utf8'), 'root:precious:0:0\n', 'the symlink target was not written');
    t.is(fs.readFileSync(hardlinked, 'utf8'), 'root:x:0:0:precious\n', 'the hard-linked file was not written');
  } };
}

test('symlinks and hard links planted at the predictable temporary names are never written through', async (t) => {
  const dir = makeGeneratedCache(40);
  const v = victims();
  const names = narinfos(dir);
  names.forEach((name, i) => {
    const planted = path.join(dir, `.${name}.narsign-${process.pid}.tmp`);
    if (i % 2) fs.symlinkSync(v.symlinked, planted);
    else fs.linkSync(v.hardlinked, planted);
  });
  const r = await signCache(dir, { keys: secret });
  t.like(r, { total: names.length, signed: names.length, failed: 0 });
  v.intact(t);
  for (const name of names) {
    const stat = fs.lstatSync(path.join(dir, name));
    t.true(stat.isFile() && stat.nlink === 1, `${name} is a regular file of its own`);
    t.regex(fs.readFileSync(path.join(dir, name), 'utf8'), /^Sig: adversary-test-1:/m);
  }
});

/**
 * The attacker, as another uid (nobody) in a cache directory everyone may write: it lists the
 * directory over and over and, for every new name that is not a narinfo (nor the lock), swaps its own
 * symlink onto it, tries the same on every entry inside it, and moves a private directory away to
 * put its link in its place. Runs until `stop` exists (bounded: 2000 rounds at most per second of a
 * 60 s cap); prints what it saw and did as JSON.
 */
const ATTACKER = `
const fs = require('fs'), path = require('path');
const [dir, victim, stop] = process.argv.slice(1);
const seen = new Set(), counts = { names: 0, privateDirs: 0, swapped: 0, movedAway: 0, insideEACCES: 0, insideSwapped: 0, errors: {} };
const note = (e) => { counts.errors[e.code] = (counts.errors[e.code] || 0) + 1; };
let n = 0;
const link = () => { const l = path.join(dir, '.evil-' + process.pid + '-' + (n++)); fs.symlinkSync(victim, l); return l; };
const deadline = Date.now() + 60000;
for (let round = 0; round < 2000000 && Date.now() < deadline && !fs.existsSync(stop); round++) {
  let names;
  try { names = fs.readdirSync(dir); } catch (e) { note(e); continue; }
  for (const name of names) {
    if (name.endsWith('.narinfo') || name === '.narsign.lock' || name.startsWith('.evil-') || name.endsWith('.moved') || seen.has(name)) continue;
    seen.add(name);
    counts.names++;
    const file = path.join(dir, name);
    if (name.startsWith('.narsign-')) counts.privateDirs++;
    try { fs.renameSync(link(), file); counts.swapped++; } catch (e) { note(e); }
    try {
      for (const inner of fs.readdirSync(file)) {
        try { fs.renameSync(link(), path.join(file, inner)); counts.insideSwapped++; } catch (e) { note(e); }
      }
    } catch (e) { if (e.code === 'EACCES') counts.insideEACCES++; else note(e); }
    try { fs.renameSync(file, file + '.moved'); fs.renameSync(link(), file); counts.movedAway++; } catch (e) { note(e); }
  }
}
process.stdout.write(JSON.stringify(counts));
`;

const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0 && process.geteuid?.() === 0;

(hasSetpriv ? test : test.skip)('a co-tenant (another uid) swapping every new name in the cache for its links cannot reach the temporary files: each narinfo is a regular file, validly signed, nothing written through', async (t) => {
  const dir = makeGeneratedCache(600);
  fs.chmodSync(dir, 0o777); // the co-tenant may write the cache (no sticky bit)
  const originals = new Map(narinfos(dir).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
  const v = victims();
  const stop = path.join(tempDir('narsign-stop-'), 'stop');
  const attacker = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', ATTACKER, dir, v.symlinked, stop], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  attacker.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  attacker.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => attacker.on('close', resolve));
  // The attacker is listing before the first private directory is made.
  await new Promise((resolve) => setTimeout(resolve, 500));
  let r;
  try {
    // Durable and in batches of 20: each batch waits for its flush between creating and renaming.
    r = await signCache(dir, { keys: secret, batchSize: 20 });
  } finally {
    fs.writeFileSync(stop, '');
  }
  t.is(await exited, 0, err);
  const counts = JSON.parse(out) as { privateDirs: number; swapped: number; movedAway: number; insideEACCES: number; insideSwapped: number; errors: Record<string, number> };
  t.log(`attacker: ${JSON.stringify(counts)}`);
  // The attacker may win the moment between making a private directory and opening it: that batch
  // is refused (ERR_TEMP_DIR), nothing of it written. Every other narinfo is signed.
  t.is(r.total, 600);
  t.is(r.signed + r.failed, 600);
  t.true(r.signed > 0);
  const refused = new Set(r.failures.map((f) => path.basename(f.file)));
  t.deepEqual(r.failures.filter((f) => f.code !== 'ERR_TEMP_DIR'), [], 'the only failures are refused batches');
  t.true(counts.privateDirs > 0, 'the attacker saw private directories');
  t.is(counts.insideSwapped, 0, 'nothing inside a private directory was swapped');
  t.true(counts.insideEACCES > 0, 'listing a private directory was refused to the attacker (EACCES)');
  v.intact(t);
  for (const [name, original] of originals) {
    const file = path.join(dir, name);
    t.true(fs.lstatSync(file).isFile(), `${name} is a regular file`);
    const text = fs.readFileSync(file, 'utf8');
    if (refused.has(name)) {
      t.is(text, original, `${name}: refused, unchanged`);
      continue;
    }
    const sigs = text.split('\n').filter((l) => l.startsWith('Sig: adversary-test-1:'));
    t.is(sigs.length, 1, `${name}: one signature`);
    t.true(nodeVerify(publicKey, splitNixString(sigs[0].slice(5)).bytes, oracleFingerprint(original)), `${name}: the signature is valid`);
  }
});

/** A private directory `name` as a dead run would leave it: 0700, with a temporary file inside. */
function deadRunDir(dir: string, name: string, mode = 0o700): string {
  const file = path.join(dir, name);
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, '.x.narinfo.narsign-999999999-0123456789abcdef.tmp'), 'partial');
  fs.chmodSync(file, mode);
  return file;
}

test('a dead run\'s private directory is removed by the next run; one not ours (another owner, mode 0777, a link) is left with a warning', async (t) => {
  const dir = makeGeneratedCache(3);
  const outside = tempDir('narsign-outside-');
  fs.writeFileSync(path.join(outside, 'keep'), 'precious');
  const dead = deadRunDir(dir, '.narsign-999999999-0000000000000001');
  const open = deadRunDir(dir, '.narsign-999999999-0000000000000002', 0o777);
  const link = path.join(dir, '.narsign-999999999-0000000000000003');
  fs.symlinkSync(outside, link);
  const foreign = deadRunDir(dir, '.narsign-999999999-0000000000000004');
  const owned = process.geteuid?.() === 0;
  if (owned) fs.chownSync(foreign, 65534, 65534);
  const live = deadRunDir(dir, `.narsign-${process.ppid}-0000000000000005`);
  const warnings: string[] = [];
  const r = await signCache(dir, { keys: secret, onWarning: (m) => warnings.push(m) });
  t.like(r, { total: 3, signed: 3, failed: 0 });
  t.false(fs.existsSync(dead), 'the dead run\'s private directory is gone');
  t.true(fs.existsSync(path.join(open, '.x.narinfo.narsign-999999999-0123456789abcdef.tmp')), 'a 0777 one is left as it is');
  t.true(fs.lstatSync(link).isSymbolicLink(), 'a link is left');
  t.is(fs.readFileSync(path.join(outside, 'keep'), 'utf8'), 'precious', 'nothing behind the link was removed');
  t.true(fs.existsSync(live), 'a live run\'s is left');
  for (const name of [open, link, ...(owned ? [foreign] : [])]) t.true(warnings.some((w) => w.includes(name)), `a warning names ${name}: ${warnings.join(' | ')}`);
  if (owned) t.true(fs.existsSync(path.join(foreign, '.x.narinfo.narsign-999999999-0123456789abcdef.tmp')), 'another owner\'s is left');
});

test('a narinfo that is a symlink out of the cache is neither signed through nor replaced', async (t) => {
  const [text] = fixtureTexts(['F1']);
  const dir = makeCache([]);
  const outsideDir = tempDir('narsign-outside-');
  const name = `${/\/nix\/store\/([0-9a-z]{32})-/.exec(text)![1]}.narinfo`;
  const outside = path.join(outsideDir, name);
  fs.writeFileSync(outside, text, { mode: 0o600 });
  fs.symlinkSync(outside, path.join(dir, name));
  const r = await signCache(dir, { keys: secret });
  t.like(r, { total: 1, signed: 0, failed: 1 });
  t.is(r.failures[0].code, 'ERR_NARINFO_SYMLINK');
  t.is(fs.readFileSync(outside, 'utf8'), text, 'the file the link points to is unchanged');
  t.true(fs.lstatSync(path.join(dir, name)).isSymbolicLink(), 'the link is left as it was');
});

test('key generate: a symlink planted at the predictable temporary name neither stops it nor is written through', (t) => {
  const dir = tempDir('narsign-keys-');
  const v = victims();
  const file = path.join(dir, 'secret.key');
  fs.symlinkSync(v.symlinked, path.join(dir, `.secret.key.narsign-${process.pid}.tmp`));
  writeKeyFile(file, 'x-1:key', { mode: 0o600 });
  t.is(fs.readFileSync(file, 'utf8'), 'x-1:key');
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  v.intact(t);
});
