/**
 * The packaging test (issue 6): pack the package, install the tarball into a fresh project with the
 * compilers hidden, and use it as a user would — CommonJS, ESM, TypeScript types, the CLI — on the
 * prebuilt addon. Negative control: the same tarball without prebuilds/ falls back to sodium-native
 * with the same results.
 *
 * Needs `npm run prebuildify` first (.ci/run does it) and root (for `unshare -m`, which hides the
 * compilers by bind-mounting /bin/false over them).
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const target = `${os.platform()}-${os.arch()}`;
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
  if (!fs.existsSync(path.join(root, 'prebuilds', target, 'narsign.node'))) {
    throw new Error(`no prebuilds/${target}/narsign.node: run \`npm run prebuildify\` first`);
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
    `prebuilds/${target}/narsign.node`, 'native/addon.cc', 'native/exports.map', 'native/find-libsodium.js',
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
