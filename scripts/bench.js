#!/usr/bin/env node
// `npm run bench`: one table from one run — narsign's sign/verify speed per call, in sync batches and
// in async batches on all cores, next to sodium-native, node:crypto, @noble/ed25519 and libsodium's
// own C loop (bench/limit.c, built here by CMake as the non-default target `narsign-limit`), plus the
// event-loop delay while a 1,000,000-signature signManyAsync runs.
//
// How it measures: contenders that are compared are measured in interleaved rounds (each round runs
// every contender once, for a short slice, in a rotating order), so a machine that speeds up or
// slows down (shared hosts, other processes) affects all of them alike. A row's ops/s is the median
// over the rounds; a ratio is the median over the rounds of the two contenders' ratio in that round.
//
//   NARSIGN_BENCH_QUICK=1 npm run bench     a quick run (fewer, shorter rounds; 100,000 signatures
//                                           for the event-loop measurement; a smaller cache)
//   NARSIGN_BENCH_CACHE=0 npm run bench     without the cache rows (bench/cache.js has its own
//                                           NARSIGN_BENCH_CACHE_* settings)
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const root = path.join(__dirname, '..');
const QUICK = /^(1|true|yes)$/i.test(process.env.NARSIGN_BENCH_QUICK ?? '');
const config = QUICK
  ? { rounds: 3, slice: 0.05, asyncSlice: 0.15, loopDelayBatch: 100_000 }
  : { rounds: 11, slice: 0.1, asyncSlice: 0.4, loopDelayBatch: 1_000_000 };
const SIZES = [240, 4096];
const startedAt = process.hrtime.bigint();
const seconds = () => Number(process.hrtime.bigint()) / 1e9;
const log = (message) => process.stderr.write(`bench: ${message}\n`);

// ---- libsodium's C loop ---------------------------------------------------------------------------

function buildLimit() {
  const dir = path.join(root, 'build', 'limit');
  const run = (args) => {
    const result = spawnSync('cmake', args, { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cmake ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  };
  // Its own small build tree, so it works whatever state cmake-js or node-gyp left build/ in.
  if (!fs.existsSync(path.join(dir, 'CMakeCache.txt'))) run(['-S', '.', '-B', dir, '-DCMAKE_BUILD_TYPE=Release']);
  run(['--build', dir, '--target', 'narsign-limit']);
  return path.join(dir, 'narsign-limit');
}

/**
 * One long-lived `narsign-limit serve` process for the whole run, started before anything is
 * measured: starting a process per round would fork this one each time (libuv forks), leaving all
 * of its memory copy-on-write, so that every page the JS rows write next faults again (15 µs a page
 * on the VM we measure on; 0.13 faults per signature of 4 KiB messages), a cost the C loop never paid.
 */
function startLimit(binary) {
  const child = spawn(binary, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    pending += text;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      waiting.shift()?.resolve(JSON.parse(line));
    }
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`narsign-limit exited with status ${code}`));
  });
  return {
    measure: (bytes, threads, slice, mode, cpu = -1) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${bytes} ${threads} ${slice} ${mode} ${cpu}\n`);
      }),
    close: () => child.stdin.end(),
  };
}

/**
 * The CPU this (JS) thread last ran on. A one-thread C round runs there too: the two vCPUs of the
 * VM we measure on differ in speed from moment to moment (49k–62k signatures/s pinned to one or the
 * other within a minute), and a C loop on the other vCPU made whole groups read 0.72× or 1.35×.
 */
function currentCpu() {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const cpu = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
    return Number.isInteger(cpu) ? cpu : -1;
  } catch {
    return -1; // not Linux: no pinning
  }
}

function cLoop(limit, bytes, threads, mode) {
  return async (slice) => {
    const out = await limit.measure(bytes, threads, slice, mode, threads === 1 ? currentCpu() : -1);
    if (out.bytes !== bytes || out.threads !== threads) throw new Error(`narsign-limit answered ${JSON.stringify(out)} to ${bytes} ${threads} ${mode}`);
    const r = out[mode];
    if (process.env.NARSIGN_BENCH_TRACE) log(`C loop ${bytes} B, ${threads} thread(s), ${mode}: ${Math.round(r.ops / r.seconds)}/s`);
    return { ops: r.ops, wall: r.seconds, cpu: r.cpuSeconds, libsodium: out.libsodium };
  };
}

// ---- timing ---------------------------------------------------------------------------------------

function cpuSeconds(since) {
  const usage = process.cpuUsage(since);
  return (usage.user + usage.system) / 1e6;
}

/** Calls fn(i) for `slice` seconds. */
function perCall(fn) {
  return (slice) => {
    let ops = 0;
    const cpu0 = process.cpuUsage();
    const t0 = seconds();
    let t;
    do {
      for (let k = 0; k < 16; k++) fn(ops++ & 255);
      t = seconds();
    } while (t - t0 < slice);
    return { ops, wall: t - t0, cpu: cpuSeconds(cpu0) };
  };
}

/** Calls fn() (one batch of `size`) for `slice` seconds. */
function perBatch(fn, size) {
  return (slice) => {
    let ops = 0;
    const cpu0 = process.cpuUsage();
    const t0 = seconds();
    let t;
    do {
      fn();
      ops += size;
      t = seconds();
    } while (t - t0 < slice);
    return { ops, wall: t - t0, cpu: cpuSeconds(cpu0) };
  };
}

/** Items in an async batch that lasts about `slice` seconds at `rate` ops/s (a multiple of 1,024). */
const asyncBatchSize = (rate, slice) => Math.max(1024, Math.round((rate * slice) / 1024) * 1024);

/** One async batch per slice, sized from `rate()` (ops/s expected) to last about a slice. */
function asyncBatch(makeBatch, run, rate) {
  return async (slice) => {
    const n = asyncBatchSize(rate(), slice);
    const batch = makeBatch(n);
    const cpu0 = process.cpuUsage();
    const t0 = seconds();
    await run(batch);
    return { ops: n, wall: seconds() - t0, cpu: cpuSeconds(cpu0) };
  };
}

/**
 * What signManyAsync pays on top of signManyIntoAsync: one 64-byte Buffer view per signature,
 * kept until the batch resolves. CPU seconds per view (process.cpuUsage: the JS thread plus V8's GC
 * helpers, which take cores from the pool too), median of `runs` batches of n views.
 */
function viewCost(splitSignatures, n, runs) {
  const costs = [];
  for (let r = 0; r < runs; r++) {
    const flat = Buffer.alloc(n * 64); // touched now, so page faults are not counted
    const cpu0 = process.cpuUsage();
    const views = new Array(n);
    // As signManyAsync makes them: chunk by chunk (512 signatures), with the same function.
    for (let start = 0; start < n; start += 512) splitSignatures(flat, start, Math.min(n, start + 512), views, 64);
    costs.push(cpuSeconds(cpu0) / n);
    if (views.length !== n) throw new Error('unreachable'); // keeps `views` alive until measured
  }
  return median(costs);
}

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Runs the contenders of one group in `rounds` interleaved rounds (after a warm-up round) and
 * records each one's ops/s per round.
 */
async function measureGroup(contenders, rounds, slice) {
  for (const c of contenders) await c.run(Math.min(slice, 0.05)); // warm-up (JIT, caches, pool threads)
  for (const c of contenders) c.rates = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length];
      const { ops, wall } = await c.run(c.slice ?? slice);
      c.rates.push(ops / wall);
      if (process.env.NARSIGN_BENCH_TRACE) log(`round ${r}: ${c.label}: ${Math.round(ops / wall)}/s`);
    }
  }
}

/** Median over rounds of a.rates[r] / b.rates[r]. */
const ratio = (a, b) => (a && b ? median(a.rates.map((v, r) => v / b.rates[r])) : NaN);

// ---- inputs ---------------------------------------------------------------------------------------

const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';
const nixHash = (n) => Array.from(crypto.randomBytes(n), (b) => BASE32[b & 31]).join('');
/** A Nix fingerprint-like ASCII text cut or padded to exactly `bytes` bytes. */
function fingerprintLike(bytes) {
  let text = `1;/nix/store/${nixHash(32)}-hello-2.12.1;sha256:${nixHash(52)};226560;`;
  while (text.length < bytes) text += `/nix/store/${nixHash(32)}-glibc-2.39-52,`;
  return text.slice(0, bytes);
}

// ---- cache level ----------------------------------------------------------------------------------

/**
 * The cache rows: bench/cache.js's cacheBench() (it runs the compiled dist/, built here first).
 * Rows: { label, rate (narinfos/s), vs: { floor?, nix? }, targets, rssMB? }; `bytes` shows the
 * cache size instead.
 */
async function cacheLevelRows() {
  const file = path.join(root, 'bench', 'cache.js');
  if (/^(0|false|no)$/i.test(process.env.NARSIGN_BENCH_CACHE ?? '')) return [{ label: 'signCache / verifyCache', note: '(skipped: NARSIGN_BENCH_CACHE=0)' }];
  if (!fs.existsSync(file)) return [{ label: 'signCache / verifyCache', note: '(pending: bench/cache.js)' }];
  log('compiling dist/ for the cache rows');
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-ts.js')], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) log(`warning: TypeScript build failed; the cache rows use the dist/ already there\n${build.stdout}${build.stderr}`);
  try {
    const { cacheBench } = require(file);
    const result = await cacheBench({ quick: QUICK, log });
    const note = `${result.haveNix ? '' : 'nix not installed; '}median of ${result.runs}`;
    return result.rows.map((r) => ({ ...r, n: result.n, note }));
  } catch (error) {
    // The rest of the table still prints.
    const first = String(error instanceof Error ? error.message : error).split('\n').find((l) => /Error/.test(l)) ?? String(error).split('\n')[0];
    log(`cache rows failed: ${error instanceof Error ? error.stack : error}`);
    return [{ label: 'signCache / verifyCache', note: `(failed: ${first.trim().slice(0, 100)})` }];
  }
}

// ---- main -----------------------------------------------------------------------------------------

async function main() {
  const loadAtStart = os.loadavg()[0];
  log(`${QUICK ? 'quick' : 'full'} run (NARSIGN_BENCH_QUICK=1 for a quick one)`);
  const limit = startLimit(buildLimit());

  require('tsx/cjs/api').register();
  const narsign = require(path.join(root, 'lib', 'index.ts'));
  const sodium = require('sodium-native');
  const noble = await import('@noble/ed25519');
  noble.hashes.sha512 = (message) => new Uint8Array(crypto.createHash('sha512').update(message).digest());

  const seed = crypto.randomBytes(32);
  const { publicKey, secretKey } = narsign.keyPairFromSeed(seed);
  const nodePrivate = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const nodePublic = crypto.createPublicKey(nodePrivate);

  const rows = [];
  let viewsNote = '';
  let libsodiumVersion = '';
  const row = (op, bytes, c, extra = {}) => rows.push({ op, bytes, label: c.label, rate: median(c.rates), ...extra });

  for (const bytes of SIZES) {
    log(`${bytes}-byte messages`);
    const texts = Array.from({ length: 256 }, () => fingerprintLike(bytes));
    const messages = texts.map((t) => Buffer.from(t, 'latin1'));
    const signatures = messages.map((m) => narsign.signDetached(secretKey, m));
    const items = messages.map((message, i) => ({ publicKey, signature: signatures[i], message }));
    const sig = Buffer.alloc(64);
    const batchOf = (list, n) => Array.from({ length: n }, (_, i) => list[i % list.length]);

    // -- sign, one thread
    const c1 = cLoop(limit, bytes, 1, 'sign');
    const sign = {
      c: { label: 'libsodium C loop, 1 thread', run: async (s) => { const r = await c1(s); libsodiumVersion = r.libsodium; return r; } },
      call: { label: 'narsign signDetached (per call)', run: perCall((i) => narsign.signDetached(secretKey, messages[i])) },
      callString: { label: 'narsign signDetached (per call, string message)', run: perCall((i) => narsign.signDetached(secretKey, texts[i])) },
      many: { label: 'narsign signMany (sync batch of 256)', run: perBatch(() => narsign.signMany(secretKey, messages), 256) },
      manyInto: { label: 'narsign signManyInto (sync batch of 256)', run: perBatch(() => narsign.signManyInto(secretKey, messages, sigOut), 256) },
      sodium: { label: 'sodium-native crypto_sign_detached (per call)', run: perCall((i) => sodium.crypto_sign_detached(sig, messages[i], secretKey)) },
      node: { label: 'node:crypto sign (per call)', run: perCall((i) => crypto.sign(null, messages[i], nodePrivate)) },
      noble: { label: '@noble/ed25519 sign (per call)', run: perCall((i) => noble.sign(messages[i], seed)) },
    };
    const sigOut = Buffer.alloc(256 * 64);
    await measureGroup(Object.values(sign), config.rounds, config.slice);

    // -- verify, one thread
    const v1 = cLoop(limit, bytes, 1, 'verify');
    const verify = {
      c: { label: 'libsodium C loop, 1 thread', run: v1 },
      call: { label: 'narsign verifyDetached (per call)', run: perCall((i) => narsign.verifyDetached(publicKey, signatures[i], messages[i])) },
      many: { label: 'narsign verifyMany (sync batch of 256)', run: perBatch(() => narsign.verifyMany(items), 256) },
      sodium: { label: 'sodium-native crypto_sign_verify_detached (per call)', run: perCall((i) => sodium.crypto_sign_verify_detached(signatures[i], messages[i], publicKey)) },
      node: { label: 'node:crypto verify (per call)', run: perCall((i) => crypto.verify(null, messages[i], nodePublic, signatures[i])) },
      noble: { label: '@noble/ed25519 verify (per call)', run: perCall((i) => noble.verify(signatures[i], messages[i], publicKey)) },
    };
    await measureGroup(Object.values(verify), config.rounds, config.slice);

    // -- all cores
    const c2s = cLoop(limit, bytes, 2, 'sign');
    const c2v = cLoop(limit, bytes, 2, 'verify');
    const parallel = {
      cSign: { label: 'libsodium C loop, 2 threads', run: c2s },
      signAsync: { label: 'narsign signManyAsync', slice: config.asyncSlice, run: asyncBatch((n) => batchOf(messages, n), (b) => narsign.signManyAsync(secretKey, b), () => median(parallel.cSign.rates.length ? parallel.cSign.rates : [2 * median(sign.c.rates)])) },
      signIntoAsync: {
        label: 'narsign signManyIntoAsync',
        slice: config.asyncSlice,
        run: asyncBatch((n) => batchOf(messages, n), (b) => narsign.signManyIntoAsync(secretKey, b, Buffer.allocUnsafe(b.length * 64)), () => median(parallel.cSign.rates.length ? parallel.cSign.rates : [2 * median(sign.c.rates)])),
      },
      cVerify: { label: 'libsodium C loop, 2 threads', run: c2v },
      verifyAsync: { label: 'narsign verifyManyAsync', slice: config.asyncSlice, run: asyncBatch((n) => batchOf(items, n), (b) => narsign.verifyManyAsync(b), () => median(parallel.cVerify.rates.length ? parallel.cVerify.rates : [2 * median(verify.c.rates)])) },
    };
    for (const c of Object.values(parallel)) c.rates = [];
    await measureGroup(Object.values(parallel), config.rounds, config.slice);

    const targets = { signCall: 0.97, verifyCall: 0.98, async: 0.93, nodeSign: 1.8, nodeVerify: 2.0, sodium: 1.0 };
    const per = (op, group, c, target, nodeTarget) => {
      const vsC = ratio(c, group.c);
      const vsNode = c === group.node ? undefined : ratio(c, group.node);
      const vsSodium = c === group.sodium ? undefined : ratio(c, group.sodium);
      const checks = [];
      if (target) checks.push([`≥${target}×C`, vsC >= target]);
      if (nodeTarget) checks.push([`≥${nodeTarget}×node`, vsNode >= nodeTarget], [`≥1.0×sodium-native`, vsSodium >= targets.sodium]);
      row(op, bytes, c, {
        vsC: c === group.c ? 1 : vsC,
        vsNode: c.label.startsWith('narsign') || c === group.c ? vsNode : undefined, // the C loop's: the ceiling for any libsodium binding
        vsSodium: c.label.startsWith('narsign') ? vsSodium : undefined,
        checks,
      });
    };
    for (const [key, c] of Object.entries(sign)) per('sign', sign, c, key === 'call' ? targets.signCall : 0, key === 'call' ? targets.nodeSign : 0);
    for (const [key, c] of Object.entries(verify)) per('verify', verify, c, key === 'call' ? targets.verifyCall : 0, key === 'call' ? targets.nodeVerify : 0);
    row('sign', bytes, parallel.cSign, { vsC: 1, vsC1: ratio(parallel.cSign, { rates: sign.c.rates }) });
    for (const c of [parallel.signAsync, parallel.signIntoAsync]) {
      const r = ratio(c, parallel.cSign);
      row('sign', bytes, c, { vsC: r, checks: [[`≥${targets.async}×C(2t)`, r >= targets.async]] });
    }
    if (bytes === SIZES[0]) {
      // The batch size the async rows used (about one slice of the 2-thread C loop).
      const n = asyncBatchSize(median(parallel.cSign.rates), config.asyncSlice);
      const perView = viewCost(require(path.join(root, 'lib', 'batch-shared.ts')).splitSignatures, n, QUICK ? 3 : 7);
      const perSignature = 2 / median(parallel.cSign.rates); // CPU seconds per signature, C loop on 2 threads
      viewsNote = `signManyAsync returns a Buffer per signature: making and keeping ${n.toLocaleString('en-US')} of them cost ${(perView * 1e9).toFixed(0)} ns of CPU each here (JS thread and GC), ${((100 * perView) / perSignature).toFixed(1)} % of the 2-thread C loop's CPU time per signature (signManyIntoAsync does without them).`;
    }
    row('verify', bytes, parallel.cVerify, { vsC: 1 });
    {
      const r = ratio(parallel.verifyAsync, parallel.cVerify);
      row('verify', bytes, parallel.verifyAsync, { vsC: r, checks: [[`≥${targets.async}×C(2t)`, r >= targets.async]] });
    }
  }

  limit.close();

  // -- the event loop while a big batch is signed
  log(`event-loop delay during a ${config.loopDelayBatch.toLocaleString('en-US')}-signature signManyAsync`);
  const fingerprints = Array.from({ length: 4096 }, () => fingerprintLike(240));
  const big = Array.from({ length: config.loopDelayBatch }, (_, i) => fingerprints[i % fingerprints.length]);
  // The histogram records the time between its timer's ticks; the delay is that minus the resolution.
  const resolution = 2;
  const histogram = monitorEventLoopDelay({ resolution });
  histogram.enable();
  const t0 = seconds();
  await narsign.signManyAsync(secretKey, big);
  const elapsed = seconds() - t0;
  histogram.disable();
  const loop = {
    n: big.length,
    rate: big.length / elapsed,
    p50: Math.max(0, histogram.percentile(50) / 1e6 - resolution),
    p99: Math.max(0, histogram.percentile(99) / 1e6 - resolution),
    max: Math.max(0, histogram.max / 1e6 - resolution),
    samples: histogram.count,
  };

  // -- cache-level rows (bench/cache.js): signCache / verifyCache on a generated cache, against the
  // filesystem floor and `nix store sign` / `nix store verify` when nix is installed.
  const cacheRows = await cacheLevelRows();

  // ---- the table -----------------------------------------------------------------------------------
  const fmt = (v, digits = 2) => (v === undefined ? '' : Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
  const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
  const header = ['op', 'size', 'implementation', 'ops/s', '×C', '×node:crypto', '×sodium-native', 'targets'];
  const lines = rows.map((r) => [
    r.op,
    String(r.bytes),
    r.label,
    int(r.rate),
    r.vsC === undefined ? '' : fmt(r.vsC),
    fmt(r.vsNode),
    fmt(r.vsSodium),
    (r.checks ?? []).map(([name, ok]) => `${name} ${ok ? 'met' : 'MISSED'}`).join(', '),
  ]);
  for (const c of cacheRows) {
    const vs = Object.entries(c.vs ?? {}).map(([k, v]) => `${fmt(v)}× ${k}${c.targets?.[k] ? ` (≥${c.targets[k]} ${v >= c.targets[k] ? 'met' : 'MISSED'})` : ''}`);
    if (c.rssMB !== undefined) vs.push(`peak RSS ${c.rssMB.toFixed(0)} MB (<${c.targets?.rssMB ?? 200} MB ${c.rssMB < (c.targets?.rssMB ?? 200) ? 'met' : 'MISSED'})`);
    lines.push(['cache', c.n ? c.n.toLocaleString('en-US') : '', c.label, c.rate === undefined ? c.note ?? '' : `${int(c.rate)}`, '', '', '', vs.join(', ')]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const right = new Set([1, 3, 4, 5, 6]);
  const render = (cells) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const out = [
    `narsign benchmark — ${os.availableParallelism()} cores (${cpu}), ${os.platform()} ${os.release()}, Node ${process.version}, libsodium ${libsodiumVersion}, backend ${narsign.backend}${QUICK ? ', QUICK' : ''}`,
    `×C: against libsodium's C loop in the same rounds — 1 thread for per-call and sync-batch rows, 2 threads for async rows (ops/s: median of ${config.rounds} interleaved rounds; ratios: median of per-round ratios)`,
    '',
    render(header),
    render(widths.map((w) => '-'.repeat(w))),
    ...lines.map(render),
    '',
    `event loop during signManyAsync of ${loop.n.toLocaleString('en-US')} 240-byte fingerprint strings: ${int(loop.rate)} signatures/s; delay (monitorEventLoopDelay, ${loop.samples} samples) p50 ${fmt(loop.p50)} ms, p99 ${fmt(loop.p99)} ms, max ${fmt(loop.max)} ms (target p99 < 10 ms: ${loop.p99 < 10 ? 'met' : 'MISSED'})`,
    'sodium-native rows reuse one output buffer (its fastest use); narsign per-call rows return a new Buffer per signature.',
    ...(viewsNote ? [viewsNote] : []),
    `wall time ${wall.toFixed(0)} s`,
  ];
  const loadAtEnd = os.loadavg()[0];
  // Only the load at the start says whether other processes were busy: by the end the benchmark's
  // own threads (two cores' worth during the async rows) are in the 1-minute average.
  out.splice(1, 0, `load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${loadAtEnd.toFixed(2)} (the end includes this benchmark's own threads)${loadAtStart > 1 ? ' — WARNING: other processes were busy when it started; absolute rates and ratios are unreliable' : ''}`);
  if (narsign.backend !== 'native') out.splice(1, 0, 'WARNING: the native addon is not loaded; narsign rows measure the sodium-native fallback');
  console.log(out.join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
