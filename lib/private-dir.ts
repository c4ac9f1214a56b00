/**
 * The private directory a signing batch keeps its temporary files in (the node:fs writer's; the
 * addon's writer, native/files.cc, makes the same one).
 *
 * A co-tenant who can write the cache directory can swap any name in it between two system calls
 * of ours. So the temporary files are not made there: each batch makes `.narsign-<pid>-<16 random
 * hex>` (mode 0700) in the cache, opens it O_DIRECTORY|O_NOFOLLOW and checks on the open descriptor
 * that it is a directory of this euid with mode 0700. Only this euid can then create, rename or
 * remove names in it. Node has no openat/renameat, but on Linux `/proc/self/fd/<fd>/<name>` resolves
 * through the descriptor to that very directory whatever its name in the cache now holds, so no
 * name a co-tenant can touch is resolved between creating a temporary file and renaming it into
 * place. Elsewhere (no /proc/self/fd) the directory's path is used: the guarantee is Linux's.
 *
 * A dead run's private directory (its pid no longer alive) is removed by a later run, but only a
 * directory of ours (lstat, not followed: this euid, mode 0700), emptied of its regular files and
 * links by name through its descriptor; anything else named like one is left, with a warning.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NarsignError } from './errors';

/** A private directory's name: `.narsign-<pid>-<16 hex>`. */
export const PRIVATE_DIR_NAME = /^\.narsign-(\d+)-[0-9a-f]{16}$/;

/** Attempts at a fresh random name (a collision means someone lists the directory and plants). */
const ATTEMPTS = 8;

/** Whether `/proc/self/fd/<fd>/<name>` reaches into a directory through its descriptor (Linux). */
const viaProc = process.platform === 'linux' && fs.existsSync('/proc/self/fd');

export interface PrivateDir {
  /** Its path in the cache directory (its name there may be swapped; see `entry`). */
  path: string;
  /** Its descriptor (-1 where files have no POSIX owners: Windows). */
  fd: number;
  dev: number;
  ino: number;
}

/**
 * Whether files have POSIX owners and modes here. Windows has neither (no `process.geteuid`): there
 * the private directory is only a directory of a random name, and the rules of this module are not
 * claimed (docs/platforms.md).
 */
const posixOwners = typeof process.geteuid === 'function';

/** Whether `stat` is a directory only this euid can change: ours, mode 0700. */
function isOurs(stat: fs.Stats): boolean {
  return stat.isDirectory() && (!posixOwners || (stat.uid === process.geteuid!() && (stat.mode & 0o7777) === 0o700));
}

/** A path to `name` inside the private directory that resolves through its descriptor where it can. */
export function entry(priv: PrivateDir, name: string): string {
  return viaProc ? `/proc/self/fd/${priv.fd}/${name}` : path.join(priv.path, name);
}

/**
 * Makes and opens a private directory in `dir`. Throws fs's error when it cannot, and
 * ERR_TEMP_DIR when what its name holds by the time it is opened is not the directory just made.
 */
export function createPrivateDir(dir: string): PrivateDir {
  let file = '';
  for (let attempt = 1; ; attempt += 1) {
    file = path.join(dir, `.narsign-${process.pid}-${crypto.randomBytes(8).toString('hex')}`);
    try {
      fs.mkdirSync(file, { mode: 0o700 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= ATTEMPTS) throw error;
    }
  }
  const swapped = (cause?: unknown) => new NarsignError('ERR_TEMP_DIR', `${file}: the private directory this run made was replaced (not a directory of this user with mode 0700); nothing written`, { file, cause });
  if (!posixOwners) {
    const made = fs.lstatSync(file);
    if (!isOurs(made)) throw swapped();
    return { path: file, fd: -1, dev: made.dev, ino: made.ino };
  }
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    // A link, a file or nothing where the directory was just made: someone swapped it.
    throw ['ELOOP', 'ENOTDIR', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '') ? swapped(error) : error;
  }
  try {
    const now = fs.fstatSync(fd);
    if (!isOurs(now)) throw swapped();
    return { path: file, fd, dev: now.dev, ino: now.ino };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** Removes the (by now empty) private directory, if its name still holds it, and closes it. */
export function removePrivateDir(priv: PrivateDir): void {
  try {
    const stat = fs.lstatSync(priv.path);
    if (stat.dev === priv.dev && stat.ino === priv.ino) fs.rmdirSync(priv.path);
  } catch {
    /* gone or not empty: left for a later run */
  } finally {
    if (priv.fd >= 0) fs.closeSync(priv.fd);
  }
}

/**
 * Removes a dead run's private directory `dir/name`: only a directory of ours (lstat, not followed),
 * its regular files and links unlinked by name through its descriptor, then the directory itself.
 * Anything else is left, with a warning.
 */
export function removeStrayPrivateDir(dir: string, name: string, warn?: (message: string) => void): void {
  const file = path.join(dir, name);
  const leave = (why: string) => warn?.(`${file}: left alone: named like narsign's private directory but ${why}`);
  let priv: PrivateDir;
  try {
    const stat = fs.lstatSync(file);
    if (!isOurs(stat)) return leave(stat.isDirectory() ? 'not this user\'s with mode 0700' : 'not a directory');
    if (!viaProc) return leave('its entries cannot be removed through a descriptor here');
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
    const now = fs.fstatSync(fd);
    priv = { path: file, fd, dev: now.dev, ino: now.ino };
    if (!isOurs(now) || now.dev !== stat.dev || now.ino !== stat.ino) {
      fs.closeSync(fd);
      return leave('it changed while it was looked at');
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') leave(`it cannot be opened: ${(error as NodeJS.ErrnoException).code}`);
    return;
  }
  try {
    for (const child of fs.readdirSync(entry(priv, '.'), { withFileTypes: true })) {
      if (child.isFile() || child.isSymbolicLink()) fs.unlinkSync(entry(priv, child.name));
    }
  } catch (error) {
    warn?.(`${file}: cannot empty this stray private directory: ${(error as NodeJS.ErrnoException).code}`);
  }
  removePrivateDir(priv);
}
