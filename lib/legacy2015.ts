/**
 * The 2015 narinfo signature, as a compatibility mode (never the default).
 *
 * Nix commit e0def5bc (February 2015) moved binary-cache signing to libsodium Ed25519: `nix-push
 * --key-file` appended `Signature: 2;NAME;BASE64` to the narinfo, signing every line before it
 * (each with its '\n'), and `Nix::Manifest::parseNARInfo` checked it against
 * `binary-cache-public-keys`. It lived on Nix master for about an hour before `Sig:` over the
 * fingerprint replaced it; no release and no real cache used it. narsign signs and verifies it so
 * that the 2015 test scenario (tests/binary-cache.sh) can be replayed.
 *
 * The reader follows the 2015 Perl:
 *  - the text is split on '\n' (trailing empty lines dropped, as Perl's split does); every line
 *    must match /^(.*): (.*)$/ — the field name is everything before the LAST ": " (a greedy
 *    match), the value everything after it;
 *  - StorePath (equal to the expected path, when given), URL and NarHash must be present;
 *  - no Signature line → "lacks a signature"; its value is split on ';' (trailing empty fields
 *    dropped) into version, key name and base64 signature; a version that isn't numerically 2 →
 *    "unsupported version"; a missing name or signature → refused; a name not among the trusted
 *    keys → "signed by unknown key"; a signature that doesn't decode to 64 bytes → Store.xs's
 *    "signature is not valid"; a failing check → "has an incorrect signature".
 *  - keys: as in the 2015 Nix::Config (a Perl hash filled in list order), the LAST trusted key of a
 *    name wins — unlike modern Nix, where the first does.
 *  - the signature is decoded as Perl's MIME::Base64 does (characters outside the alphabet are
 *    ignored, decoding stops at '=').
 *
 * One deliberate difference: the 2015 reader stopped at the Signature line and ignored whatever
 * followed; narsign refuses such lines (ERR_LEGACY_TRAILING_LINES), since a modern reader would
 * honour them although no signature covers them. nix-push always wrote the signature last.
 */
import { signDetached, verifyDetached, SIGNATUREBYTES } from './ed25519';
import { encodeBase64 } from './base64';
import { argTypeError, NarsignError } from './errors';
import { parsePublicKey, toSigningKey, type PublicKey, type SecretKeyInput } from './keys';
import { checkFileNameFor } from './narinfo-name';

export type Legacy2015Status =
  | 'valid'
  | 'corrupt'
  | 'unsigned'
  | 'unsupported-version'
  | 'malformed-signature'
  | 'unknown-key'
  | 'invalid-signature'
  | 'incorrect-signature';

export interface Legacy2015Verdict {
  /** true only for status 'valid' */
  trusted: boolean;
  status: Legacy2015Status;
  /** a stable code when not trusted (see verifyLegacy2015) */
  code?: string;
  /** the 2015 warning (or narsign's reason where 2015 was silent) */
  message?: string;
  /** the key name the Signature line names, when it could be read */
  keyName?: string;
  /** for 'valid': exactly the text the signature covers */
  signedText?: string;
}

export interface Legacy2015VerifyOptions {
  /** the store path the narinfo must describe (2015: the path being substituted) */
  storePath?: string;
  /** how messages refer to the file (2015: its URL) */
  location?: string;
  /**
   * the narinfo's file name (or path): its hash part must be StorePath's, as in every mode
   * (lib/narinfo-name.ts) — else status 'corrupt', code ERR_NARINFO_FILE_NAME
   */
  fileName?: string;
}

interface Line {
  /** the field name: everything before the last ": " */
  field: string;
  value: string;
}

/** Perl's /^(.*): (.*)$/ on one line (no '\n' in it): greedy, so the LAST ": " separates. */
function splitLine(line: string): Line | undefined {
  const at = line.lastIndexOf(': ');
  return at === -1 ? undefined : { field: line.slice(0, at), value: line.slice(at + 2) };
}

/** Perl's `split "\n", $content`: trailing empty fields dropped. */
function perlSplitLines(text: string): string[] {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Perl's `split ";", $sig`: trailing empty fields dropped. */
function perlSplitFields(value: string): string[] {
  const fields = value.split(';');
  while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

/** Perl's numeric value of a string (leading number, else 0), enough for `$sigVersion != 2`. */
function perlNumber(text: string): number {
  const n = parseFloat(text);
  return Number.isNaN(n) ? 0 : n;
}

const MIME_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** MIME::Base64::decode_base64: non-alphabet characters are ignored; decoding stops at '='. */
function decodeMimeBase64(text: string): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    if (ch === '=') break;
    const digit = MIME_ALPHABET.indexOf(ch);
    if (digit < 0) continue;
    acc = ((acc << 6) | digit) & 0x3fff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** Trusted keys as the 2015 Nix::Config held them: a name → key map where the last key of a name wins. */
function trustedKeyMap(keys: string | readonly (string | PublicKey)[]): Map<string, Buffer> {
  let list: readonly (string | PublicKey)[];
  if (typeof keys === 'string') list = keys.split(/\s+/).filter((s) => s.length > 0);
  else if (Array.isArray(keys)) list = keys;
  else throw argTypeError('the trusted keys must be a string, or an array of key strings or parsed public keys');
  const map = new Map<string, Buffer>();
  list.forEach((key, i) => {
    const parsed = typeof key === 'string' ? parsePublicKey(key, `trusted key ${i + 1}`) : key;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.name !== 'string' || !Buffer.isBuffer(parsed.key)) {
      throw argTypeError(`trusted key ${i + 1} must be a key string or a parsed public key { name, key }`);
    }
    map.set(parsed.name, parsed.key);
  });
  return map;
}

function refuse(status: Legacy2015Status, code: string, message: string, keyName?: string): Legacy2015Verdict {
  return { trusted: false, status, code, message, ...(keyName === undefined ? {} : { keyName }) };
}

/**
 * Verifies a narinfo carrying a 2015 `Signature: 2;NAME;BASE64` line, as the 2015
 * `Nix::Manifest::parseNARInfo` did (see the module comment). Returns a verdict rather than
 * throwing; every refusal has its own status and code:
 *
 *   corrupt              ERR_LEGACY_CORRUPT           a line isn't "Field: value", StorePath/URL/NarHash missing,
 *                                                     StorePath not the expected path, or a NUL byte
 *                        ERR_NARINFO_FILE_NAME        StorePath not the path `fileName` names
 *                        ERR_LEGACY_TRAILING_LINES    lines after the Signature line (narsign only)
 *   unsigned             ERR_LEGACY_UNSIGNED          no Signature line ("lacks a signature")
 *   unsupported-version  ERR_LEGACY_UNSUPPORTED_VERSION
 *   malformed-signature  ERR_LEGACY_SIGNATURE_MALFORMED  no key name or no signature after the version
 *   unknown-key          ERR_LEGACY_UNKNOWN_KEY
 *   invalid-signature    ERR_SIGNATURE_INVALID        not 64 bytes (Store.xs: "signature is not valid")
 *   incorrect-signature  ERR_LEGACY_INCORRECT_SIGNATURE
 */
export function verifyLegacy2015(
  text: string,
  trustedKeys: string | readonly (string | PublicKey)[],
  options: Legacy2015VerifyOptions = {},
): Legacy2015Verdict {
  if (typeof text !== 'string') throw argTypeError('the narinfo must be a string');
  if (typeof options !== 'object' || options === null) throw argTypeError('options must be an object');
  if (options.fileName !== undefined && typeof options.fileName !== 'string') throw argTypeError('fileName must be a string');
  const keys = trustedKeyMap(trustedKeys);
  const location = options.location ?? options.fileName ?? options.storePath ?? 'narinfo';
  const corrupt = (why: string, code = 'ERR_LEGACY_CORRUPT'): Legacy2015Verdict =>
    refuse('corrupt', code, `NAR info file ‘${location}’ is corrupt: ${why}`);

  // checkSignature took the message as a C string: a NUL would silently cut what is checked.
  if (text.includes('\0')) return corrupt('it contains a NUL byte');

  const fields: Record<string, string> = {};
  let signedText = '';
  let signature: string | undefined;
  const lines = perlSplitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = splitLine(lines[i]);
    if (!line) return corrupt(`line ${i + 1} is not of the form 'Field: value'`);
    if (line.field === 'Signature') {
      signature = line.value;
      if (i + 1 < lines.length) {
        return corrupt(`line ${i + 2} follows the Signature line, so no signature covers it`, 'ERR_LEGACY_TRAILING_LINES');
      }
      break;
    }
    fields[line.field] = line.value;
    signedText += `${lines[i]}\n`;
  }

  if (fields.StorePath === undefined) return corrupt('it has no StorePath');
  if (options.storePath !== undefined && fields.StorePath !== options.storePath) {
    return corrupt(`it describes ${fields.StorePath}, not ${options.storePath}`);
  }
  if (options.fileName !== undefined) {
    try {
      checkFileNameFor(fields.StorePath, options.fileName);
    } catch (error) {
      if (!(error instanceof NarsignError)) throw error;
      return refuse('corrupt', error.code, error.message);
    }
  }
  if (fields.URL === undefined) return corrupt('it has no URL');
  if (fields.NarHash === undefined) return corrupt('it has no NarHash');

  if (signature === undefined) {
    return refuse('unsigned', 'ERR_LEGACY_UNSIGNED', `NAR info file ‘${location}’ lacks a signature; ignoring`);
  }
  const [version, keyName, sig64] = perlSplitFields(signature);
  if (perlNumber(version ?? '') !== 2) {
    return refuse(
      'unsupported-version',
      'ERR_LEGACY_UNSUPPORTED_VERSION',
      `NAR info file ‘${location}’ has unsupported version ${version ?? '0'}; ignoring`, // Perl: `$sigVersion //= 0`
    );
  }
  if (keyName === undefined || sig64 === undefined) {
    return refuse('malformed-signature', 'ERR_LEGACY_SIGNATURE_MALFORMED', `NAR info file ‘${location}’ has a Signature line without a key name and signature`);
  }
  const publicKey = keys.get(keyName);
  if (publicKey === undefined) {
    return refuse('unknown-key', 'ERR_LEGACY_UNKNOWN_KEY', `NAR info file ‘${location}’ is signed by unknown key ‘${keyName}’; ignoring`, keyName);
  }
  const sig = decodeMimeBase64(sig64);
  if (sig.length !== SIGNATUREBYTES) {
    return refuse('invalid-signature', 'ERR_SIGNATURE_INVALID', `signature is not valid (NAR info file ‘${location}’: ${sig.length} bytes, not ${SIGNATUREBYTES})`, keyName);
  }
  if (!verifyDetached(publicKey, sig, Buffer.from(signedText, 'utf8'))) {
    return refuse('incorrect-signature', 'ERR_LEGACY_INCORRECT_SIGNATURE', `NAR info file ‘${location}’ has an incorrect signature; ignoring`, keyName);
  }
  return { trusted: true, status: 'valid', keyName, signedText };
}

/**
 * Signs a narinfo the way the 2015 `nix-push --key-file` did: appends
 * `Signature: 2;NAME;BASE64(sig)\n`, the signature covering every line before it (each with its
 * '\n'). An existing Signature line at the end is replaced. Refuses (ERR_LEGACY_CORRUPT) text the
 * 2015 reader would refuse: not ending in '\n', a line that isn't "Field: value", no
 * StorePath/URL/NarHash, a Signature line anywhere but last, a NUL byte; and (ERR_KEY_NAME_INVALID)
 * a key name containing ';', which the format can't carry.
 * @param secretKey any SecretKeyInput (lib/keys.ts toSigningKey): a `NAME:BASE64` string, a named
 *   signer, or `{ name, secretKey }`.
 */
export function signLegacy2015(text: string, secretKey: SecretKeyInput): string {
  if (typeof text !== 'string') throw argTypeError('the narinfo must be a string');
  const corrupt = (why: string): NarsignError => new NarsignError('ERR_LEGACY_CORRUPT', `cannot sign narinfo in the 2015 format: ${why}`);
  if (!text.endsWith('\n')) throw corrupt('it does not end with a newline');
  if (text.includes('\0')) throw corrupt('it contains a NUL byte');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > 0 && splitLine(lines[lines.length - 1])?.field === 'Signature') lines.pop();
  const seen = new Set<string>();
  lines.forEach((raw, i) => {
    const line = splitLine(raw);
    if (!line) throw corrupt(`line ${i + 1} is not of the form 'Field: value'`);
    if (line.field === 'Signature') throw corrupt(`line ${i + 1} is a Signature line that is not the last line`);
    seen.add(line.field);
  });
  for (const required of ['StorePath', 'URL', 'NarHash']) {
    if (!seen.has(required)) throw corrupt(`it has no ${required}`);
  }

  const key = toSigningKey(secretKey);
  try {
    if (key.name.includes(';')) {
      throw new NarsignError('ERR_KEY_NAME_INVALID', `secret key name is not valid: '${key.name}' contains ';', which a 2015 Signature line cannot carry`);
    }
    const signed = lines.map((line) => `${line}\n`).join('');
    const sig = signDetached(key.key, Buffer.from(signed, 'utf8'));
    return `${signed}Signature: 2;${key.name};${encodeBase64(sig)}\n`;
  } finally {
    key.release();
  }
}
