/**
 * The fallback backend: the same functions as the native addon, over sodium-native, with the same
 * argument checks, error classes, codes and messages (native/args.cc is the model to keep in step).
 */
import { argTypeError, NarsignError } from './errors';
import type { Bytes, Ed25519Backend, KeyPair, Message } from './ed25519-types';

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
}

const EMPTY = new Uint8Array(0);

function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0 || !(buffer instanceof ArrayBuffer)) return false;
  // Node 20 has no ArrayBuffer.prototype.detached; constructing a view over a detached buffer throws.
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** Mirror of native ViewArg: any non-detached ArrayBufferView, as a Uint8Array over the same memory. */
export function viewArg(value: unknown, what: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) {
    throw argTypeError(`${what} must be a Uint8Array, Buffer or other ArrayBufferView`);
  }
  if (isDetached(value.buffer)) {
    throw argTypeError(`${what} is a view over a detached ArrayBuffer`, 'ERR_DETACHED_BUFFER');
  }
  if (value.byteLength === 0) return EMPTY;
  return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function fixedArg(value: unknown, what: string, expected: number, code: string, message: string): Uint8Array {
  const bytes = viewArg(value, what);
  if (bytes.byteLength !== expected) throw new NarsignError(code, message);
  return bytes;
}

const secretKeyArg = (v: unknown) =>
  fixedArg(v, 'secretKey', sodium.crypto_sign_SECRETKEYBYTES, 'ERR_SECRET_KEY_INVALID', 'secret key is not valid');
const publicKeyArg = (v: unknown) =>
  fixedArg(v, 'publicKey', sodium.crypto_sign_PUBLICKEYBYTES, 'ERR_PUBLIC_KEY_INVALID', 'public key is not valid');
const signatureArg = (v: unknown) =>
  fixedArg(v, 'signature', sodium.crypto_sign_BYTES, 'ERR_SIGNATURE_INVALID', 'signature is not valid');
const seedArg = (v: unknown) =>
  fixedArg(v, 'seed', sodium.crypto_sign_SEEDBYTES, 'ERR_SEED_INVALID', 'seed is not valid');

function messageArg(value: unknown, what = 'message'): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (!ArrayBuffer.isView(value)) throw argTypeError(`${what} must be a string or an ArrayBufferView`);
  return viewArg(value, what);
}

function newKeyPair(): KeyPair {
  return {
    publicKey: Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES),
    secretKey: Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES),
  };
}

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

  publicKeyFromSecretKey(secretKey: Bytes) {
    const sk = secretKeyArg(secretKey);
    const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
    sodium.crypto_sign_ed25519_sk_to_pk(publicKey, sk);
    return publicKey;
  },

  signDetached(secretKey: Bytes, message: Message) {
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
};
