/**
 * Runs the real CLI (`node dist/cli/main.js`, compiled by scripts/test.js) as a child process, at
 * most two at a time (the machine is shared), with no nix.conf of this machine. For the hygiene and
 * key-file tests; test/helpers/cli.ts is the CLI suite's richer runner.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** the whole argv (e.g. ['sh', '-c', …]) instead of `node dist/cli/main.js ARGS…` */
  command?: readonly string[];
}

let running = 0;
const waiting: Array<() => void> = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await fn();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

let confDir: string | undefined;

/** `node dist/cli/main.js ARGS…`. A run that has not ended after a minute is killed (a hang, reported as signal SIGKILL). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  confDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-conf-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: confDir, NIX_USER_CONF_FILES: '', ...options.env };
  delete env.NIX_CONFIG;
  const argv = options.command ?? [process.execPath, CLI, ...args];
  return slot(
    () =>
      new Promise<Run>((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { env, cwd: options.cwd ?? os.tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.stdin.on('error', () => {});
        child.stdin.end(options.input ?? '');
        const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', reject);
        child.on('close', (code, signal) => {
          clearTimeout(killer);
          resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
        });
      }),
  );
}
