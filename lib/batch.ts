/**
 * Batch signing and verification: many signatures per call, one crossing into C++ per batch (sync)
 * or per chunk on the libuv pool, all cores busy and the event loop free (async).
 *
 * Semantics (identical on both backends):
 * - Every element is checked like the single calls (signDetached / verifyDetached), and errors name
 *   the element: a wrong type is a TypeError (`messages[3] must be a string or an ArrayBufferView`,
 *   code ERR_INVALID_ARG_TYPE; ERR_DETACHED_BUFFER for a view over a detached buffer); a key or
 *   signature of the wrong length is a NarsignError with Store.xs's message and code plus the element,
 *   e.g. `signature is not valid (items[2].signature)` (ERR_SIGNATURE_INVALID) with `error.index === 2`.
 * - A wrong-length key or signature in verifyMany is such an error for the whole call, never a quiet
 *   `false`: that is what Nix does (its verifyDetached throws "signature is not valid" for a signature
 *   that is not 64 bytes), and it keeps verifyMany(items)[i] === verifyDetached(...items[i]) whenever
 *   both return. A well-formed signature that does not verify is `false`.
 * - Async batches check the options, the key and the array up front, then read the elements chunk by
 *   chunk while the promise is pending (each chunk's inputs are copied before they leave the JS
 *   thread): an invalid element rejects the promise when its chunk is reached, and stops the rest.
 *   Do not change the array or its buffers until the promise settles.
 * - `signal`: aborting stops the remaining chunks (running ones stop before their next item) and
 *   rejects with NarsignError `ERR_ABORTED` (the signal's reason as `cause`); a signal that is already
 *   aborted rejects before any work.
 * - `…Into` variants write signature i to output bytes [64·i, 64·i+64) of a caller's view that must hold
 *   at least 64 × messages.length bytes (NarsignError ERR_OUTPUT_TOO_SMALL otherwise); this saves
 *   the per-signature Buffer. On an error, the output's contents are unspecified.
 *
 * Speed: sync batches cross into C++ once per batch; async ones once per chunk (options.chunkSize,
 * default 64–512 signatures or 64–128 verifications) with options.concurrency chunks in flight
 * (default twice the cores, at least 4) on the libuv thread pool — which fs and dns share, so a
 * caller mixing heavy I/O with big batches may want fewer in flight. The `…Into` variants are the
 * fastest way to sign many messages (no Buffer object per signature, so less garbage collection).
 */
import { impl } from './backend';
import type { BatchOptions, Message, SigningKey, VerifyItem } from './ed25519-types';

export type { BatchOptions, VerifyItem } from './ed25519-types';
export type { BatchItemError } from './batch-shared';

/** Signs every message with one secret key: signature i (a 64-byte view into one buffer) is for messages[i]. */
export const signMany: (secretKey: SigningKey, messages: readonly Message[]) => Buffer[] = impl.signMany;

/** signMany into the caller's buffer (≥ 64 × messages.length bytes); returns `output`. */
export const signManyInto: <T extends ArrayBufferView>(secretKey: SigningKey, messages: readonly Message[], output: T) => T =
  impl.signManyInto;

/** verifyDetached for every item: result i says whether items[i].signature is valid. */
export const verifyMany: (items: readonly VerifyItem[]) => boolean[] = impl.verifyMany;

/** signMany on the libuv pool, in chunks, with the event loop free. */
export const signManyAsync: (secretKey: SigningKey, messages: readonly Message[], options?: BatchOptions) => Promise<Buffer[]> =
  impl.signManyAsync;

/** signManyAsync into the caller's buffer; resolves to `output`. */
export const signManyIntoAsync: <T extends ArrayBufferView>(
  secretKey: SigningKey,
  messages: readonly Message[],
  output: T,
  options?: BatchOptions,
) => Promise<T> = impl.signManyIntoAsync;

/** verifyMany on the libuv pool, in chunks, with the event loop free. */
export const verifyManyAsync: (items: readonly VerifyItem[], options?: BatchOptions) => Promise<boolean[]> =
  impl.verifyManyAsync;
