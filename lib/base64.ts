/**
 * Base64 as Nix reads and writes it (src/libutil/util.cc in Nix 2.8, base-n.cc later).
 *
 * Nix's decoder is lax in a very particular way, and key files in the wild depend on it:
 *  - a '\n' anywhere is skipped (so a key file ending in a newline works);
 *  - decoding stops at the first '=' — padding is optional and anything after it is never read
 *    (so `…==\r\n` works, and so does `…==junk`);
 *  - any other character outside the alphabet is an error ("invalid character in Base64 string"),
 *    so a trailing space or '\r' *before* the padding (or with no padding) is refused;
 *  - leftover bits of an incomplete final group are dropped, not checked.
 * Reproducing exactly this is what makes narsign accept and refuse the same strings as Nix.
 */
import { argTypeError, NarsignError } from './errors';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** char code → 6-bit value, or -1 for characters outside the alphabet. */
const DECODE_TABLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** How a character is shown in an error: printable ASCII as itself, anything else as a code point. */
function describeChar(code: number): string {
  if (code >= 0x21 && code <= 0x7e) return `'${String.fromCharCode(code)}'`;
  const names: Record<number, string> = { 0x20: 'space', 0x09: 'tab', 0x0d: 'carriage return' };
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return names[code] ? `${names[code]} (${hex})` : hex;
}

/**
 * Decodes base64 exactly as Nix 2.8's `base64Decode` does (see the module comment).
 *
 * Throws `ERR_BASE64_INVALID` ("invalid character in Base64 string: …") naming the offending
 * character and its offset — never the surrounding text, which may be a secret key. The returned
 * buffer is freshly allocated (not from Node's shared pool), so a caller holding secret material
 * can wipe it with `.fill(0)`; on error the partial output is wiped before throwing.
 */
export function decodeNixBase64(s: string): Buffer {
  if (typeof s !== 'string') throw argTypeError('the base64 text must be a string');
  // Upper bound: every character yields at most 6 bits.
  const out = Buffer.alloc(Math.floor((s.length * 6) / 8));
  let length = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code === 0x3d /* '=' */) break;
    if (code === 0x0a /* '\n' */) continue;
    const digit = code < 128 ? DECODE_TABLE[code] : -1;
    if (digit < 0) {
      out.fill(0);
      acc = 0;
      throw new NarsignError(
        'ERR_BASE64_INVALID',
        `invalid character in Base64 string: ${describeChar(code)} at offset ${i}`,
      );
    }
    // Keep only the bits not yet emitted, so `acc` never grows past 14 bits.
    acc = ((acc << 6) | digit) & 0x3fff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[length++] = (acc >> bits) & 0xff;
    }
  }
  acc = 0;
  return length === out.length ? out : out.subarray(0, length);
}

/** Standard padded base64, as Nix's `base64Encode` writes it. */
export function encodeBase64(bytes: ArrayBufferView): string {
  if (!ArrayBuffer.isView(bytes)) throw argTypeError('the bytes to encode must be a Buffer, TypedArray or DataView');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
