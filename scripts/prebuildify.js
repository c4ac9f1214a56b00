#!/usr/bin/env node
// `npm run prebuildify [TARGET...]`: builds prebuilds/<target>/narsign.node for linux-x64,
// linux-arm64 and win32-x64 (or the targets named) on a linux-x64 Debian/Ubuntu machine, and checks
// each before it may be packed: objdump (no libsodium library, only the Node-API entry points, the
// glibc floors) and a run in the real Node for its platform under qemu or wine
// (scripts/prebuild/check.js). Installs the missing toolchains first (scripts/prebuild/toolchains.sh,
// as root); keeps the slow and downloaded parts in .cache/prebuild (NARSIGN_PREBUILD_CACHE).
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { TARGETS, checkTarget } = require('./prebuild/emulate');
const { build } = require('./prebuild/build');
const { check } = require('./prebuild/check');

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error('narsign: the prebuilds are cross-built on linux-x64 (Debian/Ubuntu)');
  process.exit(1);
}

const targets = process.argv.length > 2 ? process.argv.slice(2) : TARGETS;
targets.forEach(checkTarget);

const timings = [];
function timed(name, fn) {
  const start = process.hrtime.bigint();
  fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  timings.push(`${seconds.toFixed(1).padStart(6)} s  ${name}`);
  console.log(`prebuild: ${name} took ${seconds.toFixed(1)} s`);
}

timed('toolchains', () => execFileSync('bash', [path.join(__dirname, 'prebuild', 'toolchains.sh')], { stdio: 'inherit' }));
for (const target of targets) {
  timed(`build ${target}`, () => build(target));
  timed(`check ${target}`, () => check(target));
}
console.log(`prebuild: seconds per step\n${timings.map((line) => `prebuild: ${line}`).join('\n')}`);
