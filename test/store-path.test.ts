/**
 * Store paths and content addresses. Oracles: paths printed by real Nix 2.8.0
 * (`nix-store --store dummy://[?store=DIR] --print-fixed-path [--recursive] ALGO HEX NAME`,
 * `nix eval --raw --expr 'builtins.toFile …'` + `nix path-info --json`), the content-addressed
 * narinfos of cache.nixos.org in the vectors (their StorePath is what Nix computed from their CA),
 * and what Nix 2.8 accepted and refused as references in narinfos (re-checked live by
 * test/interop/narinfo-nix.test.ts).
 */
import test from 'ava';
import crypto from 'node:crypto';
import { formatContentAddress, parseContentAddress } from '../lib/content-address';
import { NarsignError } from '../lib/errors';
import { parseHashUnprefixed, type HashAlgorithm } from '../lib/hash';
import {
  canonicalizePath,
  compressHash,
  contentAddressedStorePath,
  isStorePath,
  isStorePathBaseName,
  makeFixedOutputPath,
  makeTextPath,
  parseStorePath,
  parseStorePathBaseName,
  storePathBaseNameProblem,
} from '../lib/store-path';
import { corpus, fixture } from './helpers/vectors';
import { errorCode } from './helpers/error-code';

const code = errorCode;
const digestOf = (algo: HashAlgorithm, data: string) => ({ algo, digest: crypto.createHash(algo).update(data).digest() });

// nix-store --store dummy:// --print-fixed-path [--recursive] ALGO HEX(ALGO("hello")) NAME, Nix 2.8.0.
const PRINT_FIXED_PATH = [
  { method: 'flat', algo: 'sha256', name: 'hello.txt', path: '/nix/store/iixxin28s82lrxs8v4lcf7nha2dkwprm-hello.txt' },
  { method: 'recursive', algo: 'sha256', name: 'src', path: '/nix/store/2870zx9jg3wa9hgyrncqisbxch35845m-src' },
  { method: 'flat', algo: 'sha1', name: 'h1', path: '/nix/store/d49b2110fapkmdw3ys978c0a5hi352vd-h1' },
  { method: 'recursive', algo: 'sha1', name: 'h1r', path: '/nix/store/m8cn0ax8sxnr5av3jm4gpxljvmka48fq-h1r' },
  { method: 'flat', algo: 'md5', name: 'm', path: '/nix/store/nfcvmd2qmmmv0nfzdl9hbvhlwnpvz9ns-m' },
  { method: 'recursive', algo: 'sha512', name: 'big', path: '/nix/store/gj8wbjjcx2h7cn6rq87jq5ycwndd8lcy-big' },
  { method: 'recursive', algo: 'md5', name: '.envrc', path: '/nix/store/pzr9wjabysp4w1m559bsmbpxwdxlhdla-.envrc' },
  // --store 'dummy://?store=/gnu/store': the store dir enters the hash
  { method: 'recursive', algo: 'sha256', name: 'src', path: '/gnu/store/mxpjbnwcg0pasjir0qwvz5pvnl6p94bp-src' },
] as const;

for (const v of PRINT_FIXED_PATH) {
  test(`makeFixedOutputPath ${v.method} ${v.algo} ${v.name} in ${v.path.slice(0, 10)} = nix-store --print-fixed-path`, (t) => {
    const storeDir = v.path.slice(0, v.path.lastIndexOf('/'));
    t.is(makeFixedOutputPath(storeDir, v.method, digestOf(v.algo, 'hello'), v.name), v.path);
  });
}

test('makeTextPath = builtins.toFile, with and without a reference (nix eval + nix path-info --json)', (t) => {
  // builtins.toFile "a" "x"  →  ca text:sha256:10a83a91…, no references
  const a = parseHashUnprefixed('10a83a91g1r50bdw8g4hn47m7j7m6angpabwc80l9c16nx11cw9d', 'sha256');
  t.deepEqual(a.digest, crypto.createHash('sha256').update('x').digest());
  t.is(makeTextPath('/nix/store', 'a', a), '/nix/store/12wigjpizrn8axaqxj288q1b751qmwya-a');
  // builtins.toFile "b" "${builtins.toFile "a" "x"}"  →  references [a]
  const b = parseHashUnprefixed('14pb2l9isrq8jhwjfcdvzz4cl5g9xjq9n4z09315ms2igi63q1rk', 'sha256');
  t.deepEqual(b.digest, crypto.createHash('sha256').update('/nix/store/12wigjpizrn8axaqxj288q1b751qmwya-a').digest());
  t.is(makeTextPath('/nix/store', 'b', b, ['12wigjpizrn8axaqxj288q1b751qmwya-a']), '/nix/store/mxfyh6dq3pj8wggqhb10ckc4xipf75gk-b');
  t.not(makeTextPath('/nix/store', 'b', b), '/nix/store/mxfyh6dq3pj8wggqhb10ckc4xipf75gk-b');
});

/** Minimal field reader for the oracle narinfos (independent of lib/narinfo.ts). */
function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
}

test('the content-addressed narinfos of cache.nixos.org: CA + name + references reproduce StorePath', (t) => {
  const withCa = [...corpus(), fixture('F4').text].filter((text) => field(text, 'CA') !== undefined);
  t.true(withCa.length >= 9);
  const kinds = new Set<string>();
  for (const text of withCa) {
    const storePath = field(text, 'StorePath')!;
    const ca = parseContentAddress(field(text, 'CA')!);
    kinds.add(ca.type === 'text' ? 'text' : `${ca.method}:${ca.hash.algo}`);
    const base = storePath.slice(storePath.lastIndexOf('/') + 1);
    const refs = (field(text, 'References') ?? '').split(' ').filter(Boolean);
    t.is(contentAddressedStorePath(ca, base.slice(33), '/nix/store', refs, base), storePath, storePath);
    // …and any change to the name, the references or the store dir breaks it.
    t.not(contentAddressedStorePath(ca, `${base.slice(33)}x`, '/nix/store', refs, base).slice(11, 43), base.slice(0, 32));
    t.not(contentAddressedStorePath(ca, base.slice(33), '/gnu/store', refs, base).slice(11, 43), base.slice(0, 32));
  }
  t.log('kinds of CA seen:', [...kinds].join(', '));
});

test('a fixed CA other than recursive sha256 cannot have references (Nix 2.8 aborts; narsign: ERR_CA_NOT_COMPUTABLE)', (t) => {
  const ca = parseContentAddress(field(fixture('F4').text, 'CA')!); // fixed:r:sha1
  t.is(code(() => contentAddressedStorePath(ca, 'x', '/nix/store', ['563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56'])), 'ERR_CA_NOT_COMPUTABLE');
  // A self-reference alone is dropped in that branch, so it still computes (Nix 2.8 accepted F4 with one).
  const f4 = '/nix/store/k20pahypzvr49fy82cw5sx72hdfg3qcr-texlive-hyphenex-37354';
  const self = 'k20pahypzvr49fy82cw5sx72hdfg3qcr-texlive-hyphenex-37354';
  t.is(contentAddressedStorePath(ca, 'texlive-hyphenex-37354', '/nix/store', [self], self), f4);
  t.is(code(() => makeTextPath('/nix/store', 'x', digestOf('sha1', ''))), 'ERR_CA_NOT_COMPUTABLE');
});

test('content addresses: parse as Nix does, write as Nix writes', (t) => {
  const sha1 = '1ak1ymbmsfx7z8kh09jzkr3a4dvkrfjw';
  const ca = parseContentAddress(`fixed:r:sha1:${sha1}`);
  t.deepEqual({ type: ca.type, method: ca.type === 'fixed' ? ca.method : undefined, algo: ca.hash.algo }, { type: 'fixed', method: 'recursive', algo: 'sha1' });
  const hex = ca.hash.digest.toString('hex');
  // base16 and padded base64 hashes are accepted and written back in nix32
  t.is(formatContentAddress(parseContentAddress(`fixed:r:sha1:${hex}`)), `fixed:r:sha1:${sha1}`);
  t.is(formatContentAddress(parseContentAddress(`fixed:sha1:${ca.hash.digest.toString('base64')}`)), `fixed:sha1:${sha1}`);
  t.is(parseContentAddress(`text:sha256:${'0'.repeat(52)}`).type, 'text');
  // Nix's refusals (its messages checked by the interop suite)
  t.is(code(() => parseContentAddress('garbage')), 'ERR_CA_INVALID');
  t.is(code(() => parseContentAddress('foo:sha256:abc')), 'ERR_CA_INVALID');
  t.is(code(() => parseContentAddress(`text:sha1:${sha1}`)), 'ERR_CA_INVALID');
  t.is(code(() => parseContentAddress(`fixed:r:sha1-${ca.hash.digest.toString('base64')}`)), 'ERR_CA_INVALID'); // no SRI
  t.is(code(() => parseContentAddress(`fixed:crc:${sha1}`)), 'ERR_HASH_UNKNOWN_ALGORITHM');
  t.is(code(() => parseContentAddress(`fixed:sha1:${sha1}x`)), 'ERR_HASH_WRONG_LENGTH');
});

test('base names: every reference in the corpus is valid', (t) => {
  let n = 0;
  for (const text of corpus()) {
    for (const ref of (field(text, 'References') ?? '').split(' ').filter(Boolean)) {
      n++;
      if (!isStorePathBaseName(ref)) t.fail(ref);
    }
  }
  t.true(n > 5000);
  t.pass();
});

test('base names: Nix 2.8\'s refusals and narsign\'s two extra ones', (t) => {
  const h = '563528481rvhc5kxwipjmg6rqrl95mdx';
  const cases: Array<[string, string]> = [
    [`${h}-glibc-2.33-56`, 'no error'],
    [`${h}-${'a'.repeat(211)}`, 'no error'],
    [`${h}-.envrc`, 'no error'],
    [`${h}-a+b-c.d_e?f=g`, 'no error'],
    ['foo', 'ERR_STORE_PATH_TOO_SHORT'],
    ['', 'ERR_STORE_PATH_TOO_SHORT'],
    [h, 'ERR_STORE_PATH_TOO_SHORT'],
    [`t${h.slice(1)}-foo`, 'ERR_STORE_PATH_HASH_INVALID'],
    [`A${h.slice(1)}-foo`, 'ERR_STORE_PATH_HASH_INVALID'],
    [`${h}-`, 'ERR_STORE_PATH_NAME_INVALID'], // empty name
    [`${h}-${'a'.repeat(212)}`, 'ERR_STORE_PATH_NAME_INVALID'],
    [`${h}-a b`, 'ERR_STORE_PATH_NAME_INVALID'],
    [`${h}-a\tb`, 'ERR_STORE_PATH_NAME_INVALID'],
    [`${h}-a/b`, 'ERR_STORE_PATH_NAME_INVALID'],
    [`${h}-é`, 'ERR_STORE_PATH_NAME_INVALID'],
    [`${h}-x\r`, 'ERR_STORE_PATH_NAME_INVALID'],
    // narsign only (Nix 2.8 accepts these; later Nix refuses the dot names):
    [`${h}Xfoo`, 'ERR_STORE_PATH_SEPARATOR'],
    [`${h}-.`, 'ERR_STORE_PATH_NAME_RESERVED'],
    [`${h}-..`, 'ERR_STORE_PATH_NAME_RESERVED'],
    [`${h}-.-x`, 'ERR_STORE_PATH_NAME_RESERVED'],
    [`${h}-..-x`, 'ERR_STORE_PATH_NAME_RESERVED'],
    [`${h}-...`, 'no error'],
  ];
  for (const [base, expected] of cases) t.is(code(() => parseStorePathBaseName(base)), expected, JSON.stringify(base));
  t.deepEqual(parseStorePathBaseName(`${h}-glibc-2.33-56`), { hashPart: h, name: 'glibc-2.33-56', baseName: `${h}-glibc-2.33-56` });
});

test('canonicalizePath is Nix\'s canonPath (no symlinks)', (t) => {
  const cases: Array<[string, string]> = [
    ['/nix/store/x', '/nix/store/x'],
    ['/nix//store/./x/', '/nix/store/x'],
    ['/nix/store/../store/x', '/nix/store/x'],
    ['/../nix/store/x', '/nix/store/x'],
    ['/', '/'],
    ['//', '/'],
    ['/a/.b/..c', '/a/.b/..c'],
    ['/a/b/..', '/a'],
  ];
  for (const [input, expected] of cases) t.is(canonicalizePath(input), expected, input);
  t.is(code(() => canonicalizePath('nix/store/x')), 'ERR_STORE_PATH_NOT_ABSOLUTE');
  t.is(code(() => canonicalizePath('')), 'ERR_STORE_PATH_NOT_ABSOLUTE');
});

test('parseStorePath: store dir from the path, or checked against a given one', (t) => {
  const p = '/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10';
  t.deepEqual(parseStorePath(p), {
    storeDir: '/nix/store',
    hashPart: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553',
    name: 'hello-2.10',
    baseName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10',
    path: p,
  });
  t.is(parseStorePath('/nix//store/./xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10/').path, p);
  t.is(parseStorePath('/gnu/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10').storeDir, '/gnu/store');
  t.is(parseStorePath(p, '/nix/store/').path, p);
  t.is(code(() => parseStorePath(p, '/gnu/store')), 'ERR_STORE_PATH_NOT_IN_STORE');
  t.is(code(() => parseStorePath('/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10/bin/hello', '/nix/store')), 'ERR_STORE_PATH_NOT_IN_STORE');
  t.is(code(() => parseStorePath('nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10')), 'ERR_STORE_PATH_NOT_ABSOLUTE');
  t.true(isStorePath(p));
  t.false(isStorePath(`${p} `));
});

test('compressHash XOR-folds (Nix\'s compressHash)', (t) => {
  const digest = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
  const folded = compressHash(digest, 20);
  for (let i = 0; i < 20; i++) t.is(folded[i], i < 12 ? (i + 1) ^ (i + 21) : i + 1);
});

test('storePathBaseNameProblem checks a range of a longer string in place', (t) => {
  const line = 'References: 563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56 t63528481rvhc5kxwipjmg6rqrl95mdx-foo';
  t.is(storePathBaseNameProblem(line, 12, 58), undefined);
  t.is(storePathBaseNameProblem(line, 59)?.code, 'ERR_STORE_PATH_HASH_INVALID');
  t.is(storePathBaseNameProblem(line, 12, 57 + 20)?.code, 'ERR_STORE_PATH_NAME_INVALID'); // runs into the space
  t.is(storePathBaseNameProblem(line, 12, 40)?.code, 'ERR_STORE_PATH_TOO_SHORT');
  t.regex(storePathBaseNameProblem(line, 59)!.message, /^store path 't63528481rvhc5kxwipjmg6rqrl95mdx-foo' contains illegal base-32 character 't'$/);
});
