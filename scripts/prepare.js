#!/usr/bin/env node
// `prepare` (runs on `npm install` / `npm ci` in a clone): compile the TypeScript, then try to build
// the native addon. A failed addon build is reported, never fatal: narsign then runs on sodium-native.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(cmd, args, options = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options }).status === 0;
}

if (!run(process.execPath, [path.join(__dirname, 'build-ts.js')])) {
  console.error('narsign: TypeScript compilation failed');
  process.exit(1);
}

if (process.env.NARSIGN_SKIP_NATIVE_BUILD) {
  console.error('narsign: NARSIGN_SKIP_NATIVE_BUILD set; not building the native addon');
} else if (run(bin('cmake-js'), ['compile', '--out', 'build', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] })) {
  console.error('narsign: native addon built (build/Release/narsign.node)');
} else {
  console.error(
    'narsign: the native addon could not be built (a C++ compiler, cmake and libsodium-dev are needed).\n' +
      'narsign will run on sodium-native instead; `npm run build:native` retries the build.',
  );
}
