/** The shape both backends share: the native addon (native/) and the sodium-native fallback. */

/** Bytes narsign accepts: any ArrayBufferView (Buffer, Uint8Array, DataView, …) not over a detached buffer. */
export type Bytes = ArrayBufferView;
/** A message to sign or verify: a string (signed as its UTF-8 bytes) or bytes. */
export type Message = string | ArrayBufferView;

export interface KeyPair {
  /** 32 bytes. */
  publicKey: Buffer;
  /** 64 bytes: the 32-byte seed followed by the public key, as libsodium (and Nix) store it. */
  secretKey: Buffer;
}

export interface Ed25519Backend {
  readonly SECRETKEYBYTES: number;
  readonly PUBLICKEYBYTES: number;
  readonly SIGNATUREBYTES: number;
  readonly SEEDBYTES: number;
  generateKeyPair(): KeyPair;
  keyPairFromSeed(seed: Bytes): KeyPair;
  publicKeyFromSecretKey(secretKey: Bytes): Buffer;
  signDetached(secretKey: Bytes, message: Message): Buffer;
  verifyDetached(publicKey: Bytes, signature: Bytes, message: Message): boolean;
}

export type BackendName = 'native' | 'sodium-native';
