/**
 * Running the real `narsign` CLI (dist/cli/main.js, compiled by scripts/test.js before ava starts)
 * as a child process, for test/cli*.test.ts. Every run is checked for what must never appear in
 * any output: a secret key (base64 or hex) registered with rememberSecret, and a stack trace.
 *
 * Keys for the tests are made with node:crypto (an oracle independent of narsign), in Nix's
 * format: `NAME:BASE64(seed ‖ public key)` and `NAME:BASE64(public key)`.
 */
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const EXAMPLES = path.join(ROOT, 'examples', 'cache');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  /** extra environment (undefined removes a variable) */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** `key generate` prints a secret on stdout, on purpose */
  secretOnStdout?: boolean;
  /** run as this uid/gid (root only: to make a chmod 000 file unreadable) */
  uid?: number;
}

const secretPatterns: string[] = [];

/**
 * Registers a secret key string: no output of any later run may contain any piece of its seed —
 * every 16-character window of the seed's part of its base64 (and base64url), every 24-digit window
 * of the seed in hex — so a fragment is caught as well as the whole key.
 */
export function rememberSecret(secretKey: string): void {
  const bytes = Buffer.from(secretKey.slice(secretKey.indexOf(':') + 1), 'base64');
  const seed = bytes.subarray(0, 32);
  const windows = (text: string, size: number) => Array.from({ length: text.length - size + 1 }, (_, i) => text.slice(i, i + size));
  // 42 base64 characters hold the seed's 32 bytes (and 4 bits of the public key, which is fine).
  for (const b64 of [bytes.toString('base64'), bytes.toString('base64url'), seed.toString('base64'), seed.toString('base64url')]) secretPatterns.push(...windows(b64.slice(0, 42), 16));
  const hex = seed.toString('hex');
  secretPatterns.push(...windows(hex, 24), ...windows(hex.toUpperCase(), 24));
}

/** A temp dir (under os.tmpdir()) removed when the test process ends. */
const temps: string[] = [];
export function tempDir(prefix = 'narsign-cli-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
export function cleanupTemps(): void {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** An environment that reads no nix.conf of this machine (an empty NIX_CONF_DIR, no user files). */
export function isolatedEnv(confDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: confDir, NIX_USER_CONF_FILES: '' };
  for (const name of ['NIX_CONFIG', 'NARSIGN_NO_PROGRESS', 'NARSIGN_PROGRESS_DELAY_MS', 'NARSIGN_DEBUG']) delete env[name];
  return env;
}

const emptyConf = (() => {
  let dir: string | undefined;
  return () => (dir ??= tempDir('narsign-cli-conf-'));
})();

/** At most this many CLI processes at once (ava runs a file's tests concurrently; the machine has 2 cores). */
const MAX_RUNNING = 4;
let running = 0;
const queue: Array<() => void> = [];
async function slot(): Promise<() => void> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => queue.push(resolve));
  running += 1;
  return () => {
    running -= 1;
    queue.shift()?.();
  };
}

/** Runs `node dist/cli/main.js ARGS…` (or any command, with `command`) and checks its output. */
export async function cli(t: ExecutionContext, args: readonly string[], options: RunOptions = {}, command?: string[]): Promise<Run> {
  const release = await slot();
  try {
    return await runChecked(t, args, options, command);
  } finally {
    release();
  }
}

async function runChecked(t: ExecutionContext, args: readonly string[], options: RunOptions, command?: string[]): Promise<Run> {
  const env = isolatedEnv(emptyConf());
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const argv = command ?? [process.execPath, CLI, ...args];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd ?? os.tmpdir(),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => {}); // the CLI may exit before reading its input
  child.stdin.end(options.input ?? '');
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  clearTimeout(killer);
  const r = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  const shown = `narsign ${args.join(' ')}`;
  const leaks = (text: string) => secretPatterns.some((pattern) => text.includes(pattern));
  t.false(leaks(r.stderr), `${shown}: a piece of a secret key is on stderr`);
  if (!options.secretOnStdout) t.false(leaks(r.stdout), `${shown}: a piece of a secret key is on stdout`);
  t.notRegex(r.stderr, /^\s+at .+[:(]\d+:\d+\)?$/m, `${shown}: a stack trace on stderr`);
  return r;
}

/** A key pair made by node:crypto, in Nix's string format. The secret is remembered (see cli). */
export function makeKey(name: string): { secret: string; public: string; seed: Buffer; publicKey: Buffer } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const pk = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const secret = `${name}:${Buffer.concat([seed, pk]).toString('base64')}`;
  rememberSecret(secret);
  return { secret, public: `${name}:${pk.toString('base64')}`, seed, publicKey: pk };
}

/** Writes a secret key file, mode 0600 (so narsign does not warn about it). */
export function writeSecret(dir: string, name: string, secret: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return file;
}

/** Copies a cache directory (NAR subdirectories too). */
export function copyDir(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true });
  return to;
}

/** The hash part of a narinfo's StorePath. */
export function hashOf(text: string): string {
  return /^StorePath: \/nix\/store\/([0-9a-z]{32})-/m.exec(text)![1];
}

/** Writes narinfos as `<hash>.narinfo` (and nix-cache-info) into `dir`. */
export function writeCache(dir: string, texts: readonly string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\n');
  for (const text of texts) fs.writeFileSync(path.join(dir, `${hashOf(text)}.narinfo`), text);
  return dir;
}

/** Every file of a directory with its bytes (to check that nothing changed). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isFile()) out[name] = fs.readFileSync(file).toString('base64');
  }
  return out;
}

export const sigsOf = (text: string): string[] => [...text.matchAll(/^Sig: (.*)$/gm)].map((m) => m[1]);

/** Nix base-32 digits, for the shard rule (written here from the spec, not taken from narsign). */
export const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** A random valid hash part. */
export function randomHashPart(): string {
  return [...crypto.randomBytes(32)].map((b) => NIX32[b & 31]).join('');
}

/** Shell-quotes one word for `script -qc "…"`. */
export const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** A cache whose narinfos point to real NAR files (Compression none; FileHash in base16 by node:crypto). */
export function narCache(dir: string, count: number): { dir: string; nars: string[]; names: string[] } {
  fs.mkdirSync(path.join(dir, 'nar'), { recursive: true });
  const nars: string[] = [];
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = crypto.randomBytes(1000 + i * 137);
    const nar = `nar/${i}.nar`;
    fs.writeFileSync(path.join(dir, nar), bytes);
    const hex = crypto.createHash('sha256').update(bytes).digest('hex');
    texts.push(`StorePath: /nix/store/${randomHashPart()}-nar-${i}\nURL: ${nar}\nCompression: none\nFileHash: sha256:${hex}\nFileSize: ${bytes.length}\nNarHash: sha256:${hex}\nNarSize: ${bytes.length}\nReferences: \n`);
    nars.push(nar);
  }
  writeCache(dir, texts);
  return { dir, nars, names: texts.map((x) => `${hashOf(x)}.narinfo`) };
}

/** Breaks NARs 1–3 of a narCache: same size other bytes; one byte more; missing. */
export function breakNars(dir: string, nars: string[]): void {
  const p = (i: number) => path.join(dir, nars[i]);
  const b1 = fs.readFileSync(p(1));
  b1[10] ^= 1;
  fs.writeFileSync(p(1), b1);
  fs.appendFileSync(p(2), 'x');
  fs.rmSync(p(3));
}

