/**
 * Issue 14, class 3 and its siblings: a hostile HTTP cache answers strangely — headers without end,
 * statuses that are not a whole file, a narinfo for another path, text meant for the terminal — and
 * a --paths-from list without end.
 */
import test from 'ava';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { cleanupTemps, EXAMPLES, hashOf, tempDir } from '../helpers/cli';
import { fixture } from '../helpers/vectors';
import { httpServer, rawServer, report, victim } from '../helpers/hostile-http';

const NIXOS_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';
const hash = hashOf(fixture('F2').text);
const narinfo = fs.readFileSync(path.join(EXAMPLES, `${hash}.narinfo`));

test.after.always(() => cleanupTemps());

test('64 KiB of response headers: refused (past 16 KiB) on the first attempt, not retried', async (t) => {
  let requests = 0;
  const server = await httpServer((req, res) => {
    if (req.url === '/nix-cache-info') return void res.writeHead(404).end();
    requests += 1;
    res.writeHead(200, Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`x-filler-${i}`, 'f'.repeat(1024)]))).end(narinfo);
  });
  try {
    const r = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, server.url, hash]);
    t.is(r.code, 4);
    t.like(report(r)!.files[0], { status: 'failed', code: 'ERR_HTTP' });
    t.regex(report(r)!.files[0].message!, /: the response headers are larger than 16 KiB \(UND_ERR_HEADERS_OVERFLOW\)$/);
    t.is(requests, 1);
  } finally {
    await server.close();
  }
});

test('statuses that are not a whole file: 206 (with the whole narinfo), 204, 304, a 302 without Location: failures, not verdicts', async (t) => {
  const server = await httpServer((req, res) => {
    const [, status] = req.url!.split('/');
    if (status === '302') return void res.writeHead(302).end();
    if (status === '204' || status === '304') return void res.writeHead(Number(status)).end();
    res.writeHead(206, { 'content-range': `bytes 0-${narinfo.length - 1}/${narinfo.length}` }).end(narinfo);
  });
  try {
    for (const [status, code] of [['206', 'ERR_HTTP'], ['204', 'ERR_HTTP'], ['304', 'ERR_HTTP'], ['302', 'ERR_HTTP_REDIRECT']]) {
      const r = await victim(t, ['verify', '--json', '--retries', '0', '-t', NIXOS_KEY, `${server.url}/${status}`, hash]);
      t.is(r.code, 4, `HTTP ${status}`);
      t.like(report(r)!.files[0], { status: 'failed', code }, `HTTP ${status}`);
      t.regex(report(r)!.files[0].message!, new RegExp(`: HTTP ${status}`));
    }
  } finally {
    await server.close();
  }
});

test("a server answering with another path's narinfo (signed, valid), directly or by a redirect: refused by the file-name rule", async (t) => {
  const other = hashOf(fixture('F5').text);
  const server = await httpServer((req, res) => {
    if (req.url === '/nix-cache-info') return void res.writeHead(404).end();
    if (req.url!.startsWith('/redirect/')) return void res.writeHead(302, { location: `/same/${other}.narinfo` }).end();
    res.writeHead(200).end(fs.readFileSync(path.join(EXAMPLES, `${other}.narinfo`)));
  });
  try {
    for (const how of ['same', 'redirect']) {
      const r = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, `${server.url}/${how}`, hash]);
      t.is(r.code, 4, how);
      const file = report(r)!.files[0];
      t.like(file, { status: 'failed', code: 'ERR_NARINFO_FILE_NAME' }, how);
      if (how === 'redirect') t.is(file.fetchedFrom, `${server.url}/same/${other}.narinfo`);
    }
  } finally {
    await server.close();
  }
});

test('text a server chose, meant for the terminal (escape sequences, newlines, bidi controls), is printed escaped', async (t) => {
  const evil = '\u001b[2J\u001b[1;32mnarsign: all trusted\u001b[0m\u202e';
  // a narinfo whose StorePath and NarHash carry terminal escapes, quoted by the parser's error
  const http1 = await httpServer((req, res) => {
    if (req.url === '/nix-cache-info') return void res.writeHead(404).end();
    res.writeHead(200).end(narinfo.toString('utf8').replace(/^(StorePath: .*)$/m, `$1${evil}`).replace(/^NarHash: .*$/m, `NarHash: sha256:${evil}`));
  });
  // redirects whose Location carries escapes (raw bytes: node:http would refuse to send them); /quoted/
  // has only what the HTTP parser lets through, into a URL too broken to parse, which we then quote
  const raw = await rawServer((socket) => {
    socket.once('data', (request: Buffer) => {
      const location = request.toString('latin1').startsWith('GET /quoted/') ? `http://[\u202e\u0085${evil.replace(/\u001b/g, '')}` : `gopher://x/${evil}`;
      socket.end(`HTTP/1.1 302 Found \u001b[2J\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    socket.on('error', () => {});
  });
  try {
    for (const url of [http1.url, raw.url, `${raw.url}/quoted`]) {
      const r = await victim(t, ['verify', '--retries', '0', '-t', NIXOS_KEY, url, hash]);
      t.true(r.code === 1 || r.code === 4 || r.code === 5, `exit ${r.code}: ${r.stderr}`);
      t.notRegex(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, JSON.stringify(r.stderr));
      t.notRegex(r.stderr, /^narsign: all trusted/m);
    }
  } finally {
    await http1.close();
    await raw.close();
  }
});

test('--paths-from a list without end (/dev/zero) or a 1 GiB sparse file: refused (ERR_NOT_REGULAR_FILE, ERR_FILE_TOO_LARGE), memory bounded', async (t) => {
  const server = await httpServer((_req: http.IncomingMessage, res: http.ServerResponse) => void res.writeHead(404).end());
  const sparse = path.join(tempDir(), 'paths.txt');
  fs.closeSync(fs.openSync(sparse, 'w'));
  fs.truncateSync(sparse, 1024 ** 3);
  try {
    for (const list of ['/dev/zero', sparse]) {
      const r = await victim(t, ['verify', '-t', NIXOS_KEY, server.url, '--paths-from', list]);
      t.log(`${list}: peak RSS ${r.peakMiB} MiB`);
      t.is(r.killed, undefined, `killed for ${r.killed} at ${r.peakMiB} MiB`);
      t.is(r.code, 4, r.stderr);
      // A device is refused for what it is (only regular files and standard input are lists), a file by its size.
      t.regex(r.stderr, new RegExp(`^narsign: error: (--paths-from ${list}: .*more than the limit of ${64 * 1024 * 1024} bytes|${list}: not a regular file \\(a character device\\))$`, 'm'));
      t.true(r.peakMiB < 300, `peak RSS ${r.peakMiB} MiB`);
    }
  } finally {
    await server.close();
  }
});
