/**
 * Nix base-32. Oracles: digests from node:crypto with their nix32 spelling as printed by real
 * `nix hash to-base32` (Nix 2.8.0), the fixtures (F3 writes its NarHash in base16, its stated
 * fingerprint in nix32), and an independent BigInt reading of the encoding's definition.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { decodeNix32, encodeNix32, nix32Length, NIX32_ALPHABET } from '../lib/base32';
import { NarsignError } from '../lib/errors';
import { fixture } from './helpers/vectors';
import { errorCode } from './helpers/error-code';

// `nix hash to-base32 --type ALGO HEX` with nix (Nix) 2.8.0, HEX from node:crypto below.
const NIX_PRINTED: Array<{ algo: string; data: string; nix32: string }> = [
  { algo: 'md5', data: 'hello', nix32: '4jqlbi14cxf6wpcajbphm40hax' },
  { algo: 'sha1', data: 'hello', nix32: '9m1skbnr5i43n3yypvda5s65vhfwdx5a' },
  { algo: 'sha256', data: 'hello', nix32: '094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic' },
  { algo: 'sha256', data: '', nix32: '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73' },
  {
    algo: 'sha512',
    data: 'hello',
    nix32: '11w1pmwfdpz9pisbhp5qiv38q6dmidq2ipcqykw3p0sb6yrqcij79rwcwcjbxyzwbdal349qbxrncbk7pmd6snljrfpiwv2pljd4wcv',
  },
];

/** The definition, independently: the bytes as one little-endian number, 5-bit digits most significant first. */
function referenceEncode(bytes: Uint8Array): string {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  const length = bytes.length === 0 ? 0 : Math.floor((bytes.length * 8 - 1) / 5) + 1;
  let out = '';
  for (let k = length - 1; k >= 0; k--) out += NIX32_ALPHABET[Number((n >> BigInt(5 * k)) & 31n)];
  return out;
}

const code = errorCode;

test('the alphabet is Nix\'s: no e, o, u, t', (t) => {
  t.is(NIX32_ALPHABET, '0123456789abcdfghijklmnpqrsvwxyz');
});

test('lengths: 52 for sha256, 32 for the 20-byte store path hash, 26/103 for md5/sha512', (t) => {
  t.is(nix32Length(32), 52);
  t.is(nix32Length(20), 32);
  t.is(nix32Length(16), 26);
  t.is(nix32Length(64), 103);
});

for (const v of NIX_PRINTED) {
  test(`${v.algo}(${JSON.stringify(v.data)}) encodes as real Nix prints it, and back`, (t) => {
    const digest = crypto.createHash(v.algo).update(v.data).digest();
    t.is(encodeNix32(digest), v.nix32);
    t.deepEqual(decodeNix32(v.nix32), digest);
    t.deepEqual(decodeNix32(v.nix32, digest.length), digest);
  });
}

test('F3: the base16 NarHash in the file is the nix32 one in its stated fingerprint', (t) => {
  const f3 = fixture('F3');
  const hex = /^NarHash: sha256:([0-9a-f]{64})$/m.exec(f3.text)![1];
  const nix32 = /;sha256:([0-9a-z]{52});/.exec(f3.fingerprint)![1];
  t.is(encodeNix32(Buffer.from(hex, 'hex')), nix32);
  t.is(decodeNix32(nix32).toString('hex'), hex);
});

test('characters outside the alphabet are refused: e o u t, upper case, punctuation', (t) => {
  const good = '094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic';
  for (const bad of ['e', 'o', 'u', 't', 'A', 'Z', '-', ' ', 'é']) {
    const text = bad + good.slice(1);
    t.is(code(() => decodeNix32(text)), 'ERR_NIX32_CHARACTER', JSON.stringify(text));
    const text2 = good.slice(0, 30) + bad + good.slice(31);
    t.is(code(() => decodeNix32(text2)), 'ERR_NIX32_CHARACTER', JSON.stringify(text2));
  }
});

test('a sha256 whose first character is above 1 sets bits beyond 256 and is refused, as Nix does', (t) => {
  const good = '094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic';
  t.notThrows(() => decodeNix32(`1${good.slice(1)}`));
  for (const first of NIX32_ALPHABET.slice(2)) {
    t.is(code(() => decodeNix32(first + good.slice(1))), 'ERR_NIX32_TRAILING_BITS', first);
  }
  // md5: 26 chars = 130 bits, so the first char must be below 8 (2 spare bits).
  t.notThrows(() => decodeNix32(`7${'0'.repeat(25)}`));
  t.is(code(() => decodeNix32(`8${'0'.repeat(25)}`)), 'ERR_NIX32_TRAILING_BITS');
});

test('lengths that no byte count encodes to are refused', (t) => {
  t.is(code(() => decodeNix32('abc')), 'ERR_NIX32_LENGTH');
  t.is(code(() => decodeNix32('0'.repeat(51), 32)), 'ERR_NIX32_LENGTH');
  t.is(code(() => decodeNix32('0'.repeat(54))), 'ERR_NIX32_LENGTH'); // 53 would be 33 bytes
  t.deepEqual(decodeNix32(''), Buffer.alloc(0));
});

test('non-strings and non-bytes are TypeErrors', (t) => {
  t.throws(() => decodeNix32(42 as unknown as string), { instanceOf: TypeError });
  t.throws(() => encodeNix32('abc' as unknown as Uint8Array), { instanceOf: TypeError });
});

test('property: encoding matches the BigInt definition, and decoding inverts it (any length)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
      const text = encodeNix32(bytes);
      t.is(text, referenceEncode(bytes));
      t.deepEqual(new Uint8Array(decodeNix32(text, bytes.length)), bytes);
      t.deepEqual(new Uint8Array(decodeNix32(text)), bytes);
    }),
    { numRuns: 500 },
  );
});

test('property: every accepted 52-character string re-encodes to itself (one spelling per digest)', (t) => {
  const digit = fc.constantFrom(...NIX32_ALPHABET.split(''));
  fc.assert(
    fc.property(fc.array(digit, { minLength: 52, maxLength: 52 }), (chars) => {
      const text = chars.join('');
      let decoded: Buffer | undefined;
      try {
        decoded = decodeNix32(text);
      } catch (error) {
        // Only the spare-bits rule may refuse an all-alphabet string of the right length.
        t.is((error as NarsignError).code, 'ERR_NIX32_TRAILING_BITS');
        t.true(text[0] > '1');
        return;
      }
      t.true(text[0] <= '1');
      t.is(encodeNix32(decoded), text);
    }),
    { numRuns: 500 },
  );
});
