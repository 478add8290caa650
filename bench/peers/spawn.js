// SPDX-License-Identifier: MIT
// Workload (b) in Node: call an async function N times, keeping the
// promises, then await each. The function returns at once, so each call
// runs to completion synchronously; Node has no separate task to schedule.
// Prints ns per call. Usage: node spawn.js [N]
'use strict';

const { args, now, emit } = require('./common');

const { values: [n] } = args([1000000]);

async function noop() {
  return 0;
}

async function main() {
  const start = now();
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = noop();
  const spawned = now();
  for (let i = 0; i < n; i++) await tasks[i];
  const elapsed = now() - start;
  emit({
    impl: 'Node', n, elapsed_s: elapsed, spawn_s: spawned - start,
    ns_per_task: (elapsed * 1e9) / n,
  });
}

main();
