// SPDX-License-Identifier: MIT
// Shared by the Node peers: arguments, the clock and the one JSON line.
'use strict';

const { performance } = require('perf_hooks');

// Positional arguments as numbers, flags (--x) as a set.
function args(defaults) {
  const pos = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
  return { values: defaults.map((d, i) => (i < pos.length ? Number(pos[i]) : d)), flags };
}

// Seconds on the monotonic high-resolution clock.
function now() {
  return performance.now() / 1e3;
}

function emit(fields) {
  fields.maxrss_kib = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify(fields) + '\n');
}

module.exports = { args, now, emit };
