/**
 * Signing and verifying narinfos with key sets, with Nix's semantics (Nix 2.8
 * src/libstore/path-info.cc checkSignature(s), src/libstore/crypto.cc verifyDetached,
 * src/nix/verify.cc, src/libstore/store-api.cc queryPathInfo).
 *
 * Verifying, per `Sig` value (distinct values, in file order):
 *  - its key name is the text before the first ':' ('' when there is none); no trusted key of that
 *    name → `unknown-key` (it just doesn't count; its payload is never looked at, as in Nix);
 *  - the FIRST trusted key of a name is the one used (Nix's std::map::emplace keeps the first);
 *  - a payload that doesn't decode (Nix's lax base64) or isn't 64 bytes → `malformed`. Nix throws
 *    there ("signature is not valid" / "invalid character in Base64 string") and the whole path
 *    fails — even if another signature is valid — so the narinfo is not trusted, and the verdict
 *    carries the error (`failure`);
 *  - otherwise crypto_sign_verify_detached over the fingerprint → `valid` / `invalid`.
 * The file is trusted when at least max(sigsNeeded, 1) valid signatures were made by distinct
 * trusted keys — or, whatever its signatures, when it has a `CA` from which Nix's own computation
 * reproduces its StorePath (name, references and store dir included). A `CA` line that doesn't
 * reproduce the path is ignored, never a bypass. That second kind of trust is Nix's verdict for
 * substituting, never a ground to sign: the CA says nothing about NarHash/URL, and the fingerprint
 * doesn't cover it. The verdict keeps the two apart (`bySignatures`).
 *
 * Where narsign is stricter than Nix 2.8: Nix counts distinct Sig *strings*, so the same signature
 * written twice (e.g. once with junk after its '=' padding, which the lax decoder ignores) counts
 * twice towards `--sigs-needed`; narsign counts each trusted key once.
 *
 * When the narinfo's file name is known (`fileName`), its hash part must be the StorePath's — a
 * validly signed narinfo served under another path's name is refused (ERR_NARINFO_FILE_NAME), as
 * Nix refuses it (queryPathInfo: "path is not valid").
 *
 * Signing adds one `Sig` per key, replacing a signature by the same key name, with a minimal edit
 * (lib/narinfo.ts putSignature): every other byte of the file stays as it was.
 */
import { signDetached, verifyDetached, SIGNATUREBYTES } from './ed25519';
import { decodeNixBase64, encodeBase64 } from './base64';
import { argTypeError, NarsignError } from './errors';
import { fingerprint } from './fingerprint';
import { parsePublicKey, parsePublicKeys, PublicKey, SecretKeyInput, SigningKeyOf, toSigningKey } from './keys';
import { formatNarinfo, NarInfo, parseNarinfo, ParseNarinfoOptions, putSignature, signatureKeyName } from './narinfo';
import { checkFileNameFor } from './narinfo-name';
import { contentAddressedStorePath } from './store-path';

export type SignatureStatus = 'valid' | 'invalid' | 'unknown-key' | 'malformed';

/** The verdict on one `Sig` value. */
export interface SignatureVerdict {
  /** The key name the signature claims ('' if it has none). */
  keyName: string;
  status: SignatureStatus;
  /** The Sig value as written. */
  signature: string;
  /** For `malformed`: why, as Nix would report it. */
  error?: { code: string; message: string };
}

export interface ContentAddressCheck {
  /** Whether the CA, name and references reproduce the StorePath. */
  matches: boolean;
  /** The path the CA stands for, when it can be computed. */
  computedPath?: string;
  /** Why it could not be computed (e.g. a flat hash with references, where Nix 2.8 aborts). */
  error?: { code: string; message: string };
}

export interface NarinfoVerdict {
  trusted: boolean;
  /**
   * `signatures`: enough valid signatures; `content-addressed`: trusted by its CA;
   * `malformed-signature`: a signature under a trusted name is malformed (Nix fails the path);
   * `not-enough-signatures`: otherwise.
   */
  reason: 'signatures' | 'content-addressed' | 'malformed-signature' | 'not-enough-signatures';
  /**
   * Whether enough distinct trusted keys made a valid signature (and none under a trusted name is
   * malformed) — whatever the CA says. This, not `trusted`, is the only ground to sign on
   * (`signCache`'s `requireTrusted`): a CA line is not covered by the fingerprint and proves
   * nothing about NarHash, so a narinfo trusted only `content-addressed` could point at any NAR,
   * and a signature added on its strength would outlive the CA line's removal.
   */
  bySignatures: boolean;
  /** Distinct trusted keys with a valid signature. */
  validSignatures: number;
  /** The threshold applied: max(sigsNeeded, 1). */
  sigsNeeded: number;
  /** One verdict per distinct Sig value, in file order. */
  signatures: SignatureVerdict[];
  /** Present when the narinfo has a CA. */
  contentAddress?: ContentAddressCheck;
  /** For `malformed-signature`: the error Nix would stop with. */
  failure?: { code: string; message: string };
  /** The parsed narinfo. */
  info: NarInfo;
}

/** Trusted public keys by name, first of a name winning. Build once with `trustedKeySet` to verify many files. */
export interface TrustedKeySet {
  readonly keys: ReadonlyMap<string, Buffer>;
}

export type PublicKeyInput = string | PublicKey;
export type TrustedKeysInput = TrustedKeySet | PublicKeyInput | readonly PublicKeyInput[];

function isPublicKey(value: unknown): value is PublicKey {
  return typeof value === 'object' && value !== null && typeof (value as PublicKey).name === 'string' && (value as PublicKey).key instanceof Uint8Array;
}

function isTrustedKeySet(value: unknown): value is TrustedKeySet {
  return typeof value === 'object' && value !== null && (value as TrustedKeySet).keys instanceof Map;
}

/**
 * The trusted keys to verify with: key strings (one, a whitespace-separated list as in nix.conf,
 * or an array), parsed PublicKeys, or a mix. The first key of each name is kept, as Nix does.
 */
export function trustedKeySet(keys: TrustedKeysInput): TrustedKeySet {
  if (isTrustedKeySet(keys)) return keys;
  let list: PublicKey[];
  if (typeof keys === 'string') list = parsePublicKeys(keys, 'trusted keys');
  else if (isPublicKey(keys)) list = [keys];
  else if (Array.isArray(keys)) {
    list = keys.map((k: unknown, i) => {
      if (typeof k === 'string') return parsePublicKey(k, `trusted keys entry ${i + 1}`);
      if (isPublicKey(k)) return k;
      throw argTypeError(`trusted keys entry ${i + 1} must be a key string or { name, key }`);
    });
  } else throw argTypeError('the trusted keys must be key strings, { name, key } objects, or a trustedKeySet');
  const map = new Map<string, Buffer>();
  for (const k of list) {
    if (k.key.length !== 32) throw new NarsignError('ERR_PUBLIC_KEY_INVALID', `public key is not valid: '${k.name}' has ${k.key.length} bytes, not 32`);
    if (!map.has(k.name)) map.set(k.name, Buffer.from(k.key.buffer, k.key.byteOffset, k.key.byteLength));
  }
  return { keys: map };
}

/** A Sig value's 64 signature bytes, or Nix's error for them (lax base64; exactly 64 bytes). */
function signatureBytes(sig: string, keyName: string): { signature: Buffer } | { error: { code: string; message: string } } {
  let bytes: Buffer;
  try {
    bytes = decodeNixBase64(sig.slice(keyName.length + 1));
  } catch (error) {
    return { error: { code: 'ERR_BASE64_INVALID', message: (error as Error).message } };
  }
  if (bytes.length !== SIGNATUREBYTES) {
    return { error: { code: 'ERR_SIGNATURE_INVALID', message: `signature is not valid: it decodes to ${bytes.length} bytes, not ${SIGNATUREBYTES}` } };
  }
  return { signature: bytes };
}

/** The verdict on one signature string over a fingerprint (see the module comment). */
export function verifySignature(fingerprintText: string, sig: string, trusted: TrustedKeysInput): SignatureVerdict {
  if (typeof fingerprintText !== 'string' || typeof sig !== 'string') throw argTypeError('the fingerprint and the signature must be strings');
  const keys = trustedKeySet(trusted).keys;
  const keyName = signatureKeyName(sig);
  const key = keys.get(keyName);
  if (key === undefined) return { keyName, status: 'unknown-key', signature: sig };
  const bytes = signatureBytes(sig, keyName);
  if ('error' in bytes) return { keyName, status: 'malformed', signature: sig, error: bytes.error };
  return { keyName, status: verifyDetached(key, bytes.signature, fingerprintText) ? 'valid' : 'invalid', signature: sig };
}

export interface VerifyNarinfoOptions extends ParseNarinfoOptions, VerificationOptions {
  /** The narinfo's file name or path (`<hash part>.narinfo`); its hash part must match StorePath's. Also names the file in errors. */
  fileName?: string;
}

/** Checks a narinfo's file name against its StorePath (lib/narinfo-name.ts). */
export function checkNarinfoFileName(info: NarInfo, fileName: string): void {
  if (typeof fileName !== 'string') throw argTypeError('fileName must be a string');
  checkFileNameFor(info.storePath, fileName);
}

/** Whether the narinfo's CA reproduces its StorePath, computed as Nix's isContentAddressed. */
export function checkContentAddress(info: NarInfo): ContentAddressCheck | undefined {
  if (info.ca === undefined) return undefined;
  try {
    const computedPath = contentAddressedStorePath(info.ca, info.name, info.storeDir, info.references, `${info.hashPart}-${info.name}`);
    return { matches: computedPath === info.storePath, computedPath };
  } catch (error) {
    if (!(error instanceof NarsignError)) throw error;
    return { matches: false, error: { code: error.code, message: error.message } };
  }
}

function sigsNeededOf(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw argTypeError('sigsNeeded must be a non-negative integer', 'ERR_INVALID_ARG_VALUE');
  }
  return Math.max(value, 1);
}

/** One Ed25519 check a verification needs: `verifyDetached(publicKey, signature, message)`. */
export interface SignatureCheck {
  publicKey: Buffer;
  signature: Buffer;
  message: string;
}

/**
 * A verification split in two, so the Ed25519 work of many narinfos can run as one batch
 * (lib/batch.ts verifyManyAsync): everything but the crypto is decided here, `checks` lists the
 * signatures to check (well-formed ones under trusted names, in file order), and `finish` turns
 * their results into the verdict. verifyNarinfo is `finish(checks.map(verifyDetached))`.
 */
export interface VerificationPlan {
  readonly checks: readonly SignatureCheck[];
  /** The verdict, given whether each of `checks` verified (same order). */
  finish(results: readonly boolean[]): NarinfoVerdict;
}

export interface VerificationOptions {
  /** How many distinct trusted keys must have signed (default 1; 0 counts as 1, as in Nix). */
  sigsNeeded?: number;
  /** Trust a path whose CA reproduces its StorePath without signatures, as Nix does (default true). */
  trustContentAddressed?: boolean;
}

/** Plans the verification of a parsed narinfo (see VerificationPlan and the module comment). */
export function prepareVerification(info: NarInfo, trustedKeys: TrustedKeysInput, options: VerificationOptions = {}): VerificationPlan {
  if (typeof options !== 'object' || options === null) throw argTypeError('options must be an object');
  const sigsNeeded = sigsNeededOf(options.sigsNeeded);
  const keys = trustedKeySet(trustedKeys).keys;
  let fp: string | undefined;
  // Per Sig value: its verdict, or (for a check to run) the index of the check and its key.
  const verdicts: SignatureVerdict[] = [];
  const pending: Array<{ at: number; key: Buffer }> = [];
  const checks: SignatureCheck[] = [];
  let failure: { code: string; message: string } | undefined;
  for (const sig of info.sigs) {
    const keyName = signatureKeyName(sig);
    const key = keys.get(keyName);
    if (key === undefined) {
      verdicts.push({ keyName, status: 'unknown-key', signature: sig });
      continue;
    }
    const bytes = signatureBytes(sig, keyName);
    if ('error' in bytes) {
      verdicts.push({ keyName, status: 'malformed', signature: sig, error: bytes.error });
      failure ??= bytes.error;
      continue;
    }
    fp ??= fingerprint(info);
    pending.push({ at: verdicts.length, key });
    verdicts.push({ keyName, status: 'invalid', signature: sig });
    checks.push({ publicKey: key, signature: bytes.signature, message: fp });
  }
  const contentAddress = checkContentAddress(info);
  const caTrusted = contentAddress?.matches === true && options.trustContentAddressed !== false;

  return {
    checks,
    finish(results: readonly boolean[]): NarinfoVerdict {
      if (!Array.isArray(results) || results.length !== checks.length) {
        throw argTypeError(`finish needs one result per check (${checks.length})`, 'ERR_INVALID_ARG_VALUE');
      }
      const signatures = verdicts.map((v) => ({ ...v }));
      // Distinct key *bytes*: the same key trusted under two names still counts once.
      const signers = new Set<string>();
      pending.forEach(({ at, key }, i) => {
        if (results[i] === true) {
          signatures[at].status = 'valid';
          signers.add(key.toString('hex'));
        }
      });
      const bySignatures = failure === undefined && signers.size >= sigsNeeded;
      let reason: NarinfoVerdict['reason'];
      if (caTrusted) reason = 'content-addressed';
      else if (failure) reason = 'malformed-signature';
      else if (bySignatures) reason = 'signatures';
      else reason = 'not-enough-signatures';
      return {
        trusted: reason === 'content-addressed' || reason === 'signatures',
        reason,
        bySignatures,
        validSignatures: signers.size,
        sigsNeeded,
        signatures,
        ...(contentAddress === undefined ? {} : { contentAddress }),
        ...(failure === undefined || caTrusted ? {} : { failure }),
        info,
      };
    },
  };
}

/**
 * Why a verdict is no ground to sign on (signing with `requireTrusted`), or undefined when it is.
 * Only valid signatures by the trusted keys count (`bySignatures`); see NarinfoVerdict.
 */
export function signingRefusal(verdict: NarinfoVerdict): string | undefined {
  if (verdict.bySignatures) return undefined;
  if (verdict.reason === 'content-addressed') {
    return 'trusted only by its content address (CA), which proves nothing about its NAR and which no signature covers; only signatures by the required keys are grounds to sign';
  }
  return verdict.reason;
}

/**
 * Verifies a narinfo (text, bytes, or an already parsed NarInfo) against trusted keys. Returns the
 * verdict; throws only when the file itself is refused: ERR_NARINFO_CORRUPT / _LIMIT / _ENCODING,
 * ERR_NARINFO_FILE_NAME.
 */
export function verifyNarinfo(narinfo: string | Uint8Array | NarInfo, trustedKeys: TrustedKeysInput, options: VerifyNarinfoOptions = {}): NarinfoVerdict {
  if (typeof options !== 'object' || options === null) throw argTypeError('options must be an object');
  const keys = trustedKeySet(trustedKeys);
  const info =
    typeof narinfo === 'string' || narinfo instanceof Uint8Array
      ? parseNarinfo(narinfo, { ...options, where: options.where ?? options.fileName })
      : narinfo;
  if (options.fileName !== undefined) checkNarinfoFileName(info, options.fileName);
  const plan = prepareVerification(info, keys, options);
  return plan.finish(plan.checks.map((c) => verifyDetached(c.publicKey, c.signature, c.message)));
}

/** Normalises every key first (toSigningKey: so a bad key fails before any signing) and wipes what it decoded afterwards. */
function withSecretKeys<T>(secretKeys: SecretKeyInput | readonly SecretKeyInput[], fn: (keys: SigningKeyOf[]) => T): T {
  const list: readonly unknown[] = Array.isArray(secretKeys) ? secretKeys : [secretKeys];
  if (list.length === 0) throw argTypeError('at least one secret key is needed', 'ERR_INVALID_ARG_VALUE');
  const resolved: SigningKeyOf[] = [];
  try {
    list.forEach((k, i) => resolved.push(toSigningKey(k, `secret key ${i + 1}`)));
    return fn(resolved);
  } finally {
    for (const r of resolved) r.release();
  }
}

/** The `Sig` value `NAME:BASE64` of a fingerprint under a secret key. */
export function signFingerprint(fingerprintText: string, secretKey: SecretKeyInput): string {
  if (typeof fingerprintText !== 'string') throw argTypeError('the fingerprint must be a string');
  return withSecretKeys(secretKey, ([key]) => `${key.name}:${encodeBase64(signDetached(key.key, fingerprintText))}`);
}

/**
 * Signs a parsed narinfo with one or more keys, returning the new NarInfo (minimal edit, see
 * putSignature). Keys are used in order; a later key with the same name replaces the earlier one's
 * signature.
 */
export function signParsedNarinfo(info: NarInfo, secretKeys: SecretKeyInput | readonly SecretKeyInput[]): NarInfo {
  return withSecretKeys(secretKeys, (keys) => {
    const fp = fingerprint(info);
    let out = info;
    for (const key of keys) out = putSignature(out, `${key.name}:${encodeBase64(signDetached(key.key, fp))}`);
    return out;
  });
}

export interface SignNarinfoOptions extends ParseNarinfoOptions {
  /** The narinfo's file name or path: its hash part must be StorePath's (ERR_NARINFO_FILE_NAME), so a misfiled narinfo is never signed. */
  fileName?: string;
}

/**
 * Signs narinfo text: one `Sig` per key (strings `NAME:BASE64` or parsed keys), replacing an
 * existing signature of the same key name, every other byte unchanged. The narinfo must be one
 * Nix accepts (ERR_NARINFO_* otherwise).
 */
export function signNarinfo(text: string | Uint8Array, secretKeys: SecretKeyInput | readonly SecretKeyInput[], options: SignNarinfoOptions = {}): string {
  if (typeof options !== 'object' || options === null) throw argTypeError('options must be an object');
  const info = parseNarinfo(text, { ...options, where: options.where ?? options.fileName });
  if (options.fileName !== undefined) checkNarinfoFileName(info, options.fileName);
  return formatNarinfo(signParsedNarinfo(info, secretKeys));
}
