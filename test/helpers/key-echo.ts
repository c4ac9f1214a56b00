/**
 * Key options and mangled keys, for the key-echo tests (test/adversarial/key-echo.test.ts and
 * test/secret-hygiene.test.ts): a fresh node:crypto key, the ways a pasted key gets mangled, every
 * key option of the CLI given such a value, and the check that no piece of the key came back.
 */
import type { ExecutionContext } from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './cache-dir';
import { runCli } from './run-cli';
import { describeFindings, SecretScanner } from './secret-scan';

const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
const pk = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
const B64 = Buffer.concat([seed, pk]).toString('base64');
const NAME = 'cache.example.org-1';
const scanner = new SecretScanner().addKeyString('the pasted key', `${NAME}:${B64}`);

/** How keys get mangled on the way from a password manager to a command line. */
export const FORMS: Record<string, string> = {
  'NAME BASE64': `${NAME} ${B64}`,
  'BASE64:NAME': `${B64}:${NAME}`,
  'NAME:BASE64BASE64': `${NAME}:${B64}${B64}`,
  'BASE64BASE64': `${B64}${B64}`,
  'BASE64 BASE64': `${B64} ${B64}`,
  'NAME: BASE64': `${NAME}: ${B64}`,
  'NAME:BASE64 (whole)': `${NAME}:${B64}`,
  BASE64: B64,
  'seed only': seed.toString('base64'),
  'NAME:BASE64 cut short': `${NAME}:${B64.slice(0, 30)}`,
};

const cache = tempDir();
fs.writeFileSync(path.join(cache, 'nix-cache-info'), 'StoreDir: /nix/store\n');
const goodPublic = `other-1:${crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!.replace(/-/g, '+').replace(/_/g, '/')}=`;

/** Every key option, given `value` itself (the paste) or a file / variable holding it. */
function invocations(value: string): Array<{ what: string; args: string[]; env?: Record<string, string> }> {
  const file = path.join(tempDir(), 'key');
  fs.writeFileSync(file, value, { mode: 0o600 });
  return [
    { what: 'sign -k VALUE', args: ['sign', '-k', value, cache] },
    { what: 'sign -k VALUE -k VALUE', args: ['sign', '-k', value, '-k', value, cache] },
    { what: 'sign --key-env VALUE', args: ['sign', '--key-env', value, cache] },
    { what: 'verify --trusted-key-file VALUE', args: ['verify', '--trusted-key-file', value, cache] },
    { what: 'inspect --trusted-key-file VALUE', args: ['inspect', '--trusted-key-file', value, path.join(cache, 'x.narinfo')] },
    { what: 'key public VALUE', args: ['key', 'public', value] },
    { what: 'verify -t VALUE', args: ['verify', '-t', value, cache] },
    { what: 'sign --require-trusted VALUE', args: ['sign', '--key-env', 'NARSIGN_TEST_UNSET', '--require-trusted', value, cache] },
    { what: 'sign -k FILE(VALUE)', args: ['sign', '-k', file, cache] },
    { what: 'sign --key-env VAR=VALUE', args: ['sign', '--key-env', 'NARSIGN_TEST_KEY', cache], env: { NARSIGN_TEST_KEY: value } },
    { what: 'verify --trusted-key-file FILE(VALUE)', args: ['verify', '--trusted-key-file', file, cache] },
    { what: 'verify -t GOOD --trusted-key-file FILE(VALUE)', args: ['verify', '-t', goodPublic, '--trusted-key-file', file, cache] },
    { what: 'key public FILE(VALUE)', args: ['key', 'public', file] },
    { what: 'key public < VALUE', args: ['key', 'public'] },
    { what: 'narsign VALUE (as a command)', args: [value] },
  ];
}

/** Runs every key option with `value` and checks that no output holds a piece of the key, nor a stack trace. */
export async function checkNoEcho(t: ExecutionContext, value: string): Promise<void> {
  const runs = await Promise.all(
    invocations(value).map(async (inv) => ({ inv, r: await runCli(inv.args, { ...(inv.env ? { env: inv.env } : {}), ...(inv.what.includes('<') ? { input: value } : {}) }) })),
  );
  const findings = runs.flatMap(({ inv, r }) => [...scanner.scan(`${inv.what}: stderr`, r.stderr), ...scanner.scan(`${inv.what}: stdout`, r.stdout)]);
  t.deepEqual(findings, [], describeFindings(findings));
  for (const { inv, r } of runs) {
    // Nix's lax base64 stops at '=' padding, so the whole key, or one followed by junk, is a key.
    if (r.code !== 0) t.regex(r.stderr, /^narsign: /m, inv.what);
    t.notRegex(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `${inv.what}: a stack trace`);
  }
}
