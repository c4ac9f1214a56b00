/**
 * Signers (issue 7, secret hygiene): a secret key in libsodium guarded memory behind an opaque
 * object, accepted by every secretKey parameter on both backends. Signatures made through a signer
 * equal those made with the bytes and node:crypto's; a disposed signer is ERR_SIGNER_DISPOSED
 * everywhere; the object shows no secret; disposing while batches run never crashes (checked in a
 * child process, test/helpers/signer-child.ts, once per backend).
 */
import test from 'ava';
import { runTsChild } from './helpers/child';
import crypto from 'node:crypto';
import path from 'node:path';
import util from 'node:util';
import * as ed from '../lib/index';
import { impl } from '../lib/backend';
import { sodiumBackend } from '../lib/sodium-fallback';
import type { Ed25519Backend, Signer } from '../lib/ed25519-types';
import { nodePublicKeyOfSeed, nodeSign, sodiumKeyPair } from './helpers/oracles';
import fs from 'node:fs';
import { hashPartOfText, makeCache } from './helpers/cache-dir';
import { fixture } from './helpers/vectors';
import { NARINFO as legacyText } from './helpers/legacy2015';

const fixtureText = fixture('F2').text;

const root = path.join(__dirname, '..');

/** The loaded backend, and the fallback in-process too when the loaded one is the native addon. */
const backends: Array<[string, Ed25519Backend]> =
  ed.backend === 'native' ? [['native', impl], ['sodium-native', sodiumBackend]] : [['sodium-native', impl]];

function freshKey(): { seed: Buffer; publicKey: Buffer; secretKey: Buffer } {
  const seed = crypto.randomBytes(32);
  return { seed, ...sodiumKeyPair(seed) };
}

const messages = ['', 'hello', 'ünïcödé \u{1F600}', 'x'.repeat(5000), Buffer.from([0, 1, 2, 255]), new Uint16Array([1, 2, 3])];
const bytesOf = (m: string | ArrayBufferView): Buffer =>
  typeof m === 'string' ? Buffer.from(m, 'utf8') : Buffer.from(m.buffer, m.byteOffset, m.byteLength);

for (const [name, b] of backends) {
  test(`${name}: signatures by a signer equal those by the bytes and by node:crypto`, async (t) => {
    const { seed, publicKey, secretKey } = freshKey();
    const signer = b.createSigner(secretKey);
    t.deepEqual(signer.publicKey, publicKey);
    t.deepEqual(signer.publicKey, nodePublicKeyOfSeed(seed));
    t.deepEqual(b.publicKeyFromSecretKey(signer), publicKey);
    for (const m of messages) {
      const expected = nodeSign(seed, bytesOf(m));
      t.deepEqual(b.signDetached(signer, m), expected);
      t.deepEqual(b.signDetached(secretKey, m), expected);
    }
    const expected = messages.map((m) => nodeSign(seed, bytesOf(m)));
    t.deepEqual(b.signMany(signer, messages), expected);
    t.deepEqual(Buffer.from(b.signManyInto(signer, messages, new Uint8Array(messages.length * 64))), Buffer.concat(expected));
    t.deepEqual(await b.signManyAsync(signer, messages, { chunkSize: 2 }), expected);
    const out = await b.signManyIntoAsync(signer, messages, Buffer.alloc(messages.length * 64), { chunkSize: 1 });
    t.deepEqual(out, Buffer.concat(expected));
    t.false(signer.disposed);
    signer.dispose();
    t.true(signer.disposed);
  });

  test(`${name}: a disposed signer is ERR_SIGNER_DISPOSED everywhere; dispose is idempotent`, async (t) => {
    const { secretKey, publicKey } = freshKey();
    const signer = b.createSigner(secretKey);
    signer.dispose();
    signer.dispose();
    signer[Symbol.dispose]();
    const disposed = { code: 'ERR_SIGNER_DISPOSED', instanceOf: ed.NarsignError };
    t.throws(() => b.signDetached(signer, 'm'), disposed);
    t.throws(() => b.publicKeyFromSecretKey(signer), disposed);
    t.throws(() => b.signMany(signer, ['m']), disposed);
    t.throws(() => b.signManyInto(signer, ['m'], new Uint8Array(64)), disposed);
    await t.throwsAsync(b.signManyAsync(signer, ['m']), disposed);
    await t.throwsAsync(b.signManyIntoAsync(signer, ['m'], new Uint8Array(64)), disposed);
    // The public half is no secret, and stays readable.
    t.deepEqual(signer.publicKey, publicKey);
  });

  test(`${name}: createSigner checks its argument like any secretKey, and copies it`, (t) => {
    t.throws(() => b.createSigner(new Uint8Array(63)), { code: 'ERR_SECRET_KEY_INVALID', message: 'secret key is not valid' });
    t.throws(() => b.createSigner('abc' as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => b.createSigner(undefined as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
    const { seed, secretKey } = freshKey();
    const signer = b.createSigner(secretKey);
    // A signer is not bytes: it cannot make another signer.
    t.throws(() => b.createSigner(signer as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
    const copy = Buffer.from(secretKey);
    secretKey.fill(0);
    t.deepEqual(b.signDetached(signer, 'm'), nodeSign(seed, Buffer.from('m')));
    t.deepEqual(b.signDetached(copy, 'm'), nodeSign(seed, Buffer.from('m')));
    signer.dispose();
  });

  test(`${name}: look-alikes of a signer are refused as a wrong type`, (t) => {
    const signer = b.createSigner(freshKey().secretKey);
    const fakes = [Object.create(Object.getPrototypeOf(signer) as object), { ...signer }, new Proxy(signer, {})];
    for (const fake of fakes) {
      t.throws(() => b.signDetached(fake as Signer, 'm'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
    }
    // A signer of the other backend is a wrong type too (each backend holds its own memory).
    const [, other] = backends.find(([n]) => n !== name) ?? [];
    if (other) t.throws(() => other.signDetached(signer, 'm'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
    signer.dispose();
  });

  test(`${name}: the signer object exposes no secret`, (t) => {
    const { seed, secretKey } = freshKey();
    const signer = b.createSigner(secretKey);
    const secrets = [seed.toString('hex'), seed.toString('base64'), seed.toString('base64').slice(0, 12), seed.subarray(0, 8).toString('hex')];
    const shown = [
      JSON.stringify(signer),
      util.inspect(signer, { showHidden: true, depth: Infinity, getters: true }),
      util.format('%o', signer),
      String(Object.keys(signer)),
      String(Reflect.ownKeys(signer).map(String)),
      String(signer),
    ];
    let cloned: unknown;
    try {
      cloned = structuredClone(signer);
    } catch (error) {
      cloned = undefined;
      t.true(error instanceof Error);
    }
    if (cloned !== undefined) {
      t.deepEqual(Reflect.ownKeys(cloned as object), [], 'a clone, if any, is empty');
      t.throws(() => b.signDetached(cloned as Signer, 'm'), { instanceOf: TypeError });
    }
    for (const text of shown) for (const secret of secrets) t.false(text.includes(secret), text);
    t.deepEqual(Object.keys(signer), []);
    signer.dispose();
  });
}

test('createSigner: a NAME:BASE64 key string (checked, named) or bytes; errors never show the key', (t) => {
  const { seed, secretKey, publicKey } = freshKey();
  const text = `cache.example.org-1:${secretKey.toString('base64')}`;
  const signer = ed.createSigner(text);
  t.is(signer.name, 'cache.example.org-1');
  t.deepEqual(signer.publicKey, publicKey);
  t.deepEqual(ed.signDetached(signer, 'fp'), nodeSign(seed, Buffer.from('fp')));
  t.false(JSON.stringify(signer).includes(secretKey.toString('base64').slice(0, 12)));
  {
    using scoped = ed.createSigner(secretKey);
    t.is(scoped.name, undefined);
    t.deepEqual(ed.signDetached(scoped, 'fp'), nodeSign(seed, Buffer.from('fp')));
    t.is(Symbol.dispose in scoped, true);
    signer.dispose();
    t.throws(() => ed.signDetached(signer, 'fp'), { code: 'ERR_SIGNER_DISPOSED' });
  }

  // Mismatched halves are refused, as parseSecretKey refuses them.
  const other = freshKey();
  const mismatched = Buffer.concat([secretKey.subarray(0, 32), other.publicKey]);
  const error = t.throws(() => ed.createSigner(`k:${mismatched.toString('base64')}`), { code: 'ERR_SECRET_KEY_MISMATCH' });
  t.false(error!.message.includes(mismatched.toString('base64').slice(0, 8)));
  t.throws(() => ed.createSigner('k:AAAA'), { code: 'ERR_SECRET_KEY_INVALID' });
  t.throws(() => ed.createSigner(42 as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
});

const runChild = (env: Record<string, string>) => runTsChild(path.join(__dirname, 'helpers', 'signer-child.ts'), env);

for (const name of backends.map(([n]) => n)) {
  test(`${name}: disposing signers during async and sync batches, and leaving them to gc, never crashes`, async (t) => {
    const r = await runChild({ NARSIGN_BACKEND: name });
    t.is(r.signal, null, `the child died of ${r.signal}\n${r.stderr.slice(-4000)}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{"report":'));
    t.truthy(line, `no report; exit code ${r.code}\n${r.stderr.slice(-4000)}`);
    const report = JSON.parse(line!).report as { backend: string; checks: number; failures: string[] };
    t.is(report.backend, name);
    t.deepEqual(report.failures, []);
    t.true(report.checks > 30);
    t.is(r.code, 0);
  });
}

test('every signing entry point takes a named signer, or { name, secretKey: signer }: same output as the key string (node:crypto oracle)', async (t) => {
  const { seed, publicKey, secretKey } = freshKey();
  const keyString = `signer-test-1:${secretKey.toString('base64')}`;
  const named = ed.createSigner(keyString);
  const nameless = ed.createSigner(secretKey);
  t.is(named.name, 'signer-test-1');
  t.is(nameless.name, undefined);
  const info = ed.parseNarinfo(fixtureText);
  const fp = ed.fingerprint(info);
  const expected = `signer-test-1:${nodeSign(seed, Buffer.from(fp)).toString('base64')}`;
  for (const [what, key] of [['key string', keyString], ['named signer', named], ['{ name, secretKey: signer }', { name: 'signer-test-1', secretKey: nameless }]] as const) {
    t.is(ed.signFingerprint(fp, key), expected, what);
    t.true(ed.signNarinfo(fixtureText, key).includes(`Sig: ${expected}\n`), what);
    t.is(ed.signParsedNarinfo(info, [key]).sigs.at(-1), expected, what);
    t.regex(ed.signLegacy2015(legacyText, key), /^Signature: 2;signer-test-1;/m, what);
    const dir = makeCache([fixtureText]);
    const result = await ed.signCache(dir, { keys: key, durable: false });
    t.is(result.signed, 1, what);
    t.true(fs.readFileSync(path.join(dir, `${hashPartOfText(fixtureText)}.narinfo`), 'utf8').includes(`Sig: ${expected}\n`), what);
    // Idempotent: the second run finds the signature there.
    t.is((await ed.signCache(dir, { keys: key, durable: false })).alreadySigned, 1, what);
  }
  // The caller's signer is the caller's: signCache does not dispose it.
  t.false(named.disposed);
  t.false(nameless.disposed);
  // A signer made from bytes has no name to sign under: a TypeError saying how to give one.
  for (const call of [() => ed.signFingerprint(fp, nameless), () => ed.signNarinfo(fixtureText, nameless)]) {
    t.throws(call, { instanceOf: TypeError, message: /no key name; pass \{ name, secretKey: signer \}/ });
  }
  await t.throwsAsync(ed.signCache(makeCache([fixtureText]), { keys: nameless }), { instanceOf: TypeError });
  named.dispose();
  t.throws(() => ed.signFingerprint(fp, { name: 'x', secretKey: named }), { code: 'ERR_SIGNER_DISPOSED' });
  nameless.dispose();
  t.deepEqual(publicKey, nodePublicKeyOfSeed(seed));
});
