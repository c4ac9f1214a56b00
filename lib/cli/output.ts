/**
 * Where the CLI writes: results on stdout, diagnostics on stderr, each prefixed `narsign:`. A user
 * error is one line, never a stack trace; only an unexpected internal error shows one, under
 * NARSIGN_DEBUG=1.
 */
import { NarsignError, printable } from '../errors';
import { UsageError } from './exit-codes';

// Every diagnostic goes through printable(): it can quote what a co-tenant or a server chose (a file
// name, a narinfo line, a lock file's host, a Location), which must not reach the terminal raw.
export function warn(message: string): void {
  process.stderr.write(`narsign: warning: ${printable(message)}\n`);
}

export function error(message: string): void {
  process.stderr.write(`narsign: error: ${printable(message)}\n`);
}

/**
 * The one line a user sees for a problem with a file: `FILE: line N: what`. Nix's own narinfo
 * wording (`NAR info file 'FILE' is corrupt: what at line N`) is reshaped into that form. The line
 * is printable(): the file's name and the quoted text are chosen by whoever wrote the cache.
 */
export function describeProblem(p: { file: string; message: string; line?: number }): string {
  return printable(problemLine(p));
}

function problemLine(p: { file: string; message: string; line?: number }): string {
  let message = p.message;
  let line = p.line;
  const nix = /^NAR info file '(.*)' is corrupt: ([\s\S]*?)(?: at line (\d+))?$/.exec(message);
  if (nix && nix[1] === p.file) {
    message = `corrupt narinfo: ${nix[2]}`;
    if (line === undefined && nix[3] !== undefined) line = Number(nix[3]);
  } else if (message.startsWith(`${p.file}: `)) {
    message = message.slice(p.file.length + 2);
  } else if (message.includes(p.file)) {
    return message; // names the file already (e.g. the 2015 format's own wording)
  }
  if (line !== undefined && message.startsWith(`line ${line}: `)) message = message.slice(`line ${line}: `.length);
  return `${p.file}: ${line !== undefined ? `line ${line}: ` : ''}${message}`;
}

/** The one line a user sees for an error, with where it happened (file and line) in front. */
export function describeError(err: unknown): string {
  if (err instanceof NarsignError) {
    return err.file ? describeProblem({ file: err.file, message: err.message, line: err.line }) : printable(err.message);
  }
  if (err instanceof UsageError) return printable(err.message);
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code && e.syscall) {
    return printable(`${e.path ? `${e.path}: ` : ''}${e.code} (${e.syscall})`);
  }
  return printable(err instanceof Error ? err.message : String(err));
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

/** A file system error code in words (`EACCES` → `permission denied`). */
export function errnoWords(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code ? ERRNO_WORDS[code] ?? code : String(error);
}

/** Writes to stdout and resolves once flushed (so `process.exit` never truncates a pipe). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
