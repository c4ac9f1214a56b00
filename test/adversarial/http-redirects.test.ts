/**
 * Issue 14, class 3: a hostile HTTP cache redirects. narsign follows redirects as Nix does (libcurl
 * FOLLOWLOCATION, at most 10 hops), but refuses a loop, an 11th hop and a step down from https to
 * plain http (a real TLS server with a certificate openssl makes for the test), and says where the
 * redirects led.
 */
import test from 'ava';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { MAX_REDIRECTS, redirectTarget } from '../../lib/http-fetch';
import { cleanupTemps, EXAMPLES, hashOf } from '../helpers/cli';
import { fixture } from '../helpers/vectors';
import { httpServer, httpsServer, report, selfSignedCert, victim } from '../helpers/hostile-http';

const NIXOS_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';
const hash = hashOf(fixture('F2').text);

test.after.always(() => cleanupTemps());

/** Serves examples/cache at /<name>. */
function serveExample(res: http.ServerResponse, name: string): void {
  const file = path.join(EXAMPLES, path.basename(name));
  if (!fs.existsSync(file)) return void res.writeHead(404).end();
  res.writeHead(200).end(fs.readFileSync(file));
}

test('a redirect loop (a → b → a): ERR_HTTP_REDIRECT after one pass round the loop, not retried', async (t) => {
  let requests = 0;
  const server = await httpServer((req, res) => {
    if (req.url!.endsWith('.narinfo')) requests += 1;
    const next = req.url!.startsWith('/a/') ? req.url!.replace('/a/', '/b/') : req.url!.replace('/b/', '/a/');
    res.writeHead(302, { location: next }).end();
  });
  try {
    const r = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, `${server.url}/a`, hash]);
    t.is(r.code, 4);
    const file = report(r)!.files[0];
    t.like(file, { status: 'failed', code: 'ERR_HTTP_REDIRECT' });
    t.is(file.message, `${server.url}/a/${hash}.narinfo (redirected to ${server.url}/b/${hash}.narinfo): redirect loop (back to '${server.url}/a/${hash}.narinfo')`);
    t.is(requests, 2);
  } finally {
    await server.close();
  }
});

test('10 redirects are followed (the result says where the narinfo came from); an 11th is refused, as Nix does', async (t) => {
  // /hop/N/FILE → /hop/N-1/FILE; /hop/0/FILE is the file
  const server = await httpServer((req, res) => {
    const [, , n, ...rest] = req.url!.split('/');
    if (Number(n) === 0) return serveExample(res, rest.join('/'));
    res.writeHead(301, { location: `/hop/${Number(n) - 1}/${rest.join('/')}` }).end();
  });
  try {
    const ten = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, `${server.url}/hop/${MAX_REDIRECTS}`, hash]);
    t.is(ten.code, 0, ten.stderr);
    t.like(report(ten)!.files[0], { status: 'trusted', file: `${server.url}/hop/10/${hash}.narinfo`, fetchedFrom: `${server.url}/hop/0/${hash}.narinfo` });
    const eleven = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, `${server.url}/hop/${MAX_REDIRECTS + 1}`, hash]);
    t.is(eleven.code, 4);
    t.like(report(eleven)!.files[0], { status: 'failed', code: 'ERR_HTTP_REDIRECT' });
    t.regex(report(eleven)!.files[0].message!, /: more than 10 redirects$/);
  } finally {
    await server.close();
  }
});

test('an https cache redirecting to plain http: refused (ERR_HTTP_INSECURE_REDIRECT); https → https is followed', async (t) => {
  const tls = await selfSignedCert();
  const plain = await httpServer((req, res) => serveExample(res, req.url!));
  const secure = await httpsServer(tls, (req, res) => {
    if (req.url!.startsWith('/down/')) return void res.writeHead(302, { location: `${plain.url}/${path.basename(req.url!)}` }).end();
    if (req.url!.startsWith('/up/')) return void res.writeHead(302, { location: `/ok/${path.basename(req.url!)}` }).end();
    serveExample(res, req.url!);
  });
  const env = { NODE_EXTRA_CA_CERTS: tls.caFile };
  try {
    const down = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, `${secure.url}/down`, hash], { env });
    t.is(down.code, 4, down.stderr);
    t.like(report(down)!.files[0], { status: 'failed', code: 'ERR_HTTP_INSECURE_REDIRECT' });
    t.regex(report(down)!.files[0].message!, /redirected from https to 'http:\/\/127\.0\.0\.1:\d+\/.*' \(plain http\): refused$/);
    const up = await victim(t, ['verify', '--json', '-t', NIXOS_KEY, `${secure.url}/up`, hash], { env });
    t.is(up.code, 0, up.stderr);
    t.like(report(up)!.files[0], { status: 'trusted', fetchedFrom: `${secure.url}/ok/${hash}.narinfo` });
  } finally {
    await secure.close();
    await plain.close();
  }
});

test('the redirect policy itself: what is followed and what is refused', (t) => {
  const to = (from: string, location: string | null, hops = 0, seen: string[] = [from], status = 302) => {
    try {
      return redirectTarget(from, { status, headers: { get: () => location } }, new Set(seen), hops);
    } catch (error) {
      return `${(error as { code: string }).code}: ${(error as Error).message}`;
    }
  };
  t.is(to('http://a/x', '/y'), 'http://a/y');
  t.is(to('http://a/x', 'https://b/y'), 'https://b/y', 'http → https: an upgrade is fine');
  t.is(to('https://a/x', 'https://b/y'), 'https://b/y');
  t.regex(to('https://a/x', 'http://b/y'), /^ERR_HTTP_INSECURE_REDIRECT: /);
  t.regex(to('https://a/x', 'HTTP://b/y'), /^ERR_HTTP_INSECURE_REDIRECT: /);
  t.regex(to('http://a/x', 'file:///etc/passwd'), /^ERR_HTTP_REDIRECT: .*not an http\(s\) URL/);
  t.regex(to('http://a/x', 'ftp://b/y'), /^ERR_HTTP_REDIRECT: /);
  t.regex(to('http://a/x', null), /^ERR_HTTP_REDIRECT: HTTP 302 without a Location/);
  t.regex(to('http://a/x', 'http://[::1'), /^ERR_HTTP_REDIRECT: HTTP 302 to an invalid URL/);
  t.regex(to('http://a/x', '/x'), /^ERR_HTTP_REDIRECT: redirect loop/);
  t.is(to('http://a/x', '/y', MAX_REDIRECTS - 1), 'http://a/y');
  t.regex(to('http://a/x', '/y', MAX_REDIRECTS), /^ERR_HTTP_REDIRECT: more than 10 redirects/);
  // what a server chose is shown escaped, never raw
  t.notRegex(to('http://a/x', 'gopher://\u001b[2J/'), /\u001b/);
});
