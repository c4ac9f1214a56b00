/** The shape both backends share: the native addon (native/) and the sodium-native fallback. */

/** Bytes narsign accepts: any ArrayBufferView (Buffer, Uint8Array, DataView, …) not over a detached buffer. */
export type Bytes = ArrayBufferView;
/** A message to sign or verify: a string (signed as its UTF-8 bytes) or bytes. */
export type Message = string | ArrayBufferView;

/**
 * A secret key held in libsodium guarded memory (sodium_malloc: guard pages, locked in RAM, read-only
 * once written) behind an opaque object, made by createSigner (lib/signer.ts). Every `secretKey`
 * parameter accepts one instead of the 64 bytes; the key never comes back out. dispose() wipes and
 * frees the memory (idempotent; a garbage-collected signer is freed too); a disposed signer passed
 * as a secret key throws NarsignError `ERR_SIGNER_DISPOSED`.
 */
export interface Signer {
  /** The key's name, when it was made from a `NAME:BASE64` string. */
  readonly name?: string;
  /** 32 bytes: a copy of the public half. */
  readonly publicKey: Buffer;
  /** Whether dispose() was called. */
  readonly disposed: boolean;
  dispose(): void;
  [Symbol.dispose](): void;
}

/** What a `secretKey` parameter takes: the 64 bytes (seed ‖ public key), or a Signer holding them. */
export type SigningKey = Bytes | Signer;

export interface KeyPair {
  /** 32 bytes. */
  publicKey: Buffer;
  /** 64 bytes: the 32-byte seed followed by the public key, as libsodium (and Nix) store it. */
  secretKey: Buffer;
}

/** One signature to check in a batch: the same three arguments as verifyDetached. */
export interface VerifyItem {
  publicKey: Bytes;
  signature: Bytes;
  message: Message;
}

/** Options of the async batch functions. */
export interface BatchOptions {
  /** Aborting stops the remaining work; the promise then rejects with a NarsignError `ERR_ABORTED`. */
  signal?: AbortSignal;
  /**
   * Items per chunk (one chunk is copied on the JS thread, then computed on a libuv pool thread).
   * Default: sized to the batch, 64 to 512 signatures or 128 verifications.
   */
  chunkSize?: number;
  /** Chunks in flight at once (native backend). Default: twice the number of cores, at least 4. */
  concurrency?: number;
}

export interface Ed25519Backend {
  readonly SECRETKEYBYTES: number;
  readonly PUBLICKEYBYTES: number;
  readonly SIGNATUREBYTES: number;
  readonly SEEDBYTES: number;
  generateKeyPair(): KeyPair;
  keyPairFromSeed(seed: Bytes): KeyPair;
  publicKeyFromSecretKey(secretKey: SigningKey): Buffer;
  signDetached(secretKey: SigningKey, message: Message): Buffer;
  verifyDetached(publicKey: Bytes, signature: Bytes, message: Message): boolean;

  // Batches (lib/batch.ts documents them).
  signMany(secretKey: SigningKey, messages: readonly Message[]): Buffer[];
  signManyInto<T extends ArrayBufferView>(secretKey: SigningKey, messages: readonly Message[], output: T): T;
  verifyMany(items: readonly VerifyItem[]): boolean[];
  signManyAsync(secretKey: SigningKey, messages: readonly Message[], options?: BatchOptions): Promise<Buffer[]>;
  signManyIntoAsync<T extends ArrayBufferView>(
    secretKey: SigningKey,
    messages: readonly Message[],
    output: T,
    options?: BatchOptions,
  ): Promise<T>;
  verifyManyAsync(items: readonly VerifyItem[], options?: BatchOptions): Promise<boolean[]>;

  /** A Signer over a copy of these 64 bytes (lib/signer.ts adds the name). */
  createSigner(secretKey: Bytes): Signer;
}

export type BackendName = 'native' | 'sodium-native';
