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

/** A RangeError with the code ERR_OUT_OF_RANGE, naming the offending argument (a number outside its range). */
export function rangeError(message: string): RangeError & { code: string } {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

/**
 * `text` as quoted in an error message: whole when short (as Nix quotes it), cut to its first 256
 * characters past 512, so a hostile megabyte of input does not become a megabyte of message.
 */
export function excerpt(text: string): string {
  if (text.length <= 512) return text;
  const cut = /[\uD800-\uDBFF]/.test(text[255]) ? 255 : 256; // never split a surrogate pair
  return `${text.slice(0, cut)}… (${text.length} characters in all)`;
}

export function isNarsignError(value: unknown, code?: string): value is NarsignError {
  return value instanceof NarsignError && (code === undefined || value.code === code);
}

/**
 * Whether text a user typed where a name belongs (a key file's path, an environment variable's
 * name, a key name, a command-line word) may be a pasted key — `NAME:BASE64`, even cut short, or
 * a bare base64 payload — and so must not be echoed in a message. Errors then describe the
 * argument instead of quoting it. (A path like `./a:/Secret/Keys/Cache1234` is a false positive:
 * it is only not shown.)
 */
export function mayBeKeyMaterial(text: string): boolean {
  if (/:\s*[A-Za-z0-9+/]{16,}/.test(text)) return true;
  // A long run of base64 anywhere: `NAME BASE64`, `BASE64:NAME`, the base64 twice, a key in a path.
  for (const run of text.match(/[A-Za-z0-9+/]{40,}/g) ?? []) {
    if (/[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run)) return true;
  }
  return false;
}

/**
 * `text` safe to print on a terminal: control characters (C0, DEL, C1) and the Unicode controls
 * that reorder or hide text are shown as escapes (`\x1b`, `\u202e`), so text a server or a file
 * chose (a redirect's Location, a narinfo line quoted in an error) cannot move the cursor, clear the
 * screen, forge a line of output or pose as another file name.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
