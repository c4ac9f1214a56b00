/**
 * Key files on disk: reading secret keys (with a warning when others can read them) and writing
 * key files the way `nix-store --generate-binary-cache-key` does — no trailing newline, secret file
 * mode 0600, fsynced, never replacing an existing file unless asked to.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { mayBeKeyMaterial, NarsignError } from './errors';

/** Key files larger than this are refused: a key string is under 200 bytes. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Reads a key file's text. `warn` is called (once per file) when a secret key file is readable by
 * group or others — the name of the file only, never its contents.
 *
 * Symlinks are followed (secret managers such as agenix and sops-nix link keys into place); the
 * mode checked is the target's. Anything but a regular file (a directory, a FIFO, a device) is
 * refused with ERR_KEY_FILE without reading it — a FIFO is opened non-blocking, so nothing waits
 * for a writer — and a file over MAX_KEY_FILE_BYTES with ERR_KEY_FILE_TOO_LARGE.
 *
 * A `file` that looks like a key itself (`-k "$(cat secret.key)"`) is never quoted in a message.
 * With `label` (how to refer to the file, e.g. "the key file given to -k"), a name that could not
 * be opened is never quoted at all: a value typed into a key option may be a key pasted in any
 * mangled form (`NAME BASE64`, `BASE64:NAME`, the base64 twice), which no pattern can rule out —
 * while a name that opened is a file's, and is shown (unless it looks like a key).
 */
export function readKeyFile(file: string, options: { secret?: boolean; warn?: (message: string) => void; label?: string } = {}): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    const shown = options.label === undefined && !mayBeKeyMaterial(file);
    // The system error's own message quotes the path, so it is kept as the cause only when the path may be shown.
    throw new NarsignError('ERR_KEY_FILE', `cannot read ${options.label ?? describeKeyFile(file)}: ${errnoText(error)}`, shown ? { file, cause: error } : {});
  }
  const what = describeKeyFile(file);
  const details = mayBeKeyMaterial(file) ? {} : { file };
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new NarsignError('ERR_KEY_FILE', `${what} is not a regular file`, details);
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new NarsignError('ERR_KEY_FILE_TOO_LARGE', `${what} is ${stat.size} bytes; a key file holds at most ${MAX_KEY_FILE_BYTES}`, details);
    }
    if (options.secret && (stat.mode & 0o077) !== 0 && options.warn) {
      options.warn(`secret ${what} can be read by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    // At most one byte past the limit is read, so a file that grows after the fstat is refused too;
    // the buffer that held the key's bytes is wiped (the returned string cannot be).
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    try {
      let length = 0;
      while (length < buffer.length) {
        const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
      if (length > MAX_KEY_FILE_BYTES) {
        throw new NarsignError('ERR_KEY_FILE_TOO_LARGE', `${what} is more than ${MAX_KEY_FILE_BYTES} bytes; a key file holds at most ${MAX_KEY_FILE_BYTES}`, details);
      }
      return buffer.toString('utf8', 0, length);
    } finally {
      buffer.fill(0);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** How messages refer to a key file that exists: by its name, unless the name looks like a key. */
export function describeKeyFile(file: string): string {
  return mayBeKeyMaterial(file) ? 'key file (its name is not shown: it looks like a key, not the name of a file holding one)' : `key file '${file}'`;
}

const ERRNO_TEXT: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', ENOTDIR: 'a component of the path is not a directory', ELOOP: 'too many symbolic links' };

function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined ? 'error' : ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} (${code})` : code;
}

/**
 * Writes a key file durably: to a temporary file in the same directory (mode `mode` from the
 * start, so the secret is never briefly world-readable), fsynced, then linked or renamed into place.
 * Without `force` an existing file is an error and is left untouched.
 */
export function writeKeyFile(file: string, content: string, options: { mode: number; force?: boolean }): void {
  const dir = path.dirname(path.resolve(file));
  // An unguessable name, created O_EXCL|O_NOFOLLOW: a link planted in the directory is neither
  // written through nor a way to stop this (a guessable name could be taken in advance).
  const temp = path.join(dir, `.${path.basename(file)}.narsign-${process.pid}-${crypto.randomBytes(8).toString('hex')}.tmp`);
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, options.mode);
  try {
    fs.writeSync(fd, content);
    fs.fchmodSync(fd, options.mode); // the umask may have narrowed — or, for 0600, nothing widens it
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    if (options.force) {
      fs.renameSync(temp, file);
    } else {
      // link() fails with EEXIST instead of replacing: no window where an existing key is clobbered.
      fs.linkSync(temp, file);
      fs.rmSync(temp);
    }
  } catch (error) {
    fs.rmSync(temp, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new NarsignError('ERR_FILE_EXISTS', `'${file}' already exists; use --force to replace it`, { file });
    }
    throw error;
  }
  fsyncDirectory(dir);
}

/**
 * Makes a rename or link in `dir` durable. Not on Windows, which has no directory fsync (flushing a
 * directory handle is refused with EPERM): there the rename is as durable as NTFS makes it.
 */
export function fsyncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
