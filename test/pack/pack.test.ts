/**
 * The packaging test (issue 6): pack the package, install the tarball into a fresh project with the
 * compilers hidden, and use it as a user would — CommonJS, ESM, TypeScript types, the CLI — on the
 * prebuilt addon. Negative control: the same tarball without prebuilds/ falls back to sodium-native
 * with the same results.
 *
 * Issue 17: the tarball carries the linux-x64, linux-arm64 and win32-x64 prebuilds, each for its
 * platform (ELF/PE headers read here), the Linux ones within the glibc floors (readelf), and each,
 * installed into a consumer, loads in the real Node for its platform (qemu-user, wine) and signs the
 * RFC 8032 vector; `npm pack` refuses when one is missing.
 *
 * Needs `npm run prebuildify` first (.ci/run does it; it also installs qemu-user and wine) and root
 * (for `unshare -m`, which hides the compilers by bind-mounting /bin/false over them).
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const target = `${os.platform()}-${os.arch()}`;
const PREBUILD_TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64'];
// eslint-disable-next-line @typescript-eslint/no-require-imports
const emulate = require('../../scripts/prebuild/emulate.js') as {
  runNode(target: string, script: string, args?: string[], options?: { cwd?: string; env?: Record<string, string> }): { status: number | null; stdout: string; stderr: string };
};
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-pack-'));
test.after.always(() => fs.rmSync(work, { recursive: true, force: true }));

const COMPILERS = ['gcc', 'g++', 'cc', 'c++', 'make', 'cmake', 'clang', 'node-gyp']
  .map((name) => spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim())
  .filter(Boolean);

/** Runs a shell script in a private mount namespace where every compiler is /bin/false. */
function withoutCompilers(script: string, cwd: string) {
  const hide = COMPILERS.map((file) => `mount --bind /bin/false ${file}`).join(' && ');
  const run = spawnSync('unshare', ['-m', 'sh', '-ec', `${hide}\n${script}`], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NARSIGN_BACKEND: '', PREBUILDS_ONLY: '', npm_config_loglevel: 'error' },
  });
  return run;
}

let tarball = '';
let files: string[] = [];

test.before(() => {
  for (const platform of PREBUILD_TARGETS) {
    if (!fs.existsSync(path.join(root, 'prebuilds', platform, 'narsign.node'))) {
      throw new Error(`no prebuilds/${platform}/narsign.node: run \`npm run prebuildify\` first`);
    }
  }
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const info = JSON.parse(out)[0] as { filename: string; files: Array<{ path: string }> };
  tarball = path.join(work, info.filename);
  files = info.files.map((f) => f.path).sort();
});

test.serial('the tarball ships exactly what a user needs', (t) => {
  for (const needed of [
    'package.json', 'README.md', 'LICENSE', 'CMakeLists.txt',
    'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/perl.js', 'dist/perl.mjs', 'dist/perl.d.ts', 'dist/cli/main.js',
    ...PREBUILD_TARGETS.map((platform) => `prebuilds/${platform}/narsign.node`), 'native/addon.cc', 'native/exports.map', 'native/find-libsodium.js',
  ]) {
    t.true(files.includes(needed), `missing ${needed}`);
  }
  const unwanted = files.filter((f) => /^(test|build|bench|scripts|examples|\.ci|node_modules)\//.test(f) || /^dist\/.*\.map$/.test(f) || /\.(tgz|ts)$/.test(f) && !f.endsWith('.d.ts'));
  t.deepEqual(unwanted, []);
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  t.is(manifest.scripts.install, undefined, 'no install script');
  t.is(manifest.scripts.preinstall, undefined);
  t.is(manifest.scripts.postinstall, undefined);
  t.is(manifest.gypfile, false, 'npm must not add an implicit `node-gyp rebuild` install step');
  // npm adds an implicit `node-gyp rebuild` for any package with a binding.gyp at its root, and on a
  // lockfile-driven install (npm ci, npm rebuild) it forgets `gypfile: false`: so none is shipped.
  // Other platforms compile from CMakeLists.txt (cmake-js).
  t.false(files.includes('binding.gyp'), 'no binding.gyp at the package root');
});

function installInto(dir: string, tgz: string) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  return withoutCompilers(`npm install --no-audit --no-fund ${tgz} >install.log 2>&1 || { cat install.log; exit 1; }`, dir);
}

const USE = `
const n = require('narsign');
const k = n.keyPairFromSeed(Buffer.alloc(32, 9));
const sig = Buffer.from(n.signDetached(k.secretKey, 'fingerprint')).toString('hex');
console.log(JSON.stringify({ backend: n.backend, sig, ok: n.verifyDetached(k.publicKey, Buffer.from(sig, 'hex'), 'fingerprint') }));
`;

test.serial('installed with no compiler: the prebuilt addon loads, ESM and types work, the CLI runs', (t) => {
  const dir = path.join(work, 'consumer');
  const install = installInto(dir, tarball);
  t.is(install.status, 0, install.stdout + install.stderr);
  t.false(fs.existsSync(path.join(dir, 'node_modules', 'narsign', 'build')), 'nothing was compiled at install time');
  // What npm itself says: nothing in this install has an install script (it would list narsign's
  // implicit `node-gyp rebuild` here if it saw one, even one it did not run).
  const scripts = spawnSync('npm', ['install-scripts', 'ls'], { cwd: dir, encoding: 'utf8' });
  t.notRegex(scripts.stdout + scripts.stderr, /narsign/, 'npm sees no install script in narsign');
  const rebuild = withoutCompilers('npm rebuild --foreground-scripts >rebuild.log 2>&1 || { cat rebuild.log; exit 1; }', dir);
  t.is(rebuild.status, 0, `npm rebuild (lockfile-driven) compiles nothing: ${rebuild.stdout}${rebuild.stderr}`);
  t.false(fs.existsSync(path.join(dir, 'node_modules', 'narsign', 'build')), 'npm rebuild compiled nothing');

  const cjs = withoutCompilers(`node -e "${USE.replace(/"/g, '\\"')}"`, dir);
  t.is(cjs.status, 0, cjs.stderr);
  const result = JSON.parse(cjs.stdout);
  t.is(result.backend, 'native');
  t.true(result.ok);
  t.notRegex(cjs.stderr, /NARSIGN_FALLBACK/);

  fs.writeFileSync(path.join(dir, 'esm.mjs'), `import { backend, signDetached, NarsignError } from 'narsign';
import narsign from 'narsign';
import * as perl from 'narsign/perl';
let code;
try { signDetached(new Uint8Array(3), 'x'); } catch (e) { code = e instanceof NarsignError && e instanceof narsign.NarsignError && e.code; }
console.log(JSON.stringify({ backend, code, perl: typeof perl.signString }));
`);
  const esm = withoutCompilers('node esm.mjs', dir);
  t.is(esm.status, 0, esm.stderr);
  t.deepEqual(JSON.parse(esm.stdout), { backend: 'native', code: 'ERR_SECRET_KEY_INVALID', perl: 'function' });

  // A TypeScript user of a Node library has @types/node; ours stands in for the consumer's.
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')] }, files: ['check.ts', 'check.mts'] }));
  const tsBody = `const pair = generateKeyPair();
const sig: Buffer = signDetached(pair.secretKey, 'x');
const ok: boolean = verifyDetached(pair.publicKey, sig, 'x');
const which: 'native' | 'sodium-native' = backend;
// @ts-expect-error a number is not a message
signDetached(pair.secretKey, 42);
export { ok, which };
`;
  fs.writeFileSync(path.join(dir, 'check.ts'), `import { generateKeyPair, signDetached, verifyDetached, backend } from 'narsign';\n${tsBody}`);
  fs.writeFileSync(path.join(dir, 'check.mts'), `import { generateKeyPair, signDetached, verifyDetached, backend } from 'narsign';\nimport { signString } from 'narsign/perl';\nvoid signString;\n${tsBody}`);
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr);

  const cli = withoutCompilers('npx --no-install narsign key generate test-1', dir);
  t.is(cli.status, 0, cli.stderr);
  t.regex(cli.stdout, /^test-1:[A-Za-z0-9+/]{86}==$/);
});

/** Byte-level identity of a binary: ELF class and machine, or PE32+ DLL and machine. */
function binaryKind(bytes: Buffer): string {
  if (bytes.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    const machines: Record<number, string> = { 62: 'x86-64', 183: 'aarch64' };
    const type = bytes.readUInt16LE(16) === 3 ? 'shared object' : 'other';
    return `ELF${bytes[4] === 2 ? '64' : '32'} ${machines[bytes.readUInt16LE(18)] ?? 'other'} ${type}`;
  }
  if (bytes.toString('latin1', 0, 2) === 'MZ') {
    const pe = bytes.readUInt32LE(0x3c);
    if (bytes.toString('latin1', pe, pe + 4) !== 'PE\0\0') return 'MZ, not PE';
    const machine = bytes.readUInt16LE(pe + 4) === 0x8664 ? 'x86-64' : 'other';
    const dll = (bytes.readUInt16LE(pe + 22) & 0x2000) !== 0 ? 'DLL' : 'EXE';
    const magic = bytes.readUInt16LE(pe + 24) === 0x20b ? 'PE32+' : 'PE32';
    return `${magic} ${machine} ${dll}`;
  }
  return 'unknown';
}

/** The newest GLIBC_ and GLIBCXX_ versions an ELF needs, from its version-needs section (readelf). */
function versionNeeds(file: string): Record<string, string> {
  const out = execFileSync('readelf', ['--version-info', '--wide', file], { encoding: 'utf8' });
  const needs: Record<string, string> = {};
  for (const [, lib, version] of out.matchAll(/Name: (GLIBC|GLIBCXX)_([0-9.]+)/g)) {
    if (!needs[lib] || version.localeCompare(needs[lib], undefined, { numeric: true }) > 0) needs[lib] = version;
  }
  return needs;
}

test.serial('the tarball carries a prebuild for each platform, each for its machine, Linux within the glibc floors', (t) => {
  const unpacked = path.join(work, 'inspect');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['xzf', tarball, '-C', unpacked, 'package/prebuilds']);
  const kinds = Object.fromEntries(PREBUILD_TARGETS.map((platform) =>
    [platform, binaryKind(fs.readFileSync(path.join(unpacked, 'package', 'prebuilds', platform, 'narsign.node')))]));
  t.deepEqual(kinds, {
    'linux-x64': 'ELF64 x86-64 shared object',
    'linux-arm64': 'ELF64 aarch64 shared object',
    'win32-x64': 'PE32+ x86-64 DLL',
  });
  for (const linux of ['linux-x64', 'linux-arm64']) {
    const needs = versionNeeds(path.join(unpacked, 'package', 'prebuilds', linux, 'narsign.node'));
    t.truthy(needs.GLIBC, `${linux} has glibc version needs`);
    t.true(needs.GLIBC.localeCompare('2.28', undefined, { numeric: true }) <= 0, `${linux} needs GLIBC_${needs.GLIBC}`);
    t.true((needs.GLIBCXX ?? '0').localeCompare('3.4.21', undefined, { numeric: true }) <= 0, `${linux} needs GLIBCXX_${needs.GLIBCXX}`);
  }
});

test.serial('installed: each prebuild loads in the real Node for its platform (qemu, wine) and signs the RFC 8032 vector', (t) => {
  const dir = path.join(work, 'consumer');
  const vector = JSON.parse(fs.readFileSync(path.join(root, 'test', 'vectors', 'rfc8032.json'), 'utf8')).vectors[1];
  fs.writeFileSync(path.join(dir, 'rfc8032.js'), `const n = require('narsign');
const pair = n.keyPairFromSeed(Buffer.from('${vector.seed}', 'hex'));
const sig = Buffer.from(n.signDetached(pair.secretKey, Buffer.from('${vector.message}', 'hex'))).toString('hex');
console.log(JSON.stringify({ platform: process.platform + '-' + process.arch, backend: n.backend, sig }));
`);
  for (const platform of PREBUILD_TARGETS) {
    const run = emulate.runNode(platform, path.join(dir, 'rfc8032.js'), [], { cwd: dir, env: { NARSIGN_BACKEND: 'native' } });
    t.is(run.status, 0, `${platform}: ${run.stdout}${run.stderr}`);
    t.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null'), { platform, backend: 'native', sig: vector.signature });
  }
});

test.serial('npm pack refuses when a platform\'s prebuild is missing', (t) => {
  const copy = path.join(work, 'incomplete');
  fs.mkdirSync(copy);
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  delete manifest.scripts.prepare; // only prepack is under test (prepare would build the TypeScript)
  fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify(manifest));
  fs.cpSync(path.join(root, 'scripts', 'prebuild'), path.join(copy, 'scripts', 'prebuild'), { recursive: true });
  for (const platform of ['linux-x64', 'linux-arm64']) {
    fs.cpSync(path.join(root, 'prebuilds', platform), path.join(copy, 'prebuilds', platform), { recursive: true });
  }
  const pack = spawnSync('npm', ['pack', '--dry-run'], { cwd: copy, encoding: 'utf8' });
  t.not(pack.status, 0);
  t.regex(pack.stderr, /refusing to pack without prebuilds\/win32-x64\/narsign\.node/);
  fs.cpSync(path.join(root, 'prebuilds', 'win32-x64'), path.join(copy, 'prebuilds', 'win32-x64'), { recursive: true });
  const complete = spawnSync('npm', ['pack', '--dry-run'], { cwd: copy, encoding: 'utf8' });
  t.is(complete.status, 0, complete.stderr);
});

test.serial('negative control: without prebuilds/ it installs, falls back to sodium-native, same results', (t) => {
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['xzf', tarball, '-C', unpacked]);
  fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
  const stripped = path.join(work, 'narsign-noprebuilds.tgz');
  execFileSync('tar', ['czf', stripped, '-C', unpacked, 'package']);

  const withPrebuild = path.join(work, 'consumer');
  const dir = path.join(work, 'consumer-fallback');
  const install = installInto(dir, stripped);
  t.is(install.status, 0, install.stdout + install.stderr);
  const run = withoutCompilers(`node -e "${USE.replace(/"/g, '\\"')}"`, dir);
  t.is(run.status, 0, run.stderr);
  const fallback = JSON.parse(run.stdout);
  t.is(fallback.backend, 'sodium-native');
  t.true(fallback.ok);
  t.is(run.stderr.match(/NARSIGN_FALLBACK/g)?.length, 1, 'says so once');
  // Same signature as the native addon made in the other install.
  const native = withoutCompilers(`node -e "${USE.replace(/"/g, '\\"')}"`, withPrebuild);
  t.is(JSON.parse(native.stdout).sig, fallback.sig);
});
