/**
 * Independent Ed25519 implementations used as oracles: node:crypto (OpenSSL) and sodium-native.
 * Neither shares code with narsign's native addon.
 */
import crypto from 'node:crypto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const sodium = require('sodium-native') as {
  crypto_sign_BYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_SEEDBYTES: number;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
};

// PKCS#8 / SPKI DER prefixes for a raw Ed25519 seed / public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function nodePrivateKey(seed: Uint8Array): crypto.KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}
export function nodePublicKey(publicKey: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}
/** The raw 32-byte public key node:crypto derives from a seed. */
export function nodePublicKeyOfSeed(seed: Uint8Array): Buffer {
  const der = crypto.createPublicKey(nodePrivateKey(seed)).export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length);
}
export function nodeSign(seed: Uint8Array, message: Uint8Array): Buffer {
  return crypto.sign(null, message, nodePrivateKey(seed));
}
export function nodeVerify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  return crypto.verify(null, message, nodePublicKey(publicKey), signature);
}

export function sodiumKeyPair(seed: Uint8Array): { publicKey: Buffer; secretKey: Buffer } {
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { publicKey, secretKey };
}
export function sodiumSign(secretKey: Uint8Array, message: Uint8Array): Buffer {
  const signature = Buffer.alloc(sodium.crypto_sign_BYTES);
  sodium.crypto_sign_detached(signature, message, secretKey);
  return signature;
}

/** A Nix key or signature string `NAME:BASE64`, decoded with Node's own base64 (not narsign's). */
export function splitNixString(text: string): { name: string; bytes: Buffer } {
  const colon = text.indexOf(':');
  return { name: text.slice(0, colon), bytes: Buffer.from(text.slice(colon + 1), 'base64') };
}
