// ava runs the TypeScript tests through tsx. NARSIGN_SUITE picks the suite (scripts/test.js sets it):
//   unit (default) — everything under test/ but the suites below;
//   interop — test/interop/, which drives a real Nix;  pack — test/pack/, the packaging test;
//   adversarial — test/adversarial/, each test an attack by a cache co-tenant or a hostile server;
//   s3 — test/s3/, against the S3 server scripts/s3-server.sh starts (Ceph's RADOS Gateway).
const suite = process.env.NARSIGN_SUITE || 'unit';
const suites = {
  unit: ['test/**/*.test.ts', '!test/interop/**', '!test/pack/**', '!test/adversarial/**', '!test/s3/**'],
  adversarial: ['test/adversarial/**/*.test.ts'],
  s3: ['test/s3/**/*.test.ts'],
  interop: ['test/interop/**/*.test.ts'],
  pack: ['test/pack/**/*.test.ts'],
};
if (!suites[suite]) throw new Error(`unknown NARSIGN_SUITE ${suite}`);

export default {
  files: suites[suite],
  extensions: { ts: 'commonjs' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  timeout: '5m',
};
