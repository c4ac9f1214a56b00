#!/usr/bin/env node
// Prints the full path of the static libsodium (libsodium.a) for binding.gyp, which links it by
// path so the addon never needs libsodium.so at run time. CMakeLists.txt does the same search.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

function candidates() {
  const dirs = [];
  if (process.env.SODIUM_LIBDIR) dirs.push(process.env.SODIUM_LIBDIR);
  try {
    dirs.push(execFileSync('pkg-config', ['--variable=libdir', 'libsodium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch { /* no pkg-config or no libsodium.pc: fall through to the usual places */ }
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch] || process.arch;
  dirs.push(`/usr/lib/${arch}-linux-gnu`, '/usr/lib64', '/usr/lib', '/usr/local/lib', '/opt/homebrew/lib');
  return dirs.filter(Boolean).map((dir) => path.join(dir, 'libsodium.a'));
}

const found = candidates().find((file) => existsSync(file));
if (!found) {
  console.error('narsign: libsodium.a not found (install libsodium-dev, or set SODIUM_LIBDIR)');
  process.exit(1);
}
process.stdout.write(found);
