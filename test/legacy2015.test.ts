/**
 * lib/legacy2015.ts: the 2015 `Signature: 2;NAME;BASE64` format. The scenario of the 2015
 * tests/binary-cache.sh (test/reference/nix-e0def5bc-libsodium-signing.patch.txt) is replayed
 * first; signatures are checked against node:crypto over the lines before the Signature line.
 */
import test from 'ava';
import { signLegacy2015, verifyLegacy2015 } from '../lib/legacy2015';
import { generateSecretKey, parseSecretKey, toPublicKey } from '../lib/keys';
import { NarsignError } from '../lib/errors';
import { fixture, keyVectors } from './helpers/vectors';
import { nodeSign, nodeVerify, splitNixString } from './helpers/oracles';

/** A narinfo as the 2015 nix-push wrote it (no Sig lines). */
const NARINFO = fixture('F1')
  .text.split('\n')
  .filter((line) => !line.startsWith('Sig: '))
  .join('\n');
const STORE_PATH = /^StorePath: (.*)$/m.exec(NARINFO)![1];

/** The 2015 signed data, computed by the test: every line before the Signature line, with its '\n'. */
function signedPart(text: string): string {
  return text.slice(0, text.indexOf('Signature: '));
}

test('the 2015 tests/binary-cache.sh scenario', (t) => {
  // declare -a res=($(nix-store --generate-binary-cache-key test.nixos.org-1)) …
  const secretKey = generateSecretKey('test.nixos.org-1');
  const publicKey = toPublicKey(secretKey);
  const badKey = toPublicKey(generateSecretKey('test.nixos.org-1'));
  const otherKey = toPublicKey(generateSecretKey('foo.nixos.org-1'));

  // nix-push --dest $cacheDir --key-file $TEST_ROOT/secret-key $outPath
  const signed = signLegacy2015(NARINFO, `${secretKey}\n`);
  t.true(signed.startsWith(NARINFO));
  t.regex(signed.slice(NARINFO.length), /^Signature: 2;test\.nixos\.org-1;[A-Za-z0-9+/]{86}==\n$/);

  // Downloading should fail if we don't provide a key.
  const none = verifyLegacy2015(signed, [], { storePath: STORE_PATH });
  t.false(none.trusted);
  t.is(none.status, 'unknown-key');
  t.is(none.code, 'ERR_LEGACY_UNKNOWN_KEY');

  // And it should fail if we provide an incorrect key.
  const bad = verifyLegacy2015(signed, badKey, { storePath: STORE_PATH });
  t.false(bad.trusted);
  t.is(bad.status, 'incorrect-signature');
  t.is(bad.code, 'ERR_LEGACY_INCORRECT_SIGNATURE');

  // It should succeed if we provide the correct key.
  const good = verifyLegacy2015(signed, `${otherKey} ${publicKey}`, { storePath: STORE_PATH });
  t.true(good.trusted);
  t.is(good.status, 'valid');
  t.is(good.keyName, 'test.nixos.org-1');
  t.is(good.signedText, NARINFO);

  // It should fail if we corrupt the .narinfo (grep -v References).
  const corrupted = signed
    .split('\n')
    .filter((line) => !line.includes('References'))
    .join('\n');
  t.not(corrupted, signed);
  const after = verifyLegacy2015(corrupted, publicKey, { storePath: STORE_PATH });
  t.false(after.trusted);
  t.is(after.status, 'incorrect-signature');
});

test('signLegacy2015 signs every line before the Signature line, byte for byte as node:crypto', (t) => {
  for (const v of keyVectors().filter((x) => x.secretKey)) {
    const signed = signLegacy2015(NARINFO, v.secretKey!);
    const seed = splitNixString(v.secretKey!).bytes.subarray(0, 32);
    const expected = nodeSign(seed, Buffer.from(NARINFO, 'utf8')).toString('base64');
    t.is(signed, `${NARINFO}Signature: 2;${splitNixString(v.secretKey!).name};${expected}\n`, v.section);
    const sig = Buffer.from(signed.slice(signed.lastIndexOf(';') + 1), 'base64');
    t.true(nodeVerify(splitNixString(v.publicKey!).bytes, sig, Buffer.from(signedPart(signed))));
    t.true(verifyLegacy2015(signed, v.publicKey!).trusted, v.section);
  }
});

test('signLegacy2015 takes a parsed secret key too, and replaces a final Signature line', (t) => {
  const c = keyVectors().find((v) => v.section === 'C')!;
  const once = signLegacy2015(NARINFO, parseSecretKey(c.secretKey!));
  const e = keyVectors().find((v) => v.section === 'E')!;
  const twice = signLegacy2015(once, e.secretKey!);
  t.is(twice, signLegacy2015(NARINFO, e.secretKey!));
  t.is(twice.match(/^Signature: /gm)?.length, 1);
  t.true(verifyLegacy2015(twice, e.publicKey!).trusted);
  t.is(verifyLegacy2015(twice, c.publicKey!).status, 'unknown-key');
});

test('signLegacy2015 refuses what the 2015 reader would refuse', (t) => {
  const key = keyVectors().find((v) => v.section === 'C')!.secretKey!;
  const refuse = (text: string, code = 'ERR_LEGACY_CORRUPT') => {
    const error = t.throws(() => signLegacy2015(text, key), { instanceOf: NarsignError });
    t.is(error?.code, code, error?.message);
  };
  refuse(NARINFO.slice(0, -1)); // no final newline
  refuse(`${NARINFO}\n`); // a blank line
  refuse(NARINFO.replace('NarSize: ', 'NarSize:')); // not "Field: value"
  refuse(NARINFO.replace(/^URL: .*\n/m, ''));
  refuse(NARINFO.replace(/^StorePath: .*\n/m, ''));
  refuse(NARINFO.replace(/^NarHash: .*\n/m, ''));
  refuse(NARINFO.replace(/^(NarSize: .*\n)/m, '$1Signature: 2;x;y\n'));
  refuse(NARINFO.replace('Compression: xz', 'Compression: x\0z'));
  const [, payload] = key.split(':');
  const error = t.throws(() => signLegacy2015(NARINFO, `semi;colon:${payload}`), { instanceOf: NarsignError });
  t.is(error?.code, 'ERR_KEY_NAME_INVALID');
  t.throws(() => signLegacy2015(NARINFO, `broken:${payload.slice(4)}`), { instanceOf: NarsignError });
  t.throws(() => signLegacy2015(42 as unknown as string, key), { instanceOf: TypeError });
});

const C = keyVectors().find((v) => v.section === 'C')!;
const SIGNED_C = signLegacy2015(NARINFO, C.secretKey!);
const replaceSignature = (value: string): string => SIGNED_C.replace(/^Signature: .*$/m, `Signature: ${value}`);
const sigOfC = SIGNED_C.slice(SIGNED_C.lastIndexOf(';') + 1, -1);

test('each 2015 refusal has its own status and code', (t) => {
  const cases: Array<[string, string, string, RegExp?]> = [
    [NARINFO, 'unsigned', 'ERR_LEGACY_UNSIGNED', /lacks a signature; ignoring$/],
    [replaceSignature(`1;cache.example.org-0;${sigOfC}`), 'unsupported-version', 'ERR_LEGACY_UNSUPPORTED_VERSION', /has unsupported version 1; ignoring$/],
    [replaceSignature(`3;cache.example.org-0;${sigOfC}`), 'unsupported-version', 'ERR_LEGACY_UNSUPPORTED_VERSION'],
    [replaceSignature(`;cache.example.org-0;${sigOfC}`), 'unsupported-version', 'ERR_LEGACY_UNSUPPORTED_VERSION', /unsupported version ; ignoring$/],
    [replaceSignature(''), 'unsupported-version', 'ERR_LEGACY_UNSUPPORTED_VERSION', /unsupported version 0; ignoring$/],
    // A modern `Sig:`-style value in a Signature line: its "version" is the whole text, numerically 0.
    [replaceSignature(`cache.example.org-0:${sigOfC}`), 'unsupported-version', 'ERR_LEGACY_UNSUPPORTED_VERSION'],
    [replaceSignature('2;cache.example.org-0'), 'malformed-signature', 'ERR_LEGACY_SIGNATURE_MALFORMED'],
    [replaceSignature('2;cache.example.org-0;'), 'malformed-signature', 'ERR_LEGACY_SIGNATURE_MALFORMED'],
    [replaceSignature(`2;somebody-else;${sigOfC}`), 'unknown-key', 'ERR_LEGACY_UNKNOWN_KEY', /is signed by unknown key ‘somebody-else’; ignoring$/],
    [replaceSignature(`2;cache.example.org-0;${sigOfC.slice(4)}`), 'invalid-signature', 'ERR_SIGNATURE_INVALID', /^signature is not valid/],
    [replaceSignature(`2;cache.example.org-0;${Buffer.alloc(64, 3).toString('base64')}`), 'incorrect-signature', 'ERR_LEGACY_INCORRECT_SIGNATURE', /has an incorrect signature; ignoring$/],
    [SIGNED_C.replace('URL: ', 'URL:'), 'corrupt', 'ERR_LEGACY_CORRUPT', /line 2 is not of the form/],
    [SIGNED_C.replace(/^URL: .*\n/m, ''), 'corrupt', 'ERR_LEGACY_CORRUPT', /no URL/],
    [SIGNED_C.replace(/^NarHash: .*\n/m, ''), 'corrupt', 'ERR_LEGACY_CORRUPT', /no NarHash/],
    [SIGNED_C.replace(/^StorePath: .*\n/m, ''), 'corrupt', 'ERR_LEGACY_CORRUPT', /no StorePath/],
    [SIGNED_C.replace('NarSize: ', '\nNarSize: '), 'corrupt', 'ERR_LEGACY_CORRUPT'],
    [`${SIGNED_C}References: \n`, 'corrupt', 'ERR_LEGACY_TRAILING_LINES', /follows the Signature line/],
    [SIGNED_C.replace('xz', 'x\0z'), 'corrupt', 'ERR_LEGACY_CORRUPT', /NUL/],
  ];
  for (const [text, status, code, message] of cases) {
    const verdict = verifyLegacy2015(text, [C.publicKey!], { location: 'http://cache/x.narinfo' });
    t.false(verdict.trusted, status);
    t.is(verdict.status, status, verdict.message);
    t.is(verdict.code, code);
    if (message) t.regex(verdict.message!, message);
  }
  t.is(verifyLegacy2015(SIGNED_C, [C.publicKey!], { storePath: '/nix/store/00000000000000000000000000000000-other' }).code, 'ERR_LEGACY_CORRUPT');
});

test('what the 2015 reader let through, narsign lets through', (t) => {
  // Version compared numerically by Perl; a trailing blank line dropped by split.
  t.true(verifyLegacy2015(replaceSignature(`2.0;cache.example.org-0;${sigOfC}`), C.publicKey!).trusted);
  t.true(verifyLegacy2015(`${SIGNED_C}\n\n`, C.publicKey!).trusted);
  // MIME::Base64 ignores characters outside the alphabet.
  t.true(verifyLegacy2015(replaceSignature(`2;cache.example.org-0;${sigOfC.slice(0, 20)} !${sigOfC.slice(20)}`), C.publicKey!).trusted);
  // Extra ';' fields after the signature were ignored by `split`.
  t.true(verifyLegacy2015(replaceSignature(`2;cache.example.org-0;${sigOfC};extra`), C.publicKey!).trusted);
  // Unknown fields are fine (and signed).
  const withSystem = signLegacy2015(`${NARINFO}System: x86_64-linux\n`, C.secretKey!);
  t.true(verifyLegacy2015(withSystem, C.publicKey!).trusted);
  t.false(verifyLegacy2015(withSystem.replace('x86_64', 'i686'), C.publicKey!).trusted);
});

test('the 2015 key table: the LAST trusted key of a name wins (a Perl hash), unlike modern Nix', (t) => {
  const wrongSameName = `cache.example.org-0:${Buffer.alloc(32, 5).toString('base64')}`;
  t.true(verifyLegacy2015(SIGNED_C, [wrongSameName, C.publicKey!]).trusted);
  t.is(verifyLegacy2015(SIGNED_C, [C.publicKey!, wrongSameName]).status, 'incorrect-signature');
  // Parsed keys are accepted as well as strings.
  t.true(verifyLegacy2015(SIGNED_C, [{ name: 'cache.example.org-0', key: splitNixString(C.publicKey!).bytes }]).trusted);
});

test('argument checks', (t) => {
  t.throws(() => verifyLegacy2015(42 as unknown as string, []), { instanceOf: TypeError });
  t.throws(() => verifyLegacy2015(SIGNED_C, 42 as unknown as string), { instanceOf: TypeError });
  t.throws(() => verifyLegacy2015(SIGNED_C, [{ name: 'x' } as unknown as string]), { instanceOf: TypeError });
  const error = t.throws(() => verifyLegacy2015(SIGNED_C, ['not a key']), { instanceOf: NarsignError });
  t.regex(error!.message, /trusted key 1/);
});
