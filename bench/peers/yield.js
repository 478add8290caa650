// SPDX-License-Identifier: MIT
// Workload (a) in Node: two async functions `await null` N times each (a
// microtask hop, 2N switches), or with --immediate await a setImmediate
// promise (a turn of the event loop, as asyncio.sleep(0) is). Prints ns per
// switch. Usage: node yield.js [N] [--immediate]
'use strict';

const { args, now, emit } = require('./common');

const { values: [n], flags } = args([10000000]);
const immediate = flags.has('--immediate');
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function yielder() {
  if (immediate) {
    for (let i = 0; i < n; i++) await tick();
  } else {
    for (let i = 0; i < n; i++) await null;
  }
}

async function main() {
  const start = now();
  const a = yielder();
  const b = yielder();
  await a;
  await b;
  const elapsed = now() - start;
  emit({
    impl: immediate ? 'Node (setImmediate)' : 'Node (await)',
    n, switches: 2 * n, elapsed_s: elapsed,
    ns_per_switch: (elapsed * 1e9) / (2 * n),
  });
}

main();
