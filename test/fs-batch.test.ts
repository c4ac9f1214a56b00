/**
 * lib/fs-batch.ts over native/files.cc: whole files read, and batches of files replaced, on the
 * libuv pool. Oracles: node:fs (bytes, modes, errors) on the same files. Native backend only: on the
 * fallback every file is "not read" (checked too) and replaceFiles is not offered.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { backend } from '../lib/backend';
import { canReplaceFiles, readFileBatch, replaceFiles } from '../lib/fs-batch';
import { tempDir } from './helpers/cache-dir';

const native = backend === 'native';
const nativeTest = native ? test : test.skip;

test('on the fallback backend every file is left to the caller', async (t) => {
  if (native) {
    t.true(canReplaceFiles);
    return;
  }
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'a'), 'x');
  t.deepEqual(await readFileBatch([path.join(dir, 'a'), path.join(dir, 'missing')]), [undefined, undefined]);
  t.false(canReplaceFiles);
});

nativeTest('readFileBatch: bytes and modes as node:fs reads them; errors as node:fs throws them; odd files left to the caller', async (t) => {
  const dir = tempDir();
  const file = (name: string, content: string | Buffer, mode = 0o644) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content, { mode });
    fs.chmodSync(p, mode);
    return p;
  };
  const small = file('small', 'StorePath: x\n');
  const empty = file('empty', '');
  const odd = file('odd-mode', Buffer.from([0, 255, 10, 13]), 0o4640);
  const exact = file('exact', Buffer.alloc(4 * 1024 * 1024, 0x61));
  const over = file('over', Buffer.alloc(4 * 1024 * 1024 + 1, 0x61));
  const link = path.join(dir, 'link');
  fs.symlinkSync(small, link);
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const missing = path.join(dir, 'missing');
  const notDir = path.join(small, 'below-a-file');
  const paths = [small, empty, odd, exact, over, link, sub, fifo, missing, notDir, `${small}\0x`];
  const reads = await readFileBatch(paths);
  t.is(reads.length, paths.length);
  for (const [i, p] of paths.entries()) {
    const read = reads[i];
    let expected: Buffer | NodeJS.ErrnoException | 'not read';
    if ([over, sub, fifo].includes(p) || p.includes('\0')) expected = 'not read';
    else {
      try {
        expected = fs.readFileSync(p);
      } catch (error) {
        expected = error as NodeJS.ErrnoException;
      }
    }
    if (expected === 'not read') t.is(read, undefined, p);
    else if (Buffer.isBuffer(expected)) {
      t.true(read !== undefined && 'bytes' in read && read.bytes.equals(expected), p);
      t.is(read && 'mode' in read ? read.mode : -1, fs.statSync(p).mode & 0o7777, p);
    } else {
      t.true(read !== undefined && 'error' in read, p);
      const error = (read as { error: NodeJS.ErrnoException }).error;
      t.is(error.code, expected.code, p);
      t.is(error.syscall, 'open', p);
    }
  }
  t.is(await readFileBatch([]).then((r) => r.length), 0);
});

nativeTest('readFileBatch: past 64 MiB in one batch the remaining files are left to the caller', async (t) => {
  const dir = tempDir();
  const paths = Array.from({ length: 17 }, (_, i) => {
    const p = path.join(dir, `f${i}`);
    fs.writeFileSync(p, Buffer.alloc(4 * 1024 * 1024, i));
    return p;
  });
  const reads = await readFileBatch(paths);
  t.is(reads.filter((r) => r !== undefined).length, 16);
  t.is(reads[16], undefined);
  t.true(reads.slice(0, 16).every((r, i) => r !== undefined && 'bytes' in r && r.bytes.length === 4 * 1024 * 1024 && r.bytes[0] === i));
  fs.rmSync(dir, { recursive: true, force: true });
});

nativeTest('replaceFiles: contents and modes in place, temporary files gone; a failing file fails alone', async (t) => {
  for (const durable of [false, true]) {
    const dir = tempDir();
    const targets = ['a', 'b', 'c', 'd'].map((n) => path.join(dir, n));
    targets.forEach((p) => fs.writeFileSync(p, `old ${p}`));
    // b is not a file of `dir`: refused (EINVAL at open), nothing created for it.
    targets[1] = path.join(dir, 'missing', 'b');
    const files = targets.map((target, i) => ({ target, content: `new ${i} ✓\n`, mode: [0o644, 0o600, 0o640, 0o644][i] }));
    fs.rmSync(targets[2]);
    fs.mkdirSync(targets[2]); // renaming over c fails: it is a directory
    const errors = await replaceFiles(dir, files, durable);
    t.is(errors.length, 4);
    t.is(errors[0], undefined);
    t.like(errors[1], { code: 'EINVAL', syscall: 'open' });
    t.like(errors[2], { code: 'EISDIR', syscall: 'rename' });
    t.is(errors[3], undefined);
    t.is(fs.readFileSync(targets[0], 'utf8'), 'new 0 ✓\n');
    t.is(fs.readFileSync(targets[3], 'utf8'), 'new 3 ✓\n');
    t.is(fs.statSync(targets[0]).mode & 0o777, 0o644);
    t.true(fs.statSync(targets[2]).isDirectory());
    t.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b', 'c', 'd'], `durable ${durable}: no temporary file is left`);
  }
});

nativeTest('replaceFiles: the mode is exactly the one given (set on the open file, so no umask), never setuid', async (t) => {
  const dir = tempDir();
  const target = path.join(dir, 'x');
  const old = process.umask(0o077);
  try {
    const [error] = await replaceFiles(dir, [{ target, content: 'x', mode: 0o4644 }], true);
    t.is(error, undefined);
  } finally {
    process.umask(old);
  }
  t.is(fs.statSync(target).mode & 0o7777, 0o644);
});
