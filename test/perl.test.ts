/**
 * lib/perl.ts (`narsign/perl`), the functions of Nix's removed Perl bindings. Oracles: the key
 * vectors (signatures made by real Nix and by RFC 8032), node:crypto, the fixtures' fingerprints
 * and cache.nixos.org-1's real signatures.
 */
import test from 'ava';
import { inspect } from 'node:util';
import { checkSignature, fingerprintPath, signString } from '../lib/perl';
import { NarsignError } from '../lib/errors';
import { CACHE_NIXOS_ORG_KEY, fixture, fixtures, keyVectors } from './helpers/vectors';
import { nodeSign, splitNixString } from './helpers/oracles';

const vectors = keyVectors();
const vector = (section: string) => vectors.find((v) => v.section === section)!;
const rawSecret = (section: string): Buffer => splitNixString(vector(section).secretKey!).bytes;
const rawPublic = (section: string): Buffer => splitNixString(vector(section).publicKey!).bytes;
const messageOf = (m: { message: string; messageHex?: string }): Buffer => (m.messageHex ? Buffer.from(m.messageHex, 'hex') : Buffer.from(m.message, 'utf8'));

function expectError(t: import('ava').ExecutionContext, fn: () => unknown, code: string, message?: string): NarsignError {
  const error = t.throws(fn, { instanceOf: NarsignError });
  t.is(error?.code, code, error?.message);
  if (message !== undefined) t.is(error?.message, message);
  return error as NarsignError;
}

test('signString with a raw 64-byte key returns the raw signature (2015 Store.xs), as the vectors and node:crypto', (t) => {
  let checked = 0;
  for (const v of vectors.filter((x) => x.secretKey)) {
    const raw = rawSecret(v.section);
    for (const m of v.signed.filter((s) => s.signature.startsWith(`${splitNixString(v.secretKey!).name}:`))) {
      const sig = signString(raw, messageOf(m));
      t.true(Buffer.isBuffer(sig));
      t.deepEqual(sig, splitNixString(m.signature).bytes, `${v.section}`);
      checked++;
    }
    const own = 'a message of our own';
    t.deepEqual(signString(raw, own), nodeSign(raw.subarray(0, 32), Buffer.from(own)));
    t.deepEqual(signString(new Uint8Array(raw), Buffer.from(own)), nodeSign(raw.subarray(0, 32), Buffer.from(own)));
  }
  t.true(checked >= 8);
});

test('signString with a NAME:BASE64 key string returns NAME:BASE64SIG (Nix 1.9–2.34), as the vectors', (t) => {
  let checked = 0;
  for (const v of vectors.filter((x) => x.secretKey)) {
    for (const m of v.signed.filter((s) => s.signature.startsWith(`${splitNixString(v.secretKey!).name}:`))) {
      t.is(signString(v.secretKey!, m.messageHex ? Buffer.from(m.messageHex, 'hex') : m.message), m.signature, v.section);
      // A key read from a file keeps its newline; that works (Nix's decoder skips it).
      t.is(signString(`${v.secretKey!}\n`, messageOf(m)), m.signature);
      checked++;
    }
  }
  t.true(checked >= 8);
});

test('strings are signed as UTF-8', (t) => {
  const raw = rawSecret('H');
  t.deepEqual(signString(raw, 'grüße, 世界'), nodeSign(raw.subarray(0, 32), Buffer.from('grüße, 世界', 'utf8')));
});

test("signString refuses bad keys with Store.xs's exact messages", (t) => {
  const raw = rawSecret('C');
  expectError(t, () => signString(raw.subarray(0, 63), 'm'), 'ERR_SECRET_KEY_INVALID', 'secret key is not valid');
  expectError(t, () => signString(Buffer.concat([raw, Buffer.alloc(1)]), 'm'), 'ERR_SECRET_KEY_INVALID', 'secret key is not valid');
  const wrongLength = expectError(t, () => signString(vector('C').publicKey!, 'm'), 'ERR_SECRET_KEY_INVALID', 'secret key is not valid');
  t.regex(String((wrongLength.cause as Error).message), /decodes to 32 bytes/, 'the details are kept in cause');
  expectError(t, () => signString(':abc', 'm'), 'ERR_KEY_CORRUPT', 'secret key is corrupt');
  expectError(t, () => signString('no colon', 'm'), 'ERR_KEY_CORRUPT', 'secret key is corrupt');
  // narsign's own refusals keep narsign's messages.
  const [name, payload] = vector('C').secretKey!.split(':');
  expectError(t, () => signString(`${name}:${payload.slice(0, 10)} ${payload.slice(10)}`, 'm'), 'ERR_BASE64_INVALID');
  expectError(t, () => signString(`a b:${payload}`, 'm'), 'ERR_KEY_NAME_INVALID');
  const mismatched = Buffer.concat([raw.subarray(0, 32), Buffer.alloc(32, 1)]).toString('base64');
  expectError(t, () => signString(`${name}:${mismatched}`, 'm'), 'ERR_SECRET_KEY_MISMATCH');
  t.throws(() => signString(42 as unknown as string, 'm'), { instanceOf: TypeError });
  t.throws(() => signString(raw, 42 as unknown as string), { instanceOf: TypeError });
});

test('checkSignature: raw key, raw signature, message → boolean', (t) => {
  for (const v of vectors.filter((x) => x.publicKey)) {
    const pk = rawPublic(v.section);
    const keyName = splitNixString(v.publicKey!).name;
    for (const m of v.signed.filter((s) => s.signature.startsWith(`${keyName}:`))) {
      const sig = splitNixString(m.signature).bytes;
      t.true(checkSignature(pk, sig, messageOf(m)), v.section);
      if (!m.messageHex) t.true(checkSignature(pk, sig, m.message));
      const flipped = Buffer.from(sig);
      flipped[10] ^= 1;
      t.false(checkSignature(pk, flipped, messageOf(m)));
      t.false(checkSignature(pk, sig, Buffer.concat([messageOf(m), Buffer.from('x')])));
    }
  }
});

test("checkSignature refuses wrong lengths with Store.xs's exact messages, public key first", (t) => {
  const pk = rawPublic('B');
  const sig = splitNixString(vector('B').signed[0].signature).bytes;
  expectError(t, () => checkSignature(pk.subarray(1), sig, 'm'), 'ERR_PUBLIC_KEY_INVALID', 'public key is not valid');
  expectError(t, () => checkSignature(pk, sig.subarray(1), 'm'), 'ERR_SIGNATURE_INVALID', 'signature is not valid');
  expectError(t, () => checkSignature(Buffer.alloc(33), Buffer.alloc(65), 'm'), 'ERR_PUBLIC_KEY_INVALID', 'public key is not valid');
  t.throws(() => checkSignature(vector('B').publicKey! as unknown as Buffer, sig, 'm'), { instanceOf: TypeError });
});

test('a message with a NUL byte is refused (the XS code would have signed only the part before it)', (t) => {
  const raw = rawSecret('C');
  expectError(t, () => signString(raw, 'a\0b'), 'ERR_MESSAGE_CONTAINS_NUL');
  expectError(t, () => signString(vector('C').secretKey!, Buffer.from([65, 0, 66])), 'ERR_MESSAGE_CONTAINS_NUL');
  expectError(t, () => checkSignature(rawPublic('C'), Buffer.alloc(64), 'a\0'), 'ERR_MESSAGE_CONTAINS_NUL');
});

/** The fields fingerprintPath needs, from a fixture narinfo. */
function fieldsOf(text: string): { storePath: string; narHash: string; narSize: string; refs: string[] } {
  const get = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
  return {
    storePath: get('StorePath')!,
    narHash: get('NarHash')!,
    narSize: get('NarSize')!,
    refs: (get('References') ?? '').split(' ').filter((r) => r.length > 0),
  };
}

test("fingerprintPath gives the fixtures' fingerprints from sorted full references (base16 NarHash converted)", (t) => {
  const withFingerprint = fixtures().filter((f) => f.fingerprint);
  t.true(withFingerprint.length >= 8);
  for (const f of withFingerprint) {
    const { storePath, narHash, narSize, refs } = fieldsOf(f.text);
    const full = refs.map((r) => `/nix/store/${r}`).sort();
    t.is(fingerprintPath(storePath, narHash, narSize, full), f.fingerprint, f.id);
  }
  t.regex(fieldsOf(fixture('F3').text).narHash, /^sha256:[0-9a-f]{64}$/, 'F3 exercises the base16 conversion');
});

test('fingerprintPath keeps references in the order given (F5: the signature covers the as-written order)', (t) => {
  const f5 = fixture('F5');
  const { storePath, narHash, narSize, refs } = fieldsOf(f5.text);
  const asWritten = fingerprintPath(storePath, narHash, narSize, refs.map((r) => `/nix/store/${r}`));
  t.not(asWritten, f5.fingerprint);
  t.is(asWritten.split(';')[4].split(',')[0], `/nix/store/${refs[0]}`);
  const sig = splitNixString(/^Sig: (.*)$/m.exec(f5.text)![1]).bytes;
  const cacheKey = splitNixString(CACHE_NIXOS_ORG_KEY).bytes;
  t.true(checkSignature(cacheKey, sig, asWritten));
  t.false(checkSignature(cacheKey, sig, f5.fingerprint));
});

test('fingerprintPath: the message the vectors sign (B/C) is its result', (t) => {
  const f1 = fixture('F1');
  const { storePath, narHash, narSize, refs } = fieldsOf(f1.text);
  t.is(fingerprintPath(storePath, narHash, BigInt(narSize), refs.map((r) => `/nix/store/${r}`).sort()), vector('B').signed[0].message);
  t.is(fingerprintPath(storePath, narHash, Number(narSize), refs.map((r) => `/nix/store/${r}`).sort()), vector('C').signed[0].message);
  t.is(fingerprintPath(storePath, narHash, 0, []), `1;${storePath};${narHash};0;`);
});

test("fingerprintPath's checks, each a coded error where the Perl just died", (t) => {
  const { storePath, narHash, narSize } = fieldsOf(fixture('F3').text);
  const nix32 = 'sha256:1wsgz5cbawm6ifh59ccixw4n717wng5n6wp4sxyav0ad78lzvbb0';
  expectError(t, () => fingerprintPath('/gnu/store/0vpqfxbkx0ffrnhbws6g9qwhmliksz7f-x', nix32, narSize, []), 'ERR_FINGERPRINT_PATH_OUTSIDE_STORE');
  expectError(t, () => fingerprintPath(storePath, 'sha512:abc', narSize, []), 'ERR_FINGERPRINT_HASH_NOT_SHA256');
  expectError(t, () => fingerprintPath(storePath, 'md5:0123456789abcdef0123456789abcdef', narSize, []), 'ERR_FINGERPRINT_HASH_NOT_SHA256');
  expectError(t, () => fingerprintPath(storePath, 'sha256-YK39KTpNga18195yY8uz/IRjCe+RsVSgi6ZytVj5T/M=', narSize, []), 'ERR_FINGERPRINT_HASH_NOT_SHA256');
  expectError(t, () => fingerprintPath(storePath, 'sha256:YK39KTpNga18195yY8uz/IRjCe+RsVSgi6ZytVj5T/M=', narSize, []), 'ERR_FINGERPRINT_HASH_LENGTH');
  expectError(t, () => fingerprintPath(storePath, `${nix32}0`, narSize, []), 'ERR_FINGERPRINT_HASH_LENGTH');
  expectError(t, () => fingerprintPath(storePath, narHash.replace('60ad', 'zzad'), narSize, []), 'ERR_HASH_INVALID_BASE16');
  const ref = expectError(t, () => fingerprintPath(storePath, nix32, narSize, [storePath, 'wy20zslqxzxxfpzzk0rajh41d7a6mlnf-perl-HTTP-Date-6.02']), 'ERR_FINGERPRINT_REFERENCE_OUTSIDE_STORE');
  t.regex(ref.message, /reference 2/);
  // Upper-case hex converts too (Nix accepts it).
  t.is(fingerprintPath(storePath, narHash.toUpperCase().replace('SHA256', 'sha256'), narSize, []), `1;${storePath};${nix32};${narSize};`);
});

test("fingerprintPath follows Manifest.pm to the letter: a plain prefix test, a 59-character hash passed through", (t) => {
  const hash = 'sha256:1wsgz5cbawm6ifh59ccixw4n717wng5n6wp4sxyav0ad78lzvbb0';
  t.is(fingerprintPath('/nix/storefoo', hash, 1, ['/nix/store']), `1;/nix/storefoo;${hash};1;/nix/store`);
  const odd = `sha256:${'E'.repeat(52)}`;
  t.is(fingerprintPath('/nix/store/x', odd, 1, []), `1;/nix/store/x;${odd};1;`);
});

test('fingerprintPath: the store dir comes from the option, else NIX_STORE_DIR, else /nix/store', (t) => {
  const hash = 'sha256:1wsgz5cbawm6ifh59ccixw4n717wng5n6wp4sxyav0ad78lzvbb0';
  t.is(fingerprintPath('/gnu/store/a', hash, 5, ['/gnu/store/b'], { storeDir: '/gnu/store' }), `1;/gnu/store/a;${hash};5;/gnu/store/b`);
  expectError(t, () => fingerprintPath('/nix/store/a', hash, 5, [], { storeDir: '/gnu/store' }), 'ERR_FINGERPRINT_PATH_OUTSIDE_STORE');
  const saved = process.env.NIX_STORE_DIR;
  try {
    process.env.NIX_STORE_DIR = '/opt/store';
    t.is(fingerprintPath('/opt/store/a', hash, 5, []), `1;/opt/store/a;${hash};5;`);
    expectError(t, () => fingerprintPath('/nix/store/a', hash, 5, []), 'ERR_FINGERPRINT_PATH_OUTSIDE_STORE');
  } finally {
    if (saved === undefined) delete process.env.NIX_STORE_DIR;
    else process.env.NIX_STORE_DIR = saved;
  }
});

test('fingerprintPath argument checks', (t) => {
  const hash = 'sha256:1wsgz5cbawm6ifh59ccixw4n717wng5n6wp4sxyav0ad78lzvbb0';
  for (const size of [-1, 1.5, Number.NaN, '12a', '', null, 2n ** 64n * -1n]) {
    t.throws(() => fingerprintPath('/nix/store/a', hash, size as unknown as number, []), { instanceOf: TypeError });
  }
  t.throws(() => fingerprintPath('/nix/store/a', hash, 1, '/nix/store/b' as unknown as string[]), { instanceOf: TypeError });
  t.throws(() => fingerprintPath('/nix/store/a', hash, 1, [1 as unknown as string]), { instanceOf: TypeError });
  t.throws(() => fingerprintPath(1 as unknown as string, hash, 1, []), { instanceOf: TypeError });
  t.is(fingerprintPath('/nix/store/a', hash, '18446744073709551615', []), `1;/nix/store/a;${hash};18446744073709551615;`);
});

test('errors from signString carry no fragment of the secret key, cause chain included', (t) => {
  const secret = vector('C').secretKey!;
  const [name, payload] = secret.split(':');
  const raw = rawSecret('C');
  const attempts: Array<() => unknown> = [
    () => signString(`${name}:${payload.replace(/=+$/, '')}AAAA`, 'm'),
    () => signString(`${name}:${payload.slice(0, 40)}`, 'm'),
    () => signString(payload, 'm'),
    () => signString(`${name}:${payload.slice(0, 30)}\r${payload.slice(30)}`, 'm'),
    () => signString(`${payload.slice(0, 20)} x:${payload}`, 'm'),
    () => signString(`${name}:${Buffer.concat([raw.subarray(0, 32), Buffer.alloc(32)]).toString('base64')}`, 'm'),
    () => signString(raw.subarray(0, 40), 'm'),
  ];
  const hex = raw.toString('hex');
  for (const attempt of attempts) {
    const error = t.throws(attempt);
    const shown = `${String(error)}\n${inspect(error, { depth: 5 })}`;
    for (let i = 0; i + 8 <= payload.replace(/=+$/, '').length; i++) t.false(shown.includes(payload.slice(i, i + 8)), shown);
    for (let i = 0; i + 8 <= hex.length; i++) t.false(shown.includes(hex.slice(i, i + 8)), shown);
  }
});
