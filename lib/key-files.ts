/**
 * Key files on disk: reading secret keys (with a warning when others can read them) and writing
 * key files the way `nix-store --generate-binary-cache-key` does — no trailing newline, secret file
 * mode 0600, fsynced, never replacing an existing file unless asked to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NarsignError } from './errors';

/** Key files larger than this are refused: a key string is under 200 bytes. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Reads a key file's text. `warn` is called (once per file) when a secret key file is readable by
 * group or others — the name of the file only, never its contents.
 */
export function readKeyFile(file: string, options: { secret?: boolean; warn?: (message: string) => void } = {}): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new NarsignError('ERR_KEY_FILE', `cannot read key file '${file}': ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { file, cause: error });
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new NarsignError('ERR_KEY_FILE', `key file '${file}' is not a regular file`, { file });
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new NarsignError('ERR_KEY_FILE_TOO_LARGE', `key file '${file}' is ${stat.size} bytes; a key file holds at most ${MAX_KEY_FILE_BYTES}`, { file });
    }
    if (options.secret && (stat.mode & 0o077) !== 0 && options.warn) {
      options.warn(`secret key file '${file}' can be read by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a key file durably: to a temporary file in the same directory (mode `mode` from the
 * start, so the secret is never briefly world-readable), fsynced, then linked or renamed into place.
 * Without `force` an existing file is an error and is left untouched.
 */
export function writeKeyFile(file: string, content: string, options: { mode: number; force?: boolean }): void {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.narsign-${process.pid}.tmp`);
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, options.mode);
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

/** Makes a rename or link in `dir` durable. */
export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
