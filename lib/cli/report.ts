/**
 * Summaries and reports of cache runs: one human line on stderr (`signed 50000 narinfos (49990
 * new, 10 already signed) in 2.1 s`), or one JSON document on stdout with --json.
 */
import { isCorruptCode, type SignCacheResult, type VerifyCacheResult } from '../cache';
import { EXIT_CORRUPT, EXIT_FAILED, EXIT_OK, EXIT_UNTRUSTED } from './exit-codes';
import { formatSeconds } from './progress';

export function signSummary(r: SignCacheResult, dryRun: boolean): string {
  const done = r.signed + r.alreadySigned;
  let line = `${dryRun ? 'would sign' : 'signed'} ${done} narinfo${done === 1 ? '' : 's'} (${r.signed} ${dryRun ? 'to change' : 'new'}, ${r.alreadySigned} already signed)`;
  if (r.skipped) line += `, ${r.skipped} skipped (not trusted)`;
  if (r.failed) line += `, ${r.failed} failed`;
  return `${line} in ${formatSeconds(r.durationMs / 1000)}`;
}

export function verifySummary(r: VerifyCacheResult): string {
  const parts = [`${r.trusted} trusted`];
  if (r.untrusted) parts.push(`${r.untrusted} untrusted`);
  if (r.corrupt) parts.push(`${r.corrupt} corrupt`);
  if (r.failed) parts.push(`${r.failed} failed`);
  return `checked ${r.total} narinfo${r.total === 1 ? '' : 's'}: ${parts.join(', ')} in ${formatSeconds(r.durationMs / 1000)}`;
}

/** Exit code of a verify run (bits add up, like `nix store verify`). */
export function verifyExitCode(r: VerifyCacheResult): number {
  return (r.corrupt ? EXIT_CORRUPT : 0) | (r.untrusted ? EXIT_UNTRUSTED : 0) | (r.failed ? EXIT_FAILED : 0) || EXIT_OK;
}

/** Exit code of a sign run: corrupt files 1, untrusted (skipped by --require-trusted) 2, other failures 4. */
export function signExitCode(r: SignCacheResult): number {
  // The same split as verify's: a narinfo under another path's name (ERR_NARINFO_FILE_NAME) is a failure, not corrupt.
  const corrupt = r.failures.some((f) => isCorruptCode(f.code));
  const other = r.failures.some((f) => !isCorruptCode(f.code));
  return (corrupt ? EXIT_CORRUPT : 0) | (r.skipped ? EXIT_UNTRUSTED : 0) | (other ? EXIT_FAILED : 0);
}

/** Two runs' results as one: counts added, lists joined (sign and verify results alike). */
export function mergeResults<T extends SignCacheResult | VerifyCacheResult>(a: T, b: T): T {
  const out = { ...a } as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    out[key] = Array.isArray(value) ? [...(mine as unknown[]), ...value] : (mine as number) + (value as number);
  }
  return out as T;
}
