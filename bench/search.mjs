// Search latency (PROTOCOL.md §13) on a prepared database (bench/search-data-*.sql).
//
//   DATABASE_URL=sqlite:///tmp/x.db node bench/search.mjs [N=300] [WARMUP=30]
//
// Starts the release server (target/release/order-chat, or ORDER_CHAT_BIN) on DATABASE_URL, on
// loopback with a free port, runs N sequential `GET /api/v0/chat/search?q=…&limit=20` per case
// after WARMUP unmeasured ones, prints p50/p99 (ms) and the hit count of the first page, stops it.
// Cases: the common word "parcel" (10% of messages) and the rare "zebragate" (0.01%), as customer
// c5 (20 orders, o81..o100: one rare hit), as agent a7 (200 orders) and as an admin (all
// orders); and "hello", which is in every message (the worst case of a common word).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.argv[2] || 300);
const WARMUP = Number(process.argv[3] || 30);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('DATABASE_URL is required');

// Set before the import: server.mjs reads it when loaded.
process.env.ORDER_CHAT_BIN ||= join(here, '..', 'target', 'release', 'order-chat');
const { launch, NO_LIMITS } = await import('../tests/js/lib/server.mjs');
const server = await launch({ databaseUrl, env: NO_LIMITS });

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
async function one(token, q) {
  const t = process.hrtime.bigint();
  const res = await fetch(`${server.url}/api/v0/chat/search?q=${encodeURIComponent(q)}&limit=20`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (res.status !== 200) throw new Error(`search ${q}: ${res.status} ${JSON.stringify(body)}`);
  return { ms, hits: (body.data?.results ?? body.data?.messages ?? body.results ?? []).length };
}
try {
  const cases = [
    ['customer c5', server.token('c5'), 'parcel'],
    ['customer c5', server.token('c5'), 'zebragate'],
    ['customer c5', server.token('c5'), 'hello'],
    ['agent a7', server.token('a7'), 'parcel'],
    ['agent a7', server.token('a7'), 'zebragate'],
    ['admin', server.adminToken('bench@example.com'), 'parcel'],
    ['admin', server.adminToken('bench@example.com'), 'zebragate'],
    ['admin', server.adminToken('bench@example.com'), 'hello'],
  ];
  for (const [who, token, q] of cases) {
    let hits = 0;
    for (let i = 0; i < WARMUP; i++) hits = (await one(token, q)).hits;
    const times = [];
    for (let i = 0; i < N; i++) times.push((await one(token, q)).ms);
    times.sort((a, b) => a - b);
    console.log(`${who.padEnd(12)} q=${q.padEnd(10)} hits/page=${String(hits).padStart(2)}  p50 ${pct(times, 50).toFixed(2)} ms  p99 ${pct(times, 99).toFixed(2)} ms  max ${times[times.length - 1].toFixed(2)} ms  (n=${N})`);
  }
} finally {
  await server.stop();
}
