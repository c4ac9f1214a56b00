/** Temporary binary-cache directories made from the real narinfo vectors. */
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
