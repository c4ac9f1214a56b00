/**
 * Reading and writing narinfos. Oracles: the real narinfos in the vectors (978 from
 * cache.nixos.org, the 207 KB one, F1–F6, X1–X3) — their bytes, and the fingerprint each fixture
 * states; Nix-written files (cache.nixos.org narinfos without the obsolete `System:` line are
 * Nix's `NarInfo::to_string` output, so they are their own canonical form); what Nix 2.8 refused
 * and accepted (test/helpers/narinfo-cases.ts, re-checked live by the interop suite); and
 * generated narinfos whose text is the expectation (parse∘format = identity).
 */
import test from 'ava';
import fc from 'fast-check';
import { encodeNix32, NIX32_ALPHABET } from '../lib/base32';
import { NarsignError } from '../lib/errors';
import {
  canonicalNarinfo,
  formatNarinfo,
  isParsedNarinfo,
  NARINFO_LIMITS,
  parseNarinfo,
  putSignature,
  removeSignatures,
  signatureKeyName,
  type NarInfo,
} from '../lib/narinfo';
import { narinfoCases } from './helpers/narinfo-cases';
import { bigNarinfo, corpus, fixture, fixtures } from './helpers/vectors';

const caught = (fn: () => unknown): NarsignError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof NarsignError) return error;
    throw error;
  }
  throw new Error('expected a NarsignError');
};

/** Independent field reader for the oracle files: the last `Name: value` line's value. */
const field = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}: (.*)$`, 'gm'))].pop()?.[1];

test('byte-exact round trip: all 978 corpus narinfos, the 207 KB one, F1–F6 and X1–X3', (t) => {
  const texts = [...corpus(), bigNarinfo(), ...fixtures().map((f) => f.text)];
  t.is(texts.length, 978 + 1 + 9);
  let same = 0;
  for (const text of texts) if (formatNarinfo(parseNarinfo(text)) === text) same++;
  t.is(same, texts.length);
});

test('corpus: typed fields are what the file says', (t) => {
  for (const text of corpus()) {
    const info = parseNarinfo(text);
    t.is(info.storePath, field(text, 'StorePath')!);
    t.is(info.url, field(text, 'URL')!);
    t.is(info.compression, field(text, 'Compression') ?? 'bzip2');
    t.is(info.narSize, Number(field(text, 'NarSize')));
    t.is(`sha256:${encodeNix32(info.narHash.digest)}`, field(text, 'NarHash')!);
    t.deepEqual([...info.references], (field(text, 'References') ?? '').split(' ').filter(Boolean).sort());
    t.deepEqual([...info.sigs], [...text.matchAll(/^Sig: (.*)$/gm)].map((m) => m[1]));
    t.is(info.deriver, field(text, 'Deriver'));
    t.is(info.lines.length, text.split('\n').length - 1);
    t.is(info.storeDir, '/nix/store');
  }
});

test('fixtures: references and NarSize are the ones in the stated fingerprint', (t) => {
  for (const f of fixtures()) {
    const info = parseNarinfo(f.text);
    const [, path, , size, refs] = f.fingerprint.split(';');
    t.is(info.storePath, path, f.id);
    t.is(String(info.narSize), size, f.id);
    t.deepEqual(info.references.map((r) => `/nix/store/${r}`), refs === '' ? [] : refs.split(','), f.id);
  }
});

test('fixture details: X1 defaults to bzip2, X2 has no references, F3 base16, F4 CA, F2 unknown-deriver', (t) => {
  const x1 = parseNarinfo(fixture('X1').text);
  t.is(x1.compression, 'bzip2');
  t.is(x1.fileSize, 43503778);
  t.is(x1.system, 'i686-linux');
  t.deepEqual(parseNarinfo(fixture('X2').text).references, []);
  const f3 = parseNarinfo(fixture('F3').text);
  t.is(f3.narHash.digest.toString('hex'), '60adfd293a4d81ad7cd7e47263cbb3fc846309ef91b154a08ba672b558f94ff3');
  const f4 = parseNarinfo(fixture('F4').text);
  t.like(f4.ca, { type: 'fixed', method: 'recursive', hash: { algo: 'sha1' } });
  const f2 = fixture('F2').text.replace(/^Deriver: .*$/m, 'Deriver: unknown-deriver');
  t.is(parseNarinfo(f2).deriver, undefined);
  t.is(formatNarinfo(parseNarinfo(f2)), f2);
});

test('the 207 KB narinfo: 3,691 references, within the default limits', (t) => {
  const info = parseNarinfo(bigNarinfo());
  t.is(info.references.length, 3691);
  t.true(bigNarinfo().length < NARINFO_LIMITS.maxLength / 10);
});

test('every case Nix 2.8 refuses as corrupt is refused, with the code the case names', (t) => {
  const corrupt = narinfoCases().filter((c) => c.narsign === 'corrupt');
  t.true(corrupt.length > 30);
  for (const c of corrupt) {
    const error = caught(() => parseNarinfo(c.text, { where: 'x.narinfo', ...(c.storeDir ? { storeDir: c.storeDir } : {}) }));
    t.is(error.code, c.code!, c.id);
    t.regex(error.message, /^NAR info file 'x\.narinfo' /, c.id);
    t.is(error.file, 'x.narinfo');
  }
});

test('every case Nix 2.8 accepts parses, and round-trips byte for byte', (t) => {
  for (const c of narinfoCases().filter((k) => k.narsign !== 'corrupt')) {
    t.is(formatNarinfo(parseNarinfo(c.text)), c.text, c.id);
  }
});

test('errors say which line, in Nix\'s form', (t) => {
  const f6 = fixture('F6').text; // 10 lines, References on line 8, Sig on line 10
  const e1 = caught(() => parseNarinfo(f6.slice(0, -1), { where: 'xcp9.narinfo' }));
  t.is(e1.message, "NAR info file 'xcp9.narinfo' is corrupt: expecting '\\n' at line 10");
  t.is(e1.line, 10);
  t.is(caught(() => parseNarinfo(`${f6}\n`)).line, 11);
  const e3 = caught(() => parseNarinfo(f6.replace('References: ', 'References: 563528481rvhc5kxwipjmg6rqrl95mdx-x\nReferences: ')));
  t.is(e3.line, 9);
  t.regex(e3.message, /is corrupt: extra References at line 9$/);
  t.notThrows(() => parseNarinfo(f6.replace('References: ', 'References: \nReferences: ')));
  const e4 = caught(() => parseNarinfo(f6.replace(/^NarSize: .*$/m, 'NarSize: 0')));
  t.is(e4.message, "NAR info file '<narinfo>' is corrupt: NarSize missing or zero");
  t.is(e4.line, undefined);
  t.regex(caught(() => parseNarinfo(f6.replace('StorePath', 'Storepath'))).message, /StorePath missing$/);
  t.regex(caught(() => parseNarinfo(f6.replace('Deriver: ', 'Deriver: x'))).message, /bad Deriver \('xvvb4.*' is too short|bad Deriver \(store path 'xvvb4/);
  t.regex(caught(() => parseNarinfo(f6.replace('\nSig', '\n\nSig'))).message, /empty line at line 10$/);
});

test('the store dir comes from StorePath, or is checked against the given StoreDir', (t) => {
  const gnu = fixture('F6').text.replace('/nix/store/', '/gnu/store/');
  t.is(parseNarinfo(gnu).storeDir, '/gnu/store');
  t.is(parseNarinfo(gnu, { storeDir: '/gnu//store/' }).storePath, '/gnu/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10');
  t.is(caught(() => parseNarinfo(gnu, { storeDir: '/nix/store' })).code, 'ERR_NARINFO_CORRUPT');
  const odd = fixture('F6').text.replace('StorePath: /nix/store/', 'StorePath: /nix//store/./');
  const info = parseNarinfo(odd);
  t.is(info.storePath, '/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10');
  t.is(formatNarinfo(info), odd);
});

test('bytes in: UTF-8 decoded; invalid UTF-8 refused', (t) => {
  const text = fixture('F1').text.replace('Deriver:', 'Comment: ✓\nDeriver:');
  t.is(formatNarinfo(parseNarinfo(Buffer.from(text))), text);
  const bad = Buffer.concat([Buffer.from(fixture('F1').text), Buffer.from([0x58, 0x3a, 0x20, 0xff, 0x0a])]);
  t.is(caught(() => parseNarinfo(bad)).code, 'ERR_NARINFO_ENCODING');
});

test('limits: each refused past its bound with ERR_NARINFO_LIMIT, and configurable', (t) => {
  const f1 = fixture('F1').text;
  t.is(caught(() => parseNarinfo(f1, { limits: { maxLength: f1.length - 1 } })).code, 'ERR_NARINFO_LIMIT');
  t.notThrows(() => parseNarinfo(f1, { limits: { maxLength: f1.length } }));
  t.is(caught(() => parseNarinfo(f1, { limits: { maxReferences: 3 } })).code, 'ERR_NARINFO_LIMIT');
  t.notThrows(() => parseNarinfo(f1, { limits: { maxReferences: 4 } }));
  t.is(caught(() => parseNarinfo(f1, { limits: { maxSignatures: 1 } })).code, 'ERR_NARINFO_LIMIT');
  const e = caught(() => parseNarinfo(f1, { limits: { maxLineLength: 100 } }));
  t.is(e.code, 'ERR_NARINFO_LIMIT');
  t.is(e.line, 10); // the first Sig line (References is exempt)
  t.is(caught(() => parseNarinfo(f1.replace(/^NarSize: .*$/m, 'NarSize: 9007199254740992'))).code, 'ERR_NARINFO_LIMIT');
  t.is(parseNarinfo(f1.replace(/^NarSize: .*$/m, 'NarSize: 9007199254740991')).narSize, Number.MAX_SAFE_INTEGER);
  t.throws(() => parseNarinfo(f1, { limits: { maxLength: -1 } }), { instanceOf: TypeError });
});

test('canonicalNarinfo: Nix-written files are their own canonical form', (t) => {
  const texts = [...corpus(), bigNarinfo(), ...['F1', 'F2', 'F4', 'F6', 'X3'].map((id) => fixture(id).text)];
  for (const text of texts) t.is(canonicalNarinfo(parseNarinfo(text)), text);
  t.true(texts.filter((text) => text.includes('\nSystem: ')).length >= 8); // Nix 2.8 still writes System
});

test('canonicalNarinfo: sorted references, nix32 hashes, bzip2 default, unknown fields dropped, "References: "', (t) => {
  const f6 = fixture('F6').text;
  t.is(canonicalNarinfo(parseNarinfo(f6.replace(/^URL: .*$/m, '$&\nX-Custom: 1\nSignature: 2;a;b'))), f6);
  t.is(canonicalNarinfo(parseNarinfo(f6.replace(/^URL: .*$/m, '$&\nSystem: x86_64-linux'))), f6.replace(/^Deriver: .*$/m, '$&\nSystem: x86_64-linux'));
  const f5 = fixture('F5').text;
  const refs = field(f5, 'References')!.split(' ').sort().join(' ');
  t.is(canonicalNarinfo(parseNarinfo(f5)), f5.replace(/^References: .*$/m, `References: ${refs}`));
  const f3 = fixture('F3').text;
  t.is(
    canonicalNarinfo(parseNarinfo(f3)),
    f3.replace(/^NarHash: .*$/m, 'NarHash: sha256:1wsgz5cbawm6ifh59ccixw4n717wng5n6wp4sxyav0ad78lzvbb0'),
  );
  const x1 = fixture('X1').text;
  t.is(canonicalNarinfo(parseNarinfo(x1)), x1.replace(/^(URL: .*\n)/m, '$1Compression: bzip2\n'));
  const x2 = fixture('X2').text;
  t.is(canonicalNarinfo(parseNarinfo(x2)), x2.replace(/^(NarSize: .*\n)/m, '$1References: \n'));
});

test('putSignature: removing a signature and putting it back restores the file (Nix\'s placement)', (t) => {
  for (const id of ['F1', 'F2', 'F4', 'X1', 'X3', 'F6']) {
    const text = fixture(id).text;
    const info = parseNarinfo(text);
    for (const sig of info.sigs) {
      const without = removeSignatures(info, [signatureKeyName(sig)]);
      t.is(without.sigs.length, info.sigs.length - 1);
      t.is(formatNarinfo(putSignature(without, sig)), text, `${id} ${signatureKeyName(sig)}`);
    }
    t.deepEqual(removeSignatures(info).sigs, []);
  }
});

test('putSignature: a signature by the same key name is replaced in place; others untouched', (t) => {
  const f1 = fixture('F1').text;
  const info = parseNarinfo(f1);
  const replaced = putSignature(info, 'cache.nixos.org-1:AAAA');
  t.is(formatNarinfo(replaced), f1.replace(/^Sig: cache\.nixos\.org-1:.*$/m, 'Sig: cache.nixos.org-1:AAAA'));
  t.deepEqual(replaced.sigs, ['cache.nixos.org-1:AAAA', info.sigs[1]]);
  // Two lines of one name collapse into one, at the first one's place.
  const doubled = parseNarinfo(f1.replace(/^(Sig: test1:.*)$/m, 'Sig: test1:x\n$1'));
  t.is(formatNarinfo(putSignature(doubled, 'test1:y')), f1.replace(/^Sig: test1:.*$/m, 'Sig: test1:y'));
  // A new name with no Sig and no CA line goes last.
  const f6 = fixture('F6').text;
  const bare = removeSignatures(parseNarinfo(f6));
  t.is(formatNarinfo(putSignature(bare, 'k:s')), f6.replace(/^Sig: .*$/m, 'Sig: k:s'));
  // Sorted among existing Sig lines.
  t.is(formatNarinfo(putSignature(info, 'd:x')), f1.replace(/^(Sig: test1:)/m, 'Sig: d:x\n$1'));
  t.is(formatNarinfo(putSignature(info, 'zz:x')), `${f1}Sig: zz:x\n`);
  t.is(formatNarinfo(putSignature(info, 'a:x')), f1.replace(/^(Sig: cache)/m, 'Sig: a:x\n$1'));
  // Refusals: no name, a newline.
  t.is(caught(() => putSignature(info, 'nocolon')).code, 'ERR_SIGNATURE_FORMAT');
  t.is(caught(() => putSignature(info, ':x')).code, 'ERR_SIGNATURE_FORMAT');
  t.is(caught(() => putSignature(info, 'k:x\nStorePath: /evil')).code, 'ERR_SIGNATURE_FORMAT');
});

// ---- property: parse∘format is the identity on generated narinfos --------------------------

const nix32 = (n: number) => fc.array(fc.constantFrom(...NIX32_ALPHABET.split('')), { minLength: n, maxLength: n }).map((a) => a.join(''));
const nameChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._?=';
const pathName = fc
  .array(fc.constantFrom(...nameChars.split('')), { minLength: 1, maxLength: 40 })
  .map((a) => a.join(''))
  .filter((n) => !/^\.\.?(-|$)/.test(n));
const baseName = fc.tuple(nix32(32), pathName).map(([h, n]) => `${h}-${n}`);
const lineText = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/\n/g, ' '));
const sep = fc.oneof({ weight: 8, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: fc.constantFrom('\t', 'x', ':', '\r', 'é') });
const hashText = (bytes: number, algo: string) =>
  fc.tuple(fc.uint8Array({ minLength: bytes, maxLength: bytes }), fc.constantFrom('b16', 'B16', 'nix32', 'b64', 'sri', 'sri-nopad')).map(([d, form]) => {
    const b = Buffer.from(d);
    switch (form) {
      case 'b16':
        return `${algo}:${b.toString('hex')}`;
      case 'B16':
        return `${algo}:${b.toString('hex').toUpperCase()}`;
      case 'nix32':
        return `${algo}:${encodeNix32(b)}`;
      case 'b64':
        return `${algo}:${b.toString('base64')}`;
      case 'sri':
        return `${algo}-${b.toString('base64')}`;
      default:
        return `${algo}-${b.toString('base64').replace(/=+$/, '')}`;
    }
  });
const size = fc.tuple(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom('', '+', '0', '+00')).map(([n, p]) => `${p}${n}`);
const knownNames = new Set(['StorePath', 'URL', 'Compression', 'FileHash', 'FileSize', 'NarHash', 'NarSize', 'References', 'Deriver', 'Sig', 'CA']);

const generatedNarinfo = fc
  .record({
    storeDir: fc.constantFrom('/nix/store', '/gnu/store', '/home/u/.nix/store'),
    path: baseName,
    url: lineText.filter((s) => s.length > 0),
    compression: fc.option(lineText),
    fileHash: fc.option(hashText(32, 'sha256')),
    fileSize: fc.option(size),
    narHash: fc.oneof(hashText(32, 'sha256'), hashText(64, 'sha512'), hashText(20, 'sha1'), hashText(16, 'md5')),
    narSize: size,
    references: fc.option(fc.array(fc.tuple(baseName, fc.constantFrom(' ', '  ', '   ')), { maxLength: 8 })),
    deriver: fc.option(fc.oneof(baseName, fc.constant('unknown-deriver'))),
    sigs: fc.array(lineText, { maxLength: 4 }),
    ca: fc.option(
      fc.oneof(
        hashText(32, 'sha256').filter((h) => h.startsWith('sha256:')).map((h) => `text:${h}`),
        fc.tuple(fc.constantFrom('', 'r:'), fc.oneof(hashText(20, 'sha1'), hashText(32, 'sha256')).filter((h) => !h.includes('-'))).map(([r, h]) => `fixed:${r}${h}`),
      ),
    ),
    unknown: fc.array(fc.tuple(fc.oneof(fc.constant('System'), fc.string({ maxLength: 12 }).filter((n) => !/[:\n]/.test(n) && !knownNames.has(n))), lineText), { maxLength: 4 }),
    seps: fc.array(sep, { minLength: 40, maxLength: 40 }),
    order: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
  })
  .map((g) => {
    const fields: Array<[string, string]> = [
      ['StorePath', `${g.storeDir}/${g.path}`],
      ['URL', g.url],
      ['NarHash', g.narHash],
      ['NarSize', g.narSize],
    ];
    if (g.compression !== null) fields.push(['Compression', g.compression]);
    if (g.fileHash !== null) fields.push(['FileHash', g.fileHash]);
    if (g.fileSize !== null) fields.push(['FileSize', g.fileSize]);
    if (g.references !== null) fields.push(['References', g.references.map(([r, s]) => `${r}${s}`).join('')]);
    if (g.deriver !== null) fields.push(['Deriver', g.deriver]);
    if (g.ca !== null) fields.push(['CA', g.ca]);
    for (const s of g.sigs) fields.push(['Sig', s]);
    for (const [n, v] of g.unknown) fields.push([n, v]);
    const ordered = fields.map((f, i) => ({ f, key: g.order[i] })).sort((a, b) => a.key - b.key).map((x) => x.f);
    // The character after ':' is skipped by the reader, so only known fields whose value matters need a space.
    const text = ordered.map(([n, v], i) => `${n}:${knownNames.has(n) ? ' ' : g.seps[i]}${v}\n`).join('');
    const sigsInOrder = ordered.filter(([n]) => n === 'Sig').map(([, v]) => v);
    const systems = ordered.filter(([n]) => n === 'System').map(([, v]) => v);
    return { g, text, sigsInOrder, system: systems.length === 0 ? '' : systems[systems.length - 1] };
  });

test('property: parse∘format is the identity on generated narinfos, and the typed fields follow the text', (t) => {
  fc.assert(
    fc.property(generatedNarinfo, ({ g, text, sigsInOrder, system }) => {
      let info: NarInfo;
      try {
        info = parseNarinfo(text);
      } catch (error) {
        t.log(text);
        throw error;
      }
      t.is(formatNarinfo(info), text);
      t.is(info.storePath, `${g.storeDir}/${g.path}`);
      t.is(info.storeDir, g.storeDir);
      t.is(info.url, g.url);
      t.is(info.narSize, Number(g.narSize.replace(/^\+/, '')));
      t.is(info.compression, g.compression === null || g.compression === '' ? 'bzip2' : g.compression);
      t.deepEqual([...info.references], [...new Set((g.references ?? []).map(([r]) => r))].sort());
      t.deepEqual([...info.sigs], [...new Set(sigsInOrder)]);
      t.is(info.deriver, g.deriver === null || g.deriver === 'unknown-deriver' ? undefined : g.deriver);
      t.is(info.system, system === '' ? undefined : system);
      // The canonical form is a fixed point and keeps every typed field.
      const canonical = canonicalNarinfo(info);
      const again = parseNarinfo(canonical);
      t.is(canonicalNarinfo(again), canonical);
      t.deepEqual({ ...again, lines: [] }, { ...info, sigs: [...info.sigs].sort(), lines: [], ...(info.fileHash && info.fileSize === undefined ? { fileSize: 0 } : {}) });
    }),
    { numRuns: 300 },
  );
});

test('parsed narinfos are frozen and recognised; spreading one gives plain data', (t) => {
  const info = parseNarinfo(fixture('F1').text);
  t.true(isParsedNarinfo(info));
  t.true(Object.isFrozen(info) && Object.isFrozen(info.references) && Object.isFrozen(info.sigs) && Object.isFrozen(info.lines));
  t.false(Reflect.set(info, 'narSize', 1));
  t.is(info.narSize, 196040);
  t.throws(() => (info.references as string[]).push('x'), { instanceOf: TypeError });
  t.true(isParsedNarinfo(putSignature(info, 'k:v')));
  t.true(isParsedNarinfo(removeSignatures(info)));
  t.false(isParsedNarinfo({ ...info }));
  t.false(isParsedNarinfo(null));
});
