/** Temporary binary-cache directories made from the real narinfo vectors. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corpus, fixtures } from './vectors';

export function tempDir(prefix = 'narsign-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The hash part of a narinfo's StorePath, read with a regex (not with narsign's parser). */
export function hashPartOfText(text: string): string {
  const m = /^StorePath: \/nix\/store\/([0-9a-z]{32})-/m.exec(text);
  if (!m) throw new Error('no StorePath');
  return m[1];
}

/** Writes narinfos as `<hash>.narinfo` (plus nix-cache-info) into a new temp dir; returns it. */
export function makeCache(texts: readonly string[], dir = tempDir()): string {
  fs.writeFileSync(path.join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
  for (const text of texts) fs.writeFileSync(path.join(dir, `${hashPartOfText(text)}.narinfo`), text);
  return dir;
}

export const corpusCache = (dir?: string) => makeCache(corpus(), dir);
export const fixtureTexts = (ids: readonly string[]) => fixtures().filter((f) => ids.includes(f.id)).map((f) => f.text);

/** name → bytes of every file in a directory. */
export function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of fs.readdirSync(dir).sort()) out.set(name, fs.readFileSync(path.join(dir, name)));
  return out;
}

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';

/**
 * A cache of `n` narinfos with real shapes: the corpus's narinfos under fresh random store hashes,
 * without their Sig and CA lines (so they are unsigned and not content-addressed).
 */
export function makeGeneratedCache(n: number, dir = tempDir()): string {
  const templates = corpus().map((t) => t.split('\n').filter((l) => l && !l.startsWith('Sig:') && !l.startsWith('CA:')));
  fs.writeFileSync(path.join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\n');
  for (let i = 0; i < n; i += 1) {
    const hash = Array.from(crypto.randomBytes(32), (b) => NIX32[b & 31]).join('');
    const lines = templates[i % templates.length].map((l) => l.replace(/^StorePath: \/nix\/store\/[0-9a-z]{32}-/, `StorePath: /nix/store/${hash}-`));
    fs.writeFileSync(path.join(dir, `${hash}.narinfo`), `${lines.join('\n')}\n`);
  }
  return dir;
}

/**
 * Nix's fingerprint of a narinfo, rebuilt here from the text alone (an oracle independent of
 * lib/fingerprint.ts): NarHash must already be sha256:nix32 (as in every corpus narinfo).
 */
export function oracleFingerprint(text: string): Buffer {
  const field = (n: string) => new RegExp(`^${n}: (.*)$`, 'm').exec(text)?.[1] ?? '';
  const refs = field('References').split(' ').filter(Boolean).map((r) => `/nix/store/${r}`).sort().join(',');
  return Buffer.from(`1;${field('StorePath')};${field('NarHash')};${field('NarSize')};${refs}`);
}
