#!/usr/bin/env node
// Reads ava's TAP output on stdin, echoes it, and ends with one line CI can read:
//   ava: N passed, N failed
// Exits 1 when anything failed or when no test ran at all (a suite that runs nothing is a failure).
'use strict';
const readline = require('node:readline');

let passed = 0;
let failed = 0;
let skipped = 0;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (/^ok \d+/.test(line)) {
    if (/# SKIP/i.test(line)) skipped += 1;
    else passed += 1;
  } else if (/^not ok \d+/.test(line)) {
    if (/# TODO/i.test(line)) skipped += 1;
    else failed += 1;
  }
  process.stdout.write(`${line}\n`);
});
rl.on('close', () => {
  if (process.env.NARSIGN_SUITE_LABEL) console.log(`suite: ${process.env.NARSIGN_SUITE_LABEL}`);
  console.log(`ava: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
});
