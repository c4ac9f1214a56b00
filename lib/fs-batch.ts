/**
 * Batched file I/O for whole caches, through the addon (native/files.cc) where it is loaded:
 *  - readFileBatch: every file of a batch opened, read and closed on the libuv pool in one
 *    crossing, so the JS thread only parses while the pool reads the next batch and checks
 *    signatures (reading a 2 KB narinfo with fs.*Sync costs the JS thread about as much as parsing
 *    it). On the fallback backend every file is "not read" and the caller reads it itself.
 *  - replaceFiles: a batch of files replaced atomically (temporary file, flush, rename) on the pool
 *    while the JS thread parses the next batch; its kernel work (create, write, rename) costs the
 *    JS thread as much as everything else per narinfo. Durable batches are flushed with one
 *    syncfs(2) instead of one fsync per file where syncfs reports write-back errors (Linux 5.8 and
 *    later); elsewhere file by file. On the fallback backend callers write with fs.*Sync.
 */
import os from 'node:os';
import path from 'node:path';
import { nativeFiles } from './backend';
import { NarsignError } from './errors';

/** One file of a batch: its bytes and mode bits, the I/O error fs would have thrown, or undefined (read it yourself). */
export type FileRead = { bytes: Buffer; mode: number } | { error: NodeJS.ErrnoException } | undefined;

const SYSCALLS = ['open', 'fstat', 'read'];
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, number]) => [number, name]));

/** An error shaped like the one fs.openSync / fstatSync / readSync throws for `errno`. */
function ioError(file: string, errno: number, syscall: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`${code}: ${syscall} '${file}'`), { errno: -errno, code, syscall, path: file });
}

/**
 * Reads `paths` (see FileRead); never rejects for a file's own problem. `noFollow`: a path that is a
 * symlink fails with ELOOP (O_NOFOLLOW) instead of being read through.
 */
export function readFileBatch(paths: readonly string[], noFollow = false): Promise<FileRead[]> {
  const native = nativeFiles;
  if (native === undefined || paths.length === 0) return Promise.resolve(new Array<FileRead>(paths.length).fill(undefined));
  return new Promise((resolve, reject) => {
    native.readFiles(paths, (error, result) => {
      if (error || !result) {
        reject(error);
        return;
      }
      const { data, records } = result;
      const reads = new Array<FileRead>(paths.length);
      for (let i = 0; i < paths.length; i++) {
        const start = records[i * 4], length = records[i * 4 + 1], errno = records[i * 4 + 2], extra = records[i * 4 + 3];
        if (length >= 0) reads[i] = { bytes: data.subarray(start, start + length), mode: extra };
        else if (errno > 0) reads[i] = { error: ioError(paths[i], errno, SYSCALLS[extra] ?? 'read') };
        else reads[i] = undefined;
      }
      resolve(reads);
    }, noFollow);
  });
}

/** Linux 5.8 and later: syncfs returns write-back errors (before, it returned 0 regardless). */
function syncfsReportsErrors(): boolean {
  if (process.platform !== 'linux') return false;
  const [major, minor] = os.release().split('.').map(Number);
  return major > 5 || (major === 5 && minor >= 8);
}

/** Whether replaceFiles is available (the native backend). */
export const canReplaceFiles = nativeFiles !== undefined;
/** Whether a durable replaceFiles flushes with one syncfs per batch; NARSIGN_SYNCFS=0 makes it fsync each file. */
const useSyncfs = syncfsReportsErrors() && process.env.NARSIGN_SYNCFS !== '0';

const WRITE_SYSCALLS = ['open', 'write', 'fsync', 'close', 'rename', 'syncfs', 'fsync', 'mkdir'];
const DIRECTORY_FSYNC = 6;
const PRIVATE_DIR_SWAPPED = 8;

export interface FileToReplace {
  target: string;
  content: string;
  mode: number;
}

/**
 * Replaces each target (a file of `dir`) by its content atomically, on the pool: write a temporary
 * file the addon creates in a private directory of its own in `dir` (see native/files.cc and
 * lib/private-dir.ts: only descriptors are used from there on, so a co-tenant of `dir` can neither
 * write through nor swap it; the mode applied by fchmod), flush it (durable: one syncfs for the
 * batch, or an fsync per file), rename it over the target; then fsync `dir` (durable). Resolves to
 * each file's I/O error (ERR_TEMP_DIR when the private directory was swapped before it was opened:
 * nothing written), or undefined where the file was replaced; a failed file's temporary is removed
 * and its target untouched. Rejects when the directory's fsync fails (the files are in place, their
 * renames maybe not durable), as the fs.*Sync path throws.
 */
export function replaceFiles(dir: string, files: readonly FileToReplace[], durable: boolean): Promise<Array<NodeJS.ErrnoException | undefined>> {
  const native = nativeFiles;
  if (native === undefined) return Promise.reject(new Error('replaceFiles needs the native addon'));
  const durability = !durable ? 0 : useSyncfs ? 2 : 1;
  return new Promise((resolve, reject) => {
    // Names in `dir` (a target elsewhere is left as it is, and fails there with EINVAL).
    const names = files.map((f) => (path.resolve(path.dirname(f.target)) === path.resolve(dir) ? path.basename(f.target) : f.target));
    native.writeFiles(dir, names, files.map((f) => f.content), files.map((f) => f.mode), durability, (error, records) => {
      if (error || !records) {
        reject(error);
        return;
      }
      const errors = new Array<NodeJS.ErrnoException | undefined>(files.length).fill(undefined);
      for (let i = 0; i < files.length; i++) {
        const errno = records[i * 2], syscall = records[i * 2 + 1];
        if (errno === 0) continue;
        if (syscall === DIRECTORY_FSYNC) {
          reject(ioError(dir, errno, 'fsync'));
          return;
        }
        if (syscall === PRIVATE_DIR_SWAPPED) {
          errors[i] = new NarsignError('ERR_TEMP_DIR', `${dir}: the private directory this run made was replaced (not a directory of this user with mode 0700); nothing written`, { file: files[i].target });
          continue;
        }
        errors[i] = ioError(files[i].target, errno, WRITE_SYSCALLS[syscall] ?? 'write');
      }
      resolve(errors);
    });
  });
}
