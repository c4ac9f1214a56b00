#!/usr/bin/env node
// `npm run test:asan`: the unit suite on the native addon built with AddressSanitizer and
// UndefinedBehaviorSanitizer (CMakeLists.txt NARSIGN_SANITIZE).
//
//  1. builds the addon with -DNARSIGN_SANITIZE=ON into build-asan/build/Release/ (build/ is untouched);
//  2. points node-gyp-build at it with NARSIGN_PREBUILD=build-asan (its own override: every process
//     that loads narsign — ava's workers, the CLI and boundary children — then loads this build), and
//     checks that a probe process really has the sanitizer build and libasan mapped;
//  3. runs `node scripts/test.js` (or the files given) with the sanitizer runtimes preloaded
//     (node itself is not instrumented), reports going to files, and fails on any report.
//
// ASAN_OPTIONS: detect_leaks=0 (V8 and Node keep memory until exit by design). UBSan halts on the
// first error. libsodium.a is the system's, not instrumented: ASan checks narsign's own code and the
// memory functions it calls (memcpy, …), and the heap every JS buffer lives in.
//
//   node scripts/test-asan.js                 the unit suite less the end-to-end CLI and crash tests
//   NARSIGN_ASAN_ALL=1 node scripts/test-asan.js   the whole unit suite (about twice as long)
//   node scripts/test-asan.js FILE...         just those files
//
// The subset: every unit test file except test/cli.test.ts, test/cli-http.test.ts and
// test/crash.test.ts. Those start hundreds of `narsign` processes (each a whole node under ASan) to
// test argument parsing, exit codes, HTTP and SIGKILL; the native calls they make are the library
// calls that cache.test.ts, signatures.test.ts, batch.test.ts, signer.test.ts and
// native-boundary.test.ts make in-process, which do run here.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const started = Date.now();
const outDir = path.join(root, 'build-asan');
const addon = path.join(outDir, 'build', 'Release', 'narsign.node');

function fail(message) {
  console.error(`test:asan: ${message}`);
  process.exit(1);
}

// 1. The sanitizer build (incremental: ninja rebuilds what changed).
const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');
const build = (command) =>
  spawnSync(cmakeJs, [command, '--out', path.join('build-asan', 'build'), '--CDNARSIGN_SANITIZE=ON'], { cwd: root, stdio: 'inherit' });
let built = build('compile');
const instrumented = () => fs.existsSync(addon) && fs.readFileSync(addon).includes('__asan_init');
if (built.status !== 0 || !instrumented()) built = build('rebuild'); // e.g. a cache configured without the option
if (built.status !== 0) fail('building the sanitizer addon failed');
if (!instrumented()) fail(`${addon} is not built with AddressSanitizer`);

// 2. The runtimes, as absolute paths (the ones the compiler that built the addon links against).
function runtime(name) {
  const file = spawnSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!path.isAbsolute(file) || !fs.existsSync(file)) fail(`gcc does not know where ${name} is`);
  return file;
}
const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-asan-'));
const env = {
  ...process.env,
  NARSIGN_BACKEND: 'native',
  NARSIGN_PREBUILD: outDir,
  NARSIGN_SANITIZER: 'asan+ubsan', // tests that cannot run under the sanitizers skip themselves

  LD_PRELOAD: [runtime('libasan.so'), runtime('libubsan.so')].join(' '),
  ASAN_OPTIONS: ['detect_leaks=0', 'abort_on_error=1', `log_path=${path.join(logs, 'asan')}`, process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
  UBSAN_OPTIONS: ['halt_on_error=1', 'abort_on_error=1', 'print_stacktrace=1', `log_path=${path.join(logs, 'ubsan')}`, process.env.UBSAN_OPTIONS].filter(Boolean).join(':'),
};

// Compile lib/ first: the probe loads dist/ (scripts/test.js compiles again; it is quick).
if (spawnSync(process.execPath, [path.join(__dirname, 'build-ts.js')], { cwd: root, stdio: 'inherit' }).status !== 0) fail('tsc failed');
const probe = spawnSync(
  process.execPath,
  ['-e', `const e = require('./dist/ed25519'); const k = e.generateKeyPair();
if (!e.verifyDetached(k.publicKey, e.signDetached(k.secretKey, 'probe'), 'probe')) throw new Error('probe signature');
const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
console.log(JSON.stringify({ backend: e.backend, asan: /libasan/.test(maps), addon: maps.includes(${JSON.stringify(addon)}) }));`],
  { cwd: root, env, encoding: 'utf8' },
);
if (probe.status !== 0) fail(`the probe process failed:\n${probe.stderr}`);
const loaded = JSON.parse(probe.stdout.trim().split('\n').pop());
if (loaded.backend !== 'native' || !loaded.asan || !loaded.addon) fail(`the probe did not load the sanitizer build: ${probe.stdout}`);
console.log(`test:asan: ${addon} (ASan + UBSan), reports in ${logs}`);

// 3. The suite (the files of ava.config.mjs's unit suite: test/*.test.ts).
const END_TO_END = ['cli.test.ts', 'cli-http.test.ts', 'crash.test.ts'];
let files = process.argv.slice(2);
if (files.length === 0 && !process.env.NARSIGN_ASAN_ALL) {
  const testDir = path.join(root, 'test');
  files = fs.readdirSync(testDir).filter((f) => f.endsWith('.test.ts') && !END_TO_END.includes(f)).sort().map((f) => path.join('test', f));
  console.log(`test:asan: ${files.length} test files (not ${END_TO_END.join(', ')}; NARSIGN_ASAN_ALL=1 runs them too)`);
}
const suite = spawn(process.execPath, [path.join(__dirname, 'test.js'), ...files], { cwd: root, env, stdio: 'inherit' });
suite.on('close', (code, signal) => {
  const reports = fs.readdirSync(logs).map((f) => path.join(logs, f));
  for (const report of reports) {
    console.error(`\n===== sanitizer report ${path.basename(report)} =====\n${fs.readFileSync(report, 'utf8')}`);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`sanitizers: ${reports.length} report(s); test:asan took ${seconds} s`);
  if (reports.length === 0) fs.rmSync(logs, { recursive: true, force: true });
  process.exit(code === 0 && signal === null && reports.length === 0 ? 0 : 1);
});
