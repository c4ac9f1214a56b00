/**
 * Chooses the Ed25519 backend once, at first load:
 *  1. the native addon (prebuilds/ or build/Release, found by node-gyp-build), unless
 *     NARSIGN_BACKEND=sodium-native asks for the fallback;
 *  2. otherwise sodium-native, behind the very same functions, errors and messages, with one
 *     process warning saying so.
 * NARSIGN_BACKEND=native makes a missing addon an error instead of a fallback (CI uses it).
 */
import path from 'node:path';
import { mayBeKeyMaterial, NarsignError } from './errors';
import type { BackendName, Ed25519Backend, Message, SigningKey } from './ed25519-types';
import { nativeBatch, type NativeBatchAddon } from './batch-native';

type BatchName = 'signMany' | 'signManyInto' | 'verifyMany' | 'signManyAsync' | 'signManyIntoAsync' | 'verifyManyAsync';

interface NativeAddon extends Omit<Ed25519Backend, BatchName>, Omit<NativeBatchAddon, 'SIGNATUREBYTES'> {
  setErrorClass(errorClass: typeof NarsignError): void;
  signDetachedInto(secretKey: SigningKey, message: Message, output: Uint8Array): void;
  readFiles?: NativeFiles['readFiles'];
  writeFiles?: NativeFiles['writeFiles'];
  libsodiumVersion: string;
}

/** native/files.cc: batched file I/O on the libuv pool (used by lib/fs-batch.ts). */
export interface NativeFiles {
  readFiles(paths: readonly string[], callback: (error: unknown, result?: { data: Buffer; records: Int32Array }) => void, noFollow?: boolean): void;
  writeFiles(
    dir: string,
    targets: readonly string[],
    contents: readonly string[],
    modes: readonly number[],
    durability: 0 | 1 | 2,
    callback: (error: unknown, records?: Int32Array) => void,
  ): void;
}

const packageRoot = path.join(__dirname, '..');

function loadNative(): Ed25519Backend {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  const addon = nodeGypBuild(packageRoot) as NativeAddon;
  addon.setErrorClass(NarsignError);
  // Windows builds have no file engine (native/addon.cc): lib/fs-batch.ts then uses node:fs.
  nativeFilesOfAddon = typeof addon.readFiles === 'function' && typeof addon.writeFiles === 'function'
    ? { readFiles: addon.readFiles, writeFiles: addon.writeFiles }
    : undefined;
  // The addon's functions as they are, plus the batch functions (the async ones are scheduled in JS),
  // and signDetached writing into a 64-byte view of a shared 64 KiB slab instead of a Buffer made in
  // C++ (~1.5 µs, several per cent of a signature) or by Buffer.allocUnsafe (its 8 KiB pool costs
  // about 3 % more: measured with perf). Same checks, same errors, in the same order.
  const { signDetachedInto, SIGNATUREBYTES } = addon;
  const SLAB_BYTES = 64 * 1024;
  let slab = new ArrayBuffer(0);
  let slabOffset = SLAB_BYTES;
  return {
    ...addon,
    ...nativeBatch(addon),
    signDetached(secretKey: SigningKey, message: Message): Buffer {
      // Zero-filled, so the rest of a slab (reachable through signature.buffer) never shows old memory.
      if (slabOffset === SLAB_BYTES) {
        slab = new ArrayBuffer(SLAB_BYTES);
        slabOffset = 0;
      }
      const signature = Buffer.from(slab, slabOffset, SIGNATUREBYTES);
      signDetachedInto(secretKey, message, signature);
      slabOffset += SIGNATUREBYTES; // only once the signature is made: a rejected call takes no room
      return signature;
    },
  };
}

let nativeFilesOfAddon: NativeFiles | undefined;

function loadFallback(): Ed25519Backend {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./sodium-fallback') as typeof import('./sodium-fallback')).sodiumBackend;
}

function choose(): { name: BackendName; impl: Ed25519Backend; loadError?: string } {
  const wanted = process.env.NARSIGN_BACKEND;
  if (wanted === 'sodium-native') return { name: 'sodium-native', impl: loadFallback() };
  if (wanted !== undefined && wanted !== '' && wanted !== 'native') {
    const shown = mayBeKeyMaterial(wanted) ? '(the value is not shown: it looks like a key)' : JSON.stringify(wanted);
    throw new NarsignError('ERR_BACKEND', `NARSIGN_BACKEND must be "native" or "sodium-native", not ${shown}`);
  }
  try {
    return { name: 'native', impl: loadNative() };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if (wanted === 'native') {
      throw new NarsignError('ERR_BACKEND', `NARSIGN_BACKEND=native but the native addon could not be loaded: ${reason}`);
    }
    process.emitWarning(
      `narsign: native addon not available (${reason}); using sodium-native. ` +
        'To compile it (C++ compiler, cmake and libsodium-dev needed): `npx cmake-js@8 compile --out build` in the narsign package directory (`npm run build:native` in a clone).',
      { code: 'NARSIGN_FALLBACK' },
    );
    return { name: 'sodium-native', impl: loadFallback(), loadError: reason };
  }
}

const chosen = choose();

/** Which implementation is in use: `'native'` (our addon) or `'sodium-native'` (the fallback). */
export const backend: BackendName = chosen.name;
export const impl: Ed25519Backend = chosen.impl;
/** The addon's batched file I/O, on the native backend only. */
export const nativeFiles: NativeFiles | undefined = chosen.name === 'native' ? nativeFilesOfAddon : undefined;
