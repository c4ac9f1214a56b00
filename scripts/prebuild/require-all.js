#!/usr/bin/env node
// `prepack`: the published package carries a prebuild for every target; packing without one of them
// would silently ship a package that compiles or falls back there. Build them with `npm run prebuildify`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { root, TARGETS } = require('./emulate');

const missing = TARGETS.filter((target) => !fs.existsSync(path.join(root, 'prebuilds', target, 'narsign.node')));
if (missing.length) {
  console.error(`narsign: refusing to pack without prebuilds/${missing.join(', prebuilds/')}/narsign.node: run \`npm run prebuildify\` first`);
  process.exit(1);
}
