/**
 * Narinfos, hashes, store paths, fingerprints and signatures against a real Nix 2.8, run offline
 * by test/interop/nix.ts. Real Nix is the referee:
 *  - hash spellings: what `nix hash to-base32 / to-base16 / to-sri` print;
 *  - content-addressed paths: what `nix-store --print-fixed-path` prints (several algorithms, both
 *    methods, two store dirs), and the narinfos `nix copy` writes for paths added to a real store
 *    (flat, recursive, text with a reference): narsign trusts them by their CA exactly when
 *    `nix store verify` does, and writes them exactly as Nix wrote them (canonicalNarinfo);
 *  - every edge case of test/helpers/narinfo-cases.ts: `nix store verify` reaches the verdict
 *    recorded for Nix, narsign the one recorded for it, and they are the same except the
 *    documented differences;
 *  - signing: a cache narsign signs passes `nix store verify`; `nix store sign` on the same cache
 *    writes byte-identical signatures and exactly canonicalNarinfo(narsign's signed narinfo);
 *    fingerprints of md5/sha1/sha512 NarHashes and of a /gnu/store cache are Nix's.
 * `CA:` lines are stripped wherever Nix is asked about signatures (Nix skips them for CA paths).
 * Verdicts and codes are compared, never message text.
 */
import test from 'ava';
import fc from 'fast-check';
import crypto from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NarsignError } from '../../lib/errors';
import { fingerprint } from '../../lib/fingerprint';
import { formatHash, HASH_ALGORITHMS, HASH_SIZES, parseHash, type HashAlgorithm } from '../../lib/hash';
import { generateSecretKey, toPublicKey } from '../../lib/keys';
import { canonicalNarinfo, formatNarinfo, parseNarinfo } from '../../lib/narinfo';
import { signNarinfo, signParsedNarinfo, verifyNarinfo, type NarinfoVerdict } from '../../lib/signatures';
import { contentAddressedStorePath, makeFixedOutputPath } from '../../lib/store-path';
import { caseHashPart, narinfoCases } from '../helpers/narinfo-cases';
import { CACHE_NIXOS_ORG_KEY, corpus, fixture } from '../helpers/vectors';
import { makeNixSandbox, nixUnavailableReason, nixVerifyCache, writeBinaryCache, type NixSandbox } from './nix';

const unavailable = nixUnavailableReason();
const nixTest = unavailable ? test.skip : test.serial;
if (unavailable) test('real Nix is unavailable, narinfo interop skipped', (t) => t.log(unavailable));

let nix: NixSandbox;
test.before(() => {
  if (!unavailable) nix = makeNixSandbox();
});
test.after.always(() => nix?.cleanup());

const ok = (r: { status: number | null; stderr: string }, what: string) => {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
};
const narinfosOf = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.narinfo'))
    .sort()
    .map((fileName) => ({ fileName, text: readFileSync(path.join(dir, fileName), 'utf8') }));
const stripCa = (text: string) => text.replace(/^CA: .*\n/gm, '');

/** narsign's verdict in `nix store verify`'s categories. */
function narsignVerdict(fn: () => NarinfoVerdict): string {
  try {
    const v = fn();
    return v.trusted ? 'trusted' : v.reason === 'malformed-signature' ? 'failed' : 'untrusted';
  } catch (error) {
    if (error instanceof NarsignError) return 'corrupt';
    throw error;
  }
}

nixTest('hash spellings: narsign writes what nix hash to-base32 / to-base16 / to-sri print', (t) => {
  for (const algo of HASH_ALGORITHMS) {
    const digests = Array.from({ length: 6 }, (_, i) => crypto.createHash(algo).update(`narsign ${i}`).digest());
    const hex = digests.map((d) => d.toString('hex'));
    const run = (command: string) => {
      const r = nix.nix(['hash', command, '--type', algo, ...hex]);
      ok(r, `nix hash ${command}`);
      return r.stdout.trim().split('\n');
    };
    const [nix32, sri, base16] = [run('to-base32'), run('to-sri'), run('to-base16')];
    digests.forEach((digest, i) => {
      const h = { algo, digest };
      t.is(formatHash(h, 'nix32', false), nix32[i], `${algo} nix32`);
      t.is(formatHash(h, 'sri'), sri[i], `${algo} sri`);
      t.is(formatHash(h, 'base16', false), base16[i], `${algo} base16`);
      t.deepEqual(parseHash(`${algo}:${nix32[i]}`).digest, digest);
      t.deepEqual(parseHash(sri[i]).digest, digest);
    });
  }
});

nixTest('fixed-output paths: narsign computes what nix-store --print-fixed-path prints', (t) => {
  const names = ['hello.txt', 'source', '.envrc', `long-${'x'.repeat(200)}`, 'a+b=c?d_e'];
  let n = 0;
  for (const storeDir of ['/nix/store', '/gnu/store']) {
    for (const algo of HASH_ALGORITHMS) {
      for (const method of ['flat', 'recursive'] as const) {
        const name = names[n++ % names.length];
        const digest = crypto.createHash(algo).update(`${storeDir} ${method} ${name}`).digest();
        const args = ['--store', `dummy://?store=${storeDir}`, '--print-fixed-path', ...(method === 'recursive' ? ['--recursive'] : []), algo, digest.toString('hex'), name];
        const r = nix.run('nix-store', args);
        ok(r, 'nix-store --print-fixed-path');
        t.is(makeFixedOutputPath(storeDir, method, { algo, digest }, name), r.stdout.trim(), `${storeDir} ${method} ${algo} ${name}`);
      }
    }
  }
});

nixTest('content-addressed paths from a real store: narsign trusts them by CA exactly when Nix does, and writes them as Nix does', (t) => {
  const file = nix.writeFile('ca/flat.txt', 'narsign flat file\n');
  nix.writeFile('ca/tree/a', 'a\n');
  nix.writeFile('ca/tree/sub/b', 'b\n');
  const add = (args: string[]) => {
    const r = nix.nix(args, { useStore: true });
    ok(r, args.join(' '));
    return r.stdout.trim();
  };
  const paths = [
    add(['store', 'add-file', file]),
    add(['store', 'add-path', path.join(nix.dir, 'ca', 'tree')]),
    add(['eval', '--raw', '--expr', 'builtins.toFile "b" "${builtins.toFile "a" "x"}"']),
  ];
  const sha1 = nix.run('nix-store', ['--store', nix.storeRoot, '--add-fixed', 'sha1', file]);
  if (sha1.status === 0) paths.push(sha1.stdout.trim());
  const cache = path.join(nix.dir, 'ca-cache');
  ok(nix.nix(['copy', '--to', `file://${cache}?compression=none`, ...paths], { useStore: true }), 'nix copy');
  const written = narinfosOf(cache);
  t.true(written.length >= 4); // the text path's reference is copied too
  const kinds = new Set<string>();
  for (const { fileName, text } of written) {
    const info = parseNarinfo(text);
    t.truthy(info.ca, fileName);
    kinds.add(info.ca!.type === 'text' ? 'text' : `${info.ca!.method}:${info.ca!.hash.algo}`);
    t.is(canonicalNarinfo(info), text, `${fileName}: Nix's own narinfo is canonical`);
    t.is(formatNarinfo(info), text);
    t.is(contentAddressedStorePath(info.ca!, info.name, info.storeDir, info.references, `${info.hashPart}-${info.name}`), info.storePath);
    t.is(verifyNarinfo(text, [], { fileName }).reason, 'content-addressed', fileName);
  }
  t.log('CA kinds:', [...kinds].join(', '));
  t.true(kinds.has('text') && kinds.has('flat:sha256') && kinds.has('recursive:sha256'));
  t.is(nixVerifyCache(nix, cache, { keys: [] }).verdict, 'trusted');

  // Any change to what the CA covers: neither trusts it any more.
  for (const [what, change] of [
    ['name', (s: string) => s.replace(/^(StorePath: .*)$/m, '$1-renamed')],
    ['references', (s: string) => s.replace(/^References: (.*)$/m, (_, r: string) => `References: ${r === '' ? '563528481rvhc5kxwipjmg6rqrl95mdx-x' : ''}`)],
  ] as const) {
    for (const { fileName, text } of written) {
      const changed = change(text);
      const dir = writeBinaryCache(nix, 'ca-changed', [{ fileName, text: changed }]);
      const nixVerdict = nixVerifyCache(nix, dir, { keys: [] }).verdict;
      const ours = narsignVerdict(() => verifyNarinfo(changed, [], { fileName }));
      // A flat/sha1 path given a reference makes Nix 2.8 abort; narsign just doesn't trust it.
      t.is(ours, 'untrusted', `${what} ${fileName}`);
      t.true(nixVerdict === 'untrusted' || nixVerdict === 'aborted', `${what} ${fileName}: nix ${nixVerdict}`);
    }
  }
});

for (const c of unavailable ? [] : narinfoCases()) {
  nixTest(`edge case: ${c.id}`, (t) => {
    const keys = c.keys ?? [CACHE_NIXOS_ORG_KEY];
    const fileName = `${caseHashPart(c.text)}.narinfo`;
    const dir = writeBinaryCache(nix, 'case', [{ fileName, text: c.text }]);
    const result = nixVerifyCache(nix, dir, { keys, ...(c.sigsNeeded === undefined ? {} : { sigsNeeded: c.sigsNeeded }) });
    t.is(result.verdict, c.nix, `nix: ${result.stderr.trim()}`);
    const ours = narsignVerdict(() =>
      verifyNarinfo(c.text, keys, {
        fileName,
        ...(c.sigsNeeded === undefined ? {} : { sigsNeeded: c.sigsNeeded }),
        ...(c.storeDir === undefined ? {} : { storeDir: c.storeDir }),
      }),
    );
    t.is(ours, c.narsign);
    if (c.difference) t.log(`documented difference: ${c.difference}`);
    else t.is(ours, result.verdict);
  });
}

/** Real narinfos to sign: a spread of the corpus (CA lines stripped) plus the odd fixtures. */
function signingSet(): Array<{ fileName: string; text: string }> {
  const all = corpus();
  const picked = all.filter((_, i) => i % 40 === 0 || all[i].includes('\nCA: '));
  const texts = [...picked, ...['F3', 'F5', 'X1', 'X2'].map((id) => fixture(id).text)].map(stripCa);
  return texts.map((text) => ({ fileName: `${parseNarinfo(text).hashPart}.narinfo`, text }));
}

nixTest('a cache signed by narsign passes nix store verify; a same-named wrong key and a removed References line fail', (t) => {
  const sk = generateSecretKey('narsign-interop-1');
  const signed = signingSet().map(({ fileName, text }) => ({ fileName, text: signNarinfo(text, sk) }));
  t.true(signed.length > 30);
  const dir = writeBinaryCache(nix, 'narsign-signed', signed);
  t.is(nixVerifyCache(nix, dir, { keys: [toPublicKey(sk)] }).verdict, 'trusted');
  t.is(nixVerifyCache(nix, dir, { keys: [toPublicKey(generateSecretKey('narsign-interop-1'))] }).verdict, 'untrusted');
  t.is(nixVerifyCache(nix, dir, { keys: [CACHE_NIXOS_ORG_KEY, toPublicKey(sk)], sigsNeeded: 2 }).verdict, 'untrusted'); // F5 is not validly signed by cache.nixos.org-1
  const one = signed.find((s) => /^References: \S/m.test(s.text))!;
  const cut = writeBinaryCache(nix, 'narsign-cut', [{ fileName: one.fileName, text: one.text.replace(/^References: .*\n/m, '') }]);
  t.is(nixVerifyCache(nix, cut, { keys: [toPublicKey(sk)] }).verdict, 'untrusted');
  t.false(verifyNarinfo(one.text.replace(/^References: .*\n/m, ''), toPublicKey(sk)).trusted);
});

nixTest('nix store sign writes byte-identical signatures, and exactly canonicalNarinfo of narsign\'s signed narinfo', (t) => {
  const sk = generateSecretKey('nix-signed-1');
  const keyFile = nix.writeFile('keys/nix-signed-1.sk', sk, 0o600);
  const originals = signingSet();
  const dir = writeBinaryCache(nix, 'nix-signed', originals);
  ok(nix.nix(['store', 'sign', '--store', `file://${dir}`, '--key-file', keyFile, '--all']), 'nix store sign');
  const byName = new Map(narinfosOf(dir).map((f) => [f.fileName, f.text]));
  for (const { fileName, text } of originals) {
    const nixText = byName.get(fileName)!;
    const ours = signParsedNarinfo(parseNarinfo(text), sk);
    t.is(canonicalNarinfo(ours), nixText, fileName);
    t.is(canonicalNarinfo(parseNarinfo(nixText)), nixText, fileName);
    const nixSig = parseNarinfo(nixText).sigs.find((s) => s.startsWith('nix-signed-1:'));
    t.is(nixSig, ours.sigs.find((s) => s.startsWith('nix-signed-1:')), fileName);
    const v = verifyNarinfo(nixText, toPublicKey(sk), { fileName });
    t.deepEqual(v.signatures.filter((s) => s.keyName === 'nix-signed-1').map((s) => s.status), ['valid'], fileName);
  }
});

nixTest('fingerprints with md5, sha1 and sha512 NarHashes are Nix\'s (it keeps the algorithm): Nix trusts narsign\'s signatures', (t) => {
  const sk = generateSecretKey('algos-1');
  const base = stripCa(fixture('F6').text).replace(/^Sig: .*\n/m, '');
  for (const algo of ['md5', 'sha1', 'sha512'] as HashAlgorithm[]) {
    const digest = crypto.createHash(algo).update('nar').digest();
    t.is(digest.length, HASH_SIZES[algo]);
    const text = signNarinfo(base.replace(/^NarHash: .*$/m, `NarHash: ${formatHash({ algo, digest }, 'base16')}`), sk);
    t.true(fingerprint(parseNarinfo(text)).includes(`;${algo}:`));
    const dir = writeBinaryCache(nix, `algo-${algo}`, [{ fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo', text }]);
    t.is(nixVerifyCache(nix, dir, { keys: [toPublicKey(sk)] }).verdict, 'trusted', algo);
    t.true(verifyNarinfo(text, toPublicKey(sk)).trusted, algo);
  }
});

nixTest('a /gnu/store cache: the store dir comes from the narinfo and enters the fingerprint, as in Nix', (t) => {
  const sk = generateSecretKey('gnu-1');
  const text = signNarinfo(fixture('F6').text.replace(/\/nix\/store\//g, '/gnu/store/').replace(/^Sig: .*\n/m, ''), sk);
  const dir = writeBinaryCache(nix, 'gnu', [{ fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo', text }], '/gnu/store');
  t.is(nixVerifyCache(nix, dir, { keys: [toPublicKey(sk)], storeDir: '/gnu/store' }).verdict, 'trusted');
  t.true(verifyNarinfo(text, toPublicKey(sk), { storeDir: '/gnu/store' }).trusted);
  // The same signature does not hold once the path claims /nix/store.
  const moved = text.replace(/\/gnu\/store\//g, '/nix/store/');
  t.is(nixVerifyCache(nix, writeBinaryCache(nix, 'moved', [{ fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo', text: moved }]), { keys: [toPublicKey(sk)] }).verdict, 'untrusted');
  t.false(verifyNarinfo(moved, toPublicKey(sk)).trusted);
});

nixTest('documented difference: a narinfo served under another path\'s file name — Nix 2.8 uses it, narsign refuses it', (t) => {
  const f6 = fixture('F6').text;
  const fileName = 'syd87l2rxw8cbsxmxl853h0r6pdwhwjr.narinfo'; // F1's hash part
  const dir = writeBinaryCache(nix, 'misnamed', [{ fileName, text: f6 }]);
  t.is(nixVerifyCache(nix, dir, { keys: [CACHE_NIXOS_ORG_KEY] }).verdict, 'trusted');
  const error = t.throws(() => verifyNarinfo(f6, CACHE_NIXOS_ORG_KEY, { fileName }), { instanceOf: NarsignError }) as NarsignError;
  t.is(error.code, 'ERR_NARINFO_FILE_NAME');
});

nixTest('non-canonical narinfos signed by narsign (odd spellings Nix accepts) verify in Nix', (t) => {
  const sk = generateSecretKey('odd-1');
  const f6 = fixture('F6').text.replace(/^Sig: .*\n/m, '');
  const variants = [
    f6.replace('StorePath: /nix/store/', 'StorePath: /nix//store/./'),
    f6.replace(/^NarSize: /m, 'NarSize: +000'),
    f6.replace(/^References: (.*)$/m, (_, r: string) => `References:   ${r.split(' ').reverse().join('  ')} `),
    f6.replace(/^NarHash: .*$/m, 'NarHash: sha256-keEprBlZ0GKtCT0rH4tlr64PcSBW/j6seOxTD/ahu5o'),
    f6.replace(/^Compression: .*\n/m, '').replace(/^URL: .*$/m, '$&\nSystem: x86_64-linux'),
  ];
  variants.forEach((variant, i) => {
    const text = signNarinfo(variant, sk);
    t.is(text.replace(/^Sig: odd-1:.*\n/m, ''), variant);
    const dir = writeBinaryCache(nix, `odd-${i}`, [{ fileName: 'xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo', text }]);
    t.is(nixVerifyCache(nix, dir, { keys: [toPublicKey(sk)] }).verdict, 'trusted', `variant ${i}`);
  });
});

/** Whether narsign refuses `text` for a glued line (a documented difference from Nix). */
const hasGluedLine = (text: string) =>
  text
    .split('\n')
    .slice(0, -1)
    .some((line) => !line.includes(':') || line.indexOf(':') === line.length - 1);

nixTest('differential: random small edits of real narinfos get the same verdict from Nix and narsign', (t) => {
  const bases = ['F1', 'F4', 'F6', 'X1', 'X2'].map((id) => fixture(id).text);
  const chars = [':', ' ', '\n', '\r', '\t', '-', '0', '1', 'e', 'z', 'A', '=', '/', '.', '+', '*', 'é'];
  const edit = fc.record({
    base: fc.nat({ max: bases.length - 1 }),
    op: fc.constantFrom('delete', 'insert', 'replace', 'drop-line', 'duplicate-line', 'swap-lines'),
    at: fc.nat(),
    other: fc.nat(),
    char: fc.constantFrom(...chars),
  });
  const apply = ({ base, op, at, other, char }: { base: number; op: string; at: number; other: number; char: string }) => {
    const text = bases[base];
    const i = at % text.length;
    const lines = text.slice(0, -1).split('\n');
    const [a, b] = [at % lines.length, other % lines.length];
    switch (op) {
      case 'delete':
        return text.slice(0, i) + text.slice(i + 1);
      case 'insert':
        return text.slice(0, i) + char + text.slice(i);
      case 'replace':
        return text.slice(0, i) + char + text.slice(i + 1);
      case 'drop-line':
        return `${lines.filter((_, k) => k !== a).join('\n')}\n`;
      case 'duplicate-line':
        return `${lines.flatMap((l, k) => (k === a ? [l, l] : [l])).join('\n')}\n`;
      default:
        [lines[a], lines[b]] = [lines[b], lines[a]];
        return `${lines.join('\n')}\n`;
    }
  };
  let compared = 0;
  fc.assert(
    fc.property(edit, (e) => {
      const text = apply(e);
      const dir = writeBinaryCache(nix, 'fuzz', [{ fileName: `${caseHashPart(text)}.narinfo`, text }]);
      const nixVerdict = nixVerifyCache(nix, dir, { keys: [CACHE_NIXOS_ORG_KEY] }).verdict;
      let refusal: NarsignError | undefined;
      const ours = narsignVerdict(() => {
        try {
          return verifyNarinfo(text, CACHE_NIXOS_ORG_KEY, { storeDir: '/nix/store' }); // the cache's StoreDir
        } catch (error) {
          refusal = error as NarsignError;
          throw error;
        }
      });
      // Documented differences: glued lines, the separator and dot-name checks, the size limit.
      const causeCode = (refusal?.cause as NarsignError | undefined)?.code;
      if (ours === 'corrupt' && hasGluedLine(text)) return;
      if (causeCode === 'ERR_STORE_PATH_SEPARATOR' || causeCode === 'ERR_STORE_PATH_NAME_RESERVED' || refusal?.code === 'ERR_NARINFO_LIMIT') return;
      if (nixVerdict === 'aborted') return void t.is(ours, 'untrusted');
      compared++;
      if (ours !== nixVerdict) t.log(JSON.stringify(text));
      t.is(ours, nixVerdict, `${e.op} at ${e.at}: ${JSON.stringify(e.char)}`);
    }),
    // NARSIGN_FUZZ_SEED / NARSIGN_FUZZ_RUNS explore further; the default is fixed, so CI is repeatable.
    { numRuns: Number(process.env.NARSIGN_FUZZ_RUNS ?? 120), seed: Number(process.env.NARSIGN_FUZZ_SEED ?? 20261130), endOnFailure: true },
  );
  t.log(`${compared} edits compared`);
  t.true(compared > Number(process.env.NARSIGN_FUZZ_RUNS ?? 120) / 2);
});
