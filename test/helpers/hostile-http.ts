/**
 * For test/adversarial/http-*.test.ts: hostile HTTP servers on 127.0.0.1 (port 0) and a victim —
 * the real `narsign` CLI in a child process — whose memory is watched from /proc/<pid>/status
 * while it runs (peak VmHWM kept; the child is killed if it passes a ceiling, so a regression
 * cannot take the machine down) and whose run is bounded in time.
 */
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import zlib from 'node:zlib';
import { CLI, isolatedEnv, tempDir } from './cli';

export interface Hostile {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Server = http.Server | https.Server | net.Server;

async function listen(server: Server, scheme: string): Promise<Hostile> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An HTTP server on 127.0.0.1. */
export function httpServer(handler: http.RequestListener): Promise<Hostile> {
  return listen(http.createServer(handler), 'http');
}

/** An HTTPS server on 127.0.0.1 with a certificate from `selfSignedCert`. */
export function httpsServer(cert: { key: string; cert: string }, handler: http.RequestListener): Promise<Hostile> {
  return listen(https.createServer(cert, handler), 'https');
}

/** A TCP server whose every connection gets `onConnection` (raw bytes: what node:http refuses to send). */
export function rawServer(onConnection: (socket: net.Socket) => void): Promise<Hostile> {
  return listen(net.createServer(onConnection), 'http');
}

/**
 * A self-signed certificate for 127.0.0.1, made by openssl in a temporary directory; the victim
 * trusts it through NODE_EXTRA_CA_CERTS=`caFile`.
 */
export async function selfSignedCert(): Promise<{ key: string; cert: string; caFile: string }> {
  const dir = tempDir('narsign-tls-');
  const keyFile = `${dir}/key.pem`;
  const certFile = `${dir}/cert.pem`;
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile];
  await new Promise<void>((resolve, reject) => {
    const p = spawn('openssl', args, { stdio: 'ignore' });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`openssl req exited ${code}`))));
  });
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), caFile: certFile };
}

/**
 * Writes `next()` chunks to `res` as fast as the client reads them, until `next` returns undefined
 * or the client goes away; resolves with the bytes written (so a test sees when the victim hung up).
 */
export function pump(res: http.ServerResponse, next: () => Buffer | undefined): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    let done = false;
    const finish = () => {
      if (!done) resolve(written);
      done = true;
    };
    res.on('close', finish);
    res.on('error', finish);
    const go = () => {
      for (;;) {
        if (res.destroyed || done) return;
        const chunk = next();
        if (!chunk) {
          res.end(finish);
          return;
        }
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', go);
          return;
        }
      }
    };
    go();
  });
}

/**
 * A gzip bomb: `members` gzip members of 64 MiB of zeros each, one after the other (RFC 1952 allows
 * several members; gunzip gives their concatenation). 20 members are 1.3 MB that inflate to 1.25 GiB.
 */
export function gzipBombMember(): Buffer {
  return zlib.gzipSync(Buffer.alloc(64 << 20), { level: 9 });
}

export interface VictimRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the victim, in MiB (VmHWM, read while it ran). */
  peakMiB: number;
  /** Why the watcher killed it, if it did. */
  killed?: 'memory' | 'time';
}

/** Ceiling past which the victim is killed: any bounded reader stays far below it. */
export const KILL_AT_MIB = 768;

/**
 * Runs `narsign ARGS…` and watches it: VmHWM every 20 ms; killed past KILL_AT_MIB or after `limitMs`.
 * The run is checked for a stack trace (never shown to a user).
 */
export async function victim(t: ExecutionContext, args: readonly string[], options: { limitMs?: number; env?: Record<string, string> } = {}): Promise<VictimRun> {
  const env = { ...isolatedEnv(tempDir('narsign-conf-')), ...options.env };
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let peakKiB = 0;
  let killed: VictimRun['killed'];
  const watch = setInterval(() => {
    let status = '';
    try {
      status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    } catch {
      return; // exited
    }
    const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    peakKiB = Math.max(peakKiB, hwm);
    if (hwm > KILL_AT_MIB * 1024 && !killed) {
      killed = 'memory';
      child.kill('SIGKILL');
    }
  }, 20);
  const timer = setTimeout(() => {
    killed ??= 'time';
    child.kill('SIGKILL');
  }, options.limitMs ?? 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  clearInterval(watch);
  clearTimeout(timer);
  const r: VictimRun = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), peakMiB: Math.round(peakKiB / 1024), killed };
  t.notRegex(r.stderr, /^\s+at .+[:(]\d+:\d+\)?$/m, `narsign ${args.join(' ')}: a stack trace on stderr`);
  return r;
}

export interface JsonReport {
  total: number;
  trusted: number;
  failed: number;
  corrupt: number;
  files: Array<{ file: string; status: string; code?: string; message?: string; fetchedFrom?: string }>;
}

/** The --json report on the victim's stdout (undefined if it printed none, e.g. it was killed). */
export function report(r: VictimRun): JsonReport | undefined {
  try {
    return JSON.parse(r.stdout) as JsonReport;
  } catch {
    return undefined;
  }
}
