// SPDX-License-Identifier: MIT
// Workload (c) in Node: N async functions alive at once, each awaiting a
// 1 s setTimeout promise, then awaited. bench/run takes wall time and peak
// RSS from wait4(). Usage: node sleep.js [N] [secs]
'use strict';

const { args, now, emit } = require('./common');

const { values: [n, secs] } = args([1000000, 1.0]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sleeper() {
  await sleep(secs * 1e3);
}

async function main() {
  const start = now();
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = sleeper();
  const spawned = now();
  for (let i = 0; i < n; i++) await tasks[i];
  const elapsed = now() - start;
  emit({
    impl: 'Node', n, sleep_s: secs, elapsed_s: elapsed,
    spawn_s: spawned - start,
  });
}

main();
