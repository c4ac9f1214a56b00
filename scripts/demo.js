#!/usr/bin/env node
// `npm start`: the narsign CLI on the example cache shipped in the repo (examples/cache, real
// cache.nixos.org narinfos), working on a temporary copy so the repo stays clean. Each command is
// printed before it runs, as you would type it; the run stops (exit 1) at the first failing step.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const examples = path.join(root, 'examples', 'cache');

if (!fs.existsSync(cli)) {
  const built = spawnSync(process.execPath, [path.join(__dirname, 'build-ts.js')], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(1);
}

/** Every file of examples/cache with its bytes, to show the repo copy is left as it was. */
function snapshot(dir) {
  return fs.readdirSync(dir).sort().map((name) => `${name}:${fs.readFileSync(path.join(dir, name)).toString('base64')}`).join('\n');
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'narsign-demo-'));
const before = snapshot(examples);
let failed = false;

function step(title, args) {
  if (failed) return;
  console.log(`\n# ${title}`);
  console.log(`$ narsign ${args.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  // The user's nix.conf is not read: every command below names its keys.
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, stdio: 'inherit', env: { ...process.env, NARSIGN_NO_PROGRESS: '1' } });
  if (r.status !== 0) {
    console.error(`\nnpm start: \`narsign ${args[0]}\` failed (exit ${r.status ?? r.signal})`);
    failed = true;
  }
}

try {
  fs.cpSync(examples, path.join(work, 'cache'), { recursive: true });
  const first = fs.readdirSync(path.join(work, 'cache')).filter((n) => n.endsWith('.narinfo')).sort()[0];
  console.log(`narsign demo, in ${work}`);
  console.log(`(cache/ is a copy of examples/cache: ${fs.readdirSync(examples).filter((n) => n.endsWith('.narinfo')).length} real narinfos from cache.nixos.org)`);

  step('1. make a signing key (the secret file is mode 0600)', ['key', 'generate', 'demo.example.org-1', '--secret-file', 'secret.key', '--public-file', 'public.key']);
  if (!failed) console.log(fs.readFileSync(path.join(work, 'public.key'), 'utf8'));
  step('2. sign every narinfo in the cache', ['sign', '-k', 'secret.key', 'cache']);
  step('3. verify the cache, trusting only the new public key', ['verify', '--trusted-key-file', 'public.key', 'cache']);
  step('4. look at one narinfo: its fields, fingerprint and signatures', ['inspect', '--trusted-key-file', 'public.key', `cache/${first}`]);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

if (snapshot(examples) !== before) {
  console.error('npm start: examples/cache changed; it should not have');
  failed = true;
}
if (!failed) console.log(`\nDone: the cache verifies under the new key. (${work} removed; examples/cache untouched.)`);
process.exit(failed ? 1 : 0);
