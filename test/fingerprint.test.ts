/**
 * The fingerprint. Oracles: the fingerprint each fixture states (computed by the vectors' authors
 * and cross-checked with Nix 2.8), the messages of key-vectors.txt sections B and C (signed by
 * go-nix's test key and by real Nix 2.8, over fixtures F1, X1 and F5), cache.nixos.org-1's
 * signatures on all 978 corpus narinfos (a signature over a fingerprint is valid only if the
 * fingerprint is byte-exact), and Nix's error for a NarSize of 0.
 */
import test from 'ava';
import { decodeNixBase64 } from '../lib/base64';
import { verifyDetached } from '../lib/ed25519';
import { NarsignError } from '../lib/errors';
import { fingerprint } from '../lib/fingerprint';
import { parseHash } from '../lib/hash';
import { parseNarinfo } from '../lib/narinfo';
import { parsePublicKey } from '../lib/keys';
import { bigNarinfo, CACHE_NIXOS_ORG_KEY, corpus, fixture, fixtures, keyVectors } from './helpers/vectors';

const cacheKey = parsePublicKey(CACHE_NIXOS_ORG_KEY).key;
const sigBytes = (sig: string) => decodeNixBase64(sig.slice(sig.indexOf(':') + 1));

test('every fixture\'s fingerprint is the one it states', (t) => {
  for (const f of fixtures()) {
    t.truthy(f.fingerprint, f.id);
    t.is(fingerprint(parseNarinfo(f.text)), f.fingerprint, f.id);
  }
});

test('key-vectors B and C: the signed messages are the fingerprints of F1, X1 and F5', (t) => {
  const messages = keyVectors()
    .filter((v) => v.section === 'B' || v.section === 'C')
    .flatMap((v) => v.signed.map((s) => s.message));
  const ours = ['F1', 'X1', 'F5'].map((id) => fingerprint(parseNarinfo(fixture(id).text)));
  for (const m of messages) t.true(ours.includes(m), m.slice(0, 60));
  t.is(new Set(messages).size, 3);
});

test('cache.nixos.org-1 signed exactly these bytes: all 978 corpus narinfos and the big one', (t) => {
  let valid = 0;
  const texts = [...corpus(), bigNarinfo()];
  for (const text of texts) {
    const info = parseNarinfo(text);
    const sig = info.sigs.find((s) => s.startsWith('cache.nixos.org-1:'))!;
    if (verifyDetached(cacheKey, sigBytes(sig), fingerprint(info))) valid++;
  }
  t.is(valid, texts.length);
});

test('references: sorted, de-duplicated, full paths; none → trailing ";"', (t) => {
  const f6 = parseNarinfo(fixture('F6').text);
  const [a, b] = f6.references;
  const base = { storePath: f6.storePath, narHash: f6.narHash, narSize: f6.narSize };
  const expected = fixture('F6').fingerprint;
  t.is(fingerprint({ ...base, references: [b, a, b] }), expected);
  t.is(fingerprint({ ...base, references: [`/nix/store/${b}`, a] }), expected);
  t.true(fingerprint({ ...base, references: [] }).endsWith(';206104;'));
});

test('the NarHash is re-encoded whatever its spelling; other algorithms keep their name, as Nix does', (t) => {
  const f3 = fixture('F3');
  const info = parseNarinfo(f3.text);
  const base = { storePath: info.storePath, narSize: info.narSize, references: info.references };
  t.is(fingerprint({ ...base, narHash: 'sha256:60adfd293a4d81ad7cd7e47263cbb3fc846309ef91b154a08ba672b558f94ff3' }), f3.fingerprint);
  const sri = `sha256-${Buffer.from('60adfd293a4d81ad7cd7e47263cbb3fc846309ef91b154a08ba672b558f94ff3', 'hex').toString('base64')}`;
  t.is(fingerprint({ ...base, narHash: sri }), f3.fingerprint);
  // ValidPathInfo::fingerprint prints narHash.to_string(Base32, true): the algorithm stays.
  const md5 = fingerprint({ ...base, narHash: 'md5:5d41402abc4b2a76b9719d911017c592' });
  t.is(md5.split(';')[2], 'md5:4jqlbi14cxf6wpcajbphm40hax'); // `nix hash to-base32 --type md5`, Nix 2.8
  t.is(fingerprint({ ...base, narHash: parseHash('sha256:1wsgz5cbawm6ifh59ccixw4n717wng5n6wp4sxyav0ad78lzvbb0') }), f3.fingerprint);
});

test('NarSize 0 is Nix\'s "size is not known"; a bigint NarSize is fine', (t) => {
  const info = parseNarinfo(fixture('F6').text);
  const error = t.throws(() => fingerprint({ ...info, narSize: 0 }), { instanceOf: NarsignError }) as NarsignError;
  t.is(error.code, 'ERR_FINGERPRINT_NAR_SIZE');
  t.is(error.message, "cannot calculate fingerprint of path '/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10' because its size is not known");
  t.is(fingerprint({ ...info, narSize: 206104n }), fixture('F6').fingerprint);
  t.true(fingerprint({ ...info, narSize: (1n << 64n) - 1n }).includes(';18446744073709551615;'));
  t.throws(() => fingerprint({ ...info, narSize: 1n << 64n }), { instanceOf: TypeError });
  t.throws(() => fingerprint({ ...info, narSize: -1 }), { instanceOf: TypeError });
  t.throws(() => fingerprint({ ...info, narSize: 1.5 }), { instanceOf: TypeError });
});

test('the store dir is the StorePath\'s (or the given one), never assumed', (t) => {
  const info = parseNarinfo(fixture('F6').text.replace(/\/nix\/store\//g, '/gnu/store/'));
  t.is(fingerprint(info), fixture('F6').fingerprint.replace(/\/nix\/store\//g, '/gnu/store/'));
  t.throws(() => fingerprint({ ...info, storeDir: '/nix/store' }), { instanceOf: NarsignError, code: 'ERR_STORE_PATH_NOT_IN_STORE' } as never);
  t.throws(() => fingerprint({ ...info, references: ['/nix/store/563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56'] }), {
    instanceOf: NarsignError,
    code: 'ERR_STORE_PATH_NOT_IN_STORE',
  } as never);
});

test('invalid input: bad references and paths are NarsignErrors, wrong types TypeErrors', (t) => {
  const info = parseNarinfo(fixture('F6').text);
  t.throws(() => fingerprint({ ...info, references: ['foo'] }), { instanceOf: NarsignError, code: 'ERR_STORE_PATH_TOO_SHORT' } as never);
  t.throws(() => fingerprint({ ...info, storePath: 'nix/store/x' }), { instanceOf: NarsignError, code: 'ERR_STORE_PATH_NOT_ABSOLUTE' } as never);
  t.throws(() => fingerprint({ ...info, narHash: 'nope' }), { instanceOf: NarsignError, code: 'ERR_HASH_MISSING_ALGORITHM' } as never);
  t.throws(() => fingerprint(null as never), { instanceOf: TypeError });
  t.throws(() => fingerprint({ ...info, references: 'a b' as never }), { instanceOf: TypeError });
});

test('the fast path for parsed narinfos and the checking path for plain objects agree (all 978 + big + fixtures)', (t) => {
  for (const text of [...corpus(), bigNarinfo(), ...fixtures().map((f) => f.text)]) {
    const info = parseNarinfo(text);
    const plain = { ...info, references: [...info.references].reverse() };
    t.is(fingerprint(plain), fingerprint(info));
  }
});
