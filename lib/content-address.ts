/**
 * Content addresses: the `CA:` field of a narinfo (Nix 2.8 src/libstore/content-address.cc).
 *
 *   fixed:<algo>:<hash>      a file added flat (`nix store add-file`, fetchurl)
 *   fixed:r:<algo>:<hash>    a directory/file added as a NAR (`nix store add-path`, fixed-output derivations)
 *   text:sha256:<hash>       `builtins.toFile` and derivation files
 *
 * The hash is unprefixed base16, nix32 or padded base64, chosen by length (never SRI). Nix writes
 * it back as nix32. A path's CA lets Nix trust it without a signature — but only after recomputing
 * the store path from it (see lib/store-path.ts contentAddressedStorePath).
 *
 * Codes: ERR_CA_INVALID (not `<prefix>:<rest>`, unknown prefix, no `<algo>:`, text with a hash
 * other than sha256 — Nix's messages), plus the ERR_HASH_* codes of the hash inside.
 */
import { argTypeError, excerpt, NarsignError } from './errors';
import { formatHash, Hash, isHashAlgorithm, parseHashUnprefixed } from './hash';

/** How a path's contents were hashed: the file's bytes (flat) or its NAR serialisation (recursive). */
export type FileIngestionMethod = 'flat' | 'recursive';

export type ContentAddress =
  | { type: 'text'; hash: Hash }
  | { type: 'fixed'; method: FileIngestionMethod; hash: Hash };

function caError(message: string): NarsignError {
  return new NarsignError('ERR_CA_INVALID', message);
}

/** Parses a content address exactly as Nix's `parseContentAddress` (same accepts and refusals). */
export function parseContentAddress(text: string): ContentAddress {
  if (typeof text !== 'string') throw argTypeError('the content address must be a string');
  const colon = text.indexOf(':');
  if (colon < 0) throw caError(`not a content address because it is not in the form '<prefix>:<rest>': ${excerpt(text)}`);
  const prefix = text.slice(0, colon);
  let rest = text.slice(colon + 1);

  const takeAlgorithm = () => {
    const sep = rest.indexOf(':');
    if (sep < 0) throw caError(`content address hash must be in form '<algo>:<hash>', but found: ${excerpt(text)}`);
    const name = rest.slice(0, sep);
    if (!isHashAlgorithm(name)) throw new NarsignError('ERR_HASH_UNKNOWN_ALGORITHM', `unknown hash algorithm '${excerpt(name)}' in content address '${excerpt(text)}'`);
    rest = rest.slice(sep + 1);
    return name;
  };

  if (prefix === 'text') {
    const algo = takeAlgorithm();
    if (algo !== 'sha256') throw caError(`text content address hash should use sha256, but instead uses ${algo}`);
    return { type: 'text', hash: parseHashUnprefixed(rest, algo) };
  }
  if (prefix === 'fixed') {
    let method: FileIngestionMethod = 'flat';
    if (rest.startsWith('r:')) {
      method = 'recursive';
      rest = rest.slice(2);
    }
    const algo = takeAlgorithm();
    return { type: 'fixed', method, hash: parseHashUnprefixed(rest, algo) };
  }
  throw caError(`content address prefix '${excerpt(prefix)}' is unrecognized. Recognized prefixes are 'text' or 'fixed'`);
}

/** Writes a content address as Nix's `renderContentAddress` does (hash in nix32). */
export function formatContentAddress(ca: ContentAddress): string {
  if (typeof ca !== 'object' || ca === null) throw argTypeError('the content address must be an object');
  if (ca.type === 'text') return `text:${formatHash(ca.hash, 'nix32')}`;
  if (ca.type === 'fixed') return `fixed:${ca.method === 'recursive' ? 'r:' : ''}${formatHash(ca.hash, 'nix32')}`;
  throw argTypeError(`unknown content address type ${JSON.stringify((ca as { type: unknown }).type)}`, 'ERR_INVALID_ARG_VALUE');
}
