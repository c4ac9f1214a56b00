/**
 * The native core (issue 2): constants, RFC 8032 and Nix-format vectors, agreement with node:crypto
 * and sodium-native on random inputs, and the Store.xs errors. Runs on whichever backend is loaded
 * (CI runs the suite once per backend); test/backends.test.ts compares the two directly.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ed from '../lib/ed25519';
import { NarsignError } from '../lib/errors';
import { keyVectors } from './helpers/vectors';
import { nodePublicKeyOfSeed, nodeSign, nodeVerify, sodium, sodiumKeyPair, sodiumSign, splitNixString } from './helpers/oracles';

const hex = (s: string) => Buffer.from(s, 'hex');

test('constants come from libsodium', (t) => {
  t.is(ed.SECRETKEYBYTES, sodium.crypto_sign_SECRETKEYBYTES);
  t.is(ed.PUBLICKEYBYTES, sodium.crypto_sign_PUBLICKEYBYTES);
  t.is(ed.SIGNATUREBYTES, sodium.crypto_sign_BYTES);
  t.is(ed.SEEDBYTES, sodium.crypto_sign_SEEDBYTES);
  t.deepEqual([ed.SECRETKEYBYTES, ed.PUBLICKEYBYTES, ed.SIGNATUREBYTES, ed.SEEDBYTES], [64, 32, 64, 32]);
});

// RFC 8032 section 7.1, TEST 1, 2, 3 and TEST SHA(abc) (also checked on every prebuild by scripts/prebuild/smoke.js).
const rfc8032: Array<{ name: string; seed: string; publicKey: string; message: string; signature: string }> =
  JSON.parse(fs.readFileSync(path.join(__dirname, 'vectors', 'rfc8032.json'), 'utf8')).vectors;

for (const v of rfc8032) {
  test(`RFC 8032 ${v.name}`, (t) => {
    const pair = ed.keyPairFromSeed(hex(v.seed));
    t.is(pair.publicKey.toString('hex'), v.publicKey);
    t.is(pair.secretKey.toString('hex'), v.seed + v.publicKey);
    t.is(ed.publicKeyFromSecretKey(pair.secretKey).toString('hex'), v.publicKey);
    const signature = ed.signDetached(pair.secretKey, hex(v.message));
    t.is(Buffer.from(signature).toString('hex'), v.signature);
    t.true(ed.verifyDetached(hex(v.publicKey), hex(v.signature), hex(v.message)));
  });
}

test('Nix-format vectors (key-vectors.txt sections A–H): same signatures, all verify', (t) => {
  const sections = keyVectors();
  t.deepEqual(sections.map((s) => s.section), ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
  let checked = 0;
  for (const section of sections) {
    const secret = splitNixString(section.secretKey!);
    const pub = splitNixString(section.publicKey!);
    t.is(secret.bytes.length, 64, `section ${section.section} secret key`);
    // The stored public half equals the public key of the seed (pk-half-consistent).
    t.deepEqual(ed.keyPairFromSeed(secret.bytes.subarray(0, 32)).publicKey, pub.bytes, section.section);
    for (const { message, messageHex, signature } of section.signed) {
      const sig = splitNixString(signature);
      const bytes = messageHex ? hex(messageHex) : Buffer.from(message, 'utf8');
      if (sig.name === secret.name) {
        t.deepEqual(Buffer.from(ed.signDetached(secret.bytes, bytes)), sig.bytes, `${section.section}: ${sig.name}`);
        t.true(ed.verifyDetached(pub.bytes, sig.bytes, bytes));
        // Strings are signed as their UTF-8 bytes.
        if (!messageHex) t.deepEqual(Buffer.from(ed.signDetached(secret.bytes, message)), sig.bytes);
        checked += 1;
      }
    }
  }
  // A 1, B 1, C 3, D 2, E 1, H 1 signatures by the section's own key (F and G have keys only).
  t.is(checked, 9);
});

test('10,000 random (key, message) pairs agree byte for byte with node:crypto and sodium-native, both ways', (t) => {
  let pairs = 0;
  for (let k = 0; k < 1000; k += 1) {
    const seed = crypto.randomBytes(32);
    const { publicKey, secretKey } = ed.keyPairFromSeed(seed);
    t.deepEqual(publicKey, nodePublicKeyOfSeed(seed));
    t.deepEqual(secretKey, sodiumKeyPair(seed).secretKey);
    for (let m = 0; m < 10; m += 1) {
      const message = crypto.randomBytes(crypto.randomInt(0, 600));
      const ours = Buffer.from(ed.signDetached(secretKey, message));
      const theirs = nodeSign(seed, message);
      if (!ours.equals(theirs) || !ours.equals(sodiumSign(secretKey, message))) {
        t.fail(`signatures differ for key ${k}, message ${m}`);
        return;
      }
      if (!nodeVerify(publicKey, ours, message) || !sodium.crypto_sign_verify_detached(ours, message, publicKey)) {
        t.fail(`oracle rejected narsign's signature (key ${k}, message ${m})`);
        return;
      }
      if (!ed.verifyDetached(publicKey, theirs, message)) {
        t.fail(`narsign rejected node:crypto's signature (key ${k}, message ${m})`);
        return;
      }
      pairs += 1;
    }
  }
  t.is(pairs, 10_000);
});

test('generateKeyPair makes working, distinct, seed-consistent keys', (t) => {
  const a = ed.generateKeyPair();
  const b = ed.generateKeyPair();
  t.is(a.publicKey.length, 32);
  t.is(a.secretKey.length, 64);
  t.notDeepEqual(a.secretKey, b.secretKey);
  t.deepEqual(a.publicKey, nodePublicKeyOfSeed(a.secretKey.subarray(0, 32)));
  t.true(nodeVerify(a.publicKey, ed.signDetached(a.secretKey, 'x'), Buffer.from('x')));
});

test('a flipped bit in message, signature or public key makes verification false', (t) => {
  const { publicKey, secretKey } = ed.keyPairFromSeed(crypto.randomBytes(32));
  const message = crypto.randomBytes(240);
  const signature = Buffer.from(ed.signDetached(secretKey, message));
  t.true(ed.verifyDetached(publicKey, signature, message));
  const flip = (buf: Buffer, bit: number) => {
    const copy = Buffer.from(buf);
    copy[bit >> 3] ^= 1 << (bit & 7);
    return copy;
  };
  for (let bit = 0; bit < message.length * 8; bit += 37) t.false(ed.verifyDetached(publicKey, signature, flip(message, bit)));
  for (let bit = 0; bit < 512; bit += 1) t.false(ed.verifyDetached(publicKey, flip(signature, bit), message), `signature bit ${bit}`);
  for (let bit = 0; bit < 256; bit += 1) t.false(ed.verifyDetached(flip(publicKey, bit), signature, message), `public key bit ${bit}`);
});

test('messages: strings as UTF-8, any ArrayBufferView, views at offsets', (t) => {
  const { publicKey, secretKey } = ed.keyPairFromSeed(crypto.randomBytes(32));
  const text = 'nar · 𝄞 ünïcode';
  const utf8 = Buffer.from(text, 'utf8');
  const expected = nodeSign(secretKey.subarray(0, 32), utf8);
  t.deepEqual(Buffer.from(ed.signDetached(secretKey, text)), expected);
  const backing = new ArrayBuffer(utf8.length + 7);
  new Uint8Array(backing, 3, utf8.length).set(utf8);
  t.deepEqual(Buffer.from(ed.signDetached(secretKey, new Uint8Array(backing, 3, utf8.length))), expected);
  t.deepEqual(Buffer.from(ed.signDetached(secretKey, new DataView(backing, 3, utf8.length))), expected);
  // A Uint16Array's bytes, not its element count, are the message.
  const words = new Uint16Array([1, 2, 3, 4]);
  t.deepEqual(Buffer.from(ed.signDetached(secretKey, words)), nodeSign(secretKey.subarray(0, 32), Buffer.from(words.buffer)));
  t.true(ed.verifyDetached(publicKey, ed.signDetached(secretKey, ''), new Uint8Array(0)));
  // Keys and signatures may be views at odd offsets too.
  const skBacking = Buffer.alloc(64 + 5);
  secretKey.copy(skBacking, 5);
  t.deepEqual(Buffer.from(ed.signDetached(skBacking.subarray(5), text)), expected);
  // A long string goes through the heap path of the native message reader.
  const long = 'é'.repeat(5000);
  t.deepEqual(Buffer.from(ed.signDetached(secretKey, long)), nodeSign(secretKey.subarray(0, 32), Buffer.from(long, 'utf8')));
});

function detachedView(length: number): Uint8Array {
  const buffer = new ArrayBuffer(length);
  const view = new Uint8Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  return view;
}

const goodKey = ed.keyPairFromSeed(Buffer.alloc(32, 7));
const goodSig = ed.signDetached(goodKey.secretKey, 'm');

test('Store.xs length checks: exact messages and codes', (t) => {
  for (const length of [0, 1, 31, 33, 63, 65, 128]) {
    const bytes = Buffer.alloc(length, 1);
    const cases: Array<[() => unknown, string, string]> = [
      [() => ed.signDetached(bytes, 'm'), 'ERR_SECRET_KEY_INVALID', 'secret key is not valid'],
      [() => ed.publicKeyFromSecretKey(bytes), 'ERR_SECRET_KEY_INVALID', 'secret key is not valid'],
      [() => ed.verifyDetached(bytes, goodSig, 'm'), 'ERR_PUBLIC_KEY_INVALID', 'public key is not valid'],
      [() => ed.verifyDetached(goodKey.publicKey, bytes, 'm'), 'ERR_SIGNATURE_INVALID', 'signature is not valid'],
      [() => ed.keyPairFromSeed(bytes), 'ERR_SEED_INVALID', 'seed is not valid'],
    ];
    for (const [fn, code, message] of cases) {
      const expectedLength = { ERR_SECRET_KEY_INVALID: 64, ERR_PUBLIC_KEY_INVALID: 32, ERR_SIGNATURE_INVALID: 64, ERR_SEED_INVALID: 32 }[code];
      if (length === expectedLength) continue;
      const error = t.throws(fn, { instanceOf: NarsignError, message });
      t.is(error?.code, code);
    }
  }
});

test('wrong types are TypeErrors with a code, naming the argument', (t) => {
  const wrong: unknown[] = [undefined, null, 42, 'key', {}, [1, 2, 3], new ArrayBuffer(64), Symbol('s'), () => 1];
  for (const value of wrong) {
    const cases: Array<[() => unknown, string]> = [
      [() => ed.signDetached(value as never, 'm'), 'secretKey'],
      [() => ed.publicKeyFromSecretKey(value as never), 'secretKey'],
      [() => ed.keyPairFromSeed(value as never), 'seed'],
      [() => ed.verifyDetached(value as never, goodSig, 'm'), 'publicKey'],
      [() => ed.verifyDetached(goodKey.publicKey, value as never, 'm'), 'signature'],
    ];
    if (typeof value !== 'string') {
      cases.push([() => ed.signDetached(goodKey.secretKey, value as never), 'message']);
      cases.push([() => ed.verifyDetached(goodKey.publicKey, goodSig, value as never), 'message']);
    }
    for (const [fn, argument] of cases) {
      const error = t.throws(fn, { instanceOf: TypeError }) as TypeError & { code?: string };
      t.is(error.code, 'ERR_INVALID_ARG_TYPE', `${String(typeof value)} as ${argument}`);
      t.true(error.message.startsWith(`${argument} must be`), error.message);
    }
  }
});

test('views over a detached ArrayBuffer are TypeErrors (ERR_DETACHED_BUFFER)', (t) => {
  const cases: Array<[() => unknown, string]> = [
    [() => ed.signDetached(detachedView(64), 'm'), 'secretKey'],
    [() => ed.signDetached(goodKey.secretKey, detachedView(10)), 'message'],
    [() => ed.verifyDetached(detachedView(32), goodSig, 'm'), 'publicKey'],
    [() => ed.verifyDetached(goodKey.publicKey, detachedView(64), 'm'), 'signature'],
    [() => ed.verifyDetached(goodKey.publicKey, goodSig, detachedView(1)), 'message'],
    [() => ed.keyPairFromSeed(detachedView(32)), 'seed'],
  ];
  for (const [fn, argument] of cases) {
    const error = t.throws(fn, { instanceOf: TypeError }) as TypeError & { code?: string };
    t.is(error.code, 'ERR_DETACHED_BUFFER');
    t.is(error.message, `${argument} is a view over a detached ArrayBuffer`);
  }
});

test('views over a SharedArrayBuffer are read like any other bytes', (t) => {
  const shared = new Uint8Array(new SharedArrayBuffer(64));
  shared.set(goodKey.secretKey);
  t.deepEqual(Buffer.from(ed.signDetached(shared, 'm')), Buffer.from(goodSig));
});
