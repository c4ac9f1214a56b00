// Checks a prebuild before it is packed, on this linux-x64 machine:
//  - statically (objdump): no libsodium library needed, only the Node-API entry points exported,
//    and on Linux the floors: at most GLIBC_2.28 (what Node 18+ itself needs) and GLIBCXX_3.4.21;
//  - by running it (scripts/prebuild/smoke.js) in the real Node for its platform, under qemu or
//    wine, from a staged copy of the package that has only that prebuild.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, checkTarget, runNode, nodePath } = require('./emulate');

const ENTRY_POINTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
const FLOORS = { GLIBC: '2.28', GLIBCXX: '3.4.21' };
const OBJDUMP = { 'linux-x64': 'objdump', 'linux-arm64': 'aarch64-linux-gnu-objdump', 'win32-x64': 'x86_64-w64-mingw32-objdump' };
const FILE_FORMAT = { 'linux-x64': 'elf64-x86-64', 'linux-arm64': 'elf64-littleaarch64', 'win32-x64': 'pei-x86-64' };

const newer = (a, b) => a.localeCompare(b, undefined, { numeric: true }) > 0;

/** The newest version of each of GLIBC and GLIBCXX that `file` (an ELF) needs. */
function glibcNeeds(target, file) {
  const dump = execFileSync(OBJDUMP[target], ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const needs = {};
  for (const [, lib, version] of dump.matchAll(/\b(GLIBC|GLIBCXX)_([0-9.]+)\b/g)) {
    if (!needs[lib] || newer(version, needs[lib])) needs[lib] = version;
  }
  return needs;
}

/** Static checks of prebuilds/<target>/narsign.node; throws on the first problem, returns a summary. */
function inspect(target, file) {
  const objdump = OBJDUMP[target];
  const headers = execFileSync(objdump, ['-p', file], { encoding: 'utf8' });
  const format = /file format (\S+)/.exec(headers)?.[1];
  if (format !== FILE_FORMAT[target]) throw new Error(`${file}: file format ${format}, not ${FILE_FORMAT[target]}`);
  let needed, exported;
  if (target.startsWith('linux')) {
    needed = [...headers.matchAll(/^\s+NEEDED\s+(\S+)/gm)].map((m) => m[1]);
    exported = execFileSync(objdump, ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n')
      .filter((line) => /^[0-9a-f]+ g/.test(line) && !line.includes('*UND*')).map((line) => line.trim().split(/\s+/).pop());
  } else {
    needed = [...headers.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]);
    const table = headers.split('[Ordinal/Name Pointer] Table')[1] ?? '';
    exported = [...table.split(/\n\s*\n/)[0].matchAll(/\]\s+(\S+)/g)].map((m) => m[1]);
  }
  const sodium = needed.filter((lib) => /sodium/i.test(lib));
  if (sodium.length) throw new Error(`${file} needs ${sodium.join(', ')}: libsodium must be linked statically`);
  if (exported.sort().join() !== ENTRY_POINTS.join()) throw new Error(`${file} exports ${exported.join(', ')}, not only ${ENTRY_POINTS.join(', ')}`);
  let summary = `needs ${needed.join(', ')}; exports only the Node-API entry points`;
  if (target.startsWith('linux')) {
    const needs = glibcNeeds(target, file);
    for (const [lib, floor] of Object.entries(FLOORS)) {
      if (needs[lib] && newer(needs[lib], floor)) throw new Error(`${file} needs ${lib}_${needs[lib]}, newer than the floor ${lib}_${floor}`);
    }
    summary += `; at most GLIBC_${needs.GLIBC} and GLIBCXX_${needs.GLIBCXX}`;
  }
  return summary;
}

/** A copy of the package with only `target`'s prebuild (./build would win over prebuilds/). */
function stage(target, file, dir) {
  const pkg = path.join(dir, 'narsign');
  fs.mkdirSync(path.join(pkg, 'prebuilds', target), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.cpSync(path.dirname(require.resolve('node-gyp-build/package.json', { paths: [root] })), path.join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true });
  fs.copyFileSync(file, path.join(pkg, 'prebuilds', target, 'narsign.node'));
  return pkg;
}

/** Runs the smoke test in the real Node for `target`; throws with its output when it fails. */
function smoke(target, file) {
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) execFileSync(process.execPath, [path.join(root, 'scripts', 'build-ts.js')], { stdio: 'inherit' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `narsign-smoke-${target}-`));
  try {
    const pkg = stage(target, file, dir);
    const scratch = path.join(dir, 'scratch');
    fs.mkdirSync(scratch);
    const args = [pkg, path.join(root, 'test', 'vectors', 'rfc8032.json'), path.join(root, 'test', 'vectors', 'cache-nixos-org-978.narinfo'), scratch]
      .map((p) => nodePath(target, p));
    const fileEngine = target.startsWith('win32') ? '0' : '1';
    const run = runNode(target, path.join(__dirname, 'smoke.js'), [...args, fileEngine], { cwd: dir });
    if (run.status !== 0 || !/^smoke ok/m.test(run.stdout)) {
      throw new Error(`${target}: smoke test failed (status ${run.status}${run.signal ? `, ${run.signal}` : ''}${run.error ? `, ${run.error.message}` : ''}):\n${run.stdout}${run.stderr}`);
    }
    return run.stdout.trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Both checks of prebuilds/<target>/narsign.node. */
function check(target) {
  checkTarget(target);
  const file = path.join(root, 'prebuilds', target, 'narsign.node');
  if (!fs.existsSync(file)) throw new Error(`no prebuilds/${target}/narsign.node`);
  console.log(`prebuild: prebuilds/${target}/narsign.node: ${inspect(target, file)}`);
  console.log(`prebuild: ${target}: ${smoke(target, file)}`);
}

module.exports = { check, inspect, glibcNeeds, FLOORS };

if (require.main === module) {
  for (const target of process.argv.slice(2)) check(target);
}
