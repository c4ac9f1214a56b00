/**
 * Issue 14, class 3: a hostile HTTP cache sends bodies without end. Each test is a real server on
 * 127.0.0.1 doing it to the real CLI (a child process whose peak RSS is read from /proc while it
 * runs; it is killed past KILL_AT_MIB, so the attack cannot take the machine down when it works).
 * Before the fix, every body was read whole: an endless body or a gzip bomb grew until V8 died.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cleanupTemps, cli, makeKey, narCache, randomHashPart, tempDir, writeSecret } from '../helpers/cli';
import { gzipBombMember, httpServer, pump, report, victim } from '../helpers/hostile-http';

const key = makeKey('hostile-http-1');
const NARINFO_CAP = 4 * 1024 * 1024; // docs/limits.md: a narinfo over HTTP
/** Well above node's own ~50–80 MiB and a few capped bodies; far below what an unbounded read reaches. */
const BOUNDED_MIB = 300;

test.after.always(() => cleanupTemps());

const chunk = Buffer.alloc(64 * 1024, 'a');
/** Chunks of 64 KiB until `total` bytes (a bound for the test itself; the victim must stop long before). */
const endless = (total: number) => {
  let sent = 0;
  return () => (sent < total ? ((sent += chunk.length), chunk) : undefined);
};

test('an endless narinfo body: stopped at the narinfo limit (ERR_HTTP_BODY_TOO_LARGE naming URL and cap), memory bounded', async (t) => {
  const sentTo = new Map<string, number>();
  const server = await httpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/x-nix-narinfo' });
    void pump(res, endless(8 * 1024 ** 3)).then((n) => sentTo.set(req.url!, n));
  });
  try {
    const hash = randomHashPart();
    const r = await victim(t, ['verify', '--json', '--retries', '0', '-t', key.public, server.url, hash]);
    t.log(`peak RSS ${r.peakMiB} MiB`);
    t.is(r.killed, undefined, `the victim was killed for ${r.killed} at ${r.peakMiB} MiB`);
    t.true(r.peakMiB < BOUNDED_MIB, `peak RSS ${r.peakMiB} MiB`);
    t.is(r.code, 4);
    const file = report(r)!.files[0];
    t.like(file, { status: 'failed', code: 'ERR_HTTP_BODY_TOO_LARGE' });
    t.true(file.message!.startsWith(`${server.url}/${hash}.narinfo: `), file.message);
    t.true(file.message!.includes(String(NARINFO_CAP)), file.message);
  } finally {
    await server.close();
  }
  // nix-cache-info, endless too, was cut off at its own (smaller) cap: the victim hung up on it early
  t.true((sentTo.get('/nix-cache-info') ?? Infinity) < 256 * 1024 ** 2, `${sentTo.get('/nix-cache-info')} bytes of nix-cache-info sent`);
});

/** A server answering every request with a gzip bomb: 20 gzip members of 64 MiB of zeros (1.3 MB sent, 1.25 GiB inflated). */
async function gzipBombServer(): Promise<Awaited<ReturnType<typeof httpServer>>> {
  const member = gzipBombMember();
  return httpServer((_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip' });
    let members = 0;
    void pump(res, () => (members++ < 20 ? member : undefined));
  });
}

test('a gzip bomb (Content-Encoding: gzip, 1.3 MB inflating to 1.25 GiB): decompressed bytes are counted, memory bounded', async (t) => {
  const server = await gzipBombServer();
  try {
    const r = await victim(t, ['verify', '--json', '--retries', '0', '-t', key.public, server.url, randomHashPart()]);
    t.log(`peak RSS ${r.peakMiB} MiB`);
    t.is(r.killed, undefined, `the victim was killed for ${r.killed} at ${r.peakMiB} MiB`);
    t.true(r.peakMiB < BOUNDED_MIB, `peak RSS ${r.peakMiB} MiB`);
    t.is(r.code, 4);
    t.like(report(r)!.files[0], { status: 'failed', code: 'ERR_HTTP_BODY_TOO_LARGE' });
    t.regex(report(r)!.files[0].message!, /decompressed/);
  } finally {
    await server.close();
  }
});

test('many requests in flight (-j 16, 48 paths), every one a gzip bomb: memory bounded by concurrency × cap', async (t) => {
  const server = await gzipBombServer();
  try {
    const hashes = Array.from({ length: 48 }, () => randomHashPart());
    const r = await victim(t, ['verify', '--json', '--retries', '0', '-j', '16', '-t', key.public, server.url, ...hashes]);
    t.log(`peak RSS ${r.peakMiB} MiB`);
    t.is(r.killed, undefined, `the victim was killed for ${r.killed} at ${r.peakMiB} MiB`);
    // 16 × 4 MiB in flight, plus node itself
    t.true(r.peakMiB < BOUNDED_MIB + 16 * 4, `peak RSS ${r.peakMiB} MiB`);
    t.is(r.code, 4);
    const rep = report(r)!;
    t.is(rep.failed, 48);
    t.true(rep.files.every((f) => f.code === 'ERR_HTTP_BODY_TOO_LARGE'));
  } finally {
    await server.close();
  }
});

test('a Content-Length of 1 TiB, then bytes without end: refused from the header, before the body is read', async (t) => {
  let sent = -1;
  const server = await httpServer((req, res) => {
    if (req.url === '/nix-cache-info') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(1024 ** 4) });
    void pump(res, endless(512 * 1024 ** 2)).then((n) => (sent = n));
  });
  try {
    const hash = randomHashPart();
    const r = await victim(t, ['verify', '--json', '--retries', '0', '-t', key.public, server.url, hash]);
    t.log(`peak RSS ${r.peakMiB} MiB`);
    t.is(r.killed, undefined, `the victim was killed for ${r.killed} at ${r.peakMiB} MiB`);
    t.is(r.code, 4);
    const file = report(r)!.files[0];
    t.like(file, { status: 'failed', code: 'ERR_HTTP_BODY_TOO_LARGE' });
    t.regex(file.message!, new RegExp(`announces ${1024 ** 4} bytes \\(Content-Length\\), more than the limit of ${NARINFO_CAP}`));
  } finally {
    await server.close();
  }
  // what the server got out before the victim hung up is socket buffers, not the body
  t.true(sent >= 0 && sent < 64 * 1024 ** 2, `${sent} bytes sent`);
});

test('--check-nars: a NAR longer than its FileSize, without end: the download stops at the FileSize (ERR_NAR_SIZE)', async (t) => {
  const { dir, nars, names } = narCache(path.join(tempDir(), 'nars'), 2);
  const sk = writeSecret(tempDir(), 'sk', key.secret);
  t.is((await cli(t, ['sign', '-k', sk, dir])).code, 0);
  let sent = -1;
  const server = await httpServer((req, res) => {
    const name = decodeURIComponent(req.url!.slice(1));
    if (name === nars[1]) {
      // the real NAR, then more bytes than any download should take
      const real = fs.readFileSync(path.join(dir, name));
      res.writeHead(200);
      let first = true;
      const more = endless(1024 ** 3);
      void pump(res, () => (first ? ((first = false), real) : more())).then((n) => (sent = n));
      return;
    }
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  });
  try {
    const r = await victim(t, ['verify', '--json', '--check-nars', '--retries', '0', '-t', key.public, server.url, ...names.map((n) => n.slice(0, 32))]);
    t.log(`peak RSS ${r.peakMiB} MiB`);
    t.is(r.killed, undefined, `the victim was killed for ${r.killed} at ${r.peakMiB} MiB`);
    t.is(r.code, 4);
    const byName = Object.fromEntries(report(r)!.files.map((f) => [path.basename(f.file), f]));
    t.is(byName[names[0]].status, 'trusted');
    t.like(byName[names[1]], { status: 'failed', code: 'ERR_NAR_SIZE' });
    t.regex(byName[names[1]].message!, /the narinfo says \d+ bytes but the server sends more/);
  } finally {
    await server.close();
  }
  t.true(sent >= 0 && sent < 64 * 1024 ** 2, `${sent} bytes of the NAR sent`);
});
