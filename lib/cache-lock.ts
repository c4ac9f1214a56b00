/**
 * One signer per cache at a time. Two `narsign sign` runs on one cache would each read a narinfo,
 * add their own Sig and rename their version into place — the later rename would drop the earlier
 * signature (Nix's own code calls this case racy). So a signer holds `<cache>/.narsign.lock`,
 * created with O_EXCL and holding `pid host start-time`; a second signer waits for it. A lock whose
 * owner process is gone (same host, pid not alive) is stale and is taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NarsignError } from './errors';

export const LOCK_FILE = '.narsign.lock';

export interface CacheLock {
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
}

function readOwner(file: string): Owner | undefined {
  try {
    const [pid, host] = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
    return { pid: Number(pid), host };
  } catch {
    return undefined;
  }
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

function tryCreate(file: string): boolean {
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    fs.writeSync(fd, `${process.pid} ${os.hostname()} ${new Date().toISOString()}\n`);
    fs.closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new NarsignError('ERR_CACHE_LOCK', `cannot create lock file '${file}': ${(error as NodeJS.ErrnoException).code}`, { file, cause: error });
  }
}

/**
 * Takes the cache's lock, waiting while a live process holds it (`onWait` is told once, with the
 * owner's pid), up to `timeoutMs` (default: forever), and honouring `signal`.
 */
export async function lockCache(
  dir: string,
  options: { signal?: AbortSignal; timeoutMs?: number; onWait?: (owner: Owner) => void } = {},
): Promise<CacheLock> {
  const file = path.join(dir, LOCK_FILE);
  const started = Date.now();
  let told = false;
  for (;;) {
    if (tryCreate(file)) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          const owner = readOwner(file);
          if (owner?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    }
    const owner = readOwner(file);
    if (owner && owner.host === os.hostname() && !processAlive(owner.pid)) {
      // Stale: take it over by renaming it away first, so two waiters can't both remove a fresh lock.
      const stale = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, stale);
        const moved = readOwner(stale);
        if (moved && moved.pid !== owner.pid) fs.renameSync(stale, file); // someone else's fresh lock: put it back
        else fs.rmSync(stale, { force: true });
      } catch {
        /* another waiter got there first */
      }
      continue;
    }
    if (owner && !told) {
      told = true;
      options.onWait?.(owner);
    }
    if (options.signal?.aborted) throw new NarsignError('ERR_ABORTED', 'the operation was aborted', { cause: options.signal.reason });
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
      throw new NarsignError('ERR_CACHE_LOCKED', `cache '${dir}' is locked by process ${owner?.pid ?? '?'} on ${owner?.host ?? '?'} (${file})`, { file });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
