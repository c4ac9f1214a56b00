#!/usr/bin/env node
// `npm run prebuildify`: builds prebuilds/<platform>-<arch>/narsign.node with prebuildify (N-API,
// stripped), which drives node-gyp from binding.gyp. It builds in a scratch copy of the sources so
// node-gyp's build/ never clobbers the cmake-js build in ./build. Then checks the result: only
// the Node-API entry points exported, and no dynamic libsodium.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-prebuild-'));
try {
  for (const entry of ['native', 'binding.gyp', 'package.json']) {
    fs.cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  const env = { ...process.env };
  // Offline machines: build against the local Node headers rather than downloading them.
  if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
  execFileSync(path.join(root, 'node_modules', '.bin', 'prebuildify'), ['--napi', '--strip', '--name', 'narsign', '--cwd', scratch], {
    cwd: scratch,
    env,
    stdio: 'inherit',
  });
  const target = `${os.platform()}-${os.arch()}`;
  const built = path.join(scratch, 'prebuilds', target, 'narsign.node');
  const dest = path.join(root, 'prebuilds', target);
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(built, path.join(dest, 'narsign.node'));

  if (os.platform() === 'linux') {
    const ldd = execFileSync('ldd', [built], { encoding: 'utf8' });
    if (/libsodium/.test(ldd)) throw new Error(`prebuild links libsodium dynamically:\n${ldd}`);
    const symbols = execFileSync('nm', ['-D', '--defined-only', built], { encoding: 'utf8' })
      .split('\n').filter(Boolean).map((line) => line.split(' ').pop());
    const extra = symbols.filter((s) => !['napi_register_module_v1', 'node_api_module_get_api_version_v1'].includes(s));
    if (extra.length) throw new Error(`prebuild exports more than the Node-API entry points: ${extra.join(', ')}`);
    const glibc = execFileSync('objdump', ['-T', built], { encoding: 'utf8' }).match(/GLIBC_[0-9.]+/g) ?? [];
    const newest = [...new Set(glibc)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
    console.log(`prebuilds/${target}/narsign.node: no libsodium.so, exports only Node-API entry points, needs ${newest ?? 'no versioned glibc'}`);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
