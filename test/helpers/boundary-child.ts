/**
 * The hostile half of test/native-boundary.test.ts, run in a child process (`node --import tsx`)
 * so that a crash in native code (a signal, an abort) fails that test instead of killing ava.
 *
 * Every exported function of the Ed25519 backend chosen by NARSIGN_BACKEND (lib/ed25519.ts,
 * lib/batch.ts and, on the native backend, the raw addon) is fed generated arguments of every kind —
 * right and wrong types, right and wrong lengths, every TypedArray kind and DataView, odd offsets,
 * shared, resizable, detached and shrunk buffers, spoofed view properties, Proxies, throwing
 * getters, sparse arrays and arrays changed by their own getters — and each call must either
 * return the right result (checked against node:crypto, never against narsign) or throw the error
 * its documentation promises: a TypeError or NarsignError with a `code` (a RangeError
 * ERR_OUT_OF_RANGE for batch options), or the very error a hostile getter threw.
 *
 * Output: one JSON line `{"report": …}` on stdout. The parent fails on any violation listed there,
 * on a missing report, on a non-zero exit and on any signal.
 *
 * Environment: NARSIGN_BACKEND (which backend), NARSIGN_BOUNDARY_SEED (fast-check seed),
 * NARSIGN_BOUNDARY_SCALE (multiplies the number of runs, default 1), NARSIGN_BOUNDARY_ONLY (run one
 * named scenario only: used for the known-bug cases).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import * as ed from '../../lib/ed25519';
import * as batch from '../../lib/batch';
import { NarsignError } from '../../lib/errors';
import { knownBug } from './boundary-known';
import { nodePrivateKey, nodePublicKey, nodePublicKeyOfSeed as nodePublicKeyOfSeedUncached } from './oracles';

const root = path.join(__dirname, '..', '..');
const seed = Number(process.env.NARSIGN_BOUNDARY_SEED ?? Date.now() % 2 ** 31);
const scale = Number(process.env.NARSIGN_BOUNDARY_SCALE ?? 1);
const only = process.env.NARSIGN_BOUNDARY_ONLY;

// ---- bookkeeping ---------------------------------------------------------------------------------

interface Violation {
  phase: string;
  detail: string;
}
const violations: Violation[] = [];
const outcomes: Record<string, number> = {};
let calls = 0;
const phases: string[] = [];
/** Addon exports covered only by the generic phase (no precise expectations yet). */
const generic: string[] = [];
/** Milliseconds per phase, for the report. */
const timings: Record<string, number> = {};
/** Violations recognised as known, reported bugs (test/helpers/boundary-known.ts), by id. */
const knownHits: Record<string, number> = {};
let currentPhase = '';
function count(what: string): void {
  outcomes[what] = (outcomes[what] ?? 0) + 1;
}

/** A contract violation: thrown inside properties (so fast-check shrinks it), recorded by runPhase. */
class Broken extends Error {}
function broken(message: string): never {
  throw new Broken(message);
}

/**
 * Phases named `repro:<id>` reproduce a known, open bug (boundary-known.ts) and run only when asked
 * for; `regression:<id>` phases reproduce fixed ones and run every time.
 */
async function runPhase(name: string, body: () => void | Promise<void>): Promise<void> {
  if (only !== undefined ? only !== name : name.startsWith('repro:')) return;
  phases.push(name);
  currentPhase = name;
  const start = Date.now();
  try {
    await body();
  } catch (error) {
    // fast-check puts the property's own error (the complaint) in `cause`.
    const cause = (error as { cause?: unknown }).cause;
    const complaint = cause instanceof Error ? `${cause.message}\n` : '';
    violations.push({ phase: name, detail: `${complaint}${error instanceof Error ? error.message : String(error)}` });
  }
  timings[name] = Date.now() - start;
}

// ---- the functions under test ------------------------------------------------------------------------

interface RawAddon {
  signDetachedInto(sk: unknown, m: unknown, out: unknown): unknown;
  signMany(sk: unknown, m: unknown, out?: unknown): unknown;
  verifyMany(items: unknown): unknown;
  batchJob(sk?: unknown): unknown;
  batchSign(...args: unknown[]): unknown;
  batchVerify(...args: unknown[]): unknown;
  batchCancel(job: unknown): unknown;
  batchClose(job: unknown): unknown;
  setErrorClass(c: unknown): unknown;
  generateKeyPair(): unknown;
  keyPairFromSeed(s: unknown): unknown;
  publicKeyFromSecretKey(s: unknown): unknown;
  signDetached(sk: unknown, m: unknown): unknown;
  verifyDetached(pk: unknown, s: unknown, m: unknown): unknown;
  readFiles(...args: unknown[]): unknown;
  writeFiles(...args: unknown[]): unknown;
}

/**
 * The addon object lib/backend.ts loaded: node-gyp-build finds the same file (NARSIGN_PREBUILD
 * included, as under `npm run test:asan`), and require caches it, so it is the same instance.
 */
function rawAddon(): RawAddon | undefined {
  if (ed.backend !== 'native') return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as (d: string) => unknown)(root) as RawAddon;
}
const addon = rawAddon();

// ---- independent oracles (node:crypto and BigInt arithmetic only) ----------------------------------

// node:crypto's key objects, made once per key: createPrivateKey costs about a millisecond (OpenSSL 3).
const privateKeys = new Map<string, crypto.KeyObject>();
const publicKeys = new Map<string, crypto.KeyObject>();
const publicOfSeed = new Map<string, Buffer>();
function cached<T>(map: Map<string, T>, key: Uint8Array, make: () => T): T {
  const id = Buffer.from(key).toString('hex');
  let value = map.get(id);
  if (value === undefined) {
    if (map.size > 10_000) map.clear();
    value = make();
    map.set(id, value);
  }
  return value;
}
const nodeSign = (seedBytes: Uint8Array, message: Uint8Array): Buffer =>
  crypto.sign(null, message, cached(privateKeys, seedBytes, () => nodePrivateKey(seedBytes)));
const nodeVerify = (publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean =>
  crypto.verify(null, message, cached(publicKeys, publicKey, () => nodePublicKey(publicKey)), signature);
const nodePublicKeyOfSeed = (seedBytes: Uint8Array): Buffer => cached(publicOfSeed, seedBytes, () => nodePublicKeyOfSeedUncached(seedBytes));

const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const leBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
function bigLe(n: bigint, size: number): Buffer {
  const hex = n.toString(16).padStart(size * 2, '0');
  return Buffer.from(hex, 'hex').reverse();
}
const sha512 = (...parts: Uint8Array[]): Buffer => crypto.createHash('sha512').update(Buffer.concat(parts)).digest();

/**
 * What libsodium's crypto_sign_detached makes with a 64-byte secret key seed‖stored: it hashes the
 * STORED public half, not the one derived from the seed. For a consistent key this is exactly
 * node:crypto's signature; otherwise S moves by (k' − k)·a, computed here from node's signature.
 */
function oracleSign(secretKey: Uint8Array, message: Uint8Array): Buffer {
  const seedBytes = secretKey.subarray(0, 32);
  const stored = secretKey.subarray(32, 64);
  const derived = nodePublicKeyOfSeed(seedBytes);
  const good = nodeSign(seedBytes, message);
  if (derived.equals(Buffer.from(stored))) return good;
  const h = sha512(seedBytes);
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  const a = leBig(h.subarray(0, 32));
  const R = good.subarray(0, 32);
  const k = leBig(sha512(R, derived, message)) % L;
  const k2 = leBig(sha512(R, stored, message)) % L;
  const S = (((leBig(good.subarray(32)) + (k2 - k) * a) % L) + L) % L;
  return Buffer.concat([R, bigLe(S, 32)]);
}

// ---- key pool ------------------------------------------------------------------------------------------

interface PoolKey {
  seed: Buffer;
  publicKey: Buffer;
  secretKey: Buffer;
  /** seed ‖ another key's public half: libsodium signs with it all the same. */
  mismatched: Buffer;
}
const pool: PoolKey[] = [0, 1, 2].map(() => {
  const s = crypto.randomBytes(32);
  const publicKey = nodePublicKeyOfSeed(s);
  return { seed: s, publicKey, secretKey: Buffer.concat([s, publicKey]), mismatched: Buffer.alloc(0) };
});
pool.forEach((k, i) => (k.mismatched = Buffer.concat([k.seed, pool[(i + 1) % pool.length].publicKey])));

// ---- argument descriptions and the values built from them -----------------------------------------

const ELEMENT_SIZE = {
  Uint8Array: 1, Int8Array: 1, Uint8ClampedArray: 1, Int16Array: 2, Uint16Array: 2, Int32Array: 4, Uint32Array: 4,
  Float32Array: 4, Float64Array: 8, BigInt64Array: 8, BigUint64Array: 8, DataView: 1, Buffer: 1, Subclass: 1,
} as const;
type Kind = keyof typeof ELEMENT_SIZE;
const KINDS = Object.keys(ELEMENT_SIZE) as Kind[];
type Backing = 'ab' | 'sab' | 'rab' | 'gsab';
/** What happens to the view after it is built, before the call. */
type After = 'none' | 'detach' | 'detach-spoofed' | 'shrink' | 'grow' | 'spoof' | 'spoof-throwing';

class Subclass extends Uint8Array {}

type Content =
  | { c: 'seed' | 'sk' | 'pk' | 'mismatched'; k: number }
  /** a signature by key k of the message given in the same call (flipped at bit `flip` when ≥ 0) */
  | { c: 'sigOf'; k: number; flip: number }
  | { c: 'bytes'; bytes: Uint8Array };

interface ViewDesc {
  t: 'view';
  content: Content;
  kind: Kind;
  backing: Backing;
  offset: number;
  slack: number;
  tracking: boolean;
  after: After;
}
type OtherKind =
  | 'undefined' | 'null' | 'true' | 'zero' | 'nan' | 'sixty-four' | 'neg' | 'huge-number' | 'bigint' | 'symbol'
  | 'plain' | 'fake-view' | 'array64' | 'empty-array' | 'function' | 'class' | 'arraybuffer' | 'sab-raw'
  | 'proxy-view' | 'proxy-throwing' | 'revoked' | 'boxed-string' | 'date' | 'map' | 'promise' | 'null-proto' | 'throwing-getters';
interface OtherDesc {
  t: 'other';
  which: OtherKind;
}
interface StrDesc {
  t: 'str';
  s: string;
}
type ArgDesc = ViewDesc | OtherDesc | StrDesc;

const sentinel = new Error('hostile getter or trap');
const throwSentinel = (): never => {
  throw sentinel;
};

/** What the implementation must see: bytes, a detached view, a string's UTF-8, or not bytes at all. */
type Model = { m: 'bytes'; bytes: Buffer } | { m: 'string'; bytes: Buffer } | { m: 'detached' } | { m: 'other'; revoked?: boolean };

/** Detaches an ArrayBuffer (transfers it away); false for buffers that cannot be (shared, already detached). */
function detach(buffer: ArrayBufferLike): boolean {
  if (!(buffer instanceof ArrayBuffer)) return false;
  try {
    structuredClone(buffer, { transfer: [buffer] });
    return true;
  } catch {
    return false; // already detached
  }
}

function contentBytes(c: Content, message: Buffer | undefined): Buffer {
  switch (c.c) {
    case 'seed':
      return pool[c.k].seed;
    case 'sk':
      return pool[c.k].secretKey;
    case 'pk':
      return pool[c.k].publicKey;
    case 'mismatched':
      return pool[c.k].mismatched;
    case 'sigOf': {
      const signature = nodeSign(pool[c.k].seed, message ?? Buffer.alloc(0));
      if (c.flip >= 0) signature[(c.flip >> 3) % 64] ^= 1 << (c.flip & 7);
      return signature;
    }
    default:
      return Buffer.from(c.bytes);
  }
}

function buildView(d: ViewDesc, bytes: Buffer): { value: ArrayBufferView; model: Model } {
  let kind = d.kind;
  const e = ELEMENT_SIZE[kind];
  if (bytes.length % e !== 0) kind = 'Uint8Array';
  const size = ELEMENT_SIZE[kind];
  const offset = size === 1 ? d.offset : d.offset * size;
  const tracking = d.tracking && (d.backing === 'rab' || d.backing === 'gsab') && kind !== 'Buffer';
  const slack = tracking ? 0 : d.slack * size;
  const total = offset + bytes.length + slack;
  const max = { maxByteLength: total * 2 + 64 };
  const buffer: ArrayBufferLike =
    d.backing === 'ab' ? new ArrayBuffer(total)
      : d.backing === 'sab' ? new SharedArrayBuffer(total)
        : d.backing === 'rab' ? new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(total, max)
          : new (SharedArrayBuffer as unknown as new (n: number, o: object) => SharedArrayBuffer)(total, max);
  const all = new Uint8Array(buffer);
  all.fill(0xa5); // noise around the view: reading past it would change the result
  all.set(bytes, offset);
  const length = tracking ? undefined : bytes.length / size;
  let value: ArrayBufferView;
  if (kind === 'DataView') value = new DataView(buffer, offset, tracking ? undefined : bytes.length);
  else if (kind === 'Buffer') value = Buffer.from(buffer, offset, bytes.length);
  else if (kind === 'Subclass') value = new Subclass(buffer as ArrayBuffer, offset, length);
  else {
    const Ctor = globalThis[kind] as unknown as new (b: ArrayBufferLike, o: number, l?: number) => ArrayBufferView;
    value = new Ctor(buffer, offset, length);
  }
  let visible = Buffer.from(bytes);
  const after = d.after;
  if (after === 'detach' && detach(buffer)) return { value, model: { m: 'detached' } };
  if (after === 'detach-spoofed' && detach(buffer)) {
    // A detached buffer that claims, by an own property, still to have bytes.
    Object.defineProperty(buffer, 'byteLength', { value: 64 });
    return { value, model: { m: 'detached' } };
  }
  if (after === 'shrink' && d.backing === 'rab') {
    const keep = offset + Math.floor(bytes.length / 2 / size) * size;
    (buffer as ArrayBuffer & { resize(n: number): void }).resize(keep);
    // A fixed-length view that no longer fits is out of bounds: JS gives it 0 bytes. A tracking one
    // just gets shorter.
    visible = tracking ? visible.subarray(0, keep - offset) : Buffer.alloc(0);
  } else if (after === 'grow' && tracking) {
    const b = buffer as ArrayBuffer & { resize?(n: number): void; grow?(n: number): void };
    if (d.backing === 'rab') b.resize!(total + 2 * size);
    else b.grow!(total + 2 * size);
    visible = Buffer.concat([visible, Buffer.alloc(2 * size)]);
  } else if (after === 'spoof' || after === 'spoof-throwing') {
    // Own properties shadowing the prototype's getters: the real bytes are what counts.
    const fake = after === 'spoof' ? { value: 64 } : { get: throwSentinel };
    for (const prop of ['byteLength', 'byteOffset', 'length']) Object.defineProperty(value, prop, fake);
    Object.defineProperty(value, 'buffer', after === 'spoof' ? { value: new ArrayBuffer(64) } : { get: throwSentinel });
  }
  return { value, model: { m: 'bytes', bytes: visible } };
}

function buildOther(which: OtherKind): { value: unknown; model: Model } {
  const other = (value: unknown, revoked = false): { value: unknown; model: Model } => ({ value, model: { m: 'other', revoked } });
  switch (which) {
    case 'undefined': return other(undefined);
    case 'null': return other(null);
    case 'true': return other(true);
    case 'zero': return other(0);
    case 'nan': return other(NaN);
    case 'sixty-four': return other(64);
    case 'neg': return other(-1);
    case 'huge-number': return other(2 ** 53);
    case 'bigint': return other(64n);
    case 'symbol': return other(Symbol('x'));
    case 'plain': return other({ length: 64, byteLength: 64, byteOffset: 0, buffer: new ArrayBuffer(64) });
    case 'fake-view': return other(Object.create(Uint8Array.prototype));
    case 'array64': return other(new Array(64).fill(1));
    case 'empty-array': return other([]);
    case 'function': return other(() => 64);
    case 'class': return other(class {});
    case 'arraybuffer': return other(new ArrayBuffer(64));
    case 'sab-raw': return other(new SharedArrayBuffer(64));
    case 'proxy-view': return other(new Proxy(new Uint8Array(64), {}));
    case 'proxy-throwing':
      return other(new Proxy({}, { get: throwSentinel, has: throwSentinel, getPrototypeOf: throwSentinel, ownKeys: throwSentinel, getOwnPropertyDescriptor: throwSentinel }));
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return other(proxy, true);
    }
    case 'boxed-string': return other(new String('boxed'));
    case 'date': return other(new Date(0));
    case 'map': return other(new Map([[0, 1]]));
    case 'promise': return other(Promise.resolve(new Uint8Array(64)));
    case 'null-proto': return other(Object.create(null));
    case 'throwing-getters': {
      const o = {};
      for (const p of ['publicKey', 'signature', 'message', 'buffer', 'byteLength', 'length', 'then']) Object.defineProperty(o, p, { get: throwSentinel });
      return other(o);
    }
  }
}

function build(d: ArgDesc, message?: Buffer): { value: unknown; model: Model } {
  if (d.t === 'str') return { value: d.s, model: { m: 'string', bytes: Buffer.from(d.s, 'utf8') } };
  if (d.t === 'other') return buildOther(d.which);
  return buildView(d, contentBytes(d.content, message));
}

// ---- arbitraries --------------------------------------------------------------------------------------

const LENGTHS = [0, 1, 31, 32, 33, 63, 64, 65];
const arbKind = fc.constantFrom(...KINDS);
const arbBacking = fc.constantFrom<Backing>('ab', 'ab', 'ab', 'sab', 'rab', 'gsab');
const arbAfter = fc.constantFrom<After>('none', 'none', 'none', 'none', 'detach', 'detach-spoofed', 'shrink', 'grow', 'spoof', 'spoof-throwing');
const arbOther = fc.constantFrom<OtherKind>(
  'undefined', 'null', 'true', 'zero', 'nan', 'sixty-four', 'neg', 'huge-number', 'bigint', 'symbol', 'plain', 'fake-view',
  'array64', 'empty-array', 'function', 'class', 'arraybuffer', 'sab-raw', 'proxy-view', 'proxy-throwing', 'revoked',
  'boxed-string', 'date', 'map', 'promise', 'null-proto', 'throwing-getters',
);
const arbKey = fc.nat({ max: pool.length - 1 });

function arbView(content: fc.Arbitrary<Content>): fc.Arbitrary<ViewDesc> {
  return fc.record({
    t: fc.constant('view' as const),
    content,
    kind: arbKind,
    backing: arbBacking,
    offset: fc.nat({ max: 9 }),
    slack: fc.nat({ max: 5 }),
    tracking: fc.boolean(),
    after: arbAfter,
  });
}
const arbRandomBytes = (lengths: number[]): fc.Arbitrary<Content> =>
  fc.constantFrom(...lengths).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })).map((bytes) => ({ c: 'bytes' as const, bytes }));

const arbString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 330, maxLength: 700 }), // around the 1,024-byte stack buffer of native Message
  fc.constantFrom('', '\ud800', 'a\udfffb', '\ud83d\ude00', '\u0000', 'é'.repeat(400), '\ud800'.repeat(342)),
).map((s): StrDesc => ({ t: 'str', s }));

/** An argument meant to be key material of `role`: usually right, often wrong in every way. */
function arbKeyArg(role: 'seed' | 'sk' | 'pk' | 'sig'): fc.Arbitrary<ArgDesc> {
  const right: fc.Arbitrary<Content> =
    role === 'sig'
      ? fc.record({ c: fc.constant('sigOf' as const), k: arbKey, flip: fc.oneof(fc.constant(-1), fc.nat({ max: 511 })) })
      : role === 'sk'
        ? fc.record({ c: fc.constantFrom<'sk' | 'mismatched'>('sk', 'sk', 'mismatched'), k: arbKey })
        : fc.record({ c: fc.constant(role), k: arbKey });
  return fc.oneof(
    { weight: 8, arbitrary: arbView(right) },
    { weight: 3, arbitrary: arbView(arbRandomBytes(LENGTHS)) },
    { weight: 3, arbitrary: arbOther.map((which): ArgDesc => ({ t: 'other', which })) },
    { weight: 1, arbitrary: arbString },
  );
}
const arbMessageArg: fc.Arbitrary<ArgDesc> = fc.oneof(
  { weight: 5, arbitrary: arbView(arbRandomBytes([0, 1, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 3000])) },
  { weight: 5, arbitrary: arbString },
  { weight: 2, arbitrary: arbOther.map((which): ArgDesc => ({ t: 'other', which })) },
);

// ---- expected outcomes ----------------------------------------------------------------------------------

type Expected =
  | { ok: true; check: (result: unknown) => string | undefined }
  | { ok: false; error: 'TypeError' | 'NarsignError' | 'RangeError' | 'sentinel' | 'revoked'; code?: string; mentions?: string };

const typeErr = (what: string, code = 'ERR_INVALID_ARG_TYPE'): Expected => ({ ok: false, error: 'TypeError', code, mentions: what });
const narErr = (code: string): Expected => ({ ok: false, error: 'NarsignError', code });

/** The error for a view argument `what` of exactly `size` bytes, or undefined when it is fine. */
function fixedProblem(model: Model, what: string, size: number, code: string): Expected | undefined {
  if (model.m === 'other' || model.m === 'string') return typeErr(what);
  if (model.m === 'detached') return typeErr(what, 'ERR_DETACHED_BUFFER');
  if (model.bytes.length !== size) return narErr(code);
  return undefined;
}
function messageProblem(model: Model, what: string): Expected | undefined {
  if (model.m === 'other') return typeErr(what);
  if (model.m === 'detached') return typeErr(what, 'ERR_DETACHED_BUFFER');
  return undefined;
}
const bytesOf = (model: Model): Buffer => (model.m === 'bytes' || model.m === 'string' ? model.bytes : Buffer.alloc(0));

function isView64(result: unknown, expected: Buffer): string | undefined {
  if (!Buffer.isBuffer(result)) return `result is not a Buffer: ${describe(result)}`;
  if (!result.equals(expected)) return `wrong bytes: got ${result.toString('hex')}, expected ${expected.toString('hex')}`;
  return undefined;
}

function describe(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.constructor.name}(${JSON.stringify((value as { code?: string }).code)}): ${value.message.slice(0, 200)}`;
    if (Buffer.isBuffer(value)) return `Buffer<${value.toString('hex').slice(0, 40)}…>`;
    return typeof value === 'symbol' ? value.toString() : JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Checks one outcome against one or more acceptable expectations; returns a complaint or undefined. */
function judge(outcome: { threw: boolean; value: unknown }, expected: Expected | Expected[]): string | undefined {
  const list = Array.isArray(expected) ? expected : [expected];
  const complaints: string[] = [];
  for (const e of list) {
    const complaint = judgeOne(outcome, e);
    if (complaint === undefined) return undefined;
    complaints.push(complaint);
  }
  return complaints.join(' | or | ');
}

function judgeOne(outcome: { threw: boolean; value: unknown }, e: Expected): string | undefined {
  const { threw, value } = outcome;
  if (e.ok) {
    if (threw) return `expected a result, got ${describe(value)}`;
    return e.check(value);
  }
  if (!threw) return `expected ${e.error} ${e.code ?? ''}, got a result ${describe(value)}`;
  if (e.error === 'sentinel') return value === sentinel ? undefined : `expected the getter's own error, got ${describe(value)}`;
  const error = value as Error & { code?: unknown };
  if (e.error === 'revoked') {
    return error instanceof TypeError && /revoked/.test(error.message) ? undefined : `expected a revoked-Proxy TypeError, got ${describe(value)}`;
  }
  const ctorOk =
    e.error === 'TypeError' ? error instanceof TypeError : e.error === 'RangeError' ? error instanceof RangeError : error instanceof NarsignError;
  if (!ctorOk) return `expected ${e.error} ${e.code ?? ''}, got ${describe(value)}`;
  if (typeof error.code !== 'string') return `error without a code: ${describe(value)}`;
  if (e.code !== undefined && error.code !== e.code) return `expected code ${e.code}, got ${describe(value)}`;
  if (e.mentions !== undefined && !error.message.includes(e.mentions)) return `message should name ${e.mentions}: ${describe(value)}`;
  return undefined;
}

/** Any error a caller may legitimately see: a coded TypeError/NarsignError/RangeError, or the hostile getter's own. */
function legitimateError(value: unknown): boolean {
  if (value === sentinel) return true;
  if (value instanceof TypeError && /revoked/.test(value.message)) return true;
  const code = (value as { code?: unknown } | null)?.code;
  return (value instanceof TypeError || value instanceof NarsignError || value instanceof RangeError) && typeof code === 'string';
}

function call(fn: () => unknown): { threw: boolean; value: unknown } {
  calls++;
  try {
    return { threw: false, value: fn() };
  } catch (value) {
    return { threw: true, value };
  }
}
async function callAsync(fn: () => unknown): Promise<{ threw: boolean; value: unknown; sync?: boolean }> {
  calls++;
  let promise: unknown;
  try {
    promise = fn();
  } catch (value) {
    return { threw: true, value, sync: true };
  }
  if (!(promise instanceof Promise)) return { threw: false, value: promise, sync: true };
  try {
    return { threw: false, value: await promise };
  } catch (value) {
    return { threw: true, value };
  }
}

function record(outcome: { threw: boolean; value: unknown }): void {
  if (!outcome.threw) count('returned');
  else count(`threw ${outcome.value === sentinel ? 'getter error' : `${(outcome.value as Error)?.constructor?.name} ${(outcome.value as { code?: string })?.code}`}`);
}

// ---- phases: the single functions ----------------------------------------------------------------------

const runs = (n: number): number => Math.max(1, Math.round(n * scale));
const fcParams = (n: number) => ({ seed, numRuns: runs(n), endOnFailure: false });

/** Renders an argument description short enough for a report. */
const show = (d: unknown): string =>
  JSON.stringify(d, (_k, v) => (v instanceof Uint8Array ? `bytes(${v.length})` : typeof v === 'bigint' ? `${v}n` : v));

/**
 * A complaint about `input`: thrown (fast-check then shrinks it) unless it is a known, reported bug,
 * which is only counted — so that it does not hide other bugs in the same phase.
 */
function complain(error: unknown, input: unknown): void {
  if (!(error instanceof Broken)) throw error;
  const shown = show(input);
  const known = only === undefined ? knownBug(ed.backend, currentPhase, error.message, shown) : undefined;
  if (known) {
    knownHits[known.id] = (knownHits[known.id] ?? 0) + 1;
    return;
  }
  throw new Broken(`${error.message}\n   input: ${shown}`);
}

function property<T>(arb: fc.Arbitrary<T>, body: (value: T) => void): fc.IPropertyWithHooks<[T]> {
  return fc.property(arb, (value) => {
    try {
      body(value);
    } catch (error) {
      complain(error, value);
    }
  });
}

async function singleFunctions(): Promise<void> {
  await runPhase('keyPairFromSeed', () =>
    fc.assert(
      property(arbKeyArg('seed'), (d) => {
        const a = build(d);
        const problem = fixedProblem(a.model, 'seed', 32, 'ERR_SEED_INVALID');
        const out = call(() => ed.keyPairFromSeed(a.value as never));
        record(out);
        const complaint = judge(out, problem ?? {
          ok: true,
          check: (r) => {
            const pair = r as { publicKey: Buffer; secretKey: Buffer };
            const s = bytesOf(a.model);
            const pk = nodePublicKeyOfSeed(s);
            return isView64(pair?.secretKey, Buffer.concat([s, pk])) ?? (Buffer.isBuffer(pair.publicKey) && pair.publicKey.equals(pk) ? undefined : 'wrong public key');
          },
        });
        if (complaint) broken(`keyPairFromSeed: ${complaint}`);
      }),
      fcParams(400),
    ),
  );

  await runPhase('publicKeyFromSecretKey', () =>
    fc.assert(
      property(arbKeyArg('sk'), (d) => {
        const a = build(d);
        const out = call(() => ed.publicKeyFromSecretKey(a.value as never));
        record(out);
        const complaint = judge(out, fixedProblem(a.model, 'secretKey', 64, 'ERR_SECRET_KEY_INVALID') ?? {
          ok: true,
          check: (r) => (Buffer.isBuffer(r) && r.equals(bytesOf(a.model).subarray(32)) ? undefined : `wrong public half ${describe(r)}`),
        });
        if (complaint) broken(`publicKeyFromSecretKey: ${complaint}`);
      }),
      fcParams(400),
    ),
  );

  await runPhase('generateKeyPair', () =>
    fc.assert(
      property(fc.array(arbOther.map((which): ArgDesc => ({ t: 'other', which })), { maxLength: 3 }), (ds) => {
        const args = ds.map((d) => build(d).value);
        const out = call(() => (ed.generateKeyPair as (...a: unknown[]) => unknown)(...args));
        record(out);
        const complaint = judge(out, {
          ok: true,
          check: (r) => {
            const pair = r as { publicKey: Buffer; secretKey: Buffer };
            if (!Buffer.isBuffer(pair?.secretKey) || pair.secretKey.length !== 64) return 'no 64-byte secret key';
            const pk = nodePublicKeyOfSeed(pair.secretKey.subarray(0, 32));
            return pair.publicKey.equals(pk) && pair.secretKey.subarray(32).equals(pk) ? undefined : 'inconsistent key pair';
          },
        });
        if (complaint) broken(`generateKeyPair: ${complaint}`);
      }),
      fcParams(60),
    ),
  );

  // lib's signDetached (over the addon's signDetachedInto) and, on native, the addon's own signDetached.
  const signers: Array<[string, (k: unknown, m: unknown) => unknown, number]> = [['signDetached', ed.signDetached as never, 1500]];
  if (addon) signers.push(['addon.signDetached', (k, m) => addon.signDetached(k, m), 500]);
  for (const [name, sign, numRuns] of signers) {
    await runPhase(name, () =>
      fc.assert(
        property(fc.tuple(arbKeyArg('sk'), arbMessageArg), ([dk, dm]) => {
          const k = build(dk);
          const m = build(dm);
          const out = call(() => sign(k.value, m.value));
          record(out);
          const expected =
            fixedProblem(k.model, 'secretKey', 64, 'ERR_SECRET_KEY_INVALID') ??
            messageProblem(m.model, 'message') ?? { ok: true as const, check: (r: unknown) => isView64(r, oracleSign(bytesOf(k.model), bytesOf(m.model))) };
          const complaint = judge(out, expected);
          if (complaint) broken(`${name}: ${complaint}`);
        }),
        fcParams(numRuns),
      ),
    );
  }

  await runPhase('verifyDetached', () =>
    fc.assert(
      property(fc.tuple(arbKeyArg('pk'), arbKeyArg('sig'), arbMessageArg), ([dp, ds, dm]) => {
        const m = build(dm);
        const p = build(dp);
        const s = build(ds, bytesOf(m.model));
        const out = call(() => ed.verifyDetached(p.value as never, s.value as never, m.value as never));
        record(out);
        const expected =
          fixedProblem(p.model, 'publicKey', 32, 'ERR_PUBLIC_KEY_INVALID') ??
          fixedProblem(s.model, 'signature', 64, 'ERR_SIGNATURE_INVALID') ??
          messageProblem(m.model, 'message') ?? {
            ok: true as const,
            check: (r: unknown) => {
              const want = nodeVerify(bytesOf(p.model), bytesOf(s.model), bytesOf(m.model));
              return r === want ? undefined : `verdict ${describe(r)}, node:crypto says ${want}`;
            },
          };
        const complaint = judge(out, expected);
        if (complaint) broken(`verifyDetached: ${complaint}`);
      }),
      fcParams(1500),
    ),
  );

  if (addon) {
    await runPhase('addon.signDetachedInto', () =>
      fc.assert(
        property(fc.tuple(arbKeyArg('sk'), arbMessageArg, arbView(arbRandomBytes([0, 1, 63, 64, 65])), fc.boolean()), ([dk, dm, doOut, otherOut]) => {
          const k = build(dk);
          const m = build(dm);
          const o = otherOut ? buildOther('plain') : build(doOut);
          const out = call(() => addon.signDetachedInto(k.value, m.value, o.value));
          record(out);
          const outputProblem =
            o.model.m === 'other' || o.model.m === 'string' ? typeErr('output')
              : o.model.m === 'detached' ? typeErr('output', 'ERR_DETACHED_BUFFER')
                : o.model.bytes.length !== 64 ? narErr('ERR_OUTPUT_SIZE') : undefined;
          const expected =
            fixedProblem(k.model, 'secretKey', 64, 'ERR_SECRET_KEY_INVALID') ?? messageProblem(m.model, 'message') ?? outputProblem ?? {
              ok: true as const,
              check: (r: unknown) => {
                if (r !== undefined) return `returned ${describe(r)}`;
                const view = o.value as ArrayBufferView;
                // The real bytes of the output view (its own properties may be spoofed).
                const written = Buffer.from(realBytes(view));
                const want = oracleSign(bytesOf(k.model), bytesOf(m.model));
                return written.equals(want) ? undefined : `output holds ${written.toString('hex')}, expected ${want.toString('hex')}`;
              },
            };
          const complaint = judge(out, expected);
          if (complaint) broken(`signDetachedInto: ${complaint}`);
        }),
        fcParams(600),
      ),
    );
  }
}

// Intrinsic view accessors: never fooled by own properties.
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsic = (proto: object, name: string) => Object.getOwnPropertyDescriptor(proto, name)!.get!;
const taBuffer = intrinsic(TypedArrayProto, 'buffer');
const taOffset = intrinsic(TypedArrayProto, 'byteOffset');
const taLength = intrinsic(TypedArrayProto, 'byteLength');
const dvBuffer = intrinsic(DataView.prototype, 'buffer');
const dvOffset = intrinsic(DataView.prototype, 'byteOffset');
const dvLength = intrinsic(DataView.prototype, 'byteLength');
function realBytes(view: ArrayBufferView): Uint8Array {
  const isDataView = view instanceof DataView;
  const buffer = (isDataView ? dvBuffer : taBuffer).call(view) as ArrayBufferLike;
  let offset = 0;
  let length = 0;
  try {
    offset = (isDataView ? dvOffset : taOffset).call(view) as number;
    length = (isDataView ? dvLength : taLength).call(view) as number;
  } catch {
    // an out-of-bounds DataView: no bytes
  }
  // (A view over a detached buffer has length 0, and no view can be made over that buffer.)
  return length === 0 ? new Uint8Array(0) : new Uint8Array(buffer, offset, length);
}

// ---- phases: the batches --------------------------------------------------------------------------------

/** What a getter on an array element does, once, when the batch reads that element. */
type Effect =
  | { e: 'none' }
  | { e: 'detachKey' }
  | { e: 'detachOutput' }
  | { e: 'truncate'; to: number }
  | { e: 'push' }
  | { e: 'replace'; at: number; with: ArgDesc }
  | { e: 'throw' }
  | { e: 'detachEarlier' }
  | { e: 'mutateEarlier' };
interface Slot<T> {
  /** plain: a data element; getter: an accessor running `effect` the first time it is read; hole: no element */
  slot: 'plain' | 'getter' | 'hole';
  value: T;
  effect: Effect;
}

const arbEffect = (n: number): fc.Arbitrary<Effect> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant<Effect>({ e: 'none' }) },
    { weight: 1, arbitrary: fc.constant<Effect>({ e: 'detachKey' }) },
    { weight: 1, arbitrary: fc.constant<Effect>({ e: 'detachOutput' }) },
    { weight: 1, arbitrary: fc.nat({ max: n }).map((to): Effect => ({ e: 'truncate', to })) },
    { weight: 1, arbitrary: fc.constant<Effect>({ e: 'push' }) },
    { weight: 1, arbitrary: fc.record({ e: fc.constant('replace' as const), at: fc.nat({ max: Math.max(0, n - 1) }), with: arbMessageArg }) },
    { weight: 1, arbitrary: fc.constant<Effect>({ e: 'throw' }) },
    { weight: 1, arbitrary: fc.constant<Effect>({ e: 'detachEarlier' }) },
    { weight: 1, arbitrary: fc.constant<Effect>({ e: 'mutateEarlier' }) },
  );

function arbSlots<T>(arbValue: fc.Arbitrary<T>, maxLength: number): fc.Arbitrary<Slot<T>[]> {
  return fc.integer({ min: 0, max: maxLength }).chain((n) =>
    fc.array(
      fc.record({ slot: fc.constantFrom<Slot<T>['slot']>('plain', 'plain', 'plain', 'getter', 'getter', 'hole'), value: arbValue, effect: arbEffect(n) }),
      { minLength: n, maxLength: n },
    ),
  );
}

/** For verify items: what the element is, and the models of its three fields. */
interface ItemModel {
  kind: 'object' | 'not-object' | 'throwing' | 'revoked';
  publicKey: Model;
  signature: Model;
  message: Model;
}

/** One element: its value, its model, and the views inside it (for the *Earlier effects). */
interface Cell {
  present: boolean;
  value?: unknown;
  model?: Model;
  item?: ItemModel;
  views: ArrayBufferView[];
  effect?: Effect;
}

/** What a `push` effect appends. */
const PUSHED: Cell = { present: true, value: 'pushed', model: { m: 'string', bytes: Buffer.from('pushed') }, views: [] };

/** The buffers the getters may detach, and whether they did. */
interface World {
  keyBuffer?: ArrayBufferLike;
  outputBuffer?: ArrayBufferLike;
  outputDetached: boolean;
}

/**
 * The array made of `cells` (a getter for each cell with an effect) and a simulation: `cellAt(i)`
 * replays on a model, in index order, what reading element i does — the same effects on the model
 * that the getters apply to the real array and buffers.
 */
function buildArray(cells: Cell[], world: World, replacement: (d: ArgDesc) => Cell) {
  const array: unknown[] = new Array(cells.length);
  const current = cells.slice(); // the real array's cells, as getters change it
  /** The cell each getter (by its own index) put in place: two getters may replace the same element. */
  const replaced = new Map<number, Cell>();
  const ran: Effect[] = [];
  const runReal = (i: number, effect: Effect): void => {
    ran.push(effect);
    switch (effect.e) {
      case 'throw':
        throw sentinel;
      case 'detachKey':
        if (world.keyBuffer) detach(world.keyBuffer);
        break;
      case 'detachOutput':
        if (world.outputBuffer && detach(world.outputBuffer)) world.outputDetached = true;
        break;
      case 'truncate':
        array.length = Math.min(array.length, effect.to);
        current.length = Math.min(current.length, effect.to);
        break;
      case 'push':
        array.push(PUSHED.value);
        current.push(PUSHED);
        break;
      case 'replace':
        if (effect.at < array.length) {
          const cell = replacement(effect.with);
          replaced.set(i, cell);
          current[effect.at] = cell;
          Object.defineProperty(array, effect.at, { value: cell.value, writable: true, enumerable: true, configurable: true });
        }
        break;
      case 'detachEarlier':
      case 'mutateEarlier':
        for (let j = 0; j < i && j < current.length; j++) {
          for (const v of current[j]?.views ?? []) {
            if (effect.e === 'detachEarlier') detach(taOrDvBuffer(v));
            else realBytes(v).fill(0x5a);
          }
        }
        break;
      default:
        break;
    }
  };
  cells.forEach((cell, i) => {
    if (!cell.present) return;
    if (!cell.effect) {
      array[i] = cell.value;
      return;
    }
    let done = false;
    Object.defineProperty(array, i, {
      configurable: true,
      enumerable: true,
      get() {
        if (!done) {
          done = true;
          runReal(i, cell.effect!);
        }
        return cell.value;
      },
    });
  });

  const simulate = () => {
    const model: Array<Cell | undefined> = cells.slice();
    const fired = new Set<number>();
    const effects: Effect[] = [];
    const cellAt = (i: number): Cell | 'sentinel' => {
      const cell = model[i];
      if (!cell || !cell.present) return { present: false, views: [] };
      const original = cells[i] === cell;
      if (original && cell.effect && !fired.has(i)) {
        fired.add(i);
        const effect = cell.effect;
        effects.push(effect);
        if (effect.e === 'throw') return 'sentinel';
        if (effect.e === 'truncate') model.length = Math.min(model.length, effect.to);
        // (After a truncation, a pushed element lands where the batch still reads.)
        if (effect.e === 'push') model.push(PUSHED);
        if (effect.e === 'replace' && effect.at < model.length && replaced.has(i)) model[effect.at] = replaced.get(i);
      }
      return cell;
    };
    return { cellAt, effects };
  };
  return { array, simulate, ran };
}

const taOrDvBuffer = (v: ArrayBufferView): ArrayBufferLike => (v instanceof DataView ? dvBuffer : taBuffer).call(v) as ArrayBufferLike;

function messageCell(d: ArgDesc, slot: Slot<ArgDesc>['slot'], effect: Effect | undefined): Cell {
  if (slot === 'hole') return { present: false, views: [] };
  const built = build(d);
  return {
    present: true,
    value: built.value,
    model: built.model,
    views: ArrayBuffer.isView(built.value) ? [built.value] : [],
    ...(slot === 'getter' ? { effect } : {}),
  };
}

type NotArray = OtherKind | 'proxy-array';
const arbNotArray = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom<NotArray>('plain', 'null', 'undefined', 'boxed-string', 'proxy-array', 'revoked', 'fake-view', 'arraybuffer') },
);

interface SignCase {
  key: ArgDesc;
  slots: Slot<ArgDesc>[];
  notArray: NotArray | undefined;
  output: { d: ViewDesc; extra: number } | undefined;
}
const arbSignCase = (withOutput: boolean): fc.Arbitrary<SignCase> =>
  fc.record({
    key: arbKeyArg('sk'),
    slots: arbSlots(arbMessageArg, 6),
    notArray: arbNotArray,
    output: withOutput
      ? fc.record({ d: arbView(fc.constant({ c: 'bytes' as const, bytes: new Uint8Array(0) })), extra: fc.oneof(fc.constant(0), fc.integer({ min: -65, max: 70 })) })
      : fc.constant(undefined),
  });

type Variant = 'sync' | 'into' | 'async' | 'intoAsync';

/** Runs one signMany-family call on `sc` and judges it. */
async function checkSign(sc: SignCase, variant: Variant, options: unknown, optionsProblem: Expected | undefined): Promise<void> {
  const world: World = { outputDetached: false };
  const k = build(sc.key);
  if (ArrayBuffer.isView(k.value)) world.keyBuffer = taOrDvBuffer(k.value);
  const cells = sc.slots.map((s) => messageCell(s.value, s.slot, s.effect));
  const { array, simulate } = buildArray(cells, world, (d) => messageCell(d, 'plain', undefined));
  const n = cells.length;
  const withOutput = variant === 'into' || variant === 'intoAsync';
  const isAsync = variant === 'async' || variant === 'intoAsync';

  let output: { value: ArrayBufferView; model: Model } | undefined;
  let outputBefore = Buffer.alloc(0);
  if (withOutput) {
    output = buildView(sc.output!.d, crypto.randomBytes(Math.max(0, n * 64 + sc.output!.extra)));
    world.outputBuffer = taOrDvBuffer(output.value);
    if (output.model.m === 'bytes') outputBefore = Buffer.from(output.model.bytes);
  }
  let messages: unknown = array;
  let arrayProblem: Expected | undefined;
  if (sc.notArray !== undefined) {
    messages = sc.notArray === 'proxy-array' ? new Proxy(array, {}) : buildOther(sc.notArray).value;
    arrayProblem = typeErr('messages');
  }

  const kv = k.value as never;
  const mv = messages as never;
  const ov = output?.value as never;
  const fn =
    variant === 'sync' ? () => batch.signMany(kv, mv)
      : variant === 'into' ? () => batch.signManyInto(kv, mv, ov)
        : variant === 'async' ? () => batch.signManyAsync(kv, mv, options as never)
          : () => batch.signManyIntoAsync(kv, mv, ov, options as never);
  const out = isAsync ? await callAsync(fn) : call(fn);
  record(out);
  if (isAsync && (out as { sync?: boolean }).sync) broken(`an async batch must return a promise; it ${out.threw ? `threw ${describe(out.value)}` : 'returned'}`);

  // The expectation, in the documented order: options, key, array, output, abort, then each element.
  let expected: Expected | Expected[] | undefined = optionsProblem ?? fixedProblem(k.model, 'secretKey', 64, 'ERR_SECRET_KEY_INVALID') ?? arrayProblem;
  if (expected === undefined && output) {
    if (output.model.m === 'detached') expected = typeErr('output', 'ERR_DETACHED_BUFFER');
    else if (bytesOf(output.model).length < n * 64) expected = narErr('ERR_OUTPUT_TOO_SMALL');
  }
  if (expected === undefined && isAsync && (options as { signal?: AbortSignal } | undefined)?.signal?.aborted) expected = narErr('ERR_ABORTED');
  const sim = simulate();
  const read: Buffer[] = [];
  if (expected === undefined) {
    for (let i = 0; i < n; i++) {
      const cell = sim.cellAt(i);
      if (cell === 'sentinel') {
        expected = { ok: false, error: 'sentinel' };
        break;
      }
      const problem = messageProblem(cell.present ? cell.model! : { m: 'other' }, `messages[${i}]`);
      if (problem) {
        expected = problem;
        break;
      }
      read.push(bytesOf(cell.model!));
    }
  }
  const outputGone = withOutput && world.outputDetached && sim.effects.some((e) => e.e === 'detachOutput');
  if (expected === undefined && outputGone) expected = typeErr('output', 'ERR_DETACHED_BUFFER');
  else if (expected !== undefined && isAsync && outputGone) expected = [expected as Expected, typeErr('output', 'ERR_DETACHED_BUFFER')];
  if (expected === undefined) {
    const want = read.map((m) => oracleSign(bytesOf(k.model), m));
    expected = {
      ok: true,
      check: (r) => {
        if (!withOutput) {
          if (!Array.isArray(r) || r.length !== n) return `expected ${n} signatures, got ${describe(r)}`;
          for (let i = 0; i < n; i++) {
            const c = isView64(r[i], want[i]);
            if (c) return `signature ${i}: ${c}`;
          }
          return undefined;
        }
        if (r !== output!.value) return 'the …Into functions return their output';
        const written = Buffer.from(realBytes(output!.value));
        const all = Buffer.concat(want);
        if (!written.subarray(0, all.length).equals(all)) return 'the output does not hold the signatures';
        if (!written.subarray(all.length).equals(outputBefore.subarray(all.length))) return 'bytes past 64·n of the output were changed';
        return undefined;
      },
    };
  }
  judgeBatch(out, expected, sim, isAsync);
}

/**
 * A batch call judged against its expectation, with the documented caveat of async batches ("do not
 * change the array until the promise settles"): a changed array may end in any coded error, but
 * never in a crash or a wrong result.
 */
function judgeBatch(out: { threw: boolean; value: unknown }, expected: Expected | Expected[], sim: { effects: ReadonlyArray<{ e: string }> }, isAsync: boolean): void {
  let complaint = judge(out, expected);
  const mutated = sim.effects.some((e) => e.e === 'truncate' || e.e === 'push' || e.e === 'replace');
  if (complaint && isAsync && mutated && out.threw && legitimateError(out.value)) complaint = undefined;
  if (complaint) broken(complaint);
}

interface ItemDesc {
  shape: 'plain' | 'getters' | 'proxy' | 'prototype' | 'function' | 'not-object' | 'revoked' | 'throwing';
  notObject: OtherKind;
  publicKey: ArgDesc;
  signature: ArgDesc;
  message: ArgDesc;
}
const arbItem: fc.Arbitrary<ItemDesc> = fc.record({
  shape: fc.constantFrom<ItemDesc['shape']>('plain', 'plain', 'plain', 'plain', 'getters', 'proxy', 'prototype', 'function', 'not-object', 'revoked', 'throwing'),
  notObject: fc.constantFrom<OtherKind>('null', 'undefined', 'zero', 'symbol', 'bigint', 'true'),
  publicKey: arbKeyArg('pk'),
  signature: arbKeyArg('sig'),
  message: arbMessageArg,
});

function itemCell(d: ItemDesc, slot: Slot<ItemDesc>['slot'], effect: Effect | undefined): Cell {
  if (slot === 'hole') return { present: false, views: [] };
  const withEffect = slot === 'getter' ? { effect } : {};
  const none: Model = { m: 'other' };
  if (d.shape === 'not-object' || d.shape === 'revoked' || d.shape === 'throwing') {
    const o = buildOther(d.shape === 'revoked' ? 'revoked' : d.shape === 'throwing' ? 'throwing-getters' : d.notObject);
    return { present: true, value: o.value, item: { kind: d.shape, publicKey: none, signature: none, message: none }, views: [], ...withEffect };
  }
  const m = build(d.message);
  const p = build(d.publicKey);
  const s = build(d.signature, bytesOf(m.model));
  const fields = { publicKey: p.value, signature: s.value, message: m.value };
  let value: unknown;
  if (d.shape === 'plain') value = fields;
  else if (d.shape === 'getters') {
    value = {};
    for (const [key, v] of Object.entries(fields)) Object.defineProperty(value, key, { get: () => v, enumerable: true });
  } else if (d.shape === 'proxy') value = new Proxy({}, { get: (_t, key) => (fields as Record<string | symbol, unknown>)[key] });
  else if (d.shape === 'prototype') value = Object.create(fields);
  else value = Object.assign(() => 0, fields); // a function is not an object to either backend
  const views = [p.value, s.value, m.value].filter((v): v is ArrayBufferView => ArrayBuffer.isView(v));
  return {
    present: true,
    value,
    item: { kind: d.shape === 'function' ? 'not-object' : 'object', publicKey: p.model, signature: s.model, message: m.model },
    views,
    ...withEffect,
  };
}

interface VerifyCase {
  slots: Slot<ItemDesc>[];
  notArray: NotArray | undefined;
}
const arbVerifyCase: fc.Arbitrary<VerifyCase> = fc.record({ slots: arbSlots(arbItem, 6), notArray: arbNotArray });

/** A valid item over message `d` (key 0, its signature), put in place by a `replace` effect. */
const replacementItem = (d: ArgDesc): Cell =>
  itemCell(
    {
      shape: 'plain',
      notObject: 'null',
      publicKey: { t: 'view', content: { c: 'pk', k: 0 }, kind: 'Uint8Array', backing: 'ab', offset: 0, slack: 0, tracking: false, after: 'none' },
      signature: { t: 'view', content: { c: 'sigOf', k: 0, flip: -1 }, kind: 'Uint8Array', backing: 'ab', offset: 0, slack: 0, tracking: false, after: 'none' },
      message: d,
    },
    'plain',
    undefined,
  );

async function checkVerify(vc: VerifyCase, isAsync: boolean, options: unknown, optionsProblem: Expected | undefined): Promise<void> {
  const world: World = { outputDetached: false };
  const cells = vc.slots.map((s) => itemCell(s.value, s.slot, s.effect));
  const { array, simulate } = buildArray(cells, world, replacementItem);
  const n = cells.length;
  let items: unknown = array;
  let arrayProblem: Expected | undefined;
  if (vc.notArray !== undefined) {
    items = vc.notArray === 'proxy-array' ? new Proxy(array, {}) : buildOther(vc.notArray).value;
    arrayProblem = typeErr('items');
  }
  const fn = isAsync ? () => batch.verifyManyAsync(items as never, options as never) : () => batch.verifyMany(items as never);
  const out = isAsync ? await callAsync(fn) : call(fn);
  record(out);
  if (isAsync && (out as { sync?: boolean }).sync) broken(`an async batch must return a promise; it ${out.threw ? `threw ${describe(out.value)}` : 'returned'}`);

  let expected: Expected | undefined = optionsProblem ?? arrayProblem;
  if (expected === undefined && isAsync && (options as { signal?: AbortSignal } | undefined)?.signal?.aborted) expected = narErr('ERR_ABORTED');
  const sim = simulate();
  const verdicts: boolean[] = [];
  if (expected === undefined) {
    for (let i = 0; i < n; i++) {
      const cell = sim.cellAt(i);
      if (cell === 'sentinel') {
        expected = { ok: false, error: 'sentinel' };
        break;
      }
      const item = cell.present ? cell.item : undefined;
      if (!item || item.kind === 'not-object') expected = typeErr(`items[${i}]`);
      else if (item.kind === 'revoked') expected = { ok: false, error: 'revoked' };
      else if (item.kind === 'throwing') expected = { ok: false, error: 'sentinel' };
      else {
        expected =
          fixedProblem(item.publicKey, `items[${i}].publicKey`, 32, 'ERR_PUBLIC_KEY_INVALID') ??
          fixedProblem(item.signature, `items[${i}].signature`, 64, 'ERR_SIGNATURE_INVALID') ??
          messageProblem(item.message, `items[${i}].message`);
        if (expected === undefined) verdicts.push(nodeVerify(bytesOf(item.publicKey), bytesOf(item.signature), bytesOf(item.message)));
      }
      if (expected) break;
    }
  }
  expected ??= {
    ok: true,
    check: (r) => {
      if (!Array.isArray(r) || r.length !== n) return `expected ${n} verdicts, got ${describe(r)}`;
      for (let i = 0; i < n; i++) if (r[i] !== verdicts[i]) return `verdict ${i} is ${describe(r[i])}, node:crypto says ${verdicts[i]}`;
      return undefined;
    },
  };
  judgeBatch(out, expected, sim, isAsync);
}

// Options of the async batches, valid and not.
interface OptionsDesc {
  as: 'none' | 'value' | 'record';
  which: OtherKind;
  chunkSize?: unknown;
  concurrency?: unknown;
  signal?: 'live' | 'aborted' | 'fake';
}
const arbOptionNumber = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, 2 ** 31, 0x7fffffff, '3', 3n, null, undefined) },
);
const arbOptions: fc.Arbitrary<OptionsDesc> = fc.record(
  {
    as: fc.constantFrom<OptionsDesc['as']>('none', 'none', 'value', 'record', 'record', 'record'),
    which: fc.constantFrom<OtherKind>('null', 'zero', 'symbol', 'boxed-string', 'function', 'plain', 'proxy-view'),
    chunkSize: arbOptionNumber,
    concurrency: arbOptionNumber,
    signal: fc.constantFrom<'live' | 'aborted' | 'fake'>('live', 'live', 'aborted', 'fake'),
  },
  { requiredKeys: ['as', 'which'] },
);
/** The options object, and the error optionsArg must throw for it (documented: signal, then chunkSize, then concurrency). */
function buildOptions(d: OptionsDesc): { options: unknown; problem?: Expected } {
  if (d.as === 'none') return { options: undefined };
  if (d.as === 'value') {
    const v = buildOther(d.which).value;
    return { options: v, problem: typeof v === 'object' && v !== null ? undefined : typeErr('options') };
  }
  const options: Record<string, unknown> = {};
  let problem: Expected | undefined;
  if (d.signal !== undefined) {
    options.signal = d.signal === 'live' ? new AbortController().signal : d.signal === 'aborted' ? AbortSignal.abort() : { aborted: false };
    if (d.signal === 'fake') problem = typeErr('options.signal');
  }
  for (const key of ['chunkSize', 'concurrency'] as const) {
    if (!(key in d)) continue;
    const v = d[key];
    options[key] = v;
    if (problem || v === undefined) continue;
    if (typeof v !== 'number') problem = typeErr(`options.${key}`);
    else if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) problem = { ok: false, error: 'RangeError', code: 'ERR_OUT_OF_RANGE', mentions: `options.${key}` };
  }
  return { options, problem };
}

function withInput<T>(input: T, check: () => Promise<void>): Promise<void> {
  return check().catch((error) => complain(error, input));
}

async function batches(): Promise<void> {
  for (const variant of ['sync', 'into'] as const) {
    const name = variant === 'sync' ? 'signMany' : 'signManyInto';
    await runPhase(name, () =>
      fc.assert(fc.asyncProperty(arbSignCase(variant === 'into'), (sc) => withInput(sc, () => checkSign(sc, variant, undefined, undefined))), fcParams(700)),
    );
  }
  for (const variant of ['async', 'intoAsync'] as const) {
    const name = variant === 'async' ? 'signManyAsync' : 'signManyIntoAsync';
    await runPhase(name, () =>
      fc.assert(
        fc.asyncProperty(arbSignCase(variant === 'intoAsync'), arbOptions, (sc, od) => {
          const { options, problem } = buildOptions(od);
          return withInput([sc, od], () => checkSign(sc, variant, options, problem));
        }),
        fcParams(400),
      ),
    );
  }
  await runPhase('verifyMany', () =>
    fc.assert(fc.asyncProperty(arbVerifyCase, (vc) => withInput(vc, () => checkVerify(vc, false, undefined, undefined))), fcParams(700)),
  );
  await runPhase('verifyManyAsync', () =>
    fc.assert(
      fc.asyncProperty(arbVerifyCase, arbOptions, (vc, od) => {
        const { options, problem } = buildOptions(od);
        return withInput([vc, od], () => checkVerify(vc, true, options, problem));
      }),
      fcParams(400),
    ),
  );
}

// ---- phases: hand-picked hostile cases ------------------------------------------------------------------

const MiB = 1024 * 1024;

/** One deterministic case: `run` returns the outcome, `expected` what it must be. */
async function scenario(name: string, run: () => unknown, expected: Expected | Expected[] | 'coded-error'): Promise<void> {
  const out = await callAsync(run);
  record(out);
  let complaint: string | undefined;
  if (expected === 'coded-error') {
    complaint = out.threw && legitimateError(out.value) ? undefined : `expected a coded TypeError/NarsignError/RangeError, got ${out.threw ? describe(out.value) : `a result ${describe(out.value)}`}`;
  } else complaint = judge(out, expected);
  if (complaint) {
    try {
      broken(`${name}: ${complaint}`);
    } catch (error) {
      complain(error, name);
    }
  }
}

async function handPicked(): Promise<void> {
  const key = pool[0];
  const sign = (m: Uint8Array): Expected => ({ ok: true, check: (r) => isView64(r, oracleSign(key.secretKey, m)) });

  await runPhase('huge messages', async () => {
    // Tens of MiB: a Buffer, a view at an odd offset, a DataView, multi-byte and lone-surrogate strings.
    const big = crypto.randomBytes(32 * MiB);
    await scenario('signDetached(32 MiB Buffer)', () => ed.signDetached(key.secretKey, big), sign(big));
    const odd = new Uint8Array(big.buffer, big.byteOffset + 1, big.length - 3);
    await scenario('signDetached(32 MiB view at offset 1)', () => ed.signDetached(key.secretKey, odd), sign(Buffer.from(odd)));
    const dv = new DataView(big.buffer, big.byteOffset + 7, 20 * MiB);
    await scenario('signDetached(20 MiB DataView at offset 7)', () => ed.signDetached(key.secretKey, dv), sign(Buffer.from(big.buffer, big.byteOffset + 7, 20 * MiB)));
    const text = 'é\u{1F600}x'.repeat(2 * MiB); // 16 MiB of UTF-8 from 8 M UTF-16 units
    await scenario('signDetached(16 MiB UTF-8 string)', () => ed.signDetached(key.secretKey, text), sign(Buffer.from(text, 'utf8')));
    const lone = 'a\ud800b\udfff'.repeat(MiB); // lone surrogates become U+FFFD
    await scenario('signDetached(lone surrogates, 8 MiB of UTF-8)', () => ed.signDetached(key.secretKey, lone), sign(Buffer.from(lone, 'utf8')));
    const signature = oracleSign(key.secretKey, big);
    await scenario('verifyDetached(32 MiB)', () => ed.verifyDetached(key.publicKey, signature, big), { ok: true, check: (r) => (r === true ? undefined : `verdict ${describe(r)}`) });
    const flipped = Buffer.from(big);
    flipped[flipped.length - 1] ^= 1;
    await scenario('verifyDetached(32 MiB, last bit flipped)', () => ed.verifyDetached(key.publicKey, signature, flipped), { ok: true, check: (r) => (r === false ? undefined : `verdict ${describe(r)}`) });
    const several = [big.subarray(0, 16 * MiB), text, big.subarray(5, 9 * MiB)];
    const want = several.map((m) => oracleSign(key.secretKey, typeof m === 'string' ? Buffer.from(m, 'utf8') : m));
    const allSigned = (r: unknown): string | undefined =>
      Array.isArray(r) && r.length === want.length && r.every((x, i) => Buffer.isBuffer(x) && x.equals(want[i])) ? undefined : 'wrong signatures';
    await scenario('signMany(3 huge messages)', () => batch.signMany(key.secretKey, several), { ok: true, check: allSigned });
    await scenario('signManyAsync(3 huge messages, chunkSize 1)', () => batch.signManyAsync(key.secretKey, several, { chunkSize: 1 }), { ok: true, check: allSigned });
    const items = several.map((message, i) => ({ publicKey: key.publicKey, signature: want[i], message }));
    const allTrue = (r: unknown): string | undefined => (Array.isArray(r) && r.length === 3 && r.every((v) => v === true) ? undefined : `verdicts ${describe(r)}`);
    await scenario('verifyMany(3 huge messages)', () => batch.verifyMany(items), { ok: true, check: allTrue });
    await scenario('verifyManyAsync(3 huge messages)', () => batch.verifyManyAsync(items, { chunkSize: 2 }), { ok: true, check: allTrue });
  });

  await runPhase('sparse and odd arrays', async () => {
    const holes = new Array(1000);
    holes[0] = 'a';
    await scenario('signMany([a, <999 holes>])', () => batch.signMany(key.secretKey, holes), typeErr('messages[1]'));
    await scenario('signManyAsync([a, <999 holes>])', () => batch.signManyAsync(key.secretKey, holes), typeErr('messages[1]'));
    await scenario('verifyMany(<1000 holes>)', () => batch.verifyMany(new Array(1000)), typeErr('items[0]'));
    await scenario('verifyManyAsync(<1000 holes>)', () => batch.verifyManyAsync(new Array(1000)), typeErr('items[0]'));
    await scenario('verifyMany(new Array(2 ** 32 - 1))', () => batch.verifyMany(new Array(2 ** 32 - 1)), typeErr('items[0]'));
    // (verifyManyAsync allocates n verdict bytes before element 0 is read: 2 ** 26 keeps that at 64 MiB.)
    await scenario('verifyManyAsync(new Array(2 ** 26))', () => batch.verifyManyAsync(new Array(2 ** 26)), typeErr('items[0]'));
    await scenario('signManyAsync(new Array(2 ** 32 - 1))', () => batch.signManyAsync(key.secretKey, new Array(2 ** 32 - 1)), 'coded-error');
    // An array whose prototype chain supplies the elements: both backends read it like JS does.
    const proto = Object.create(Array.prototype, { 1: { get: () => 'from the prototype' } });
    const inherited = ['zero', , 'two'] as unknown[];
    Object.setPrototypeOf(inherited, proto);
    await scenario('signMany(element from the prototype)', () => batch.signMany(key.secretKey, inherited as never), {
      ok: true,
      check: (r) => (Array.isArray(r) && ['zero', 'from the prototype', 'two'].every((m, i) => Buffer.isBuffer(r[i]) && r[i].equals(oracleSign(key.secretKey, Buffer.from(m))))) ? undefined : 'wrong signatures',
    });
    // An array of 20,000 elements where a getter far down detaches the key and the output.
    const n = 20_000;
    const messages = Array.from({ length: n }, (_, i) => `m${i}`);
    const keyCopy = new Uint8Array(new ArrayBuffer(64));
    keyCopy.set(key.secretKey);
    const output = new Uint8Array(new ArrayBuffer(n * 64));
    Object.defineProperty(messages, 18_000, { get: () => (detach(keyCopy.buffer), detach(output.buffer), 'm18000') });
    await scenario('signManyInto(20,000, key and output detached at 18,000)', () => batch.signManyInto(keyCopy, messages, output), typeErr('output', 'ERR_DETACHED_BUFFER'));
  });

  await runPhase('regression:native-huge-array-error-class', async () => {
    // Past the documented limit (2 ** 26 signatures per batch): the same RangeError on both backends.
    const tooMany: Expected = { ok: false, error: 'RangeError', code: 'ERR_OUT_OF_RANGE', mentions: 'at most 67108864' };
    await scenario('signMany(new Array(2 ** 32 - 1))', () => batch.signMany(key.secretKey, new Array(2 ** 32 - 1)), tooMany);
    await scenario('signMany(new Array(2 ** 26 + 1))', () => batch.signMany(key.secretKey, new Array(2 ** 26 + 1)), tooMany);
    await scenario('signManyAsync(new Array(2 ** 26 + 1))', () => batch.signManyAsync(key.secretKey, new Array(2 ** 26 + 1)), tooMany);
    // At the limit, an array of holes fails on its first element (before 4 GiB are allocated).
    await scenario('signMany(new Array(2 ** 26))', () => batch.signMany(key.secretKey, new Array(2 ** 26)), typeErr('messages[0]'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fallback = (require('../../lib/sodium-fallback') as typeof import('../../lib/sodium-fallback')).sodiumBackend;
    const fromFallback = call(() => fallback.signMany(key.secretKey, new Array(2 ** 32 - 1)));
    const fromThis = call(() => batch.signMany(key.secretKey, new Array(2 ** 32 - 1)));
    const kind = (o: { value: unknown }) => `${(o.value as Error)?.constructor?.name} ${(o.value as { code?: string })?.code} ${(o.value as Error)?.message}`;
    if (kind(fromFallback) !== kind(fromThis)) broken(`the backends disagree: ${kind(fromThis)} vs the fallback's ${kind(fromFallback)}`);
  });

  await runPhase('regression:native-async-verify-chunk-abort', async () => {
    await scenario('verifyManyAsync(new Array(2 ** 31 - 1), { chunkSize: 2 ** 31 - 1 })', () => batch.verifyManyAsync(new Array(2 ** 31 - 1), { chunkSize: 2 ** 31 - 1 }), typeErr('items[0]'));
  });

  await runPhase('regression:async-sign-undefined-key', async () => {
    await scenario('signManyAsync(undefined, [])', () => batch.signManyAsync(undefined as never, []), typeErr('secretKey'));
    await scenario('signManyAsync(undefined, ["a"])', () => batch.signManyAsync(undefined as never, ['a']), typeErr('secretKey'));
  });

  await runPhase('regression:revoked-proxy-array', async () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable([], {});
      revoke();
      return proxy;
    };
    await scenario('verifyManyAsync(revoked Proxy)', () => batch.verifyManyAsync(revoked()), typeErr('items'));
    await scenario('signManyAsync(key, revoked Proxy)', () => batch.signManyAsync(key.secretKey, revoked()), typeErr('messages'));
  });

  await runPhase('regression:fallback-length-reread', async () => {
    const pushing = ['a', 'b'];
    Object.defineProperty(pushing, 0, { get: () => (pushing.push('c'), 'a') });
    await scenario('signMany([getter that pushes, "b"])', () => batch.signMany(key.secretKey, pushing), {
      ok: true,
      check: (r) => (Array.isArray(r) && r.length === 2 && r[1]?.equals?.(oracleSign(key.secretKey, Buffer.from('b'))) ? undefined : `got ${describe(r)}`),
    });
    const item = { publicKey: key.publicKey, signature: oracleSign(key.secretKey, Buffer.from('x')), message: 'x' };
    const truncating = [item, item, item];
    Object.defineProperty(truncating, 0, { get: () => ((truncating.length = 1), item), configurable: true });
    await scenario('verifyMany([getter that truncates to 1, item, item])', () => batch.verifyMany(truncating), typeErr('items[1]'));
  });

  await runPhase('regression:fallback-shared-buffer-verdict', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(5));
    shared.set(Buffer.from('hello'));
    const signature = oracleSign(key.secretKey, Buffer.from('hello'));
    await scenario('verifyDetached(pk, sig, SharedArrayBuffer message)', () => ed.verifyDetached(key.publicKey, signature, shared), {
      ok: true,
      check: (r) => (r === true ? undefined : `verdict ${describe(r)}`),
    });
  });
}

// ---- phases: the raw addon (native only) -----------------------------------------------------------------

/** The chunk functions lib/batch-native.ts schedules, called directly in random, often wrong, sequences. */
async function rawJobs(raw: RawAddon): Promise<void> {
  type JobRef = { j: number } | { garbage: OtherKind };
  type Cmd =
    | { c: 'job'; key: 'sk' | 'none' | 'bad' }
    | { c: 'sign' | 'verify'; job: JobRef; n: number; start: unknown; end: unknown; output: 'fit' | 'small' | 'detached' | 'plain' | 'shared'; callback: 'ok' | 'throwing' | 'none'; later: 'none' | 'detach' | 'shrink' | 'gc' }
    | { c: 'cancel' | 'close'; job: JobRef }
    | { c: 'gc' };
  const arbJobRef: fc.Arbitrary<JobRef> = fc.oneof(
    { weight: 6, arbitrary: fc.nat({ max: 3 }).map((j) => ({ j })) },
    { weight: 1, arbitrary: fc.constantFrom<OtherKind>('plain', 'null', 'undefined', 'proxy-view', 'function', 'revoked', 'promise').map((garbage) => ({ garbage })) },
  );
  const arbIndex = fc.oneof(
    { weight: 5, arbitrary: fc.nat({ max: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, -0, 0.5, NaN, Infinity, 2 ** 32, 2 ** 32 - 1, '1', 1n, undefined, null) },
  );
  const arbCmd: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 2, arbitrary: fc.record({ c: fc.constant('job' as const), key: fc.constantFrom<'sk' | 'none' | 'bad'>('sk', 'sk', 'none', 'bad') }) },
    {
      weight: 6,
      arbitrary: fc.record({
        c: fc.constantFrom<'sign' | 'verify'>('sign', 'verify'),
        job: arbJobRef,
        n: fc.nat({ max: 6 }),
        start: arbIndex,
        end: arbIndex,
        output: fc.constantFrom<'fit' | 'small' | 'detached' | 'plain' | 'shared'>('fit', 'fit', 'fit', 'small', 'detached', 'plain', 'shared'),
        callback: fc.constantFrom<'ok' | 'throwing' | 'none'>('ok', 'ok', 'ok', 'throwing', 'none'),
        later: fc.constantFrom<'none' | 'detach' | 'shrink' | 'gc'>('none', 'none', 'none', 'none', 'detach', 'shrink', 'gc'),
      }),
    },
    { weight: 2, arbitrary: fc.record({ c: fc.constantFrom<'cancel' | 'close'>('cancel', 'close'), job: arbJobRef }) },
    { weight: 1, arbitrary: fc.constantFrom<Cmd>({ c: 'gc' }, { c: 'cancel', job: { j: 0 } }, { c: 'close', job: { j: 1 } }) },
  );
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

  let uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    await runPhase('addon batch jobs', () =>
      fc.assert(
        fc.asyncProperty(fc.array(arbCmd, { maxLength: 12 }), async (cmds) => {
          try {
            uncaught = [];
            const jobs: Array<{ job: unknown; key?: Buffer }> = [];
            const pending: Array<Promise<string | undefined>> = [];
            let throwingCallbacks = 0;
            for (const cmd of cmds) {
              if (cmd.c === 'gc') {
                gc();
                continue;
              }
              if (cmd.c === 'job') {
                const arg = cmd.key === 'sk' ? pool[jobs.length % pool.length].secretKey : cmd.key === 'bad' ? Buffer.alloc(63) : undefined;
                const out = call(() => raw.batchJob(arg));
                record(out);
                if (cmd.key === 'bad') {
                  const c = judge(out, narErr('ERR_SECRET_KEY_INVALID'));
                  if (c) broken(`batchJob(63 bytes): ${c}`);
                } else if (out.threw || typeof out.value !== 'object') broken(`batchJob: ${describe(out.value)}`);
                else jobs.push({ job: out.value, key: cmd.key === 'sk' ? (arg as Buffer) : undefined });
                continue;
              }
              const ref = cmd.job;
              const target = 'j' in ref ? jobs[ref.j] : undefined;
              const jobValue = 'j' in ref ? target?.job : buildOther(ref.garbage).value;
              if (cmd.c === 'cancel' || cmd.c === 'close') {
                const out = call(() => (cmd.c === 'cancel' ? raw.batchCancel(jobValue) : raw.batchClose(jobValue)));
                record(out);
                if (out.threw ? !legitimateError(out.value) : out.value !== undefined) broken(`batch${cmd.c}: ${describe(out.value)}`);
                continue;
              }
              // sign / verify a chunk
              const chunk = cmd as Extract<Cmd, { c: 'sign' | 'verify' }>;
              const messages = Array.from({ length: chunk.n }, (_, i) => `chunk message ${i}`);
              const items = messages.map((message, i) => ({ publicKey: pool[i % 3].publicKey, signature: oracleSign(pool[i % 3].secretKey, Buffer.from(message)), message }));
              const unit = chunk.c === 'sign' ? 64 : 1;
              const size = chunk.output === 'small' ? Math.max(0, chunk.n * unit - 1) : chunk.n * unit + 3;
              const buffer = chunk.output === 'shared' ? new SharedArrayBuffer(size) : new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(size, { maxByteLength: size + 8 });
              const outputView = new Uint8Array(buffer);
              outputView.fill(0xee);
              if (chunk.output === 'detached') detach(buffer);
              const output = chunk.output === 'plain' ? { length: size } : outputView;
              let settle!: (complaint: string | undefined) => void;
              const settled = new Promise<string | undefined>((resolve) => (settle = resolve));
              let calledBack = 0;
              const callback =
                chunk.callback === 'none'
                  ? 'not a function'
                  : (error: unknown, done?: unknown) => {
                      calledBack++;
                      let complaint: string | undefined;
                      if (calledBack > 1) complaint = 'a chunk called back twice';
                      else if (error !== null && error !== undefined) {
                        if (!legitimateError(error)) complaint = `chunk callback error ${describe(error)}`;
                      } else if (done !== true && done !== false) complaint = `chunk callback done=${describe(done)}`;
                      else if (done === true && typeof chunk.start === 'number' && typeof chunk.end === 'number' && chunk.later === 'none') {
                        // The chunk's results must be right, and written exactly at [start·unit, end·unit).
                        for (let i = chunk.start; i < chunk.end; i++) {
                          if (chunk.c === 'sign') {
                            const want = oracleSign(target!.key!, Buffer.from(messages[i]));
                            if (!Buffer.from(outputView.subarray(i * 64, i * 64 + 64)).equals(want)) complaint = `signature ${i} is wrong`;
                          } else if (outputView[i] !== 1) complaint = `verdict ${i} is ${outputView[i]}`;
                        }
                        if (outputView[chunk.end * unit] !== 0xee && chunk.end * unit < outputView.length) complaint = 'a chunk wrote past its end';
                      }
                      settle(complaint);
                      if (chunk.callback === 'throwing') throw sentinel;
                    };
              const fn = chunk.c === 'sign' ? raw.batchSign : raw.batchVerify;
              const out = call(() => fn(jobValue, chunk.c === 'sign' ? messages : items, chunk.start, chunk.end, output, callback));
              record(out);
              if (out.threw) {
                if (!legitimateError(out.value)) broken(`batch${chunk.c}: ${describe(out.value)}`);
                continue;
              }
              if (out.value !== undefined) broken(`batch${chunk.c} returned ${describe(out.value)}`);
              if (chunk.callback === 'throwing') throwingCallbacks++;
              // What may happen while the chunk runs.
              if (chunk.later === 'detach') detach(buffer);
              else if (chunk.later === 'shrink' && buffer instanceof ArrayBuffer && !isDetachedBuffer(buffer)) (buffer as unknown as { resize(n: number): void }).resize(0);
              else if (chunk.later === 'gc') gc();
              pending.push(
                Promise.race([settled, new Promise<string>((resolve) => setTimeout(() => resolve('a queued chunk never called back'), 20_000).unref())]),
              );
            }
            for (const complaint of await Promise.all(pending)) if (complaint) broken(complaint);
            await new Promise((resolve) => setImmediate(resolve));
            const strays = uncaught.filter((e) => e !== sentinel);
            if (strays.length > 0) broken(`uncaught exceptions: ${strays.map(describe).join('; ')}`);
            if (uncaught.length !== throwingCallbacks) broken(`${throwingCallbacks} throwing callbacks, ${uncaught.length} uncaught exceptions`);
          } catch (error) {
            complain(error, cmds);
          }
        }),
        fcParams(200),
      ),
    );
  } finally {
    process.off('uncaughtException', onUncaught);
  }
}

function isDetachedBuffer(buffer: ArrayBuffer): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** The addon's functions the phases above call with precise expectations. */
const COVERED = new Set([
  'setErrorClass', 'generateKeyPair', 'keyPairFromSeed', 'publicKeyFromSecretKey', 'signDetached', 'signDetachedInto',
  'verifyDetached', 'signMany', 'verifyMany', 'batchJob', 'batchSign', 'batchVerify', 'batchCancel', 'batchClose',
  'readFiles', 'writeFiles',
]);

/**
 * The batched file I/O exports (native/files.cc) with wrong arguments: a coded error, thrown before
 * anything is read or written (the directory stays empty), or a callback with per-file records.
 */
async function rawFiles(raw: RawAddon): Promise<void> {
  await runPhase('addon files', async () => {
    const os = await import('node:os');
    const fsm = await import('node:fs');
    const dir = fsm.mkdtempSync(path.join(os.tmpdir(), 'narsign-boundary-files-'));
    const viaCallback = (fn: 'readFiles' | 'writeFiles', ...args: unknown[]) => () =>
      new Promise((resolve, reject) => raw[fn](...args, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))));
    const readCall = (...args: unknown[]) => () => raw.readFiles(...args);
    const throwing = Object.defineProperty([], 0, { get: () => { throw sentinel; } }) as unknown[];
    Object.defineProperty(throwing, 'length', { value: 1 });
    const records = (n: number, fields: number) => (r: unknown): string | undefined =>
      r instanceof Int32Array && r.length === n * fields ? undefined : `records ${describe(r)}`;
    try {
      await scenario('readFiles()', readCall(), typeErr('paths'));
      await scenario('readFiles("x", cb)', readCall('x', () => {}), typeErr('paths'));
      await scenario('readFiles([1], cb)', readCall([1], () => {}), typeErr('paths[0]'));
      await scenario('readFiles(["a"], "cb")', readCall(['a'], 'cb'), typeErr('callback'));
      await scenario('readFiles(Proxy([]), cb)', readCall(new Proxy([], {}), () => {}), typeErr('paths'));
      await scenario('readFiles(2^20 + 1 holes, cb)', readCall(new Array(2 ** 20 + 1), () => {}), { ok: false, error: 'RangeError', code: 'ERR_OUT_OF_RANGE', mentions: 'paths' });
      await scenario('readFiles([getter that throws], cb)', readCall(throwing, () => {}), { ok: false, error: 'sentinel' });
      await scenario('readFiles([missing, "", NUL], cb)', viaCallback('readFiles', [path.join(dir, 'missing'), '', 'a\0b']), {
        ok: true,
        check: (r) => {
          const rec = (r as { records?: unknown })?.records;
          return records(3, 4)(rec) ?? ((rec as Int32Array)[1] === -1 && (rec as Int32Array)[2] === 2 /* ENOENT */ && (rec as Int32Array)[10] === 0 ? undefined : `records ${describe(rec)}`);
        },
      });
      const g = path.join(dir, 't');
      const write = (...args: unknown[]) => () => raw.writeFiles(...args);
      await scenario('writeFiles()', write(), typeErr('dir'));
      await scenario('writeFiles(dir with NUL)', write(`${dir}\0x`, [g], ['x'], [0o644], 0, () => {}), typeErr('dir', 'ERR_INVALID_ARG_VALUE'));
      await scenario('writeFiles(targets not an array)', write(dir, 't', ['x'], [0o644], 0, () => {}), typeErr('targets'));
      await scenario('writeFiles(lengths differ)', write(dir, [g], ['x', 'y'], [0o644], 0, () => {}), { ok: false, error: 'RangeError', code: 'ERR_OUT_OF_RANGE', mentions: 'same length' });
      await scenario('writeFiles(durability 3)', write(dir, [g], ['x'], [0o644], 3, () => {}), { ok: false, error: 'RangeError', code: 'ERR_OUT_OF_RANGE', mentions: 'durability' });
      await scenario('writeFiles(durability "1")', write(dir, [g], ['x'], [0o644], '1', () => {}), typeErr('durability'));
      await scenario('writeFiles(contents[0] a Buffer)', write(dir, [g], [Buffer.from('x')], [0o644], 0, () => {}), typeErr('contents[0]'));
      await scenario('writeFiles(modes[0] a string)', write(dir, [g], ['x'], ['644'], 0, () => {}), typeErr('modes[0]'));
      await scenario('writeFiles(targets[0] with NUL)', write(dir, [`${g}\0`], ['x'], [0o644], 0, () => {}), typeErr('targets[0]', 'ERR_INVALID_ARG_VALUE'));
      await scenario('writeFiles(targets[0] getter throws)', write(dir, throwing, ['x'], [0o644], 0, () => {}), { ok: false, error: 'sentinel' });
      await scenario('writeFiles(no callback)', write(dir, [g], ['x'], [0o644], 0), typeErr('callback'));
      // The old signature (a caller-chosen temporary name first) is refused, not half-obeyed.
      await scenario('writeFiles(dir, temps, targets, …) (old signature)', write(dir, [`${g}.tmp`], [g], ['x'], [0o644], 0, () => {}), typeErr('durability'));
      if (fsm.readdirSync(dir).length !== 0) broken(`refused writeFiles calls wrote ${fsm.readdirSync(dir).join(', ')}`);
      await scenario('writeFiles(one file, durable)', viaCallback('writeFiles', dir, [g], ['x'], [0o600], 2), { ok: true, check: records(1, 2) });
      if (fsm.readFileSync(g, 'utf8') !== 'x' || fsm.readdirSync(dir).join() !== 't') broken('writeFiles did not replace the file (or left a temporary file)');
    } finally {
      fsm.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * Every other function the addon exports (new ones included, before anyone writes a precise phase
 * for them) gets hostile arguments too: whatever it returns, it must not crash, and what it throws
 * must be a coded TypeError/NarsignError/RangeError. A returned object with a `dispose` method is
 * disposed twice.
 */
async function otherExports(raw: RawAddon): Promise<void> {
  const names = Object.keys(raw).filter((k) => typeof (raw as unknown as Record<string, unknown>)[k] === 'function' && !COVERED.has(k));
  generic.push(...names);
  for (const name of names) {
    const fn = (raw as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
    await runPhase(`addon.${name} (generic)`, () =>
      fc.assert(
        property(fc.array(fc.oneof(arbKeyArg('sk'), arbMessageArg, arbKeyArg('pk')), { maxLength: 3 }), (ds) => {
          const args = ds.map((d) => build(d).value);
          const out = call(() => fn(...args));
          record(out);
          if (out.threw && !legitimateError(out.value)) broken(`addon.${name}: ${describe(out.value)}`);
          const dispose = (out.value as { dispose?: unknown } | null)?.dispose;
          if (!out.threw && typeof dispose === 'function') {
            for (let i = 0; i < 2; i++) {
              const d = call(() => (dispose as () => unknown).call(out.value));
              if (d.threw && !legitimateError(d.value)) broken(`addon.${name}(…).dispose(): ${describe(d.value)}`);
            }
          }
        }),
        fcParams(300),
      ),
    );
  }
}

/** setErrorClass with hostile classes: calls must still throw (something), never crash; restored afterwards. */
async function hostileErrorClass(raw: RawAddon): Promise<void> {
  await runPhase('addon setErrorClass', async () => {
    for (const bad of [undefined, null, 5, 'NarsignError', {}, Symbol('x')]) {
      const out = call(() => raw.setErrorClass(bad));
      record(out);
      const c = judge(out, typeErr('errorClass'));
      if (c) broken(`setErrorClass(${describe(bad)}): ${c}`);
    }
    const classes: Array<[string, unknown]> = [
      ['an arrow function (not a constructor)', () => 0],
      ['a class whose constructor throws', class { constructor() { throw sentinel; } }],
      ['a class returning a primitive-less object', class { constructor() { return Object.create(null); } }],
      ['a revocable Proxy, revoked', (() => { const { proxy, revoke } = Proxy.revocable(function F() {}, {}); revoke(); return proxy; })()],
      ['a bound function', function F() {}.bind(null)],
    ];
    for (const [name, cls] of classes) {
      const set = call(() => raw.setErrorClass(cls));
      if (set.threw) {
        if (!legitimateError(set.value)) broken(`setErrorClass(${name}): ${describe(set.value)}`);
        continue;
      }
      // Any wrong-length key now makes the addon build an error with that class: it must throw, not crash.
      for (const fn of [() => raw.signDetached(Buffer.alloc(3), 'm'), () => raw.verifyMany([{ publicKey: Buffer.alloc(1), signature: Buffer.alloc(64), message: '' }])]) {
        const out = call(fn);
        record(out);
        if (!out.threw) broken(`with ${name} as the error class, a wrong-length key returned ${describe(out.value)}`);
      }
    }
    raw.setErrorClass(NarsignError);
    const after = call(() => ed.signDetached(Buffer.alloc(3), 'm'));
    const c = judge(after, narErr('ERR_SECRET_KEY_INVALID'));
    if (c) broken(`after restoring NarsignError: ${c}`);
  });
}

// ---- main -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // The oracle itself is checked against libsodium (sodium-native) for a mismatched key first.
  {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { sodiumSign } = require('./oracles') as typeof import('./oracles');
    const m = crypto.randomBytes(40);
    if (!oracleSign(pool[0].mismatched, m).equals(sodiumSign(pool[0].mismatched, m))) throw new Error('the mismatched-key oracle disagrees with libsodium');
  }
  await singleFunctions();
  await batches();
  await handPicked();
  if (addon) {
    await rawJobs(addon);
    await rawFiles(addon);
    await otherExports(addon);
    await hostileErrorClass(addon); // last: it swaps the error class
  }
  process.stdout.write(`${JSON.stringify({ report: { backend: ed.backend, seed, calls, outcomes, phases, timings, generic, knownHits, violations } })}\n`);
}

main().catch((error) => {
  process.stderr.write(`boundary-child: harness error: ${error?.stack ?? error}\n`);
  process.exit(2);
});
