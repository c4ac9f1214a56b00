/**
 * Edge-case and malformed narinfos built from the fixtures, each with the verdict real Nix 2.8.0
 * reached on it (`nix store verify --store file://DIR --all --no-contents --trusted-public-keys …`:
 * exit 0 trusted, 2 untrusted, 1 corrupt/refused, 4 failed, 134 aborted) and the verdict narsign
 * must reach. They differ only where narsign is deliberately stricter; `difference` says why.
 *
 * test/signatures.test.ts checks narsign's verdicts; test/interop/narinfo-nix.test.ts re-runs every
 * case through the live Nix binary and checks `nix` too, so the recorded Nix verdicts can't drift.
 */
import { CACHE_NIXOS_ORG_KEY, fixture } from './vectors';

export type Verdict = 'trusted' | 'untrusted' | 'corrupt' | 'failed' | 'aborted';

export interface NarinfoCase {
  id: string;
  text: string;
  /** What Nix 2.8.0 does. */
  nix: Verdict;
  /** What narsign does. */
  narsign: Verdict;
  /** For narsign 'corrupt' / 'failed': the error code. */
  code?: string;
  /** Why narsign differs from Nix, when it does. */
  difference?: string;
  /** Trusted keys (default: cache.nixos.org-1). */
  keys?: string[];
  sigsNeeded?: number;
  /** The cache's StoreDir, when narsign must be told it (Nix gets it from nix-cache-info). */
  storeDir?: string;
}

/** A key with the cache.nixos.org-1 name but another key's bytes (the Nix manual's example key). */
export const WRONG_KEY_SAME_NAME = 'cache.nixos.org-1:tVeHVMaFaKi8lieGBErmScEOuxlSJLA7eO6IPrT1VGc=';

const GLUED = 'narsign refuses a line without ":" (or ending right after it), which Nix glues to the next line';

/** Applies a line-wise edit to a fixture: `edit` maps each line (without '\n') to zero or more lines. */
function edit(id: string, fn: (line: string) => string | string[]): string {
  const lines = fixture(id).text.slice(0, -1).split('\n');
  return `${lines.flatMap((l) => fn(l)).join('\n')}\n`;
}
const on = (prefix: string, fn: (line: string) => string | string[]) => (line: string) => (line.startsWith(prefix) ? fn(line) : line);

const F6_NARHASH_BASE16 = '91e129ac1959d062ad093d2b1f8b65afae0f712056fe3eac78ec530ff6a1bb9a';
const F6_NARHASH_SRI = 'sha256-keEprBlZ0GKtCT0rH4tlr64PcSBW/j6seOxTD/ahu5o=';
const HASH = '563528481rvhc5kxwipjmg6rqrl95mdx';

export function narinfoCases(): NarinfoCase[] {
  const f6 = fixture('F6').text;
  const cases: NarinfoCase[] = [];
  const add = (c: NarinfoCase) => cases.push(c);
  const same = (id: string, text: string, verdict: Verdict, code?: string) => add({ id, text, nix: verdict, narsign: verdict, ...(code ? { code } : {}) });

  for (const id of ['F1', 'F2', 'F3', 'F4', 'F6', 'X1', 'X2']) same(`fixture ${id}`, fixture(id).text, 'trusted');
  same('fixture F5 (signed over unsorted references)', fixture('F5').text, 'untrusted');
  same('fixture X3 (tampered NarHash)', fixture('X3').text, 'untrusted');

  // Framing
  same('no final newline', f6.slice(0, -1), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('trailing empty line', `${f6}\n`, 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('CRLF line endings', f6.replace(/\n/g, '\r\n'), 'corrupt', 'ERR_NARINFO_CORRUPT');
  add({ id: 'empty line before Sig', text: edit('F6', on('Sig:', (l) => ['', l])), nix: 'untrusted', narsign: 'corrupt', code: 'ERR_NARINFO_CORRUPT', difference: GLUED });
  add({ id: 'empty line before an unknown field', text: edit('F6', on('Deriver:', (l) => ['', 'System: x86_64-linux', l])), nix: 'trusted', narsign: 'corrupt', code: 'ERR_NARINFO_CORRUPT', difference: GLUED });
  add({ id: 'line without a colon', text: edit('F6', on('Deriver:', (l) => ['garbage', l])), nix: 'trusted', narsign: 'corrupt', code: 'ERR_NARINFO_CORRUPT', difference: GLUED });
  add({ id: 'line ending right after its colon', text: edit('F6', on('Sig:', (l) => ['Sig:', l])), nix: 'untrusted', narsign: 'corrupt', code: 'ERR_NARINFO_CORRUPT', difference: GLUED });
  same('unknown fields anywhere', edit('F6', (l) => [`X-Custom: ${l.length}`, l, 'System: x86_64-linux', 'Signature: 2;foo;bar']), 'trusted');
  same('non-ASCII in an unknown field', edit('F6', on('URL:', (l) => [l, 'Comment: héllo ✓'])), 'trusted');
  same('value starts two characters after the colon (no space: first digit lost)', edit('F6', on('NarSize:', (l) => l.replace('NarSize: ', 'NarSize:'))), 'untrusted');
  same('value starts two characters after the colon (any character skipped)', edit('F6', on('NarSize:', (l) => l.replace('NarSize: ', 'NarSize:x'))), 'trusted');

  // Sizes
  same('NarSize with +', edit('F6', on('NarSize:', (l) => l.replace(': ', ': +'))), 'trusted');
  same('NarSize with leading zeros', edit('F6', on('NarSize:', (l) => l.replace(': ', ': 000'))), 'trusted');
  same('NarSize repeated, last one right', edit('F6', on('NarSize:', (l) => ['NarSize: 1', l])), 'trusted');
  same('NarSize repeated, last one wrong', edit('F6', on('NarSize:', (l) => [l, 'NarSize: 1'])), 'untrusted');
  for (const [what, value] of [['0', '0'], ['negative', '-5'], ['2^64', '18446744073709551616'], ['trailing space', '206104 '], ['hex', '0x10'], ['empty', '']]) {
    same(`NarSize ${what}`, edit('F6', on('NarSize:', () => `NarSize: ${value}`)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  }
  add({
    id: 'NarSize 2^64-1',
    text: edit('F6', on('NarSize:', () => 'NarSize: 18446744073709551615')),
    nix: 'untrusted',
    narsign: 'corrupt',
    code: 'ERR_NARINFO_LIMIT',
    difference: 'narsign handles sizes up to 2^53-1 exactly and refuses larger ones (ERR_NARINFO_LIMIT)',
  });
  for (const [what, value] of [['not a number', 'x'], ['empty', '']]) {
    same(`FileSize ${what}`, edit('F6', on('FileSize:', () => `FileSize: ${value}`)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  }

  // Hashes
  same('NarHash in upper-case base16', edit('F6', on('NarHash:', () => `NarHash: sha256:${F6_NARHASH_BASE16.toUpperCase()}`)), 'trusted');
  same('NarHash in SRI', edit('F6', on('NarHash:', () => `NarHash: ${F6_NARHASH_SRI}`)), 'trusted');
  same('NarHash in SRI without padding', edit('F6', on('NarHash:', () => `NarHash: ${F6_NARHASH_SRI.slice(0, -1)}`)), 'trusted');
  same('NarHash in SRI with junk after the padding', edit('F6', on('NarHash:', () => `NarHash: ${F6_NARHASH_SRI}junk`)), 'trusted');
  same('NarHash in base64 after sha256:', edit('F6', on('NarHash:', () => `NarHash: sha256:${F6_NARHASH_SRI.slice(7)}`)), 'trusted');
  same('NarHash in unpadded base64 after sha256:', edit('F6', on('NarHash:', () => `NarHash: sha256:${F6_NARHASH_SRI.slice(7, -1)}`)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('NarHash nix32 with bits beyond 256', edit('F6', on('NarHash:', (l) => l.replace('sha256:1', 'sha256:3'))), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('NarHash without algorithm', edit('F6', on('NarHash:', (l) => l.replace('sha256:', ''))), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('NarHash with an unknown algorithm', edit('F6', on('NarHash:', (l) => l.replace('sha256:', 'sha257:'))), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('FileHash empty', edit('F6', on('FileHash:', () => 'FileHash: ')), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('FileHash bad', edit('F6', on('FileHash:', () => 'FileHash: md5:xyz')), 'corrupt', 'ERR_NARINFO_CORRUPT');

  // Required fields
  same('StorePath missing', edit('F6', on('StorePath:', () => [])), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('NarHash missing', edit('F6', on('NarHash:', () => [])), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('URL missing', edit('F6', on('URL:', () => [])), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('URL empty', edit('F6', on('URL:', () => 'URL: ')), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('NarSize missing', edit('F6', on('NarSize:', () => [])), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('Compression missing (bzip2)', edit('F6', on('Compression:', () => [])), 'trusted');

  // StorePath
  same('StorePath not canonical', edit('F6', on('StorePath:', (l) => l.replace('/nix/store/', '/nix//store/./'))), 'trusted');
  same('StorePath with a trailing slash', edit('F6', on('StorePath:', (l) => `${l}/`)), 'trusted');
  same('StorePath relative', edit('F6', on('StorePath:', (l) => l.replace(': /', ': '))), 'corrupt', 'ERR_NARINFO_CORRUPT');
  add({
    id: "StorePath outside the cache's StoreDir",
    text: edit('F6', on('StorePath:', (l) => l.replace('/nix/store', '/gnu/store'))),
    nix: 'corrupt',
    narsign: 'corrupt',
    code: 'ERR_NARINFO_CORRUPT',
    storeDir: '/nix/store',
  });

  // References
  same('References empty, then the real ones', edit('F6', on('References:', (l) => ['References: ', l])), 'trusted');
  same('References, then an empty References line', edit('F6', on('References:', (l) => [l, 'References: '])), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('References with extra spaces', edit('F6', on('References:', (l) => l.replace(/ /g, '   ') + '  ')), 'trusted');
  same('References with a duplicate', edit('F6', on('References:', (l) => `${l} ${l.split(' ')[1]}`)), 'trusted');
  same('References out of order', edit('F6', on('References:', (l) => `References: ${l.split(' ').slice(1).reverse().join(' ')}`)), 'trusted');
  same('References separated by a tab', edit('F6', on('References:', (l) => `References: ${l.split(' ').slice(1).join('\t')}`)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('a reference added (signature no longer matches)', edit('F6', on('References:', (l) => `${l} ${HASH}-extra`)), 'untrusted');
  same('a reference named .envrc', edit('F6', on('References:', (l) => `${l} ${HASH}-.envrc`)), 'untrusted');
  for (const [what, ref] of [
    ["'t' in the hash part", `t${HASH.slice(1)}-foo`],
    ['upper case in the hash part', `A${HASH.slice(1)}-foo`],
    ['a 212-character name', `${HASH}-${'a'.repeat(212)}`],
    ['an empty name', `${HASH}-`],
    ['too short', 'foo'],
  ]) {
    same(`a reference with ${what}`, edit('F6', on('References:', (l) => `${l} ${ref}`)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  }
  same('a reference with a 211-character name', edit('F6', on('References:', (l) => `${l} ${HASH}-${'a'.repeat(211)}`)), 'untrusted');
  for (const [what, ref, why] of [
    ['named .', `${HASH}-.`, 'later Nix refuses the names . and ..'],
    ['named ..', `${HASH}-..`, 'later Nix refuses the names . and ..'],
    ['named .-x', `${HASH}-.-x`, 'later Nix refuses names starting .- and ..-'],
    ["with 'X' instead of '-' after the hash", `${HASH}Xfoo`, 'Nix never checks the character after the hash part'],
  ]) {
    add({ id: `a reference ${what}`, text: edit('F6', on('References:', (l) => `${l} ${ref}`)), nix: 'untrusted', narsign: 'corrupt', code: 'ERR_NARINFO_CORRUPT', difference: why });
  }

  // Deriver
  same('Deriver unknown-deriver', edit('F6', on('Deriver:', () => 'Deriver: unknown-deriver')), 'trusted');
  same('Deriver empty', edit('F6', on('Deriver:', () => 'Deriver: ')), 'corrupt', 'ERR_NARINFO_CORRUPT');
  same('Deriver not a store path', edit('F6', on('Deriver:', () => 'Deriver: foo')), 'corrupt', 'ERR_NARINFO_CORRUPT');

  // Signatures
  same('Sig without a colon', edit('F6', on('Sig:', (l) => [l, 'Sig: garbage'])), 'trusted');
  same('Sig empty', edit('F6', on('Sig:', (l) => [l, 'Sig: '])), 'trusted');
  same('Sig repeated', edit('F6', on('Sig:', (l) => [l, l])), 'trusted');
  same('Sig with junk after the padding', edit('F6', on('Sig:', (l) => `${l}junk`)), 'trusted');
  same('Sig without padding', edit('F6', on('Sig:', (l) => l.replace(/=+$/, ''))), 'trusted');
  same('Sig by an untrusted name, not base64', edit('F6', on('Sig:', (l) => [l, 'Sig: other:a*b'])), 'trusted');
  same('Sig by a trusted name, not base64', edit('F6', on('Sig:', (l) => [l, 'Sig: cache.nixos.org-1:a*b'])), 'failed', 'ERR_BASE64_INVALID');
  same('Sig by a trusted name, 3 bytes (next to a valid one)', edit('F6', on('Sig:', (l) => [l, 'Sig: cache.nixos.org-1:AAAA'])), 'failed', 'ERR_SIGNATURE_INVALID');
  same('only Sig removed', edit('F6', on('Sig:', () => [])), 'untrusted');
  add({ id: 'first trusted key of a name wins (wrong one first)', text: f6, nix: 'untrusted', narsign: 'untrusted', keys: [WRONG_KEY_SAME_NAME, CACHE_NIXOS_ORG_KEY] });
  add({ id: 'first trusted key of a name wins (right one first)', text: f6, nix: 'trusted', narsign: 'trusted', keys: [CACHE_NIXOS_ORG_KEY, WRONG_KEY_SAME_NAME] });
  add({ id: 'sigs-needed 2, one signature', text: f6, nix: 'untrusted', narsign: 'untrusted', sigsNeeded: 2 });
  add({
    id: 'sigs-needed 2, one signature written twice',
    text: edit('F6', on('Sig:', (l) => [l, `${l}junk`])),
    nix: 'trusted',
    narsign: 'untrusted',
    sigsNeeded: 2,
    difference: 'Nix counts distinct Sig strings; narsign counts distinct trusted keys',
  });

  // Content addresses (F4: CA fixed:r:sha1, no references)
  const noSig = (l: string) => (l.startsWith('Sig:') ? [] : l);
  same('CA path without signature', edit('F4', noSig), 'trusted');
  same('CA path without signature, CA hash changed', edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.replace('CA: fixed:r:sha1:1', 'CA: fixed:r:sha1:0'))), 'untrusted');
  same('CA path without signature, flat instead of recursive', edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.replace('fixed:r:', 'fixed:'))), 'untrusted');
  same('CA path without signature, StorePath renamed', edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.replace('hyphenex-37354', 'hyphenex-37355'))), 'untrusted');
  same('CA path without signature, self-reference', edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.startsWith('References:') ? 'References: k20pahypzvr49fy82cw5sx72hdfg3qcr-texlive-hyphenex-37354' : l)), 'trusted');
  same('CA path without signature, base16 CA hash', edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.startsWith('CA:') ? 'CA: fixed:r:sha1:5cba3c77236ae4f9650270a27fbad375551fa60a' : l)), 'trusted');
  same('CA empty, then the real CA', edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.startsWith('CA:') ? ['CA: ', l] : l)), 'trusted');
  same('CA twice', edit('F4', (l) => (l.startsWith('CA:') ? [l, l] : l)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  for (const [what, ca] of [
    ['not <prefix>:<rest>', 'garbage'],
    ['an unknown prefix', 'foo:sha256:abc'],
    ['text with sha1', 'text:sha1:1ak1ymbmsfx7z8kh09jzkr3a4dvkrfjw'],
    ['an SRI hash', 'fixed:r:sha1-XLo8dyNq5PllAnCif7rTdVUfpgo='],
  ]) {
    same(`CA with ${what}`, edit('F4', on('CA:', () => `CA: ${ca}`)), 'corrupt', 'ERR_NARINFO_CORRUPT');
  }
  add({
    id: 'CA path with a reference it cannot have',
    text: edit('F4', (l) => (l.startsWith('Sig:') ? [] : l.startsWith('References:') ? `References: ${HASH}-glibc-2.33-56` : l)),
    nix: 'aborted',
    narsign: 'untrusted',
    difference: 'Nix 2.8 hits an assertion (later Nix throws); narsign does not trust the CA',
  });
  same('a bare CA line does not replace a signature', edit('F6', (l) => (l.startsWith('Sig:') ? `CA: fixed:r:sha256:${F6_NARHASH_BASE16}` : l)), 'untrusted');
  same('a wrong CA line next to a valid signature', edit('F6', (l) => (l.startsWith('Sig:') ? [l, `CA: fixed:r:sha256:${F6_NARHASH_BASE16}`] : l)), 'trusted');
  return cases;
}

/** The hash part a case's narinfo file is named after (from its StorePath line, as written). */
export function caseHashPart(text: string): string {
  const m = /^StorePath: .*?([0-9a-z]{32})-[^/\n]*\/?$/m.exec(text);
  return m ? m[1] : 'xcp9cav49dmsjbwdjlmkjxj10gkpx553';
}
