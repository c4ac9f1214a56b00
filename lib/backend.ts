/**
 * Chooses the Ed25519 backend once, at first load:
 *  1. the native addon (prebuilds/ or build/Release, found by node-gyp-build), unless
 *     NARSIGN_BACKEND=sodium-native asks for the fallback;
 *  2. otherwise sodium-native, behind the very same functions, errors and messages, with one
 *     process warning saying so.
 * NARSIGN_BACKEND=native makes a missing addon an error instead of a fallback (CI uses it).
 */
import path from 'node:path';
import { NarsignError } from './errors';
import type { BackendName, Ed25519Backend } from './ed25519-types';

interface NativeAddon extends Ed25519Backend {
  setErrorClass(errorClass: typeof NarsignError): void;
  libsodiumVersion: string;
}

const packageRoot = path.join(__dirname, '..');

function loadNative(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  const addon = nodeGypBuild(packageRoot) as NativeAddon;
  addon.setErrorClass(NarsignError);
  return addon;
}

function loadFallback(): Ed25519Backend {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./sodium-fallback') as typeof import('./sodium-fallback')).sodiumBackend;
}

function choose(): { name: BackendName; impl: Ed25519Backend; loadError?: string } {
  const wanted = process.env.NARSIGN_BACKEND;
  if (wanted === 'sodium-native') return { name: 'sodium-native', impl: loadFallback() };
  if (wanted !== undefined && wanted !== '' && wanted !== 'native') {
    throw new NarsignError('ERR_BACKEND', `NARSIGN_BACKEND must be "native" or "sodium-native", not ${JSON.stringify(wanted)}`);
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
        'Run `npm run build:native` (needs a C++ compiler and libsodium-dev) to build it.',
      { code: 'NARSIGN_FALLBACK' },
    );
    return { name: 'sodium-native', impl: loadFallback(), loadError: reason };
  }
}

const chosen = choose();

/** Which implementation is in use: `'native'` (our addon) or `'sodium-native'` (the fallback). */
export const backend: BackendName = chosen.name;
export const impl: Ed25519Backend = chosen.impl;
