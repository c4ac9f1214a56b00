/**
 * Hash spellings. Oracles: node:crypto digests (and Node's own hex/base64), the spellings real
 * `nix hash to-base16 / to-sri` (Nix 2.8.0) printed for fixture F6's NarHash, and what Nix 2.8's
 * narinfo reader accepted and refused when fed these spellings (see test/interop/narinfo-nix.test.ts,
 * which re-checks each against the live binary).
 */
import test from 'ava';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { NarsignError } from '../lib/errors';
import {
  formatHash,
  HASH_ALGORITHMS,
  HASH_SIZES,
  hashBytes,
  hashEquals,
  parseAnyHash,
  parseHash,
  parseHashUnprefixed,
  toNix32Sha256,
  type HashAlgorithm,
} from '../lib/hash';
import { errorCode } from './helpers/error-code';

// F6 (hello-2.10) NarHash in the forms real Nix prints: nix32 from the file,
// `nix hash to-base16` and `nix hash to-sri` of it.
const F6_NIX32 = '16mvl7v0ylzcg2n3xzjn41qhzbmgcn5iyarx16nn5l2r36n2kqci';
const F6_BASE16 = '91e129ac1959d062ad093d2b1f8b65afae0f712056fe3eac78ec530ff6a1bb9a';
const F6_SRI = 'sha256-keEprBlZ0GKtCT0rH4tlr64PcSBW/j6seOxTD/ahu5o=';

const code = errorCode;

test('sizes', (t) => {
  t.deepEqual({ ...HASH_SIZES }, { md5: 16, sha1: 20, sha256: 32, sha512: 64 });
  for (const algo of HASH_ALGORITHMS) t.is(crypto.createHash(algo).digest().length, HASH_SIZES[algo]);
});

test('every spelling of F6\'s NarHash parses to the same digest', (t) => {
  const expected = Buffer.from(F6_BASE16, 'hex');
  const spellings = [
    `sha256:${F6_NIX32}`,
    `sha256:${F6_BASE16}`,
    `sha256:${F6_BASE16.toUpperCase()}`, // Nix's base-16 parser takes upper case
    F6_SRI,
    F6_SRI.replace('=', ''), // SRI: padding optional (lax base64)
    `${F6_SRI}junk`, // lax base64 stops at '='
    `sha256:${F6_SRI.slice(7)}`, // padded base64 after ':' (44 chars)
  ];
  for (const s of spellings) {
    const h = parseHash(s);
    t.is(h.algo, 'sha256', s);
    t.deepEqual(h.digest, expected, s);
  }
});

test('formatting: base16/base64 agree with Node, nix32 and SRI with real Nix', (t) => {
  const h = parseHash(`sha256:${F6_NIX32}`);
  t.is(formatHash(h, 'base16'), `sha256:${h.digest.toString('hex')}`);
  t.is(formatHash(h, 'base64'), `sha256:${h.digest.toString('base64')}`);
  t.is(formatHash(h, 'nix32'), `sha256:${F6_NIX32}`);
  t.is(formatHash(h, 'sri'), F6_SRI);
  t.is(formatHash(h, 'nix32', false), F6_NIX32);
  t.is(formatHash(h, 'base16', false), F6_BASE16);
  t.is(formatHash(h), `sha256:${F6_NIX32}`);
});

test('toNix32Sha256 takes every sha256 spelling, prefixed or not', (t) => {
  for (const s of [`sha256:${F6_NIX32}`, `sha256:${F6_BASE16}`, F6_SRI, F6_BASE16, F6_NIX32, F6_SRI.slice(7)]) {
    t.is(toNix32Sha256(s), `sha256:${F6_NIX32}`, s);
  }
  t.is(code(() => toNix32Sha256(`sha1:${'0'.repeat(40)}`)), 'ERR_HASH_WRONG_ALGORITHM');
  t.is(code(() => toNix32Sha256('md5-XUFAKrxLKna5cZ2REBfFkg==')), 'ERR_HASH_WRONG_ALGORITHM');
});

test('all four algorithms, all four formats, round trip against node:crypto', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...HASH_ALGORITHMS), fc.uint8Array({ maxLength: 64 }), (algo: HashAlgorithm, data) => {
      const digest = crypto.createHash(algo).update(data).digest();
      const h = hashBytes(algo, data);
      t.deepEqual(h.digest, digest);
      for (const format of ['base16', 'nix32', 'base64', 'sri'] as const) {
        const text = formatHash(h, format);
        t.true(hashEquals(parseHash(text), h), text);
      }
      t.is(formatHash(h, 'base16', false), digest.toString('hex'));
      t.is(formatHash(h, 'base64', false), digest.toString('base64'));
      t.deepEqual(parseHashUnprefixed(digest.toString('hex'), algo).digest, digest);
      t.deepEqual(parseHashUnprefixed(digest.toString('base64'), algo).digest, digest);
    }),
    { numRuns: 200 },
  );
});

test('refusals, with stable codes', (t) => {
  const cases: Array<[string, string]> = [
    [F6_NIX32, 'ERR_HASH_MISSING_ALGORITHM'],
    ['sha257:abc', 'ERR_HASH_UNKNOWN_ALGORITHM'],
    ['SHA256:' + F6_NIX32, 'ERR_HASH_UNKNOWN_ALGORITHM'],
    ['sha256:abc', 'ERR_HASH_WRONG_LENGTH'],
    [`sha256:${F6_SRI.slice(7, -1)}`, 'ERR_HASH_WRONG_LENGTH'], // unpadded base64 after ':' is 43 chars: Nix refuses
    [`sha256:${F6_BASE16.slice(0, -1)}g`, 'ERR_HASH_INVALID_BASE16'],
    [`sha256:3${F6_NIX32.slice(1)}`, 'ERR_HASH_INVALID_NIX32'], // bits beyond 256
    [`sha256:e${F6_NIX32.slice(1)}`, 'ERR_HASH_INVALID_NIX32'],
    ['sha256-AAAA', 'ERR_HASH_INVALID_BASE64'], // 3 bytes
    ['sha256-a*b=', 'ERR_HASH_INVALID_BASE64'],
    [`sha256:${'*'.repeat(43)}=`, 'ERR_HASH_INVALID_BASE64'],
    ['md5:' + '0'.repeat(32) + '0', 'ERR_HASH_WRONG_LENGTH'],
  ];
  for (const [text, expected] of cases) t.is(code(() => parseHash(text)), expected, text);
});

test('the \':\' form wins when the text has a \':\' anywhere (as Nix splits)', (t) => {
  // "sha256-…:…" is read as algorithm "sha256-…", which is unknown.
  t.is(code(() => parseHash(`${F6_SRI}:x`)), 'ERR_HASH_UNKNOWN_ALGORITHM');
});

test('parseAnyHash: unprefixed needs a known algorithm; prefixed must agree with it', (t) => {
  t.deepEqual(parseAnyHash(F6_BASE16, 'sha256').digest, Buffer.from(F6_BASE16, 'hex'));
  t.is(code(() => parseAnyHash(F6_BASE16)), 'ERR_HASH_MISSING_ALGORITHM');
  t.is(code(() => parseAnyHash(`sha256:${F6_NIX32}`, 'sha512')), 'ERR_HASH_WRONG_ALGORITHM');
  t.is(parseAnyHash(F6_SRI, 'sha256').algo, 'sha256');
});

test('formatHash validates its input', (t) => {
  t.throws(() => formatHash({ algo: 'sha256', digest: Buffer.alloc(31) }), { instanceOf: NarsignError, code: 'ERR_HASH_WRONG_LENGTH' } as never);
  t.throws(() => formatHash({ algo: 'crc32' as HashAlgorithm, digest: Buffer.alloc(4) }), { instanceOf: TypeError });
  t.throws(() => formatHash({ algo: 'sha256', digest: Buffer.alloc(32) }, 'hex' as never), { instanceOf: TypeError });
});
