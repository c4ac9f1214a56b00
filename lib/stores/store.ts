/**
 * One small interface for "where a binary cache lives" (issue 15): a local directory, an HTTP(S)
 * cache, an S3 bucket. Signing and verifying a whole cache need only these operations, so they can
 * be written once over any of them. Everything is batched because every store but the local one
 * pays a round trip per object: a batch lets the store keep many requests in flight.
 *
 * Names are file names in the cache (`<32 nix32 chars>.narinfo`, `nar/<…>.nar.xz`), never keys with
 * a store's prefix: the prefix is the store's business.
 */
import type { Readable } from 'node:stream';
import type { NarsignError } from '../errors';

/**
 * What a store handed out with a narinfo it read, to be handed back unchanged when replacing it:
 * `etag` is the object's version (compare-and-swap replaces only that version); anything else in it
 * is the store's own (e.g. the object's settings an S3 replacement must keep). Opaque to callers,
 * and held by them only while they work on that narinfo, so a store's memory stays flat.
 */
export interface VersionToken {
  readonly etag: string;
}

/** One narinfo of a read batch. `bytes` are what the narinfo says (any Content-Encoding undone). */
export type ReadResult =
  | { name: string; status: 'ok'; bytes: Buffer; version: VersionToken }
  | { name: string; status: 'missing' }
  | { name: string; status: 'error'; error: NarsignError };

/** One narinfo to replace: its new bytes (uncompressed), and the version read before deciding them. */
export interface Replacement {
  name: string;
  bytes: Buffer;
  version: VersionToken;
}

/**
 * One narinfo of a replace batch:
 *  - `replaced`: the new bytes are in place (and `version` is their token, for a further change);
 *  - `conflict`: another writer changed the narinfo since it was read; nothing was written. The
 *    caller re-reads it and decides again (a lost race must never lose the other writer's signature);
 *  - `error`: nothing was written, for the reason given.
 */
export type ReplaceResult =
  | { name: string; status: 'replaced'; version: VersionToken }
  | { name: string; status: 'conflict' }
  | { name: string; status: 'error'; error: NarsignError };

export interface StoreCallOptions {
  /** Cancels the call; what was not done yet is not done. */
  signal?: AbortSignal;
}

export interface Store {
  /** How messages name the store: its URL without credentials or endpoint user-info. */
  readonly url: string;
  /**
   * Whether `replaceNarinfos` may be called: an HTTP cache is read-only; an S3 store opened
   * read-only too. Checked before a run starts so a read-only store fails before any work.
   */
  readonly writable: boolean;

  /**
   * The cache's top-level narinfo names (`<hash>.narinfo` only: nothing else in the store is ever
   * listed), streamed page by page so memory stays flat in the cache's size. Absent where a store
   * cannot be listed (HTTP): the caller then names what to check.
   */
  listNarinfos?(options?: StoreCallOptions): AsyncIterable<string>;

  /** Reads a batch of narinfos, each with the version token a replacement must name. In input order. */
  readNarinfos(names: readonly string[], options?: StoreCallOptions): Promise<ReadResult[]>;

  /**
   * Replaces a batch of narinfos, each only if it is still the version that was read
   * (compare-and-swap), keeping the object's settings. Each narinfo is replaced whole or not at all.
   * In input order. Throws (rather than reporting per item) what concerns the whole store, e.g. a
   * read-only store, or a server that cannot replace conditionally.
   */
  replaceNarinfos(items: readonly Replacement[], options?: StoreCallOptions): Promise<ReplaceResult[]>;

  /**
   * Opens any file of the cache (a NAR) as a stream that fails with `ERR_STORE_OBJECT_TOO_LARGE`
   * past `maxBytes` (counting the bytes as stored), so a hostile server cannot feed an endless body;
   * a file whose announced size is already past it is refused by `openFile` itself.
   * `undefined` when the file does not exist.
   */
  openFile(name: string, options: StoreCallOptions & { maxBytes: number }): Promise<Readable | undefined>;

  /** Releases connections and sockets; the store is not used after. */
  close(): Promise<void>;
}

/** `<hash part>.narinfo`: the only names a store lists, reads as narinfos, or ever writes. */
export const NARINFO_NAME = /^[0-9abcdfghijklmnpqrsvwxyz]{32}\.narinfo$/;
