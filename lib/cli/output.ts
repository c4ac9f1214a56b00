/**
 * Where the CLI writes: results on stdout, diagnostics on stderr, each prefixed `narsign:`. A user
 * error is one line, never a stack trace; only an unexpected internal error shows one, under
 * NARSIGN_DEBUG=1.
 */
import { NarsignError } from '../errors';
import { UsageError } from './exit-codes';

export function warn(message: string): void {
  process.stderr.write(`narsign: warning: ${message}\n`);
}

export function error(message: string): void {
  process.stderr.write(`narsign: error: ${message}\n`);
}

/** The one line a user sees for an error, with where it happened (file and line) in front. */
export function describeError(err: unknown): string {
  if (err instanceof NarsignError) {
    const where = err.file && !err.message.includes(err.file) ? `${err.file}: ${err.line !== undefined ? `line ${err.line}: ` : ''}` : '';
    return `${where}${err.message}`;
  }
  if (err instanceof UsageError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code && e.syscall) {
    return `${e.path ? `${e.path}: ` : ''}${e.code} (${e.syscall})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Writes to stdout and resolves once flushed (so `process.exit` never truncates a pipe). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
