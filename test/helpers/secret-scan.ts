/**
 * Finding secret key material in text a user could see (error messages, stderr, JSON reports).
 *
 * For each registered secret key (Nix's `NAME:BASE64(seed ‖ public key)`), the scanner looks for:
 *  - any 12-character piece of the key's base64, of the seed's own base64, and of their base64url
 *    forms — so a fragment is caught as well as the whole key, however the key was cut;
 *  - any 12-byte piece of the seed in hex (lower and upper case), and as Node prints a Buffer
 *    (`13 b9 40 …`) or JSON writes one (`19,185,64,…`).
 * The public half on its own is not secret: only the seed's pieces are searched for in hex and
 * byte forms (in base64 the public half's bits sit at a different alignment within
 * the secret key, so its pieces never equal pieces of the public key's own base64).
 *
 * Findings name the key's label and where the match is, never the matching text.
 */
import util from 'node:util';

const WINDOW = 12;

export interface Finding {
  /** what was scanned (e.g. "stderr of narsign key public") */
  source: string;
  /** which key, and which form of it */
  secret: string;
  /** offset of the match in the text */
  at: number;
}

/** Each form the scanner searches: how to find candidate runs in a text, and how to cut a run into pieces. */
interface Form {
  /** runs of text in which a piece of this form could be */
  runs: RegExp;
  /** the pieces of a run to look up */
  pieces(run: string): string[];
}

const slide = (size: number, step = 1) => (run: string): string[] => {
  const out: string[] = [];
  for (let i = 0; i + size <= run.length; i += step) out.push(run.slice(i, i + size));
  return out;
};

const FORMS = {
  base64: { runs: /[A-Za-z0-9+/_-]{12,}/g, pieces: slide(WINDOW) },
  hex: { runs: /[0-9a-fA-F]{24,}/g, pieces: slide(2 * WINDOW) },
  spacedHex: { runs: /(?:[0-9a-fA-F]{2} ){11,}[0-9a-fA-F]{2}/g, pieces: slide(3 * WINDOW - 1, 3) },
  decimal: {
    runs: /\d{1,3}(?:, ?\d{1,3}){11,}/g,
    pieces: (run: string) => {
      const numbers = run.split(/, ?/);
      const out: string[] = [];
      for (let i = 0; i + WINDOW <= numbers.length; i++) out.push(numbers.slice(i, i + WINDOW).join(','));
      return out;
    },
  },
} satisfies Record<string, Form>;

export class SecretScanner {
  /** form → (piece → label) */
  private readonly pieces = new Map<keyof typeof FORMS, Map<string, string>>();

  /** Registers a secret key string `NAME:BASE64`. */
  addKeyString(label: string, secretKey: string): this {
    const bytes = Buffer.from(secretKey.slice(secretKey.indexOf(':') + 1).trim(), 'base64');
    if (bytes.length !== 64) throw new Error(`${label}: not a 64-byte secret key`);
    return this.addBytes(label, bytes);
  }

  /** Registers a 64-byte secret key (seed ‖ public key). */
  addBytes(label: string, secretKey: Buffer): this {
    const seed = secretKey.subarray(0, 32);
    for (const [form, text] of [
      ['base64', secretKey.toString('base64')],
      ['base64 of the seed', seed.toString('base64')],
      ['base64url', secretKey.toString('base64url')],
      ['base64url of the seed', seed.toString('base64url')],
    ] as const) {
      for (const piece of slide(WINDOW)(text)) this.put('base64', piece, `${label} (${form})`);
    }
    const hex = seed.toString('hex');
    for (const piece of slide(2 * WINDOW, 2)(hex)) {
      this.put('hex', piece, `${label} (hex of the seed)`);
      this.put('hex', piece.toUpperCase(), `${label} (HEX of the seed)`);
    }
    for (const piece of slide(3 * WINDOW - 1, 3)(hex.match(/../g)!.join(' '))) this.put('spacedHex', piece, `${label} (bytes as Node prints a Buffer)`);
    for (const piece of FORMS.decimal.pieces(Array.from(seed, String).join(','))) this.put('decimal', piece, `${label} (bytes as JSON writes a Buffer)`);
    return this;
  }

  private put(form: keyof typeof FORMS, piece: string, label: string): void {
    let map = this.pieces.get(form);
    if (!map) this.pieces.set(form, (map = new Map()));
    if (!map.has(piece)) map.set(piece, label);
  }

  /** Where in `text` pieces of registered secrets appear (one finding per run of text). */
  scan(source: string, text: string): Finding[] {
    const found: Finding[] = [];
    for (const [form, map] of this.pieces) {
      for (const m of text.matchAll(FORMS[form].runs)) {
        for (const piece of FORMS[form].pieces(m[0])) {
          const label = map.get(piece);
          if (label !== undefined) {
            found.push({ source, secret: label, at: m.index ?? 0 });
            break;
          }
        }
      }
    }
    return found;
  }
}

/**
 * Everything a user could be shown of a thrown value: its message, stack, `cause` chain, own
 * properties, and how `console.error` would print it (util.inspect, which includes all of those).
 */
export function errorTexts(error: unknown): string[] {
  const texts: string[] = [util.inspect(error, { depth: 20, showHidden: false })];
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e);
    if (e instanceof Error) {
      texts.push(String(e), e.message, e.stack ?? '');
      try {
        texts.push(JSON.stringify(e));
      } catch {
        /* a cycle: util.inspect above has it */
      }
      e = (e as Error & { cause?: unknown }).cause;
    } else {
      texts.push(String(e));
      break;
    }
  }
  return texts;
}

/** A text collection: what was produced, under a label saying where it came from. */
export class Collected {
  readonly items: Array<{ source: string; text: string }> = [];

  add(source: string, ...texts: string[]): void {
    for (const text of texts) this.items.push({ source, text });
  }

  /** Runs `fn`; collects what it returns (as JSON and inspected) or everything about what it throws. Returns the error, if any. */
  call(source: string, fn: () => unknown): unknown {
    try {
      this.value(source, fn());
      return undefined;
    } catch (error) {
      this.add(`${source} (thrown)`, ...errorTexts(error));
      return error;
    }
  }

  async callAsync(source: string, fn: () => Promise<unknown>): Promise<unknown> {
    try {
      this.value(source, await fn());
      return undefined;
    } catch (error) {
      this.add(`${source} (thrown)`, ...errorTexts(error));
      return error;
    }
  }

  /** A returned value, as a program would print or serialise it. */
  value(source: string, value: unknown): void {
    this.add(`${source} (returned)`, typeof value === 'string' ? value : util.inspect(value, { depth: 20 }));
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) this.add(`${source} (returned, JSON)`, json);
    } catch {
      /* not serialisable */
    }
  }

  findings(scanner: SecretScanner): Finding[] {
    return this.items.flatMap(({ source, text }) => scanner.scan(source, text));
  }
}

/** One line per finding, for a test failure message (no secret text in it). */
export function describeFindings(findings: readonly Finding[]): string {
  return findings
    .slice(0, 20)
    .map((f) => `${f.source}: ${f.secret} at offset ${f.at}`)
    .join('\n');
}
