#!/usr/bin/env node
// Compiles lib/ to dist/ (CommonJS + .d.ts) and writes the ESM entry points beside it. The ESM files
// re-export the CommonJS modules, so both `require` and `import` share one instance (one backend,
// one NarsignError class — `instanceof` works across both).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
const tsc = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Entry points named in package.json "exports".
for (const entry of ['index', 'perl']) {
  if (!fs.existsSync(path.join(dist, `${entry}.js`))) continue;
  fs.writeFileSync(path.join(dist, `${entry}.mjs`), `export * from './${entry}.js';\nexport { default } from './${entry}.js';\n`);
}
const cli = path.join(dist, 'cli', 'main.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
