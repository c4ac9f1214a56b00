/**
 * The batch functions over the native addon. Sync batches are one crossing each (native/batch.cc);
 * the async ones are scheduled here: the batch is cut into chunks, each chunk's inputs are copied on
 * the JS thread by one `batchSign`/`batchVerify` call (so the event loop is busy a fraction of a
 * millisecond at a time), computed on the libuv pool (one small AsyncWorker per chunk, `concurrency`
 * chunks in flight), and its results copied into the output when it calls back, which also queues
 * the next chunk. An abort sets the job's cancel flag (running chunks stop before their next item),
 * waits for the chunks in flight, and rejects.
 */
import type { BatchOptions, Ed25519Backend, Message, SigningKey, VerifyItem } from './ed25519-types';
import { argTypeError } from './errors';
import {
  abortError,
  arrayArg,
  chunkSizeFor,
  defaultConcurrency,
  optionsArg,
  outputArg,
  SIGN_CHUNK,
  signCountArg,
  splitSignatures,
  VERIFY_CHUNK,
  type ResolvedOptions,
} from './batch-shared';

type Job = object;
type ChunkCallback = (error: unknown, done?: boolean) => void;

/** What native/batch.cc exports. */
export interface NativeBatchAddon {
  readonly SIGNATUREBYTES: number;
  signMany(secretKey: SigningKey, messages: readonly Message[], output?: ArrayBufferView): Buffer;
  verifyMany(items: readonly VerifyItem[]): boolean[];
  batchJob(secretKey?: SigningKey): Job;
  batchSign(job: Job, messages: readonly unknown[], start: number, end: number, output: ArrayBufferView, callback: ChunkCallback): void;
  batchVerify(job: Job, items: readonly unknown[], start: number, end: number, output: ArrayBufferView, callback: ChunkCallback): void;
  batchCancel(job: Job): void;
  batchClose(job: Job): void;
}

type BatchFunctions = Pick<
  Ed25519Backend,
  'signMany' | 'signManyInto' | 'verifyMany' | 'signManyAsync' | 'signManyIntoAsync' | 'verifyManyAsync'
>;

export function nativeBatch(addon: NativeBatchAddon): BatchFunctions {
  const SIG = addon.SIGNATUREBYTES;

  /** Runs chunks [0, n) with `concurrency` in flight; resolves when all are done, rejects on the first error or abort. */
  function schedule(
    job: Job,
    n: number,
    options: ResolvedOptions,
    limits: { min: number; max: number },
    queue: (start: number, end: number, callback: ChunkCallback) => void,
    finished: (start: number, end: number) => void,
  ): Promise<void> {
    const concurrency = options.concurrency ?? defaultConcurrency();
    const chunkSize = chunkSizeFor(n, concurrency, limits.min, limits.max, options.chunkSize);
    const { signal } = options;
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let inFlight = 0;
      let failed = false;
      let failure: unknown;
      let settled = false;

      const settle = () => {
        if (settled || inFlight !== 0 || (!failed && next < n)) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        addon.batchClose(job);
        if (failed) reject(failure);
        else resolve();
      };
      const fail = (error: unknown) => {
        if (!failed) {
          failed = true;
          failure = error;
          addon.batchCancel(job);
        }
        settle();
      };
      const onAbort = () => fail(abortError(signal!));
      const pump = () => {
        while (!failed && inFlight < concurrency && next < n) {
          const start = next;
          const end = Math.min(n, start + chunkSize);
          try {
            queue(start, end, (error, done) => {
              inFlight--;
              if (error) fail(error);
              else if (done && !failed) finished(start, end);
              pump();
            });
          } catch (error) {
            fail(error);
            return;
          }
          next = end;
          inFlight++;
        }
        settle();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pump();
    });
  }

  async function signAsync(
    secretKey: SigningKey,
    messages: readonly Message[],
    options: BatchOptions | undefined,
    output: ArrayBufferView | undefined,
    withOutput: boolean,
  ): Promise<{ flat: ArrayBufferView; views: Buffer[] | undefined }> {
    const opts = optionsArg(options);
    // batchJob() without a key makes a verify job: a missing key must fail like a wrong one.
    if (secretKey === undefined) throw argTypeError('secretKey must be a Uint8Array, Buffer or other ArrayBufferView');
    const job = addon.batchJob(secretKey);
    let list: readonly unknown[];
    try {
      list = arrayArg(messages, 'messages');
      signCountArg(list);
      if (withOutput) outputArg(output, list.length, SIG);
      if (opts.signal?.aborted) throw abortError(opts.signal);
    } catch (error) {
      addon.batchClose(job);
      throw error;
    }
    const n = list.length;
    const flat = withOutput ? output! : Buffer.allocUnsafeSlow(n * SIG);
    const views: Buffer[] | undefined = withOutput ? undefined : new Array<Buffer>(n);
    await schedule(
      job,
      n,
      opts,
      SIGN_CHUNK,
      (start, end, callback) => addon.batchSign(job, list, start, end, flat, callback),
      views ? (start, end) => splitSignatures(flat as Buffer, start, end, views, SIG) : () => {},
    );
    return { flat, views };
  }

  return {
    signMany(secretKey, messages) {
      const flat = addon.signMany(secretKey, messages);
      const n = flat.byteLength / SIG;
      const views = new Array<Buffer>(n);
      splitSignatures(flat, 0, n, views, SIG);
      return views;
    },

    signManyInto(secretKey, messages, output) {
      // null, not undefined: the addon reads an undefined output as "allocate one".
      addon.signMany(secretKey, messages, output ?? null!);
      return output;
    },

    verifyMany: addon.verifyMany,

    async signManyAsync(secretKey, messages, options) {
      return (await signAsync(secretKey, messages, options, undefined, false)).views!;
    },

    async signManyIntoAsync(secretKey, messages, output, options) {
      await signAsync(secretKey, messages, options, output, true);
      return output;
    },

    async verifyManyAsync(items, options) {
      const opts = optionsArg(options);
      const list = arrayArg(items, 'items');
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const n = list.length;
      const verdicts = new Uint8Array(n);
      const result = new Array<boolean>(n);
      const job = addon.batchJob();
      await schedule(
        job,
        n,
        opts,
        VERIFY_CHUNK,
        (start, end, callback) => addon.batchVerify(job, list, start, end, verdicts, callback),
        (start, end) => {
          for (let i = start; i < end; i++) result[i] = verdicts[i] === 1;
        },
      );
      return result;
    },
  };
}
