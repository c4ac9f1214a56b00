/**
 * The hostile half of test/signer.test.ts, in a child process so that a crash in C++ (a signal, an
 * abort, a fault on freed guarded memory) fails the test instead of killing ava. Disposes signers
 * while async batches that use them are in flight, from getters in the middle of sync batches, and
 * leaves signers to the garbage collector; every signature made is checked against sodium-native.
 * Prints one line `{"report":{...}}` and exits 0 when every check held, 1 otherwise.
 */
import crypto from 'node:crypto';
import * as ed from '../../lib/index';
import { sodiumKeyPair, sodiumSign } from './oracles';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const failures: string[] = [];
let checks = 0;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function expectSignatures(what: string, secretKey: Uint8Array, messages: readonly string[], signatures: readonly Uint8Array[]): void {
  checks++;
  if (signatures.length !== messages.length) {
    failures.push(`${what}: ${signatures.length} signatures for ${messages.length} messages`);
    return;
  }
  for (let i = 0; i < messages.length; i++) {
    if (!Buffer.from(signatures[i]).equals(sodiumSign(secretKey, Buffer.from(messages[i], 'utf8')))) {
      failures.push(`${what}: signature ${i} differs from sodium-native's`);
      return;
    }
  }
}

function expectDisposedError(what: string, fn: () => unknown): void {
  checks++;
  try {
    fn();
    failures.push(`${what}: no error with a disposed signer`);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_SIGNER_DISPOSED') failures.push(`${what}: ${String(error)}`);
  }
}

async function main(): Promise<void> {
  const { secretKey } = sodiumKeyPair(crypto.randomBytes(32));
  const messages = Array.from({ length: 3000 }, (_, i) => `message ${i} ${'x'.repeat(i % 97)}`);

  // 1. dispose() right after an async batch began, and again once chunks are running; with gc.
  for (let round = 0; round < 4; round++) {
    const signer = ed.createSigner(secretKey);
    const many = ed.signManyAsync(signer, messages, { chunkSize: 8, concurrency: 8 });
    const into = ed.signManyIntoAsync(signer, messages, new Uint8Array(messages.length * 64), { chunkSize: 16 });
    if (round % 2 === 0) signer.dispose();
    await nextTurn();
    signer.dispose();
    gc();
    expectSignatures(`signManyAsync, disposed while running (round ${round})`, secretKey, messages, await many);
    const flat = await into;
    expectSignatures(
      `signManyIntoAsync, disposed while running (round ${round})`,
      secretKey,
      messages,
      messages.map((_, i) => flat.subarray(i * 64, i * 64 + 64)),
    );
    checks++;
    const code = await ed.signManyAsync(signer, messages).then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    if (code !== 'ERR_SIGNER_DISPOSED') failures.push(`signManyAsync after dispose: ${code}`);
    expectDisposedError('signDetached after dispose', () => ed.signDetached(signer, 'x'));
  }

  // 2. A getter in the middle of a batch disposes the signer (and collects garbage).
  for (const kind of ['signMany', 'signManyInto', 'signManyAsync'] as const) {
    const signer = ed.createSigner(secretKey);
    const list = messages.slice(0, 200);
    const hostile: string[] = [...list];
    Object.defineProperty(hostile, 100, {
      get() {
        signer.dispose();
        gc();
        return list[100];
      },
    });
    let signatures: Uint8Array[];
    if (kind === 'signMany') signatures = ed.signMany(signer, hostile);
    else if (kind === 'signManyAsync') signatures = await ed.signManyAsync(signer, hostile, { chunkSize: 8 });
    else {
      const out = ed.signManyInto(signer, hostile, new Uint8Array(list.length * 64));
      signatures = list.map((_, i) => out.subarray(i * 64, i * 64 + 64));
    }
    expectSignatures(`${kind}, disposed by a getter`, secretKey, list, signatures);
    expectDisposedError(`${kind} after the getter disposed`, () => ed.signMany(signer, ['x']));
  }

  // 3. Signers never disposed, left to the garbage collector while batches run and after.
  const pending: Array<Promise<Buffer[]>> = [];
  for (let i = 0; i < 50; i++) pending.push(ed.signManyAsync(ed.createSigner(secretKey), messages.slice(0, 40), { chunkSize: 4 }));
  for (let i = 0; i < 5; i++) {
    gc();
    await nextTurn();
  }
  for (const [i, p] of (await Promise.all(pending)).entries()) {
    if (i % 10 === 0) expectSignatures(`signManyAsync with a collected signer (${i})`, secretKey, messages.slice(0, 40), p);
  }
  gc();

  // 4. Dispose racing many small batches on the pool.
  const signers = Array.from({ length: 16 }, () => ed.createSigner(secretKey));
  const racing = signers.map((s) => ed.signManyAsync(s, messages.slice(0, 300), { chunkSize: 2, concurrency: 16 }));
  for (const [i, s] of signers.entries()) {
    if (i % 2) await nextTurn();
    s.dispose();
  }
  gc();
  for (const [i, signatures] of (await Promise.all(racing)).entries()) {
    expectSignatures(`racing batch ${i}`, secretKey, messages.slice(0, 300), signatures);
  }

  process.stdout.write(`${JSON.stringify({ report: { backend: ed.backend, checks, failures } })}\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ report: { backend: ed.backend, checks, failures: [...failures, String(error)] } })}\n`);
  process.exitCode = 1;
});
