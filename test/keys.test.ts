/**
 * lib/keys.ts. Oracles: the key vectors (sections A–H: published key pairs; section I: what real
 * Nix 2.8 did with each odd key string), node:crypto (public key of a seed), Node's base64.
 */
import test from 'ava';
import { inspect } from 'node:util';
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  parsePublicKey,
  parsePublicKeys,
  parseSecretKey,
  toPublicKey,
} from '../lib/keys';
import { NarsignError } from '../lib/errors';
import { keyEdgeCases, keyVectors } from './helpers/vectors';
import { nodePublicKeyOfSeed, splitNixString } from './helpers/oracles';

const MANUAL_SECRET = 'cache.example.org-0:E7lAO+MsPwTFfPXsdPtW8GKui/5ho4KQHVcAGnX+Tti1V4dUxoVoqLyWJ4YESuZJwQ67GVIksDt47og+tPVUZw==';
const MANUAL_PUBLIC = 'cache.example.org-0:tVeHVMaFaKi8lieGBErmScEOuxlSJLA7eO6IPrT1VGc=';

/** Every error a test provoked from secret material, for the leak scan at the end. */
const provoked: unknown[] = [];
function expectError(t: import('ava').ExecutionContext, fn: () => unknown, code: string): NarsignError {
  const error = t.throws(fn, { instanceOf: NarsignError });
  provoked.push(error);
  t.is(error?.code, code, error?.message);
  return error as NarsignError;
}

/** Nix's error text (as section I records it) → narsign's code for the same verdict. */
function codeOfNixMessage(message: string): string {
  if (message.includes('invalid character in Base64 string')) return 'ERR_BASE64_INVALID';
  if (message.includes('secret key is not valid')) return 'ERR_SECRET_KEY_INVALID';
  if (message.includes('key is corrupt')) return 'ERR_KEY_CORRUPT';
  throw new Error(`no narsign code for Nix message ${message}`);
}

/** Whether the stored public half of a secret key string matches its seed, by node:crypto. */
function halvesMatch(secretKeyText: string): boolean {
  const bytes = splitNixString(secretKeyText.trim()).bytes;
  return bytes.length === 64 && nodePublicKeyOfSeed(bytes.subarray(0, 32)).equals(bytes.subarray(32));
}

test('vectors A–H: every secret key parses, and its public half is the published public key', (t) => {
  const sections = keyVectors().filter((v) => v.secretKey);
  t.true(sections.length >= 8);
  for (const v of sections) {
    const secret = parseSecretKey(v.secretKey!);
    const expected = splitNixString(v.publicKey!);
    t.is(secret.name, expected.name, v.section);
    t.deepEqual(secret.publicKey, expected.bytes, v.section);
    t.deepEqual(secret.secretKey, splitNixString(v.secretKey!).bytes, v.section);
    t.deepEqual(nodePublicKeyOfSeed(secret.secretKey.subarray(0, 32)), expected.bytes, v.section);
    t.is(toPublicKey(v.secretKey!), v.publicKey!, v.section);
    const pub = parsePublicKey(v.publicKey!);
    t.is(pub.name, expected.name);
    t.deepEqual(pub.key, expected.bytes);
    // The vectors are canonical (padded) strings, so formatting gives them back.
    t.is(formatSecretKey(secret), v.secretKey!, v.section);
    t.is(formatPublicKey(pub), v.publicKey!, v.section);
  }
});

test('section I: every key string behaves as in Nix 2.8, except the three documented differences', (t) => {
  const cases = keyEdgeCases();
  t.is(cases.length, 12);
  const manual = splitNixString(MANUAL_PUBLIC);
  let differences = 0;
  for (const c of cases) {
    const label = `${JSON.stringify(c.input)}: Nix ${c.verdict}`;
    const trimmed = c.input.trim();
    if (c.nixAccepts && !halvesMatch(c.input)) {
      // Difference 3: Nix accepts a secret key whose public half isn't its seed's; narsign refuses.
      differences++;
      expectError(t, () => parseSecretKey(c.input), 'ERR_SECRET_KEY_MISMATCH');
    } else if (c.nixAccepts) {
      const key = parseSecretKey(c.input);
      t.deepEqual(key.publicKey, manual.bytes, label);
      if (trimmed !== c.input && c.input.trimStart() !== c.input) {
        // Difference 1: Nix keeps a leading space in the NAME; narsign trims it.
        differences++;
        t.is(key.name, 'cache.example.org-0', label);
      } else {
        t.is(key.name, manual.name, label);
      }
      t.is(toPublicKey(c.input), MANUAL_PUBLIC, label);
    } else if (/invalid character in Base64 string: '(\\r| )'/.test(c.nixError!) && trimmed !== c.input) {
      // Difference 1: Nix refuses the trailing whitespace; narsign trims it and accepts the key.
      differences++;
      t.is(toPublicKey(c.input), MANUAL_PUBLIC, label);
    } else {
      expectError(t, () => parseSecretKey(c.input), codeOfNixMessage(c.nixError!));
    }
  }
  t.is(differences, 4, 'section I shows difference 1 three times and difference 3 once');
});

test('section I (Nix side): the mismatched key really is mismatched — Nix prints the stored half', (t) => {
  const mismatched = keyEdgeCases().find((c) => c.remark?.includes('pk half does not match'));
  t.truthy(mismatched);
  const stored = splitNixString(mismatched!.input).bytes.subarray(32);
  t.true(stored.equals(Buffer.alloc(32, 1)));
  t.regex(mismatched!.verdict, /convert-secret-to-public prints cache\.example\.org-0:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=/);
  const error = expectError(t, () => toPublicKey(mismatched!.input), 'ERR_SECRET_KEY_MISMATCH');
  t.regex(error.message, /cache\.example\.org-0/);
  t.regex(error.message, /does not belong to its seed/);
});

test("Nix's lax cases are accepted: trailing newline(s), missing padding, junk after '='", (t) => {
  for (const text of [`${MANUAL_SECRET}\n`, `${MANUAL_SECRET}\n\n`, MANUAL_SECRET.replace(/=+$/, ''), `${MANUAL_SECRET}junk`]) {
    t.is(toPublicKey(text), MANUAL_PUBLIC);
  }
  // A newline inside the payload is skipped too (Nix's decoder skips every '\n').
  const [name, payload] = MANUAL_SECRET.split(':');
  t.is(toPublicKey(`${name}:${payload.slice(0, 40)}\n${payload.slice(40)}`), MANUAL_PUBLIC);
  t.deepEqual(parsePublicKey(`${MANUAL_PUBLIC}\n`).key, splitNixString(MANUAL_PUBLIC).bytes);
  t.deepEqual(parsePublicKey(MANUAL_PUBLIC.replace(/=$/, '')).key, splitNixString(MANUAL_PUBLIC).bytes);
});

test('difference 1: surrounding whitespace of any kind is trimmed', (t) => {
  for (const ws of [' ', '\t', '\r\n', '\u00a0', ' \n \t']) {
    t.is(toPublicKey(`${ws}${MANUAL_SECRET}${ws}`), MANUAL_PUBLIC);
    t.is(parsePublicKey(`${ws}${MANUAL_PUBLIC}${ws}`).name, 'cache.example.org-0');
  }
});

test('difference 2: a name containing whitespace is refused (Nix accepts it)', (t) => {
  const [, payload] = MANUAL_PUBLIC.split(':');
  for (const name of ['cache example', 'test\n', 'a\tb', 'x\u00a0y']) {
    const error = expectError(t, () => parsePublicKey(`${name}x:${payload}`), 'ERR_KEY_NAME_INVALID');
    t.regex(error.message, /whitespace/);
  }
  const [, secretPayload] = MANUAL_SECRET.split(':');
  const error = expectError(t, () => parseSecretKey(`my key:${secretPayload}`, 'key file /k'), 'ERR_KEY_NAME_INVALID');
  t.regex(error.message, /key file \/k/);
  t.notRegex(error.message, /my key/, "a secret key's malformed name is not echoed (it might be part of the key)");
});

test('difference 3: a secret key whose public half is not its seed\'s is refused', (t) => {
  const bytes = splitNixString(MANUAL_SECRET).bytes;
  const other = splitNixString(keyVectors().find((v) => v.section === 'B')!.secretKey!).bytes;
  const swapped = Buffer.concat([bytes.subarray(0, 32), other.subarray(32)]);
  const text = `cache.example.org-0:${swapped.toString('base64')}`;
  expectError(t, () => parseSecretKey(text), 'ERR_SECRET_KEY_MISMATCH');
  expectError(t, () => toPublicKey(text), 'ERR_SECRET_KEY_MISMATCH');
  expectError(t, () => formatSecretKey({ name: 'x', secretKey: swapped }), 'ERR_SECRET_KEY_MISMATCH');
});

test('malformed key strings get Nix\'s verdicts, each with its code', (t) => {
  expectError(t, () => parseSecretKey('no-colon-here'), 'ERR_KEY_CORRUPT');
  expectError(t, () => parseSecretKey(':abc'), 'ERR_KEY_CORRUPT');
  expectError(t, () => parseSecretKey('name:'), 'ERR_KEY_CORRUPT');
  expectError(t, () => parseSecretKey(''), 'ERR_KEY_CORRUPT');
  expectError(t, () => parsePublicKey('name:'), 'ERR_KEY_CORRUPT');
  expectError(t, () => parsePublicKey(':abc'), 'ERR_KEY_CORRUPT');
  expectError(t, () => parsePublicKey(MANUAL_SECRET), 'ERR_PUBLIC_KEY_INVALID');
  expectError(t, () => parsePublicKey('k:AAAA'), 'ERR_PUBLIC_KEY_INVALID');
  expectError(t, () => parseSecretKey(MANUAL_PUBLIC), 'ERR_SECRET_KEY_INVALID');
  expectError(t, () => parsePublicKey('k:AAA AAA'), 'ERR_BASE64_INVALID');
  expectError(t, () => parsePublicKey('k:dVeH-MaF_aKi8lieGBErmScEOuxlSJLA7eO6IPrT1VGc='), 'ERR_BASE64_INVALID');
});

test("errors lead with Nix's wording and name the key and the caller's context", (t) => {
  const wrongLength = expectError(t, () => parseSecretKey(MANUAL_PUBLIC, 'secret key file /etc/nix/key.sec'), 'ERR_SECRET_KEY_INVALID');
  t.regex(wrongLength.message, /^secret key is not valid: 'cache\.example\.org-0' \(secret key file \/etc\/nix\/key\.sec\) decodes to 32 bytes, not 64$/);
  const pub = expectError(t, () => parsePublicKey('foo:AAAA'), 'ERR_PUBLIC_KEY_INVALID');
  t.regex(pub.message, /^public key is not valid: 'foo' decodes to 3 bytes, not 32$/);
  const b64 = expectError(t, () => parsePublicKey('foo:AA AA'), 'ERR_BASE64_INVALID');
  t.regex(b64.message, /^invalid character in Base64 string: space \(U\+0020\) at offset 2 of public key 'foo'$/);
  const corrupt = expectError(t, () => parsePublicKey('foo', 'entry 3'), 'ERR_KEY_CORRUPT');
  t.regex(corrupt.message, /^public key is corrupt: entry 3 has no ':'/);
});

test('parsePublicKeys: a list or a whitespace-separated string, order and duplicates kept; errors give the position', (t) => {
  const b = keyVectors().find((v) => v.section === 'B')!.publicKey!;
  const e = keyVectors().find((v) => v.section === 'E')!.publicKey!;
  const fromString = parsePublicKeys(` ${MANUAL_PUBLIC}\n\t${b}  ${MANUAL_PUBLIC} ${e}\n`);
  t.deepEqual(fromString.map((k) => k.name), ['cache.example.org-0', 'test1', 'cache.example.org-0', 'cache.example.org-1']);
  t.deepEqual(parsePublicKeys([MANUAL_PUBLIC, b]).map((k) => k.name), ['cache.example.org-0', 'test1']);
  t.deepEqual(parsePublicKeys(''), []);
  t.deepEqual(parsePublicKeys([]), []);
  const error = expectError(t, () => parsePublicKeys(`${MANUAL_PUBLIC} ${b} broken:AAAA`, 'trusted-public-keys'), 'ERR_PUBLIC_KEY_INVALID');
  t.regex(error.message, /'broken' \(trusted-public-keys entry 3\)/);
  const error2 = expectError(t, () => parsePublicKeys([b, 'nocolon']), 'ERR_KEY_CORRUPT');
  t.regex(error2.message, /entry 2/);
  t.throws(() => parsePublicKeys([b, 42 as unknown as string]), { instanceOf: TypeError });
  t.throws(() => parsePublicKeys(42 as unknown as string), { instanceOf: TypeError });
});

test('generateSecretKey: NAME:BASE64 of a fresh consistent 64-byte key, no newline, never the same twice', (t) => {
  const a = generateSecretKey('cache.example.com-7');
  const b = generateSecretKey('cache.example.com-7');
  t.not(a, b);
  for (const text of [a, b]) {
    t.regex(text, /^cache\.example\.com-7:[A-Za-z0-9+/]{86}==$/);
    const bytes = splitNixString(text).bytes;
    t.is(bytes.length, 64);
    t.deepEqual(nodePublicKeyOfSeed(bytes.subarray(0, 32)), bytes.subarray(32));
    t.is(toPublicKey(text), `cache.example.com-7:${bytes.subarray(32).toString('base64')}`);
  }
});

test('generateSecretKey and the formatters refuse bad names', (t) => {
  for (const name of ['', 'a:b', 'a b', 'tab\there', 'nl\n']) {
    expectError(t, () => generateSecretKey(name), 'ERR_KEY_NAME_INVALID');
    expectError(t, () => formatPublicKey({ name, key: Buffer.alloc(32) }), 'ERR_KEY_NAME_INVALID');
  }
  t.throws(() => generateSecretKey(7 as unknown as string), { instanceOf: TypeError });
});

test('formatters check lengths and accept any ArrayBufferView', (t) => {
  expectError(t, () => formatPublicKey({ name: 'k', key: Buffer.alloc(31) }), 'ERR_PUBLIC_KEY_INVALID');
  expectError(t, () => formatSecretKey({ name: 'k', secretKey: Buffer.alloc(63) }), 'ERR_SECRET_KEY_INVALID');
  const pub = splitNixString(MANUAL_PUBLIC).bytes;
  t.is(formatPublicKey({ name: 'cache.example.org-0', key: new Uint8Array(pub) }), MANUAL_PUBLIC);
  t.throws(() => formatPublicKey({ name: 'k', key: 'abc' as unknown as Uint8Array }), { instanceOf: TypeError });
});

test('parse functions refuse non-strings with a TypeError', (t) => {
  t.throws(() => parseSecretKey(Buffer.from(MANUAL_SECRET) as unknown as string), { instanceOf: TypeError });
  t.throws(() => parsePublicKey(undefined as unknown as string), { instanceOf: TypeError });
  t.throws(() => parsePublicKey(MANUAL_PUBLIC, 5 as unknown as string), { instanceOf: TypeError });
});

test('parseSecretKey returns buffers the caller owns (wiping one changes nothing else)', (t) => {
  const a = parseSecretKey(MANUAL_SECRET);
  const b = parseSecretKey(MANUAL_SECRET);
  a.secretKey.fill(0);
  t.deepEqual(a.publicKey, splitNixString(MANUAL_PUBLIC).bytes, 'the public key is a separate copy');
  t.deepEqual(b.secretKey, splitNixString(MANUAL_SECRET).bytes);
});

// Every error provoked above from secret material (plus a range provoked here, so the test stands
// alone), in every form a log could print it, must hold no part of any test secret.
test('leak scan: errors from secret keys carry no fragment of the secret (base64 or hex)', (t) => {
  const secrets = [MANUAL_SECRET, ...keyVectors().map((v) => v.secretKey).filter((s): s is string => !!s), ...keyEdgeCases().map((c) => c.input)]
    .map((s) => s.trim())
    .filter((s) => s.includes(':'))
    .map((s) => s.slice(s.indexOf(':') + 1).replace(/=+.*$/, ''));
  // Provoke the full range of secret-key errors here too, so this test stands alone.
  const errors: unknown[] = [...provoked];
  const capture = (fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      errors.push(error);
    }
  };
  for (const c of keyEdgeCases()) capture(() => parseSecretKey(c.input, 'a key file'));
  const [name, payload] = MANUAL_SECRET.split(':');
  capture(() => parseSecretKey(`${payload}`)); // no name at all
  capture(() => parseSecretKey(`${payload}:`)); // the key in the name position
  capture(() => parseSecretKey(`${payload.replace(/=+$/, '')}:AAAA`));
  capture(() => parsePublicKey(`${payload.replace(/=+$/, '')}:AAAA`)); // a secret pasted into a public key list
  capture(() => parsePublicKeys(`${MANUAL_PUBLIC} ${payload}:${payload}`));
  capture(() => parseSecretKey(`${payload.slice(0, 30)} x:${payload}`)); // "name" holding key text
  capture(() => parseSecretKey(`${name}:${payload.slice(0, 50)}!${payload.slice(50)}`));
  capture(() => parseSecretKey(`${name}:${payload}AAAA`));
  capture(() => parsePublicKey(MANUAL_SECRET));
  capture(() => toPublicKey(`${name}:${payload.slice(0, 40)}`));
  t.true(errors.length >= 15);

  const fragments = (text: string, size: number): string[] => {
    const out: string[] = [];
    for (let i = 0; i + size <= text.length; i++) out.push(text.slice(i, i + size));
    return out;
  };
  for (const error of errors) {
    const shown = [String(error), inspect(error, { depth: 5 }), JSON.stringify(error)].join('\n');
    for (const secret of secrets) {
      const hex = Buffer.from(secret, 'base64').toString('hex');
      const leaked = [...fragments(secret, 8), ...fragments(hex, 8)].find((f) => shown.includes(f));
      t.is(leaked, undefined, `error ${String(error)} contains a fragment of a secret key`);
    }
  }
});
