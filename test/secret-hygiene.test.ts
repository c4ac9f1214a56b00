/**
 * Secret hygiene: nothing narsign can show a user — an error (its message, stack, `cause` chain and
 * properties, as `console.error` prints it), a warning, the CLI's stderr and stdout, a `--json`
 * report, `inspect` — contains secret key material of the keys it was given.
 *
 * The keys: every secret key of test/vectors/key-vectors.txt, one made fresh by node:crypto and
 * one made fresh by narsign. Each is fed to every function that takes a secret key, whole and
 * broken in the ways key files break (wrong length, bad characters, a public half that isn't the
 * seed's, a name with whitespace, the ':' lost, doubled or moved into the key, …). The scanner
 * (test/helpers/secret-scan.ts) looks for any 12-character piece of the key's base64, and for the
 * seed in hex and as raw bytes; the control tests first prove it finds what is planted.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signCache, signNarinfoFiles, verifyCache } from '../lib/cache';
import { NarsignError } from '../lib/errors';
import { readKeyFile } from '../lib/key-files';
import { formatSecretKey, generateSecretKey, parsePublicKey, parseSecretKey, toPublicKey } from '../lib/keys';
import { signLegacy2015 } from '../lib/legacy2015';
import { signString } from '../lib/perl';
import { signFingerprint, signNarinfo, signParsedNarinfo } from '../lib/signatures';
import { parseNarinfo } from '../lib/narinfo';
import { fixtureTexts, makeCache, tempDir } from './helpers/cache-dir';
import { Collected, describeFindings, errorTexts, SecretScanner } from './helpers/secret-scan';
import { checkNoEcho, FORMS } from './helpers/key-echo';
import { Run, runCli, RunOptions } from './helpers/run-cli';
import { fixture, keyVectors } from './helpers/vectors';

/** A key pair made by node:crypto (independent of narsign), in Nix's format. */
function nodeKey(name: string): { secret: string; public: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const pk = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { secret: `${name}:${Buffer.concat([seed, pk]).toString('base64')}`, public: `${name}:${pk.toString('base64')}` };
}

const VECTOR_SECRETS = keyVectors()
  .filter((v) => v.secretKey)
  .map((v) => ({ label: `key-vectors section ${v.section}`, secret: v.secretKey! }));
const C = keyVectors().find((v) => v.section === 'C')!;
const FRESH_NODE = nodeKey('fresh.example.org-1');
const FRESH_NARSIGN = generateSecretKey('narsign-made-1');
const ALL_SECRETS = [
  ...VECTOR_SECRETS,
  { label: 'fresh node:crypto key', secret: FRESH_NODE.secret },
  { label: 'fresh narsign key', secret: FRESH_NARSIGN },
];

const scanner = new SecretScanner();
for (const { label, secret } of ALL_SECRETS) scanner.addKeyString(label, secret);

/** The payload bytes of a `NAME:BASE64` string, decoded by Node (not narsign). */
const bytesOf = (key: string): Buffer => Buffer.from(key.slice(key.indexOf(':') + 1), 'base64');

/**
 * Broken forms of a secret key string, each one narsign must refuse. `other` is another secret key,
 * for a public half that is not this seed's.
 */
function brokenVariants(secret: string, other: string): Array<{ label: string; text: string }> {
  const colon = secret.indexOf(':');
  const name = secret.slice(0, colon);
  const payload = secret.slice(colon + 1);
  const bare = payload.replace(/=+$/, '');
  const bytes = bytesOf(secret);
  const b64 = (b: Buffer) => b.toString('base64');
  const variants: Array<[string, string]> = [
    ['4 characters short', `${name}:${bare.slice(0, -4)}`],
    ['4 characters too many', `${name}:${bare}AAAA`],
    ['the seed alone (32 bytes)', `${name}:${b64(bytes.subarray(0, 32))}`],
    ['the public half alone', `${name}:${b64(bytes.subarray(32))}`],
    ['63 bytes', `${name}:${b64(bytes.subarray(0, 63))}`],
    ['65 bytes', `${name}:${b64(Buffer.concat([bytes, Buffer.from([7])]))}`],
    ['the key twice in one payload', `${name}:${b64(Buffer.concat([bytes, bytes]))}`],
    ['hex instead of base64', `${name}:${bytes.toString('hex')}`],
    ['a bad character in the middle', `${name}:${bare.slice(0, 40)}!${bare.slice(41)}`],
    ['a space in the middle', `${name}:${bare.slice(0, 50)} ${bare.slice(50)}`],
    ['a carriage return in the middle', `${name}:${bare.slice(0, 60)}\r${bare.slice(60)}`],
    ['a non-ASCII character', `${name}:${bare.slice(0, 20)}é${bare.slice(20)}`],
    ["a public half that is not the seed's", `${name}:${b64(Buffer.concat([bytes.subarray(0, 32), bytesOf(other).subarray(32)]))}`],
    ['a zeroed public half', `${name}:${b64(Buffer.concat([bytes.subarray(0, 32), Buffer.alloc(32)]))}`],
    ['a name with a space', `my ${name}:${payload}`],
    ['a name with a tab', `${name}\tx:${payload}`],
    ['a label in front', `secret-key = ${secret}`],
    ['no name', `:${payload}`],
    ['no payload', `${name}:`],
    ["the ':' lost", `${name}${payload}`],
    ['the bare payload', payload],
    ["the ':' moved 20 characters into the key", `${name}${bare.slice(0, 20)}:${bare.slice(20)}`],
    ["the ':' moved 80 characters into the key", `${name}${bare.slice(0, 80)}:${bare.slice(80)}`],
    ["the ':' moved into the key, no name", `${bare.slice(0, 30)}:${bare.slice(30)}`],
    ["a second ':' after the name", `${name}::${payload}`],
    ["a ':' inside the key", `${name}:${bare.slice(0, 30)}:${bare.slice(30)}`],
    ["a ':' after the key (no padding)", `${name}:${bare}:`],
  ];
  return variants.map(([label, text]) => ({ label, text }));
}

const NARINFO = fixture('F1').text;
const UNSIGNED = NARINFO.split('\n').filter((l) => !l.startsWith('Sig: ')).join('\n');
const FINGERPRINT = fixture('F1').fingerprint;

function assertClean(t: import('ava').ExecutionContext, collected: Collected): void {
  const findings = collected.findings(scanner);
  t.is(findings.length, 0, `secret key material shown to the user:\n${describeFindings(findings)}`);
}

/** Whether `error` is one of narsign's deliberate refusals (a coded NarsignError or TypeError). */
function isCoded(error: unknown): boolean {
  return (error instanceof NarsignError || error instanceof TypeError) && typeof (error as { code?: unknown }).code === 'string';
}

// ---------------------------------------------------------------------------------------------
// Controls: the scanner and the collectors find what is planted.

test('control: the scanner finds a planted secret in every form it looks for, and nothing in public data', (t) => {
  const key = C.secretKey!;
  const bytes = bytesOf(key);
  const seed = bytes.subarray(0, 32);
  const payload = key.slice(key.indexOf(':') + 1);
  const planted: Array<[string, string]> = [
    ['the whole key', `error: ${key}`],
    ['a 12-character piece from the middle', `error: bad key '${payload.slice(37, 49)}'`],
    ['a piece of the seed base64', `x${seed.toString('base64').slice(30, 44)}x`],
    ['base64url', bytes.toString('base64url').slice(50, 70)],
    ['the seed in hex', `seed=${seed.toString('hex')}`],
    ['12 bytes of the seed in upper-case hex', seed.toString('hex').toUpperCase().slice(16, 40)],
    ['the seed as Node prints a Buffer', require('node:util').inspect(seed)],
    ['the seed as JSON writes a Buffer', JSON.stringify({ key: seed })],
    ['the whole key in hex', bytes.toString('hex')],
  ];
  for (const [what, text] of planted) t.not(scanner.scan(what, text).length, 0, what);
  // Public data of the same key, and other text about it, are not flagged.
  const clean = [
    C.publicKey!,
    bytesOf(C.publicKey!).toString('hex'),
    ...C.signed.map((s) => s.signature),
    NARINFO,
    FINGERPRINT,
    'secret key is not valid: cache.example.org-0 decodes to 61 bytes, not 64',
  ];
  for (const text of clean) t.deepEqual(scanner.scan('public data', text), [], text);
  // A fragment shorter than 12 characters is below the threshold (the scanner's stated limit).
  t.deepEqual(scanner.scan('short', payload.slice(37, 48)), []);
});

test('control: the collectors see a thrown error’s cause chain and properties, and a child process’s stderr and stdout', async (t) => {
  const payload = C.secretKey!.slice(C.secretKey!.indexOf(':') + 1);
  const fragment = payload.slice(20, 36);
  const collected = new Collected();
  collected.call('clean message, secret in the cause', () => {
    throw new Error('could not sign', { cause: new NarsignError('ERR_X', `bad key ${fragment}`) });
  });
  collected.call('clean message, secret bytes in a property', () => {
    throw Object.assign(new NarsignError('ERR_X', 'could not sign'), { key: bytesOf(C.secretKey!).subarray(0, 32) });
  });
  collected.call('a returned object holding the key', () => ({ key: C.secretKey }));
  const findings = collected.findings(scanner);
  t.deepEqual(new Set(findings.map((f) => f.source.replace(/ \(.*$/, ''))), new Set([
    'clean message, secret in the cause',
    'clean message, secret bytes in a property',
    'a returned object holding the key',
  ]));
  t.true(errorTexts(new Error('a', { cause: new Error(`b ${fragment}`) })).some((s) => scanner.scan('x', s).length > 0));

  const child = await run(['-e', `process.stderr.write(${JSON.stringify(fragment)}); process.stdout.write(${JSON.stringify(fragment)})`], { node: true });
  const fromChild = new Collected();
  fromChild.add('child stderr', child.stderr);
  fromChild.add('child stdout', child.stdout);
  t.deepEqual(fromChild.findings(scanner).map((f) => f.source), ['child stderr', 'child stdout']);
});

// ---------------------------------------------------------------------------------------------
// The library.

test('keys.ts: parseSecretKey, toPublicKey and parsePublicKey refuse every broken key without showing any of it', (t) => {
  const collected = new Collected();
  let refusals = 0;
  for (const [i, { label, secret }] of ALL_SECRETS.entries()) {
    const other = ALL_SECRETS[(i + 1) % ALL_SECRETS.length].secret;
    for (const v of brokenVariants(secret, other)) {
      const where = `${label}, ${v.label}`;
      for (const [fn, call] of [
        ['parseSecretKey', () => parseSecretKey(v.text)],
        ['parseSecretKey with what', () => parseSecretKey(v.text, 'secret key file /etc/nix/key.sec')],
        ['toPublicKey', () => toPublicKey(v.text)],
        ['toPublicKey with what', () => toPublicKey(v.text, 'secret key on standard input')],
      ] as const) {
        const error = collected.call(`${fn}: ${where}`, call);
        t.true(isCoded(error), `${fn} refuses ${where}`);
        refusals += 1;
      }
      // A secret key given where a public key belongs (`-t "$(cat secret.key)"`): whatever the verdict, no secret shown.
      try {
        parsePublicKey(v.text, 'trusted keys entry 1');
      } catch (error) {
        collected.add(`parsePublicKey: ${where}`, ...errorTexts(error));
      }
    }
    // The whole secret key as a public key.
    t.throws(() => parsePublicKey(secret), { instanceOf: NarsignError });
    collected.call(`parsePublicKey of the secret key itself: ${label}`, () => parsePublicKey(secret));
  }
  t.true(refusals > 1000);
  assertClean(t, collected);
});

test('keys.ts: formatSecretKey with broken bytes or names, and names that are pasted keys', (t) => {
  const collected = new Collected();
  for (const { label, secret } of ALL_SECRETS) {
    const bytes = bytesOf(secret);
    const name = secret.slice(0, secret.indexOf(':'));
    const byteVariants: Array<[string, Buffer]> = [
      ['0 bytes', Buffer.alloc(0)],
      ['32 bytes', bytes.subarray(0, 32)],
      ['63 bytes', bytes.subarray(0, 63)],
      ['65 bytes', Buffer.concat([bytes, Buffer.from([1])])],
      ['a zeroed public half', Buffer.concat([bytes.subarray(0, 32), Buffer.alloc(32)])],
    ];
    for (const [what, b] of byteVariants) {
      t.true(isCoded(collected.call(`formatSecretKey ${label}, ${what}`, () => formatSecretKey({ name, secretKey: b }))), what);
    }
    const payload = secret.slice(secret.indexOf(':') + 1);
    for (const badName of [`my ${name}`, `${name}:x`, '', secret, `${name}${payload.slice(0, 30)}:`, `a b ${payload}`]) {
      t.true(isCoded(collected.call(`formatSecretKey ${label}, bad name`, () => formatSecretKey({ name: badName, secretKey: bytes }))));
    }
    // Key generation with a pasted key as the name (`narsign key generate "$(cat secret.key)"`).
    t.true(isCoded(collected.call(`generateSecretKey named by the secret ${label}`, () => generateSecretKey(secret))));
  }
  assertClean(t, collected);
});

test('signatures.ts, perl.ts, legacy2015.ts: every signing function refuses broken keys without showing them; good output shows none either', (t) => {
  const collected = new Collected();
  const info = parseNarinfo(UNSIGNED);
  for (const [i, { label, secret }] of ALL_SECRETS.entries()) {
    const other = ALL_SECRETS[(i + 1) % ALL_SECRETS.length].secret;
    for (const v of brokenVariants(secret, other)) {
      const where = `${label}, ${v.label}`;
      for (const [fn, call] of [
        ['signNarinfo', () => signNarinfo(UNSIGNED, v.text)],
        ['signNarinfo, second of two keys', () => signNarinfo(UNSIGNED, [secret, v.text])],
        ['signParsedNarinfo', () => signParsedNarinfo(info, [v.text])],
        ['signFingerprint', () => signFingerprint(FINGERPRINT, v.text)],
        ['signString (key string)', () => signString(v.text, 'hello world')],
        ['signLegacy2015', () => signLegacy2015(UNSIGNED, v.text)],
      ] as const) {
        t.true(isCoded(collected.call(`${fn}: ${where}`, call)), `${fn} refuses ${where}`);
      }
    }
    // Raw keys of the wrong length (the 2015 Store.xs form of signString).
    const bytes = bytesOf(secret);
    for (const raw of [Buffer.alloc(0), bytes.subarray(0, 32), bytes.subarray(0, 63), Buffer.concat([bytes, Buffer.alloc(1)])]) {
      t.true(isCoded(collected.call(`signString (raw ${raw.length} bytes): ${label}`, () => signString(raw, 'hello world'))));
    }
    // Parsed keys with a bad name.
    const parsed = parseSecretKey(secret);
    for (const name of ['', 'a b', 'a:b']) {
      t.true(isCoded(collected.call(`signFingerprint, parsed key named ${JSON.stringify(name)}`, () => signFingerprint(FINGERPRINT, { ...parsed, name }))));
    }
    t.true(isCoded(collected.call('signLegacy2015, parsed key with ;', () => signLegacy2015(UNSIGNED, { ...parsed, name: 'a;b' }))));
    // Parsed keys whose bytes are the wrong length (cut from the real key).
    for (const cut of [bytes.subarray(0, 32), bytes.subarray(0, 63), Buffer.concat([bytes, Buffer.alloc(1)])]) {
      const broken = { ...parsed, secretKey: cut };
      for (const [fn, call] of [
        ['signNarinfo', () => signNarinfo(UNSIGNED, broken)],
        ['signFingerprint', () => signFingerprint(FINGERPRINT, broken)],
        ['signLegacy2015', () => signLegacy2015(UNSIGNED, broken)],
      ] as const) {
        t.true(isCoded(collected.call(`${fn}, parsed key of ${cut.length} bytes: ${label}`, call)), `${fn} ${cut.length}`);
      }
    }
    // What the functions return with the good key: narinfos, signatures.
    collected.call(`signNarinfo good: ${label}`, () => signNarinfo(UNSIGNED, secret));
    collected.call(`signFingerprint good: ${label}`, () => signFingerprint(FINGERPRINT, parsed));
    collected.call(`signString good: ${label}`, () => signString(secret, 'hello world'));
    collected.call(`signString raw good: ${label}`, () => signString(bytes, 'hello world'));
    collected.call(`signLegacy2015 good: ${label}`, () => signLegacy2015(UNSIGNED, secret));
    collected.call(`toPublicKey good: ${label}`, () => toPublicKey(secret));
    parsed.secretKey.fill(0);
  }
  assertClean(t, collected);
});

test('cache.ts: signCache and signNarinfoFiles refuse broken keys without showing them; results and verify reports show none', async (t) => {
  const collected = new Collected();
  const dir = makeCache(fixtureTexts(['F1', 'F2', 'F3']));
  const keys = [ALL_SECRETS[0], ALL_SECRETS[ALL_SECRETS.length - 2], ALL_SECRETS[ALL_SECRETS.length - 1]];
  for (const [i, { label, secret }] of keys.entries()) {
    for (const v of brokenVariants(secret, keys[(i + 1) % keys.length].secret)) {
      const where = `${label}, ${v.label}`;
      t.true(isCoded(await collected.callAsync(`signCache: ${where}`, () => signCache(dir, { keys: v.text }))), where);
      t.true(isCoded(await collected.callAsync(`signCache, second key: ${where}`, () => signCache(dir, { keys: [secret, v.text], dryRun: true }))), where);
      t.true(isCoded(await collected.callAsync(`signCache 2015: ${where}`, () => signCache(dir, { keys: [v.text], format: '2015', dryRun: true }))), where);
      t.true(isCoded(await collected.callAsync(`signNarinfoFiles: ${where}`, () => signNarinfoFiles([path.join(dir, 'x.narinfo')], { keys: v.text }))), where);
      // The secret key where a public key belongs.
      t.true(isCoded(await collected.callAsync(`signCache requireTrusted=secret: ${where}`, () => signCache(dir, { keys: secret, requireTrusted: secret, dryRun: true }))));
    }
    // A parsed key whose bytes are the wrong length: refused by the batch signer.
    const parsed = parseSecretKey(secret);
    for (const cut of [parsed.secretKey.subarray(0, 63), Buffer.concat([parsed.secretKey, Buffer.alloc(1)])]) {
      t.true(isCoded(await collected.callAsync(`signCache, parsed key of ${cut.length} bytes: ${label}`, () => signCache(dir, { keys: { ...parsed, secretKey: cut }, dryRun: true }))), `${cut.length}`);
    }
  }
  // Real runs: results, a corrupt narinfo's failure, the verify report of every file.
  fs.writeFileSync(path.join(dir, `${'0'.repeat(32)}.narinfo`), 'StorePath: nonsense\n');
  const secrets = keys.map((k) => k.secret);
  await collected.callAsync('signCache', () => signCache(dir, { keys: secrets, durable: false }));
  await collected.callAsync('signCache dry run, forced', () => signCache(dir, { keys: secrets, dryRun: true, force: true }));
  await collected.callAsync('signCache 2015', () => signCache(makeCache(fixtureTexts(['F1'])), { keys: secrets, format: '2015', durable: false }));
  const reports: unknown[] = [];
  await collected.callAsync('verifyCache', () => verifyCache(dir, { trustedKeys: secrets.map((s) => toPublicKey(s)), onResult: (r) => reports.push(r) }));
  await collected.callAsync('verifyCache untrusted', () => verifyCache(dir, { trustedKeys: [], onResult: (r) => reports.push(r) }));
  collected.value('verifyCache per-file results', reports);
  t.true(reports.length >= 8);
  assertClean(t, collected);
});

test('key-files.ts: readKeyFile of key-shaped names, missing, odd and oversized files never shows a key', (t) => {
  const collected = new Collected();
  const dir = tempDir();
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  for (const [i, { label, secret }] of ALL_SECRETS.entries()) {
    const other = ALL_SECRETS[(i + 1) % ALL_SECRETS.length].secret;
    // The key itself given where the file's name belongs (`-k "$(cat secret.key)"`): whole, with the
    // file's newline or '\r\n', cut short, quoted, or just its base64. (A key mangled *inside* a file
    // is the parsers' business, below; as a file name only these pasted forms are recognised.)
    const payload = secret.slice(secret.indexOf(':') + 1);
    for (const text of [secret, `${secret}\n`, `${secret}\r\n`, secret.slice(0, 40), secret.slice(0, 70), `'${secret}'`, payload, payload.replace(/=+$/, ''), ` ${payload}\n`]) {
      const error = collected.call(`readKeyFile named by ${label}`, () => readKeyFile(text, { secret: true, warn }));
      t.true(isCoded(error), `${label}: ${String(error)}`);
    }
    // Broken key files, world-readable (so the warning is produced): reading works, parsing refuses.
    for (const v of brokenVariants(secret, other)) {
      const file = path.join(dir, `k-${crypto.randomBytes(4).toString('hex')}`);
      fs.writeFileSync(file, v.text, { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      const text = readKeyFile(file, { secret: true, warn });
      t.true(isCoded(collected.call(`parse ${file}: ${label}, ${v.label}`, () => parseSecretKey(text, `secret key in '${file}'`))), v.label);
    }
  }
  const big = path.join(dir, 'big');
  fs.writeFileSync(big, `${C.secretKey}\n`.repeat(2000));
  t.is((collected.call('oversized key file', () => readKeyFile(big, { secret: true, warn })) as NarsignError).code, 'ERR_KEY_FILE_TOO_LARGE');
  t.is((collected.call('a directory', () => readKeyFile(dir, { secret: true, warn })) as NarsignError).code, 'ERR_KEY_FILE');
  collected.add('warnings', ...warnings);
  t.true(warnings.length > 0);
  assertClean(t, collected);
});

test('process warnings emitted while signing, verifying and refusing keys show no secret', async (t) => {
  const warnings: string[] = [];
  const listener = (w: Error) => warnings.push(require('node:util').inspect(w));
  process.on('warning', listener);
  try {
    const dir = makeCache(fixtureTexts(['F1', 'F2']));
    for (const { secret } of ALL_SECRETS) {
      await signCache(dir, { keys: secret, durable: false });
      await verifyCache(dir, { trustedKeys: toPublicKey(secret) });
      t.throws(() => toPublicKey(`${secret.slice(0, -6)}`));
    }
    // The listener is live (warnings are emitted on the next tick).
    process.emitWarning('hygiene probe', { code: 'NARSIGN_TEST_PROBE' });
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  t.true(warnings.some((w) => w.includes('hygiene probe')), 'the warning listener saw the probe');
  const collected = new Collected();
  collected.add('process warnings', ...warnings);
  assertClean(t, collected);
});

// ---------------------------------------------------------------------------------------------
// The command line (dist/cli/main.js, compiled by scripts/test.js).

/** `node dist/cli/main.js ARGS…`, or `node ARGS…` with `node` (for the control). */
function run(args: readonly string[], options: RunOptions & { node?: boolean } = {}): Promise<Run> {
  return options.node ? runCli([], { ...options, command: [process.execPath, ...args] }) : runCli(args, options);
}

function collectRun(collected: Collected, what: string, r: Run): Run {
  collected.add(`stderr of narsign ${what}`, r.stderr);
  collected.add(`stdout of narsign ${what}`, r.stdout);
  return r;
}

/** The variants the CLI is run with (the library tests above run every one). */
const CLI_VARIANTS = new Set([
  'the seed alone (32 bytes)',
  "a public half that is not the seed's",
  'a name with a space',
  "the ':' lost",
  "the ':' moved 20 characters into the key",
  "the ':' moved 80 characters into the key",
]);

test('CLI: key public and sign -k / --key-env with broken keys, in files, on stdin and in the environment', async (t) => {
  const collected = new Collected();
  const dir = tempDir();
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  makeCache(fixtureTexts(['F1', 'F2']), cache);
  const jobs: Array<Promise<void>> = [];
  for (const [k, { label, secret, other }] of [
    { label: 'section C', secret: C.secretKey!, other: FRESH_NODE.secret },
    { label: 'fresh node:crypto key', secret: FRESH_NODE.secret, other: FRESH_NARSIGN },
  ].entries()) {
    for (const v of brokenVariants(secret, other)) {
      if (!CLI_VARIANTS.has(v.label) || (k === 1 && !/moved/.test(v.label))) continue;
      const file = path.join(dir, `key-${k}-${crypto.randomBytes(4).toString('hex')}`);
      fs.writeFileSync(file, `${v.text}\n`, { mode: 0o600 });
      const where = `${label}, ${v.label}`;
      const expectRefused = (what: string, r: Run) => {
        expectRefusedPlain(collected, t, `${what} (${where})`, r, 4);
        t.is(r.stdout, '', `${what} (${where})`);
      };
      jobs.push(
        run(['key', 'public'], { input: v.text }).then((r) => expectRefused('key public < stdin', r)),
        run(['sign', '-k', file, cache], { env: { NARSIGN_DEBUG: '1' } }).then((r) => expectRefused('sign -k FILE', r)),
      );
      if (k === 0 && /moved|seed/.test(v.label)) {
        jobs.push(
          run(['key', 'public', file]).then((r) => expectRefused('key public FILE', r)),
          run(['sign', '--key-env', 'NARSIGN_TEST_KEY', '--json', cache], { env: { NARSIGN_TEST_KEY: v.text } }).then((r) => expectRefused('sign --key-env VAR --json', r)),
        );
      }
    }
    // The key itself where a file's or a variable's name belongs (`-k "$(cat secret.key)"`), or a public key.
    for (const [what, args, code] of [
      ['sign -k KEY', ['sign', '-k', secret, cache], 4],
      ['sign -k KEY (cut short)', ['sign', '-k', secret.slice(0, 50), cache], 4],
      ['sign --key-env KEY', ['sign', '--key-env', secret, cache], 64],
      ['key public KEY', ['key', 'public', secret], 4],
      ['key generate KEY', ['key', 'generate', secret], 64],
      ['verify --trusted-key-file KEY', ['verify', '--trusted-key-file', secret, cache], 4],
      ['narsign KEY', [secret], 64],
      ['sign -j KEY', ['sign', '-k', file0(dir, secret), '-j', secret, cache], 64],
      ['verify -t SECRET', ['verify', '-t', secret, cache], 64],
      ['sign --require-trusted SECRET', ['sign', '-k', file0(dir, secret), '--require-trusted', secret, cache], 4],
    ] as const) {
      if (k === 1 && !/^(sign -k KEY|sign --key-env KEY|key public KEY)$/.test(what)) continue;
      jobs.push(run(args).then((r) => expectRefusedPlain(collected, t, `${what} (${label})`, r, code)));
    }
  }
  await Promise.all(jobs);
  assertClean(t, collected);
});

/** A 0600 file holding `secret`, once per secret. */
const keyFiles = new Map<string, string>();
function file0(dir: string, secret: string): string {
  let file = keyFiles.get(secret);
  if (!file) {
    file = path.join(dir, `good-${keyFiles.size}.sec`);
    fs.writeFileSync(file, secret, { mode: 0o600 });
    keyFiles.set(secret, file);
  }
  return file;
}

function expectRefusedPlain(collected: Collected, t: import('ava').ExecutionContext, what: string, r: Run, code: number): void {
  collectRun(collected, what, r);
  // (The exact status is test/cli*.test.ts's business; here: refused, with one error line.)
  t.true(r.code === code || (r.code !== 0 && r.code !== null), `${what}: exit ${r.code}: ${r.stderr}`);
  t.regex(r.stderr, /^narsign: error: /m, what);
}

test('CLI: sign (plain, --json, --dry-run, 2015, stdin), verify --json, inspect and inspect --json, key generate, warnings', async (t) => {
  const collected = new Collected();
  const dir = tempDir();
  const secret = C.secretKey!;
  const fresh = FRESH_NODE.secret;
  const keyFile = path.join(dir, 'c.sec');
  fs.writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
  const openFile = path.join(dir, 'fresh.sec');
  fs.writeFileSync(openFile, fresh);
  fs.chmodSync(openFile, 0o644); // readable by others: a warning
  const cacheOf = (name: string, ids = ['F1', 'F2', 'F3', 'X1']) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    return makeCache(fixtureTexts(ids), d);
  };
  const a = cacheOf('a');
  const b = cacheOf('b', ['F1', 'F2']);
  fs.writeFileSync(path.join(a, `${'1'.repeat(32)}.narinfo`), 'StorePath: broken\n');
  const pubs = [C.publicKey!, FRESH_NODE.public].join(' ');
  const c = (what: string, args: string[], options: Parameters<typeof run>[1] = {}) => run(args, options).then((r) => collectRun(collected, what, r));

  // Sequential where one step needs the previous one's output.
  const dry = await c('sign --dry-run', ['sign', '-k', keyFile, '-k', openFile, '--dry-run', a]);
  t.regex(dry.stderr, /would sign/);
  await c('sign --dry-run --json', ['sign', '-k', keyFile, '--dry-run', '--json', a]);
  const signed = await c('sign (group/world-readable key)', ['sign', '-k', keyFile, '-k', openFile, a]);
  t.regex(signed.stderr, /narsign: warning: .*can be read by others/);
  t.true(signed.stderr.includes(openFile), 'the warning names the file');
  await c('sign --json again', ['sign', '-k', keyFile, '--json', '--force', a]);
  await c('sign --format 2015 --json', ['sign', '--key-env', 'K', '--format', '2015', '--json', b], { env: { K: secret } });
  const stdin = await c('sign -', ['sign', '-k', keyFile, '-'], { input: UNSIGNED });
  t.regex(stdin.stdout, /^Sig: cache\.example\.org-0:/m);

  const narinfo = path.join(a, fs.readdirSync(a).find((n) => n.endsWith('.narinfo') && !n.startsWith('1'))!);
  // A narinfo whose Sig under a trusted name is malformed (verify and inspect report it).
  const mangled = path.join(dir, 'mangled.narinfo');
  fs.writeFileSync(mangled, fs.readFileSync(narinfo, 'utf8').replace(/^Sig: cache\.example\.org-0:(.*)$/m, (_, sig: string) => `Sig: cache.example.org-0:${sig.slice(3)}`));
  const runs = new Map<string, Run>(
    await Promise.all(
      ([
        ['verify', ['verify', '-t', pubs, a]],
        ['verify --json', ['verify', '-t', pubs, '--json', a]],
        ['verify --json, no trusted key', ['verify', '-t', 'nobody-1:' + Buffer.alloc(32, 9).toString('base64'), '--json', a]],
        ['verify --json --format 2015', ['verify', '-t', pubs, '--format', '2015', '--json', b]],
        ['verify mangled', ['verify', '-t', pubs, mangled]],
        ['inspect', ['inspect', '-t', pubs, narinfo]],
        ['inspect --json', ['inspect', '-t', pubs, '--json', narinfo]],
        ['inspect --json mangled', ['inspect', '-t', pubs, '--json', mangled]],
        ['fingerprint', ['fingerprint', narinfo, mangled]],
        ['key public FILE (world-readable)', ['key', 'public', openFile]],
        ['key generate --secret-file', ['key', 'generate', 'gen-1', '--secret-file', path.join(dir, 'gen.sec'), '--public-file', path.join(dir, 'gen.pub')]],
      ] as const).map(async ([what, args]) => [what, await c(what, [...args])] as const),
    ),
  );
  runs.set('key public < stdin', await c('key public < stdin', ['key', 'public'], { input: secret }));
  t.true(runs.get('verify --json')!.stdout.includes('"command": "verify"'));
  t.regex(runs.get('inspect')!.stdout, /cache\.example\.org-0: valid/);
  t.is(runs.get('key public < stdin')!.stdout.trim(), C.publicKey!);
  t.is(runs.get('key generate --secret-file')!.stdout, '', 'key generate --secret-file prints nothing');
  // The generated key is a secret too: nothing of it may have been shown.
  const generated = fs.readFileSync(path.join(dir, 'gen.sec'), 'utf8');
  const withGenerated = new SecretScanner().addKeyString('generated by key generate --secret-file', generated);
  t.deepEqual(collected.findings(withGenerated), []);
  assertClean(t, collected);
});

// The other mangled pastes into key options (the ones issue 14 found echoed are in test/adversarial/key-echo.test.ts).
for (const form of ['NAME:BASE64BASE64', 'NAME: BASE64', 'NAME:BASE64 (whole)', 'BASE64', 'seed only', 'NAME:BASE64 cut short']) {
  test(`CLI: a key pasted as '${form}' into any key option (-k, --key-env, --trusted-key-file, -t, --require-trusted, key public) is never echoed`, (t) => checkNoEcho(t, FORMS[form]));
}
