/**
 * Store paths: `<storeDir>/<hash part>-<name>` (Nix 2.8 src/libstore/path.cc, store-api.cc).
 *
 * A base name is a 32-character nix32 hash part (the 160-bit compressed hash), a '-', and a name
 * of 1–211 characters from `[A-Za-z0-9+\-._?=]`. Checked exactly as Nix's `StorePath` constructor,
 * with two deliberate extras (Nix 2.8 accepts both; narsign refuses them):
 *  - the character after the hash part must be '-' (Nix never looks at it, so `<hash>Xfoo` passes
 *    Nix as a path named "foo" that prints as "<hash>Xfoo");
 *  - the names `.`, `..` and names starting `.-` or `..-` are refused, as Nix ≥ 2.20 refuses them
 *    (other names starting with '.', like `.envrc`, are valid in every Nix).
 *
 * The store directory is never assumed: it comes from the path being parsed (or a cache's
 * `StoreDir`), and enters the hash of every content-addressed path.
 *
 * Codes: ERR_STORE_PATH_TOO_SHORT, ERR_STORE_PATH_HASH_INVALID, ERR_STORE_PATH_NAME_INVALID (Nix's
 * refusals), ERR_STORE_PATH_SEPARATOR, ERR_STORE_PATH_NAME_RESERVED (narsign's two extras),
 * ERR_STORE_PATH_NOT_ABSOLUTE, ERR_STORE_PATH_NOT_IN_STORE, ERR_CA_NOT_COMPUTABLE.
 */
import { createHash } from 'node:crypto';
import { encodeNix32, NIX32_ALPHABET } from './base32';
import type { ContentAddress, FileIngestionMethod } from './content-address';
import { argTypeError, excerpt, NarsignError } from './errors';
import { formatHash, Hash } from './hash';

/** Characters of the hash part (20 bytes in nix32). */
export const HASH_PART_LENGTH = 32;
/** Longest name Nix accepts (StorePath::MaxPathLen). */
export const MAX_NAME_LENGTH = 211;

/** char code (0–255) → allowed in a store path name: [A-Za-z0-9+\-._?=]. */
const NAME_CHARS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._?=') table[ch.charCodeAt(0)] = 1;
  return table;
})();

/** char code (0–255) → a nix32 digit (a local table: this check runs for every reference of every narinfo). */
const HASH_CHARS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (const ch of NIX32_ALPHABET) table[ch.charCodeAt(0)] = 1;
  return table;
})();

export interface StorePathInfo {
  /** The store directory, e.g. `/nix/store` (no trailing slash). */
  storeDir: string;
  /** The 32-character nix32 hash part. */
  hashPart: string;
  /** The name after `<hash part>-`. */
  name: string;
  /** `<hash part>-<name>` */
  baseName: string;
  /** `<storeDir>/<baseName>`, as Nix prints it. */
  path: string;
}

function show(c: number): string {
  return c >= 0x21 && c <= 0x7e ? String.fromCharCode(c) : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `name` is not a valid store path name, or undefined. `subject` is how the message refers to
 * the whole path. Nix's own wording where it has one.
 */
function nameProblem(name: string, subject: string): { code: string; message: string } | undefined {
  const invalid = (message: string) => ({ code: 'ERR_STORE_PATH_NAME_INVALID', message });
  if (name.length === 0) return invalid(`store path '${excerpt(subject)}' has an empty name`);
  if (name.length > MAX_NAME_LENGTH) return invalid(`store path '${excerpt(subject)}' has a name longer than ${MAX_NAME_LENGTH} characters`);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 255 || NAME_CHARS[c] === 0) return invalid(`store path '${excerpt(subject)}' contains illegal character '${show(c)}'`);
  }
  if (name.charCodeAt(0) === 0x2e /* . */) {
    const dots = name.charCodeAt(1) === 0x2e ? 2 : 1;
    if (name.length === dots || name.charCodeAt(dots) === 0x2d /* - */) {
      return {
        code: 'ERR_STORE_PATH_NAME_RESERVED',
        message: `store path '${excerpt(subject)}' has the name '${excerpt(name)}', which is not valid: its first dash-separated component must not be '${'.'.repeat(dots)}'`,
      };
    }
  }
  return undefined;
}

/** Validates a store path name alone (as in a CA computation). Throws ERR_STORE_PATH_NAME_INVALID / _RESERVED. */
export function checkStorePathName(name: string): void {
  if (typeof name !== 'string') throw argTypeError('the store path name must be a string');
  const problem = nameProblem(name, name);
  if (problem) throw new NarsignError(problem.code, problem.message);
}

/**
 * What is wrong with a store path base name, as `{ code, message }`, or undefined when it is valid.
 * Never throws. `start`/`end` check `text.slice(start, end)` without making that string first:
 * the narinfo reader checks every reference in place this way.
 */
export function storePathBaseNameProblem(text: string, start = 0, end = text.length): { code: string; message: string } | undefined {
  const hashEnd = start + HASH_PART_LENGTH;
  // One pass over the common, valid case; messages are built only on failure.
  let clean = end - hashEnd - 1 >= 1 && end - hashEnd - 1 <= MAX_NAME_LENGTH && text.charCodeAt(hashEnd) === 0x2d && text.charCodeAt(hashEnd + 1) !== 0x2e;
  let c = 0;
  for (let i = start; clean && i < hashEnd; i++) {
    c = text.charCodeAt(i);
    if (c > 255 || HASH_CHARS[c] === 0) clean = false;
  }
  for (let i = hashEnd + 1; clean && i < end; i++) {
    c = text.charCodeAt(i);
    if (c > 255 || NAME_CHARS[c] === 0) clean = false;
  }
  return clean ? undefined : baseNameProblemSlow(text.slice(start, end));
}

/** The precise problem with a base name that failed the fast check (or undefined for a valid name starting with '.'). */
function baseNameProblemSlow(baseName: string): { code: string; message: string } | undefined {
  if (baseName.length < HASH_PART_LENGTH + 1) {
    return { code: 'ERR_STORE_PATH_TOO_SHORT', message: `'${excerpt(baseName)}' is too short to be a valid store path` };
  }
  for (let i = 0; i < HASH_PART_LENGTH; i++) {
    const c = baseName.charCodeAt(i);
    if (c > 255 || HASH_CHARS[c] === 0) {
      return { code: 'ERR_STORE_PATH_HASH_INVALID', message: `store path '${excerpt(baseName)}' contains illegal base-32 character '${show(c)}'` };
    }
  }
  const sep = baseName.charCodeAt(HASH_PART_LENGTH);
  if (sep !== 0x2d) {
    return { code: 'ERR_STORE_PATH_SEPARATOR', message: `store path '${excerpt(baseName)}' has '${show(sep)}' after its hash part, not '-'` };
  }
  return nameProblem(baseName.slice(HASH_PART_LENGTH + 1), baseName);
}

/** Whether `baseName` is a valid `<hash part>-<name>`. */
export function isStorePathBaseName(baseName: string): boolean {
  return typeof baseName === 'string' && storePathBaseNameProblem(baseName) === undefined;
}

/** Splits a base name `<hash part>-<name>`, validating it as Nix's StorePath does (see module comment). */
export function parseStorePathBaseName(baseName: string): { hashPart: string; name: string; baseName: string } {
  if (typeof baseName !== 'string') throw argTypeError('the store path base name must be a string');
  const problem = storePathBaseNameProblem(baseName);
  if (problem) throw new NarsignError(problem.code, problem.message);
  return { hashPart: baseName.slice(0, HASH_PART_LENGTH), name: baseName.slice(HASH_PART_LENGTH + 1), baseName };
}

/**
 * Nix's `canonPath` without symlink resolution: an absolute path with repeated slashes, `.` and
 * `..` components and any trailing slash removed (`/nix//store/./x/` → `/nix/store/x`). Nix applies
 * it to a narinfo's StorePath before anything else, so the signature covers the canonical form.
 * Throws ERR_STORE_PATH_NOT_ABSOLUTE.
 */
export function canonicalizePath(path: string): string {
  if (typeof path !== 'string') throw argTypeError('the path must be a string');
  if (path.charCodeAt(0) !== 0x2f) throw new NarsignError('ERR_STORE_PATH_NOT_ABSOLUTE', `not an absolute path: '${path}'`);
  // The common case is already canonical; only then is scanning all components needed.
  if (!path.includes('//') && !path.includes('/.') && (path.length === 1 || !path.endsWith('/'))) return path;
  let out = '';
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out = out.slice(0, Math.max(0, out.lastIndexOf('/')));
    else out += `/${part}`;
  }
  return out === '' ? '/' : out;
}

/** Nix's `dirOf`: everything before the last '/', or '/' for a top-level entry. */
function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/**
 * Parses a full store path as Nix's `Store::parseStorePath`: canonicalized, then split into the
 * store directory and a validated base name. With `storeDir` (e.g. a cache's `StoreDir`), the path
 * must be directly inside it (ERR_STORE_PATH_NOT_IN_STORE, Nix's "path '…' is not in the Nix store").
 */
export function parseStorePath(path: string, storeDir?: string): StorePathInfo {
  const canonical = canonicalizePath(path);
  const dir = dirOf(canonical);
  if (storeDir !== undefined && dir !== canonicalizeStoreDir(storeDir)) {
    throw new NarsignError('ERR_STORE_PATH_NOT_IN_STORE', `path '${canonical}' is not in the Nix store '${canonicalizeStoreDir(storeDir)}'`);
  }
  const baseName = canonical.slice(dir === '/' ? 1 : dir.length + 1);
  const { hashPart, name } = parseStorePathBaseName(baseName);
  return { storeDir: dir, hashPart, name, baseName, path: printStorePath(dir, baseName) };
}

/** Whether `path` is a valid store path (inside `storeDir`, when given). */
export function isStorePath(path: string, storeDir?: string): boolean {
  try {
    parseStorePath(path, storeDir);
    return true;
  } catch (error) {
    if (error instanceof NarsignError) return false;
    throw error;
  }
}

/** A store directory as Nix holds it: absolute and canonical. */
export function canonicalizeStoreDir(storeDir: string): string {
  if (typeof storeDir !== 'string') throw argTypeError('the store directory must be a string');
  return canonicalizePath(storeDir);
}

/** `<storeDir>/<baseName>`, exactly as Nix's printStorePath joins them. */
export function printStorePath(storeDir: string, baseName: string): string {
  return `${storeDir}/${baseName}`;
}

/** Nix's `compressHash`: XOR-folds a digest into `size` bytes (store paths use 20). */
export function compressHash(digest: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < digest.length; i++) out[i % size] ^= digest[i];
  return out;
}

/**
 * Nix's `makeStorePath(type, hash, name)`: the path whose hash part is
 * nix32(compress20(sha256("<type>:<hash as algo:base16>:<storeDir>:<name>"))).
 * `hash` is a Hash or its already-rendered text.
 */
export function makeStorePath(storeDir: string, type: string, hash: Hash | string, name: string): string {
  checkStorePathName(name);
  const hashText = typeof hash === 'string' ? hash : formatHash(hash, 'base16');
  const inner = createHash('sha256').update(`${type}:${hashText}:${storeDir}:${name}`).digest();
  return printStorePath(storeDir, `${encodeNix32(compressHash(inner, 20))}-${name}`);
}

/** Nix's `makeType`: the type string with each reference's full path (sorted) and `:self` appended. */
function makeType(storeDir: string, type: string, references: readonly string[], hasSelfReference: boolean): string {
  let out = type;
  for (const ref of references) out += `:${printStorePath(storeDir, ref)}`;
  if (hasSelfReference) out += ':self';
  return out;
}

/** Sorted, de-duplicated copy of reference base names (Nix holds references in a std::set). */
function sortedUnique(references: readonly string[]): string[] {
  const sorted = [...references].sort();
  return sorted.filter((ref, i) => i === 0 || ref !== sorted[i - 1]);
}

/**
 * Nix's `makeFixedOutputPath`. A recursive sha256 is a "source" path (references, and `:self`, go
 * into its type); anything else is "output:out" over `fixed:out:[r:]<algo:base16>:` and may not
 * have references — Nix 2.8 aborts on an assertion there (later versions throw), narsign throws
 * ERR_CA_NOT_COMPUTABLE. `references` are base names, without the path itself.
 */
export function makeFixedOutputPath(
  storeDir: string,
  method: FileIngestionMethod,
  hash: Hash,
  name: string,
  references: readonly string[] = [],
  hasSelfReference = false,
): string {
  if (method !== 'flat' && method !== 'recursive') throw argTypeError(`unknown ingestion method ${JSON.stringify(method)}`, 'ERR_INVALID_ARG_VALUE');
  if (hash.algo === 'sha256' && method === 'recursive') {
    return makeStorePath(storeDir, makeType(storeDir, 'source', sortedUnique(references), hasSelfReference), hash, name);
  }
  if (references.length > 0) {
    throw new NarsignError(
      'ERR_CA_NOT_COMPUTABLE',
      `a fixed-output path hashed ${method === 'recursive' ? 'recursively ' : ''}with ${hash.algo} cannot have references (Nix 2.8 aborts here)`,
    );
  }
  const inner = createHash('sha256')
    .update(`fixed:out:${method === 'recursive' ? 'r:' : ''}${formatHash(hash, 'base16')}:`)
    .digest();
  return makeStorePath(storeDir, 'output:out', `sha256:${inner.toString('hex')}`, name);
}

/** Nix's `makeTextPath`: type "text" with the references (base names) appended; sha256 only. */
export function makeTextPath(storeDir: string, name: string, hash: Hash, references: readonly string[] = []): string {
  if (hash.algo !== 'sha256') {
    throw new NarsignError('ERR_CA_NOT_COMPUTABLE', `a text path's hash must be sha256, not ${hash.algo}`);
  }
  return makeStorePath(storeDir, makeType(storeDir, 'text', sortedUnique(references), false), hash, name);
}

/**
 * The store path a content address stands for, given the path's name and references (base names,
 * possibly including the path's own base name `selfBaseName`) — what Nix's
 * `ValidPathInfo::isContentAddressed` computes and compares with the narinfo's StorePath. For a
 * fixed address a self-reference becomes `:self`; for text it stays an ordinary reference (so such
 * a path can never match, as in Nix). Throws ERR_CA_NOT_COMPUTABLE where Nix cannot compute it.
 */
export function contentAddressedStorePath(
  ca: ContentAddress,
  name: string,
  storeDir: string,
  references: readonly string[] = [],
  selfBaseName?: string,
): string {
  if (ca.type === 'text') return makeTextPath(storeDir, name, ca.hash, references);
  const others = selfBaseName === undefined ? [...references] : references.filter((ref) => ref !== selfBaseName);
  const hasSelfReference = others.length !== references.length;
  return makeFixedOutputPath(storeDir, ca.method, ca.hash, name, others, hasSelfReference);
}
