/**
 * Loads the test vectors in test/vectors/ (copied from the team's shared reference data; see
 * test/vectors/PROVENANCE.md). Only parsing of the files' framing lives here: no expected value is
 * computed by narsign.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const vectorsDir = path.join(__dirname, '..', 'vectors');
export const readVector = (name: string): string => readFileSync(path.join(vectorsDir, name), 'utf8');

/** cache.nixos.org's public key, as the vector files give it. */
export const CACHE_NIXOS_ORG_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';

export interface Fixture {
  /** F1…F6, X1…X3 */
  id: string;
  /** the narinfo, byte for byte */
  text: string;
  /** Nix's fingerprint, as written in the fixture's comment */
  fingerprint: string;
  /** the fixture's comment block */
  notes: string;
}

/** The framed narinfos of real-narinfos.txt (F1–F6) and extra-narinfos.txt (X1–X3). */
export function fixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const file of ['real-narinfos.txt', 'extra-narinfos.txt']) {
    const text = readVector(file);
    const re = /#{10,}\n# ((?:F|X)\d+) [^\n]*\n((?:#[^\n]*\n)*?)#{10,}\n-----BEGIN NARINFO-----\n([\s\S]*?)-----END NARINFO-----\n/g;
    for (const m of text.matchAll(re)) {
      const notes = m[2];
      const fp = /# fingerprint[^\n]*\n#\s+(1;[^\n]*)\n/.exec(notes);
      out.push({ id: m[1], text: m[3], fingerprint: fp ? fp[1] : '', notes });
    }
  }
  return out;
}

export function fixture(id: string): Fixture {
  const found = fixtures().find((f) => f.id === id);
  if (!found) throw new Error(`no fixture ${id}`);
  return found;
}

/** The 978 real narinfos (records separated by one blank line, each ending in "\n"). */
export function corpus(): string[] {
  return readVector('cache-nixos-org-978.narinfo')
    .split('\n\n')
    .filter((r) => r.length > 0)
    .map((r) => (r.endsWith('\n') ? r : `${r}\n`));
}

export const bigNarinfo = (): string => readVector('big-texlive-combined-full.narinfo');

export interface KeyVector {
  section: string;
  secretKey?: string;
  publicKey?: string;
  /** [message, signature string] pairs in the order the section lists them */
  signed: Array<{ message: string; messageHex?: string; signature: string }>;
}

/**
 * Sections A–H of key-vectors.txt. A row is `label [tag] value   (comment)`; a message is followed
 * by its signature(s). Section A gives the message as hex.
 */
export function keyVectors(): KeyVector[] {
  const text = readVector('key-vectors.txt');
  const sections: KeyVector[] = [];
  let current: KeyVector | undefined;
  let pendingMessage: { message: string; messageHex?: string } | undefined;
  for (const line of text.split('\n')) {
    const head = /^# ([A-H])\. /.exec(line);
    if (head) {
      current = { section: head[1], signed: [] };
      sections.push(current);
      pendingMessage = undefined;
      continue;
    }
    if (/^# I\. /.test(line)) current = undefined;
    if (!current || line.startsWith('#') || !line.trim()) continue;
    const row = /^(secret key|public key|message(?: \d+)?|signature(?: \d+)?|message \(hex\))\s+\[[^\]]+\]\s+(.*)$/.exec(line);
    if (!row) continue;
    // A value runs to the end of the line, less a trailing "   (comment)"; messages may hold spaces.
    const label = row[1];
    const value = row[2].replace(/\s{2,}\(.*\)\s*$/, '').trimEnd();
    if (label === 'secret key' && !current.secretKey) current.secretKey = value;
    else if (label === 'public key' && !current.publicKey) current.publicKey = value;
    else if (label === 'message (hex)') pendingMessage = { message: '', messageHex: value };
    else if (label.startsWith('message')) pendingMessage = { message: value };
    else if (label.startsWith('signature') && pendingMessage) {
      current.signed.push({ ...pendingMessage, signature: value });
    }
  }
  return sections;
}

export interface KeyEdgeCase {
  /** the key string fed to Nix, with `\n` / `\r` escapes turned into the real characters */
  input: string;
  /** the parenthesised remark after the input, if any (e.g. "trailing space, no padding") */
  remark?: string;
  /** what the vector says Nix 2.8 did */
  nixAccepts: boolean;
  /** for a refusal: Nix's message as the vector gives it */
  nixError?: string;
  /** the whole verdict line */
  verdict: string;
}

/**
 * Section I of key-vectors.txt: key strings fed to `nix key convert-secret-to-public`, each
 * `input: TEXT (remark)` followed by `   -> accepted… | ERROR message | ACCEPTED…`. The line about
 * snix's signature placeholders (`<sig>`) is not a key input and is skipped. A remark of
 * "trailing space" means the input ends with a space that the file cannot show before the remark.
 */
export function keyEdgeCases(): KeyEdgeCase[] {
  const text = readVector('key-vectors.txt');
  const section = text.slice(text.indexOf('# I. '));
  const out: KeyEdgeCase[] = [];
  const lines = section.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^input: (.*)$/.exec(lines[i]);
    if (!m || m[1].includes('<sig>')) continue;
    const verdictLine = /^\s+-> (.*)$/.exec(lines[i + 1] ?? '');
    if (!verdictLine) throw new Error(`key-vectors.txt section I: no verdict after ${JSON.stringify(lines[i])}`);
    let raw = m[1];
    let remark: string | undefined;
    // A remark is " (…)" at the end, possibly with one level of nested parentheses.
    const r = / \(((?:[^()]|\([^()]*\))*)\)$/.exec(raw);
    if (r) {
      remark = r[1];
      raw = raw.slice(0, r.index);
    }
    if (remark?.startsWith('trailing space')) raw += ' ';
    const input = raw.replace(/\\r/g, '\r').replace(/\\n/g, '\n');
    const verdict = verdictLine[1];
    const error = /^ERROR (.*)$/.exec(verdict);
    out.push({ input, ...(remark === undefined ? {} : { remark }), nixAccepts: !error, ...(error ? { nixError: error[1] } : {}), verdict });
  }
  return out;
}
