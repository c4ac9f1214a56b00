/**
 * The fallback backend: the same functions as the native addon, over sodium-native, with the same
 * argument checks, error classes, codes and messages (native/args.cc is the model to keep in step).
 */
import { argTypeError, NarsignError } from './errors';
import type { BatchOptions, Bytes, Ed25519Backend, KeyPair, Message, Signer as SignerShape, SigningKey, VerifyItem } from './ed25519-types';
import { inputViewArg, viewArg } from './views';
import {
  abortError,
  arrayArg,
  chunkSizeFor,
  itemError,
  optionsArg,
  outputArg,
  SIGN_CHUNK,
  signCountArg,
  splitSignatures,
  VERIFY_CHUNK,
} from './batch-shared';

export { viewArg } from './views';

// sodium-native ships prebuilt binaries for the common platforms; it is loaded only when needed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sodium = require('sodium-native') as SodiumNative;

interface SodiumNative {
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_BYTES: number;
  crypto_sign_SEEDBYTES: number;
  crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_ed25519_sk_to_pk(pk: Uint8Array, sk: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  sodium_malloc(size: number): Buffer;
  sodium_free(buffer: Buffer): void;
  sodium_mprotect_readonly(buffer: Buffer): void;
  sodium_memzero(buffer: Uint8Array): void;
}

function fixedArg(value: unknown, what: string, expected: number, code: string, message: string): Uint8Array {
  const bytes = inputViewArg(value, what);
  if (bytes.byteLength !== expected) throw new NarsignError(code, message);
  return bytes;
}

const secretKeyBytesArg = (v: unknown) =>
  fixedArg(v, 'secretKey', sodium.crypto_sign_SECRETKEYBYTES, 'ERR_SECRET_KEY_INVALID', 'secret key is not valid');

/**
 * The fallback's Signer (native/signer.cc is the model): the key in sodium_malloc memory (guard
 * pages, mlock'd), read-only once written, in a private field; sodium_free wipes it on dispose().
 * A signer never disposed is freed with its buffer when garbage-collected (sodium-native's finalizer).
 */
class Signer implements SignerShape {
  #key: Buffer | undefined;
  readonly #publicKey: Buffer;

  constructor(secretKey: unknown) {
    const bytes = secretKeyBytesArg(secretKey);
    const key = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES);
    key.set(bytes);
    this.#publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
    sodium.crypto_sign_ed25519_sk_to_pk(this.#publicKey, key);
    sodium.sodium_mprotect_readonly(key);
    this.#key = key;
  }

  get publicKey(): Buffer {
    return Buffer.from(this.#publicKey);
  }

  get disposed(): boolean {
    return this.#key === undefined;
  }

  dispose(): void {
    const key = this.#key;
    this.#key = undefined;
    if (key) sodium.sodium_free(key);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The key of a signer (throws once disposed), or undefined for anything that is not a signer. */
  static keyOf(value: unknown): Buffer | undefined {
    if (typeof value !== 'object' || value === null || !(#key in value)) return undefined;
    const key = (value as Signer).#key;
    if (key === undefined) throw new NarsignError('ERR_SIGNER_DISPOSED', 'the signer has been disposed');
    return key;
  }
}

/** A secret key argument: a live signer's guarded memory, or 64 bytes. */
const secretKeyArg = (v: unknown): Uint8Array => Signer.keyOf(v) ?? secretKeyBytesArg(v);
const publicKeyArg = (v: unknown) =>
  fixedArg(v, 'publicKey', sodium.crypto_sign_PUBLICKEYBYTES, 'ERR_PUBLIC_KEY_INVALID', 'public key is not valid');
const signatureArg = (v: unknown) =>
  fixedArg(v, 'signature', sodium.crypto_sign_BYTES, 'ERR_SIGNATURE_INVALID', 'signature is not valid');
const seedArg = (v: unknown) =>
  fixedArg(v, 'seed', sodium.crypto_sign_SEEDBYTES, 'ERR_SEED_INVALID', 'seed is not valid');

function messageArg(value: unknown, what = 'message'): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (!ArrayBuffer.isView(value)) throw argTypeError(`${what} must be a string or an ArrayBufferView`);
  return inputViewArg(value, what);
}

function newKeyPair(): KeyPair {
  return {
    publicKey: Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES),
    secretKey: Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES),
  };
}

// ---- batches: the same checks, messages and result shapes as native/batch.cc ----------------------

const SIG = sodium.crypto_sign_BYTES;

/** messages[i] as bytes; the element's name is built only when something is wrong. */
function messageAt(list: readonly unknown[], i: number): Uint8Array {
  const value = list[i];
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (!ArrayBuffer.isView(value)) throw argTypeError(`messages[${i}] must be a string or an ArrayBufferView`);
  return inputViewArg(value, `messages[${i}]`);
}

function itemKeyAt(value: unknown, i: number, field: string, expected: number, code: string, message: string): Uint8Array {
  const bytes = inputViewArg(value, `items[${i}].${field}`);
  if (bytes.byteLength !== expected) throw itemError(code, `${message} (items[${i}].${field})`, i);
  return bytes;
}

/** items[i], checked in the native order: the object, then publicKey, signature, message. */
function itemAt(list: readonly unknown[], i: number): { pk: Uint8Array; sig: Uint8Array; m: Uint8Array } {
  const item = list[i];
  if (item === null || typeof item !== 'object') {
    throw argTypeError(`items[${i}] must be an object with publicKey, signature and message`);
  }
  const { publicKey, signature, message } = item as VerifyItem;
  const pk = itemKeyAt(publicKey, i, 'publicKey', sodium.crypto_sign_PUBLICKEYBYTES, 'ERR_PUBLIC_KEY_INVALID', 'public key is not valid');
  const sig = itemKeyAt(signature, i, 'signature', SIG, 'ERR_SIGNATURE_INVALID', 'signature is not valid');
  let m: Uint8Array;
  if (typeof message === 'string') m = Buffer.from(message, 'utf8');
  else if (!ArrayBuffer.isView(message)) throw argTypeError(`items[${i}].message must be a string or an ArrayBufferView`);
  else m = inputViewArg(message, `items[${i}].message`);
  return { pk, sig, m };
}

/** Signs list[start..end) into `into` (end - start) × 64 bytes. */
function signRange(sk: Uint8Array, list: readonly unknown[], start: number, end: number, into: Uint8Array): void {
  for (let i = start; i < end; i++) {
    const m = messageAt(list, i);
    sodium.crypto_sign_detached(into.subarray((i - start) * SIG, (i - start + 1) * SIG), m, sk);
  }
}

/** A copy of the secret key in sodium_malloc memory, for batches that outlive the call. */
function secureKeyCopy(sk: Uint8Array): Buffer {
  const copy = sodium.sodium_malloc(sk.byteLength);
  copy.set(sk);
  return copy;
}

/**
 * Runs `fn` with a copy of the secret key, wiped afterwards: reading the messages may run getters,
 * which could otherwise change or detach the caller's key halfway through (native copies it too).
 */
function withKeyCopy(sk: Uint8Array, fn: (key: Uint8Array) => void): void {
  // A key in guarded memory (a signer's) is copied into guarded memory, never onto the JS heap; the
  // copy also keeps a dispose() run by a getter from freeing the key in use.
  const secure = (sk as Buffer & { secure?: boolean }).secure === true;
  const key = secure ? secureKeyCopy(sk) : Buffer.alloc(sk.byteLength);
  if (!secure) key.set(sk);
  try {
    fn(key);
  } finally {
    sodium.sodium_memzero(key);
    if (secure) sodium.sodium_free(key);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Async batches on one thread: sync chunks of a few milliseconds with a turn of the event loop
 * between them; the signal is checked before every chunk.
 */
async function signManyAsyncImpl(
  secretKey: SigningKey,
  messages: readonly Message[],
  options: BatchOptions | undefined,
  output: ArrayBufferView | undefined,
  withOutput: boolean,
): Promise<Buffer[] | undefined> {
  const opts = optionsArg(options);
  const sk = secretKeyArg(secretKey);
  const list = arrayArg(messages, 'messages');
  const n = signCountArg(list);
  if (withOutput) outputArg(output, n, SIG);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const chunk = chunkSizeFor(n, 1, SIGN_CHUNK.min / 2, SIGN_CHUNK.max / 4, opts.chunkSize);
  const flat = withOutput ? undefined : Buffer.allocUnsafeSlow(n * SIG);
  const views = withOutput ? undefined : new Array<Buffer>(n);
  const key = secureKeyCopy(sk);
  try {
    const scratch = Buffer.alloc(Math.min(n, chunk) * SIG);
    for (let start = 0; start < n; start += chunk) {
      if (start > 0) await nextTurn();
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const end = Math.min(n, start + chunk);
      signRange(key, list, start, end, scratch);
      const target = withOutput ? outputArg(output, end, SIG) : flat!;
      target.set(scratch.subarray(0, (end - start) * SIG), start * SIG);
      if (views) splitSignatures(flat!, start, end, views, SIG);
    }
  } finally {
    sodium.sodium_memzero(key);
  }
  return views;
}

const batchFunctions = {
  signMany(secretKey: SigningKey, messages: readonly Message[]): Buffer[] {
    const sk = secretKeyArg(secretKey);
    const list = arrayArg(messages, 'messages');
    const n = signCountArg(list); // read once, as native code does: an element's getter may resize the array
    let flat = Buffer.alloc(0);
    withKeyCopy(sk, (key) => {
      // Element 0 is signed before n × 64 bytes are allocated, as native code does: an array of
      // holes fails on messages[0] without first costing gigabytes.
      const first = Buffer.allocUnsafe(SIG);
      if (n > 0) signRange(key, list, 0, 1, first);
      flat = Buffer.allocUnsafeSlow(n * SIG);
      if (n > 0) flat.set(first);
      signRange(key, list, 1, n, flat.subarray(SIG));
    });
    const views = new Array<Buffer>(n);
    splitSignatures(flat, 0, n, views, SIG);
    return views;
  },

  signManyInto<T extends ArrayBufferView>(secretKey: SigningKey, messages: readonly Message[], output: T): T {
    const sk = secretKeyArg(secretKey);
    const list = arrayArg(messages, 'messages');
    const n = signCountArg(list);
    outputArg(output, n, SIG);
    const scratch = Buffer.allocUnsafe(n * SIG);
    withKeyCopy(sk, (key) => signRange(key, list, 0, n, scratch));
    outputArg(output, n, SIG).set(scratch);
    return output;
  },

  verifyMany(items: readonly VerifyItem[]): boolean[] {
    const list = arrayArg(items, 'items');
    const n = list.length;
    const result = new Array<boolean>(n);
    for (let i = 0; i < n; i++) {
      const { pk, sig, m } = itemAt(list, i);
      result[i] = sodium.crypto_sign_verify_detached(sig, m, pk);
    }
    return result;
  },

  async signManyAsync(secretKey: SigningKey, messages: readonly Message[], options?: BatchOptions): Promise<Buffer[]> {
    return (await signManyAsyncImpl(secretKey, messages, options, undefined, false))!;
  },

  async signManyIntoAsync<T extends ArrayBufferView>(
    secretKey: SigningKey,
    messages: readonly Message[],
    output: T,
    options?: BatchOptions,
  ): Promise<T> {
    await signManyAsyncImpl(secretKey, messages, options, output, true);
    return output;
  },

  async verifyManyAsync(items: readonly VerifyItem[], options?: BatchOptions): Promise<boolean[]> {
    const opts = optionsArg(options);
    const list = arrayArg(items, 'items');
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const n = list.length;
    const chunk = chunkSizeFor(n, 1, VERIFY_CHUNK.min / 2, VERIFY_CHUNK.max / 2, opts.chunkSize);
    const result = new Array<boolean>(n);
    for (let start = 0; start < n; start += chunk) {
      if (start > 0) await nextTurn();
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const end = Math.min(n, start + chunk);
      for (let i = start; i < end; i++) {
        const { pk, sig, m } = itemAt(list, i);
        result[i] = sodium.crypto_sign_verify_detached(sig, m, pk);
      }
    }
    return result;
  },
};

export const sodiumBackend: Ed25519Backend = {
  SECRETKEYBYTES: sodium.crypto_sign_SECRETKEYBYTES,
  PUBLICKEYBYTES: sodium.crypto_sign_PUBLICKEYBYTES,
  SIGNATUREBYTES: sodium.crypto_sign_BYTES,
  SEEDBYTES: sodium.crypto_sign_SEEDBYTES,

  generateKeyPair() {
    const pair = newKeyPair();
    sodium.crypto_sign_keypair(pair.publicKey, pair.secretKey);
    return pair;
  },

  keyPairFromSeed(seed: Bytes) {
    const seedBytes = seedArg(seed);
    const pair = newKeyPair();
    sodium.crypto_sign_seed_keypair(pair.publicKey, pair.secretKey, seedBytes);
    return pair;
  },

  publicKeyFromSecretKey(secretKey: SigningKey) {
    const sk = secretKeyArg(secretKey);
    const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
    sodium.crypto_sign_ed25519_sk_to_pk(publicKey, sk);
    return publicKey;
  },

  signDetached(secretKey: SigningKey, message: Message) {
    const sk = secretKeyArg(secretKey);
    const m = messageArg(message);
    const signature = Buffer.allocUnsafe(sodium.crypto_sign_BYTES);
    sodium.crypto_sign_detached(signature, m, sk);
    return signature;
  },

  verifyDetached(publicKey: Bytes, signature: Bytes, message: Message) {
    const pk = publicKeyArg(publicKey);
    const sig = signatureArg(signature);
    const m = messageArg(message);
    return sodium.crypto_sign_verify_detached(sig, m, pk);
  },

  ...batchFunctions,

  createSigner(secretKey: Bytes): SignerShape {
    return new Signer(secretKey);
  },
};
