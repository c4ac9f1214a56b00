/**
 * Attack (issue 14, class 1): trust laundering through `sign --require-trusted`.
 *
 * A co-tenant who can write the cache plants an UNSIGNED narinfo whose `CA:` line reproduces its
 * StorePath (so Nix, and narsign's verifier, call it "trusted by content address") but whose
 * URL/NarHash/NarSize are those of another NAR. If the operator's rotation run
 * (`narsign sign -k new.key --require-trusted OLD_PUB ./cache`) signs it, the attacker then deletes
 * the CA line — the fingerprint does not cover it, so the new signature stays valid — and every
 * Nix trusting the new key substitutes the attacker's NAR for that path.
 *
 * The planted narinfo is built from real cache.nixos.org data (test/vectors: F4 is content-addressed,
 * F1 is another path's NAR); the keys are made by node:crypto; signatures are checked with
 * node:crypto, never with narsign.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signCache } from '../../lib/cache';
import { verifyNarinfo } from '../../lib/signatures';
import { hashPartOfText, makeCache, oracleFingerprint, tempDir } from '../helpers/cache-dir';
import { runCli } from '../helpers/run-cli';
import { CACHE_NIXOS_ORG_KEY, fixture } from '../helpers/vectors';

/** A key pair by node:crypto, in Nix's string format. */
function nodeKey(name: string) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const pk = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { secret: `${name}:${Buffer.concat([seed, pk]).toString('base64')}`, public: `${name}:${pk.toString('base64')}`, publicKey };
}

const field = (text: string, name: string) => new RegExp(`^${name}: .*$`, 'm').exec(text)![0];

/** F4 (content-addressed), its Sig dropped and its NAR fields swapped for F1's: the CA still reproduces the StorePath. */
function plantedNarinfo(): string {
  const ca = fixture('F4').text;
  const other = fixture('F1').text;
  let text = ca.replace(/^Sig: .*\n/gm, '');
  for (const name of ['URL', 'Compression', 'FileHash', 'FileSize', 'NarHash', 'NarSize']) text = text.replace(field(text, name), field(other, name));
  return text;
}

/** Every Sig of `text` by `key`, checked by node:crypto over the oracle fingerprint. */
function sigsBy(text: string, key: ReturnType<typeof nodeKey>): number {
  const name = key.public.slice(0, key.public.indexOf(':'));
  return [...text.matchAll(/^Sig: ([^:]*):(.*)$/gm)].filter(
    (m) => m[1] === name && crypto.verify(null, oracleFingerprint(text), key.publicKey, Buffer.from(m[2], 'base64')),
  ).length;
}

function setUp() {
  const planted = plantedNarinfo();
  const legit = fixture('F2').text; // really signed by cache.nixos.org-1: the control
  const dir = makeCache([planted, legit]);
  const key = nodeKey('new.example.org-1');
  const keyFile = path.join(tempDir(), 'new.key');
  fs.writeFileSync(keyFile, key.secret, { mode: 0o600 });
  const read = (text: string) => fs.readFileSync(path.join(dir, `${hashPartOfText(text)}.narinfo`), 'utf8');
  return { planted, legit, dir, key, keyFile, read };
}

test('premise: the planted narinfo is what Nix calls trusted (by its CA), with no valid signature and another NAR', (t) => {
  const planted = plantedNarinfo();
  const verdict = verifyNarinfo(planted, CACHE_NIXOS_ORG_KEY);
  t.is(verdict.reason, 'content-addressed');
  t.true(verdict.trusted);
  t.false(verdict.bySignatures);
  t.is(verdict.validSignatures, 0);
  t.not(field(planted, 'NarHash'), field(fixture('F4').text, 'NarHash'));
});

test('CLI rotation run: sign -k new --remove old --require-trusted OLD does not sign the planted narinfo (and signs the real one)', async (t) => {
  const { planted, legit, dir, key, keyFile, read } = setUp();
  const r = await runCli(['sign', '-k', keyFile, '--remove', 'cache.nixos.org-1', '--require-trusted', CACHE_NIXOS_ORG_KEY, dir]);
  t.is(sigsBy(read(planted), key), 0, 'the planted narinfo got the new key’s signature');
  t.is(read(planted), planted, 'the planted narinfo was rewritten');
  t.is(sigsBy(read(legit), key), 1, 'the really signed narinfo should be signed');
  t.is(r.code, 2, r.stderr); // some narinfo skipped as untrusted
  t.regex(r.stderr, /content address/);
});

test('CLI --dry-run counts the planted narinfo as skipped, not as one to sign', async (t) => {
  const { dir, keyFile } = setUp();
  const r = await runCli(['sign', '--dry-run', '--json', '-k', keyFile, '--require-trusted', CACHE_NIXOS_ORG_KEY, dir]);
  const report = JSON.parse(r.stdout) as { signed: number; skipped: number };
  t.is(report.signed, 1);
  t.is(report.skipped, 1);
});

test('CLI stdin: sign --require-trusted - refuses the planted narinfo', async (t) => {
  const { planted, key, keyFile } = setUp();
  const r = await runCli(['sign', '-k', keyFile, '--require-trusted', CACHE_NIXOS_ORG_KEY, '-'], { input: planted });
  t.is(sigsBy(r.stdout, key), 0);
  t.is(r.stdout, '');
  t.is(r.code, 2, r.stderr);
});

test('library: signCache with requireTrusted skips the planted narinfo', async (t) => {
  const { planted, legit, dir, key, read } = setUp();
  const result = await signCache(dir, { keys: key.secret, requireTrusted: CACHE_NIXOS_ORG_KEY });
  t.is(result.signed, 1);
  t.is(result.skipped, 1);
  t.is(sigsBy(read(planted), key), 0);
  t.is(sigsBy(read(legit), key), 1);
  // What the attacker would do next: drop the CA line. Nothing of the new key's to keep.
  t.is(sigsBy(read(planted).replace(/^CA: .*\n/m, ''), key), 0);
});
