/**
 * Attack (issue 14, class 6): in the 2015 format, a co-tenant copies path A's signed narinfo over
 * path B's file name. Nix asks for B's narinfo by that name; if narsign calls it trusted, B would be
 * substituted by A's NAR. The StorePath ↔ file-name rule must hold in the 2015 mode as in the modern
 * one: `verify --format 2015` refuses it (`sign --format 2015` already did: test/legacy2015.test.ts).
 *
 * The 2015 signatures are made here with node:crypto (the 2015 rule: every line before the
 * Signature line, each with its '\n'), not by narsign.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { verifyCache } from '../../lib/cache';
import { hashPartOfText, tempDir } from '../helpers/cache-dir';
import { runCli } from '../helpers/run-cli';
import { fixture } from '../helpers/vectors';

const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
const pk = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
const PUBLIC = `old.example.org-1:${pk.toString('base64')}`;

const unsigned = (id: string) => `${fixture(id).text.split('\n').filter((l) => l && !l.startsWith('Sig: ')).join('\n')}\n`;
const signed2015 = (text: string) => `${text}Signature: 2;old.example.org-1;${crypto.sign(null, Buffer.from(text), privateKey).toString('base64')}\n`;

/** A cache holding A's signed narinfo under its own name AND under B's name (B's own narinfo gone). */
function plantedCache() {
  const a = signed2015(unsigned('F1'));
  const bName = `${hashPartOfText(fixture('F2').text)}.narinfo`;
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\n');
  fs.writeFileSync(path.join(dir, `${hashPartOfText(a)}.narinfo`), a);
  fs.writeFileSync(path.join(dir, bName), a);
  return { dir, a, bName };
}

test('verify --format 2015 refuses A’s signed narinfo served under B’s name (and trusts it under its own)', async (t) => {
  const { dir, bName } = plantedCache();
  const r = await runCli(['verify', '--format', '2015', '-t', PUBLIC, '--json', dir]);
  t.not(r.code, 0, r.stderr);
  t.true((r.code! & 4) !== 0, `exit ${r.code}`);
  const report = JSON.parse(r.stdout) as { trusted: number; files: Array<{ file: string; status: string; code?: string }> };
  t.is(report.trusted, 1);
  t.deepEqual(
    report.files.filter((f) => f.status !== 'trusted').map((f) => [path.basename(f.file), f.code]),
    [[bName, 'ERR_NARINFO_FILE_NAME']],
  );
});

test('library: verifyCache format 2015 counts the misfiled narinfo as failed, not trusted', async (t) => {
  const { dir } = plantedCache();
  const result = await verifyCache(dir, { trustedKeys: PUBLIC, format: '2015' });
  t.is(result.trusted, 1);
  t.is(result.failed, 1);
});
