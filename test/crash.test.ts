/**
 * Crash safety and concurrent signers, with the real CLI (issue 7): `narsign sign` killed with
 * SIGKILL at random moments never leaves a torn, empty or half-signed narinfo; the next run cleans up
 * and finishes; two signers with different keys at once lose no signature.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generateSecretKey, toPublicKey } from '../lib/keys';
import { makeGeneratedCache, oracleFingerprint, snapshot, tempDir } from './helpers/cache-dir';
import { nodeVerify, splitNixString } from './helpers/oracles';

const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');

function keyFile(name: string): { file: string; pub: Buffer } {
  const secret = generateSecretKey(name);
  const file = path.join(tempDir('narsign-key-'), 'secret.key');
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return { file, pub: splitNixString(toPublicKey(secret)).bytes };
}

/** Every narinfo is its original bytes, or the original plus exactly one valid Sig line per key in `keys`. */
function checkState(t: { fail(m: string): void }, dir: string, originals: Map<string, Buffer>, keys: Array<{ name: string; pub: Buffer }>, mustBeSigned: boolean) {
  let signed = 0;
  let temps = 0;
  for (const name of fs.readdirSync(dir)) {
    // A killed run's private directory (with its temporary files in it).
    if (name.startsWith('.narsign-') || (name.startsWith('.') && name.endsWith('.tmp'))) {
      temps += 1;
      continue;
    }
    const bytes = fs.readFileSync(path.join(dir, name));
    if (!name.endsWith('.narinfo')) continue;
    const original = originals.get(name);
    if (!original) return t.fail(`unexpected file ${name}`);
    if (bytes.equals(original) && !mustBeSigned) continue;
    let text = bytes.toString('utf8');
    for (const key of keys) {
      const lines = text.split('\n').filter((l) => l.startsWith(`Sig: ${key.name}:`));
      if (lines.length !== 1) return t.fail(`${name}: ${lines.length} signatures by ${key.name} (torn or unsigned file)`);
      const sig = splitNixString(lines[0].slice(5)).bytes;
      if (!nodeVerify(key.pub, sig, oracleFingerprint(original.toString('utf8')))) return t.fail(`${name}: invalid signature by ${key.name}`);
      text = text.replace(`${lines[0]}\n`, '');
    }
    if (text !== original.toString('utf8')) return t.fail(`${name}: other bytes changed`);
    signed += 1;
  }
  return { signed, temps };
}

test('SIGKILL at random moments: each narinfo is the original or fully signed; the next run finishes and cleans up', async (t) => {
  const dir = makeGeneratedCache(20_000);
  const originals = snapshot(dir);
  const key = keyFile('crash-1');
  const keys = [{ name: 'crash-1', pub: key.pub }];
  const kills: number[] = [];
  for (let round = 0; round < 4; round += 1) {
    const child = spawn(process.execPath, [cli, 'sign', '-k', key.file, dir], { stdio: 'ignore' });
    const delay = 300 + Math.floor(Math.random() * 4000);
    await new Promise((resolve) => setTimeout(resolve, delay));
    const killed = child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    if (killed) kills.push(delay);
    const state = checkState(t, dir, originals, keys, false);
    if (!state) return;
    t.log(`kill ${round + 1} after ${delay} ms: ${state.signed} signed, ${state.temps} temporary files left by the killed run`);
  }
  t.true(kills.length >= 3, 'the runs were killed mid-way');
  const finish = spawnSync(process.execPath, [cli, 'sign', '-k', key.file, dir], { encoding: 'utf8' });
  t.is(finish.status, 0, finish.stderr);
  const final = checkState(t, dir, originals, keys, true);
  if (!final) return;
  t.is(final.signed, 20_000);
  t.is(final.temps, 0, 'no stray temporary files after the next run');
  t.false(fs.existsSync(path.join(dir, '.narsign.lock')), 'the stale lock was taken over and released');
});

test('two `narsign sign` processes with different keys at the same time: every narinfo ends with both signatures', async (t) => {
  const dir = makeGeneratedCache(5_000);
  const originals = snapshot(dir);
  const a = keyFile('peer-a');
  const b = keyFile('peer-b');
  const run = (k: { file: string }) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'sign', '--no-fsync', '-k', k.file, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  const [ra, rb] = await Promise.all([run(a), run(b)]);
  t.is(ra.code, 0, ra.stderr);
  t.is(rb.code, 0, rb.stderr);
  const state = checkState(t, dir, originals, [{ name: 'peer-a', pub: a.pub }, { name: 'peer-b', pub: b.pub }], true);
  if (!state) return;
  t.is(state.signed, 5_000);
  t.is(state.temps, 0);
});
