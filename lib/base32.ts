/**
 * Nix base-32 ("nix32"), the encoding of store path hash parts and of `sha256:1b4s…` hashes
 * (Nix: src/libutil/hash.cc printHash32 / Hash::Hash in 2.8, base-n.cc BaseNix32 later).
 *
 * It is not RFC 4648 base32. The alphabet drops e, o, u and t (to avoid accidental words), and the
 * digest is read as one little-endian number whose 5-bit groups are printed from the most
 * significant to the least: character k (from the end) holds bits 5k…5k+4 of the digest, where
 * bit b is bit (b % 8) of byte (b / 8). A 32-byte sha256 needs 52 characters (260 bits), so the
 * first character only carries 1 bit; Nix refuses a string whose extra bits are not zero, which
 * makes every valid digest have exactly one spelling.
 */
import { argTypeError, NarsignError } from './errors';

export const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

/** char code → 5-bit value, or -1 for characters outside the alphabet. */
const DECODE_TABLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < NIX32_ALPHABET.length; i++) table[NIX32_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Length of the nix32 encoding of `byteLength` bytes (Nix's base32Len): 52 for 32 bytes, 32 for 20. */
export function nix32Length(byteLength: number): number {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw argTypeError('byteLength must be a non-negative integer');
  return byteLength === 0 ? 0 : Math.floor((byteLength * 8 - 1) / 5) + 1;
}

/** Whether `c` (a char code) is a nix32 digit. */
export function isNix32Char(c: number): boolean {
  return c < 128 && DECODE_TABLE[c] >= 0;
}

/** Encodes bytes as Nix base-32 (printHash32). */
export function encodeNix32(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw argTypeError('the bytes to encode must be a Buffer or Uint8Array');
  const size = bytes.length;
  const length = nix32Length(size);
  let out = '';
  for (let n = length - 1; n >= 0; n--) {
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    const c = (bytes[i] >> j) | (i >= size - 1 ? 0 : bytes[i + 1] << (8 - j));
    out += NIX32_ALPHABET[c & 0x1f];
  }
  return out;
}

/**
 * Decodes Nix base-32. The byte length is implied by the text's length (`floor(len * 5 / 8)`, as
 * Nix computes it) or given; a length that no byte count encodes to is refused.
 *
 * Codes: ERR_NIX32_LENGTH, ERR_NIX32_CHARACTER (outside the alphabet, e.g. 'e', 'o', 'u', 't' or
 * upper case), ERR_NIX32_TRAILING_BITS (the unused high bits of the first character are not zero:
 * Nix's "invalid base-32 hash").
 */
export function decodeNix32(text: string, byteLength?: number): Buffer {
  if (typeof text !== 'string') throw argTypeError('the nix32 text must be a string');
  const size = byteLength ?? Math.floor((text.length * 5) / 8);
  if (nix32Length(size) !== text.length) {
    throw new NarsignError(
      'ERR_NIX32_LENGTH',
      byteLength === undefined
        ? `invalid base-32 string: ${text.length} characters is not the length of any encoded byte string`
        : `invalid base-32 string: ${text.length} characters, expected ${nix32Length(size)} for ${size} bytes`,
    );
  }
  const out = Buffer.alloc(size);
  const last = text.length - 1;
  for (let n = 0; n <= last; n++) {
    const code = text.charCodeAt(last - n);
    const digit = code < 128 ? DECODE_TABLE[code] : -1;
    if (digit < 0) {
      throw new NarsignError(
        'ERR_NIX32_CHARACTER',
        `invalid base-32 string: character ${JSON.stringify(text[last - n])} at offset ${last - n} is not in the Nix base-32 alphabet`,
      );
    }
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] |= digit << j;
    const carry = digit >> (8 - j);
    if (i < size - 1) out[i + 1] |= carry;
    else if (carry !== 0) {
      throw new NarsignError(
        'ERR_NIX32_TRAILING_BITS',
        `invalid base-32 string: its first character ${JSON.stringify(text[last - n])} sets bits beyond the ${size * 8}-bit value`,
      );
    }
  }
  return out;
}
