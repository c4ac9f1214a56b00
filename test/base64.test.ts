/**
 * lib/base64.ts against RFC 4648's vectors, Node's own base64 (an independent implementation) and
 * the lax rules of Nix 2.8's decoder (which test/interop/keys-nix.test.ts checks against real Nix).
 */
import test from 'ava';
import fc from 'fast-check';
import { decodeNixBase64, encodeBase64 } from '../lib/base64';
import { NarsignError } from '../lib/errors';

// RFC 4648 section 10.
const RFC4648: Array<[string, string]> = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

test('encodeBase64 writes RFC 4648 padded base64', (t) => {
  for (const [plain, encoded] of RFC4648) t.is(encodeBase64(Buffer.from(plain)), encoded);
});

test('encodeBase64 takes any ArrayBufferView, honouring offset and length', (t) => {
  const backing = Buffer.from('xxfoobarxx');
  t.is(encodeBase64(new Uint8Array(backing.buffer, backing.byteOffset + 2, 6)), 'Zm9vYmFy');
  t.is(encodeBase64(new DataView(backing.buffer, backing.byteOffset + 2, 3)), 'Zm9v');
  t.throws(() => encodeBase64('foo' as unknown as Uint8Array), { instanceOf: TypeError });
});

test('decodeNixBase64 decodes RFC 4648 vectors, with or without padding', (t) => {
  for (const [plain, encoded] of RFC4648) {
    t.is(decodeNixBase64(encoded).toString(), plain);
    t.is(decodeNixBase64(encoded.replace(/=+$/, '')).toString(), plain);
  }
});

test('decodeNixBase64 skips newlines anywhere', (t) => {
  t.is(decodeNixBase64('Zm9v\nYmFy\n').toString(), 'foobar');
  t.is(decodeNixBase64('\n\nZ\nm\n9\nv\n').toString(), 'foo');
});

test('decodeNixBase64 stops at the first "=" and never reads what follows', (t) => {
  t.is(decodeNixBase64('Zg==junk').toString(), 'f');
  t.is(decodeNixBase64('Zg==\r\n').toString(), 'f');
  t.is(decodeNixBase64('Zg=!@# not base64 at all').toString(), 'f');
  t.is(decodeNixBase64('=Zm9v').length, 0);
});

test('decodeNixBase64 drops the bits of an incomplete final group without checking them', (t) => {
  t.is(decodeNixBase64('Z').length, 0);
  // "Zh" = 011001 100001: the first 8 bits are 'f'; the leftover 0001 is ignored, as Nix does.
  t.deepEqual(decodeNixBase64('Zh'), Buffer.from('f'));
  t.deepEqual(decodeNixBase64('Zm9'), Buffer.from('fo'));
});

test('decodeNixBase64 refuses any other character outside the alphabet, naming it and its offset', (t) => {
  const cases: Array<[string, number, RegExp]> = [
    ['Zm9v ', 4, /space/],
    ['Zm9v\r\n', 4, /carriage return/],
    ['Zm\t9v', 2, /tab/],
    ['a:b', 1, /':'/],
    ['Zm9v-_', 4, /'-'/], // base64url is not accepted
    ['Zm9vé', 4, /U\+00E9/],
    ['Zm9v\u0000', 4, /U\+0000/],
    ['Zm9v\u2028', 4, /U\+2028/],
  ];
  for (const [input, offset, char] of cases) {
    const error = t.throws(() => decodeNixBase64(input), { instanceOf: NarsignError });
    t.is(error?.code, 'ERR_BASE64_INVALID');
    t.regex(error?.message ?? '', /^invalid character in Base64 string: /);
    t.regex(error?.message ?? '', char);
    t.true(error?.message.endsWith(`at offset ${offset}`), error?.message);
  }
});

test('decodeNixBase64 refuses a non-string with a TypeError', (t) => {
  const error = t.throws(() => decodeNixBase64(Buffer.from('Zm9v') as unknown as string), { instanceOf: TypeError });
  t.is((error as TypeError & { code: string }).code, 'ERR_INVALID_ARG_TYPE');
});

test('decodeNixBase64 returns a buffer of its own (wiping it touches nothing else)', (t) => {
  const a = decodeNixBase64('Zm9vYmFy');
  const b = decodeNixBase64('Zm9vYmFy');
  a.fill(0);
  t.is(b.toString(), 'foobar');
  t.is(a.byteOffset, 0); // not a slice of Node's shared allocation pool
});

test('property: decodeNixBase64 inverts Node\'s base64, padded or not, with newlines sprinkled in', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
      const padded = Buffer.from(bytes).toString('base64');
      const unpadded = padded.replace(/=+$/, '');
      let sprinkled = unpadded;
      for (const cut of cuts) {
        const at = cut % (sprinkled.length + 1);
        sprinkled = `${sprinkled.slice(0, at)}\n${sprinkled.slice(at)}`;
      }
      for (const text of [padded, unpadded, sprinkled]) {
        if (!Buffer.from(bytes).equals(decodeNixBase64(text))) return false;
      }
      return true;
    }),
  );
  t.pass();
});

test('property: encodeBase64 agrees with Node for any bytes', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => encodeBase64(bytes) === Buffer.from(bytes).toString('base64')));
  t.pass();
});
