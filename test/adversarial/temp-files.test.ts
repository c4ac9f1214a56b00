/**
 * Attack (issue 14, class 2): planted temporary files. A co-tenant who can write the cache plants,
 * at the name where the signer (often root) writes its temporary copy of a narinfo, a symlink to a
 * file it wants overwritten, or a hard link to one; the signer must not write through either, and
 * the narinfo must stay a regular file (never become the planted link). The old names were
 * predictable (`.<name>.narsign-<pid>.tmp`): these tests plant there, and a watcher that lists the
 * directory swaps every temporary file it sees for a link before it is renamed.
 *
 * In-process (so `process.pid` is the signer's pid, the name an attacker would guess), on the
 * backend the run tests (NARSIGN_BACKEND): the addon's writer or the node:fs one.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { signCache } from '../../lib/cache';
import { writeKeyFile } from '../../lib/key-files';
import { generateSecretKey } from '../../lib/keys';
import { fixtureTexts, makeCache, makeGeneratedCache, tempDir } from '../helpers/cache-dir';

const secret = generateSecretKey('adversary-test-1');
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

test('a co-tenant listing the directory swaps each temporary file for a link: nothing is written through it and no swapped temp is renamed into place', async (t) => {
  const dir = makeGeneratedCache(300);
  const v = victims();
  let swapped = 0;
  // The attacker: every temporary file that appears is replaced by a symlink to the victim.
  const watcher = fs.watch(dir, (_event, name) => {
    if (typeof name !== 'string' || !name.includes('.narsign-') || !name.endsWith('.tmp')) return;
    const file = path.join(dir, name);
    try {
      if (!fs.lstatSync(file).isFile()) return;
      fs.unlinkSync(file);
      fs.symlinkSync(v.symlinked, file);
      swapped += 1;
    } catch {
      /* already renamed */
    }
  });
  try {
    // Durable and in batches of 20: the run waits for flushes between creating and renaming.
    await signCache(dir, { keys: secret, batchSize: 20 });
  } finally {
    watcher.close();
  }
  t.log(`temporary files swapped by the attacker: ${swapped}`);
  v.intact(t);
  for (const name of narinfos(dir)) t.true(fs.lstatSync(path.join(dir, name)).isFile(), `${name} is still a regular file`);
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
