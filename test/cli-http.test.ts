/**
 * `narsign verify URL STORE-PATH|HASH…` against a real HTTP server (node:http on 127.0.0.1, port 0)
 * serving cache directories: the same verdicts and exit code as `narsign verify DIR` on the same
 * directory (with --check-nars too), 404s, --paths-from, and the network's failures — a slow
 * response beyond --timeout, a connection closed mid-response or reset (retried, then exit 4), a
 * 500 followed by success (the retry works). The server counts requests, so retries are observed.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fixture } from './helpers/vectors';
import { breakNars, cleanupTemps, cli, copyDir, EXAMPLES, hashOf, makeKey, narCache, tempDir, writeSecret } from './helpers/cli';

/**
 * URL paths are /<mode>/<cache>/<file>. Modes: ok; flaky (the first request for a file answers
 * 500); close (narinfos: half the body, then the connection is destroyed); reset (narinfos: TCP
 * reset); slow (narinfos: no answer for a minute). nix-cache-info is always served.
 */
const caches = new Map<string, string>();
const requests = new Map<string, number>();
let base = '';
const server = http.createServer((req, res) => {
  const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  const count = (requests.get(pathname) ?? 0) + 1;
  requests.set(pathname, count);
  const [, mode, cache, ...rest] = pathname.split('/');
  const dir = caches.get(cache);
  const file = dir && path.join(dir, ...rest);
  const body = file && file.startsWith(dir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file) : undefined;
  const special = rest.join('/') !== 'nix-cache-info';
  if (mode === 'flaky' && special && count === 1) {
    res.writeHead(500).end('try again');
    return;
  }
  if (mode === 'close' && special && body) {
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.destroy(), 20));
    return;
  }
  if (mode === 'reset' && special) {
    req.socket.resetAndDestroy();
    return;
  }
  if (mode === 'slow' && special) {
    const timer = setTimeout(() => res.end(body), 60_000);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (!body) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
});

test.before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after.always(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  cleanupTemps();
});

const key = makeKey('http-cache-1');
let sk = '';
const f = (id: string) => `${hashOf(fixture(id).text)}.narinfo`;

/** Publishes `dir` as /MODE/NAME/… and returns the URL for `mode`. */
function serve(name: string, dir: string, mode = 'ok'): string {
  caches.set(name, dir);
  return `${base}/${mode}/${name}`;
}

interface Report {
  total: number;
  trusted: number;
  untrusted: number;
  corrupt: number;
  failed: number;
  files: Array<{ file: string; status: string; code?: string; message?: string }>;
}

/** Each file's status (and code), keyed by its narinfo file name, whatever the directory or URL. */
function verdicts(report: Report): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of report.files) out[path.basename(file.file)] = file.code ? `${file.status} ${file.code}` : file.status;
  return out;
}

async function verifyBoth(t: ExecutionContext, dir: string, url: string, extra: string[] = []) {
  const wanted = fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => n.slice(0, 32));
  const local = await cli(t, ['verify', '-t', key.public, '--json', ...extra, dir]);
  const remote = await cli(t, ['verify', '-t', key.public, '--json', ...extra, url, ...wanted]);
  return { local, remote, localReport: JSON.parse(local.stdout) as Report, remoteReport: JSON.parse(remote.stdout) as Report };
}

/** examples/cache signed by the test key, then: F3 corrupt, F6 tampered (untrusted), F1's Sig by the key malformed. */
let mixed = '';
test.before(async (t) => {
  sk = writeSecret(tempDir(), 'sk', key.secret);
  mixed = copyDir(EXAMPLES, path.join(tempDir(), 'mixed'));
  const r = await cli(t as unknown as ExecutionContext, ['sign', '-k', sk, mixed]);
  if (r.code !== 0) throw new Error(r.stderr);
  const edit = (name: string, change: (text: string) => string) => fs.writeFileSync(path.join(mixed, name), change(fs.readFileSync(path.join(mixed, name), 'utf8')));
  edit(f('F3'), (x) => x.replace(/^NarHash: .*$/m, 'NarHash: sha256:not-a-hash'));
  edit(f('F6'), (x) => x.replace(/^NarSize: (\d+)$/m, (_, n) => `NarSize: ${Number(n) + 1}`));
  edit(f('F1'), (x) => x.replace(/^Sig: http-cache-1:.*$/m, 'Sig: http-cache-1:AAAA'));
});

test('verify URL: the same verdicts and exit code as verify DIR (trusted, untrusted, corrupt, malformed signature)', async (t) => {
  const { local, remote, localReport, remoteReport } = await verifyBoth(t, mixed, serve('mixed', mixed));
  t.is(local.code, 7);
  t.is(remote.code, local.code);
  t.like(remoteReport, { total: 8, trusted: 5, untrusted: 1, corrupt: 1, failed: 1 });
  t.deepEqual(verdicts(remoteReport), verdicts(localReport));
  t.is(verdicts(remoteReport)[f('F3')], 'corrupt ERR_NARINFO_CORRUPT');
  t.is(verdicts(remoteReport)[f('F6')], 'untrusted');
  // the human report names the URL, with the line, and the key by name
  const human = await cli(t, ['verify', '-t', key.public, serve('mixed', mixed), hashOf(fixture('F1').text), hashOf(fixture('F3').text)]);
  t.is(human.code, 5);
  t.regex(human.stderr, new RegExp(`^narsign: ${base}/ok/mixed/${f('F1')}: line \\d+: the signature by trusted key 'http-cache-1' is malformed`, 'm'));
  t.regex(human.stderr, new RegExp(`^narsign: ${base}/ok/mixed/${f('F3')}: line \\d+: corrupt narinfo: `, 'm'));
});

test('verify URL: store paths, hash parts and --paths-from (a file, or - for stdin); a 404 is a failure (exit 4)', async (t) => {
  const url = serve('examples', EXAMPLES);
  const paths = ['F2', 'F6', 'X1'].map((id) => /^StorePath: (.*)$/m.exec(fixture(id).text)![1]);
  const listFile = path.join(tempDir(), 'paths.txt');
  fs.writeFileSync(listFile, `# store paths\n${paths[1]}\n\n${paths[2]}\n`);
  const r = await cli(t, ['verify', '--json', '-t', 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=', url, paths[0], '--paths-from', listFile]);
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout), { total: 3, trusted: 3 });
  const stdin = await cli(t, ['verify', '--json', '-t', 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=', url, '--paths-from', '-'], { input: paths.join('\n') });
  t.like(JSON.parse(stdin.stdout), { total: 3, trusted: 3 });

  const absent = '0000000000000000000000000000000a';
  const missing = await cli(t, ['verify', '-t', key.public, url, absent, hashOf(fixture('F5').text)]);
  t.is(missing.code, 4 | 2);
  t.regex(missing.stderr, new RegExp(`^narsign: ${base}/ok/examples/${absent}\\.narinfo: not in the cache \\(HTTP 404\\)$`, 'm'));
  t.is(requests.get(`/ok/examples/${absent}.narinfo`), 1, 'a 404 is an answer: not retried');
  const notAPath = await cli(t, ['verify', '-t', key.public, url, 'not-a-store-path']);
  t.is(notAPath.code, 4);
  t.regex(notAPath.stderr, /not-a-store-path: not a store path or hash part/);
});

test('verify URL --check-nars: NARs fetched and checked, the same verdicts as verify --check-nars DIR', async (t) => {
  const { dir, nars, names } = narCache(path.join(tempDir(), 'nars'), 4);
  t.is((await cli(t, ['sign', '-k', sk, dir])).code, 0);
  const url = serve('nars', dir);
  const good = await verifyBoth(t, dir, url, ['--check-nars']);
  t.is(good.local.code, 0);
  t.is(good.remote.code, 0, good.remote.stderr);
  t.is(requests.get(`/ok/nars/${nars[0]}`), 1, 'the NAR was downloaded');
  breakNars(dir, nars);
  const broken = await verifyBoth(t, dir, url, ['--check-nars']);
  t.is(broken.local.code, 4);
  t.is(broken.remote.code, 4);
  t.deepEqual(verdicts(broken.remoteReport), verdicts(broken.localReport));
  t.deepEqual(
    names.map((n) => verdicts(broken.remoteReport)[n]),
    ['trusted', 'failed ERR_NAR_HASH', 'failed ERR_NAR_SIZE', 'failed ERR_NAR_MISSING'],
  );
});

test('a 500 then success: the retry works (exit 0), for narinfos and NARs', async (t) => {
  const { dir, names } = narCache(path.join(tempDir(), 'flaky'), 2);
  t.is((await cli(t, ['sign', '-k', sk, dir])).code, 0);
  const url = serve('flaky', dir, 'flaky');
  const r = await cli(t, ['verify', '--check-nars', '-t', key.public, url, ...names.map((n) => n.slice(0, 32))]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^checked 2 narinfos: 2 trusted in /);
  for (const name of names) t.is(requests.get(`/flaky/flaky/${name}`), 2, name);
  t.is(requests.get('/flaky/flaky/nar/0.nar'), 2);
});

for (const mode of ['close', 'reset']) {
  test(`a server that ${mode === 'close' ? 'closes the connection mid-response' : 'resets the connection'}: retried, then a failure (exit 4)`, async (t) => {
    const url = serve(`${mode}-cache`, EXAMPLES, mode);
    const hash = hashOf(fixture('F2').text);
    const r = await cli(t, ['verify', '--retries', '2', '-t', key.public, url, hash]);
    t.is(r.code, 4);
    t.regex(r.stderr, new RegExp(`^narsign: ${url}/${hash}\\.narinfo: .*, after 3 attempts$`, 'm'));
    t.is(requests.get(`/${mode}/${mode}-cache/${hash}.narinfo`), 3, '1 try + 2 retries');
    const none = await cli(t, ['verify', '--retries', '0', '-t', key.public, url, hash]);
    t.is(none.code, 4);
    t.is(requests.get(`/${mode}/${mode}-cache/${hash}.narinfo`), 4, '--retries 0: one request');
  });
}

test('a response slower than --timeout: a failure (exit 4) that says it timed out', async (t) => {
  const url = serve('slow-cache', EXAMPLES, 'slow');
  const hash = hashOf(fixture('F2').text);
  const r = await cli(t, ['verify', '--timeout', '1', '--retries', '0', '-t', key.public, url, hash]);
  t.is(r.code, 4);
  t.regex(r.stderr, new RegExp(`^narsign: ${url}/${hash}\\.narinfo: timed out after 1000 ms$`, 'm'));
  t.regex(r.stderr, /checked 1 narinfo: 0 trusted, 1 failed in /);
});
