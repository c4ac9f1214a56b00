/**
 * lib/nixconf.ts against a real Nix 2.8: for each configuration, narsign's readNixConf (with the
 * same environment, so findNixConf is exercised too) must give the trusted-public-keys and
 * require-sigs that `nix show-config` prints — or the same refusal. Keys that Nix only parses when
 * verifying (bad entries, secret-key-files) are compared through `nix store verify`.
 */
import test from 'ava';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readNixConf } from '../../lib/nixconf';
import { NarsignError } from '../../lib/errors';
import { generateSecretKey } from '../../lib/keys';
import { keyVectors } from '../helpers/vectors';
import { codeOfNixError, makeNixSandbox, nixUnavailableReason, type NixSandbox } from './nix';

const unavailable = nixUnavailableReason();
const nixTest = unavailable ? test.skip : test.serial;
if (unavailable) test('real Nix is unavailable, interop skipped', (t) => t.log(unavailable));

const vector = (section: string) => keyVectors().find((v) => v.section === section)!;
const C = vector('C').publicKey!;
const B = vector('B').publicKey!;
const E = vector('E').publicKey!;
const F = vector('F').publicKey!;

/** The lines every config needs so that Nix runs offline; they don't touch what is compared. */
const PREAMBLE = 'experimental-features = nix-command\nsubstituters =\n';

let nix: NixSandbox;
let cacheDir: string;
let storePath: string;
let signerSecretFile: string;

test.before(() => {
  if (unavailable) return;
  nix = makeNixSandbox();
  const file = nix.writeFile('payload.txt', 'nixconf interop\n');
  storePath = nix.nix(['store', 'add-file', file], { useStore: true }).stdout.trim();
  cacheDir = path.join(nix.dir, 'cache');
  signerSecretFile = nix.writeFile('signer.sk', `${generateSecretKey('signer-1')}\n`, 0o600);
  const copied = nix.nix(['copy', '--to', `file://${cacheDir}?compression=none&secret-key=${signerSecretFile}`, storePath], { useStore: true });
  if (copied.status !== 0) throw new Error(copied.stderr);
  for (const name of readdirSync(cacheDir).filter((n) => n.endsWith('.narinfo'))) {
    const f = path.join(cacheDir, name);
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^CA: .*\n/m, ''));
  }
});
test.after.always(() => nix?.cleanup());

type Outcome = { keys: string; requireSigs: string } | { code: string };

function writeConfig(text: string, files: Record<string, string> = {}): void {
  writeFileSync(path.join(nix.confDir, 'nix.conf'), PREAMBLE + text);
  for (const [name, contents] of Object.entries(files)) {
    const file = path.join(nix.dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, contents);
  }
}

function nixOutcome(env: Record<string, string | undefined>): Outcome {
  const r = nix.nix(['show-config'], { env });
  if (r.status !== 0) return { code: codeOfNixError(r.stderr) ?? `unmapped: ${r.stderr.trim()}` };
  const value = (name: string) => new RegExp(`^${name} = (.*)$`, 'm').exec(r.stdout)![1];
  return { keys: value('trusted-public-keys'), requireSigs: value('require-sigs') };
}

function narsignOutcome(env: Record<string, string | undefined>): Outcome {
  const merged: NodeJS.ProcessEnv = { ...nix.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  try {
    const conf = readNixConf({ env: merged, readSecretKeyFiles: false });
    return {
      keys: conf.trustedPublicKeys.map((k) => `${k.name}:${k.key.toString('base64')}`).join(' '),
      requireSigs: String(conf.requireSigs),
    };
  } catch (error) {
    if (error instanceof NarsignError) return { code: error.code };
    throw error;
  }
}

const CASES: Array<{ title: string; conf: string; files?: Record<string, string>; env?: Record<string, string | undefined> }> = [
  { title: 'nothing set', conf: '' },
  { title: 'a list', conf: `trusted-public-keys = ${C} ${B}\n` },
  { title: 'the old name', conf: `binary-cache-public-keys = ${C} ${B}\n` },
  { title: 'the last line wins across names', conf: `binary-cache-public-keys = ${C} ${B}\ntrusted-public-keys = ${E}\n` },
  { title: 'extra- appends', conf: `trusted-public-keys = ${C}\nextra-trusted-public-keys = ${B}\nextra-binary-cache-public-keys = ${E}\n` },
  { title: 'extra- appends to the default', conf: `extra-trusted-public-keys = ${B}\n` },
  { title: 'a later setting discards extra-', conf: `extra-trusted-public-keys = ${B}\ntrusted-public-keys = ${C}\n` },
  { title: 'emptied', conf: `trusted-public-keys = ${C}\ntrusted-public-keys =\n` },
  { title: 'duplicates kept', conf: `trusted-public-keys = ${C} ${C} ${B}\n` },
  { title: 'comment after a space', conf: `trusted-public-keys = ${C} # ${B}\n` },
  { title: 'comment inside a token', conf: `trusted-public-keys = ${C}#${B} ${E}\n` },
  { title: 'tabs and CRLF', conf: `\t trusted-public-keys\t=\t${C}\r\n\r\n` },
  { title: 'no final newline', conf: `trusted-public-keys = ${B}` },
  { title: "'=' glued to the name", conf: `trusted-public-keys=${C}\n` },
  { title: 'a lone name', conf: 'trusted-public-keys\n' },
  { title: 'no name', conf: '= foo\n' },
  { title: 'a backslash does not continue the line', conf: `trusted-public-keys = ${C} \\\n  ${B}\n` },
  { title: 'require-sigs = no', conf: 'require-sigs = no\n' },
  { title: 'require-sigs = 1', conf: 'require-sigs = false\nrequire-sigs = 1\n' },
  { title: 'require-sigs = maybe', conf: 'require-sigs = maybe\n' },
  { title: 'require-sigs empty', conf: 'require-sigs =\n' },
  { title: 'require-sigs = TRUE', conf: 'require-sigs = TRUE\n' },
  { title: 'a bad entry overridden later', conf: `trusted-public-keys = broken:AAAA\ntrusted-public-keys = ${C}\n` },
  {
    title: 'nested relative includes',
    conf: `trusted-public-keys = ${C}\ninclude sub/inc.conf\nextra-trusted-public-keys = ${F}\n`,
    files: { 'conf/sub/inc.conf': `trusted-public-keys = ${B}\ninclude ../other.conf\n`, 'conf/other.conf': `extra-trusted-public-keys = ${E}\n` },
  },
  { title: 'a missing include', conf: 'include nope.conf\n' },
  { title: 'a missing !include', conf: `!include nope.conf\ntrusted-public-keys = ${C}\n` },
  { title: 'include with two paths', conf: 'include a b\n' },
  { title: 'an included directory', conf: `include sub\ntrusted-public-keys = ${E}\n`, files: { 'conf/sub/x': '' } },
  { title: 'a syntax error in an included file', conf: 'include bad.conf\n', files: { 'conf/bad.conf': `trusted-public-keys = ${C}\nfoo\n` } },
  {
    title: 'user files and NIX_CONFIG layered over the system file',
    conf: `trusted-public-keys = ${C}\n`,
    files: {
      'xdg1/nix/nix.conf': `extra-trusted-public-keys = ${B}\n`,
      'xdg2/nix/nix.conf': `extra-trusted-public-keys = ${E}\nrequire-sigs = false\n`,
      'home/.config/nix/nix.conf': `extra-trusted-public-keys = ${F}\n`,
    },
    env: { NIX_USER_CONF_FILES: undefined, XDG_CONFIG_DIRS: 'XDG1:XDG2', NIX_CONFIG: `extra-trusted-public-keys = ${B}\nrequire-sigs = yes` },
  },
  {
    title: 'NIX_USER_CONF_FILES instead of the XDG files',
    conf: '',
    files: { 'u1.conf': `trusted-public-keys = ${B}\n`, 'u2.conf': `trusted-public-keys = ${E}\n`, 'home/.config/nix/nix.conf': `trusted-public-keys = ${F}\n` },
    env: { NIX_USER_CONF_FILES: 'U1:U2' },
  },
  {
    title: 'an empty XDG_CONFIG_HOME hides ~/.config',
    conf: '',
    files: { 'home/.config/nix/nix.conf': `trusted-public-keys = ${F}\n` },
    env: { NIX_USER_CONF_FILES: undefined, XDG_CONFIG_HOME: '' },
  },
];

nixTest('nix.conf: the same trusted-public-keys and require-sigs as `nix show-config`, or the same refusal', (t) => {
  t.true(CASES.length >= 30);
  for (const c of CASES) {
    writeConfig(c.conf, c.files);
    const env: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(c.env ?? {})) {
      env[k] = v
        ?.replace('XDG1', path.join(nix.dir, 'xdg1'))
        .replace('XDG2', path.join(nix.dir, 'xdg2'))
        .replace('U1', path.join(nix.dir, 'u1.conf'))
        .replace('U2', path.join(nix.dir, 'u2.conf'));
    }
    const fromNix = nixOutcome(env);
    t.deepEqual(narsignOutcome(env), fromNix, `${c.title}: ${JSON.stringify(c.conf)}`);
    t.false('code' in fromNix && fromNix.code.startsWith('unmapped'), JSON.stringify(fromNix));
  }
});

function verifyOutcome(): { status: number | null; code?: string } {
  const r = nix.nix(['store', 'verify', '--store', `file://${cacheDir}`, '--all', '--no-contents']);
  return r.status === 1 ? { status: 1, code: codeOfNixError(r.stderr) } : { status: r.status };
}

nixTest('bad key entries: Nix refuses to verify at all, narsign names the entry with the same code', (t) => {
  for (const [conf, code] of [
    [`trusted-public-keys = ${C} broken:AAAA\n`, 'ERR_PUBLIC_KEY_INVALID'],
    [`trusted-public-keys = ${C}\nextra-trusted-public-keys = nocolon\n`, 'ERR_KEY_CORRUPT'],
    [`trusted-public-keys = bad:AA*A\n`, 'ERR_BASE64_INVALID'],
  ] as const) {
    writeConfig(conf);
    t.deepEqual(verifyOutcome(), { status: 1, code });
    const error = t.throws(() => readNixConf({ env: nix.env }), { instanceOf: NarsignError });
    t.is(error?.code, code);
    t.is(error?.file, path.join(nix.confDir, 'nix.conf'));
  }
});

nixTest("secret-key-files: Nix trusts their public halves, ignores unreadable files, refuses bad ones — and so does narsign", (t) => {
  const missing = path.join(nix.dir, 'missing.sk');
  writeConfig(`trusted-public-keys =\nsecret-key-files = ${missing} ${signerSecretFile}\n`);
  t.deepEqual(verifyOutcome(), { status: 0 }, 'trusted through the secret key file');
  const conf = readNixConf({ env: nix.env });
  t.deepEqual(conf.trustedPublicKeys.map((k) => k.name), ['signer-1']);
  t.deepEqual(conf.skippedSecretKeyFiles.map((s) => s.path), [missing]);

  writeConfig(`trusted-public-keys =\nsecret-key-files = ${nix.dir}\n`);
  t.deepEqual(verifyOutcome(), { status: 2 }, 'a directory is skipped: nothing trusted');
  t.deepEqual(readNixConf({ env: nix.env }).trustedPublicKeys, []);

  const bad = nix.writeFile('bad.sk', 'signer-1:AAAA');
  writeConfig(`trusted-public-keys =\nsecret-key-files = ${bad}\n`);
  t.deepEqual(verifyOutcome(), { status: 1, code: 'ERR_SECRET_KEY_INVALID' });
  t.throws(() => readNixConf({ env: nix.env }), { instanceOf: NarsignError, code: 'ERR_SECRET_KEY_INVALID' } as object);

  // First of a name wins: a wrong key of the signer's name listed first hides the right one.
  const wrongFirst = `signer-1:${Buffer.alloc(32, 9).toString('base64')}`;
  writeConfig(`trusted-public-keys = ${wrongFirst}\nsecret-key-files = ${signerSecretFile}\n`);
  t.deepEqual(verifyOutcome(), { status: 2 });
  t.deepEqual(readNixConf({ env: nix.env }).trustedPublicKeys.map((k) => k.key.toString('base64')).slice(0, 1), [Buffer.alloc(32, 9).toString('base64')]);
});
