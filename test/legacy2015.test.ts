/**
 * lib/legacy2015.ts: the 2015 `Signature: 2;NAME;BASE64` format; signatures are checked against
 * node:crypto over the lines before the Signature line. The scenario of the 2015
 * tests/binary-cache.sh (test/reference/nix-e0def5bc-libsodium-signing.patch.txt) is replayed in
 * test/scenario-2015.test.ts, for this format and the modern one side by side.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { signCache } from '../lib/cache';
import { signLegacy2015, verifyLegacy2015 } from '../lib/legacy2015';
import { parseSecretKey } from '../lib/keys';
import { NarsignError } from '../lib/errors';
import { fixture, keyVectors } from './helpers/vectors';
import { hashPartOfText, tempDir } from './helpers/cache-dir';
import { NARINFO, signedPart } from './helpers/legacy2015';
import { nodeSign, nodeVerify, splitNixString } from './helpers/oracles';

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
    t.is(verdict.status as string, status, verdict.message);
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

test('the file-name rule holds in the 2015 format: verifyLegacy2015 with fileName, signCache format 2015', async (t) => {
  const c = keyVectors().find((v) => v.section === 'C')!;
  const signed = signLegacy2015(NARINFO, c.secretKey!);
  const own = `${hashPartOfText(NARINFO)}.narinfo`;
  const other = `${hashPartOfText(fixture('F2').text)}.narinfo`;
  t.true(verifyLegacy2015(signed, c.publicKey!, { fileName: `/cache/${own}` }).trusted);
  const refused = verifyLegacy2015(signed, c.publicKey!, { fileName: other });
  t.like(refused, { trusted: false, status: 'corrupt', code: 'ERR_NARINFO_FILE_NAME' });
  t.throws(() => verifyLegacy2015(signed, c.publicKey!, { fileName: 1 as unknown as string }), { instanceOf: TypeError });
  // sign --format 2015 on a cache: A's narinfo under B's name is refused, not signed.
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, other), NARINFO);
  const result = await signCache(dir, { keys: c.secretKey!, format: '2015' });
  t.like(result, { signed: 0, failed: 1 });
  t.is(result.failures[0].code, 'ERR_NARINFO_FILE_NAME');
  t.is(fs.readFileSync(path.join(dir, other), 'utf8'), NARINFO);
});
