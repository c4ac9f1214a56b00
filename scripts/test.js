#!/usr/bin/env node
// `npm test` and the extra suites. Compiles lib/ (the CLI tests run dist/), runs ava with TAP,
// prints which Ed25519 backend was tested, and ends with `ava: N passed, N failed`.
//
//   node scripts/test.js                 the unit suite (test/**/*.test.ts, not interop)
//   node scripts/test.js interop         the suite that drives real Nix (test/interop/)
//   node scripts/test.js adversarial     the attacks of a cache co-tenant or hostile server (test/adversarial/)
//   node scripts/test.js s3              the S3 store against the server scripts/s3-server.sh started (test/s3/)
//   node scripts/test.js FILE...         just those files
'use strict';
const { spawnSync, spawn } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
// Suites are defined in ava.config.mjs and chosen with NARSIGN_SUITE; other arguments are files.
const known = ['unit', 'interop', 'pack', 'adversarial', 's3'];
const suiteName = args.length === 0 ? 'unit' : known.includes(args[0]) ? args[0] : null;
const files = suiteName ? [] : args;

const tsc = spawnSync(process.execPath, [path.join(__dirname, 'build-ts.js')], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(1);
// The tests are type-checked too (tsx, which runs them, only strips types).
const typecheck = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' });
if (typecheck.status !== 0) {
  console.error('narsign: the tests do not type-check');
  process.exit(1);
}

// Which backend this run tests: the same choice the tests' own processes make.
const probe = spawnSync(process.execPath, ['-p', "require('./dist/ed25519').backend"], { cwd: root, encoding: 'utf8' });
if (probe.status !== 0) {
  process.stderr.write(probe.stderr);
  process.exit(1);
}
const backend = probe.stdout.trim();
console.log(`narsign: testing the ${backend} backend`);

const label = [suiteName ?? 'files', backend].join(', ');
const ava = spawn(path.join(root, 'node_modules', '.bin', 'ava'), ['--tap', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NARSIGN_TESTED_BACKEND: backend, NARSIGN_SUITE: suiteName ?? 'unit' },
});
const counter = spawn(process.execPath, [path.join(__dirname, 'tap-count.js')], {
  stdio: ['pipe', 'inherit', 'inherit'],
  env: { ...process.env, NARSIGN_SUITE_LABEL: label },
});
ava.stdout.pipe(counter.stdin);
let avaStatus = 0;
ava.on('close', (code) => { avaStatus = code ?? 1; });
counter.on('close', (code) => {
  console.log(`narsign: tested the ${backend} backend`);
  process.exit(code !== 0 || avaStatus !== 0 ? 1 : 0);
});
