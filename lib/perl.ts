/**
 * `narsign/perl`: the signing functions of Nix's Perl bindings (Nix::Store, Nix::Manifest), which
 * Nix 2.35 removed, for programs ported from them (nix-serve, Hydra scripts).
 *
 *  - `signString(secretKey, msg)`: two generations in one function, told apart by the key's type —
 *      raw 64 bytes  → raw 64-byte signature   (2015 Store.xs: crypto_sign_detached);
 *      "NAME:BASE64" → "NAME:BASE64SIG"        (Nix 1.9–2.34: SecretKey(s).signDetached(msg)).
 *  - `checkSignature(publicKey, sig, msg)`: raw bytes in, boolean out (every version).
 *  - `fingerprintPath(storePath, narHash, narSize, references)`: Nix::Manifest::fingerprintPath.
 *
 * Errors keep Store.xs's messages: "secret key is not valid", "public key is not valid",
 * "signature is not valid" (and "secret key is corrupt" for a key string without NAME:), as
 * NarsignErrors with codes; details, when there are any, are in `cause`. The one difference: the
 * XS functions took the message as a C string, so a NUL byte silently cut it short — here a message
 * containing NUL is refused (ERR_MESSAGE_CONTAINS_NUL) rather than signing something else.
 */
import { encodeBase64 } from './base64';
import { signDetached, verifyDetached, type Bytes, type Message } from './ed25519';
import { argTypeError, NarsignError } from './errors';
import { parseHashUnprefixed } from './hash';
import { encodeNix32 } from './base32';
import { toSigningKey } from './keys';

/** Store.xs's wording for each key-string refusal that Nix itself reported. */
const STORE_XS_MESSAGES: Record<string, string> = {
  ERR_SECRET_KEY_INVALID: 'secret key is not valid',
  ERR_KEY_CORRUPT: 'secret key is corrupt', // Nix ≤ 2.24's wording; later "key is corrupt"
};

function messageBytes(msg: unknown): Message {
  if (typeof msg === 'string') {
    if (msg.includes('\0')) throw nulError();
    return msg;
  }
  if (ArrayBuffer.isView(msg)) {
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    if (bytes.includes(0)) throw nulError();
    return msg;
  }
  throw argTypeError('the message must be a string or bytes');
}

function nulError(): NarsignError {
  return new NarsignError(
    'ERR_MESSAGE_CONTAINS_NUL',
    'the message contains a NUL byte; the Perl bindings would have signed only the part before it',
  );
}

/**
 * Signs `msg` (a string, signed as UTF-8, or bytes).
 * - `secretKey` raw (64 bytes, seed ‖ public key): returns the raw 64-byte signature, as the 2015
 *   Store.xs did. A wrong length: "secret key is not valid" (ERR_SECRET_KEY_INVALID).
 * - `secretKey` a `NAME:BASE64` string: returns `NAME:BASE64SIG`, as Nix 1.9–2.34 did. Parsed with
 *   narsign's key rules (lib/keys.ts): surrounding whitespace trimmed, a name with whitespace or a
 *   public half that doesn't match the seed refused.
 */
export function signString(secretKey: string, msg: string | Bytes): string;
export function signString(secretKey: Bytes, msg: string | Bytes): Buffer;
export function signString(secretKey: string | Bytes, msg: string | Bytes): string | Buffer {
  const message = messageBytes(msg);
  if (typeof secretKey !== 'string') return signDetached(secretKey, message);

  let key;
  try {
    key = toSigningKey(secretKey);
  } catch (error) {
    const exact = error instanceof NarsignError ? STORE_XS_MESSAGES[error.code] : undefined;
    if (exact !== undefined && error instanceof NarsignError) throw new NarsignError(error.code, exact, { cause: error });
    throw error;
  }
  try {
    return `${key.name}:${encodeBase64(signDetached(key.key, message))}`;
  } finally {
    key.release();
  }
}

/**
 * Whether `signature` (64 raw bytes) is valid for `msg` under `publicKey` (32 raw bytes).
 * Wrong lengths throw, public key first, as Store.xs: "public key is not valid"
 * (ERR_PUBLIC_KEY_INVALID), "signature is not valid" (ERR_SIGNATURE_INVALID).
 */
export function checkSignature(publicKey: Bytes, signature: Bytes, msg: string | Bytes): boolean {
  return verifyDetached(publicKey, signature, messageBytes(msg));
}

export interface FingerprintPathOptions {
  /** the store directory paths must be in: default $NIX_STORE_DIR, else /nix/store (as Nix::Config) */
  storeDir?: string;
}

/**
 * The signing fingerprint `1;PATH;sha256:NIX32;SIZE;REF1,REF2,…`, computed exactly as
 * Nix::Manifest::fingerprintPath (Nix 1.9–2.x) did:
 *  - references are full store paths, joined in the order given (not sorted — callers sorted them);
 *  - a base-16 sha256 (`sha256:` + 64 hex digits, 71 characters) is converted to nix32, as its
 *    convertHash call did; any other hash text is passed through once it has the right shape.
 * Where the Perl died without a message, narsign throws a NarsignError naming the check:
 *   ERR_FINGERPRINT_PATH_OUTSIDE_STORE       the store path does not start with the store dir
 *   ERR_FINGERPRINT_HASH_NOT_SHA256          the hash does not start with "sha256:"
 *   ERR_FINGERPRINT_HASH_LENGTH              not 59 characters (sha256: + 52 nix32) after conversion
 *   ERR_FINGERPRINT_REFERENCE_OUTSIDE_STORE  a reference does not start with the store dir
 * and the hash codes of lib/hash.ts (ERR_HASH_INVALID_BASE16) where convertHash croaked.
 * Like the Perl, "starts with the store dir" is a plain prefix test.
 */
export function fingerprintPath(
  storePath: string,
  narHash: string,
  narSize: number | bigint | string,
  references: readonly string[],
  options: FingerprintPathOptions = {},
): string {
  if (typeof storePath !== 'string') throw argTypeError('storePath must be a string');
  if (typeof narHash !== 'string') throw argTypeError('narHash must be a string');
  if (!Array.isArray(references)) throw argTypeError('references must be an array of store paths');
  const size = narSizeText(narSize);
  const storeDir = options.storeDir ?? (process.env.NIX_STORE_DIR || '/nix/store');
  if (typeof storeDir !== 'string') throw argTypeError('storeDir must be a string');

  if (!storePath.startsWith(storeDir)) {
    throw new NarsignError('ERR_FINGERPRINT_PATH_OUTSIDE_STORE', `cannot fingerprint '${storePath}': it is not in the store '${storeDir}'`);
  }
  if (!narHash.startsWith('sha256:')) {
    throw new NarsignError('ERR_FINGERPRINT_HASH_NOT_SHA256', `cannot fingerprint '${storePath}': NAR hash '${narHash}' does not start with 'sha256:'`);
  }
  let hash = narHash;
  if (hash.length === 71) hash = `sha256:${encodeNix32(parseHashUnprefixed(hash.slice(7), 'sha256').digest)}`;
  if (hash.length !== 59) {
    throw new NarsignError(
      'ERR_FINGERPRINT_HASH_LENGTH',
      `cannot fingerprint '${storePath}': NAR hash '${narHash}' is neither base-32 (59 characters with 'sha256:') nor base-16 (71)`,
    );
  }
  references.forEach((ref, i) => {
    if (typeof ref !== 'string') throw argTypeError(`reference ${i + 1} must be a string`);
    if (!ref.startsWith(storeDir)) {
      throw new NarsignError('ERR_FINGERPRINT_REFERENCE_OUTSIDE_STORE', `cannot fingerprint '${storePath}': reference ${i + 1} '${ref}' is not in the store '${storeDir}'`);
    }
  });
  return `1;${storePath};${hash};${size};${references.join(',')}`;
}

/** The NAR size as Perl would have printed it, for the values a program can sensibly pass. */
function narSizeText(narSize: unknown): string {
  if (typeof narSize === 'number' && Number.isSafeInteger(narSize) && narSize >= 0) return String(narSize);
  if (typeof narSize === 'bigint' && narSize >= 0n) return narSize.toString();
  if (typeof narSize === 'string' && /^[0-9]+$/.test(narSize)) return narSize;
  throw argTypeError('narSize must be a non-negative integer (number, bigint or decimal string)', 'ERR_INVALID_ARG_VALUE');
}
