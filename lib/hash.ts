/**
 * Hashes as Nix writes them in narinfo files and content addresses (Nix 2.8 src/libutil/hash.cc).
 *
 * Nix accepts one digest in four spellings, and narinfos in real caches use all of them:
 *   `sha256:<base16>`  (64 hex digits, either case)   `sha256:<nix32>` (52 chars, the usual one)
 *   `sha256:<base64>`  (44 chars, padded)              `sha256-<base64>` (SRI; padding optional)
 * Which of the first three it is follows from the length alone — exactly as Nix decides — so a
 * 43-character unpadded base64 after `sha256:` is refused while the same text in SRI form is fine.
 * Base64 is decoded with Nix's lax decoder (lib/base64.ts): in SRI form `…=junk` is accepted.
 *
 * Algorithms: md5, sha1, sha256, sha512 (what Nix 2.8 knows). Errors are NarsignErrors:
 *   ERR_HASH_MISSING_ALGORITHM  no `algo:` / `algo-` prefix where one is required
 *   ERR_HASH_UNKNOWN_ALGORITHM  the prefix is not one of the four
 *   ERR_HASH_WRONG_LENGTH       the length fits no encoding of that algorithm's digest
 *   ERR_HASH_INVALID_BASE16     ERR_HASH_INVALID_NIX32     ERR_HASH_INVALID_BASE64
 *   ERR_HASH_WRONG_ALGORITHM    a specific algorithm was required (e.g. sha256) and another given
 */
import { createHash } from 'node:crypto';
import { decodeNix32, encodeNix32, nix32Length } from './base32';
import { decodeNixBase64, encodeBase64 } from './base64';
import { argTypeError, excerpt, NarsignError } from './errors';

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';
export type HashFormat = 'base16' | 'nix32' | 'base64' | 'sri';

export interface Hash {
  algo: HashAlgorithm;
  digest: Buffer;
}

/** Digest sizes in bytes. */
export const HASH_SIZES: Readonly<Record<HashAlgorithm, number>> = Object.freeze({ md5: 16, sha1: 20, sha256: 32, sha512: 64 });

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = Object.freeze(['md5', 'sha1', 'sha256', 'sha512'] as HashAlgorithm[]);

export function isHashAlgorithm(name: unknown): name is HashAlgorithm {
  return name === 'md5' || name === 'sha1' || name === 'sha256' || name === 'sha512';
}

function algorithmOf(name: string, original: string): HashAlgorithm {
  if (isHashAlgorithm(name)) return name;
  throw new NarsignError('ERR_HASH_UNKNOWN_ALGORITHM', `unknown hash algorithm '${excerpt(name)}' in hash '${excerpt(original)}'`);
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10; // Nix accepts upper-case hex
  return -1;
}

function decodeBase16(text: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) {
    const hi = hexDigit(text.charCodeAt(2 * i));
    const lo = hexDigit(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new NarsignError('ERR_HASH_INVALID_BASE16', `invalid base-16 hash '${excerpt(text)}'`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Length of the padded base64 encoding of `size` bytes (Nix's base64Len). */
const base64Length = (size: number): number => ((4 * size) / 3 + 3) & ~3;

function decodeBase64Digest(text: string, size: number, sri: boolean): Buffer {
  let digest: Buffer;
  try {
    digest = decodeNixBase64(text);
  } catch (error) {
    throw new NarsignError('ERR_HASH_INVALID_BASE64', `invalid ${sri ? 'SRI' : 'base-64'} hash '${excerpt(text)}': ${(error as Error).message}`, { cause: error });
  }
  if (digest.length !== size) {
    throw new NarsignError('ERR_HASH_INVALID_BASE64', `invalid ${sri ? 'SRI' : 'base-64'} hash '${excerpt(text)}': ${digest.length} bytes, expected ${size}`);
  }
  return digest;
}

/** Nix's `Hash(rest, type, isSRI)`: the encoding is chosen by length (SRI: always base64). */
function decodeDigest(rest: string, algo: HashAlgorithm, sri: boolean): Buffer {
  const size = HASH_SIZES[algo];
  if (!sri && rest.length === size * 2) return decodeBase16(rest, size);
  if (!sri && rest.length === nix32Length(size)) {
    try {
      return decodeNix32(rest, size);
    } catch (error) {
      throw new NarsignError('ERR_HASH_INVALID_NIX32', `invalid base-32 hash '${excerpt(rest)}': ${(error as Error).message}`, { cause: error });
    }
  }
  if (sri || rest.length === base64Length(size)) return decodeBase64Digest(rest, size, sri);
  throw new NarsignError('ERR_HASH_WRONG_LENGTH', `hash '${excerpt(rest)}' has wrong length for hash type '${algo}'`);
}

function checkString(text: unknown, what: string): asserts text is string {
  if (typeof text !== 'string') throw argTypeError(`${what} must be a string`);
}

/**
 * Parses a hash that names its algorithm, as Nix's `Hash::parseAnyPrefixed` does (what the narinfo
 * reader uses for NarHash and FileHash): `algo:` + base16/nix32/base64, or SRI `algo-` + base64.
 * The ':' form wins when the text contains a ':' anywhere.
 */
export function parseHash(text: string): Hash {
  checkString(text, 'the hash');
  let sep = text.indexOf(':');
  let sri = false;
  if (sep < 0) {
    sep = text.indexOf('-');
    sri = sep >= 0;
  }
  if (sep < 0) throw new NarsignError('ERR_HASH_MISSING_ALGORITHM', `hash '${excerpt(text)}' does not include a type`);
  const algo = algorithmOf(text.slice(0, sep), text);
  return { algo, digest: decodeDigest(text.slice(sep + 1), algo, sri) };
}

/**
 * Parses a hash without a prefix whose algorithm is known from context, as Nix's
 * `Hash::parseNonSRIUnprefixed` does (the hash inside a content address): base16, nix32 or padded
 * base64, chosen by length.
 */
export function parseHashUnprefixed(text: string, algo: HashAlgorithm): Hash {
  checkString(text, 'the hash');
  if (!isHashAlgorithm(algo)) throw argTypeError(`unknown hash algorithm ${JSON.stringify(algo)}`, 'ERR_INVALID_ARG_VALUE');
  return { algo, digest: decodeDigest(text, algo, false) };
}

/**
 * Parses any form Nix accepts on its command line (`Hash::parseAny`): prefixed or SRI, or — when
 * `algo` is given — unprefixed. If both the text and `algo` name an algorithm they must agree.
 */
export function parseAnyHash(text: string, algo?: HashAlgorithm): Hash {
  checkString(text, 'the hash');
  if (algo !== undefined && !isHashAlgorithm(algo)) throw argTypeError(`unknown hash algorithm ${JSON.stringify(algo)}`, 'ERR_INVALID_ARG_VALUE');
  // As Nix: a ':' or '-' anywhere means a prefix (none of the encodings uses either character).
  if (!text.includes(':') && !text.includes('-')) {
    if (algo === undefined) throw new NarsignError('ERR_HASH_MISSING_ALGORITHM', `hash '${excerpt(text)}' does not include a type, nor is the type otherwise known from context`);
    return parseHashUnprefixed(text, algo);
  }
  const hash = parseHash(text);
  if (algo !== undefined && hash.algo !== algo) {
    throw new NarsignError('ERR_HASH_WRONG_ALGORITHM', `hash '${excerpt(text)}' should have type '${algo}'`);
  }
  return hash;
}

function checkHash(hash: unknown): asserts hash is Hash {
  if (typeof hash !== 'object' || hash === null) throw argTypeError('the hash must be an object { algo, digest }');
  const { algo, digest } = hash as Hash;
  if (!isHashAlgorithm(algo)) throw argTypeError(`unknown hash algorithm ${JSON.stringify(algo)}`, 'ERR_INVALID_ARG_VALUE');
  if (!(digest instanceof Uint8Array)) throw argTypeError('hash.digest must be a Buffer');
  if (digest.length !== HASH_SIZES[algo]) {
    throw new NarsignError('ERR_HASH_WRONG_LENGTH', `a ${algo} digest has ${HASH_SIZES[algo]} bytes, not ${digest.length}`);
  }
}

/**
 * Writes a hash as Nix's `Hash::to_string(format, includeType)`: `algo:` + base16 / nix32 / base64,
 * or SRI `algo-base64` (which always names its algorithm).
 */
export function formatHash(hash: Hash, format: HashFormat = 'nix32', includeAlgorithm = true): string {
  checkHash(hash);
  const digest = Buffer.from(hash.digest.buffer, hash.digest.byteOffset, hash.digest.byteLength);
  switch (format) {
    case 'sri':
      return `${hash.algo}-${encodeBase64(digest)}`;
    case 'base16':
      return (includeAlgorithm ? `${hash.algo}:` : '') + digest.toString('hex');
    case 'nix32':
      return (includeAlgorithm ? `${hash.algo}:` : '') + encodeNix32(digest);
    case 'base64':
      return (includeAlgorithm ? `${hash.algo}:` : '') + encodeBase64(digest);
    default:
      throw argTypeError(`unknown hash format ${JSON.stringify(format)}`, 'ERR_INVALID_ARG_VALUE');
  }
}

/**
 * `sha256:<nix32>` — the form the fingerprint needs — from any spelling of a sha256: prefixed
 * (`sha256:` base16/nix32/base64), SRI, or unprefixed base16/nix32/base64. Another algorithm is
 * ERR_HASH_WRONG_ALGORITHM.
 */
export function toNix32Sha256(text: string): string {
  const hash = parseAnyHash(text, 'sha256');
  return `sha256:${encodeNix32(hash.digest)}`;
}

/** Whether two hashes are the same algorithm and digest. */
export function hashEquals(a: Hash, b: Hash): boolean {
  return a.algo === b.algo && Buffer.compare(a.digest, b.digest) === 0;
}

/** The hash of some bytes or UTF-8 text (node:crypto). */
export function hashBytes(algo: HashAlgorithm, data: string | Uint8Array): Hash {
  if (!isHashAlgorithm(algo)) throw argTypeError(`unknown hash algorithm ${JSON.stringify(algo)}`, 'ERR_INVALID_ARG_VALUE');
  return { algo, digest: createHash(algo).update(data).digest() };
}
