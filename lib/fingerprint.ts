/**
 * The fingerprint: the string a narinfo `Sig` signs (Nix 2.8 ValidPathInfo::fingerprint,
 * src/libstore/path-info.cc):
 *
 *   1;<store path>;<NarHash as algo:nix32>;<NarSize in decimal>;<references as full paths, sorted, ','-joined>
 *
 * The NarHash is re-encoded whatever spelling the narinfo used; Nix keeps its algorithm, so an
 * (unusual) sha512 NarHash gives `sha512:<nix32>` — narsign does the same so signatures agree.
 * References are a set in Nix: sorted byte-wise and de-duplicated, a self-reference included.
 * A NarSize of 0 is refused as Nix refuses it (ERR_FINGERPRINT_NAR_SIZE).
 */
import { argTypeError, NarsignError } from './errors';
import { encodeNix32 } from './base32';
import { Hash, HASH_SIZES, isHashAlgorithm, parseHash } from './hash';
import { isParsedNarinfo } from './narinfo';
import { canonicalizePath, parseStorePath, storePathBaseNameProblem } from './store-path';

/** What a fingerprint is computed from: a NarInfo has all of it. */
export interface FingerprintInput {
  /** The full store path. */
  storePath: string;
  /** The store directory; defaults to the StorePath's directory. */
  storeDir?: string;
  /** A Hash, or any prefixed spelling Nix accepts (`sha256:…`, `sha256-…`). */
  narHash: Hash | string;
  narSize: number | bigint;
  /** Base names (as a narinfo writes them) or full store paths. */
  references: readonly string[];
}

function narHashText(narHash: Hash | string): string {
  const hash = typeof narHash === 'string' ? parseHash(narHash) : narHash;
  if (typeof hash !== 'object' || hash === null || !isHashAlgorithm(hash.algo) || !(hash.digest instanceof Uint8Array)) {
    throw argTypeError('narHash must be a Hash { algo, digest } or a hash string');
  }
  if (hash.digest.length !== HASH_SIZES[hash.algo]) {
    throw new NarsignError('ERR_HASH_WRONG_LENGTH', `a ${hash.algo} digest has ${HASH_SIZES[hash.algo]} bytes, not ${hash.digest.length}`);
  }
  return `${hash.algo}:${encodeNix32(hash.digest)}`;
}

/** A reference as a base name: full paths must be directly in the store dir. */
function referenceBaseName(ref: string, storeDir: string): string {
  if (typeof ref !== 'string') throw argTypeError('each reference must be a string');
  if (ref.charCodeAt(0) === 0x2f /* / */) return parseStorePath(ref, storeDir).baseName;
  const problem = storePathBaseNameProblem(ref);
  if (problem) throw new NarsignError(problem.code, problem.message);
  return ref;
}

/** Nix's fingerprint of a path (see the module comment). */
export function fingerprint(info: FingerprintInput): string {
  // A NarInfo from parseNarinfo is frozen and already checked: canonical StorePath, references
  // valid, sorted and unique, NarSize non-zero. This is the path a batch takes per file.
  if (isParsedNarinfo(info)) {
    const prefix = `${info.storeDir}/`;
    const refs = info.references.length === 0 ? '' : prefix + info.references.join(`,${prefix}`);
    return `1;${info.storePath};${info.narHash.algo}:${encodeNix32(info.narHash.digest)};${info.narSize};${refs}`;
  }
  if (typeof info !== 'object' || info === null) throw argTypeError('fingerprint takes a NarInfo or { storePath, narHash, narSize, references }');
  const { narSize, references } = info;
  if (typeof info.storePath !== 'string') throw argTypeError('storePath must be a string');
  if (!Array.isArray(references)) throw argTypeError('references must be an array');
  const storeDir = info.storeDir === undefined ? undefined : canonicalizePath(info.storeDir);
  // A parsed NarInfo's storePath is already canonical and checked; re-checking is cheap and keeps hand-made input honest.
  const path = parseStorePath(info.storePath, storeDir);
  if (typeof narSize !== 'number' && typeof narSize !== 'bigint') throw argTypeError('narSize must be a number or bigint');
  if (typeof narSize === 'number' && !(Number.isSafeInteger(narSize) && narSize >= 0)) {
    throw argTypeError('narSize must be a non-negative integer', 'ERR_INVALID_ARG_VALUE');
  }
  if (narSize < 0 || BigInt(narSize) >= 1n << 64n) throw argTypeError('narSize must fit in 64 bits', 'ERR_INVALID_ARG_VALUE');
  if (narSize == 0) {
    throw new NarsignError('ERR_FINGERPRINT_NAR_SIZE', `cannot calculate fingerprint of path '${path.path}' because its size is not known`);
  }

  // Base names sort like the full paths (same prefix), so sort and de-duplicate those, then join
  // once; a parsed NarInfo's references are already in order.
  const names = new Array<string>(references.length);
  let ordered = true;
  for (let i = 0; i < references.length; i++) {
    names[i] = referenceBaseName(references[i], path.storeDir);
    if (i > 0 && names[i - 1] >= names[i]) ordered = false;
  }
  let refs = names;
  if (!ordered) {
    names.sort();
    refs = names.filter((ref, i) => i === 0 || ref !== names[i - 1]);
  }
  const prefix = `${path.storeDir}/`;
  const joined = refs.length === 0 ? '' : prefix + refs.join(`,${prefix}`);
  return `1;${path.path};${narHashText(info.narHash)};${narSize};${joined}`;
}
