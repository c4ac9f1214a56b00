/**
 * The loader and the two backends: the native addon and the sodium-native fallback must be
 * indistinguishable — same results, same error classes, codes and messages — and the loader must
 * fall back (with one warning) exactly when the addon cannot be loaded.
 */
import test from 'ava';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { backend } from '../lib/ed25519';
import type { Ed25519Backend } from '../lib/ed25519-types';
import { NarsignError } from '../lib/errors';
import { sodiumBackend } from '../lib/sodium-fallback';

const root = path.join(__dirname, '..');

test('the backend under test is the one the runner announced', (t) => {
  const announced = process.env.NARSIGN_TESTED_BACKEND;
  if (announced) t.is(backend as string, announced);
  if (process.env.NARSIGN_BACKEND === 'native' || process.env.NARSIGN_BACKEND === 'sodium-native') {
    t.is(backend, process.env.NARSIGN_BACKEND);
  }
  t.true(backend === 'native' || backend === 'sodium-native');
});

function loadNativeDirectly(): Ed25519Backend | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = (require('node-gyp-build') as (dir: string) => Ed25519Backend & { setErrorClass(c: unknown): void })(root);
    addon.setErrorClass(NarsignError);
    return addon;
  } catch {
    return undefined;
  }
}

const native = loadNativeDirectly();
const compare = native ? test : test.skip;

function outcome(fn: () => unknown): unknown {
  try {
    const value = fn();
    if (value && typeof value === 'object' && 'publicKey' in value) {
      const pair = value as { publicKey: Buffer; secretKey: Buffer };
      return { publicKey: Buffer.from(pair.publicKey).toString('hex'), secretKey: Buffer.from(pair.secretKey).toString('hex') };
    }
    return ArrayBuffer.isView(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') : value;
  } catch (error) {
    const e = error as Error & { code?: string };
    return { threw: e.constructor.name, code: e.code, message: e.message };
  }
}

compare('native and sodium-native give identical results and errors', (t) => {
  const n = native!;
  const s = sodiumBackend;
  t.deepEqual(
    [n.SECRETKEYBYTES, n.PUBLICKEYBYTES, n.SIGNATUREBYTES, n.SEEDBYTES],
    [s.SECRETKEYBYTES, s.PUBLICKEYBYTES, s.SIGNATUREBYTES, s.SEEDBYTES],
  );
  const detached = () => {
    const buffer = new ArrayBuffer(64);
    const view = new Uint8Array(buffer);
    structuredClone(buffer, { transfer: [buffer] });
    return view;
  };
  const seed = crypto.randomBytes(32);
  const pair = s.keyPairFromSeed(seed);
  const message = crypto.randomBytes(100);
  const signature = s.signDetached(pair.secretKey, message);
  const inputs: unknown[] = [
    pair.secretKey, pair.publicKey, signature, seed, message, 'text ü', '', new DataView(message.buffer, message.byteOffset, 50),
    Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(63), Buffer.alloc(65), 7, null, undefined, {}, 'x', [], new ArrayBuffer(64),
  ];
  let compared = 0;
  for (const a of inputs) {
    for (const b of [message, 'text', 5]) {
      t.deepEqual(outcome(() => n.signDetached(a as never, b as never)), outcome(() => s.signDetached(a as never, b as never)));
      t.deepEqual(outcome(() => n.signDetached(pair.secretKey, a as never)), outcome(() => s.signDetached(pair.secretKey, a as never)));
      compared += 2;
    }
    t.deepEqual(outcome(() => n.keyPairFromSeed(a as never)), outcome(() => s.keyPairFromSeed(a as never)));
    t.deepEqual(outcome(() => n.publicKeyFromSecretKey(a as never)), outcome(() => s.publicKeyFromSecretKey(a as never)));
    t.deepEqual(outcome(() => n.verifyDetached(a as never, signature, message)), outcome(() => s.verifyDetached(a as never, signature, message)));
    t.deepEqual(outcome(() => n.verifyDetached(pair.publicKey, a as never, message)), outcome(() => s.verifyDetached(pair.publicKey, a as never, message)));
    t.deepEqual(outcome(() => n.verifyDetached(pair.publicKey, signature, a as never)), outcome(() => s.verifyDetached(pair.publicKey, signature, a as never)));
    compared += 5;
  }
  t.deepEqual(outcome(() => n.signDetached(detached(), 'm')), outcome(() => s.signDetached(detached(), 'm')));
  t.deepEqual(outcome(() => n.verifyDetached(pair.publicKey, signature, detached())), outcome(() => s.verifyDetached(pair.publicKey, signature, detached())));
  t.true(compared > 100);
});

function runLoader(env: Record<string, string>, preloadNoAddon: boolean) {
  const args = [...(preloadNoAddon ? ['--require', path.join(__dirname, 'helpers', 'no-addon.cjs')] : []), '--import', 'tsx', '-e', `
    const n = require(${JSON.stringify(path.join(root, 'lib', 'ed25519.ts'))});
    const k = n.keyPairFromSeed(Buffer.alloc(32, 1));
    const ok = n.verifyDetached(k.publicKey, n.signDetached(k.secretKey, 'x'), 'x');
    console.log(JSON.stringify({ backend: n.backend, ok }));`];
  const { NARSIGN_BACKEND: _ignored, ...base } = process.env;
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...base, ...env } });
}

test('no loadable addon: falls back to sodium-native and warns once', (t) => {
  const run = runLoader({}, true);
  t.is(run.status, 0, run.stderr);
  t.deepEqual(JSON.parse(run.stdout), { backend: 'sodium-native', ok: true });
  t.is(run.stderr.match(/NARSIGN_FALLBACK/g)?.length, 1, run.stderr);
  t.regex(run.stderr, /using sodium-native/);
});

test('NARSIGN_BACKEND=sodium-native forces the fallback without a warning', (t) => {
  const run = runLoader({ NARSIGN_BACKEND: 'sodium-native' }, false);
  t.is(run.status, 0, run.stderr);
  t.deepEqual(JSON.parse(run.stdout), { backend: 'sodium-native', ok: true });
  t.notRegex(run.stderr, /NARSIGN_FALLBACK/);
});

test('NARSIGN_BACKEND=native refuses to fall back', (t) => {
  const run = runLoader({ NARSIGN_BACKEND: 'native' }, true);
  t.not(run.status, 0);
  t.regex(run.stderr, /ERR_BACKEND|NARSIGN_BACKEND=native but the native addon could not be loaded/);
});

test('an unknown NARSIGN_BACKEND is an error, not a silent choice', (t) => {
  const run = runLoader({ NARSIGN_BACKEND: 'openssl' }, false);
  t.not(run.status, 0);
  t.regex(run.stderr, /NARSIGN_BACKEND must be "native" or "sodium-native"/);
});

/** The CLI (dist/cli/main.js, built by scripts/test.js) under a backend setting. */
function runCliWith(env: Record<string, string>, preloadNoAddon: boolean) {
  const args = [...(preloadNoAddon ? ['--require', path.join(__dirname, 'helpers', 'no-addon.cjs')] : []), path.join(root, 'dist', 'cli', 'main.js'), 'key', 'generate', 'x-1'];
  const { NARSIGN_BACKEND: _ignored, ...base } = process.env;
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...base, ...env } });
}

test('CLI: a backend setting it cannot honour is one `narsign: error:` line, exit 64 (unknown value) or 4 (addon missing), no stack trace', (t) => {
  for (const [env, noAddon, code, message] of [
    [{ NARSIGN_BACKEND: 'foo' }, false, 64, /^narsign: error: NARSIGN_BACKEND must be "native" or "sodium-native", not "foo"\n$/],
    [{ NARSIGN_BACKEND: 'native' }, true, 4, /^narsign: error: NARSIGN_BACKEND=native but the native addon could not be loaded: .*\n$/],
  ] as const) {
    const run = runCliWith(env, noAddon);
    t.is(run.status, code, run.stderr);
    t.regex(run.stderr, message);
    t.is(run.stdout, '');
  }
});
