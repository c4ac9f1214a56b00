/**
 * The scenario of the 2015 tests/binary-cache.sh (Nix commit e0def5bc; a copy of the patch is
 * test/reference/nix-e0def5bc-libsodium-signing.patch.txt), for both signature formats side by side:
 *
 *   nix-store --generate-binary-cache-key test.nixos.org-1   → secretKey, publicKey
 *   … again test.nixos.org-1 → badKey;  foo.nixos.org-1 → otherKey
 *   nix-push --key-file secret-key                          → a signed cache
 *   no binary-cache-public-keys                             → refused
 *   binary-cache-public-keys = badKey (same name, wrong key) → refused
 *   binary-cache-public-keys = "otherKey publicKey"          → accepted
 *   grep -v References on every narinfo, publicKey          → refused
 *
 * Each format is replayed on one narinfo (sign/verify functions) and on a cache directory
 * (signCache / verifyCache). The verdicts are checked against node:crypto over what each format
 * signs — the fingerprint (rebuilt from the text by test/helpers/cache-dir.ts) or the lines before
 * the 2015 Signature line — so "accepted" and "refused" do not rest on narsign's word alone.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { signCache, verifyCache, VerifyFileResult } from '../lib/cache';
import { generateSecretKey, toPublicKey } from '../lib/keys';
import { signLegacy2015, verifyLegacy2015 } from '../lib/legacy2015';
import { signNarinfo, verifyNarinfo } from '../lib/signatures';
import { fixtureTexts, makeCache, oracleFingerprint } from './helpers/cache-dir';
import { NARINFO, STORE_PATH, signedPart } from './helpers/legacy2015';
import { nodeVerify, splitNixString } from './helpers/oracles';

/** The keys of the script. The secret key goes through a file written by `echo`: with a '\n'. */
function scenarioKeys() {
  const secretKey = generateSecretKey('test.nixos.org-1');
  return {
    secretKeyFile: `${secretKey}\n`,
    publicKey: toPublicKey(secretKey),
    badKey: toPublicKey(generateSecretKey('test.nixos.org-1')),
    otherKey: toPublicKey(generateSecretKey('foo.nixos.org-1')),
  };
}

/** `grep -v References`: every line mentioning References dropped. */
const withoutReferences = (text: string): string =>
  text
    .split('\n')
    .filter((line) => !line.includes('References'))
    .join('\n');

/** What node:crypto says of a signed text under a public key, per format (the oracle). */
const oracle = {
  nix(text: string, publicKey: string): boolean {
    const { name, bytes } = splitNixString(publicKey);
    const sigs = [...text.matchAll(/^Sig: (.*)$/gm)].map((m) => m[1]).filter((s) => s.startsWith(`${name}:`));
    return sigs.length === 1 && nodeVerify(bytes, splitNixString(sigs[0]).bytes, oracleFingerprint(text));
  },
  '2015'(text: string, publicKey: string): boolean {
    const { name, bytes } = splitNixString(publicKey);
    const m = /^Signature: 2;([^;\n]*);([^;\n]*)\n$/m.exec(text);
    return m !== null && m[1] === name && nodeVerify(bytes, Buffer.from(m[2], 'base64'), Buffer.from(signedPart(text)));
  },
};

type Format = keyof typeof oracle;

/** The one-narinfo functions of each format, and how each names a refusal (status of the key's signature). */
const single = {
  nix: {
    sign: (text: string, key: string) => signNarinfo(text, key),
    verify(text: string, keys: string[]): { trusted: boolean; status: string } {
      const v = verifyNarinfo(text, keys);
      return { trusted: v.trusted, status: v.signatures.map((s) => s.status).join(',') };
    },
  },
  '2015': {
    sign: (text: string, key: string) => signLegacy2015(text, key),
    verify(text: string, keys: string[]): { trusted: boolean; status: string } {
      const v = verifyLegacy2015(text, keys, { storePath: STORE_PATH });
      return { trusted: v.trusted, status: v.status };
    },
  },
};

/** Per format: the status of the refusals "no key", "wrong key of the same name", "References removed". */
const REFUSALS: Record<Format, { none: string; wrongKey: string; corrupted: string }> = {
  nix: { none: 'unknown-key', wrongKey: 'invalid', corrupted: 'invalid' },
  '2015': { none: 'unknown-key', wrongKey: 'incorrect-signature', corrupted: 'incorrect-signature' },
};

for (const format of ['nix', '2015'] as const) {
  test(`the 2015 tests/binary-cache.sh scenario on one narinfo, ${format} format`, (t) => {
    const { secretKeyFile, publicKey, badKey, otherKey } = scenarioKeys();
    const { sign, verify } = single[format];
    const refusals = REFUSALS[format];

    const signed = sign(NARINFO, secretKeyFile);
    t.true(oracle[format](signed, publicKey), 'node:crypto verifies the signature narsign made');
    t.false(oracle[format](signed, badKey));

    // Downloading should fail if we don't provide a key.
    t.deepEqual(verify(signed, []), { trusted: false, status: refusals.none });
    // And it should fail if we provide an incorrect key.
    t.deepEqual(verify(signed, [badKey]), { trusted: false, status: refusals.wrongKey });
    // It should succeed if we provide the correct key.
    t.deepEqual(verify(signed, [otherKey, publicKey]), { trusted: true, status: 'valid' });
    // It should fail if we corrupt the .narinfo.
    const corrupted = withoutReferences(signed);
    t.not(corrupted, signed);
    t.false(oracle[format](corrupted, publicKey), 'node:crypto refuses the corrupted narinfo too');
    t.deepEqual(verify(corrupted, [publicKey]), { trusted: false, status: refusals.corrupted });
  });

  test(`the 2015 tests/binary-cache.sh scenario on a cache, ${format} format (signCache / verifyCache)`, async (t) => {
    const { secretKeyFile, publicKey, badKey, otherKey } = scenarioKeys();
    const refusals = REFUSALS[format];
    // The pushed closure: narinfos with references (and NarHash in nix32, as the oracle's fingerprint
    // needs), as nix-push wrote them (no Sig, no CA — a CA
    // that reproduces its path is trusted without any signature).
    const texts = fixtureTexts(['F1', 'F2', 'F5', 'F6']).map((text) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('Sig: ') && !line.startsWith('CA: '))
        .join('\n'),
    );
    t.true(texts.every((text) => /^References: \S/m.test(text)), 'every narinfo has references to remove');
    const dir = makeCache(texts);
    const narinfos = () => fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => path.join(dir, n));

    const signedRun = await signCache(dir, { keys: secretKeyFile, format, durable: false });
    t.like(signedRun, { total: texts.length, signed: texts.length, failed: 0 });
    for (const file of narinfos()) {
      const text = fs.readFileSync(file, 'utf8');
      t.true(oracle[format](text, publicKey), `${file}: node:crypto verifies it`);
      t.false(oracle[format](text, badKey), file);
    }

    const verify = async (keys: string[]) => {
      const files: VerifyFileResult[] = [];
      const result = await verifyCache(dir, { trustedKeys: keys, format, onResult: (r) => files.push(r) });
      const statuses = files.map((r) => ('verdict' in r ? r.verdict.signatures.map((s) => s.status).join(',') : 'legacy' in r ? r.legacy.status : r.problem.code));
      return { trusted: result.trusted, untrusted: result.untrusted, corrupt: result.corrupt, failed: result.failed, statuses: [...new Set(statuses)] };
    };
    const n = texts.length;
    // Downloading should fail if we don't provide a key.
    t.deepEqual(await verify([]), { trusted: 0, untrusted: n, corrupt: 0, failed: 0, statuses: [refusals.none] });
    // And it should fail if we provide an incorrect key.
    t.deepEqual(await verify([badKey]), { trusted: 0, untrusted: n, corrupt: 0, failed: 0, statuses: [refusals.wrongKey] });
    // It should succeed if we provide the correct key.
    t.deepEqual(await verify([otherKey, publicKey]), { trusted: n, untrusted: 0, corrupt: 0, failed: 0, statuses: ['valid'] });
    // It should fail if we corrupt the .narinfo (for i in $cacheDir/*.narinfo; do grep -v References …).
    for (const file of narinfos()) fs.writeFileSync(file, withoutReferences(fs.readFileSync(file, 'utf8')));
    for (const file of narinfos()) t.false(oracle[format](fs.readFileSync(file, 'utf8'), publicKey), `${file}: node:crypto refuses it`);
    t.deepEqual(await verify([publicKey]), { trusted: 0, untrusted: n, corrupt: 0, failed: 0, statuses: [refusals.corrupted] });
  });
}

test('the 2015 format details the script relies on: its Signature line, the signed part, the verdict fields', (t) => {
  // (Moved from test/legacy2015.test.ts, where the scenario used to be.)
  const { secretKeyFile, publicKey } = scenarioKeys();
  const signed = signLegacy2015(NARINFO, secretKeyFile);
  t.true(signed.startsWith(NARINFO));
  t.regex(signed.slice(NARINFO.length), /^Signature: 2;test\.nixos\.org-1;[A-Za-z0-9+/]{86}==\n$/);
  const none = verifyLegacy2015(signed, [], { storePath: STORE_PATH });
  t.is(none.code, 'ERR_LEGACY_UNKNOWN_KEY');
  const good = verifyLegacy2015(signed, publicKey, { storePath: STORE_PATH });
  t.is(good.keyName, 'test.nixos.org-1');
  t.is(good.signedText, NARINFO);
  t.is(verifyLegacy2015(withoutReferences(signed), publicKey, { storePath: STORE_PATH }).code, 'ERR_LEGACY_INCORRECT_SIGNATURE');
});
