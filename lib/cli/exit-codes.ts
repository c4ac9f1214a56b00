/**
 * Exit codes, as `nix store verify` uses them: bits that add up. A run that finds a corrupt narinfo
 * and an untrusted one exits 3.
 */
export const EXIT_OK = 0;
/** Some narinfo is corrupt (cannot be parsed). */
export const EXIT_CORRUPT = 1;
/** Some narinfo is not trusted. */
export const EXIT_UNTRUSTED = 2;
/** Some other failure: unreadable file, network error, a malformed signature under a trusted key name. */
export const EXIT_FAILED = 4;
/** The command line itself is wrong (BSD sysexits EX_USAGE). */
export const EXIT_USAGE = 64;

/** A mistake in how narsign was invoked: one line, a hint, exit 64. */
export class UsageError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UsageError';
  }
}
