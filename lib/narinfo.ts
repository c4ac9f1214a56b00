/**
 * The `.narinfo` file: read it as Nix 2.8 reads it (src/libstore/nar-info.cc), keep every byte so
 * it can be written back unchanged, and write the canonical form Nix itself writes.
 *
 * Nix's reader, which narsign follows field by field:
 *  - a line is `Name: value`; the name is the text before the first ':' and the value starts two
 *    characters after it (whatever the character after the ':' is) and runs to the '\n';
 *  - every line must end in '\n' (a last line without one is corrupt);
 *  - StorePath (canonicalized, inside the store dir), URL (non-empty), NarHash and NarSize (non-zero)
 *    are required; a missing or empty Compression means bzip2;
 *  - for URL, Compression, FileHash, FileSize, NarHash, NarSize, StorePath, Deriver and System a
 *    repeated line's value wins; `References` may only repeat while the earlier ones were empty ("extra
 *    References"), `CA` likewise ("extra CA"); `Sig` lines accumulate (a set: duplicates count once);
 *  - References are split on ' ' (empty tokens dropped) and each must be a store path base name;
 *    `Deriver: unknown-deriver` means none; `System` is read and written back by Nix 2.8 (later
 *    versions dropped it); other names (Signature, …) are ignored, but narsign keeps them, in
 *    place, so the file round-trips.
 *
 * Where narsign is deliberately stricter than Nix 2.8 (each refusal is ERR_NARINFO_CORRUPT):
 *  - a line without ':' — including an empty line — and a line ending right after its ':'. Nix
 *    would glue such a line to the next one (its name then swallows the next line's name, or its
 *    value the whole next line), silently hiding e.g. a `Sig` or `References` line behind a blank
 *    line. Nix still refuses these at the end of the file, and when the hidden line was required;
 *  - store path base names Nix 2.8 lets through (see lib/store-path.ts): a character other than
 *    '-' after the hash part, and the names `.`/`..`/`.-…`/`..-…` that later Nix refuses;
 *  - input that is not valid UTF-8, when given bytes (ERR_NARINFO_ENCODING).
 * And narsign's documented limits (ERR_NARINFO_LIMIT, see NARINFO_LIMITS): sizes above 2^53−1,
 * more than 4 MiB of text, lines other than References longer than 64 KiB, more than 65,536
 * references or 256 Sig lines. Real narinfos are far below all of them (the largest known,
 * 207 KB with 3,691 references).
 *
 * Errors: `NAR info file '<where>' is corrupt: <reason> at line N` (the form later Nix versions
 * print; 2.8 prints no reason), code ERR_NARINFO_CORRUPT, `.line` set when the error is about a line
 * (physical lines; they are Nix's records too, as narsign refuses glued lines). Where Nix 2.8
 * throws some other error on a bad value (a bad StorePath, Deriver, reference or CA) narsign still
 * says "corrupt", with Nix's message as the reason and the original error as `cause`.
 */
import { ContentAddress, formatContentAddress, parseContentAddress } from './content-address';
import { argTypeError, NarsignError } from './errors';
import { formatHash, Hash, parseHash } from './hash';
import { canonicalizeStoreDir, parseStorePath, storePathBaseNameProblem } from './store-path';

/** One line of a narinfo, as written. */
export interface NarinfoLine {
  /** The text before the first ':'. */
  readonly name: string;
  /** What Nix reads as the value: from two characters after the ':' to the end of the line. */
  readonly value: string;
  /** The whole line exactly as written, without its '\n'. */
  readonly text: string;
}

/**
 * A parsed narinfo. The typed fields are what Nix reads; `lines` is the file itself, every line in
 * order, and is what `formatNarinfo` writes. A NarInfo from this module is frozen (its arrays
 * too): change one with `putSignature` / `removeSignatures`, which edit `lines` minimally and keep
 * the typed fields in step — or spread it into a new object, which is then just data (see
 * isParsedNarinfo).
 */
export interface NarInfo {
  /** The store directory: the StorePath's directory, or the `storeDir` option it was checked against. */
  readonly storeDir: string;
  /** The canonical full store path (`/nix//store/x/` is read as `/nix/store/x`, as Nix does). */
  readonly storePath: string;
  readonly hashPart: string;
  /** The name part of the store path (after `<hash>-`). */
  readonly name: string;
  readonly url: string;
  /** As written; `bzip2` when the line is missing or empty. */
  readonly compression: string;
  readonly fileHash?: Hash;
  readonly fileSize?: number;
  readonly narHash: Hash;
  readonly narSize: number;
  /** Reference base names, sorted and de-duplicated as Nix holds them (a set). */
  readonly references: readonly string[];
  /** Deriver base name; absent when missing or `unknown-deriver`. */
  readonly deriver?: string;
  /** The obsolete `System` field (Nix 2.8 still reads and writes it); absent when missing or empty. */
  readonly system?: string;
  /** The distinct `Sig` values, in file order. */
  readonly sigs: readonly string[];
  readonly ca?: ContentAddress;
  /** Every line of the file, in order. */
  readonly lines: readonly NarinfoLine[];
}

export interface NarinfoLimits {
  /** Longest text accepted, in characters. */
  maxLength: number;
  /** Longest line other than `References`, in characters (References is bounded by maxReferences). */
  maxLineLength: number;
  /** Most references (tokens over all References lines). */
  maxReferences: number;
  /** Most `Sig` lines. */
  maxSignatures: number;
}

/** The default limits: generous multiples of the largest real narinfos. */
export const NARINFO_LIMITS: Readonly<NarinfoLimits> = Object.freeze({
  maxLength: 4 * 1024 * 1024,
  maxLineLength: 64 * 1024,
  maxReferences: 65_536,
  maxSignatures: 256,
});

export interface ParseNarinfoOptions {
  /** How errors name the file (Nix uses the narinfo's path in the cache), default `<narinfo>`. */
  where?: string;
  /** The store directory the StorePath must be in (a cache's nix-cache-info `StoreDir`). */
  storeDir?: string;
  /** Raise or lower the limits. */
  limits?: Partial<NarinfoLimits>;
}

/** The NarInfos this module made (and froze): their fields are known valid. */
const sealed = new WeakSet<object>();

function seal(info: NarInfo): NarInfo {
  Object.freeze(info.references);
  Object.freeze(info.sigs);
  Object.freeze(info.lines);
  Object.freeze(info.narHash);
  if (info.fileHash) Object.freeze(info.fileHash);
  sealed.add(Object.freeze(info));
  return info;
}

/**
 * Whether `value` is a NarInfo made by parseNarinfo / putSignature / removeSignatures — frozen,
 * with a canonical StorePath and validated, sorted, de-duplicated references — so that e.g.
 * `fingerprint` can skip checking them again.
 */
export function isParsedNarinfo(value: unknown): value is NarInfo {
  return typeof value === 'object' && value !== null && sealed.has(value);
}

/** Sizes Nix accepts but a JS number can't hold exactly. */
const MAX_EXACT_SIZE = Number.MAX_SAFE_INTEGER;
const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * Nix's `string2Int<uint64_t>` (boost::lexical_cast): optional '+', decimal digits only, no
 * whitespace, at most 2^64−1. Returns undefined where Nix fails, 'too-large' above 2^53−1.
 */
function parseSize(value: string): number | undefined | 'too-large' {
  let i = value.charCodeAt(0) === 0x2b /* + */ ? 1 : 0;
  if (i >= value.length) return undefined;
  let n = 0;
  for (; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  if (n <= MAX_EXACT_SIZE) return n;
  const digits = value.replace(/^\+?0*/, '');
  return digits.length <= 20 && BigInt(digits) <= MAX_UINT64 ? 'too-large' : undefined;
}

function resolveLimits(partial: Partial<NarinfoLimits> | undefined): NarinfoLimits {
  if (partial === undefined) return NARINFO_LIMITS;
  if (typeof partial !== 'object' || partial === null) throw argTypeError('limits must be an object');
  const limits = { ...NARINFO_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) throw argTypeError(`limits.${key} must be a non-negative integer`, 'ERR_INVALID_ARG_VALUE');
  }
  return limits;
}

// ignoreBOM: a leading byte order mark is kept, as Nix keeps every byte (it is then part of the
// first line's name, and the file is refused like the same text given as a string).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function toText(input: string | Uint8Array, where: string): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) {
    try {
      return utf8.decode(input);
    } catch (error) {
      throw new NarsignError('ERR_NARINFO_ENCODING', `NAR info file '${where}' is not valid UTF-8`, { file: where, cause: error });
    }
  }
  throw argTypeError('the narinfo must be a string or a Buffer');
}

/** a < b by UTF-16 code units (what Array#sort does), without flattening sliced strings. */
function lessThan(a: string, b: string): boolean {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y;
  }
  return a.length < b.length;
}

/** Sorted and de-duplicated (a new array only when needed): already in order is the usual case. */
function sortedUnique(list: string[]): string[] {
  let ordered = true;
  for (let i = 1; i < list.length; i++) {
    if (!lessThan(list[i - 1], list[i])) {
      ordered = false;
      break;
    }
  }
  if (ordered) return list;
  const sorted = [...list].sort();
  return sorted.filter((item, i) => i === 0 || item !== sorted[i - 1]);
}

/** Parses a narinfo (see the module comment for the rules). Throws ERR_NARINFO_CORRUPT / _LIMIT / _ENCODING. */
export function parseNarinfo(input: string | Uint8Array, options: ParseNarinfoOptions = {}): NarInfo {
  if (typeof options !== 'object' || options === null) throw argTypeError('options must be an object');
  const where = options.where ?? '<narinfo>';
  if (typeof where !== 'string') throw argTypeError('options.where must be a string');
  const storeDirOption = options.storeDir === undefined ? undefined : canonicalizeStoreDir(options.storeDir);
  const limits = resolveLimits(options.limits);
  const text = toText(input, where);

  let line = 0;
  const fail = (reason: string, cause?: unknown, code = 'ERR_NARINFO_CORRUPT'): NarsignError => {
    const at = line > 0 ? ` at line ${line}` : '';
    const message = code === 'ERR_NARINFO_CORRUPT' ? `NAR info file '${where}' is corrupt: ${reason}${at}` : `NAR info file '${where}' ${reason}${at}`;
    return new NarsignError(code, message, { file: where, line: line > 0 ? line : undefined, cause });
  };
  const limit = (reason: string) => fail(reason, undefined, 'ERR_NARINFO_LIMIT');
  if (text.length > limits.maxLength) throw limit(`is ${text.length} characters long, more than the limit of ${limits.maxLength}`);

  const lines: NarinfoLine[] = [];
  let storePath: ReturnType<typeof parseStorePath> | undefined;
  let url = '';
  let compression = '';
  let fileHash: Hash | undefined;
  let fileSize: number | undefined;
  let narHash: Hash | undefined;
  let narSize = 0;
  let references: string[] = [];
  let deriver: string | undefined;
  let system = '';
  const sigs = new Set<string>();
  let sigLines = 0;
  let ca: ContentAddress | undefined;

  const size = (value: string, field: string): number => {
    const n = parseSize(value);
    if (n === undefined) throw fail(`invalid ${field}`);
    if (n === 'too-large') throw limit(`has a ${field} above 2^53-1, the largest narsign handles exactly`);
    return n;
  };
  const hash = (value: string, field: string): Hash => {
    try {
      return parseHash(value);
    } catch (error) {
      throw fail(`bad hash in ${field} (${(error as Error).message})`, error);
    }
  };

  let pos = 0;
  while (pos < text.length) {
    line++;
    const colon = text.indexOf(':', pos);
    const newline = text.indexOf('\n', pos);
    if (colon < 0 || (newline >= 0 && newline < colon)) {
      throw fail(newline === pos ? 'empty line' : "expecting ':'");
    }
    if (text.charCodeAt(colon + 1) === 0x0a) throw fail("expecting a value after ':'");
    // The value starts two characters after the ':'; with the checks above the line's '\n' is there or later.
    const eol = colon + 2 <= text.length ? text.indexOf('\n', colon + 2) : -1;
    if (eol < 0) throw fail("expecting '\\n'");
    const name = text.slice(pos, colon);
    const value = text.slice(colon + 2, eol);
    if (eol - pos > limits.maxLineLength && name !== 'References') {
      throw limit(`has a line of ${eol - pos} characters, more than the limit of ${limits.maxLineLength}`);
    }

    switch (name) {
      case 'StorePath':
        try {
          storePath = parseStorePath(value, storeDirOption);
        } catch (error) {
          throw fail(`bad StorePath (${(error as Error).message})`, error);
        }
        break;
      case 'URL':
        url = value;
        break;
      case 'Compression':
        compression = value;
        break;
      case 'FileHash':
        fileHash = hash(value, 'FileHash');
        break;
      case 'FileSize':
        fileSize = size(value, 'FileSize');
        break;
      case 'NarHash':
        narHash = hash(value, 'NarHash');
        break;
      case 'NarSize':
        narSize = size(value, 'NarSize');
        break;
      case 'References': {
        if (references.length > 0) throw fail('extra References');
        // Tokens are checked in place in `text` (cheaper than checking each sliced token).
        let start = colon + 2;
        while (start <= eol) {
          let end = text.indexOf(' ', start);
          if (end < 0 || end > eol) end = eol;
          if (end > start) {
            const problem = storePathBaseNameProblem(text, start, end);
            if (problem) throw fail(`bad reference (${problem.message})`, new NarsignError(problem.code, problem.message));
            if (references.length >= limits.maxReferences) throw limit(`has more than ${limits.maxReferences} references, the limit`);
            references.push(text.slice(start, end));
          }
          start = end + 1;
        }
        break;
      }
      case 'Deriver':
        if (value !== 'unknown-deriver') {
          const problem = storePathBaseNameProblem(value);
          if (problem) throw fail(`bad Deriver (${problem.message})`, new NarsignError(problem.code, problem.message));
          deriver = value;
        }
        break;
      case 'System':
        system = value;
        break;
      case 'Sig':
        if (++sigLines > limits.maxSignatures) throw limit(`has more than ${limits.maxSignatures} Sig lines, the limit`);
        sigs.add(value);
        break;
      case 'CA':
        if (ca !== undefined) throw fail('extra CA');
        // As Nix: an empty CA is no CA (and doesn't count as the first one).
        if (value !== '') {
          try {
            ca = parseContentAddress(value);
          } catch (error) {
            throw fail(`bad CA (${(error as Error).message})`, error);
          }
        }
        break;
      default:
        break; // kept in `lines`, ignored like Nix does
    }
    lines.push({ name, value, text: text.slice(pos, eol) });
    pos = eol + 1;
  }

  line = 0; // Nix reports missing fields without a line
  if (storePath === undefined) throw fail('StorePath missing');
  if (narHash === undefined) throw fail('NarHash missing');
  if (url === '') throw fail('URL missing');
  if (narSize === 0) throw fail('NarSize missing or zero');

  references = sortedUnique(references);
  const info: NarInfo = {
    storeDir: storePath.storeDir,
    storePath: storePath.path,
    hashPart: storePath.hashPart,
    name: storePath.name,
    url,
    compression: compression === '' ? 'bzip2' : compression,
    ...(fileHash === undefined ? {} : { fileHash }),
    ...(fileSize === undefined ? {} : { fileSize }),
    narHash,
    narSize,
    references,
    ...(deriver === undefined ? {} : { deriver }),
    ...(system === '' ? {} : { system }),
    sigs: [...sigs],
    ...(ca === undefined ? {} : { ca }),
    lines,
  };
  return seal(info);
}

/** The narinfo text of `info.lines`: for a parsed narinfo, byte for byte the text it was parsed from. */
export function formatNarinfo(info: Pick<NarInfo, 'lines'>): string {
  if (typeof info !== 'object' || info === null || !Array.isArray(info.lines)) throw argTypeError('formatNarinfo takes a NarInfo');
  let out = '';
  for (const l of info.lines) out += `${l.text}\n`;
  return out;
}

/**
 * The narinfo as Nix 2.8 writes it (`NarInfo::to_string`): its field order (System after Deriver), the hashes in nix32,
 * references and signatures sorted and de-duplicated, `References: ` (trailing space) when there are
 * none, Compression always, unknown fields dropped. Where Nix would hit an assertion (no FileHash),
 * narsign writes what it has: FileHash and FileSize only when known.
 */
export function canonicalNarinfo(info: NarInfo): string {
  if (typeof info !== 'object' || info === null) throw argTypeError('canonicalNarinfo takes a NarInfo');
  let out = `StorePath: ${info.storePath}\n`;
  out += `URL: ${info.url}\n`;
  out += `Compression: ${info.compression === '' ? 'bzip2' : info.compression}\n`;
  if (info.fileHash !== undefined) out += `FileHash: ${formatHash(info.fileHash, 'nix32')}\n`;
  if (info.fileHash !== undefined || info.fileSize !== undefined) out += `FileSize: ${info.fileSize ?? 0}\n`;
  out += `NarHash: ${formatHash(info.narHash, 'nix32')}\n`;
  out += `NarSize: ${info.narSize}\n`;
  out += `References: ${sortedUnique([...info.references]).join(' ')}\n`;
  if (info.deriver !== undefined) out += `Deriver: ${info.deriver}\n`;
  if (info.system !== undefined && info.system !== '') out += `System: ${info.system}\n`;
  for (const sig of sortedUnique([...info.sigs])) out += `Sig: ${sig}\n`;
  if (info.ca !== undefined) out += `CA: ${formatContentAddress(info.ca)}\n`;
  return out;
}

/** The key name of a `Sig` value as Nix splits it: text before the first ':', '' when none or empty. */
export function signatureKeyName(sig: string): string {
  const colon = sig.indexOf(':');
  return colon <= 0 ? '' : sig.slice(0, colon);
}

function withLines(info: NarInfo, lines: NarinfoLine[]): NarInfo {
  const sigs = new Set<string>();
  for (const l of lines) if (l.name === 'Sig') sigs.add(l.value);
  return seal({ ...info, sigs: [...sigs], lines });
}

/**
 * Adds the signature `sig` (`NAME:BASE64`) with a minimal edit, returning a new NarInfo:
 *  - if Sig lines with the same key name exist, the first becomes the new signature in place and
 *    the others are removed (signatures sort by name first, so the order is kept);
 *  - otherwise the new line goes among the existing Sig lines in sorted position, or — with none —
 *    where Nix puts Sig lines: before the CA line, else at the end.
 * Every other line is left exactly as it was.
 */
export function putSignature(info: NarInfo, sig: string): NarInfo {
  if (typeof sig !== 'string') throw argTypeError('the signature must be a string NAME:BASE64');
  const keyName = signatureKeyName(sig);
  if (keyName === '' || sig.includes('\n')) {
    throw new NarsignError('ERR_SIGNATURE_FORMAT', 'a signature to add must be NAME:BASE64 on one line, with a non-empty name');
  }
  const line: NarinfoLine = { name: 'Sig', value: sig, text: `Sig: ${sig}` };
  const lines: NarinfoLine[] = [];
  let replaced = false;
  for (const l of info.lines) {
    if (l.name === 'Sig' && signatureKeyName(l.value) === keyName) {
      if (!replaced) lines.push(line);
      replaced = true;
    } else lines.push(l);
  }
  if (!replaced) {
    let at = -1;
    let lastSig = -1;
    let firstCa = -1;
    for (let i = 0; i < lines.length; i++) {
      const { name, value } = lines[i];
      if (name === 'Sig') {
        lastSig = i;
        if (at < 0 && value > sig) at = i;
      } else if (name === 'CA' && firstCa < 0) firstCa = i;
    }
    if (at < 0) at = lastSig >= 0 ? lastSig + 1 : firstCa >= 0 ? firstCa : lines.length;
    lines.splice(at, 0, line);
  }
  return withLines(info, lines);
}

/** Removes the Sig lines whose key name is in `keyNames` (all Sig lines when omitted). */
export function removeSignatures(info: NarInfo, keyNames?: readonly string[]): NarInfo {
  const names = keyNames === undefined ? undefined : new Set(keyNames);
  return withLines(
    info,
    info.lines.filter((l) => l.name !== 'Sig' || (names !== undefined && !names.has(signatureKeyName(l.value)))),
  );
}
