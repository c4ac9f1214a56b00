/**
 * One signer per cache at a time. Two `narsign sign` runs on one cache would each read a narinfo,
 * add their own Sig and rename their version into place — the later rename would drop the earlier
 * signature (Nix's own code calls this case racy). So a signer holds `<cache>/.narsign.lock`,
 * created with O_EXCL|O_NOFOLLOW and holding `pid host start-time`; a second signer waits for it,
 * up to a time limit (ERR_CACHE_LOCKED, naming the lock file).
 *
 * Anyone who can write the cache can also put something at the lock's name, so:
 *  - a lock whose owner is known (same host, pid not alive) is stale at once and taken over;
 *  - a lock whose owner cannot be identified (empty — also what a signer killed between creating
 *    and writing it leaves —, garbage, too large) is stale once it is UNIDENTIFIED_STALE_MS old;
 *  - a lock that is not a regular file (a directory, a symlink, a FIFO) is not narsign's: nothing
 *    is followed, renamed or removed, and the run fails at once with ERR_CACHE_LOCK saying so;
 *  - taking over renames the stale lock away under an unguessable name and removes it only if it is
 *    still the very file judged stale (dev/inode); release removes the lock only if it is still the
 *    file this run created.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileKind, readFileBounded } from './bounded-read';
import { argTypeError, NarsignError, rangeError } from './errors';

export const LOCK_FILE = '.narsign.lock';
/** How long a signer waits for another one's lock by default (`--lock-timeout`). */
export const DEFAULT_LOCK_TIMEOUT_MS = 10 * 60 * 1000;
/** A lock whose owner cannot be read is stale once it is this old (a signer writes its line at once). */
export const UNIDENTIFIED_STALE_MS = 60 * 1000;
/** A lock line is `pid host time`: far below this. */
const LOCK_FILE_LIMIT = 4096;
const POLL_MS = 50;

export interface CacheLock {
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
}

/** A file's identity: the same dev and inode is the same file, whatever its name now. */
interface Identity {
  dev: number;
  ino: number;
}

const sameFile = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

/** The owner written in the lock file, or undefined when it cannot be read or makes no sense. */
function readOwner(file: string): Owner | undefined {
  try {
    const { bytes } = readFileBounded(file, { limit: LOCK_FILE_LIMIT, noFollow: true, tooLarge: () => new Error('too large') });
    const [pid, host] = bytes.toString('utf8').trim().split(/\s+/);
    const owner = { pid: Number(pid), host };
    return Number.isSafeInteger(owner.pid) && owner.pid > 0 && host ? owner : undefined;
  } catch {
    return undefined;
  }
}

function lstat(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw lockError(file, error);
  }
}

function lockError(file: string, error: unknown): NarsignError {
  return new NarsignError('ERR_CACHE_LOCK', `cannot create lock file '${file}': ${(error as NodeJS.ErrnoException).code}`, { file, cause: error });
}

/** Whether process `pid` exists on this machine (EPERM: it exists but is not ours). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the lock file with this process as its owner; undefined when something is already there. */
function tryCreate(file: string): Identity | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw lockError(file, error);
  }
  let identity: Identity | undefined;
  try {
    const { dev, ino } = fs.fstatSync(fd);
    identity = { dev, ino };
    fs.writeSync(fd, `${process.pid} ${os.hostname()} ${new Date().toISOString()}\n`);
    return identity;
  } catch (error) {
    if (identity) removeIfSame(file, identity);
    throw lockError(file, error);
  } finally {
    fs.closeSync(fd);
  }
}

/** Unlinks `file` if it is still the file `identity` names (never one put there since). */
function removeIfSame(file: string, identity: Identity): void {
  const stat = lstat(file);
  if (stat && sameFile(stat, identity)) fs.rmSync(file, { force: true });
}

/**
 * Removes the stale lock `stat` judged stale: renamed away first (so two waiters can't both remove
 * a fresh lock), then removed if it is still that file, else put back.
 */
function takeOver(file: string, stat: Identity): void {
  const moved = `${file}.stale-${process.pid}-${crypto.randomBytes(8).toString('hex')}`;
  try {
    fs.renameSync(file, moved);
  } catch {
    return; // another waiter got there first
  }
  const now = lstat(moved);
  if (now && sameFile(now, stat)) {
    fs.rmSync(moved, { force: true });
    return;
  }
  // Someone's fresh lock came in between: put it back, unless yet another one is there by now.
  try {
    fs.linkSync(moved, file);
  } catch {
    /* leave it: it holds no one's lock any more */
  }
  fs.rmSync(moved, { force: true });
}

/** What is at the lock's name: nothing, a live owner to wait for, or a stale lock to take over. */
function judge(file: string, staleAfterMs: number): { stale?: Identity; owner?: Owner } {
  const stat = lstat(file);
  if (!stat) return {};
  if (!stat.isFile()) {
    throw new NarsignError(
      'ERR_CACHE_LOCK',
      `the lock file '${file}' is ${fileKind(stat)}, not a file narsign made: remove it if no narsign is signing this cache`,
      { file },
    );
  }
  const owner = readOwner(file);
  if (owner) return owner.host === os.hostname() && !processAlive(owner.pid) ? { stale: stat } : { owner };
  return Date.now() - stat.mtimeMs > staleAfterMs ? { stale: stat } : {};
}

/**
 * Takes the cache's lock, waiting while another process holds it (`onWait` is told once, with the
 * owner's pid), up to `timeoutMs` (default DEFAULT_LOCK_TIMEOUT_MS), honouring `signal`.
 */
export async function lockCache(
  dir: string,
  options: { signal?: AbortSignal; timeoutMs?: number; onWait?: (owner: Owner) => void } = {},
): Promise<CacheLock> {
  const file = path.join(dir, LOCK_FILE);
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number') throw argTypeError('timeoutMs must be a number of milliseconds');
  if (!(timeoutMs >= 0)) throw rangeError(`timeoutMs must be a non-negative number of milliseconds, not ${timeoutMs}`);
  const started = Date.now();
  let told = false;
  for (;;) {
    const mine = tryCreate(file);
    if (mine) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          removeIfSame(file, mine);
        },
      };
    }
    const { stale, owner } = judge(file, UNIDENTIFIED_STALE_MS);
    if (stale) {
      takeOver(file, stale);
      continue;
    }
    if (owner && !told) {
      told = true;
      options.onWait?.(owner);
    }
    if (options.signal?.aborted) throw new NarsignError('ERR_ABORTED', 'the operation was aborted', { cause: options.signal.reason });
    if (Date.now() - started >= timeoutMs) {
      const who = owner ? `process ${owner.pid} on ${owner.host}` : 'a process that cannot be identified (the lock names no owner yet)';
      throw new NarsignError('ERR_CACHE_LOCKED', `cache '${dir}' is locked by ${who} (lock file ${file}); gave up after ${Math.round(timeoutMs / 1000)} s`, { file });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
