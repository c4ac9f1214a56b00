/**
 * Issue 14, class 3: a hostile HTTP cache makes narsign wait. The per-request timeout covers the
 * whole transfer (headers and every body byte), and retries are bounded, so a server that drips
 * the body or never answers costs at most (retries + 1) × timeout plus the backoff.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cleanupTemps, cli, makeKey, narCache, randomHashPart, tempDir, writeSecret } from '../helpers/cli';
import { verifyHttpCache } from '../../lib/cache-http';
import { httpServer, report, victim } from '../helpers/hostile-http';

const key = makeKey('hostile-http-2');

test.after.always(() => cleanupTemps());

/** Sends the headers, then one byte a second, forever (until the victim hangs up or the test ends). */
function drip(res: import('node:http').ServerResponse, declared: number): void {
  res.writeHead(200, { 'content-length': String(declared) });
  res.flushHeaders();
  const timer = setInterval(() => res.write('S'), 1000);
  res.on('close', () => clearInterval(timer));
}

test('a narinfo dripped one byte a second: the timeout covers the body (exit 4, "timed out"), each attempt bounded', async (t) => {
  let requests = 0;
  const server = await httpServer((req, res) => {
    if (req.url === '/nix-cache-info') return void res.writeHead(404).end();
    requests += 1;
    drip(res, 4000);
  });
  try {
    const hash = randomHashPart();
    const r = await victim(t, ['verify', '--json', '--timeout', '2', '--retries', '1', '-t', key.public, server.url, hash], { limitMs: 30_000 });
    t.is(r.killed, undefined);
    t.is(r.code, 4);
    t.like(report(r)!.files[0], { status: 'failed', code: 'ERR_HTTP', message: `${server.url}/${hash}.narinfo: timed out after 2000 ms, after 2 attempts` });
    t.is(requests, 2);
  } finally {
    await server.close();
  }
});

test('--check-nars: a NAR dripped one byte a second is cut off by --timeout too', async (t) => {
  const { dir, nars, names } = narCache(path.join(tempDir(), 'nars'), 1);
  const sk = writeSecret(tempDir(), 'sk', key.secret);
  t.is((await cli(t, ['sign', '-k', sk, dir])).code, 0);
  const server = await httpServer((req, res) => {
    const name = decodeURIComponent(req.url!.slice(1));
    if (name === nars[0]) return drip(res, fs.statSync(path.join(dir, name)).size);
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  });
  try {
    const r = await victim(t, ['verify', '--json', '--check-nars', '--timeout', '2', '--retries', '0', '-t', key.public, server.url, names[0].slice(0, 32)], { limitMs: 30_000 });
    t.is(r.killed, undefined);
    t.is(r.code, 4);
    t.like(report(r)!.files[0], { status: 'failed', code: 'ERR_HTTP' });
    t.regex(report(r)!.files[0].message!, /timed out after 2000 ms$/);
  } finally {
    await server.close();
  }
});

test('a server that accepts and never answers: every attempt times out, then a failure (3 attempts in all)', async (t) => {
  let requests = 0;
  const server = await httpServer((req) => {
    if (req.url !== '/nix-cache-info') requests += 1;
    // never answer
  });
  try {
    const hash = randomHashPart();
    const r = await victim(t, ['verify', '--json', '--timeout', '1', '--retries', '2', '-t', key.public, server.url, hash], { limitMs: 30_000 });
    t.is(r.killed, undefined);
    t.is(r.code, 4);
    t.like(report(r)!.files[0], { status: 'failed', code: 'ERR_HTTP', message: `${server.url}/${hash}.narinfo: timed out after 1000 ms, after 3 attempts` });
    t.is(requests, 3);
  } finally {
    await server.close();
  }
});

test('an API caller cannot ask for an unbounded wait: retries or timeoutMs of Infinity, NaN or -1 are refused before any request', async (t) => {
  let requests = 0;
  const server = await httpServer((_req, res) => {
    requests += 1;
    res.writeHead(404).end();
  });
  try {
    for (const bad of [{ retries: Infinity }, { retries: Number.NaN }, { retries: -1 }, { timeoutMs: Infinity }, { timeoutMs: 0 }, { timeoutMs: 2 ** 40 }]) {
      const error = await t.throwsAsync(verifyHttpCache(server.url, [randomHashPart()], { trustedKeys: [key.public], ...bad }), { instanceOf: RangeError });
      t.is((error as RangeError & { code: string }).code, 'ERR_OUT_OF_RANGE', JSON.stringify(bad));
      t.regex(error!.message, new RegExp(`^${Object.keys(bad)[0]} must be an integer from`));
    }
    t.is(requests, 0);
  } finally {
    await server.close();
  }
});
