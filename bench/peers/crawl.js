// SPDX-License-Identifier: MIT
// Workload (x), Node's side: a crawl of N small pages, CONCURRENCY at a
// time. By default on the http module with a keep-alive http.Agent of
// CONCURRENCY sockets; with --fetch on the global fetch (undici) and its
// default pool. CONCURRENCY workers take the next page number and GET
// URL<number>, read the body and check the status. A warm-up of N/10
// pages comes first, untimed. Prints one line of JSON, as
// bench_http_crawl does.
// Usage: node crawl.js N URL [CONCURRENCY] [--fetch]
"use strict";
const http = require("http");

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const useFetch = process.argv.includes("--fetch");
const n = parseInt(args[0], 10);
const base = args[1];
const conc = parseInt(args[2] || "64", 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });

function getHttp(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let len = 0;
        res.on("data", (d) => (len += d.length));
        res.on("end", () => resolve([res.statusCode, len]));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

async function getFetch(url) {
  const r = await fetch(url);
  const body = await r.arrayBuffer();
  return [r.status, body.byteLength];
}

const get = useFetch ? getFetch : getHttp;
const st = { next: 0, end: 0, failed: 0, bytes: 0, firstError: null };

async function worker() {
  while (st.next < st.end) {
    const url = base + st.next++;
    try {
      const [status, len] = await get(url);
      st.bytes += len;
      if (status !== 200) throw new Error("status " + status);
    } catch (e) {
      st.failed++;
      st.firstError = st.firstError || String(e);
    }
  }
}

async function phase(end) {
  const t0 = process.hrtime.bigint();
  st.end = end;
  const ws = [];
  for (let i = 0; i < conc; i++) ws.push(worker());
  await Promise.all(ws);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main() {
  const warm = Math.max(1, Math.floor(n / 10));
  await phase(warm);
  const warmFailed = st.failed;
  st.bytes = 0;
  const secs = await phase(warm + n);
  if (st.failed)
    console.error(`crawl.js: ${st.failed} pages failed, the first with ` +
                  st.firstError);
  console.log(JSON.stringify({
    requests: n, concurrency: conc, secs, req_per_s: n / secs,
    bytes: st.bytes, failed: st.failed - warmFailed, warmup: warm,
    backend: useFetch ? "fetch" : "http.Agent",
    maxrss_kib: Math.round(process.resourceUsage().maxRSS),
  }));
  agent.destroy();
  process.exitCode = st.failed ? 1 : 0;
}

main();
