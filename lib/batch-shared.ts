/**
 * Argument checks and helpers shared by both backends' batch functions (lib/batch-native.ts over the
 * addon, lib/sodium-fallback.ts over sodium-native), so they fail with the very same errors.
 */
import { types } from 'node:util';
import os from 'node:os';
import { argTypeError, NarsignError, rangeError } from './errors';
import type { BatchOptions } from './ed25519-types';
import { viewArg } from './views';

/** A NarsignError about one element of a batch: `index` is that element's position. */
export type BatchItemError = NarsignError & { index: number };

export function itemError(code: string, message: string, index: number): BatchItemError {
  return Object.assign(new NarsignError(code, message), { index });
}

/** A real Array (as native napi_is_array sees it: a Proxy is not one). */
export function arrayArg(value: unknown, what: string): readonly unknown[] {
  if (types.isProxy(value) || !Array.isArray(value)) throw argTypeError(`${what} must be an array`);
  return value;
}

/** The caller's output buffer: a view with room for `count` results of `unit` bytes. */
export function outputArg(value: unknown, count: number, unit: number): Uint8Array {
  const bytes = viewArg(value, 'output');
  const needed = count * unit;
  if (bytes.byteLength < needed) {
    throw new NarsignError('ERR_OUTPUT_TOO_SMALL', `output is too small (needs ${needed} bytes)`);
  }
  return bytes;
}

/**
 * The most messages one signing batch takes: n × 64 bytes of signatures must fit in one Buffer
 * (4 GiB in Node 20), the same on every Node version. native/batch.cc has the same limit and words.
 */
export const MAX_BATCH_SIGNATURES = 2 ** 26;

/** `list.length`, refused with a RangeError past MAX_BATCH_SIGNATURES (before anything is allocated). */
export function signCountArg(list: readonly unknown[]): number {
  const n = list.length;
  if (n > MAX_BATCH_SIGNATURES) {
    throw rangeError(`messages has ${n} elements; a batch signs at most ${MAX_BATCH_SIGNATURES}`);
  }
  return n;
}

function positiveIntegerOption(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw argTypeError(`${what} must be a number`);
  if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) throw rangeError(`${what} must be a positive integer`);
  return value;
}

export interface ResolvedOptions {
  signal: AbortSignal | undefined;
  chunkSize: number | undefined;
  concurrency: number | undefined;
}

export function optionsArg(options: unknown): ResolvedOptions {
  if (options === undefined) return { signal: undefined, chunkSize: undefined, concurrency: undefined };
  if (options === null || typeof options !== 'object') throw argTypeError('options must be an object');
  const { signal, chunkSize, concurrency } = options as BatchOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('options.signal must be an AbortSignal');
  return {
    signal,
    chunkSize: positiveIntegerOption(chunkSize, 'options.chunkSize'),
    concurrency: positiveIntegerOption(concurrency, 'options.concurrency'),
  };
}

/** What an aborted batch rejects with (the signal's reason is the cause). */
export function abortError(signal: AbortSignal): NarsignError {
  return new NarsignError('ERR_ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/** Chunks in flight on the libuv pool: at least twice the cores (the prototype's lesson), at least 4. */
export function defaultConcurrency(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(4, 2 * cores);
}

/**
 * Items per chunk: about four rounds of `concurrency` chunks over the batch, between `min` and
 * `max` (a chunk of `max` items takes a few milliseconds: big enough that the per-chunk round trip
 * is noise, small enough that the last chunks end together and an abort is prompt).
 */
export function chunkSizeFor(n: number, concurrency: number, min: number, max: number, requested?: number): number {
  if (requested !== undefined) return requested;
  return Math.max(min, Math.min(max, Math.ceil(n / (concurrency * 4))));
}

export const SIGN_CHUNK = { min: 64, max: 512 };
export const VERIFY_CHUNK = { min: 64, max: 128 };

/** result[i] = a 64-byte Buffer view of flat[i*64 ..] for i in [start, end). */
export function splitSignatures(flat: Buffer, start: number, end: number, result: Buffer[], unit: number): void {
  for (let i = start; i < end; i++) result[i] = flat.subarray(i * unit, i * unit + unit);
}
