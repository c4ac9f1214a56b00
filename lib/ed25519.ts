/**
 * The public Ed25519 face: libsodium's crypto_sign_* as typed functions. Both backends validate
 * every argument themselves (TypeError naming the argument for a wrong type, NarsignError with
 * Store.xs's message for a wrong length), so these are the backend's functions, unwrapped: no extra
 * JS layer on the per-signature path.
 */
import { impl } from './backend';
import type { Bytes, KeyPair, Message, SigningKey } from './ed25519-types';

export type { Bytes, KeyPair, Message, Signer, SigningKey } from './ed25519-types';
export { backend } from './backend';

/** crypto_sign_SECRETKEYBYTES (64): seed ‖ public key. */
export const SECRETKEYBYTES: number = impl.SECRETKEYBYTES;
/** crypto_sign_PUBLICKEYBYTES (32). */
export const PUBLICKEYBYTES: number = impl.PUBLICKEYBYTES;
/** crypto_sign_BYTES (64). */
export const SIGNATUREBYTES: number = impl.SIGNATUREBYTES;
/** crypto_sign_SEEDBYTES (32). */
export const SEEDBYTES: number = impl.SEEDBYTES;

/** A fresh random key pair (crypto_sign_keypair). */
export const generateKeyPair: () => KeyPair = impl.generateKeyPair;
/** The key pair of a 32-byte seed (crypto_sign_seed_keypair). */
export const keyPairFromSeed: (seed: Bytes) => KeyPair = impl.keyPairFromSeed;
/** The public half stored in a 64-byte secret key (crypto_sign_ed25519_sk_to_pk; not checked against the seed). */
export const publicKeyFromSecretKey: (secretKey: SigningKey) => Buffer = impl.publicKeyFromSecretKey;
/** A 64-byte detached signature (crypto_sign_detached). Strings are signed as UTF-8. */
export const signDetached: (secretKey: SigningKey, message: Message) => Buffer = impl.signDetached;
/** Whether `signature` is valid for `message` under `publicKey` (crypto_sign_verify_detached). */
export const verifyDetached: (publicKey: Bytes, signature: Bytes, message: Message) => boolean = impl.verifyDetached;
