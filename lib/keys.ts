/**
 * Nix key strings: `NAME:BASE64` — a secret key is 64 bytes (32-byte seed ‖ 32-byte public key, as
 * libsodium stores it), a public key 32 bytes (Nix: src/libutil/signature/local-keys.cc,
 * src/libstore/crypto.cc in 2.8).
 *
 * Nix's rules, kept here: the name is everything before the FIRST ':' and must be non-empty; the
 * payload must be non-empty and is decoded by Nix's lax base64 decoder (lib/base64.ts), so a key
 * file ending in '\n', or a key without padding, is accepted; wrong lengths are refused with Nix's
 * "secret key is not valid" / "public key is not valid".
 *
 * narsign's three documented differences from Nix, each with its own behaviour or code:
 *  1. surrounding whitespace is trimmed (Nix keeps a leading space in the NAME and refuses a
 *     trailing space or '\r' before the padding) — pasted keys just work;
 *  2. a name containing whitespace is refused (ERR_KEY_NAME_INVALID) — Nix accepts it, and then a
 *     `Sig:` line can never match it;
 *  3. a secret key whose stored public half does not match its seed is refused
 *     (ERR_SECRET_KEY_MISMATCH) — Nix doesn't check, and libsodium then silently makes signatures
 *     that nobody can verify.
 *
 * Errors say which key (its name, or the caller's `what`, e.g. a file or a list position) and why;
 * they never contain the key's payload, not even a fragment.
 */
import { timingSafeEqual } from 'node:crypto';
import { decodeNixBase64, encodeBase64 } from './base64';
import { keyPairFromSeed, generateKeyPair, publicKeyFromSecretKey, PUBLICKEYBYTES, SECRETKEYBYTES, SEEDBYTES } from './ed25519';
import type { Bytes, Signer } from './ed25519-types';
import { argTypeError, NarsignError } from './errors';

export interface SecretKey {
  name: string;
  /** 64 bytes: seed ‖ public key. Wipe it (`.fill(0)`) when done. */
  secretKey: Buffer;
  /** 32 bytes: the public half (checked to match the seed). */
  publicKey: Buffer;
}

export interface PublicKey {
  name: string;
  /** 32 bytes. */
  key: Buffer;
}

type KeyKind = 'secret key' | 'public key';

/**
 * How an error refers to a key: `'NAME' (what)`, or just one of them, or "the key". Messages lead
 * with Nix's own phrase ("secret key is not valid", "invalid character in Base64 string", …) so they
 * can be searched for, then say which key and why.
 */
function ref(name: string | undefined, what: string | undefined): string {
  if (name !== undefined && what !== undefined) return `'${name}' (${what})`;
  if (name !== undefined) return `'${name}'`;
  return what ?? 'the key';
}

function checkText(text: unknown, kind: KeyKind): asserts text is string {
  if (typeof text !== 'string') throw argTypeError(`the ${kind} must be a string of the form NAME:BASE64`);
}

function checkWhat(what: unknown): asserts what is string | undefined {
  if (what !== undefined && typeof what !== 'string') throw argTypeError('`what` must be a string describing the key');
}

/**
 * Why `name` is not an acceptable key name, or undefined if it is. Nix only requires non-empty and
 * (implicitly, since it splits at the first ':') no ':'. narsign also refuses whitespace.
 */
function keyNameProblem(name: string): { code: string; reason: string } | undefined {
  if (name.length === 0) return { code: 'ERR_KEY_CORRUPT', reason: 'its name is empty' };
  if (name.includes(':')) return { code: 'ERR_KEY_NAME_INVALID', reason: "its name contains ':'" };
  const ws = /\s/.exec(name);
  if (ws) {
    return {
      code: 'ERR_KEY_NAME_INVALID',
      reason: `its name contains whitespace at character ${ws.index + 1} (Nix would accept it, but no signature could ever name it)`,
    };
  }
  return undefined;
}

/**
 * Whether a secret key's "name" may be shown in an error. A mangled key file (the key pasted twice,
 * a stray ':' after the base64, the name's ':' lost or moved into the key) can put secret text
 * before the first ':', so a name that may hold a piece of base64 is never echoed; neither is one
 * with whitespace.
 */
function showableSecretName(name: string): boolean {
  return !/\s/.test(name) && !looksLikeKeyMaterial(name);
}

/**
 * Whether a "name" may hold a piece of a key: a run of 12 or more base64 characters. Key names
 * split into short words ('cache.example.org-1'); the rare name with a long unbroken word is just
 * not echoed (the error still says which key by its position or file).
 */
function looksLikeKeyMaterial(name: string): boolean {
  return /[A-Za-z0-9+/]{12,}/.test(name);
}

/**
 * Splits a key string as Nix does (name before the first ':'), after narsign's trim. Refusals keep
 * Nix's verdicts: no ':' / empty name / empty payload are "key is corrupt" (ERR_KEY_CORRUPT).
 * The returned `shownName` is how errors may refer to the key (see showableSecretName).
 */
function splitKey(text: string, kind: KeyKind, what: string | undefined): { name: string; payload: string; shownName: string | undefined } {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon === -1) {
    throw new NarsignError('ERR_KEY_CORRUPT', `${kind} is corrupt: ${ref(undefined, what)} has no ':' between its name and the key`);
  }
  const name = trimmed.slice(0, colon);
  const payload = trimmed.slice(colon + 1);
  const problem = keyNameProblem(name);
  if (problem) {
    const verdict = problem.code === 'ERR_KEY_CORRUPT' ? `${kind} is corrupt` : `${kind} name is not valid`;
    const shown = kind === 'public key' && problem.code !== 'ERR_KEY_CORRUPT' && !looksLikeKeyMaterial(name) ? JSON.stringify(name).slice(1, -1) : undefined;
    throw new NarsignError(problem.code, `${verdict}: ${ref(shown, what)}: ${problem.reason}`);
  }
  // Public key names are not secret, but a pasted secret key can end up in the name position too.
  const shownName = (kind === 'public key' ? !looksLikeKeyMaterial(name) : showableSecretName(name)) ? name : undefined;
  if (payload.length === 0) {
    throw new NarsignError('ERR_KEY_CORRUPT', `${kind} is corrupt: ${ref(shownName, what)} has nothing after the ':'`);
  }
  return { name, payload, shownName };
}

/** Decodes a key payload, re-labelling a base64 error with the key it belongs to. */
function decodePayload(payload: string, kind: KeyKind, name: string | undefined, what: string | undefined): Buffer {
  try {
    return decodeNixBase64(payload);
  } catch (error) {
    // The decoder reports only the offending (non-alphabet, hence non-secret) character and its
    // offset in the payload; that is all that is said about the text.
    const detail = error instanceof NarsignError ? error.message : 'invalid character in Base64 string';
    throw new NarsignError('ERR_BASE64_INVALID', `${detail} of ${kind} ${ref(name, what)}`, { cause: error });
  }
}

/**
 * Parses a secret key string `NAME:BASE64(64 bytes)` (e.g. the contents of a key file, trailing
 * newline and all). Returns fresh buffers the caller owns and should wipe.
 *
 * Codes: ERR_KEY_CORRUPT (no ':', empty name or payload), ERR_KEY_NAME_INVALID (whitespace in the
 * name), ERR_BASE64_INVALID, ERR_SECRET_KEY_INVALID (not 64 bytes: Nix's "secret key is not
 * valid"), ERR_SECRET_KEY_MISMATCH (the public half doesn't belong to the seed).
 * @param what where the key came from, for error messages (e.g. "secret key file /etc/nix/sk").
 */
export function parseSecretKey(text: string, what?: string): SecretKey {
  checkText(text, 'secret key');
  checkWhat(what);
  const { name, payload, shownName } = splitKey(text, 'secret key', what);
  const bytes = decodePayload(payload, 'secret key', shownName, what);
  if (bytes.length !== SECRETKEYBYTES) {
    const length = bytes.length;
    bytes.fill(0);
    throw new NarsignError(
      'ERR_SECRET_KEY_INVALID',
      `secret key is not valid: ${ref(shownName, what)} decodes to ${length} bytes, not ${SECRETKEYBYTES}`,
    );
  }
  const storedPublic = Buffer.from(bytes.subarray(SEEDBYTES));
  let derived: { publicKey: Buffer; secretKey: Buffer } | undefined;
  let matches = false;
  try {
    derived = keyPairFromSeed(bytes.subarray(0, SEEDBYTES));
    matches = timingSafeEqual(derived.publicKey, storedPublic);
  } catch (error) {
    bytes.fill(0);
    throw error;
  } finally {
    derived?.secretKey.fill(0);
  }
  if (!matches) {
    bytes.fill(0);
    throw new NarsignError(
      'ERR_SECRET_KEY_MISMATCH',
      `secret key is not valid: the public half of ${ref(shownName, what)} does not belong to its seed, so its signatures would never verify (Nix does not check this)`,
    );
  }
  return { name, secretKey: bytes, publicKey: storedPublic };
}

/**
 * Parses a public key string `NAME:BASE64(32 bytes)`.
 * Codes: ERR_KEY_CORRUPT, ERR_KEY_NAME_INVALID, ERR_BASE64_INVALID, ERR_PUBLIC_KEY_INVALID (not 32
 * bytes: Nix's "public key is not valid").
 */
export function parsePublicKey(text: string, what?: string): PublicKey {
  checkText(text, 'public key');
  checkWhat(what);
  const { name, payload, shownName } = splitKey(text, 'public key', what);
  const key = decodePayload(payload, 'public key', shownName, what);
  if (key.length !== PUBLICKEYBYTES) {
    const hint = key.length === SECRETKEYBYTES ? ' (is it a secret key?)' : '';
    if (key.length === SECRETKEYBYTES) key.fill(0);
    throw new NarsignError(
      'ERR_PUBLIC_KEY_INVALID',
      `public key is not valid: ${ref(shownName, what)} decodes to ${key.length} bytes, not ${PUBLICKEYBYTES}${hint}`,
    );
  }
  return { name, key };
}

/**
 * Parses a list of public keys: an array of key strings, or one string of keys separated by
 * whitespace (as in nix.conf's `trusted-public-keys`). Order is kept, duplicates too: Nix trusts the
 * FIRST key of a name, and verifiers here do the same.
 * Errors name the entry by its 1-based position, e.g. "public key 'foo' (trusted keys entry 3)".
 */
export function parsePublicKeys(keys: string | readonly string[], what = 'public key list'): PublicKey[] {
  checkWhat(what);
  let entries: readonly string[];
  if (typeof keys === 'string') entries = keys.split(/\s+/).filter((s) => s.length > 0);
  else if (Array.isArray(keys)) entries = keys;
  else throw argTypeError('the public keys must be a string or an array of strings');
  return entries.map((entry, i) => {
    if (typeof entry !== 'string') throw argTypeError(`${what} entry ${i + 1} must be a string`);
    return parsePublicKey(entry, `${what} entry ${i + 1}`);
  });
}

function checkName(name: unknown, kind: KeyKind): asserts name is string {
  if (typeof name !== 'string') throw argTypeError(`the ${kind} name must be a string`);
  const problem = keyNameProblem(name);
  if (problem) {
    // A name passed on its own (not cut from a key string) is not secret, so it can be shown —
    // unless it is a key pasted where its name belongs (`narsign key generate "$(cat secret.key)"`).
    const shown = looksLikeKeyMaterial(name) ? 'the name given (not shown: it may be part of a key)' : JSON.stringify(name);
    throw new NarsignError('ERR_KEY_NAME_INVALID', `${kind} name is not valid: ${shown}: ${problem.reason}`);
  }
}

function toBuffer(bytes: unknown, what: string): Buffer {
  if (!ArrayBuffer.isView(bytes)) throw argTypeError(`${what} must be a Buffer, TypedArray or DataView`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Writes `NAME:BASE64` for a 64-byte secret key, refusing the same things parseSecretKey refuses
 * (bad name, wrong length, public half not matching the seed). Only `name` and `secretKey` are read.
 */
export function formatSecretKey(key: { name: string; secretKey: ArrayBufferView }): string {
  if (typeof key !== 'object' || key === null) throw argTypeError('formatSecretKey takes { name, secretKey }');
  checkName(key.name, 'secret key');
  const bytes = toBuffer(key.secretKey, 'secretKey');
  if (bytes.length !== SECRETKEYBYTES) {
    throw new NarsignError('ERR_SECRET_KEY_INVALID', `secret key is not valid: '${key.name}' has ${bytes.length} bytes, not ${SECRETKEYBYTES}`);
  }
  const derived = keyPairFromSeed(bytes.subarray(0, SEEDBYTES));
  try {
    if (!timingSafeEqual(derived.publicKey, bytes.subarray(SEEDBYTES))) {
      throw new NarsignError('ERR_SECRET_KEY_MISMATCH', `secret key is not valid: the public half of '${key.name}' does not belong to its seed`);
    }
  } finally {
    derived.secretKey.fill(0);
  }
  return `${key.name}:${encodeBase64(bytes)}`;
}

/** Writes `NAME:BASE64` for a 32-byte public key. Only `name` and `key` are read. */
export function formatPublicKey(key: { name: string; key: ArrayBufferView }): string {
  if (typeof key !== 'object' || key === null) throw argTypeError('formatPublicKey takes { name, key }');
  checkName(key.name, 'public key');
  const bytes = toBuffer(key.key, 'key');
  if (bytes.length !== PUBLICKEYBYTES) {
    throw new NarsignError('ERR_PUBLIC_KEY_INVALID', `public key is not valid: '${key.name}' has ${bytes.length} bytes, not ${PUBLICKEYBYTES}`);
  }
  return `${key.name}:${encodeBase64(bytes)}`;
}

/**
 * A fresh secret key string `NAME:BASE64`, with no trailing newline — what
 * `nix key generate-secret --key-name NAME` prints (crypto_sign_keypair underneath).
 */
export function generateSecretKey(name: string): string {
  checkName(name, 'secret key');
  const pair = generateKeyPair();
  try {
    return `${name}:${encodeBase64(pair.secretKey)}`;
  } finally {
    pair.secretKey.fill(0);
  }
}

/**
 * The public key string of a secret key string — what `nix key convert-secret-to-public` prints.
 * Unlike Nix, a secret key whose public half doesn't match its seed is refused
 * (ERR_SECRET_KEY_MISMATCH) instead of yielding a public key that its signatures don't match.
 */
export function toPublicKey(secretKey: string, what?: string): string {
  const parsed = parseSecretKey(secretKey, what);
  try {
    return `${parsed.name}:${encodeBase64(parsed.publicKey)}`;
  } finally {
    parsed.secretKey.fill(0);
  }
}

/**
 * A secret key as the signing functions take it (signNarinfo, signParsedNarinfo, signFingerprint,
 * signCache, signLegacy2015, perl's signString with a key string):
 *  - a `NAME:BASE64` string (parsed by parseSecretKey; its decoded bytes are wiped after use);
 *  - a Signer made from a key string (`createSigner('NAME:BASE64')`), which carries the key's name;
 *  - `{ name, secretKey }`, `secretKey` the 64 bytes (a parsed SecretKey is one) or a Signer — the
 *    way to name a signer made from bytes, which has no name of its own.
 */
export type SecretKeyInput = string | Signer | { name: string; secretKey: Bytes | Signer };

/** A secret key ready to sign with: its name, what signDetached takes, and `release()` to wipe what was decoded here. */
export interface SigningKeyOf {
  name: string;
  key: Buffer | Signer;
  release(): void;
}

/** Whether `value` is a Signer (made by createSigner), disposed or not — asked of the backend, which alone can tell. */
export function isSigner(value: unknown): value is Signer {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false;
  try {
    publicKeyFromSecretKey(value as Signer);
    return true;
  } catch (error) {
    return error instanceof NarsignError && error.code === 'ERR_SIGNER_DISPOSED';
  }
}

/**
 * The one normaliser of secret-key inputs (see SecretKeyInput), for every entry point that signs.
 * A name is held to parseSecretKey's rules — non-empty, no ':' (Nix cuts a Sig's key name at the
 * first ':', so `cache x:1` would sign as `cache x`), no whitespace: ERR_KEY_NAME_INVALID.
 * `what` names the key in errors (e.g. "secret key 2").
 */
export function toSigningKey(input: unknown, what?: string): SigningKeyOf {
  if (typeof input === 'string') {
    const parsed = parseSecretKey(input, what);
    return { name: parsed.name, key: parsed.secretKey, release: () => parsed.secretKey.fill(0) };
  }
  checkWhat(what);
  const keep = () => {};
  if (isSigner(input)) {
    if (input.name === undefined) {
      throw argTypeError(`${what ?? 'the secret key'}: this signer was made from bytes and has no key name; pass { name, secretKey: signer }`);
    }
    checkName(input.name, 'secret key');
    return { name: input.name, key: input, release: keep };
  }
  if (typeof input === 'object' && input !== null && 'secretKey' in input) {
    const { name, secretKey } = input as { name: unknown; secretKey: unknown };
    if (isSigner(secretKey)) {
      checkName(name, 'secret key');
      return { name, key: secretKey, release: keep };
    }
    if (secretKey instanceof Uint8Array) {
      checkName(name, 'secret key');
      if (secretKey.length !== SECRETKEYBYTES) {
        throw new NarsignError('ERR_SECRET_KEY_INVALID', `secret key is not valid: ${ref(looksLikeKeyMaterial(name) ? undefined : name, what)} has ${secretKey.length} bytes, not ${SECRETKEYBYTES}`);
      }
      return { name, key: toBuffer(secretKey, 'secretKey'), release: keep };
    }
  }
  throw argTypeError(`${what ?? 'the secret key'} must be a key string NAME:BASE64, a signer made from one, or { name, secretKey } (secretKey: 64 bytes or a signer)`);
}
