/** The narinfo the 2015-format tests sign: fixture F1 as the 2015 nix-push wrote it (no Sig lines). */
import { fixture } from './vectors';

export const NARINFO = fixture('F1')
  .text.split('\n')
  .filter((line) => !line.startsWith('Sig: '))
  .join('\n');
export const STORE_PATH = /^StorePath: (.*)$/m.exec(NARINFO)![1];

/** The 2015 signed data, computed by the test: every line before the Signature line, with its '\n'. */
export function signedPart(text: string): string {
  return text.slice(0, text.indexOf('Signature: '));
}
