/**
 * The signing-related settings of nix.conf, read as Nix 2.8 reads them (src/libutil/config.cc
 * `applyConfig`, src/libstore/globals.cc `loadConfFile`, src/libstore/store-api.cc
 * `getDefaultPublicKeys`), checked against a real Nix 2.8:
 *
 *  - a line is cut at its first '#', split into tokens on spaces, tabs and '\r'; an empty line is
 *    skipped; otherwise it must be `include PATH`, `!include PATH` or `NAME = VALUE…` with '=' a
 *    token of its own (`a=b` is an "illegal configuration line" — and breaks every Nix command).
 *    There is no line continuation: a trailing '\' is just a token.
 *  - `include` paths are relative to the including file; a missing `include` is an error, a missing
 *    `!include` is not; an included file (or any config file) that exists but can't be read is
 *    silently skipped.
 *  - `trusted-public-keys` (old name `binary-cache-public-keys`) replaces the list,
 *    `extra-trusted-public-keys` / `extra-binary-cache-public-keys` append to it; the built-in
 *    default is cache.nixos.org-1's key. `secret-key-files` likewise (`extra-secret-key-files`).
 *    `require-sigs` takes true/yes/1 or false/no/0 (default true), anything else is an error.
 *  - the keys Nix trusts are the trusted-public-keys entries followed by the public halves of the
 *    secret-key-files, and the FIRST key of a name wins; a secret key file that can't be read is
 *    ignored ("normal in a multi-user installation"), one that can be read must hold a valid key.
 *
 * Where Nix only says "public key is not valid" (and refuses to run), narsign names the entry:
 * file, line, setting, position in the list and column.
 */
import { lstatSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileBounded } from './bounded-read';
import { argTypeError, excerpt, NarsignError } from './errors';
import { readKeyFile } from './key-files';
import { parsePublicKey, parseSecretKey, type PublicKey } from './keys';

/** Where settings come from: a file, or text such as the NIX_CONFIG environment variable. */
export type NixConfSource =
  | { path: string }
  | {
      /** how errors refer to it, e.g. "NIX_CONFIG" */
      name: string;
      text: string;
      /** directory that relative `include`s resolve against; without it they are an error, as in Nix */
      dir?: string;
    };

/** Where a value was set. */
export interface ConfigOrigin {
  /** the config file, or a text source's name (e.g. "NIX_CONFIG") */
  file: string;
  /** 1-based line */
  line: number;
  /** the setting as written, e.g. "binary-cache-public-keys" or "extra-trusted-public-keys" */
  setting: string;
  /** 1-based position of the value among that line's values */
  entry: number;
  /** 1-based column where the value starts */
  column: number;
}

export interface TrustedPublicKey extends PublicKey {
  /** where it was configured; undefined for Nix's built-in default (cache.nixos.org-1) */
  origin?: ConfigOrigin;
  /** set when the key is the public half of a `secret-key-files` entry */
  secretKeyFile?: string;
}

export interface NixConf {
  /** The keys Nix trusts, in Nix's order: trusted-public-keys, then the public halves of the
   *  secret-key-files. Nix uses the FIRST key of each name; so should anything verifying with these. */
  trustedPublicKeys: TrustedPublicKey[];
  /** `secret-key-files` as configured (paths as written; Nix reads them relative to its cwd). */
  secretKeyFiles: Array<{ path: string; origin: ConfigOrigin }>;
  /** secret key files that could not be read (Nix ignores these silently) */
  skippedSecretKeyFiles: Array<{ path: string; reason: string }>;
  requireSigs: boolean;
  /** where require-sigs was set; undefined if it is Nix's default (true) */
  requireSigsOrigin?: ConfigOrigin;
  /** the config files actually read, in the order read (includes where they occur) */
  files: string[];
}

/** Nix's built-in `trusted-public-keys` default (globals.hh). */
export const NIX_DEFAULT_TRUSTED_PUBLIC_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';

/** Where a Nix installed from a distribution package keeps its system config (NIX_CONF_DIR's default). */
export const DEFAULT_NIX_CONF_DIR = '/etc/nix';

/**
 * The config sources Nix 2.8 reads, in the order it applies them (later ones override earlier):
 *  1. `$NIX_CONF_DIR/nix.conf` (default /etc/nix/nix.conf);
 *  2. the user files, lowest priority first: `$NIX_USER_CONF_FILES` (':'-separated, listed
 *     highest priority first) if it is set, else `nix/nix.conf` in each of `$XDG_CONFIG_DIRS`
 *     (default /etc/xdg; the last applied first) and then in `$XDG_CONFIG_HOME` (default
 *     ~/.config);
 *  3. the contents of `$NIX_CONFIG`, if set.
 * Files are listed whether or not they exist — Nix tries each and skips the missing.
 * One deliberate difference: an empty NIX_CONF_DIR means the default (Nix 2.8 aborts on it).
 */
export function findNixConf(env: NodeJS.ProcessEnv = process.env, options: { defaultConfDir?: string } = {}): NixConfSource[] {
  const confDir = env.NIX_CONF_DIR ? env.NIX_CONF_DIR : options.defaultConfDir ?? DEFAULT_NIX_CONF_DIR;
  const sources: NixConfSource[] = [{ path: path.resolve(confDir, 'nix.conf') }];

  let userFiles: string[];
  if (env.NIX_USER_CONF_FILES !== undefined) {
    userFiles = env.NIX_USER_CONF_FILES.split(':').filter((p) => p.length > 0);
  } else {
    // Nix: an unset variable takes the default, a set-but-empty one is used as is.
    const home = env.HOME ?? os.userInfo().homedir;
    const configHome = env.XDG_CONFIG_HOME ?? `${home}/.config`;
    const configDirs = (env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':').filter((p) => p.length > 0);
    userFiles = [configHome, ...configDirs].map((dir) => `${dir}/nix/nix.conf`);
  }
  for (const file of userFiles.reverse()) sources.push({ path: file });

  if (env.NIX_CONFIG !== undefined) sources.push({ name: 'NIX_CONFIG', text: env.NIX_CONFIG });
  return sources;
}

export interface ReadNixConfOptions {
  /** what to read (default: findNixConf(env)); a single path or text source is accepted too */
  sources?: NixConfSource | readonly NixConfSource[] | string;
  /** environment for findNixConf (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** read secret-key-files to trust their public halves, as Nix does (default true) */
  readSecretKeyFiles?: boolean;
}

/** A value token of a setting line, remembered with where it stood. */
interface Entry {
  value: string;
  origin: ConfigOrigin;
}

const KEY_SETTINGS: Record<string, { list: 'trusted' | 'secretFiles'; append: boolean }> = {
  'trusted-public-keys': { list: 'trusted', append: false },
  'binary-cache-public-keys': { list: 'trusted', append: false },
  'extra-trusted-public-keys': { list: 'trusted', append: true },
  'extra-binary-cache-public-keys': { list: 'trusted', append: true },
  'secret-key-files': { list: 'secretFiles', append: false },
  'extra-secret-key-files': { list: 'secretFiles', append: true },
};

/** Splits a line into tokens as Nix's tokenizeString does (separators: space, tab, '\n', '\r'), keeping columns. */
function tokenize(line: string): Array<{ text: string; column: number }> {
  const tokens: Array<{ text: string; column: number }> = [];
  for (const m of line.matchAll(/[^ \t\n\r]+/g)) tokens.push({ text: m[0], column: (m.index ?? 0) + 1 });
  return tokens;
}

/**
 * Whether text from a config line may be quoted in an error. A key pasted into nix.conf (whole,
 * wrapped over several lines, or cut short) must never reach a log, so text is quoted only when no
 * run of 16 base64 characters in it mixes upper and lower case: setting names, words, store paths
 * and ordinary file paths pass; random base64 almost never does.
 */
function quotable(text: string): boolean {
  for (const [run] of text.matchAll(/[A-Za-z0-9+/=]{16,}/g)) if (/[A-Z]/.test(run) && /[a-z]/.test(run)) return false;
  return true;
}
const quote = (text: string): string => (quotable(text) ? `'${excerpt(text)}'` : '(not shown: it looks like key material)');

function parseBool(value: string, setting: string, where: { file: string; line: number }): boolean {
  if (value === 'true' || value === 'yes' || value === '1') return true;
  if (value === 'false' || value === 'no' || value === '0') return false;
  throw new NarsignError(
    'ERR_NIXCONF_VALUE_INVALID',
    // The value is shown only when it is short and plain (never what could be pasted key material).
    `${where.file} line ${where.line}: Boolean setting '${setting}' has invalid value${/^[A-Za-z0-9]{0,8}$/.test(value) ? ` '${value}'` : ''} (expected true, yes, 1, false, no or 0)`,
    where,
  );
}

/** Reads a file as Nix's applyConfigFile does: any read failure (missing, unreadable, a directory) means "skip". */
/**
 * A nix.conf file's text, or undefined when it cannot be read (as Nix skips a missing file or a directory). It is
 * the operator's own file, so the limit is generous; it exists so that an `include` of /dev/zero or
 * a FIFO is refused (ERR_NOT_REGULAR_FILE, ERR_NIXCONF_TOO_LARGE) instead of hanging or filling memory.
 */
function tryRead(file: string): string | undefined {
  try {
    const tooLarge = (size: number) => new NarsignError('ERR_NIXCONF_TOO_LARGE', `nix.conf file '${file}' is ${size} bytes, more than the limit of ${MAX_NIXCONF_BYTES}`, { file });
    return readFileBounded(file, { limit: MAX_NIXCONF_BYTES, tooLarge }).bytes.toString('utf8');
  } catch (error) {
    // A directory cannot be read, and Nix skips what it cannot read; a FIFO or device is refused.
    if (error instanceof NarsignError && !isDirectory(file)) throw error;
    return undefined;
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** Most bytes of one nix.conf file (hundreds of thousands of trusted keys fit). */
export const MAX_NIXCONF_BYTES = 64 * 1024 * 1024;

/** Nix's pathExists: lstat succeeds (so a dangling symlink "exists", and then reads as nothing). */
function pathExists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads nix.conf the way Nix does and returns the signing-related settings, with every key parsed
 * and traced to its file, line and position.
 *
 * Codes: ERR_NIXCONF_SYNTAX (an "illegal configuration line"), ERR_NIXCONF_INCLUDE_MISSING,
 * ERR_NIXCONF_INCLUDE_INVALID (a relative include in a source with no directory, or a cycle),
 * ERR_NIXCONF_VALUE_INVALID (require-sigs), and the key codes of lib/keys.ts (ERR_PUBLIC_KEY_INVALID,
 * ERR_KEY_CORRUPT, ERR_BASE64_INVALID, ERR_KEY_NAME_INVALID, ERR_SECRET_KEY_*), each with `file`
 * and `line` set and a message naming the setting, entry and column. Only entries still in effect
 * after all sources are applied are parsed as keys — an entry overridden later can't break anything,
 * just as in Nix.
 */
export function readNixConf(options: ReadNixConfOptions = {}): NixConf {
  if (typeof options !== 'object' || options === null) throw argTypeError('readNixConf takes an options object');
  const rawSources = options.sources ?? findNixConf(options.env ?? process.env);
  const sources: readonly NixConfSource[] =
    typeof rawSources === 'string' ? [{ path: rawSources }] : Array.isArray(rawSources) ? rawSources : [rawSources as NixConfSource];

  let trusted: Entry[] | undefined; // undefined: never set, Nix's default applies
  let secretFiles: Entry[] = [];
  let requireSigs = true;
  let requireSigsOrigin: ConfigOrigin | undefined;
  const files: string[] = [];

  const apply = (text: string, file: string, dir: string | undefined, includeStack: string[]): void => {
    const lines = text.split('\n');
    // Nix reads up to each '\n'; a final '\n' does not start another line.
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((rawLine, index) => {
      const lineNo = index + 1;
      const where = { file, line: lineNo };
      const hash = rawLine.indexOf('#');
      const line = hash === -1 ? rawLine : rawLine.slice(0, hash);
      const tokens = tokenize(line);
      if (tokens.length === 0) return;
      // Unlike Nix, the line itself is not echoed: a key pasted into nix.conf by mistake would
      // end up in logs. Only a first token that looks like a setting name is shown.
      const first = /^[A-Za-z0-9._!-]{1,64}$/.test(tokens[0].text) && quotable(tokens[0].text) ? ` starting '${tokens[0].text}'` : '';
      const illegal = (why: string): NarsignError =>
        new NarsignError('ERR_NIXCONF_SYNTAX', `${file} line ${lineNo}: illegal configuration line${first} (${why})`, where);
      if (tokens.length < 2) throw illegal("expected 'name = value'");

      if (tokens[0].text === 'include' || tokens[0].text === '!include') {
        if (tokens.length !== 2) throw illegal(`'${tokens[0].text}' takes exactly one path`);
        const target = tokens[1].text;
        if (!path.isAbsolute(target) && dir === undefined) {
          throw new NarsignError('ERR_NIXCONF_INCLUDE_INVALID', `${file} line ${lineNo}: cannot include relative path ${quote(target)} from ${file}`, where);
        }
        const included = path.resolve(dir ?? '/', target);
        if (pathExists(included)) {
          if (includeStack.includes(included)) {
            throw new NarsignError('ERR_NIXCONF_INCLUDE_INVALID', `${file} line ${lineNo}: ${quote(included)} includes itself (${[...includeStack, included].map(quote).join(' -> ')})`, where);
          }
          const contents = tryRead(included);
          if (contents !== undefined) {
            files.push(included);
            apply(contents, included, path.dirname(included), [...includeStack, included]);
          }
        } else if (tokens[0].text === 'include') {
          throw new NarsignError('ERR_NIXCONF_INCLUDE_MISSING', `${file} line ${lineNo}: file ${quote(included)} included from '${file}' not found`, where);
        }
        return;
      }

      if (tokens[1].text !== '=') throw illegal("a setting is 'name = value', with '=' separated by spaces");
      const setting = tokens[0].text;
      const values = tokens.slice(2);
      const keySetting = KEY_SETTINGS[setting];
      if (keySetting) {
        const entries = values.map((t, i) => ({ value: t.text, origin: { file, line: lineNo, setting, entry: i + 1, column: t.column } }));
        if (keySetting.list === 'trusted') {
          trusted = keySetting.append ? [...(trusted ?? [defaultEntry()]), ...entries] : entries;
        } else {
          secretFiles = keySetting.append ? [...secretFiles, ...entries] : entries;
        }
      } else if (setting === 'require-sigs') {
        requireSigs = parseBool(values.map((t) => t.text).join(' '), setting, where);
        requireSigsOrigin = { file, line: lineNo, setting, entry: 1, column: values[0]?.column ?? tokens[1].column + 1 };
      }
      // Every other setting is none of narsign's business (Nix warns about unknown ones).
    });
  };

  for (const source of sources) {
    if ('path' in source) {
      if (typeof source.path !== 'string') throw argTypeError('a nix.conf source path must be a string');
      const file = path.resolve(source.path);
      const contents = tryRead(file);
      if (contents === undefined) continue;
      files.push(file);
      apply(contents, file, path.dirname(file), [file]);
    } else {
      if (typeof source.text !== 'string' || typeof source.name !== 'string') throw argTypeError('a nix.conf text source needs string name and text');
      apply(source.text, source.name, source.dir === undefined ? undefined : path.resolve(source.dir), []);
    }
  }

  const trustedPublicKeys: TrustedPublicKey[] = (trusted ?? [defaultEntry()]).map(({ value, origin }) => {
    if (origin.line === 0) return { ...parsePublicKey(value) };
    return { ...parseConfiguredKey(() => parsePublicKey(value, describe(origin)), origin), origin };
  });

  const skippedSecretKeyFiles: NixConf['skippedSecretKeyFiles'] = [];
  if (options.readSecretKeyFiles !== false) {
    for (const { value: file, origin } of secretFiles) {
      let contents: string;
      try {
        // Through readKeyFile's limits (a key file holds at most 64 KiB), wiping its buffer after.
        contents = readKeyFile(file, { secret: true });
      } catch (error) {
        // Too large is a configuration error, as an unparsable key is; a file that cannot be
        // opened (or is not a regular file) is skipped, as Nix skips it.
        if (!(error instanceof NarsignError) || error.code !== 'ERR_KEY_FILE') throw withOrigin(error, origin);
        skippedSecretKeyFiles.push({ path: file, reason: (error.cause as NodeJS.ErrnoException | undefined)?.code ?? 'not a regular file' });
        continue;
      }
      const secret = parseConfiguredKey(() => parseSecretKey(contents, `secret key file ${file}, ${describe(origin)}`), origin);
      secret.secretKey.fill(0);
      trustedPublicKeys.push({ name: secret.name, key: secret.publicKey, origin, secretKeyFile: file });
    }
  }

  return {
    trustedPublicKeys,
    secretKeyFiles: secretFiles.map(({ value, origin }) => ({ path: value, origin })),
    skippedSecretKeyFiles,
    requireSigs,
    ...(requireSigsOrigin ? { requireSigsOrigin } : {}),
    files,
  };
}

function defaultEntry(): Entry {
  return { value: NIX_DEFAULT_TRUSTED_PUBLIC_KEY, origin: { file: "Nix's built-in default", line: 0, setting: 'trusted-public-keys', entry: 1, column: 0 } };
}

function describe(origin: ConfigOrigin): string {
  return `${origin.setting} entry ${origin.entry} at ${origin.file} line ${origin.line}, column ${origin.column}`;
}

/** Runs a key parse, giving a failure the config file and line it came from. */
function parseConfiguredKey<T>(parse: () => T, origin: ConfigOrigin): T {
  try {
    return parse();
  } catch (error) {
    throw withOrigin(error, origin);
  }
}

/** `error`, a NarsignError given the config file and line it came from. */
function withOrigin(error: unknown, origin: ConfigOrigin): unknown {
  if (error instanceof NarsignError) {
    error.file = origin.file;
    error.line = origin.line;
  }
  return error;
}
