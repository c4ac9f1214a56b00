/**
 * Signing and verifying narinfos. Oracles: cache.nixos.org-1's real signatures (978 corpus
 * narinfos, fixtures), signatures made by real Nix 2.8 with the Nix manual's key (key-vectors C)
 * and by go-nix's test key (key-vectors B, present in F1), node:crypto's Ed25519 for signatures
 * narsign makes, and the verdicts real Nix 2.8 reached on the edge cases
 * (test/helpers/narinfo-cases.ts, re-checked live by the interop suite).
 */
import test from 'ava';
import { verifyDetached } from '../lib/ed25519';
import { NarsignError } from '../lib/errors';
import { fingerprint } from '../lib/fingerprint';
import { generateSecretKey, parsePublicKey, parseSecretKey, toPublicKey } from '../lib/keys';
import { formatNarinfo, parseNarinfo } from '../lib/narinfo';
import {
  prepareVerification,
  signFingerprint,
  signNarinfo,
  signingRefusal,
  signParsedNarinfo,
  trustedKeySet,
  verifyNarinfo,
  verifySignature,
  type NarinfoVerdict,
} from '../lib/signatures';
import { narinfoCases, WRONG_KEY_SAME_NAME } from './helpers/narinfo-cases';
import { nodeVerify, splitNixString } from './helpers/oracles';
import { bigNarinfo, CACHE_NIXOS_ORG_KEY, corpus, fixture, fixtures, keyVectors } from './helpers/vectors';

const section = (id: string) => keyVectors().find((v) => v.section === id)!;
const statuses = (v: NarinfoVerdict) => v.signatures.map((s) => `${s.keyName}=${s.status}`);
const sigLines = (text: string) => text.split('\n').filter((l) => l.startsWith('Sig: '));

/** The narsign verdict in the categories of narinfo-cases.ts. */
function verdictOf(fn: () => NarinfoVerdict): { verdict: string; code?: string } {
  try {
    const v = fn();
    if (v.trusted) return { verdict: 'trusted' };
    return v.reason === 'malformed-signature' ? { verdict: 'failed', code: v.failure!.code } : { verdict: 'untrusted' };
  } catch (error) {
    if (!(error instanceof NarsignError)) throw error;
    return { verdict: 'corrupt', code: error.code };
  }
}

test('all 978 corpus narinfos and the 207 KB one verify under cache.nixos.org-1', (t) => {
  const keys = trustedKeySet(CACHE_NIXOS_ORG_KEY);
  let trusted = 0;
  let byCa = 0;
  const texts = [...corpus(), bigNarinfo()];
  for (const text of texts) {
    const v = verifyNarinfo(text, keys);
    if (v.trusted && v.signatures.length === 1 && v.signatures[0].status === 'valid') trusted++;
    if (v.reason === 'content-addressed') byCa++;
  }
  t.is(trusted, texts.length);
  t.is(byCa, 8); // the 8 CA narinfos reproduce their StorePath, and are validly signed too
});

test('fixtures: Nix\'s verdicts — F5 untrusted (signed over unsorted references), X3 invalid (tampered)', (t) => {
  const expected: Record<string, string[]> = {
    F1: ['cache.nixos.org-1=valid', 'test1=unknown-key'],
    F2: ['cache.nixos.org-1=valid', 'hydra.other.net-1=unknown-key'],
    F3: ['cache.nixos.org-1=valid'],
    F4: ['cache.nixos.org-1=valid'],
    F5: ['cache.nixos.org-1=invalid'],
    F6: ['cache.nixos.org-1=valid'],
    X1: ['cache.nixos.org-1=valid'],
    X2: ['cache.nixos.org-1=valid'],
    X3: ['cache.nixos.org-1=invalid', 'hydra.other.net-1=unknown-key'],
  };
  for (const f of fixtures()) {
    const v = verifyNarinfo(f.text, CACHE_NIXOS_ORG_KEY);
    t.deepEqual(statuses(v), expected[f.id], f.id);
    t.is(v.trusted, !['F5', 'X3'].includes(f.id), f.id);
  }
  t.is(verifyNarinfo(fixture('F5').text, CACHE_NIXOS_ORG_KEY).reason, 'not-enough-signatures');
  t.is(verifyNarinfo(fixture('F4').text, CACHE_NIXOS_ORG_KEY).reason, 'content-addressed');
});

test('F1 carries two valid signatures: cache.nixos.org-1 and go-nix\'s test1 (key-vectors B)', (t) => {
  const both = [CACHE_NIXOS_ORG_KEY, section('B').publicKey!];
  const v = verifyNarinfo(fixture('F1').text, both, { sigsNeeded: 2 });
  t.deepEqual(statuses(v), ['cache.nixos.org-1=valid', 'test1=valid']);
  t.true(v.trusted);
  t.is(v.validSignatures, 2);
  t.false(verifyNarinfo(fixture('F1').text, both, { sigsNeeded: 3 }).trusted);
  t.false(verifyNarinfo(fixture('F1').text, CACHE_NIXOS_ORG_KEY, { sigsNeeded: 2 }).trusted);
});

test('edge cases: narsign reaches the verdict recorded for it (Nix\'s, except the documented differences)', (t) => {
  const cases = narinfoCases();
  for (const c of cases) {
    const got = verdictOf(() =>
      verifyNarinfo(c.text, c.keys ?? CACHE_NIXOS_ORG_KEY, {
        ...(c.sigsNeeded === undefined ? {} : { sigsNeeded: c.sigsNeeded }),
        ...(c.storeDir === undefined ? {} : { storeDir: c.storeDir }),
      }),
    );
    t.is(got.verdict, c.narsign, c.id);
    if (c.code) t.is(got.code, c.code, c.id);
    if (c.difference === undefined) t.is(c.narsign, c.nix, `${c.id}: same as Nix unless documented`);
  }
  // 4 glued-line cases, 4 reference names, the 2^64-1 size, sigs-needed counting, the CA assertion.
  t.is(cases.filter((c) => c.difference).length, 11);
});

test('signing F1, X1 and F5 with the Nix manual key gives byte-identical signatures to real Nix 2.8 (key-vectors C)', (t) => {
  const c = section('C');
  const byMessage = new Map(c.signed.map((s) => [s.message, s.signature]));
  for (const id of ['F1', 'X1', 'F5']) {
    const signed = signNarinfo(fixture(id).text, c.secretKey!);
    const fp = fingerprint(parseNarinfo(signed));
    t.true(sigLines(signed).includes(`Sig: ${byMessage.get(fp)}`), id);
    t.true(verifyNarinfo(signed, c.publicKey!).trusted, id);
  }
});

test('re-signing F1 with go-nix\'s test1 key reproduces F1 byte for byte (key-vectors B)', (t) => {
  const f1 = fixture('F1').text;
  const stripped = f1.replace(/^Sig: test1:.*\n/m, '');
  t.is(signNarinfo(stripped, section('B').secretKey!), f1);
  t.is(signNarinfo(f1, section('B').secretKey!), f1); // replacing with the same signature changes nothing
});

test('signing is a minimal edit: one Sig line added, every other byte unchanged; node:crypto verifies it', (t) => {
  const sk = generateSecretKey('test.example.org-1');
  const pk = toPublicKey(sk);
  for (const f of fixtures()) {
    const signed = signNarinfo(f.text, sk);
    const added = signed.split('\n').filter((l) => !f.text.split('\n').includes(l));
    t.is(added.length, 1, f.id);
    t.is(signed.replace(`${added[0]}\n`, ''), f.text, f.id);
    const { bytes } = splitNixString(added[0].slice('Sig: '.length));
    t.true(nodeVerify(splitNixString(pk).bytes, bytes, Buffer.from(fingerprint(parseNarinfo(f.text)))), f.id);
    t.deepEqual(statuses(verifyNarinfo(signed, pk)).filter((s) => s.startsWith('test.example')), ['test.example.org-1=valid'], f.id);
  }
});

test('a key of the same name replaces the old signature; several keys add one Sig each', (t) => {
  const f6 = fixture('F6').text;
  const a1 = generateSecretKey('a');
  const a2 = generateSecretKey('a');
  const b = generateSecretKey('b');
  const once = signNarinfo(f6, [a1, b]);
  t.is(sigLines(once).length, 3);
  const again = signNarinfo(once, a2);
  t.is(sigLines(again).length, 3);
  t.deepEqual(statuses(verifyNarinfo(again, [toPublicKey(a1), toPublicKey(b)])).sort(), ['a=invalid', 'b=valid', 'cache.nixos.org-1=unknown-key']);
  t.deepEqual(statuses(verifyNarinfo(again, [toPublicKey(a2)])).sort(), ['a=valid', 'b=unknown-key', 'cache.nixos.org-1=unknown-key']);
  // Sig lines stay sorted, as Nix writes them.
  t.deepEqual(sigLines(again).map((l) => l.slice(5, 7)), ['a:', 'b:', 'ca']);
});

test('keys as strings, parsed objects, or mixed; parsed secret keys are not wiped', (t) => {
  const sk = generateSecretKey('obj');
  const parsed = parseSecretKey(sk);
  const f6 = fixture('F6').text;
  t.is(signNarinfo(f6, parsed), signNarinfo(f6, sk));
  t.false(parsed.secretKey.every((b) => b === 0));
  const pub = parsePublicKey(toPublicKey(sk));
  t.true(verifyNarinfo(signNarinfo(f6, [parsed]), [pub, CACHE_NIXOS_ORG_KEY], { sigsNeeded: 2 }).trusted);
  t.true(verifyNarinfo(signNarinfo(f6, sk), `${CACHE_NIXOS_ORG_KEY}  ${toPublicKey(sk)}\n`, { sigsNeeded: 2 }).trusted);
  const info = signParsedNarinfo(parseNarinfo(f6), sk);
  t.is(formatNarinfo(info), signNarinfo(f6, sk));
  t.is(signFingerprint(fingerprint(info), sk), info.sigs.find((s) => s.startsWith('obj:'))!);
});

test('the 2015 scenario, modern format: no key, wrong key, right key among several, References removed', (t) => {
  const sk = generateSecretKey('cache.example.org-1');
  const wrong = toPublicKey(generateSecretKey('cache.example.org-1'));
  const right = toPublicKey(sk);
  const other = toPublicKey(generateSecretKey('other-1'));
  for (const text of [fixture('F1').text, fixture('X1').text, corpus()[0]]) {
    const signed = signNarinfo(text.replace(/^Sig: .*\n/gm, ''), sk);
    t.false(verifyNarinfo(signed, []).trusted);
    t.false(verifyNarinfo(signed, wrong).trusted);
    t.true(verifyNarinfo(signed, [other, wrong.replace('cache.example.org-1', 'x'), right]).trusted);
    t.false(verifyNarinfo(signed.replace(/^References: .*\n/m, ''), right).trusted);
  }
});

test('malformed signatures under a trusted name fail the file, as Nix does — unless its CA already trusts it', (t) => {
  const f6 = fixture('F6').text;
  const bad = f6.replace(/^(Sig: .*)$/m, '$1\nSig: cache.nixos.org-1:AAAA');
  const v = verifyNarinfo(bad, CACHE_NIXOS_ORG_KEY);
  t.false(v.trusted);
  t.is(v.reason, 'malformed-signature');
  t.deepEqual(statuses(v), ['cache.nixos.org-1=valid', 'cache.nixos.org-1=malformed']);
  t.is(v.failure?.code, 'ERR_SIGNATURE_INVALID');
  t.regex(v.failure!.message, /^signature is not valid/);
  // The same bad line under an untrusted name is just an unknown key.
  t.true(verifyNarinfo(bad, section('C').publicKey!.replace('cache.example.org-0', 'x')).signatures.every((s) => s.status === 'unknown-key'));
  const f4 = fixture('F4').text.replace(/^(Sig: .*)$/m, 'Sig: cache.nixos.org-1:a*b');
  const ca = verifyNarinfo(f4, CACHE_NIXOS_ORG_KEY);
  t.true(ca.trusted);
  t.is(ca.reason, 'content-addressed');
  t.is(ca.signatures[0].status, 'malformed');
  t.is(ca.failure, undefined);
  t.false(verifyNarinfo(fixture('F4').text.replace(/^Sig: .*\n/m, ''), [], { trustContentAddressed: false }).trusted);
});

test('a CA line only counts when it reproduces the path; the check is reported', (t) => {
  const f4 = fixture('F4').text.replace(/^Sig: .*\n/m, '');
  const good = verifyNarinfo(f4, []);
  t.deepEqual(good.contentAddress, { matches: true, computedPath: parseNarinfo(f4).storePath });
  const renamed = verifyNarinfo(f4.replace('hyphenex-37354', 'hyphenex-1'), []);
  t.false(renamed.trusted);
  t.false(renamed.contentAddress!.matches);
  const withRef = verifyNarinfo(f4.replace('References: ', 'References: 563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56'), []);
  t.false(withRef.trusted);
  t.is(withRef.contentAddress!.error?.code, 'ERR_CA_NOT_COMPUTABLE');
  t.is(verifyNarinfo(fixture('F6').text, CACHE_NIXOS_ORG_KEY).contentAddress, undefined);
});

test('the file name\'s hash part must be StorePath\'s', (t) => {
  const f6 = fixture('F6').text;
  t.true(verifyNarinfo(f6, CACHE_NIXOS_ORG_KEY, { fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo' }).trusted);
  t.true(verifyNarinfo(f6, CACHE_NIXOS_ORG_KEY, { fileName: '/srv/cache/xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo' }).trusted);
  for (const fileName of ['syd87l2rxw8cbsxmxl853h0r6pdwhwjr.narinfo', 'xcp9cav49dmsjbwdjlmkjxj10gkpx55.narinfo', 'hello.narinfo', '']) {
    const error = t.throws(() => verifyNarinfo(f6, CACHE_NIXOS_ORG_KEY, { fileName }), { instanceOf: NarsignError }) as NarsignError;
    t.is(error.code, 'ERR_NARINFO_FILE_NAME', fileName);
  }
  const corrupt = t.throws(() => verifyNarinfo(f6.slice(0, -1), CACHE_NIXOS_ORG_KEY, { fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo' })) as NarsignError;
  t.regex(corrupt.message, /^NAR info file 'xcp9cav49dmsjbwdjlmkjxj10gkpx553\.narinfo' is corrupt/);
});

test('trusted keys: first of a name wins; one key counts once even under two names', (t) => {
  const f6 = fixture('F6').text;
  t.false(verifyNarinfo(f6, [WRONG_KEY_SAME_NAME, CACHE_NIXOS_ORG_KEY]).trusted);
  t.true(verifyNarinfo(f6, [CACHE_NIXOS_ORG_KEY, WRONG_KEY_SAME_NAME]).trusted);
  const sig = parseNarinfo(f6).sigs[0];
  const alias = CACHE_NIXOS_ORG_KEY.replace('cache.nixos.org-1', 'alias');
  const twice = f6.replace(/^(Sig: .*)$/m, `$1\nSig: ${sig.replace('cache.nixos.org-1', 'alias')}`);
  const v = verifyNarinfo(twice, [CACHE_NIXOS_ORG_KEY, alias], { sigsNeeded: 2 });
  t.deepEqual(statuses(v), ['cache.nixos.org-1=valid', 'alias=valid']);
  t.is(v.validSignatures, 1);
  t.false(v.trusted);
});

test('sigsNeeded: 0 counts as 1 (as Nix); other values are refused', (t) => {
  const f6 = fixture('F6').text;
  t.is(verifyNarinfo(f6, CACHE_NIXOS_ORG_KEY, { sigsNeeded: 0 }).sigsNeeded, 1);
  t.false(verifyNarinfo(fixture('F6').text.replace(/^Sig: .*\n/m, ''), [], { sigsNeeded: 0 }).trusted);
  for (const bad of [-1, 1.5, '1', NaN]) t.throws(() => verifyNarinfo(f6, CACHE_NIXOS_ORG_KEY, { sigsNeeded: bad as number }), { instanceOf: TypeError });
});

test('verifySignature on its own; Sig values without a name are unknown keys', (t) => {
  const f6 = parseNarinfo(fixture('F6').text);
  const fp = fingerprint(f6);
  t.is(verifySignature(fp, f6.sigs[0], CACHE_NIXOS_ORG_KEY).status, 'valid');
  t.is(verifySignature(`${fp}x`, f6.sigs[0], CACHE_NIXOS_ORG_KEY).status, 'invalid');
  t.deepEqual(verifySignature(fp, 'garbage', CACHE_NIXOS_ORG_KEY), { keyName: '', status: 'unknown-key', signature: 'garbage' });
  t.is(verifySignature(fp, ':abc', CACHE_NIXOS_ORG_KEY).keyName, '');
  t.is(verifySignature(fp, 'cache.nixos.org-1:a b', CACHE_NIXOS_ORG_KEY).error?.code, 'ERR_BASE64_INVALID');
});

test('bad keys: coded errors that never show the secret', (t) => {
  const f6 = fixture('F6').text;
  const sk = section('C').secretKey!;
  const payload = sk.slice(sk.indexOf(':') + 1);
  const truncated = sk.slice(0, -8);
  const error = t.throws(() => signNarinfo(f6, [generateSecretKey('x'), truncated]), { instanceOf: NarsignError }) as NarsignError;
  t.is(error.code, 'ERR_SECRET_KEY_INVALID');
  t.regex(error.message, /secret key 2/);
  t.false(error.message.includes(payload.slice(0, 12)));
  t.throws(() => signNarinfo(f6, []), { instanceOf: TypeError });
  t.throws(() => signNarinfo(f6, [42 as never]), { instanceOf: TypeError });
  t.throws(() => verifyNarinfo(f6, 'nope'), { instanceOf: NarsignError });
  t.throws(() => verifyNarinfo(f6, [{ name: 'x' } as never]), { instanceOf: TypeError });
});

test('prepareVerification: the checks a batch runs, and a finish that gives verifyNarinfo\'s verdict', (t) => {
  const keys = trustedKeySet([CACHE_NIXOS_ORG_KEY, section('B').publicKey!]);
  for (const text of [...fixtures().map((f) => f.text), ...corpus().slice(0, 50)]) {
    const info = parseNarinfo(text);
    const plan = prepareVerification(info, keys);
    // Only well-formed signatures under trusted names are checked, all over the fingerprint.
    t.is(plan.checks.length, info.sigs.filter((s) => s.startsWith('cache.nixos.org-1:') || s.startsWith('test1:')).length);
    for (const check of plan.checks) t.is(check.message, fingerprint(info));
    const results = plan.checks.map((c) => verifyDetached(c.publicKey, c.signature, c.message));
    t.deepEqual(plan.finish(results), verifyNarinfo(info, keys));
    t.false(plan.finish(results.map(() => false)).signatures.some((s) => s.status === 'valid'));
  }
  const plan = prepareVerification(parseNarinfo(fixture('F6').text), keys);
  t.throws(() => plan.finish([]), { instanceOf: TypeError });
  t.is(prepareVerification(parseNarinfo(fixture('F6').text), []).checks.length, 0);
});

test('signNarinfo with fileName refuses a misfiled narinfo; key objects with unusable names are refused', (t) => {
  const f6 = fixture('F6').text;
  const sk = generateSecretKey('k');
  t.true(signNarinfo(f6, sk, { fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo' }).includes('\nSig: k:'));
  t.throws(() => signNarinfo(f6, sk, { fileName: 'syd87l2rxw8cbsxmxl853h0r6pdwhwjr.narinfo' }), { instanceOf: NarsignError, code: 'ERR_NARINFO_FILE_NAME' } as never);
  const parsed = parseSecretKey(sk);
  for (const name of ['', 'a:b', 'a b']) {
    t.throws(() => signNarinfo(f6, { ...parsed, name }), { instanceOf: NarsignError, code: 'ERR_KEY_NAME_INVALID' } as never);
  }
  // A bad key anywhere in the list fails before anything is signed.
  t.throws(() => signNarinfo(f6, [sk, 'x:AAAA']), { instanceOf: NarsignError });
});

test('bySignatures: Nix’s CA trust is reported, but only valid signatures by the trusted keys are grounds to sign (signingRefusal)', (t) => {
  const verify = verifyNarinfo;
  const f4 = fixture('F4').text; // content-addressed, and signed by cache.nixos.org-1 (fixture notes)
  const signedAndCa = verify(f4, CACHE_NIXOS_ORG_KEY);
  t.like(signedAndCa, { trusted: true, reason: 'content-addressed', bySignatures: true, validSignatures: 1 });
  t.is(signingRefusal(signedAndCa), undefined);
  const caOnly = verify(f4.replace(/^Sig: .*\n/gm, ''), CACHE_NIXOS_ORG_KEY);
  t.like(caOnly, { trusted: true, reason: 'content-addressed', bySignatures: false, validSignatures: 0 });
  t.regex(signingRefusal(caOnly)!, /content address/);
  const signedOnly = verify(fixture('F2').text, CACHE_NIXOS_ORG_KEY);
  t.like(signedOnly, { trusted: true, reason: 'signatures', bySignatures: true });
  const wrongKey = verify(fixture('F2').text, WRONG_KEY_SAME_NAME);
  t.like(wrongKey, { trusted: false, bySignatures: false });
  t.is(signingRefusal(wrongKey), wrongKey.reason);
  // sigsNeeded counts for signing too.
  t.like(verify(fixture('F2').text, CACHE_NIXOS_ORG_KEY, { sigsNeeded: 2 }), { trusted: false, bySignatures: false });
});
