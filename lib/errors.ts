/**
 * The one domain error class. Every failure narsign reports on purpose is a `NarsignError` with a
 * stable `code` (a wrong argument *type* is a `TypeError`, which carries a `code` too). Messages
 * never contain secret key material: callers pass names and positions, never values.
 *
 * The class is handed to the native addon at load time, so C++ throws real instances of it.
 */
export class NarsignError extends Error {
  readonly code: string;
  /** 1-based line in the file being read, for parse errors. */
  line?: number;
  /** The file (or other source) the error is about, when known. */
  file?: string;

  constructor(code: string, message: string, details?: { line?: number; file?: string; cause?: unknown }) {
    super(message, details?.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'NarsignError';
    this.code = code;
    if (details?.line !== undefined) this.line = details.line;
    if (details?.file !== undefined) this.file = details.file;
  }
}

/** A TypeError with a stable `code`, naming the offending argument (like Node's own ERR_INVALID_ARG_TYPE). */
export function argTypeError(message: string, code = 'ERR_INVALID_ARG_TYPE'): TypeError & { code: string } {
  const error = new TypeError(message) as TypeError & { code: string };
  error.code = code;
  return error;
}

export function isNarsignError(value: unknown, code?: string): value is NarsignError {
  return value instanceof NarsignError && (code === undefined || value.code === code);
}
