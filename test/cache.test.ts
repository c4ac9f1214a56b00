/**
 * signCache / verifyCache on real narinfos (the 978-file cache.nixos.org corpus and the fixtures).
 * Oracles: the files' own cache.nixos.org-1 signatures, node:crypto, and the original bytes.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signCache, verifyCache, verifyNarinfoFiles } from '../lib/cache';
import { generateSecretKey, parseSecretKey, toPublicKey } from '../lib/keys';
import { inShard } from '../lib/shard';
import { signNarinfo } from '../lib/signatures';
import { corpusCache, fixtureTexts, makeCache, snapshot, tempDir } from './helpers/cache-dir';
import { nodeVerify, splitNixString } from './helpers/oracles';
import { CACHE_NIXOS_ORG_KEY, corpus, fixture } from './helpers/vectors';

const secret = generateSecretKey('test-cache-1');
const publicKey = toPublicKey(secret);
const other = generateSecretKey('test-cache-2');

/** The Sig lines of one key in a narinfo text, read without narsign's parser. */
function sigsOf(text: string, keyName: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`Sig: ${keyName}:`)).map((l) => l.slice(5));
}

test('signCache signs all 978 real narinfos with a minimal edit; node:crypto verifies every new signature over the fingerprint the original cache.nixos.org-1 signature signs', async (t) => {
  const dir = corpusCache();
  const before = snapshot(dir);
  const result = await signCache(dir, { keys: secret, durable: false });
  t.like(result, { total: 978, signed: 978, alreadySigned: 0, failed: 0, skipped: 0 });
  const pub = splitNixString(publicKey).bytes;
  const nixos = splitNixString(CACHE_NIXOS_ORG_KEY).bytes;
  let checked = 0;
  for (const [name, bytes] of snapshot(dir)) {
    if (!name.endsWith('.narinfo')) continue;
    const text = bytes.toString('utf8');
    const original = before.get(name)!.toString('utf8');
    const ours = sigsOf(text, 'test-cache-1');
    t.is(ours.length, 1);
    // Removing our one line gives back the original, byte for byte.
    t.is(text.replace(`Sig: ${ours[0]}\n`, ''), original);
    // Which message did we sign? The one cache.nixos.org-1's own signature is valid for.
    const nixosSig = splitNixString(sigsOf(original, 'cache.nixos.org-1')[0]).bytes;
    const ourSig = splitNixString(ours[0]).bytes;
    // The fingerprint, rebuilt here from the text (Nix's rules, independently of lib/fingerprint.ts):
    const field = (n: string) => new RegExp(`^${n}: (.*)$`, 'm').exec(original)?.[1] ?? '';
    const refs = field('References').split(' ').filter(Boolean).map((r) => `/nix/store/${r}`).sort().join(',');
    const fp = Buffer.from(`1;${field('StorePath')};${field('NarHash')};${field('NarSize')};${refs}`);
    t.true(nodeVerify(nixos, nixosSig, fp), `${name}: cache.nixos.org-1 over the rebuilt fingerprint`);
    t.true(nodeVerify(pub, ourSig, fp), `${name}: our signature over the same fingerprint`);
    checked += 1;
  }
  t.is(checked, 978);
  const verified = await verifyCache(dir, { trustedKeys: publicKey });
  t.like(verified, { total: 978, trusted: 978, untrusted: 0, corrupt: 0, failed: 0 });
});

test('rerunning signCache changes no byte and no mtime; force rewrites', async (t) => {
  const dir = corpusCache();
  await signCache(dir, { keys: secret, durable: false });
  const first = snapshot(dir);
  const mtimes = fs.readdirSync(dir).map((n) => fs.statSync(path.join(dir, n)).mtimeMs);
  const again = await signCache(dir, { keys: secret });
  t.like(again, { total: 978, signed: 0, alreadySigned: 978 });
  t.deepEqual(snapshot(dir), first);
  t.deepEqual(fs.readdirSync(dir).map((n) => fs.statSync(path.join(dir, n)).mtimeMs), mtimes);
  const forced = await signCache(dir, { keys: secret, force: true, durable: false });
  t.is(forced.signed, 978);
  t.deepEqual(snapshot(dir), first, 'same deterministic signatures');
});

test('two keys, then rotation: --remove drops the old key, --require-trusted keeps tampered entries out', async (t) => {
  const dir = makeCache(fixtureTexts(['F1', 'F2', 'F3', 'F4', 'F6', 'X1', 'X2']));
  await signCache(dir, { keys: [secret, other], durable: false });
  const both = await verifyCache(dir, { trustedKeys: [publicKey, toPublicKey(other)], sigsNeeded: 2 });
  t.is(both.trusted, 7);
  // Tamper with one narinfo's NarSize: its signatures no longer hold.
  const victim = fs.readdirSync(dir).find((n) => n.endsWith('.narinfo'))!;
  const file = path.join(dir, victim);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^NarSize: (\d+)$/m, (_m, n) => `NarSize: ${Number(n) + 1}`));
  const next = generateSecretKey('test-cache-3');
  const rotated = await signCache(dir, { keys: next, remove: ['test-cache-1'], requireTrusted: publicKey, durable: false });
  t.like(rotated, { total: 7, signed: 6, skipped: 1 });
  t.is(rotated.skippedFiles[0].file, file);
  for (const [name, bytes] of snapshot(dir)) {
    if (!name.endsWith('.narinfo')) continue;
    const text = bytes.toString('utf8');
    t.is(sigsOf(text, 'test-cache-1').length, name === victim ? 1 : 0, name);
    t.is(sigsOf(text, 'test-cache-3').length, name === victim ? 0 : 1, name);
  }
  const result = await verifyCache(dir, { trustedKeys: toPublicKey(next) });
  t.like(result, { trusted: 6, untrusted: 1 });
});

test('shards 1/N … N/N together sign every narinfo exactly once', async (t) => {
  const dir = corpusCache();
  const counts: number[] = [];
  for (let i = 1; i <= 3; i += 1) counts.push((await signCache(dir, { keys: secret, shard: `${i}/3`, durable: false })).total);
  t.is(counts.reduce((a, b) => a + b, 0), 978);
  t.true(counts.every((c) => c > 200), `balanced enough: ${counts}`);
  const result = await verifyCache(dir, { trustedKeys: publicKey });
  t.is(result.trusted, 978);
  // Membership is a function of the hash part alone.
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo'))) {
    t.is([1, 2, 3].filter((i) => inShard(name, { index: i, count: 3 })).length, 1);
  }
});

test('dryRun reports what would change and writes nothing', async (t) => {
  const dir = corpusCache();
  const before = snapshot(dir);
  const result = await signCache(dir, { keys: secret, dryRun: true });
  t.like(result, { total: 978, signed: 978 });
  t.deepEqual(snapshot(dir), before);
});

test('verifyCache on real data: F5 untrusted, X3 untrusted, corrupt and malformed files counted apart', async (t) => {
  const dir = makeCache(fixtureTexts(['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'X1']));
  // X3 is a tampered F2 with the same hash part: give it its own cache.
  const x3 = makeCache([fixture('X3').text]);
  const fromCorpus = corpus()[0];
  fs.writeFileSync(path.join(dir, 'corrupt0000000000000000000000000.narinfo'), 'StorePath: /nix/store/nothing\n');
  // A malformed signature under the trusted name: Nix fails the path.
  const malformed = fromCorpus.replace(/^Sig: cache\.nixos\.org-1:.*$/m, 'Sig: cache.nixos.org-1:AAAA');
  const mdir = makeCache([malformed]);
  const r = await verifyCache(dir, { trustedKeys: CACHE_NIXOS_ORG_KEY });
  t.like(r, { total: 8, trusted: 6, untrusted: 1, corrupt: 1, failed: 0 });
  t.true(r.problems.some((p) => p.file.endsWith('xi429w4ddvb1r77978hm7jfb2jsn559r.narinfo') && p.code === 'ERR_NOT_TRUSTED'));
  t.true(r.problems.some((p) => p.code === 'ERR_NARINFO_CORRUPT' && p.file.includes('corrupt')));
  t.like(await verifyCache(x3, { trustedKeys: CACHE_NIXOS_ORG_KEY }), { total: 1, untrusted: 1 });
  t.like(await verifyCache(mdir, { trustedKeys: CACHE_NIXOS_ORG_KEY }), { total: 1, failed: 1 });
});

test('a narinfo moved under another name is refused, not trusted', async (t) => {
  const dir = makeCache([fixture('F1').text]);
  fs.renameSync(path.join(dir, 'syd87l2rxw8cbsxmxl853h0r6pdwhwjr.narinfo'), path.join(dir, '00000000000000000000000000000000.narinfo'));
  const r = await verifyCache(dir, { trustedKeys: CACHE_NIXOS_ORG_KEY });
  t.like(r, { total: 1, trusted: 0, failed: 1 });
  t.is(r.problems[0].code, 'ERR_NARINFO_FILE_NAME');
});

test('a corrupt narinfo fails alone; the rest is signed; nothing half-written', async (t) => {
  const dir = makeCache(fixtureTexts(['F1', 'F2']));
  const bad = path.join(dir, 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.narinfo');
  fs.writeFileSync(bad, 'StorePath: /nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-x\nURL: nar/x\n\nNarHash: x\n');
  const badBytes = fs.readFileSync(bad);
  const r = await signCache(dir, { keys: secret });
  t.like(r, { total: 3, signed: 2, failed: 1 });
  t.is(r.failures[0].file, bad);
  t.is(r.failures[0].code, 'ERR_NARINFO_CORRUPT');
  t.deepEqual(fs.readFileSync(bad), badBytes);
  t.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.')), []);
});

test('I/O failures fail their file alone, with the errno and the syscall, the same on both backends', async (t) => {
  // (Run once per backend by CI: on the native addon files are read and replaced on the pool by
  // native/files.cc, on the fallback with fs.*Sync; both must report the same codes and words.)
  const dir = makeCache(fixtureTexts(['F1', 'F2', 'F3']));
  const [first, second, third] = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).sort();
  // `first` is a symlink to a copy outside the cache: signing never reads or replaces through a link.
  const outside = path.join(tempDir(), first);
  fs.renameSync(path.join(dir, first), outside);
  fs.symlinkSync(outside, path.join(dir, first));
  // `second` is over the 4 MiB narinfo limit (the addon leaves such files to the JS reader).
  const big = path.join(dir, second);
  fs.appendFileSync(big, `X-Padding: ${'x'.repeat(4 * 1024 * 1024)}\n`);
  const before = { first: fs.readFileSync(outside), big: fs.readFileSync(big) };
  const r = await signCache(dir, { keys: secret });
  t.like(r, { total: 3, signed: 1, failed: 2 });
  const byFile = Object.fromEntries(r.failures.map((f) => [path.basename(f.file), f]));
  t.like(byFile[first], { code: 'ERR_NARINFO_SYMLINK' });
  t.is(byFile[second].code, 'ERR_NARINFO_LIMIT');
  t.deepEqual(fs.readFileSync(outside), before.first);
  t.true(fs.lstatSync(path.join(dir, first)).isSymbolicLink());
  t.deepEqual(fs.readFileSync(big), before.big);
  t.is(sigsOf(fs.readFileSync(path.join(dir, third), 'utf8'), 'test-cache-1').length, 1);
  t.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.')), []);

  // Reading: a file that is missing, and one that is a directory.
  const missing = path.join(dir, 'missing.narinfo');
  const sub = path.join(dir, 'sub.narinfo');
  fs.mkdirSync(sub);
  const v = await verifyNarinfoFiles([path.join(dir, third), missing, sub], { trustedKeys: publicKey });
  t.like(v, { total: 3, trusted: 1, failed: 2 });
  t.like(v.problems.find((p) => p.file === missing), { code: 'ERR_IO_ENOENT', message: `${missing}: no such file or directory (open)` });
  t.like(v.problems.find((p) => p.file === sub), { code: 'ERR_NOT_REGULAR_FILE', message: `${sub}: not a regular file (a directory)` });
});

test('abort mid-run: rejects with ERR_ABORTED; every file is the original or fully signed; no temp files', async (t) => {
  const dir = corpusCache();
  const before = snapshot(dir);
  const controller = new AbortController();
  // Batches of 100; abort as soon as the first batch is committed.
  const run = signCache(dir, { keys: secret, durable: false, batchSize: 100, signal: controller.signal, onProgress: () => controller.abort(new Error('stop')) });
  const error = await t.throwsAsync(run);
  t.is((error as { code?: string }).code, 'ERR_ABORTED');
  let signed = 0;
  for (const [name, bytes] of snapshot(dir)) {
    if (!name.endsWith('.narinfo')) continue;
    const text = bytes.toString('utf8');
    const original = before.get(name)!.toString('utf8');
    if (text === original) continue;
    const ours = sigsOf(text, 'test-cache-1');
    t.is(ours.length, 1);
    t.is(text.replace(`Sig: ${ours[0]}\n`, ''), original);
    signed += 1;
  }
  t.true(signed < 978, `stopped early (${signed} signed)`);
  t.deepEqual([...snapshot(dir).keys()].filter((n) => n.startsWith('.')), []);
  // Running again finishes the job.
  const rest = await signCache(dir, { keys: secret, durable: false });
  t.is(rest.signed + rest.alreadySigned, 978);
  t.is(rest.alreadySigned, signed);
});

test('two signers at once on one cache: both signatures end up everywhere (the cache lock)', async (t) => {
  const dir = corpusCache();
  await Promise.all([signCache(dir, { keys: secret, durable: false }), signCache(dir, { keys: other, durable: false })]);
  const r = await verifyCache(dir, { trustedKeys: [publicKey, toPublicKey(other)], sigsNeeded: 2 });
  t.like(r, { total: 978, trusted: 978 });
  t.false(fs.existsSync(path.join(dir, '.narsign.lock')));
});

test('stray temporary files of dead processes are removed by the next signing run, live ones kept', async (t) => {
  const dir = makeCache(fixtureTexts(['F1']));
  const dead = path.join(dir, '.syd87l2rxw8cbsxmxl853h0r6pdwhwjr.narinfo.narsign-999999999.tmp');
  const live = path.join(dir, `.syd87l2rxw8cbsxmxl853h0r6pdwhwjr.narinfo.narsign-${process.ppid}.tmp`);
  fs.writeFileSync(dead, 'partial');
  fs.writeFileSync(live, 'partial');
  await signCache(dir, { keys: secret });
  t.false(fs.existsSync(dead));
  t.true(fs.existsSync(live));
});

test('secret keys may be given parsed; errors name the key, never the secret', async (t) => {
  const dir = makeCache(fixtureTexts(['F1']));
  const parsed = parseSecretKey(secret);
  const r = await signCache(dir, { keys: [parsed] });
  t.is(r.signed, 1);
  t.true(parsed.secretKey.some((b) => b !== 0), 'a caller-owned key is not wiped');
  const broken = `broken-1:${crypto.randomBytes(64).toString('base64')}`;
  const error = await t.throwsAsync(signCache(dir, { keys: broken }));
  t.is((error as { code?: string }).code, 'ERR_SECRET_KEY_MISMATCH');
  t.notRegex(String((error as Error).message), new RegExp(broken.split(':')[1].slice(0, 20).replace(/[+/]/g, '.')));
  await t.throwsAsync(signCache(tempDir(), { keys: [] }), { code: 'ERR_NO_KEYS' } as never);
  await t.throwsAsync(signCache(path.join(dir, 'missing'), { keys: secret }), { code: 'ERR_CACHE_DIR' } as never);
});

test('signCache holds parsed keys to the key-name rule of signNarinfo: a name with ":" or whitespace is refused before anything is written', async (t) => {
  const dir = makeCache(fixtureTexts(['F1']));
  const before = snapshot(dir);
  const good = parseSecretKey(generateSecretKey('cache-1'));
  for (const name of ['cache x:1', 'cache x', 'x:1', '', 'tab\tname']) {
    const key = { ...good, name };
    await t.throwsAsync(signCache(dir, { keys: key }), { code: 'ERR_KEY_NAME_INVALID' }, JSON.stringify(name));
    await t.throwsAsync(signCache(dir, { keys: [good, key] }), { code: 'ERR_KEY_NAME_INVALID' }, JSON.stringify(name));
    t.throws(() => signNarinfo(fixtureTexts(['F1'])[0], key), { code: 'ERR_KEY_NAME_INVALID' }, JSON.stringify(name));
  }
  t.deepEqual(snapshot(dir), before);
});
