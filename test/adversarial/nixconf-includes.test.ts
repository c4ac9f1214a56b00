/**
 * Attack (a sibling of issue 14's class 5, found by attacking the merged work): a nix.conf that
 * includes /dev/zero (an endless read) or a FIFO (a read that waits for a writer forever). nix.conf
 * is the operator's file, but "never a hang, never unbounded memory" holds for every reader: each
 * must be refused at once with a coded error naming the file.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, EXAMPLES, tempDir } from '../helpers/cli';

/** `narsign verify --nix-conf CONF EXAMPLES`, killed if it runs 20 s (a hang) or passes 512 MiB of heap. */
function verifyWith(conf: string) {
  return spawnSync(process.execPath, ['--max-old-space-size=512', CLI, 'verify', '--nix-conf', conf, EXAMPLES], { encoding: 'utf8', timeout: 20_000 });
}

for (const [what, plant] of [
  ['/dev/zero', (_dir: string) => '/dev/zero'],
  ['a FIFO', (dir: string) => {
    const fifo = path.join(dir, 'fifo.conf');
    spawnSync('mkfifo', [fifo]);
    return fifo;
  }],
] as const) {
  test(`nix.conf that includes ${what}: refused at once, naming the file, no hang`, (t) => {
    const dir = tempDir();
    const included = plant(dir);
    const conf = path.join(dir, 'nix.conf');
    fs.writeFileSync(conf, `trusted-public-keys = cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=\ninclude ${included}\n`);
    const r = verifyWith(conf);
    t.is(r.signal, null, `killed by ${r.signal} (a hang or unbounded memory)`);
    t.not(r.status, 0);
    t.regex(r.stderr, new RegExp(`${included.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a regular file`));
  });
}
