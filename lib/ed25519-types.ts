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
  publicKeyFromSecretKey(secretKey: Bytes): Buffer;
  signDetached(secretKey: Bytes, message: Message): Buffer;
  verifyDetached(publicKey: Bytes, signature: Bytes, message: Message): boolean;

  // Batches (lib/batch.ts documents them).
  signMany(secretKey: Bytes, messages: readonly Message[]): Buffer[];
  signManyInto<T extends ArrayBufferView>(secretKey: Bytes, messages: readonly Message[], output: T): T;
  verifyMany(items: readonly VerifyItem[]): boolean[];
  signManyAsync(secretKey: Bytes, messages: readonly Message[], options?: BatchOptions): Promise<Buffer[]>;
  signManyIntoAsync<T extends ArrayBufferView>(
    secretKey: Bytes,
    messages: readonly Message[],
    output: T,
    options?: BatchOptions,
  ): Promise<T>;
  verifyManyAsync(items: readonly VerifyItem[], options?: BatchOptions): Promise<boolean[]>;
}

export type BackendName = 'native' | 'sodium-native';
