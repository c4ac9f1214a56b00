/**
 * lib/nixconf.ts. The expected behaviours were observed with real Nix 2.8 (`nix show-config` and
 * `nix store verify` on private configs); test/interop/nixconf-nix.test.ts replays the comparable
 * ones against the real binary.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findNixConf, NIX_DEFAULT_TRUSTED_PUBLIC_KEY, readNixConf, type NixConf } from '../lib/nixconf';
import { NarsignError } from '../lib/errors';
import { MAX_KEY_FILE_BYTES } from '../lib/key-files';
import { keyVectors, CACHE_NIXOS_ORG_KEY } from './helpers/vectors';
import { splitNixString } from './helpers/oracles';

const vector = (section: string) => keyVectors().find((v) => v.section === section)!;
const C_PUB = vector('C').publicKey!; // cache.example.org-0
const B_PUB = vector('B').publicKey!; // test1
const E_PUB = vector('E').publicKey!; // cache.example.org-1
const F_SEC = vector('F').secretKey!; // cache.example.com-1
const F_PUB = vector('F').publicKey!;
const G_PUB = vector('G').publicKey!; // cache.example.com-1 too (another key of the same name)

/** A temp dir with files; returns a helper to write more and the paths. */
function tempDir(t: import('ava').ExecutionContext): { dir: string; write: (name: string, text: string) => string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'narsign-nixconf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write: (name, text) => {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

const keyStrings = (conf: NixConf): string[] => conf.trustedPublicKeys.map((k) => `${k.name}:${k.key.toString('base64')}`);
const readText = (text: string, dir?: string): NixConf => readNixConf({ sources: { name: 'test.conf', text, ...(dir ? { dir } : {}) } });

function expectConfError(t: import('ava').ExecutionContext, fn: () => unknown, code: string): NarsignError {
  const error = t.throws(fn, { instanceOf: NarsignError });
  t.is(error?.code, code, error?.message);
  return error as NarsignError;
}

test("nothing set: Nix's defaults — cache.nixos.org-1 trusted, require-sigs true", (t) => {
  const conf = readText('# nothing here\n\nsubstituters = https://example.org\n');
  t.deepEqual(keyStrings(conf), [NIX_DEFAULT_TRUSTED_PUBLIC_KEY]);
  t.is(NIX_DEFAULT_TRUSTED_PUBLIC_KEY, CACHE_NIXOS_ORG_KEY);
  t.is(conf.trustedPublicKeys[0].origin, undefined);
  t.true(conf.requireSigs);
  t.is(conf.requireSigsOrigin, undefined);
  t.deepEqual(conf.secretKeyFiles, []);
});

test('trusted-public-keys replaces, binary-cache-public-keys is the same setting, the last line wins', (t) => {
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${C_PUB} ${B_PUB}\n`)), [C_PUB, B_PUB]);
  t.deepEqual(keyStrings(readText(`binary-cache-public-keys = ${C_PUB} ${B_PUB}\n`)), [C_PUB, B_PUB]);
  t.deepEqual(keyStrings(readText(`binary-cache-public-keys = ${C_PUB} ${B_PUB}\ntrusted-public-keys = ${E_PUB}\n`)), [E_PUB]);
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${C_PUB}\ntrusted-public-keys =\n`)), []);
});

test('extra-trusted-public-keys and extra-binary-cache-public-keys append (to the default if nothing was set)', (t) => {
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${C_PUB}\nextra-trusted-public-keys = ${B_PUB}\nextra-binary-cache-public-keys = ${E_PUB}\n`)), [C_PUB, B_PUB, E_PUB]);
  t.deepEqual(keyStrings(readText(`extra-trusted-public-keys = ${B_PUB}\n`)), [CACHE_NIXOS_ORG_KEY, B_PUB]);
  // A later plain setting discards what was appended before it.
  t.deepEqual(keyStrings(readText(`extra-trusted-public-keys = ${B_PUB}\ntrusted-public-keys = ${C_PUB}\n`)), [C_PUB]);
});

test('order and duplicates are kept (Nix trusts the first key of a name)', (t) => {
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${C_PUB} ${C_PUB} ${G_PUB} ${F_PUB}\n`)), [C_PUB, C_PUB, G_PUB, F_PUB]);
});

test("comments start at any '#'; tabs, CRLF and blank lines are fine; other settings are ignored", (t) => {
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${C_PUB} # ${B_PUB}\n`)), [C_PUB]);
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${C_PUB}#${B_PUB} ${E_PUB}\n`)), [C_PUB]);
  t.deepEqual(keyStrings(readText(`\r\n\t trusted-public-keys\t=\t${C_PUB}\r\n\n  # comment\nsandbox = false\n`)), [C_PUB]);
  t.deepEqual(keyStrings(readText(`trusted-public-keys = ${B_PUB}`)), [B_PUB], 'no final newline');
});

test("illegal lines are ERR_NIXCONF_SYNTAX with the file and line, as Nix's 'illegal configuration line'", (t) => {
  for (const [text, line] of [
    [`trusted-public-keys=${C_PUB}\n`, 1], // '=' must be a token of its own
    ['\n\ntrusted-public-keys\n', 3],
    ['= foo\n', 1],
    ['include a b\n', 1],
    ['include = foo\n', 1],
    // No line continuation: the '\' is a token and the next line stands alone.
    [`trusted-public-keys = ${C_PUB} \\\n  ${B_PUB}\n`, 2],
  ] as Array<[string, number]>) {
    const error = expectConfError(t, () => readText(text), 'ERR_NIXCONF_SYNTAX');
    t.is(error.file, 'test.conf');
    t.is(error.line, line);
    t.regex(error.message, new RegExp(`^test\\.conf line ${line}: illegal configuration line`));
  }
});

test('require-sigs takes true/yes/1/false/no/0; anything else is ERR_NIXCONF_VALUE_INVALID at once', (t) => {
  for (const [value, expected] of [['true', true], ['yes', true], ['1', true], ['false', false], ['no', false], ['0', false]] as const) {
    const conf = readText(`require-sigs = ${value}\n`);
    t.is(conf.requireSigs, expected, value);
    t.deepEqual(conf.requireSigsOrigin, { file: 'test.conf', line: 1, setting: 'require-sigs', entry: 1, column: 16 });
  }
  t.false(readText('require-sigs = true\nrequire-sigs = false\n').requireSigs);
  for (const value of ['maybe', '', 'TRUE', 'true false']) {
    const error = expectConfError(t, () => readText(`require-sigs = ${value}\nrequire-sigs = true\n`), 'ERR_NIXCONF_VALUE_INVALID');
    t.is(error.line, 1);
    t.regex(error.message, /Boolean setting 'require-sigs' has invalid value/);
  }
});

test('a bad key entry is named precisely: file, line, setting, entry, column — with the key code', (t) => {
  const { write } = tempDir(t);
  const file = write('nix.conf', `# keys\nextra-trusted-public-keys = ${C_PUB}\ntrusted-public-keys =   ${B_PUB} broken:AAAA ${E_PUB}\n`);
  const error = expectConfError(t, () => readNixConf({ sources: file }), 'ERR_PUBLIC_KEY_INVALID');
  t.is(error.file, file);
  t.is(error.line, 3);
  t.true(error.message.includes(`'broken' (trusted-public-keys entry 2 at ${file} line 3, column ${25 + B_PUB.length + 1})`), error.message);
  t.regex(error.message, /^public key is not valid: /);

  const corrupt = expectConfError(t, () => readText(`trusted-public-keys = ${C_PUB}\nextra-binary-cache-public-keys = nocolon\n`), 'ERR_KEY_CORRUPT');
  t.is(corrupt.line, 2);
  t.regex(corrupt.message, /extra-binary-cache-public-keys entry 1 at test\.conf line 2, column 34/);

  expectConfError(t, () => readText('trusted-public-keys = bad:AA;A\n'), 'ERR_BASE64_INVALID');
});

test('an entry overridden later is never parsed, as in Nix', (t) => {
  t.deepEqual(keyStrings(readText(`trusted-public-keys = broken:AAAA\ntrusted-public-keys = ${C_PUB}\n`)), [C_PUB]);
});

test('origins record where each trusted key was configured', (t) => {
  const conf = readText(`trusted-public-keys = ${C_PUB}\n\n  extra-trusted-public-keys =  ${B_PUB}  ${E_PUB}\n`);
  t.deepEqual(conf.trustedPublicKeys.map((k) => k.origin), [
    { file: 'test.conf', line: 1, setting: 'trusted-public-keys', entry: 1, column: 23 },
    { file: 'test.conf', line: 3, setting: 'extra-trusted-public-keys', entry: 1, column: 32 },
    { file: 'test.conf', line: 3, setting: 'extra-trusted-public-keys', entry: 2, column: 34 + B_PUB.length },
  ]);
});

test('include is relative to the including file, nests, and applies in place', (t) => {
  const { dir, write } = tempDir(t);
  write('sub/inc.conf', `trusted-public-keys = ${B_PUB}\ninclude ../other.conf\n`);
  write('other.conf', `extra-trusted-public-keys = ${E_PUB}\n`);
  const main = write('nix.conf', `trusted-public-keys = ${C_PUB}\ninclude sub/inc.conf\nextra-trusted-public-keys = ${F_PUB}\n`);
  const conf = readNixConf({ sources: main });
  t.deepEqual(keyStrings(conf), [B_PUB, E_PUB, F_PUB]);
  t.deepEqual(conf.files, [main, path.join(dir, 'sub/inc.conf'), path.join(dir, 'other.conf')]);
  t.is(conf.trustedPublicKeys[1].origin?.file, path.join(dir, 'other.conf'));
  // Absolute includes work from anywhere, text sources included.
  t.deepEqual(keyStrings(readText(`include ${path.join(dir, 'other.conf')}\n`)), [CACHE_NIXOS_ORG_KEY, E_PUB]);
  t.deepEqual(keyStrings(readText('include other.conf\n', dir)), [CACHE_NIXOS_ORG_KEY, E_PUB]);
});

test('a missing include is ERR_NIXCONF_INCLUDE_MISSING, a missing !include is skipped, an unreadable one is skipped', (t) => {
  const { dir, write } = tempDir(t);
  const missing = write('a.conf', 'include nope.conf\n');
  const error = expectConfError(t, () => readNixConf({ sources: missing }), 'ERR_NIXCONF_INCLUDE_MISSING');
  t.is(error.line, 1);
  t.true(error.message.includes(`file '${path.join(dir, 'nope.conf')}' included from '${missing}' not found`));
  mkdirSync(path.join(dir, 'adir'));
  const tolerant = write('b.conf', `!include nope.conf\ninclude adir\ntrusted-public-keys = ${C_PUB}\n`);
  t.deepEqual(keyStrings(readNixConf({ sources: tolerant })), [C_PUB]);
});

test('include problems Nix would crash or error on are ERR_NIXCONF_INCLUDE_INVALID', (t) => {
  const { write } = tempDir(t);
  const a = write('a.conf', 'include b.conf\n');
  write('b.conf', 'include a.conf\n');
  const cycle = expectConfError(t, () => readNixConf({ sources: a }), 'ERR_NIXCONF_INCLUDE_INVALID');
  t.regex(cycle.message, /includes itself/);
  // Nix: "not an absolute path" for a relative include in NIX_CONFIG.
  expectConfError(t, () => readNixConf({ sources: { name: 'NIX_CONFIG', text: 'include nix/nix.conf\n' } }), 'ERR_NIXCONF_INCLUDE_INVALID');
});

test('config files that do not exist or cannot be read are skipped', (t) => {
  const { dir, write } = tempDir(t);
  const good = write('good.conf', `trusted-public-keys = ${C_PUB}\n`);
  const conf = readNixConf({ sources: [{ path: path.join(dir, 'missing.conf') }, { path: dir }, { path: good }] });
  t.deepEqual(keyStrings(conf), [C_PUB]);
  t.deepEqual(conf.files, [good]);
});

test('secret-key-files: their public halves are trusted after trusted-public-keys; unreadable files are skipped', (t) => {
  const { dir, write } = tempDir(t);
  const sk = write('cache.sk', `${F_SEC}\n\n`); // harmonia's file ends in two newlines
  const conf = readText(`trusted-public-keys = ${G_PUB}\nsecret-key-files = ${path.join(dir, 'nope.sk')} ${sk} ${dir}\n`);
  t.deepEqual(keyStrings(conf), [G_PUB, F_PUB], 'G and F share a name: G, first, is the one Nix uses');
  t.is(conf.trustedPublicKeys[1].secretKeyFile, sk);
  t.deepEqual(conf.trustedPublicKeys[1].origin, { file: 'test.conf', line: 2, setting: 'secret-key-files', entry: 2, column: 20 + path.join(dir, 'nope.sk').length + 1 });
  t.deepEqual(conf.secretKeyFiles.map((f) => f.path), [path.join(dir, 'nope.sk'), sk, dir]);
  t.deepEqual(conf.skippedSecretKeyFiles, [{ path: path.join(dir, 'nope.sk'), reason: 'ENOENT' }, { path: dir, reason: 'not a regular file' }]);
  t.deepEqual(keyStrings(readText(`trusted-public-keys =\nextra-secret-key-files = ${sk}\n`)), [F_PUB]);
  // Read through readKeyFile's limit: a file past 64 KiB is a configuration error naming the line.
  const huge = write('huge.sk', `${F_SEC}${'\n'.repeat(MAX_KEY_FILE_BYTES)}`);
  const e = t.throws(() => readText(`secret-key-files = ${huge}\n`), { instanceOf: NarsignError });
  t.is(e?.code, 'ERR_KEY_FILE_TOO_LARGE');
  t.is(e?.line, 1);
  t.false(e!.message.includes(F_SEC.split(':')[1]), 'the message shows the key');
  const unread = readNixConf({ sources: { name: 'x', text: `trusted-public-keys =\nsecret-key-files = ${sk}\n` }, readSecretKeyFiles: false });
  t.deepEqual(keyStrings(unread), []);
  t.is(unread.secretKeyFiles.length, 1);
});

test('a secret key file with bad contents is an error naming the file and the config line (never the key)', (t) => {
  const { write } = tempDir(t);
  const [name, payload] = F_SEC.split(':');
  const bad = write('bad.sk', `${name}:${payload.slice(0, 60)}`);
  const error = expectConfError(t, () => readText(`secret-key-files = ${bad}\n`), 'ERR_SECRET_KEY_INVALID');
  t.true(error.message.includes(`secret key file ${bad}`), error.message);
  t.is(error.file, 'test.conf');
  t.is(error.line, 1);
  t.false(error.message.includes(payload.slice(0, 8)));
  const mismatched = Buffer.concat([splitNixString(F_SEC).bytes.subarray(0, 32), Buffer.alloc(32, 1)]).toString('base64');
  const mm = write('mm.sk', `${name}:${mismatched}`);
  expectConfError(t, () => readText(`secret-key-files = ${mm}\n`), 'ERR_SECRET_KEY_MISMATCH');
});

test('findNixConf: the system file, then user files lowest priority first, then NIX_CONFIG', (t) => {
  const paths = (env: NodeJS.ProcessEnv) => findNixConf(env).map((s) => ('path' in s ? s.path : `<${s.name}:${s.text}>`));
  t.deepEqual(paths({ NIX_CONF_DIR: '/c', HOME: '/h' }), ['/c/nix.conf', '/etc/xdg/nix/nix.conf', '/h/.config/nix/nix.conf']);
  t.deepEqual(paths({ HOME: '/h' }), ['/etc/nix/nix.conf', '/etc/xdg/nix/nix.conf', '/h/.config/nix/nix.conf']);
  t.deepEqual(paths({ NIX_CONF_DIR: '', HOME: '/h', XDG_CONFIG_DIRS: '' }), ['/etc/nix/nix.conf', '/h/.config/nix/nix.conf']);
  t.deepEqual(paths({ NIX_CONF_DIR: '/c/', HOME: '/h', XDG_CONFIG_DIRS: '/x1:/x2', XDG_CONFIG_HOME: '/xh', NIX_CONFIG: 'a = b' }), [
    '/c/nix.conf',
    '/x2/nix/nix.conf',
    '/x1/nix/nix.conf',
    '/xh/nix/nix.conf',
    '<NIX_CONFIG:a = b>',
  ]);
  // A set-but-empty XDG_CONFIG_HOME is used as is (Nix 2.8 then looks at /nix/nix.conf).
  t.deepEqual(paths({ NIX_CONF_DIR: '/c', HOME: '/h', XDG_CONFIG_HOME: '' }), ['/c/nix.conf', '/etc/xdg/nix/nix.conf', '/nix/nix.conf']);
  // NIX_USER_CONF_FILES replaces the XDG files (listed highest priority first); empty means none.
  t.deepEqual(paths({ NIX_CONF_DIR: '/c', HOME: '/h', NIX_USER_CONF_FILES: '/u1::/u2', XDG_CONFIG_HOME: '/xh' }), ['/c/nix.conf', '/u2', '/u1']);
  t.deepEqual(paths({ NIX_CONF_DIR: '/c', NIX_USER_CONF_FILES: '' }), ['/c/nix.conf']);
  t.deepEqual(paths({ NIX_CONF_DIR: '/c', NIX_USER_CONF_FILES: '', NIX_CONFIG: '' }), ['/c/nix.conf', '<NIX_CONFIG:>']);
  const noHome = findNixConf({ NIX_CONF_DIR: '/c' });
  t.deepEqual(noHome[noHome.length - 1], { path: `${os.userInfo().homedir}/.config/nix/nix.conf` });
});

test('readNixConf with an environment applies every layer in Nix order', (t) => {
  const { dir, write } = tempDir(t);
  write('conf/nix.conf', `trusted-public-keys = ${C_PUB}\nrequire-sigs = false\n`);
  write('xdg1/nix/nix.conf', `extra-trusted-public-keys = ${B_PUB}\n`);
  write('xdg2/nix/nix.conf', `extra-trusted-public-keys = ${E_PUB}\n`);
  write('home/nix/nix.conf', `extra-trusted-public-keys = ${F_PUB}\nrequire-sigs = yes\n`);
  const env = {
    NIX_CONF_DIR: path.join(dir, 'conf'),
    XDG_CONFIG_DIRS: `${path.join(dir, 'xdg1')}:${path.join(dir, 'xdg2')}`,
    XDG_CONFIG_HOME: path.join(dir, 'home'),
    NIX_CONFIG: `extra-trusted-public-keys = ${G_PUB}\nrequire-sigs = 0`,
  };
  const conf = readNixConf({ env });
  t.deepEqual(keyStrings(conf), [C_PUB, E_PUB, B_PUB, F_PUB, G_PUB]);
  t.false(conf.requireSigs);
  t.is(conf.requireSigsOrigin?.file, 'NIX_CONFIG');
  t.is(conf.files.length, 4);
});

test('argument checks', (t) => {
  t.throws(() => readNixConf(null as unknown as object), { instanceOf: TypeError });
  t.throws(() => readNixConf({ sources: [{ path: 5 as unknown as string }] }), { instanceOf: TypeError });
});

test('a syntax error never echoes the line: a secret key pasted into nix.conf stays out of the message', (t) => {
  const secret = vector('C').secretKey!;
  const payload = secret.slice(secret.indexOf(':') + 1);
  for (const text of [`${secret}\n`, `${payload}\n`, `trusted-public-keys ${secret}\n`, `secret-key=${secret}\n`]) {
    const error = expectConfError(t, () => readText(text), 'ERR_NIXCONF_SYNTAX');
    for (let i = 0; i + 8 <= payload.length - 2; i++) t.false(error.message.includes(payload.slice(i, i + 8)), error.message);
  }
  t.regex(expectConfError(t, () => readText('trusted-public-keys\n'), 'ERR_NIXCONF_SYNTAX').message, /starting 'trusted-public-keys'/);
});
