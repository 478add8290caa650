// SPDX-License-Identifier: MIT
// Workload (d) in Node: N setTimeout timers with delays uniform in
// [0, 1 s), in whole milliseconds (setTimeout's granularity; 0 runs as 1);
// each callback records how late it ran on performance.now(). Prints the
// lateness median, p99, max and the number of early fires.
// Usage: node timers.js [N] [secs]
'use strict';

const { args, now, emit } = require('./common');

const { values: [n, secs] } = args([1000000, 1.0]);
const spanMs = secs * 1e3;

// mulberry32: a fixed seed makes every run draw the same delays.
let seed = 1;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const due = new Float64Array(n);
const late = new Float64Array(n);
let left = n;
let start = 0;
let scheduled = 0;

function fire(i) {
  late[i] = now() - due[i];
  if (--left === 0) report();
}

function report() {
  const elapsed = now() - start;
  let early = 0;
  for (let i = 0; i < n; i++) if (late[i] < 0) early++;
  late.sort();
  emit({
    impl: 'Node', n, span_s: secs, elapsed_s: elapsed,
    schedule_s: scheduled - start,
    late_min_ms: late[0] * 1e3,
    late_median_ms: late[n >> 1] * 1e3,
    late_p99_ms: late[Math.floor(n * 0.99)] * 1e3,
    late_max_ms: late[n - 1] * 1e3, early,
  });
}

start = now();
for (let i = 0; i < n; i++) {
  const ms = Math.floor(random() * spanMs);
  // Read the clock before scheduling, so an early fire shows.
  due[i] = now() + ms / 1e3;
  setTimeout(fire, ms, i);
}
scheduled = now();
