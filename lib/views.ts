/**
 * The JS mirror of native ReadView/ViewArg (native/args.cc): any ArrayBufferView that is not over a
 * detached ArrayBuffer, with the same TypeErrors and codes. Used by the sodium-native fallback and by
 * the batch functions' own argument checks, so both backends fail alike.
 *
 * Like native code, it reads a view's real buffer, offset and length through the built-in getters,
 * never through the view's own properties: a view with a spoofed `byteLength` or `buffer` (or a
 * throwing getter for one) is read as the bytes it really covers. A view that no longer fits its
 * resizable buffer (out of bounds after a shrink) covers no bytes, as native code reads it.
 */
import { types } from 'node:util';
import { argTypeError } from './errors';

export const EMPTY = new Uint8Array(0);

const intrinsicGetter = (proto: object, name: string): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(proto, name)!.get! as (this: unknown) => unknown;
const TypedArrayPrototype: object = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayBuffer = intrinsicGetter(TypedArrayPrototype, 'buffer');
const typedArrayByteOffset = intrinsicGetter(TypedArrayPrototype, 'byteOffset');
const typedArrayByteLength = intrinsicGetter(TypedArrayPrototype, 'byteLength');
const dataViewBuffer = intrinsicGetter(DataView.prototype, 'buffer');
const dataViewByteOffset = intrinsicGetter(DataView.prototype, 'byteOffset');
const dataViewByteLength = intrinsicGetter(DataView.prototype, 'byteLength');
const arrayBufferByteLength = intrinsicGetter(ArrayBuffer.prototype, 'byteLength');

export function isDetached(buffer: ArrayBufferLike): boolean {
  if (!types.isArrayBuffer(buffer) || arrayBufferByteLength.call(buffer) !== 0) return false;
  // Node 20 has no ArrayBuffer.prototype.detached; constructing a view over a detached buffer throws.
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** Mirror of native ViewArg: any non-detached ArrayBufferView, as a Uint8Array over the same memory. */
export function viewArg(value: unknown, what: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) {
    throw argTypeError(`${what} must be a Uint8Array, Buffer or other ArrayBufferView`);
  }
  const isDataView = types.isDataView(value);
  const buffer = (isDataView ? dataViewBuffer : typedArrayBuffer).call(value) as ArrayBufferLike;
  if (isDetached(buffer)) {
    throw argTypeError(`${what} is a view over a detached ArrayBuffer`, 'ERR_DETACHED_BUFFER');
  }
  let byteOffset: number;
  let byteLength: number;
  try {
    byteOffset = (isDataView ? dataViewByteOffset : typedArrayByteOffset).call(value) as number;
    byteLength = (isDataView ? dataViewByteLength : typedArrayByteLength).call(value) as number;
  } catch {
    return EMPTY; // a DataView out of bounds of its shrunk resizable buffer (typed arrays report 0)
  }
  if (byteLength === 0) return EMPTY;
  return new Uint8Array(buffer, byteOffset, byteLength);
}

/**
 * viewArg for bytes that are only read: views over a SharedArrayBuffer come back as a private copy,
 * because sodium-native 5 silently does not read them (its verify then returns undefined).
 */
export function inputViewArg(value: unknown, what: string): Uint8Array {
  const bytes = viewArg(value, what);
  return types.isSharedArrayBuffer(bytes.buffer) ? new Uint8Array(bytes) : bytes;
}
