/**
 * Ctrl-C (SIGINT) or SIGTERM during `narsign sign` of a large cache: the run must stop cleanly —
 * exit 130 / 143, no `.narsign.lock` and no temporary file left behind, every narinfo either as it
 * was or fully signed (never half-written) — instead of dying where it stands and leaving the lock
 * and temporaries for the next run.
 *
 * The signal is sent once the run has started writing: when its first private directory (where its
 * temporary files go) appears.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSecretKey } from '../../lib/keys';
import { makeGeneratedCache, tempDir } from '../helpers/cache-dir';
import { CLI } from '../helpers/run-cli';

const secret = generateSecretKey('adversary-test-1');

async function signAndInterrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<{ dir: string; code: number | null; killedBy: NodeJS.Signals | null; stderr: string; before: Map<string, string> }> {
  const dir = makeGeneratedCache(4000);
  const before = new Map(fs.readdirSync(dir).filter((n) => n.endsWith('.narinfo')).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
  const keyFile = path.join(tempDir('narsign-key-'), 'secret.key');
  fs.writeFileSync(keyFile, secret, { mode: 0o600 });
  const confDir = tempDir('narsign-conf-');
  const child = spawn(process.execPath, [CLI, 'sign', '-k', keyFile, dir], {
    cwd: os.tmpdir(),
    env: { ...process.env, NIX_CONF_DIR: confDir, NIX_USER_CONF_FILES: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let sent = false;
  const watcher = fs.watch(dir, (_event, name) => {
    if (!sent && typeof name === 'string' && name.startsWith('.narsign-')) {
      sent = true;
      child.kill(signal);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code, killedBy] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(killer);
  watcher.close();
  if (!sent) throw new Error(`the run ended before it wrote anything (exit ${code}): ${stderr}`);
  return { dir, code, killedBy, stderr, before };
}

for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} during sign: exit ${exitCode}, no lock, no temporary file, each narinfo as it was or fully signed`, async (t) => {
    const { dir, code, killedBy, stderr, before } = await signAndInterrupt(signal);
    t.is(killedBy, null, `the process was not killed by ${killedBy}`);
    t.is(code, exitCode, stderr);
    const left = fs.readdirSync(dir).filter((n) => n.startsWith('.'));
    t.deepEqual(left, [], 'no lock and no temporary file is left');
    let signed = 0;
    for (const [name, original] of before) {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      if (text === original) continue;
      const sigs = text.split('\n').filter((l) => l.startsWith('Sig: adversary-test-1:'));
      t.is(sigs.length, 1, `${name}: one new signature`);
      t.is(text.replace(`${sigs[0]}\n`, ''), original, `${name}: nothing else changed`);
      signed += 1;
    }
    t.true(signed < before.size, `stopped before the end (${signed} of ${before.size} signed)`);
  });
}
