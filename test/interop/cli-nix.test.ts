/**
 * The `narsign` command line against a real Nix 2.8 (test/interop/nix.ts runs it offline on a
 * private store):
 *  - a key from `narsign key generate` works with `nix store sign --key-file`, and Nix's Sig is
 *    the one `narsign sign` writes; `narsign key public` prints what `nix key convert-secret-to-public`
 *    prints (for narsign's keys and for Nix's own);
 *  - a cache signed by `narsign sign` passes `nix store verify --no-contents --all`;
 *  - `narsign verify` and `nix store verify` give the same exit code on a Nix-signed cache, on
 *    tampered copies of it, and on one signed by a key that is not trusted.
 * The caches are made by `nix copy --to file://…?compression=none` from the private store; their
 * `CA:` lines are stripped first (Nix 2.8 trusts content-addressed paths without a signature).
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cleanupTemps, cli, copyDir, rememberSecret, sigsOf, snapshot } from '../helpers/cli';
import { makeNixSandbox, nixUnavailableReason, type NixResult, type NixSandbox } from './nix';

const unavailable = nixUnavailableReason();
const nixTest = unavailable ? test.skip : test.serial;
if (unavailable) test('real Nix is unavailable, CLI interop skipped', (t) => t.log(unavailable));

let nix: NixSandbox;
let storePaths: string[] = [];
/** A cache of the store paths as `nix copy` wrote it, unsigned, CA lines stripped. */
let unsigned = '';

function ok(r: NixResult, what: string): NixResult {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r;
}

const narinfoNames = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).sort();

function stripCa(dir: string): void {
  for (const name of narinfoNames(dir)) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^CA: .*\n/m, ''));
  }
}

test.before(() => {
  if (unavailable) return;
  nix = makeNixSandbox();
  for (let i = 0; i < 3; i++) {
    const file = nix.writeFile(`payload-${i}.txt`, `narsign CLI interop payload ${i}\n`.repeat(i + 1));
    storePaths.push(ok(nix.nix(['store', 'add-file', file], { useStore: true }), 'nix store add-file').stdout.trim());
  }
  unsigned = path.join(nix.dir, 'unsigned');
  ok(nix.nix(['copy', '--to', `file://${unsigned}?compression=none`, ...storePaths], { useStore: true }), 'nix copy');
  stripCa(unsigned);
  if (narinfoNames(unsigned).length !== 3) throw new Error('nix copy wrote no narinfos');
});
test.after.always(() => {
  nix?.cleanup();
  cleanupTemps();
});

/** `narsign ARGS…` with the sandbox's Nix environment (its NIX_CONF_DIR trusts no key). */
const narsign = (t: ExecutionContext, args: string[], options: { input?: string; secretOnStdout?: boolean } = {}) =>
  cli(t, args, { ...options, env: { NIX_CONF_DIR: nix.confDir, HOME: nix.env.HOME } });

function nixVerify(dir: string, keys: string): NixResult {
  return nix.nix(['store', 'verify', '--store', `file://${dir}`, '--all', '--no-contents', '--trusted-public-keys', keys]);
}

function freshCopy(name: string): string {
  return copyDir(unsigned, path.join(nix.dir, name));
}

let keyCount = 0;
/** A key made by `narsign key generate`, written to a file; and its public key from `narsign key public`. */
async function narsignKey(t: ExecutionContext, name: string): Promise<{ file: string; secret: string; public: string }> {
  const g = await narsign(t, ['key', 'generate', name], { secretOnStdout: true });
  t.is(g.code, 0);
  rememberSecret(g.stdout);
  const file = nix.writeFile(`keys/${name}-${(keyCount += 1)}.sk`, g.stdout, 0o600);
  const p = await narsign(t, ['key', 'public', file]);
  t.is(p.code, 0);
  return { file, secret: g.stdout, public: p.stdout };
}

nixTest('a key from narsign key generate works with nix store sign --key-file; Nix writes the Sig narsign sign writes', async (t) => {
  const key = await narsignKey(t, 'cli-interop-1');
  const byNix = freshCopy('signed-by-nix');
  ok(nix.nix(['store', 'sign', '--store', `file://${byNix}`, '--key-file', key.file, ...storePaths]), 'nix store sign');
  t.is(nixVerify(byNix, key.public).status, 0);
  const byNarsign = freshCopy('signed-by-narsign');
  const r = await narsign(t, ['sign', '-k', key.file, byNarsign]);
  t.is(r.code, 0, r.stderr);
  for (const name of narinfoNames(byNix)) {
    const nixSigs = sigsOf(fs.readFileSync(path.join(byNix, name), 'utf8'));
    t.is(nixSigs.length, 1, name);
    t.deepEqual(sigsOf(fs.readFileSync(path.join(byNarsign, name), 'utf8')), nixSigs, name);
  }
  // and each verifies the other's cache
  t.is((await narsign(t, ['verify', '-t', key.public, byNix])).code, 0);
  t.is(nixVerify(byNarsign, key.public).status, 0);
});

nixTest('narsign key public prints what nix key convert-secret-to-public prints', async (t) => {
  const key = await narsignKey(t, 'cli-interop-2');
  const fromNix = ok(nix.nix(['key', 'convert-secret-to-public'], { input: key.secret }), 'nix key convert-secret-to-public');
  t.is(key.public, fromNix.stdout);
  // a key Nix made: narsign derives the same public key (from a file and from stdin)
  const nixSecret = ok(nix.nix(['key', 'generate-secret', '--key-name', 'made-by-nix-1']), 'nix key generate-secret').stdout;
  rememberSecret(nixSecret);
  const nixPublic = ok(nix.nix(['key', 'convert-secret-to-public'], { input: nixSecret }), 'convert').stdout;
  t.is((await narsign(t, ['key', 'public'], { input: nixSecret })).stdout, nixPublic);
  const file = nix.writeFile('keys/nix-made.sk', nixSecret, 0o600);
  t.is((await narsign(t, ['key', 'public', file])).stdout, nixPublic);
});

nixTest('a cache signed by narsign sign passes nix store verify --no-contents --all (and fails it under another key)', async (t) => {
  const key = await narsignKey(t, 'cli-interop-3');
  const other = await narsignKey(t, 'cli-interop-3'); // same name, other key
  const dir = freshCopy('narsign-signed');
  t.is((await narsign(t, ['sign', '--no-fsync', '-k', key.file, dir])).code, 0);
  const good = nixVerify(dir, key.public);
  t.is(good.status, 0, good.stderr);
  t.is(nixVerify(dir, other.public).status, 2);
  // --sigs-needed: two narsign keys, both needed
  const second = await narsignKey(t, 'cli-interop-4');
  t.is((await narsign(t, ['sign', '-k', second.file, dir])).code, 0);
  const both = nix.nix(['store', 'verify', '--store', `file://${dir}`, '--all', '--no-contents', '--sigs-needed', '2', '--trusted-public-keys', `${key.public} ${second.public}`]);
  t.is(both.status, 0, both.stderr);
  t.is((await narsign(t, ['verify', '-n', '2', '-t', `${key.public} ${second.public}`, dir])).code, 0);
});

nixTest('narsign verify and nix store verify agree: Nix-signed, tampered, untrusted key, corrupt, malformed signature', async (t) => {
  const key = await narsignKey(t, 'cli-interop-5');
  const stranger = await narsignKey(t, 'stranger-1');
  // Nix signs while copying (secret-key=…), then CA lines go
  const signed = path.join(nix.dir, 'nix-signed');
  ok(nix.nix(['copy', '--to', `file://${signed}?compression=none&secret-key=${key.file}`, ...storePaths], { useStore: true }), 'nix copy with secret-key');
  stripCa(signed);
  const first = narinfoNames(signed)[0];
  const variant = (name: string, change: (text: string) => string): string => {
    const dir = copyDir(signed, path.join(nix.dir, name));
    const file = path.join(dir, first);
    fs.writeFileSync(file, change(fs.readFileSync(file, 'utf8')));
    return dir;
  };
  const cases: Array<[string, string, string]> = [
    ['Nix-signed', signed, key.public],
    ['signed by a key not trusted', signed, stranger.public],
    ['trusted among others', signed, `${stranger.public} ${key.public}`],
    ['NarSize tampered', variant('narsize', (x) => x.replace(/^NarSize: (\d+)$/m, (_, n) => `NarSize: ${Number(n) + 1}`)), key.public],
    ['NarHash tampered', variant('narhash', (x) => x.replace(/^NarHash: sha256:(.)/m, (_, c) => `NarHash: sha256:${c === '0' ? '1' : '0'}`)), key.public],
    ['References tampered', variant('refs', (x) => x.replace(/^References: .*$/m, `References: ${first.slice(0, 32)}-evil`)), key.public],
    ['signature bit flipped', variant('sigflip', (x) => x.replace(/^(Sig: [^:]+:)(.)/m, (_, p, c) => `${p}${c === 'A' ? 'B' : 'A'}`)), key.public],
    ['a second, unknown signature added', variant('extra', (x) => `${x}Sig: someone-1:${'A'.repeat(86)}==\n`), key.public],
    ['malformed signature under the trusted name', variant('malformed', (x) => x.replace(/^Sig: ([^:]+):.*$/m, 'Sig: $1:AAAA')), key.public],
    ['unsigned', unsigned, key.public],
    ['corrupt: no NarHash line', variant('no-narhash', (x) => x.replace(/^NarHash: .*\n/m, '')), key.public],
    ['corrupt: NarSize not a number', variant('bad-narsize', (x) => x.replace(/^NarSize: .*$/m, 'NarSize: many')), key.public],
  ];
  for (const [what, dir, keys] of cases) {
    const before = snapshot(dir);
    const fromNix = nixVerify(dir, keys);
    const fromNarsign = await narsign(t, ['verify', '-t', keys, dir]);
    t.is(fromNarsign.code, fromNix.status, `${what}: nix said ${fromNix.status} (${fromNix.stderr.trim().split('\n').pop()}), narsign said ${fromNarsign.code} (${fromNarsign.stderr.trim()})`);
    t.deepEqual(snapshot(dir), before, `${what}: verify changes nothing`);
    t.log(`${what}: both exit ${fromNix.status}`);
  }
  t.is((await narsign(t, ['verify', '-t', key.public, signed])).code, 0, 'the agreement includes success');
});
