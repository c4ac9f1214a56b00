// Run by the real Node of a prebuild's platform (scripts/prebuild/check.js, under qemu or wine) on a
// staged copy of the package that has only that prebuild: the RFC 8032 vectors, a batch sign and
// verify, key generation, a coded error crossing from C++, and the file engine (signing and
// verifying a one-narinfo cache) where it is built, or node:fs where it is not (Windows).
// Usage: node smoke.js PACKAGE_DIR RFC8032_JSON NARINFO_FILE SCRATCH_DIR FILE_ENGINE(1|0)
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const [packageDir, vectorsFile, narinfoFile, scratch, fileEngine] = process.argv.slice(2);
process.env.NARSIGN_BACKEND = 'native'; // a prebuild that does not load is an error, never the fallback
const n = require(packageDir);
const fsBatch = require(path.join(packageDir, 'dist', 'fs-batch.js'));
const hex = (s) => Buffer.from(s, 'hex');
const done = [];

async function main() {
  assert.equal(n.backend, 'native');

  const { vectors } = JSON.parse(fs.readFileSync(vectorsFile, 'utf8'));
  for (const v of vectors) {
    const pair = n.keyPairFromSeed(hex(v.seed));
    assert.equal(pair.publicKey.toString('hex'), v.publicKey, v.name);
    assert.equal(Buffer.from(n.signDetached(pair.secretKey, hex(v.message))).toString('hex'), v.signature, v.name);
    assert.ok(n.verifyDetached(hex(v.publicKey), hex(v.signature), hex(v.message)), v.name);
  }
  done.push(`rfc8032 ${vectors.length}`);

  const batchKey = n.keyPairFromSeed(hex(vectors[0].seed));
  const messages = vectors.map((v) => hex(v.message));
  const signatures = n.signMany(batchKey.secretKey, messages);
  assert.equal(Buffer.from(signatures[0]).toString('hex'), vectors[0].signature);
  const items = messages.map((message, i) => ({ publicKey: batchKey.publicKey, signature: signatures[i], message }));
  items.push({ publicKey: batchKey.publicKey, signature: signatures[0], message: Buffer.from('tampered') });
  assert.deepEqual(n.verifyMany(items), [...messages.map(() => true), false]);
  assert.deepEqual(await n.verifyManyAsync(items), [...messages.map(() => true), false]);
  done.push(`batch ${items.length}`);

  const a = n.generateKeyPair(), b = n.generateKeyPair();
  assert.notDeepEqual(a.secretKey, b.secretKey);
  assert.ok(n.verifyDetached(a.publicKey, n.signDetached(a.secretKey, 'x'), 'x'));
  assert.ok(!n.verifyDetached(b.publicKey, n.signDetached(a.secretKey, 'x'), 'x'));
  done.push('keygen');

  assert.throws(() => n.signDetached(new Uint8Array(3), 'x'), (e) => e instanceof n.NarsignError && e.code === 'ERR_SECRET_KEY_INVALID');
  done.push('coded error');

  assert.equal(fsBatch.canReplaceFiles, fileEngine === '1', 'the file engine is built exactly where expected');
  const cache = path.join(scratch, 'cache');
  fs.mkdirSync(cache, { recursive: true });
  const record = fs.readFileSync(narinfoFile, 'utf8').split('\n\n')[0] + '\n';
  const hashPart = /^StorePath: \/nix\/store\/([a-z0-9]{32})-/m.exec(record)[1];
  fs.writeFileSync(path.join(cache, `${hashPart}.narinfo`), record.replace(/^Sig: .*\n/gm, ''));
  const secret = n.generateSecretKey('smoke-1');
  const signed = await n.signCache(cache, { keys: secret });
  assert.equal(signed.signed, 1, JSON.stringify(signed));
  const verified = await n.verifyCache(cache, { trustedKeys: n.toPublicKey(secret) });
  assert.equal(verified.trusted, 1, JSON.stringify(verified));
  const reads = await fsBatch.readFileBatch([path.join(cache, `${hashPart}.narinfo`), path.join(cache, 'missing.narinfo')]);
  if (fileEngine === '1') {
    assert.match(reads[0].bytes.toString(), /^Sig: smoke-1:/m);
    assert.equal(reads[1].error.code, 'ENOENT');
  } else {
    assert.deepEqual(reads, [undefined, undefined], 'without the file engine every file is left to node:fs');
  }
  done.push(fileEngine === '1' ? 'file engine' : 'node:fs fallback');
  console.log(`smoke ok (${process.platform}-${process.arch}): ${done.join(', ')}`);
}

main().catch((error) => {
  console.error(`smoke failed after: ${done.join(', ') || 'nothing'}\n${error && error.stack || error}`);
  process.exit(1);
});
