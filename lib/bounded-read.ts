/**
 * Bounded local reads: the one way narsign reads a file someone else may have written (a narinfo,
 * nix-cache-info, a lock file, a list of paths, standard input).
 *
 * A co-tenant of a cache can put anything under a name narsign reads: a 1.9 GB sparse file (76 KB
 * on disk), a FIFO (a plain open waits for a writer forever), a device, a directory, a symlink out
 * of the cache. So a read:
 *  - opens without blocking (O_NONBLOCK: a FIFO opens at once) and, where asked, without following
 *    a symlink (O_NOFOLLOW);
 *  - checks the *opened descriptor* with fstat (what the name pointed to a moment ago is no
 *    evidence): a regular file only, of at most `limit` bytes, refused before anything is read;
 *  - reads at most `limit + 1` bytes, so a file that grows after the fstat is refused too.
 * Standard input may be a pipe: it is read as a stream and refused once it passes `limit`.
 */
import fs from 'node:fs';
import { NarsignError } from './errors';
import { NARINFO_LIMITS } from './narinfo';

export interface BoundedReadOptions {
  /** Most bytes accepted. */
  limit: number;
  /** The error for a file of `size` bytes (or more, when it grew while read) over `limit`. */
  tooLarge: (size: number) => Error;
  /** Refuse a symlink at `file` (ELOOP) instead of reading through it. */
  noFollow?: boolean;
}

/** A regular file read whole: its bytes and mode bits. */
export interface FileContents {
  bytes: Buffer;
  mode: number;
}

/** What fileKind looks at: an fs.Stats or an fs.Dirent. */
type FileType = Pick<fs.Stats, 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isSymbolicLink'>;

const KIND: Array<[(s: FileType) => boolean, string]> = [
  [(s) => s.isDirectory(), 'a directory'],
  [(s) => s.isFIFO(), 'a FIFO'],
  [(s) => s.isSocket(), 'a socket'],
  [(s) => s.isCharacterDevice(), 'a character device'],
  [(s) => s.isBlockDevice(), 'a block device'],
  [(s) => s.isSymbolicLink(), 'a symbolic link'],
];

/** `a FIFO`, `a directory`…: what a non-regular file is, in words. */
export function fileKind(stat: FileType): string {
  return KIND.find(([is]) => is(stat))?.[1] ?? 'not a regular file';
}

/** ERR_NOT_REGULAR_FILE: `file` is a directory, FIFO, socket or device. */
export function notRegularFile(file: string, stat: fs.Stats): NarsignError {
  return new NarsignError('ERR_NOT_REGULAR_FILE', `${file}: not a regular file (${fileKind(stat)})`, { file });
}

/**
 * Reads the regular file `file` whole, within `options.limit`. Throws the fs error of the open (an
 * ELOOP for a symlink with `noFollow`), ERR_NOT_REGULAR_FILE, or `options.tooLarge`.
 */
export function readFileBounded(file: string, options: BoundedReadOptions): FileContents {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (options.noFollow ? fs.constants.O_NOFOLLOW : 0);
  const fd = fs.openSync(file, flags);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw notRegularFile(file, stat);
    return { bytes: readFdBounded(fd, stat.size, options), mode: stat.mode & 0o7777 };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads an open regular file of `size` bytes (by fstat) to its end, at most `limit + 1` bytes. */
function readFdBounded(fd: number, size: number, { limit, tooLarge }: BoundedReadOptions): Buffer {
  if (size > limit) throw tooLarge(size);
  let buffer = Buffer.allocUnsafe(size + 1); // one byte more shows whether the file ended where fstat said
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      // The file grew since the fstat: go on only while it stays within the limit.
      if (length > limit) throw tooLarge(length);
      const grown = Buffer.allocUnsafe(Math.min(limit + 1, buffer.length * 2));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) return buffer.subarray(0, length);
    length += n;
  }
}

/**
 * Reads standard input whole, within `options.limit`: a regular file redirected in is refused by
 * its size before it is read; a pipe or terminal is read as a stream and refused once past the limit.
 */
export async function readStdinBounded(options: Omit<BoundedReadOptions, 'noFollow'>): Promise<Buffer> {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.fstatSync(0);
  } catch {
    stat = undefined;
  }
  if (stat?.isFile() && stat.size > options.limit) throw options.tooLarge(stat.size);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > options.limit) {
      process.stdin.destroy();
      throw options.tooLarge(size);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Most bytes of a narinfo file: its character limit (a character is at least one UTF-8 byte). */
export const NARINFO_FILE_LIMIT = NARINFO_LIMITS.maxLength;

/** ERR_NARINFO_LIMIT for a narinfo file of `size` bytes. */
export function narinfoTooLarge(where: string, size: number): NarsignError {
  return new NarsignError('ERR_NARINFO_LIMIT', `NAR info file '${where}' is ${size} bytes long, more than the limit of ${NARINFO_FILE_LIMIT}`, { file: where });
}

/** Reads a narinfo file within the narinfo limit (see readFileBounded). */
export function readNarinfoFile(file: string, options: { noFollow?: boolean } = {}): FileContents {
  return readFileBounded(file, { limit: NARINFO_FILE_LIMIT, tooLarge: (size) => narinfoTooLarge(file, size), noFollow: options.noFollow });
}

/** Reads a narinfo from standard input within the narinfo limit. */
export function readNarinfoStdin(): Promise<Buffer> {
  return readStdinBounded({ limit: NARINFO_FILE_LIMIT, tooLarge: (size) => narinfoTooLarge('<stdin>', size) });
}
