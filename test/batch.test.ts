/**
 * Batch signing and verification (issue 4): signMany / verifyMany and their async and `Into`
 * variants give exactly the per-call results, which node:crypto and sodium-native confirm; every
 * element is checked like the single calls, with errors naming the element; aborts, detached
 * buffers and hostile inputs (getters that detach or abort halfway) end in typed errors, never a crash.
 * Runs on whichever backend is loaded (CI runs the suite once per backend), and compares that backend
 * with the sodium-native fallback in-process.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fc from 'fast-check';
import * as ed from '../lib/index';
import { sodiumBackend } from '../lib/sodium-fallback';
import type { Ed25519Backend, Message, VerifyItem } from '../lib/ed25519-types';
import { nodeSign, nodeVerify, sodium, sodiumSign } from './helpers/oracles';

const fallback: Ed25519Backend = sodiumBackend;

/** Bytes of a message as narsign signs it (strings as UTF-8). */
const bytesOf = (m: Message): Buffer =>
  typeof m === 'string' ? Buffer.from(m, 'utf8') : Buffer.from(m.buffer, m.byteOffset, m.byteLength);

const randomInt = (n: number) => crypto.randomInt(n);

/** A message of a random kind: strings (with non-ASCII and lone surrogates), Buffers, offset views, other typed arrays, DataViews. */
function randomMessage(): Message {
  const length = randomInt(5) === 0 ? randomInt(3000) : randomInt(300);
  const bytes = crypto.randomBytes(length);
  switch (randomInt(7)) {
    case 0:
      return bytes.toString('base64').slice(0, length);
    case 1:
      return `1;/nix/store/${bytes.toString('hex').slice(0, 32)}-é€😀\ud800;sha256:${length}`;
    case 2:
      return bytes;
    case 3: {
      const backing = new Uint8Array(length + 7);
      backing.set(bytes, 5);
      return backing.subarray(5, 5 + length);
    }
    case 4: {
      const even = bytes.subarray(0, length - (length % 4));
      return new Uint32Array(even.buffer.slice(even.byteOffset, even.byteOffset + even.byteLength));
    }
    case 5:
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    default:
      return '';
  }
}

function randomKeyPair(): { seed: Buffer; publicKey: Buffer; secretKey: Buffer } {
  const seed = crypto.randomBytes(32);
  return { seed, ...ed.keyPairFromSeed(seed) };
}

const hex = (views: ArrayBufferView[]) => views.map((v) => bytesOf(v).toString('hex'));

function detachedView(length = 8): Uint8Array {
  const view = new Uint8Array(new ArrayBuffer(length));
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

/** How a call ended, comparable across backends: a value, or the error's class, code, message and index. */
async function outcome(fn: () => unknown): Promise<unknown> {
  try {
    const value = await fn();
    if (Array.isArray(value)) return value.map((v) => (ArrayBuffer.isView(v) ? bytesOf(v).toString('hex') : v));
    return ArrayBuffer.isView(value) ? bytesOf(value).toString('hex') : value;
  } catch (error) {
    const e = error as Error & { code?: string; index?: number };
    return { threw: e.constructor.name, code: e.code, message: e.message, index: e.index };
  }
}

test('signMany equals per-call signDetached, node:crypto and sodium-native on random inputs', async (t) => {
  for (let round = 0; round < 5; round++) {
    const { seed, secretKey } = randomKeyPair();
    const messages = Array.from({ length: 1 + randomInt(400) }, randomMessage);
    const expected = messages.map((m) => nodeSign(seed, bytesOf(m)).toString('hex'));
    t.deepEqual(hex(messages.map((m) => sodiumSign(secretKey, bytesOf(m)))), expected);
    t.deepEqual(hex(messages.map((m) => ed.signDetached(secretKey, m))), expected);

    const sync = ed.signMany(secretKey, messages);
    t.true(sync.every((s) => Buffer.isBuffer(s) && s.byteLength === 64));
    t.deepEqual(hex(sync), expected);
    t.deepEqual(hex(await ed.signManyAsync(secretKey, messages)), expected);
    t.deepEqual(hex(await ed.signManyAsync(secretKey, messages, { chunkSize: 1 + randomInt(100), concurrency: 1 + randomInt(6) })), expected);

    const flat = expected.join('');
    t.is(Buffer.from(ed.signManyInto(secretKey, messages, new Uint8Array(messages.length * 64))).toString('hex'), flat);
    const into = await ed.signManyIntoAsync(secretKey, messages, Buffer.alloc(messages.length * 64));
    t.is(into.toString('hex'), flat);
  }
});

test('verifyMany equals per-call verifyDetached, node:crypto and sodium-native on mixed valid and invalid items', async (t) => {
  const pairs = Array.from({ length: 4 }, randomKeyPair);
  const items: VerifyItem[] = [];
  for (let i = 0; i < 600; i++) {
    const signer = pairs[randomInt(pairs.length)];
    const message = randomMessage();
    const signature = Buffer.from(nodeSign(signer.seed, bytesOf(message)));
    let publicKey = signer.publicKey;
    let checked: Message = message;
    switch (randomInt(6)) {
      case 0: // a flipped bit anywhere in the signature
        signature[randomInt(64)] ^= 1 << randomInt(8);
        break;
      case 1: // another key
        publicKey = pairs[(pairs.indexOf(signer) + 1) % pairs.length].publicKey;
        break;
      case 2: // another message
        checked = Buffer.concat([bytesOf(message), Buffer.from([randomInt(256)])]);
        break;
      case 3: // a key that is not a curve point, or garbage
        publicKey = Buffer.alloc(32, randomInt(2) ? 0xff : 0);
        break;
      default:
        break;
    }
    items.push({ publicKey, signature, message: checked });
  }
  const expected = items.map((it) => nodeVerify(bytesOf(it.publicKey), bytesOf(it.signature), bytesOf(it.message)));
  t.deepEqual(
    items.map((it) => sodium.crypto_sign_verify_detached(bytesOf(it.signature), bytesOf(it.message), bytesOf(it.publicKey))),
    expected,
  );
  t.true(expected.includes(true) && expected.includes(false));
  t.deepEqual(items.map((it) => ed.verifyDetached(it.publicKey, it.signature, it.message)), expected);
  t.deepEqual(ed.verifyMany(items), expected);
  t.deepEqual(await ed.verifyManyAsync(items), expected);
  t.deepEqual(await ed.verifyManyAsync(items, { chunkSize: 7, concurrency: 3 }), expected);
});

test('per-call signatures kept across many calls (and failed calls) stay intact', (t) => {
  // signDetached hands out views of shared memory on the native backend: none may overlap another.
  const { seed, secretKey } = randomKeyPair();
  const kept: Buffer[] = [];
  for (let i = 0; i < 2500; i++) {
    kept.push(ed.signDetached(secretKey, `m${i}`));
    if (i % 100 === 0) t.throws(() => ed.signDetached(secretKey.subarray(1), `m${i}`), { code: 'ERR_SECRET_KEY_INVALID' });
  }
  t.true(kept.every((s) => s.byteLength === 64));
  t.deepEqual(hex(kept), kept.map((_, i) => nodeSign(seed, Buffer.from(`m${i}`)).toString('hex')));
});

test('empty and one-element batches', async (t) => {
  const { seed, secretKey, publicKey } = randomKeyPair();
  t.deepEqual(ed.signMany(secretKey, []), []);
  t.deepEqual(await ed.signManyAsync(secretKey, []), []);
  const empty = new Uint8Array(0);
  t.is(ed.signManyInto(secretKey, [], empty), empty);
  t.is(await ed.signManyIntoAsync(secretKey, [], empty), empty);
  t.deepEqual(ed.verifyMany([]), []);
  t.deepEqual(await ed.verifyManyAsync([]), []);

  const expected = nodeSign(seed, Buffer.from('only one'));
  t.deepEqual(hex(ed.signMany(secretKey, ['only one'])), [expected.toString('hex')]);
  t.deepEqual(hex(await ed.signManyAsync(secretKey, ['only one'])), [expected.toString('hex')]);
  t.deepEqual(ed.verifyMany([{ publicKey, signature: expected, message: 'only one' }]), [true]);
  t.deepEqual(await ed.verifyManyAsync([{ publicKey, signature: expected, message: 'only two' }]), [false]);
});

test('a 100,000-element batch: async equals sync, verifies back, node:crypto agrees on a sample', async (t) => {
  const { seed, secretKey, publicKey } = randomKeyPair();
  const n = 100_000;
  const messages = Array.from({ length: n }, (_, i) => `1;/nix/store/${i.toString(36).padStart(32, '0')}-p-${i};sha256:${i * 7919}`);
  const flat = Buffer.alloc(n * 64);
  const [asyncSigs] = await Promise.all([ed.signManyAsync(secretKey, messages), ed.signManyIntoAsync(secretKey, messages, flat)]);
  const syncSigs = ed.signMany(secretKey, messages);
  t.is(asyncSigs.length, n);
  t.true(Buffer.concat(asyncSigs).equals(Buffer.concat(syncSigs)));
  t.true(flat.equals(Buffer.concat(syncSigs)));
  for (let k = 0; k < 300; k++) {
    const i = randomInt(n);
    t.true(nodeSign(seed, Buffer.from(messages[i])).equals(asyncSigs[i]), `signature ${i}`);
  }

  // Corrupt every 997th signature; exactly those must fail.
  const items = messages.map((message, i) => {
    const signature = i % 997 === 0 ? Buffer.from(asyncSigs[i]).fill(0, 0, 1) : asyncSigs[i];
    return { publicKey, signature, message };
  });
  const verdicts = await ed.verifyManyAsync(items);
  t.is(verdicts.length, n);
  const wrong = verdicts.findIndex((v, i) => v !== (i % 997 !== 0 || asyncSigs[i][0] === 0));
  t.is(wrong, -1);
  for (let k = 0; k < 100; k++) {
    const i = randomInt(n);
    t.is(nodeVerify(publicKey, items[i].signature, Buffer.from(messages[i])), verdicts[i], `verdict ${i}`);
  }
});

test('chunk memory reused by later batches: messages growing and shrinking, batches at once, all exact', async (t) => {
  // The addon keeps chunk memory between batches (native/batch.cc ChunkMemoryPool): a batch must
  // never see a previous batch's messages, lengths or results, whatever their sizes.
  const { seed, publicKey, secretKey } = randomKeyPair();
  const batchOf = (count: number, maxBytes: number) => Array.from({ length: count }, () => crypto.randomBytes(randomInt(maxBytes + 1)));
  const check = async (messages: Buffer[], chunkSize: number) => {
    const signatures = await ed.signManyAsync(secretKey, messages, { chunkSize });
    for (let i = 0; i < messages.length; i++) t.true(nodeSign(seed, messages[i]).equals(signatures[i]), `signature ${i} of ${messages.length}`);
    const items = messages.map((message, i) => ({ publicKey, message, signature: i % 3 === 0 ? Buffer.from(signatures[(i + 1) % messages.length]) : signatures[i] }));
    const verdicts = await ed.verifyManyAsync(items, { chunkSize });
    for (let i = 0; i < messages.length; i++) t.is(verdicts[i], nodeVerify(publicKey, items[i].signature, messages[i]), `verdict ${i} of ${messages.length}`);
  };
  await check(batchOf(40, 65536), 8); // big arenas first
  await check(batchOf(500, 3), 64); // then tiny messages in the same memory
  await check(batchOf(200, 4096), 50);
  await check([Buffer.alloc(0)], 1);
  // Two batches at once share the pool.
  await Promise.all([check(batchOf(300, 2000), 17), check(batchOf(120, 9000), 33), check(batchOf(1, 0), 1)]);
});

test('the caller\'s output: only the first 64·n bytes are written; any view type; too small is an error', async (t) => {
  const { seed, secretKey } = randomKeyPair();
  const messages = ['a', 'b', 'c'];
  const expected = Buffer.concat(messages.map((m) => nodeSign(seed, Buffer.from(m))));
  const big = Buffer.alloc(64 * 3 + 10, 0xee);
  ed.signManyInto(secretKey, messages, big);
  t.true(big.subarray(0, 192).equals(expected));
  t.true(big.subarray(192).equals(Buffer.alloc(10, 0xee)));
  const dataView = new DataView(new ArrayBuffer(200), 8, 192);
  await ed.signManyIntoAsync(secretKey, messages, dataView);
  t.true(Buffer.from(dataView.buffer, 8, 192).equals(expected));
  const words = new Float64Array(24);
  ed.signManyInto(secretKey, messages, words);
  t.true(Buffer.from(words.buffer).equals(expected));

  const tooSmall = { code: 'ERR_OUTPUT_TOO_SMALL', message: 'output is too small (needs 192 bytes)' };
  t.throws(() => ed.signManyInto(secretKey, messages, new Uint8Array(191)), { instanceOf: ed.NarsignError, ...tooSmall });
  await t.throwsAsync(ed.signManyIntoAsync(secretKey, messages, new Uint8Array(191)), { instanceOf: ed.NarsignError, ...tooSmall });
});

// Each case: a call on a backend, and the error it must end in (the same on both backends).
const sk = crypto.randomBytes(64);
const pk = crypto.randomBytes(32);
const sig = crypto.randomBytes(64);
const typeError = (message: string, code = 'ERR_INVALID_ARG_TYPE') => ({ threw: 'TypeError', code, message, index: undefined });
const narsignError = (code: string, message: string, index?: number) => ({ threw: 'NarsignError', code, message, index });
type Case = [name: string, call: (b: Ed25519Backend) => unknown, expected: unknown];
const badCases: Case[] = [
  ['secret key too short', (b) => b.signMany(sk.subarray(1), ['a']), narsignError('ERR_SECRET_KEY_INVALID', 'secret key is not valid')],
  ['secret key a string', (b) => b.signMany('k'.repeat(64) as never, ['a']), typeError('secretKey must be a Uint8Array, Buffer or other ArrayBufferView')],
  ['secret key detached', (b) => b.signMany(detachedView(64), ['a']), typeError('secretKey is a view over a detached ArrayBuffer', 'ERR_DETACHED_BUFFER')],
  ['messages not an array', (b) => b.signMany(sk, 'abc' as never), typeError('messages must be an array')],
  ['messages a typed array', (b) => b.signMany(sk, new Uint8Array(3) as never), typeError('messages must be an array')],
  ['messages a Proxy', (b) => b.signMany(sk, new Proxy(['a'], {})), typeError('messages must be an array')],
  ['messages[3] a number', (b) => b.signMany(sk, ['a', 'b', 'c', 4 as never]), typeError('messages[3] must be a string or an ArrayBufferView')],
  ['messages[1] null', (b) => b.signMany(sk, ['a', null as never]), typeError('messages[1] must be a string or an ArrayBufferView')],
  ['messages[2] a hole', (b) => b.signMany(sk, ['a', 'b', , 'd'] as never), typeError('messages[2] must be a string or an ArrayBufferView')],
  ['messages[0] a plain object', (b) => b.signMany(sk, [{ length: 3 } as never]), typeError('messages[0] must be a string or an ArrayBufferView')],
  ['messages[0] an ArrayBuffer', (b) => b.signMany(sk, [new ArrayBuffer(3) as never]), typeError('messages[0] must be a string or an ArrayBufferView')],
  ['messages[1] detached', (b) => b.signMany(sk, ['a', detachedView()]), typeError('messages[1] is a view over a detached ArrayBuffer', 'ERR_DETACHED_BUFFER')],
  ['signManyInto without output', (b) => b.signManyInto(sk, ['a'], undefined as never), typeError('output must be a Uint8Array, Buffer or other ArrayBufferView')],
  ['signManyInto output detached', (b) => b.signManyInto(sk, ['a'], detachedView(64)), typeError('output is a view over a detached ArrayBuffer', 'ERR_DETACHED_BUFFER')],
  ['signManyInto: the output size is checked before the elements', (b) => b.signManyInto(sk, [1 as never], new Uint8Array(0)), narsignError('ERR_OUTPUT_TOO_SMALL', 'output is too small (needs 64 bytes)')],
  ['items not an array', (b) => b.verifyMany({ 0: {}, length: 1 } as never), typeError('items must be an array')],
  ['items[1] null', (b) => b.verifyMany([{ publicKey: pk, signature: sig, message: '' }, null as never]), typeError('items[1] must be an object with publicKey, signature and message')],
  ['items[0] a string', (b) => b.verifyMany(['x' as never]), typeError('items[0] must be an object with publicKey, signature and message')],
  ['items[0].publicKey missing', (b) => b.verifyMany([{ signature: sig, message: '' } as never]), typeError('items[0].publicKey must be a Uint8Array, Buffer or other ArrayBufferView')],
  ['items[2].publicKey 33 bytes', (b) => b.verifyMany([{ publicKey: pk, signature: sig, message: '' }, { publicKey: pk, signature: sig, message: '' }, { publicKey: Buffer.alloc(33), signature: sig, message: '' }]), narsignError('ERR_PUBLIC_KEY_INVALID', 'public key is not valid (items[2].publicKey)', 2)],
  ['items[0].signature 63 bytes', (b) => b.verifyMany([{ publicKey: pk, signature: sig.subarray(1), message: '' }]), narsignError('ERR_SIGNATURE_INVALID', 'signature is not valid (items[0].signature)', 0)],
  ['items[0].signature empty', (b) => b.verifyMany([{ publicKey: pk, signature: new Uint8Array(0), message: '' }]), narsignError('ERR_SIGNATURE_INVALID', 'signature is not valid (items[0].signature)', 0)],
  ['items[0].signature detached', (b) => b.verifyMany([{ publicKey: pk, signature: detachedView(64), message: '' }]), typeError('items[0].signature is a view over a detached ArrayBuffer', 'ERR_DETACHED_BUFFER')],
  ['items[0].message a number', (b) => b.verifyMany([{ publicKey: pk, signature: sig, message: 5 as never }]), typeError('items[0].message must be a string or an ArrayBufferView')],
  ['items[0].message detached', (b) => b.verifyMany([{ publicKey: pk, signature: sig, message: detachedView() }]), typeError('items[0].message is a view over a detached ArrayBuffer', 'ERR_DETACHED_BUFFER')],
  ['items[0]: the key is checked before the signature', (b) => b.verifyMany([{ publicKey: pk.subarray(1), signature: sig.subarray(1), message: 1 as never }]), narsignError('ERR_PUBLIC_KEY_INVALID', 'public key is not valid (items[0].publicKey)', 0)],
  ['options not an object', (b) => b.signManyAsync(sk, [], 'fast' as never), typeError('options must be an object')],
  ['options.signal not a signal', (b) => b.verifyManyAsync([], { signal: {} as never }), typeError('options.signal must be an AbortSignal')],
  ['options.chunkSize zero', (b) => b.signManyAsync(sk, [], { chunkSize: 0 }), { threw: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: 'options.chunkSize must be a positive integer', index: undefined }],
  ['options.concurrency a string', (b) => b.verifyManyAsync([], { concurrency: '2' as never }), typeError('options.concurrency must be a number')],
];
for (const asyncToo of [false, true]) {
  for (const [name, call, expected] of badCases) {
    test(`bad arguments${asyncToo ? ' (async)' : ''}: ${name}`, async (t) => {
      // The same case through the async variant: a rejected promise with the same error, never a throw.
      const run = (b: Ed25519Backend) => {
        if (!asyncToo) return call(b);
        const asyncBackend: Ed25519Backend = {
          ...b,
          signMany: ((s: never, m: never) => b.signManyAsync(s, m)) as never,
          signManyInto: ((s: never, m: never, o: never) => b.signManyIntoAsync(s, m, o)) as never,
          verifyMany: ((i: never) => b.verifyManyAsync(i)) as never,
        };
        let result: unknown;
        t.notThrows(() => {
          result = call(asyncBackend);
        });
        t.true(result instanceof Promise);
        return result;
      };
      t.deepEqual(await outcome(() => run(ed.backend === 'native' ? (ed as unknown as Ed25519Backend) : fallback)), expected);
      t.deepEqual(await outcome(() => run(fallback)), expected);
    });
  }
}

test('errors are real NarsignError / TypeError instances', async (t) => {
  const e = t.throws(() => ed.verifyMany([{ publicKey: pk, signature: sig.subarray(2), message: '' }]), { instanceOf: ed.NarsignError });
  t.is((e as ed.BatchItemError).index, 0);
  await t.throwsAsync(ed.signManyAsync(sk, [1 as never]), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' } as never);
});

test('random garbage elements end the same way on both backends', async (t) => {
  const { secretKey, publicKey } = randomKeyPair();
  const anything = fc.oneof(
    fc.string(),
    fc.uint8Array({ maxLength: 80 }),
    fc.anything(),
    fc.constantFrom(null, undefined, 0, detachedView(), new DataView(new ArrayBuffer(64))),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(anything, { maxLength: 6 }), fc.array(fc.record({ publicKey: anything, signature: anything, message: anything }), { maxLength: 4 }), async (messages, items) => {
      const b = ed as unknown as Ed25519Backend;
      const withKeys = items.map((it, i) => (i % 2 ? { ...it, publicKey, signature: Buffer.alloc(64) } : it));
      {
        const signed = await outcome(() => b.signMany(secretKey, messages as Message[]));
        t.deepEqual(signed, await outcome(() => fallback.signMany(secretKey, messages as Message[])));
        t.deepEqual(await outcome(() => b.signManyAsync(secretKey, messages as Message[])), signed);
        const verified = await outcome(() => b.verifyMany(withKeys as VerifyItem[]));
        t.deepEqual(verified, await outcome(() => fallback.verifyMany(withKeys as VerifyItem[])));
        t.deepEqual(await outcome(() => b.verifyManyAsync(withKeys as VerifyItem[])), verified);
      }
    }),
    { numRuns: 150 },
  );
});

/** An array whose element `at` is a getter running `effect` (once) when the batch reads it. */
function withGetter<T>(values: T[], at: number, effect: () => void): T[] {
  const list = values.slice();
  const value = list[at];
  let ran = false;
  Object.defineProperty(list, at, {
    get() {
      if (!ran) {
        ran = true;
        effect();
      }
      return value;
    },
  });
  return list;
}

for (const which of ['current', 'fallback'] as const) {
  const b = () => (which === 'current' ? (ed as unknown as Ed25519Backend) : fallback);

  test(`abort mid-batch rejects with ERR_ABORTED and stops (${which} backend)`, async (t) => {
    const { secretKey, publicKey } = randomKeyPair();
    const n = 20_000;
    const messages = Array.from({ length: n }, (_, i) => `message ${i}`);
    const controller = new AbortController();
    const reason = new Error('stop');
    let readAfterAbort = 0;
    const list = withGetter(messages, 5000, () => controller.abort(reason));
    // Count reads of elements well after the abort point: the scheduler must stop queueing.
    for (let i = 12_000; i < n; i++) {
      const value = list[i];
      Object.defineProperty(list, i, { get: () => ((readAfterAbort += 1), value) });
    }
    const error = await t.throwsAsync(b().signManyAsync(secretKey, list, { signal: controller.signal }), {
      instanceOf: ed.NarsignError,
      code: 'ERR_ABORTED',
      message: 'the operation was aborted',
    });
    t.is(error?.cause, reason);
    t.is(readAfterAbort, 0);

    const items = messages.map((message) => ({ publicKey, signature: Buffer.alloc(64), message }));
    const verifyController = new AbortController();
    await t.throwsAsync(b().verifyManyAsync(withGetter(items, 3000, () => verifyController.abort()), { signal: verifyController.signal }), {
      code: 'ERR_ABORTED',
    });

    // Already aborted: rejects before reading any element.
    let read = false;
    const untouched = withGetter(['a'], 0, () => (read = true));
    await t.throwsAsync(b().signManyIntoAsync(secretKey, untouched, new Uint8Array(64), { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
    t.false(read);
    // The batch functions still work afterwards.
    t.deepEqual(hex(await b().signManyAsync(secretKey, ['x'])), hex([ed.signDetached(secretKey, 'x')]));
  });

  test(`getters that detach buffers halfway end in typed errors or correct results, never a crash (${which} backend)`, async (t) => {
    const { seed, secretKey, publicKey } = randomKeyPair();
    const messages = Array.from({ length: 3000 }, (_, i) => `m${i}`);
    const expected = messages.map((m) => nodeSign(seed, Buffer.from(m)).toString('hex'));

    // The secret key detached while the batch reads the messages: signatures still use the key as passed.
    for (const sign of [(k: Uint8Array, l: Message[]) => b().signMany(k, l), (k: Uint8Array, l: Message[]) => b().signManyAsync(k, l)]) {
      const key = new Uint8Array(new ArrayBuffer(64));
      key.set(secretKey);
      const list = withGetter(messages, 1500, () => structuredClone(key.buffer, { transfer: [key.buffer] }));
      t.deepEqual(hex(await sign(key, list)), expected);
      t.is(key.byteLength, 0);
    }

    // An earlier message detached by a later getter: no effect on the signature already made.
    const own = new Uint8Array(new ArrayBuffer(5));
    own.set(Buffer.from('early'));
    const list = withGetter(['x', own, 'y'], 2, () => structuredClone(own.buffer, { transfer: [own.buffer] }));
    t.deepEqual(hex(b().signMany(secretKey, list)), ['x', 'early', 'y'].map((m) => nodeSign(seed, Buffer.from(m)).toString('hex')));

    // A message detached before its chunk is read (async): a TypeError naming it.
    const late = new Uint8Array(new ArrayBuffer(4));
    const withLate: Message[] = [...messages, late];
    await t.throwsAsync(
      b().signManyAsync(secretKey, withGetter(withLate, 1000, () => structuredClone(late.buffer, { transfer: [late.buffer] }))),
      { instanceOf: TypeError, code: 'ERR_DETACHED_BUFFER', message: 'messages[3000] is a view over a detached ArrayBuffer' },
    );

    // The caller's output detached while chunks are running: a TypeError about the output.
    const output = new Uint8Array(new ArrayBuffer(messages.length * 64));
    await t.throwsAsync(
      b().signManyIntoAsync(secretKey, withGetter(messages, 2900, () => structuredClone(output.buffer, { transfer: [output.buffer] })), output, { chunkSize: 100 }),
      { instanceOf: TypeError, code: 'ERR_DETACHED_BUFFER', message: 'output is a view over a detached ArrayBuffer' },
    );
    // Sync: the output is checked again before it is written.
    const syncOutput = new Uint8Array(new ArrayBuffer(messages.length * 64));
    t.throws(() => b().signManyInto(secretKey, withGetter(messages, 10, () => structuredClone(syncOutput.buffer, { transfer: [syncOutput.buffer] })), syncOutput), {
      instanceOf: TypeError,
      code: 'ERR_DETACHED_BUFFER',
      message: 'output is a view over a detached ArrayBuffer',
    });

    // verifyMany: a message getter that detaches the item's own public key (all three are read first).
    const signature = nodeSign(seed, Buffer.from('hello'));
    const keyCopy = new Uint8Array(new ArrayBuffer(32));
    keyCopy.set(publicKey);
    const item = {
      publicKey: keyCopy,
      signature,
      get message() {
        structuredClone(keyCopy.buffer, { transfer: [keyCopy.buffer] });
        return 'hello';
      },
    };
    t.throws(() => b().verifyMany([item]), { instanceOf: TypeError, code: 'ERR_DETACHED_BUFFER', message: 'items[0].publicKey is a view over a detached ArrayBuffer' });

    // A getter that throws: its error comes out as it is.
    const boom = new Error('boom');
    const throwing = withGetter(['a', 'b'], 1, () => {
      throw boom;
    });
    t.is(t.throws(() => b().signMany(secretKey, throwing)), boom);
    t.is(await t.throwsAsync(b().signManyAsync(secretKey, withGetter(['a', 'b'], 1, () => { throw boom; }))), boom);
  });
}
