/**
 * The rule tying a narinfo's file name to its StorePath — one rule for every mode (modern and
 * 2015), every command (sign, verify, inspect) and every reader (directory, files, HTTP).
 *
 * Nix fetches a path's narinfo as `<hash part>.narinfo` and refuses one describing another path
 * (queryPathInfo: "path is not valid"). So a file whose name looks like a cache entry must describe
 * the path of that name, or it is refused (ERR_NARINFO_FILE_NAME): a co-tenant copying A's signed
 * narinfo to B's name must not get it trusted, or signed, as B. "Looks like" is loose on purpose:
 * 32 letters or digits in either case, not only Nix's base-32 alphabet — `eeee…e.narinfo` or an
 * upper-case name can describe no path (Nix never asks for one), so it is hostile or a mistake,
 * never a copy to be signed as it is. Other names (`x.signed.narinfo`, written by
 * `narsign sign - < x.narinfo > x.signed.narinfo`) are served for no path and are not checked.
 */
import { NarsignError } from './errors';

const HASH_PART_LENGTH = 32;
const ENTRY_LIKE = /^[0-9a-z]{32}\.narinfo$/i;

/** The last component of a path. */
function baseName(fileName: string): string {
  return fileName.slice(fileName.lastIndexOf('/') + 1);
}

/** Whether a file name (or path) looks like a cache entry `<32 letters or digits>.narinfo`, and so must match its StorePath. */
export function isCacheEntryName(fileName: string): boolean {
  return ENTRY_LIKE.test(baseName(fileName));
}

/**
 * Refuses (ERR_NARINFO_FILE_NAME) a narinfo named `fileName` that describes `storePath`, unless the
 * name's hash part is the path's. `fileName` may be a path; `.narinfo` is optional.
 */
export function checkFileNameFor(storePath: string, fileName: string): void {
  const base = baseName(fileName);
  const stem = base.endsWith('.narinfo') ? base.slice(0, -'.narinfo'.length) : base;
  const hashPart = baseName(storePath).slice(0, HASH_PART_LENGTH);
  if (stem.length !== HASH_PART_LENGTH || stem !== hashPart) {
    throw new NarsignError(
      'ERR_NARINFO_FILE_NAME',
      `NAR info file '${fileName}' describes '${storePath}', whose narinfo would be '${hashPart}.narinfo': refusing a narinfo served under another path's name`,
      { file: fileName },
    );
  }
}
