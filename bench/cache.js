// Cache-level benchmark rows for `npm run bench` (scripts/bench.js calls cacheBench()):
//  - signCache (no fsync, and durable) on a generated 50,000-narinfo cache, against the filesystem's
//    own floor (a bare loop: read each narinfo, write a temporary file, rename it over the original)
//    and against `nix store sign --store file://… --all`;
//  - verifyCache against `nix store verify --store file://… --no-contents --all`;
//  - peak RSS of signCache / verifyCache on 1,000,000 narinfos (NARSIGN_BENCH_RSS=1 only: it writes
//    about 1 GB).
// Every contender starts from a fresh copy of the same unsigned cache; each is run `runs` times, in
// rotating order, and the median is reported. Nix rows appear only when `nix` is installed.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
const randomHash = () => Array.from(crypto.randomBytes(32), (b) => NIX32[b & 31]).join('');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Real narinfo shapes (the corpus), re-hashed into `n` distinct store paths, unsigned, no CA. */
function generateCache(dir, n) {
  const templates = fs.readFileSync(path.join(root, 'test', 'vectors', 'cache-nixos-org-978.narinfo'), 'utf8')
    .split('\n\n').filter(Boolean)
    .map((t) => t.split('\n').filter((l) => l && !l.startsWith('Sig:') && !l.startsWith('CA:')));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
  for (let i = 0; i < n; i += 1) {
    const lines = templates[i % templates.length];
    const hash = randomHash();
    const text = lines.map((l) => l.replace(/^StorePath: \/nix\/store\/[0-9a-z]{32}-/, `StorePath: /nix/store/${hash}-`)).join('\n');
    fs.writeFileSync(path.join(dir, `${hash}.narinfo`), `${text}\n`);
  }
}

function copyCache(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  execFileSync('cp', ['-a', from, to]);
  execFileSync('sync');
}

function nixEnv(work) {
  const conf = path.join(work, 'nix-conf');
  fs.mkdirSync(conf, { recursive: true });
  fs.writeFileSync(path.join(conf, 'nix.conf'), 'experimental-features = nix-command\nsubstituters =\ntrusted-public-keys =\nrequire-sigs = true\n');
  return { ...process.env, NIX_CONF_DIR: conf, NIX_USER_CONF_FILES: '', HOME: work, XDG_CACHE_HOME: path.join(work, 'xdg-cache') };
}

function timeCommand(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, status: r.status, stderr: r.stderr };
}

/** The floor: what any signer must do per narinfo — read it, write a temporary copy, rename it. */
function floorScript(dir) {
  return `
    const fs = require('fs'), path = require('path');
    const dir = ${JSON.stringify(dir)};
    const t0 = process.hrtime.bigint();
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.narinfo')) continue;
      const file = path.join(dir, name);
      const text = fs.readFileSync(file);
      const temp = path.join(dir, '.' + name + '.tmp');
      fs.writeFileSync(temp, text);
      fs.renameSync(temp, file);
    }
    console.log(Number(process.hrtime.bigint() - t0) / 1e9);`;
}

function narsignScript(op, dir, options) {
  return `
    const n = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
    const t0 = process.hrtime.bigint();
    n.${op}(${JSON.stringify(dir)}, ${options}).then((r) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(JSON.stringify({ seconds, r: { total: r.total, signed: r.signed, trusted: r.trusted, failed: r.failed }, maxRSS: process.resourceUsage().maxRSS }));
    });`;
}

function runNode(script) {
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split('\n').pop());
}

async function cacheBench({ quick = false, log = () => {} } = {}) {
  const n = Number(process.env.NARSIGN_BENCH_CACHE_SIZE ?? (quick ? 10_000 : 50_000));
  const runs = Number(process.env.NARSIGN_BENCH_CACHE_RUNS ?? (quick ? 1 : 3));
  const work = fs.mkdtempSync(path.join(process.env.NARSIGN_BENCH_DIR ?? os.tmpdir(), 'narsign-cache-bench-'));
  const haveNix = spawnSync('nix', ['--version'], { encoding: 'utf8' }).status === 0;
  const narsign = require(path.join(root, 'dist', 'index.js'));
  const secret = narsign.generateSecretKey('bench-1');
  const publicKey = narsign.toPublicKey(secret);
  const keyFile = path.join(work, 'bench.sk');
  fs.writeFileSync(keyFile, secret, { mode: 0o600 });
  const env = nixEnv(work);
  try {
    const pristine = path.join(work, 'pristine');
    log(`generating a ${n.toLocaleString('en-US')}-narinfo cache in ${work}`);
    generateCache(pristine, n);
    const signedCopy = path.join(work, 'signed');
    copyCache(pristine, signedCopy);
    await narsign.signCache(signedCopy, { keys: secret, durable: false });

    const target = path.join(work, 'target');
    const contenders = {
      floor: () => Number(execFileSync(process.execPath, ['-e', floorScript(target)], { encoding: 'utf8' }).trim()),
      signNoFsync: () => runNode(narsignScript('signCache', target, `{ keys: ${JSON.stringify(secret)}, durable: false }`)).seconds,
      signDurable: () => runNode(narsignScript('signCache', target, `{ keys: ${JSON.stringify(secret)} }`)).seconds,
      ...(haveNix
        ? {
            nixSign: () => {
              const r = timeCommand('nix', ['store', 'sign', '--store', `file://${target}`, '--key-file', keyFile, '--all'], env);
              if (r.status !== 0) throw new Error(`nix store sign failed: ${r.stderr}`);
              return r.seconds;
            },
          }
        : {}),
    };
    const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    for (let round = 0; round < runs; round += 1) {
      const order = Object.keys(contenders);
      for (let i = 0; i < order.length; i += 1) {
        const name = order[(i + round) % order.length];
        copyCache(pristine, target);
        log(`round ${round + 1}/${runs}: ${name}`);
        times[name].push(contenders[name]());
      }
    }
    const verifyTimes = { narsign: [], nix: [] };
    for (let round = 0; round < runs; round += 1) {
      log(`round ${round + 1}/${runs}: verifyCache${haveNix ? ' and nix store verify' : ''}`);
      execFileSync('sync');
      const v = runNode(narsignScript('verifyCache', signedCopy, `{ trustedKeys: ${JSON.stringify(publicKey)} }`));
      if (v.r.trusted !== n) throw new Error(`verifyCache trusted ${v.r.trusted} of ${n}`);
      verifyTimes.narsign.push(v.seconds);
      if (haveNix) {
        const r = timeCommand('nix', ['store', 'verify', '--store', `file://${signedCopy}`, '--no-contents', '--all', '--trusted-public-keys', publicKey], env);
        if (r.status !== 0) throw new Error(`nix store verify failed (${r.status}): ${r.stderr.slice(0, 500)}`);
        verifyTimes.nix.push(r.seconds);
      }
    }
    const rate = (xs) => n / median(xs);
    const rows = [
      { label: 'filesystem floor (read + write temp + rename)', rate: rate(times.floor) },
      { label: 'signCache, no fsync', rate: rate(times.signNoFsync), vs: { floor: rate(times.signNoFsync) / rate(times.floor), ...(haveNix ? { nix: rate(times.signNoFsync) / rate(times.nixSign) } : {}) }, targets: { floor: 0.8, nix: 1.5 } },
      { label: 'signCache, durable (fsync)', rate: rate(times.signDurable), vs: { floor: rate(times.signDurable) / rate(times.floor), ...(haveNix ? { nix: rate(times.signDurable) / rate(times.nixSign) } : {}) }, targets: { nix: 1.2 } },
      ...(haveNix ? [{ label: 'nix store sign --all (no fsync)', rate: rate(times.nixSign) }] : []),
      { label: 'verifyCache', rate: rate(verifyTimes.narsign), vs: haveNix ? { nix: rate(verifyTimes.narsign) / rate(verifyTimes.nix) } : {}, targets: { nix: 2 } },
      ...(haveNix ? [{ label: 'nix store verify --no-contents --all', rate: rate(verifyTimes.nix) }] : []),
    ];
    if (/^(1|true|yes)$/i.test(process.env.NARSIGN_BENCH_RSS ?? '')) rows.push(...(await rssRows(work, secret, publicKey, log)));
    return { n, runs, rows, haveNix };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Peak RSS of signCache / verifyCache over 1,000,000 narinfos (flat memory: must stay < 200 MB). */
async function rssRows(work, secret, publicKey, log) {
  const big = path.join(work, 'million');
  const count = Number(process.env.NARSIGN_BENCH_RSS_SIZE ?? 1_000_000);
  log(`generating ${count.toLocaleString('en-US')} narinfos for the RSS measurement`);
  generateCache(big, count);
  const sign = runNode(narsignScript('signCache', big, `{ keys: ${JSON.stringify(secret)}, durable: false }`));
  const verify = runNode(narsignScript('verifyCache', big, `{ trustedKeys: ${JSON.stringify(publicKey)} }`));
  return [
    { label: `signCache peak RSS, ${count.toLocaleString('en-US')} narinfos`, rssMB: sign.maxRSS / 1024, rate: count / sign.seconds, targets: { rssMB: 200 } },
    { label: `verifyCache peak RSS, ${count.toLocaleString('en-US')} narinfos`, rssMB: verify.maxRSS / 1024, rate: count / verify.seconds, targets: { rssMB: 200 } },
  ];
}

module.exports = { cacheBench, generateCache };

if (require.main === module) {
  cacheBench({ quick: /^(1|true|yes)$/i.test(process.env.NARSIGN_BENCH_QUICK ?? ''), log: (m) => process.stderr.write(`bench: ${m}\n`) }).then((r) => {
    console.log(`cache benchmark: ${r.n.toLocaleString('en-US')} narinfos, median of ${r.runs} runs`);
    for (const row of r.rows) {
      const vs = Object.entries(row.vs ?? {}).map(([k, v]) => `${v.toFixed(2)}× ${k}${row.targets?.[k] ? ` (target ≥ ${row.targets[k]}: ${v >= row.targets[k] ? 'met' : 'MISSED'})` : ''}`).join(', ');
      const rss = row.rssMB === undefined ? '' : `  peak RSS ${row.rssMB.toFixed(0)} MB (target < 200: ${row.rssMB < 200 ? 'met' : 'MISSED'})`;
      console.log(`${row.label.padEnd(48)} ${Math.round(row.rate).toLocaleString('en-US').padStart(9)}/s  ${vs}${rss}`);
    }
  }, (e) => { console.error(e); process.exit(1); });
}
