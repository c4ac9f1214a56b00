// Builds prebuilds/<target>/narsign.node for each target on this linux-x64 machine:
//  - linux-x64 and linux-arm64 with prebuildify (node-gyp, binding.gyp), arm64 with Debian's
//    aarch64 cross compiler and its multiarch libsodium.a;
//  - win32-x64 with CMake (CMakeLists.txt) and mingw-w64 (native/toolchains/), against an import
//    library for node.exe made from node-api-headers' .def files, and a libsodium built for mingw
//    (scripts/prebuild/libsodium-mingw.sh, cached).
// Each builds in a scratch copy of the sources so nothing clobbers the cmake-js build in ./build.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, cacheDir, checkTarget } = require('./emulate');

const LIBSODIUM_SCRIPT = path.join(__dirname, 'libsodium-mingw.sh');
// The cache entry is named after the script that builds it: a changed build is a new entry.
const LIBSODIUM_MINGW = path.join(cacheDir,
  `libsodium-mingw-${crypto.createHash('sha256').update(fs.readFileSync(LIBSODIUM_SCRIPT)).digest('hex').slice(0, 12)}`);

function run(file, args, options = {}) {
  execFileSync(file, args, { stdio: 'inherit', ...options });
}

function scratchCopy(entries) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-prebuild-'));
  for (const entry of entries) fs.cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  return scratch;
}

/** npm's own node-gyp (what `npm run` puts on PATH), so the build also runs outside npm. */
function npmNodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  return path.join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

function buildLinux(arch) {
  const scratch = scratchCopy(['native', 'binding.gyp', 'package.json']);
  try {
    const env = { ...process.env, PREBUILD_NODE_GYP: process.env.PREBUILD_NODE_GYP || npmNodeGyp() };
    // Offline machines: build against the local Node headers rather than downloading them.
    if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
    if (arch === 'arm64') {
      Object.assign(env, {
        CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar',
        PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip', SODIUM_LIBDIR: '/usr/lib/aarch64-linux-gnu',
      });
    }
    run(path.join(root, 'node_modules', '.bin', 'prebuildify'), ['--napi', '--strip', '--arch', arch, '--name', 'narsign', '--cwd', scratch], { cwd: scratch, env });
    return install(`linux-${arch}`, path.join(scratch, 'prebuilds', `linux-${arch}`, 'narsign.node'));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** node.exe's import libraries, from node-api-headers' .def files (node-gyp cannot target Windows). */
function nodeImportLibraries(dir) {
  const defs = path.join(path.dirname(require.resolve('node-api-headers/package.json', { paths: [root] })), 'def');
  return ['node_api', 'js_native_api'].map((name) => {
    const lib = path.join(dir, `lib${name}.a`);
    run('x86_64-w64-mingw32-dlltool', ['-d', path.join(defs, `${name}.def`), '-l', lib, '-D', 'node.exe']);
    return lib;
  });
}

function buildWin32() {
  run('bash', [LIBSODIUM_SCRIPT, LIBSODIUM_MINGW]);
  const scratch = scratchCopy(['native', 'CMakeLists.txt', 'package.json']);
  try {
    const headers = require(require.resolve('node-api-headers', { paths: [root] }));
    const out = path.join(scratch, 'build');
    fs.mkdirSync(out);
    run('cmake', ['-S', scratch, '-B', out, '-DCMAKE_BUILD_TYPE=Release',
      `-DCMAKE_TOOLCHAIN_FILE=${path.join(scratch, 'native', 'toolchains', 'mingw-w64-x86_64.cmake')}`,
      `-DCMAKE_JS_INC=${headers.include_dir}`, `-DCMAKE_JS_LIB=${nodeImportLibraries(out).join(';')}`,
      `-DSODIUM_INCLUDE_DIR=${path.join(LIBSODIUM_MINGW, 'include')}`, `-DSODIUM_STATIC_LIBRARY=${path.join(LIBSODIUM_MINGW, 'lib', 'libsodium.a')}`],
    { cwd: scratch, stdio: ['ignore', 'ignore', 'inherit'] });
    run('cmake', ['--build', out, '--target', 'narsign', '-j', String(os.availableParallelism?.() ?? 2)], { cwd: scratch });
    return install('win32-x64', path.join(out, 'narsign.node'));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function install(target, built) {
  const dest = path.join(root, 'prebuilds', target);
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(built, path.join(dest, 'narsign.node'));
  return path.join(dest, 'narsign.node');
}

/** Builds prebuilds/<target>/narsign.node; returns its path. */
function build(target) {
  checkTarget(target);
  if (target === 'win32-x64') return buildWin32();
  return buildLinux(target.split('-')[1]);
}

module.exports = { build, LIBSODIUM_MINGW };
