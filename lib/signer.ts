/**
 * Signers: a secret key held in libsodium guarded memory for as long as a program signs with it.
 *
 * `createSigner(key)` copies the 64-byte key (or the key a `NAME:BASE64` string decodes to, checked
 * by parseSecretKey) into sodium_malloc memory — guard pages around it, locked in RAM so it is never
 * swapped out, read-only once written — inside an opaque object, and wipes the temporary bytes it
 * decoded. Every `secretKey` parameter (signDetached, publicKeyFromSecretKey, signMany,
 * signManyInto and their async forms) takes the signer instead of the bytes, on both backends; the
 * key is read from the guarded memory and never copied onto the JS heap. The narinfo signers
 * (signNarinfo, signFingerprint, signCache, signLegacy2015) also need a key name: they take a signer
 * made from a key string, or `{ name, secretKey: signer }` (lib/keys.ts toSigningKey). Async batches copy it into
 * guarded memory of their own when they begin, so disposing a signer while a batch runs is safe.
 *
 * The object shows no secret: its only properties are `name` (when made from a key string), the
 * `publicKey` getter (a copy) and `disposed`. `dispose()` (or `using signer = createSigner(...)`)
 * wipes and frees the memory; a signer never disposed is freed when garbage-collected. Passing a
 * disposed signer throws NarsignError `ERR_SIGNER_DISPOSED`.
 */
import { impl } from './backend';
import type { Bytes, Signer } from './ed25519-types';
import { argTypeError } from './errors';
import { parseSecretKey } from './keys';

export type { Signer, SigningKey } from './ed25519-types';

/**
 * A Signer holding `secretKey`: 64 bytes (seed ‖ public key, copied; the caller's bytes are left as
 * they are) or a `NAME:BASE64` key string (parsed, checked that its halves match, the decoded bytes
 * wiped; the signer's `name` is the key's name).
 */
export function createSigner(secretKey: Bytes | string): Signer {
  if (typeof secretKey === 'string') {
    const parsed = parseSecretKey(secretKey);
    try {
      const signer = impl.createSigner(parsed.secretKey);
      Object.defineProperty(signer, 'name', { value: parsed.name, enumerable: true });
      return signer;
    } finally {
      parsed.secretKey.fill(0);
    }
  }
  if (!ArrayBuffer.isView(secretKey)) throw argTypeError('secretKey must be a key string NAME:BASE64 or an ArrayBufferView');
  return impl.createSigner(secretKey);
}
