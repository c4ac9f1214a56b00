/**
 * Runs a real Nix (2.8 from `apt-get install nix-bin`) offline, as a test peer: a private
 * NIX_CONF_DIR whose nix.conf enables `nix-command`, has no substituters (else every call waits on
 * the network) and trusts no key unless told to; a private store under a temp dir (`--store`);
 * no user config (NIX_USER_CONF_FILES empty, HOME and XDG dirs inside the temp dir, NIX_CONFIG unset).
 *
 * Shared by the interop suites: extend it rather than writing another.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface NixResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface NixRunOptions {
  /** bytes or text for stdin */
  input?: string | Buffer;
  /** extra environment variables (undefined values are removed) */
  env?: Record<string, string | undefined>;
  /** pass `--store <private store>` (default: true for commands that need a store) */
  useStore?: boolean;
  cwd?: string;
}

export interface NixSandbox {
  /** the temp dir everything lives in */
  dir: string;
  /** the NIX_CONF_DIR */
  confDir: string;
  /** the private local store root passed as `--store` */
  storeRoot: string;
  /** the environment real Nix runs with */
  env: NodeJS.ProcessEnv;
  /** Runs `nix ARGS…` (adding `--store` when useStore). Never throws on a non-zero exit. */
  nix(args: string[], options?: NixRunOptions): NixResult;
  /** Runs another Nix binary (nix-store, …) in the same environment. */
  run(command: string, args: string[], options?: NixRunOptions): NixResult;
  /** Rewrites nix.conf: the offline basics plus `extra` lines. */
  writeConf(extra?: string): void;
  /** Writes a file inside the sandbox dir and returns its path. */
  writeFile(name: string, contents: string | Buffer, mode?: number): string;
  cleanup(): void;
}

const BASE_CONF = ['experimental-features = nix-command', 'substituters =', 'trusted-public-keys ='].join('\n');

let cachedVersion: string | null | undefined;

/** `nix --version` output, or null if no usable nix is installed. */
export function nixVersion(): string | null {
  if (cachedVersion !== undefined) return cachedVersion;
  const r = spawnSync('nix', ['--version'], { encoding: 'utf8' });
  cachedVersion = r.status === 0 ? r.stdout.trim() : null;
  return cachedVersion;
}

/** Why real Nix can't be used here, or undefined if it can (interop tests skip with this reason). */
export function nixUnavailableReason(): string | undefined {
  if (nixVersion() === null) return 'nix is not installed (apt-get install -y nix-bin)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'real Nix runs offline on a private store only as root (no daemon)';
  }
  return undefined;
}

export function makeNixSandbox(extraConf = ''): NixSandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'narsign-nix-'));
  const confDir = path.join(dir, 'conf');
  const storeRoot = path.join(dir, 'store');
  const home = path.join(dir, 'home');
  mkdirSync(confDir);
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NIX_CONFIG', 'NIX_REMOTE', 'NIX_PATH', 'XDG_CONFIG_DIRS']) delete env[name];
  Object.assign(env, {
    NIX_CONF_DIR: confDir,
    NIX_USER_CONF_FILES: '',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    TMPDIR: dir,
  });

  const writeConf = (extra = ''): void => {
    writeFileSync(path.join(confDir, 'nix.conf'), `${BASE_CONF}\n${extra}${extra.endsWith('\n') || extra === '' ? '' : '\n'}`);
  };
  writeConf(extraConf);

  const run = (command: string, args: string[], options: NixRunOptions = {}): NixResult => {
    const runEnv = { ...env };
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete runEnv[k];
      else runEnv[k] = v;
    }
    const r = spawnSync(command, args, {
      env: runEnv,
      input: options.input,
      cwd: options.cwd ?? dir,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  return {
    dir,
    confDir,
    storeRoot,
    env,
    nix: (args, options = {}) => run('nix', options.useStore ? ['--store', storeRoot, ...args] : args, options),
    run,
    writeConf,
    writeFile: (name, contents, mode) => {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, contents, mode === undefined ? undefined : { mode });
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Maps a Nix error message to the narsign error code for the same verdict, so interop tests compare
 * verdicts, not wording (which changed between Nix versions: "secret key is corrupt" in 2.8,
 * "key is corrupt" later). Returns undefined for messages with no narsign counterpart.
 */
export function codeOfNixError(stderr: string): string | undefined {
  if (/invalid character in Base64 string/.test(stderr)) return 'ERR_BASE64_INVALID';
  if (/secret key is not valid/.test(stderr)) return 'ERR_SECRET_KEY_INVALID';
  if (/public key is not valid/.test(stderr)) return 'ERR_PUBLIC_KEY_INVALID';
  if (/signature is not valid/.test(stderr)) return 'ERR_SIGNATURE_INVALID';
  if (/key is corrupt/.test(stderr)) return 'ERR_KEY_CORRUPT';
  if (/illegal configuration line/.test(stderr)) return 'ERR_NIXCONF_SYNTAX';
  if (/included from .* not found/.test(stderr)) return 'ERR_NIXCONF_INCLUDE_MISSING';
  if (/Boolean setting .* has invalid value/.test(stderr)) return 'ERR_NIXCONF_VALUE_INVALID';
  return undefined;
}

// ---- binary caches (narinfo interop) ----------------------------------------------------------

/** Whether real Nix can be used here (see nixUnavailableReason for why not). */
export function nixAvailable(): boolean {
  return nixUnavailableReason() === undefined;
}

/** Runs `fn` with a fresh sandbox, removing it afterwards. */
export function withNixEnv<T>(fn: (sandbox: NixSandbox) => T, extraConf = ''): T {
  const sandbox = makeNixSandbox(extraConf);
  try {
    return fn(sandbox);
  } finally {
    sandbox.cleanup();
  }
}

/**
 * Writes a `file://` binary cache inside the sandbox: `nix-cache-info` (StoreDir) and the given
 * narinfos, each under `<fileName>` (normally `<hash part>.narinfo`). Returns the cache directory.
 */
export function writeBinaryCache(
  sandbox: NixSandbox,
  name: string,
  narinfos: ReadonlyArray<{ fileName: string; text: string | Buffer }>,
  storeDir = '/nix/store',
): string {
  const dir = path.join(sandbox.dir, 'caches', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'nix-cache-info'), `StoreDir: ${storeDir}\n`);
  for (const { fileName, text } of narinfos) writeFileSync(path.join(dir, fileName), text);
  return dir;
}

/** Nix's verdict on a cache, from `nix store verify`'s exit status. */
export type NixCacheVerdict = 'trusted' | 'untrusted' | 'corrupt' | 'failed' | 'aborted' | 'other';

export function nixVerdictOfStatus(status: number | null): NixCacheVerdict {
  switch (status) {
    case 0:
      return 'trusted';
    case 2:
      return 'untrusted';
    case 1:
      return 'corrupt';
    case 4:
      return 'failed';
    case 134:
    case null: // killed by SIGABRT
      return 'aborted';
    default:
      return 'other';
  }
}

/**
 * `nix store verify --store file://DIR --no-contents` over every narinfo of the cache (or just
 * `paths`), trusting exactly `keys`: exit 0 trusted, 2 untrusted, 1 corrupt/refused, 4 failed.
 */
export function nixVerifyCache(
  sandbox: NixSandbox,
  cacheDir: string,
  options: { keys: readonly string[]; sigsNeeded?: number; paths?: readonly string[]; storeDir?: string },
): NixResult & { verdict: NixCacheVerdict } {
  // A cache for another store dir is only opened when the store is told that dir (`?store=`).
  const url = options.storeDir === undefined ? `file://${cacheDir}` : `file://${cacheDir}?store=${options.storeDir}`;
  const args = ['store', 'verify', '--store', url, '--no-contents', '--trusted-public-keys', options.keys.join(' ')];
  if (options.sigsNeeded !== undefined) args.push('--sigs-needed', String(options.sigsNeeded));
  if (options.paths) args.push(...options.paths);
  else args.push('--all');
  const result = sandbox.nix(args);
  return { ...result, verdict: nixVerdictOfStatus(result.status) };
}
