/**
 * Fuzzing the parsers with fast-check: narinfo, key strings, Nix base64, nix.conf, hashes, content
 * addresses, store paths, and signing/verifying mutated real narinfos.
 *
 *  - Only a NarsignError with a `code` ever escapes (a TypeError with a `code` for a wrong *type*).
 *  - parse∘format round-trips, with the expected text built independently (Node's base64/hex, the
 *    generator's own parts), never by the code under test.
 *  - Inputs of several MiB and lines of 1 MiB are handled or refused with the limit error.
 *  - No error message ever contains a secret key's base64 or hex, not even a 16-character fragment:
 *    the keys of test/vectors/key-vectors.txt and freshly generated ones.
 *
 * Bounded: the whole file runs in well under a minute on two cores.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { decodeNixBase64, encodeBase64 } from '../lib/base64';
import { NarsignError } from '../lib/errors';
import { formatHash, HASH_SIZES, parseAnyHash, parseHash, parseHashUnprefixed, toNix32Sha256, type HashAlgorithm } from '../lib/hash';
import { formatContentAddress, parseContentAddress } from '../lib/content-address';
import { formatPublicKey, formatSecretKey, parsePublicKey, parsePublicKeys, parseSecretKey, toPublicKey } from '../lib/keys';
import { MAX_KEY_FILE_BYTES, readKeyFile } from '../lib/key-files';
import { canonicalNarinfo, formatNarinfo, NARINFO_LIMITS, parseNarinfo } from '../lib/narinfo';
import { readNixConf } from '../lib/nixconf';
import { signNarinfo, verifyNarinfo } from '../lib/signatures';
import { fingerprint } from '../lib/fingerprint';
import { parseStorePath } from '../lib/store-path';
import { signString } from '../lib/perl';
import { nodePublicKeyOfSeed, nodeVerify } from './helpers/oracles';
import { CACHE_NIXOS_ORG_KEY, corpus, fixtures, keyVectors } from './helpers/vectors';

const seed = Number(process.env.NARSIGN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * NARSIGN_FUZZ_SCALE multiplies every property's number of runs (for a longer hunt). Under
 * `npm run test:asan` (NARSIGN_SANITIZER set) a quarter: these parsers are JavaScript, and every
 * allocation goes through ASan there.
 */
const scale = Number(process.env.NARSIGN_FUZZ_SCALE ?? (process.env.NARSIGN_SANITIZER ? 0.25 : 1));
const params = (numRuns: number) => ({ seed, numRuns: Math.max(1, Math.round(numRuns * scale)) });

/** fc.assert, with the property's own complaint (fast-check's `cause`) in the failure message. */
function check<T extends unknown[]>(property: fc.IProperty<T>, numRuns: number): void {
  try {
    fc.assert(property, params(numRuns));
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`${cause instanceof Error ? cause.message : ''}\n${(error as Error).message}`);
  }
}
test.before((t) => t.log(`fast-check seed ${seed} (NARSIGN_FUZZ_SEED=${seed} to replay)`));

/** Every input tried, counted for docs/security.md. */
let tried = 0;
test.after.always((t) => t.log(`fuzz-parsers: ${tried} inputs tried`));

// ---- secret material ------------------------------------------------------------------------------------

interface TestSecret {
  name: string;
  text: string;
  bytes: Buffer;
  /** every 16-character window of the payload (with and without padding) and of its hex */
  fragments: string[];
}
const WINDOW = 16;
function windows(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + WINDOW <= s.length; i++) out.push(s.slice(i, i + WINDOW));
  return out;
}
function secretOf(name: string, bytes: Buffer): TestSecret {
  const b64 = bytes.toString('base64');
  return {
    name,
    text: `${name}:${b64}`,
    bytes,
    fragments: [...new Set([...windows(b64), ...windows(bytes.toString('hex')), ...windows(bytes.toString('hex').toUpperCase())])],
  };
}
/** A fresh key pair made by node:crypto (not by narsign). */
function generatedSecret(name: string): TestSecret {
  const s = crypto.randomBytes(32);
  return secretOf(name, Buffer.concat([s, nodePublicKeyOfSeed(s)]));
}
const vectorSecrets: TestSecret[] = keyVectors()
  .filter((v) => v.secretKey)
  .map((v) => {
    const colon = v.secretKey!.indexOf(':');
    return secretOf(v.secretKey!.slice(0, colon), Buffer.from(v.secretKey!.slice(colon + 1), 'base64'));
  })
  .filter((s) => s.bytes.length === 64);
const SECRETS: TestSecret[] = [...vectorSecrets, generatedSecret('fuzz.example.org-1'), generatedSecret('k'), generatedSecret('cache-2025')];

/** The fragment of a secret a text contains, if any. */
function leakIn(text: string): string | undefined {
  for (const secret of SECRETS) for (const f of secret.fragments) if (text.includes(f)) return `${secret.name}: …${f}…`;
  return undefined;
}

/** Everything an error can show: its message, its cause's, and its other own properties. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof Error) {
      parts.push(e.message, String(e.stack ?? ''));
      for (const [k, v] of Object.entries(e)) if (k !== 'cause') parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      e = (e as { cause?: unknown }).cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join('\n');
}

/**
 * Runs `fn` on an input: it may return, or throw a NarsignError with a code (one of `codes`, when
 * given). Anything else — another error, an error without a code, a message with secret material —
 * fails with a description. Returns the result, or undefined when it threw.
 */
function expectCoded<T>(fn: () => T, codes?: readonly string[] | RegExp): { value?: T; error?: NarsignError } {
  tried++;
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof NarsignError) || typeof error.code !== 'string' || error.code === '') {
      throw new Error(`escaped a non-NarsignError: ${error instanceof Error ? `${error.constructor.name} ${(error as { code?: string }).code}: ${error.message}` : String(error)}`);
    }
    const ok = codes === undefined || (codes instanceof RegExp ? codes.test(error.code) : codes.includes(error.code));
    if (!ok) throw new Error(`unexpected code ${error.code}: ${error.message}`);
    const leak = leakIn(errorText(error));
    if (leak) throw new Error(`error ${error.code} shows secret key material (${leak}): ${error.message}`);
    return { error };
  }
}

// ---- mutations ---------------------------------------------------------------------------------------------

const SPECIAL = ['\n', ':', ': ', '\r', '\r\n', '\0', ' ', '\t', '=', '-', '/', '\u00e9', '\ud800', '\u{1F600}', '\ufeff', 'Sig: ', 'References: ', '\n\n'];
type Mutation =
  | { m: 'insert'; at: number; text: string }
  | { m: 'delete'; at: number; length: number }
  | { m: 'replace'; at: number; length: number; text: string }
  | { m: 'duplicateLine'; line: number }
  | { m: 'dropLine'; line: number }
  | { m: 'swapLines'; a: number; b: number }
  | { m: 'truncate'; at: number }
  | { m: 'crlf' }
  | { m: 'longLine'; line: number; length: number };
const arbText = fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }));
const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ m: fc.constant('insert' as const), at: fc.nat(), text: arbText }),
  fc.record({ m: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ m: fc.constant('replace' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 60 }), text: arbText }),
  fc.record({ m: fc.constant('duplicateLine' as const), line: fc.nat() }),
  fc.record({ m: fc.constant('dropLine' as const), line: fc.nat() }),
  fc.record({ m: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ m: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant<Mutation>({ m: 'crlf' }),
  fc.record({ m: fc.constant('longLine' as const), line: fc.nat(), length: fc.constantFrom(100, 70_000) }),
);
function mutate(text: string, mutations: Mutation[]): string {
  let s = text;
  for (const mu of mutations) {
    const at = (n: number) => (s.length === 0 ? 0 : n % (s.length + 1));
    const lines = () => s.split('\n');
    switch (mu.m) {
      case 'insert':
        s = s.slice(0, at(mu.at)) + mu.text + s.slice(at(mu.at));
        break;
      case 'delete':
        s = s.slice(0, at(mu.at)) + s.slice(at(mu.at) + mu.length);
        break;
      case 'replace':
        s = s.slice(0, at(mu.at)) + mu.text + s.slice(at(mu.at) + mu.length);
        break;
      case 'truncate':
        s = s.slice(0, at(mu.at));
        break;
      case 'crlf':
        s = s.replace(/\n/g, '\r\n');
        break;
      default: {
        const ls = lines();
        const i = (n: number) => n % ls.length;
        if (mu.m === 'duplicateLine') ls.splice(i(mu.line), 0, ls[i(mu.line)]);
        else if (mu.m === 'dropLine') ls.splice(i(mu.line), 1);
        else if (mu.m === 'swapLines') [ls[i(mu.a)], ls[i(mu.b)]] = [ls[i(mu.b)], ls[i(mu.a)]];
        else ls[i(mu.line)] += 'x'.repeat(mu.length);
        s = ls.join('\n');
      }
    }
  }
  return s;
}

const NARINFO_CODES = ['ERR_NARINFO_CORRUPT', 'ERR_NARINFO_LIMIT', 'ERR_NARINFO_ENCODING'];
const realNarinfos: string[] = [...fixtures().map((f) => f.text), ...corpus().filter((_, i) => i % 7 === 0)];
const arbNarinfo = fc.constantFrom(...realNarinfos);

// ---- narinfo -----------------------------------------------------------------------------------------------

/** What must hold for any narinfo text that parses: the byte-exact round trip and a stable canonical form. */
function checkParsed(text: string, info: ReturnType<typeof parseNarinfo>): void {
  if (formatNarinfo(info) !== text) throw new Error('formatNarinfo(parseNarinfo(text)) is not text');
  const canonical = canonicalNarinfo(info);
  const again = expectCoded(() => parseNarinfo(canonical), NARINFO_CODES);
  if (again.error) throw new Error(`the canonical form of an accepted narinfo is refused: ${again.error.message}`);
  const re = again.value!;
  if (canonicalNarinfo(re) !== canonical) throw new Error('canonicalNarinfo is not a fixed point');
  for (const field of ['storePath', 'url', 'narSize', 'compression', 'deriver', 'system'] as const) {
    if (re[field] !== info[field]) throw new Error(`${field} changed through the canonical form`);
  }
  if (re.references.join(' ') !== info.references.join(' ')) throw new Error('references changed through the canonical form');
  if (!re.narHash.digest.equals(info.narHash.digest)) throw new Error('NarHash changed through the canonical form');
}

test('narinfo: mutated real narinfos parse and round-trip, or fail with a narinfo code', (t) => {
  check(
    fc.property(arbNarinfo, fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (original, mutations) => {
      const text = mutate(original, mutations);
      const { value } = expectCoded(() => parseNarinfo(text), NARINFO_CODES);
      if (value) checkParsed(text, value);
      // The same as bytes, and with a byte flipped (maybe invalid UTF-8).
      const bytes = Buffer.from(text, 'utf8');
      const fromBytes = expectCoded(() => parseNarinfo(bytes), NARINFO_CODES);
      // (Text with a lone surrogate is not the same text once encoded: U+FFFD takes its place.)
      const wellFormed = bytes.toString('utf8') === text;
      if (wellFormed && Boolean(fromBytes.value) !== Boolean(value)) throw new Error('bytes and text disagree');
      if (wellFormed && fromBytes.value && !Buffer.from(formatNarinfo(fromBytes.value)).equals(bytes)) throw new Error('the bytes do not round-trip');
      if (bytes.length > 0) {
        bytes[mutations.length % bytes.length] ^= 0x80;
        expectCoded(() => parseNarinfo(bytes), NARINFO_CODES);
      }
    }),
    2500,
  );
  t.pass();
});

const FIELDS = ['StorePath', 'URL', 'Compression', 'FileHash', 'FileSize', 'NarHash', 'NarSize', 'References', 'Deriver', 'System', 'Sig', 'CA', 'Signature', 'X'];
const arbValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '/nix/store/0i2jd68mp5g6h2sa5k9c85rb80sn8hi9-hello-2.10',
    'sha256:1sqh5xbzhzbgzlrsnp6rhr0bs2h5gqbikyh0aixbimlv7wrnzhz6',
    'sha256:0000000000000000000000000000000000000000000000000000',
    'sha256-keEprBlZ0GKtCT0rH4tlr64PcSBW/j6seOxTD/ahu5o=',
    'fixed:r:sha256:1sqh5xbzhzbgzlrsnp6rhr0bs2h5gqbikyh0aixbimlv7wrnzhz6',
    'text:sha256:1sqh5xbzhzbgzlrsnp6rhr0bs2h5gqbikyh0aixbimlv7wrnzhz6',
    '0i2jd68mp5g6h2sa5k9c85rb80sn8hi9-hello-2.10',
    'unknown-deriver', '1', '+1', '0', '18446744073709551615', '18446744073709551616', '9007199254740992', '-1', '',
    'cache.nixos.org-1:', 'nar/x.nar.xz', 'xz',
  ),
);

test('narinfo: generated line soup never escapes without a code; accepted ones round-trip', (t) => {
  const arbLine = fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(': ', ':', ':\t', ': ', ' : '), arbValue).map(([f, sep, v]) => `${f}${sep}${v}`);
  check(
    fc.property(fc.array(arbLine, { maxLength: 16 }), fc.boolean(), (lines, finalNewline) => {
      const text = lines.join('\n') + (finalNewline ? '\n' : '');
      const { value } = expectCoded(() => parseNarinfo(text), NARINFO_CODES);
      if (value) checkParsed(text, value);
    }),
    2500,
  );
  t.pass();
});

test('narinfo: a UTF-8 byte order mark is kept like any other bytes (Nix reads it as part of the first name)', (t) => {
  // Found by the mutation fuzzer: the bytes reader used to drop a leading BOM, so it accepted (and
  // re-wrote without the BOM) a file that the string reader and Nix refuse.
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(F1)]);
  tried += 2;
  const fromBytes = t.throws(() => parseNarinfo(withBom), { instanceOf: NarsignError });
  const fromText = t.throws(() => parseNarinfo(`\ufeff${F1}`), { instanceOf: NarsignError });
  t.is(fromBytes?.code, 'ERR_NARINFO_CORRUPT');
  t.is(fromBytes?.message, fromText?.message);
  // A BOM inside a value is kept too, byte for byte.
  const inValue = Buffer.from(F1.replace('Compression: ', 'Compression: \ufeff'));
  t.true(Buffer.from(formatNarinfo(parseNarinfo(inValue))).equals(inValue));
});

test('narinfo: wrong types are TypeErrors with a code', (t) => {
  for (const bad of [undefined, null, 5, {}, [], new ArrayBuffer(4), Symbol('x'), new DataView(new ArrayBuffer(2))]) {
    tried++;
    const e = t.throws(() => parseNarinfo(bad as never), { instanceOf: TypeError });
    t.is(typeof (e as TypeError & { code?: string }).code, 'string');
  }
  for (const options of [null, 5, 'x', { where: 5 }, { limits: 5 }, { limits: { maxLength: -1 } }, { storeDir: 5 }]) {
    tried++;
    const e = t.throws(() => parseNarinfo(realNarinfos[0], options as never), { instanceOf: TypeError });
    t.is(typeof (e as TypeError & { code?: string }).code, 'string');
  }
});

// ---- limits -------------------------------------------------------------------------------------------------

const F1 = fixtures().find((f) => f.id === 'F1')!.text;
/** Distinct valid reference base names: a nix32 hash part from a counter. */
function refs(n: number): string[] {
  const alphabet = '0123456789abcdfghijklmnpqrsvwxyz';
  return Array.from({ length: n }, (_, i) => {
    let h = '';
    for (let v = i, k = 0; k < 32; k++, v = Math.floor(v / 32)) h = alphabet[v % 32] + h;
    return `${h}-r`;
  });
}
const withReferences = (list: string[]) => F1.replace(/^References: .*$/m, `References: ${list.join(' ')}`);

test('limits: several MiB of narinfo and 1 MiB lines are refused with ERR_NARINFO_LIMIT, and named', (t) => {
  const limit = (text: string | Uint8Array) => {
    const { error } = expectCoded(() => parseNarinfo(text), ['ERR_NARINFO_LIMIT']);
    if (!error) throw new Error('accepted past a limit');
    return error;
  };
  // 5 MiB of text (unknown lines are kept, so only the size stops it), as a string and as bytes.
  const padding = `X-Padding: ${'p'.repeat(1000)}\n`.repeat(5 * 1024);
  let e = limit(F1 + padding);
  t.regex(e.message, new RegExp(`more than the limit of ${NARINFO_LIMITS.maxLength}`));
  e = limit(Buffer.from(F1 + padding));
  t.is(e.code, 'ERR_NARINFO_LIMIT');
  // 1 MiB lines: a URL, an unknown field, a Sig.
  for (const field of ['URL', 'Sig']) {
    e = limit(F1.replace(new RegExp(`^${field}: .*$`, 'm'), `${field}: ${'u'.repeat(1024 * 1024)}`));
    t.is(e.line, F1.split('\n').findIndex((l) => l.startsWith(`${field}: `)) + 1);
    t.regex(e.message, /has a line of 10485\d\d characters, more than the limit of 65536 at line \d+/);
    t.true(e.message.length < 300, 'the message does not echo the line');
  }
  e = limit(`${F1}Comment: ${'c'.repeat(1024 * 1024)}\n`);
  t.true(e.message.length < 300);
  // A line just at the limit is fine.
  const atLimit = `${F1}Comment: ${'c'.repeat(NARINFO_LIMITS.maxLineLength - 'Comment: '.length)}\n`;
  t.is(expectCoded(() => parseNarinfo(atLimit)).value?.lines.at(-1)?.text.length, NARINFO_LIMITS.maxLineLength);
  // One line of 1 MiB is fine when it is References (bounded by the count instead).
  const many = refs(31_000);
  const big = withReferences(many);
  t.true(big.length > 1024 * 1024);
  t.is(expectCoded(() => parseNarinfo(big)).value?.references.length, 31_000);
  // The count: 65,536 references pass, 65,537 do not.
  const max = refs(NARINFO_LIMITS.maxReferences + 1);
  t.is(expectCoded(() => parseNarinfo(withReferences(max.slice(0, -1)))).value?.references.length, NARINFO_LIMITS.maxReferences);
  t.regex(limit(withReferences(max)).message, /more than 65536 references/);
  // Sig lines: 256 pass, 257 do not.
  const sigs = (n: number) => F1.replace(/^Sig: .*\n/gm, '') + Array.from({ length: n }, (_, i) => `Sig: k${i}:AAAA\n`).join('');
  t.is(expectCoded(() => parseNarinfo(sigs(NARINFO_LIMITS.maxSignatures))).value?.sigs.length, NARINFO_LIMITS.maxSignatures);
  t.regex(limit(sigs(NARINFO_LIMITS.maxSignatures + 1)).message, /more than 256 Sig lines/);
  // Sizes: 2^53 is past what narsign handles exactly (limit), 2^64 past what Nix reads (corrupt).
  t.is(limit(F1.replace(/^NarSize: .*$/m, 'NarSize: 9007199254740992')).line, F1.split('\n').findIndex((l) => l.startsWith('NarSize: ')) + 1);
  t.is(expectCoded(() => parseNarinfo(F1.replace(/^NarSize: .*$/m, 'NarSize: 18446744073709551616'))).error?.code, 'ERR_NARINFO_CORRUPT');
  // Signing and verifying go through the same reader.
  t.is(expectCoded(() => verifyNarinfo(F1 + padding, CACHE_NIXOS_ORG_KEY)).error?.code, 'ERR_NARINFO_LIMIT');
  t.is(expectCoded(() => signNarinfo(F1 + padding, SECRETS[0].text)).error?.code, 'ERR_NARINFO_LIMIT');
});

test('limits: key files past MAX_KEY_FILE_BYTES are refused before reading; huge key strings are handled', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-fuzz-'));
  try {
    const secret = SECRETS[0];
    const file = path.join(dir, 'key');
    // A key file padded with newlines up to exactly the limit still reads (and parses: Nix's base64 skips '\n').
    fs.writeFileSync(file, secret.text + '\n'.repeat(MAX_KEY_FILE_BYTES - secret.text.length), { mode: 0o600 });
    t.is(parseSecretKey(readKeyFile(file, { secret: true })).name, secret.name);
    fs.appendFileSync(file, '\n');
    tried++;
    const e = t.throws(() => readKeyFile(file, { secret: true }), { instanceOf: NarsignError });
    t.is(e?.code, 'ERR_KEY_FILE_TOO_LARGE');
    t.is(leakIn(errorText(e)), undefined);
    // 8 MiB of key material in memory (no '=' padding, where Nix's decoder would stop): refused
    // by length, with no fragment of it in the message.
    const huge = `${secret.name}:${secret.bytes.toString('base64').replace(/=+$/, '').repeat(100_000)}`;
    t.is(expectCoded(() => parseSecretKey(huge)).error?.code, 'ERR_SECRET_KEY_INVALID');
    t.is(expectCoded(() => parsePublicKey(huge)).error?.code, 'ERR_PUBLIC_KEY_INVALID');
    t.is(expectCoded(() => decodeNixBase64('A'.repeat(8 * 1024 * 1024))).value?.length, 6 * 1024 * 1024);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('limits: a megabyte of bad hash, store path or content address makes a short message that still shows its start', (t) => {
  const mib = 1024 * 1024;
  const cases: Array<[string, () => unknown, string]> = [
    ['base-16 hash', () => parseHash(`sha256:${'z'.repeat(mib)}`), 'zzzz'],
    ['hash without a type', () => parseAnyHash('q'.repeat(mib)), 'qqqq'],
    ['store path', () => parseStorePath(`/nix/store/${'a'.repeat(32)}-${'x'.repeat(mib)}`), `${'a'.repeat(32)}-xxxx`],
    ['content address', () => parseContentAddress(`fixed:${'w'.repeat(mib)}`), 'wwww'],
    ['content address prefix', () => parseContentAddress(`${'p'.repeat(mib)}:x`), 'pppp'],
  ];
  for (const [what, run, start] of cases) {
    const e = expectCoded(run).error;
    t.truthy(e, `${what}: no coded error`);
    t.true(e!.message.length < 2000, `${what}: a ${e!.message.length}-character message`);
    t.true(e!.message.includes(start), `${what}: the message does not show the input's start: ${e!.message.slice(0, 200)}`);
    t.regex(e!.message, /\(\d{7} characters in all\)/, `${what}: the message does not say how long the input was`);
  }
  // Short inputs are quoted whole, as Nix quotes them.
  t.regex(expectCoded(() => parseHash('sha256:zz')).error!.message, /'zz'/);
});

// ---- signing and verifying mutated narinfos -----------------------------------------------------------------

test('verifyNarinfo/signNarinfo on mutated real narinfos: verdicts or narinfo codes; signing edits only its Sig line', (t) => {
  const signer = SECRETS[SECRETS.length - 1];
  const publicKey = `${signer.name}:${signer.bytes.subarray(32).toString('base64')}`;
  check(
    fc.property(arbNarinfo, fc.array(arbMutation, { maxLength: 3 }), (original, mutations) => {
      const text = mutate(original, mutations);
      const verdict = expectCoded(() => verifyNarinfo(text, [CACHE_NIXOS_ORG_KEY, publicKey]), [...NARINFO_CODES]);
      if (mutations.length === 0 && !verdict.value?.trusted && !/F5|X3/.test(original)) {
        // Unmutated real narinfos are signed by cache.nixos.org (F5/X3 are the deliberately bad fixtures).
        if (realNarinfos.indexOf(original) >= fixtures().length) throw new Error('an unmutated corpus narinfo is not trusted');
      }
      const signed = expectCoded(() => signNarinfo(text, signer.text), NARINFO_CODES);
      if (Boolean(signed.value) !== Boolean(verdict.value)) throw new Error('signNarinfo and verifyNarinfo disagree on whether the file is readable');
      if (!signed.value) return;
      // Exactly one line was added: the new Sig, and no other byte changed.
      const ours = `Sig: ${signer.name}:`;
      const lines = signed.value.split('\n');
      const added = lines.filter((l) => l.startsWith(ours));
      if (added.length !== 1) throw new Error(`${added.length} Sig lines of the signing key`);
      if (lines.filter((l) => !l.startsWith(ours)).join('\n') !== text) throw new Error('signing changed other bytes');
      // The new signature verifies with node:crypto over the fingerprint, and narsign trusts it.
      const sig = Buffer.from(added[0].slice(ours.length), 'base64');
      if (!nodeVerify(signer.bytes.subarray(32), sig, Buffer.from(fingerprint(parseNarinfo(signed.value))))) throw new Error('node:crypto rejects the new signature');
      const again = expectCoded(() => verifyNarinfo(signed.value!, publicKey), NARINFO_CODES).value;
      if (!again?.trusted && again?.reason !== 'malformed-signature') throw new Error(`signed narinfo not trusted: ${again?.reason}`);
    }),
    800,
  );
  t.pass();
});

// ---- keys ----------------------------------------------------------------------------------------------------

/** Mistakes people make with key strings, plus random damage. */
const arbKeyMutation = fc.oneof(
  { weight: 4, arbitrary: fc.array(arbMutation, { minLength: 1, maxLength: 3 }).map((ms) => (s: string) => mutate(s, ms)) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<(s: string) => string>(
      (s) => `${s}\n`,
      (s) => `${s}\r\n`,
      (s) => ` ${s} `,
      (s) => s + s, // pasted twice
      (s) => `${s}\n${s}`,
      (s) => s.replace(':', ''), // the name glued to the key
      (s) => s.slice(s.indexOf(':') + 1), // no name
      (s) => `${s.slice(s.indexOf(':') + 1)}:`, // key, then ':'
      (s) => s.replace(':', '').replace(/^(.{20})/, '$1:'), // the ':' moved into the key
      (s) => s.replace(/^([^:]*):(.{10})/, '$1:$2:'), // a second ':' inside the key
      (s) => s.replace(/=+$/, ''), // no padding
      (s) => s.replace(/=+$/, ' '),
      (s) => s.replace(/(.{30})/g, '$1\n'), // wrapped
      (s) => s.replace(/(.{30})/g, '$1 '), // broken by spaces
      (s) => s.slice(0, -5),
      (s) => s.replace(/[A-Za-z]/, '*'),
      (s) => `trusted-public-keys = ${s}`,
      (s) => `-----BEGIN KEY-----\n${s}\n-----END KEY-----`,
      (s) => s.replace(':', ' : '),
      (s) => s.replace(':', '\t'),
      (s) => s.toUpperCase(),
      (s) => Buffer.from(s).toString('base64'),
      (s) => `${s.split(':')[0]} ${s}`, // a name with a space
      (s) => s.replace(/^[^:]*/, (name) => `${name}${s.slice(s.indexOf(':') + 1, s.indexOf(':') + 23)}`), // key material in the name
    ),
  },
);
const KEY_CODES = /^ERR_(KEY_CORRUPT|KEY_NAME_INVALID|BASE64_INVALID|SECRET_KEY_INVALID|SECRET_KEY_MISMATCH|PUBLIC_KEY_INVALID)$/;

test('keys: mangled secret keys never leak into errors; every outcome is a key or a key code', (t) => {
  check(
    fc.property(fc.nat({ max: SECRETS.length - 1 }), arbKeyMutation, (which, damage) => {
      const secret = SECRETS[which];
      const text = damage(secret.text);
      const parsed = expectCoded(() => parseSecretKey(text, 'fuzzed key'), KEY_CODES).value;
      if (parsed) parsed.secretKey.fill(0);
      expectCoded(() => parsePublicKey(text), KEY_CODES);
      expectCoded(() => parsePublicKeys(text, 'fuzzed list'), KEY_CODES);
      expectCoded(() => toPublicKey(text), KEY_CODES);
      expectCoded(() => signNarinfo(F1, text), KEY_CODES);
      expectCoded(() => signString(text, 'message'), KEY_CODES);
      expectCoded(() => decodeNixBase64(text.slice(text.indexOf(':') + 1)), ['ERR_BASE64_INVALID']);
    }),
    2500,
  );
  t.pass();
});

test('keys: random strings parse or fail with a key code', (t) => {
  check(
    fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 60 })), (text) => {
      expectCoded(() => parseSecretKey(text), KEY_CODES);
      expectCoded(() => parsePublicKey(text), KEY_CODES);
      expectCoded(() => parsePublicKeys(text), KEY_CODES);
      expectCoded(() => decodeNixBase64(text), ['ERR_BASE64_INVALID']);
    }),
    2000,
  );
  t.pass();
});

const arbKeyName = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+@/'.split('')), minLength: 1, maxLength: 40 });

test('keys: format∘parse round-trips secret and public keys (expected text from Node\'s base64)', (t) => {
  check(
    fc.property(arbKeyName, fc.uint8Array({ minLength: 32, maxLength: 32 }), (name, seedBytes) => {
      tried++;
      const s = Buffer.from(seedBytes);
      const pk = nodePublicKeyOfSeed(s);
      const sk = Buffer.concat([s, pk]);
      const secretText = `${name}:${sk.toString('base64')}`;
      const publicText = `${name}:${pk.toString('base64')}`;
      if (formatSecretKey({ name, secretKey: sk }) !== secretText) throw new Error('formatSecretKey');
      if (formatPublicKey({ name, key: pk }) !== publicText) throw new Error('formatPublicKey');
      const parsed = parseSecretKey(secretText);
      if (parsed.name !== name || !parsed.secretKey.equals(sk) || !parsed.publicKey.equals(pk)) throw new Error('parseSecretKey');
      const pub = parsePublicKey(publicText);
      if (pub.name !== name || !pub.key.equals(pk)) throw new Error('parsePublicKey');
      if (toPublicKey(secretText) !== publicText) throw new Error('toPublicKey');
      const list = parsePublicKeys(`  ${publicText}\t${publicText}\n`);
      if (list.length !== 2 || !list.every((k) => k.name === name && k.key.equals(pk))) throw new Error('parsePublicKeys');
    }),
    500,
  );
  t.pass();
});

test('base64: decodeNixBase64 inverts Node\'s encoder, ignores newlines, and stops at "="', (t) => {
  check(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), fc.string({ maxLength: 10 }), (bytes, cuts, junk) => {
      tried++;
      const b64 = Buffer.from(bytes).toString('base64');
      if (!decodeNixBase64(b64).equals(Buffer.from(bytes))) throw new Error('decode(encode(bytes))');
      if (encodeBase64(bytes) !== b64) throw new Error('encodeBase64');
      let wrapped = b64;
      for (const c of cuts) wrapped = `${wrapped.slice(0, c % (wrapped.length + 1))}\n${wrapped.slice(c % (wrapped.length + 1))}`;
      if (!decodeNixBase64(wrapped).equals(Buffer.from(bytes))) throw new Error('newlines are skipped');
      if (b64.endsWith('=') && !decodeNixBase64(`${b64}${junk}`).equals(Buffer.from(bytes))) throw new Error('decoding stops at "="');
    }),
    1000,
  );
  t.pass();
});

// ---- nix.conf --------------------------------------------------------------------------------------------------

const NIXCONF_CODES = /^ERR_(NIXCONF_[A-Z0-9_]+|KEY_CORRUPT|KEY_NAME_INVALID|BASE64_INVALID|SECRET_KEY_INVALID|SECRET_KEY_MISMATCH|PUBLIC_KEY_INVALID|KEY_FILE_TOO_LARGE)$/;
const SETTINGS = ['trusted-public-keys', 'extra-trusted-public-keys', 'binary-cache-public-keys', 'extra-binary-cache-public-keys', 'secret-key-files', 'extra-secret-key-files', 'require-sigs', 'substituters', 'include', '!include', '#', ''];

test('nix.conf: fuzzed text (secret keys pasted anywhere) reads or fails with a code, never showing the secret', (t) => {
  const arbSecretText = fc.nat({ max: SECRETS.length - 1 }).chain((i) => arbKeyMutation.map((damage) => damage(SECRETS[i].text)));
  const publicOf = (s: TestSecret) => `${s.name}:${s.bytes.subarray(32).toString('base64')}`;
  const arbToken = fc.oneof(
    arbSecretText,
    fc.constantFrom(...SECRETS.map(publicOf), CACHE_NIXOS_ORG_KEY, '=', 'true', 'false', 'maybe', '/nonexistent/nix.conf', 'relative.conf', '\\', '#'),
    fc.string({ maxLength: 20 }),
  );
  const arbLine = fc.tuple(fc.constantFrom(...SETTINGS), fc.constantFrom(' = ', '=', ' ', '\t=\t', ' = \r'), fc.array(arbToken, { maxLength: 4 }), fc.constantFrom('', ' # comment', '\r'))
    .map(([name, eq, tokens, tail]) => `${name}${eq}${tokens.join(' ')}${tail}`);
  check(
    fc.property(fc.array(fc.oneof(arbLine, arbSecretText), { maxLength: 8 }), fc.boolean(), (lines, dir) => {
      const text = lines.join('\n');
      const source = { name: 'fuzz.conf', text, ...(dir ? { dir: os.tmpdir() } : {}) };
      const result = expectCoded(() => readNixConf({ sources: source, readSecretKeyFiles: false }), NIXCONF_CODES).value;
      if (result) {
        for (const k of result.trustedPublicKeys) if (k.key.length !== 32) throw new Error('a trusted key is not 32 bytes');
      }
    }),
    2000,
  );
  t.pass();
});

test('nix.conf: keys listed in generated files are read back exactly; secret key files are read, errors never show them', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-fuzz-conf-'));
  try {
    let n = 0;
    check(
      fc.property(
        fc.array(fc.tuple(arbKeyName.filter((s) => !s.includes('#')), fc.uint8Array({ minLength: 32, maxLength: 32 })), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(' ', '\t', '  \t '),
        fc.nat({ max: SECRETS.length - 1 }),
        arbKeyMutation,
        (keys, gap, which, damage) => {
          const secret = SECRETS[which];
          n++;
          const expected = keys.map(([name, bytes]) => ({ name, key: Buffer.from(bytes) }));
          // An included file with the keys, split over a replacing and an appending line.
          const included = path.join(dir, `inc-${n}.conf`);
          const half = Math.ceil(expected.length / 2);
          const list = (ks: typeof expected) => ks.map((k) => `${k.name}:${k.key.toString('base64')}`).join(gap);
          fs.writeFileSync(included, `trusted-public-keys =${gap}${list(expected.slice(0, half))}\nextra-trusted-public-keys = ${list(expected.slice(half))} # more\n`);
          const keyFile = path.join(dir, `sk-${n}`);
          const damaged = damage(secret.text);
          fs.writeFileSync(keyFile, damaged, { mode: 0o600 });
          const main = path.join(dir, `main-${n}.conf`);
          fs.writeFileSync(main, `# generated\ninclude ${path.basename(included)}\nrequire-sigs = true\nsecret-key-files = ${keyFile}\n`);
          const { value, error } = expectCoded(() => readNixConf({ sources: main }), NIXCONF_CODES);
          if (error) {
            // Only the damaged secret key file may be the problem, and its path is what is named.
            if (error.file !== main) throw new Error(`error about ${error.file}, not the config that named the key file: ${error.message}`);
            return;
          }
          const got = value!.trustedPublicKeys;
          if (got.length !== expected.length + 1) throw new Error(`read ${got.length} keys, wrote ${expected.length} (+1 from the secret key file)`);
          expected.forEach((k, i) => {
            if (got[i].name !== k.name || !got[i].key.equals(k.key)) throw new Error(`key ${i} differs`);
          });
          const fromSecret = got[expected.length];
          if (!fromSecret.key.equals(secret.bytes.subarray(32))) throw new Error('the public half of the secret key file is wrong');
          if (JSON.stringify(value).includes(secret.bytes.toString('base64').slice(0, 43))) throw new Error('the result shows the secret key');
        },
      ),
      200,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.pass();
});

test('nix.conf: a 1 MiB line of keys and several MiB of comments are read', (t) => {
  const keys = Array.from({ length: 25_000 }, (_, i) => `k${i}:${crypto.randomBytes(32).toString('base64')}`);
  const line = `trusted-public-keys = ${keys.join(' ')}`;
  t.true(line.length > 1024 * 1024);
  const text = `${'# filler\n'.repeat(400_000)}${line}\n`;
  const conf = expectCoded(() => readNixConf({ sources: { name: 'big', text }, readSecretKeyFiles: false })).value!;
  t.is(conf.trustedPublicKeys.length, 25_000);
  t.is(conf.trustedPublicKeys[24_999].origin?.line, 400_001);
  t.is(conf.trustedPublicKeys[24_999].key.toString('base64'), keys[24_999].split(':')[1]);
});

// ---- hashes, content addresses, store paths ------------------------------------------------------------------

const HASH_CODES = /^ERR_(HASH_[A-Z0-9_]+|NIX32_[A-Z0-9_]+|BASE64_INVALID)$/;
const ALGOS: HashAlgorithm[] = ['md5', 'sha1', 'sha256', 'sha512'];
const arbHashText = fc.oneof(
  fc.string({ maxLength: 140 }),
  fc.tuple(fc.constantFrom('md5', 'sha1', 'sha256', 'sha512', 'sha', 'SHA256', ''), fc.constantFrom(':', '-', '::', ''), fc.string({ unit: fc.constantFrom(...'0123456789abcdfghijklmnpqrsvwxyzeotuABCDEF+/=-:'.split('')), maxLength: 130 }))
    .map(([a, sep, rest]) => `${a}${sep}${rest}`),
);

test('hashes: random text parses or fails with a hash code', (t) => {
  check(
    fc.property(arbHashText, fc.constantFrom(...ALGOS), (text, algo) => {
      expectCoded(() => parseHash(text), HASH_CODES);
      expectCoded(() => parseAnyHash(text), HASH_CODES);
      expectCoded(() => parseAnyHash(text, algo), HASH_CODES);
      expectCoded(() => parseHashUnprefixed(text, algo), HASH_CODES);
      expectCoded(() => toNix32Sha256(text), HASH_CODES);
    }),
    3000,
  );
  t.pass();
});

test('hashes: every spelling round-trips (base16/base64/SRI text from Node, nix32 through narsign)', (t) => {
  check(
    fc.property(fc.constantFrom(...ALGOS).chain((algo) => fc.tuple(fc.constant(algo), fc.uint8Array({ minLength: HASH_SIZES[algo], maxLength: HASH_SIZES[algo] }))), ([algo, bytes]) => {
      tried++;
      const digest = Buffer.from(bytes);
      const texts = {
        base16: `${algo}:${digest.toString('hex')}`,
        base64: `${algo}:${digest.toString('base64')}`,
        sri: `${algo}-${digest.toString('base64')}`,
      };
      for (const [format, text] of Object.entries(texts)) {
        if (formatHash({ algo, digest }, format as 'base16') !== text) throw new Error(`formatHash ${format}`);
        const h = parseHash(text);
        if (h.algo !== algo || !h.digest.equals(digest)) throw new Error(`parseHash ${format}`);
      }
      const upper = parseHash(`${algo}:${digest.toString('hex').toUpperCase()}`);
      if (!upper.digest.equals(digest)) throw new Error('upper-case base16');
      const nix32 = formatHash({ algo, digest }, 'nix32');
      const back = parseHash(nix32);
      if (!back.digest.equals(digest) || formatHash(back, 'nix32') !== nix32) throw new Error('nix32');
      if (!parseHashUnprefixed(nix32.slice(algo.length + 1), algo).digest.equals(digest)) throw new Error('unprefixed nix32');
    }),
    1000,
  );
  t.pass();
});

test('content addresses: random text parses or fails with a code; accepted ones re-format to a fixed point', (t) => {
  const arbCa = fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.tuple(fc.constantFrom('fixed:', 'fixed:r:', 'text:', 'fixed:git:', 'nar:', ''), arbHashText).map(([p, h]) => `${p}${h}`),
  );
  check(
    fc.property(arbCa, (text) => {
      const ca = expectCoded(() => parseContentAddress(text), /^ERR_(CA_INVALID|HASH_[A-Z0-9_]+|NIX32_[A-Z0-9_]+|BASE64_INVALID)$/).value;
      if (ca) {
        const formatted = formatContentAddress(ca);
        if (formatContentAddress(parseContentAddress(formatted)) !== formatted) throw new Error('formatContentAddress is not a fixed point');
      }
    }),
    2000,
  );
  t.pass();
});

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._?=';

test('store paths: random text parses or fails with a store-path code; generated paths round-trip', (t) => {
  check(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: fc.constantFrom(...`${NIX32}/.-eotu`.split('')), maxLength: 80 }).map((s) => `/nix/store/${s}`)), (text) => {
      expectCoded(() => parseStorePath(text), /^ERR_STORE_PATH_[A-Z0-9_]+$/);
      expectCoded(() => parseStorePath(text, '/nix/store'), /^ERR_STORE_PATH_[A-Z0-9_]+$/);
    }),
    3000,
  );
  check(
    fc.property(
      fc.string({ unit: fc.constantFrom(...NIX32.split('')), minLength: 32, maxLength: 32 }),
      fc.string({ unit: fc.constantFrom(...NAME_CHARS.split('')), minLength: 1, maxLength: 211 }).filter((n) => !/^\.\.?(-|$)/.test(n)),
      fc.constantFrom('/nix/store', '/gnu/store', '/a', '/very/deep/store/dir'),
      (hash, name, dir) => {
        tried++;
        const p = parseStorePath(`${dir}/${hash}-${name}`, dir);
        if (p.path !== `${dir}/${hash}-${name}` || p.hashPart !== hash || p.name !== name || p.storeDir !== dir) throw new Error('round trip');
        const messy = parseStorePath(`${dir.replace(/\//g, '//')}/./${hash}-${name}/`);
        if (messy.path !== p.path) throw new Error('canonicalisation');
      },
    ),
    1000,
  );
  t.pass();
});
