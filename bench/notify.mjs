// Notifications (PROTOCOL.md §14): a webhook receiver, the time from a message to its
// webhooks, and the outbox drain after a receiver outage (BENCHMARKS.md §9). bench/notify.sh
// runs all three; each part can run alone:
//
//   node bench/notify.mjs receiver URL_FILE
//       A webhook receiver on 127.0.0.1 (answers 204, counts deliveries by type); writes its
//       URL to URL_FILE; prints its counts on SIGTERM.
//   DATABASE_URL=sqlite:///tmp/n.db node bench/notify.mjs latency [ORDERS=100] [SECONDS=30] [INTERVAL_MS=2000]
//       Starts the release server (NOTIFY_DELAY=0, WEBHOOK_URL: this process's receiver);
//       each order's customer sends a message every INTERVAL_MS while its agent is offline;
//       prints p50/p99 of the time from the send to its `message.created` and to its
//       `notification.due` webhook.
//   DATABASE_URL=… node bench/notify.mjs drain [ORDERS=100] [OUTAGE_S=600] [INTERVAL_MS=2000]
//       The same load while the receiver refuses connections for OUTAGE_S seconds; then the
//       receiver is back and sending stops: prints the backlog, the time until every outbox
//       row is delivered, and the rate.
//
// The release binary is target/release/order-chat (or ORDER_CHAT_BIN). Loopback only; every
// part stops by itself.
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const [mode, ...args] = process.argv.slice(2);

/** Receiver: 204 to every POST; `down()` refuses connections until `up()`. */
async function receiver() {
  const seen = new Map(); // webhook-id → {type, data, at}
  let requests = 0;
  let duplicates = 0;
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      requests += 1;
      const id = req.headers['webhook-id'];
      if (seen.has(id)) duplicates += 1;
      else {
        let env = {};
        try { env = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* counted anyway */ }
        const rec = { type: env.type, data: env.data, at };
        seen.set(id, rec);
        for (const w of waiters) w(rec);
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  let port = 0;
  const listen = () => new Promise((resolve) => server.listen(port, '127.0.0.1', () => {
    port = server.address().port;
    resolve();
  }));
  await listen();
  return {
    url: () => `http://127.0.0.1:${port}/hooks`,
    seen,
    counts: () => {
      const byType = {};
      for (const r of seen.values()) byType[r.type] = (byType[r.type] || 0) + 1;
      return { requests, distinct: seen.size, duplicates, byType };
    },
    onDelivery: (f) => waiters.push(f),
    down: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
    up: listen,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The server with a webhook to `rec`, orders whose customers are connected and agents not. */
async function setup(rec, orders) {
  process.env.ORDER_CHAT_BIN ||= join(here, '..', 'target', 'release', 'order-chat');
  const lib = await import('../tests/js/lib/server.mjs');
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required');
  const server = await lib.launch({
    databaseUrl,
    label: 'notify-bench',
    env: {
      ...lib.NO_LIMITS,
      NOTIFY_DELAY: '0s',
      WEBHOOK_URL: rec.url(),
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    },
  });
  const rooms = [];
  for (let i = 0; i < orders; i++) {
    const order = await lib.makeOrder(server);
    const sock = await server.connect(server.token(order.customer.id));
    const ack = await lib.call(sock, 'join-order-chat', order.id);
    if (!ack.ok) throw new Error(`join: ${JSON.stringify(ack)}`);
    rooms.push({ order, sock });
  }
  return { lib, server, rooms };
}

/**
 * Every room sends one message per `intervalMs` (spread over the interval) until `stop()`;
 * `sent` maps message id → send time.
 */
function load(lib, rooms, intervalMs) {
  const sent = new Map();
  let errors = 0;
  let running = true;
  const loops = rooms.map(async ({ order, sock }, i) => {
    await sleep((intervalMs * i) / rooms.length);
    for (let n = 0; running; n++) {
      const t = performance.now();
      const ack = await lib.call(sock, 'send-message', { orderId: order.id, message: `bench message ${n}` }, 10_000).catch(() => null);
      if (ack?.ok) sent.set(ack.data.id, t);
      else errors += 1;
      await sleep(Math.max(0, intervalMs - (performance.now() - t)));
    }
  });
  return { sent, errors: () => errors, stop: async () => { running = false; await Promise.all(loops); } };
}

async function latency(orders = 100, seconds = 30, intervalMs = 2000) {
  const rec = await receiver();
  const { lib, server, rooms } = await setup(rec, orders);
  const created = [];
  const due = [];
  let sent = new Map();
  rec.onDelivery((r) => {
    if (r.type === 'message.created') {
      const t = sent.get(r.data?.message?.id);
      if (t !== undefined) created.push(r.at - t);
    } else if (r.type === 'notification.due') {
      const t = sent.get(r.data?.lastMessage?.id);
      if (t !== undefined) due.push(r.at - t);
    }
  });
  const l = load(lib, rooms, intervalMs);
  sent = l.sent;
  await sleep(seconds * 1000);
  await l.stop();
  await sleep(3000); // the last webhooks
  const c = [...created].sort((a, b) => a - b);
  const d = [...due].sort((a, b) => a - b);
  console.log(`latency: ${orders} orders, one message per ${intervalMs} ms each (${fmt((orders * 1000) / intervalMs)} msg/s), ${seconds} s, NOTIFY_DELAY=0, agents offline`);
  console.log(`  messages sent: ${l.sent.size} (send errors ${l.errors()})`);
  console.log(`  send → message.created webhook:  p50 ${fmt(pct(c, 50))} ms  p99 ${fmt(pct(c, 99))} ms  max ${fmt(c.at(-1))} ms  (${c.length} received)`);
  console.log(`  send → notification.due webhook: p50 ${fmt(pct(d, 50))} ms  p99 ${fmt(pct(d, 99))} ms  max ${fmt(d.at(-1))} ms  (${d.length} received)`);
  console.log(`  receiver: ${JSON.stringify(rec.counts())}`);
  await server.stop();
  await rec.close();
}

async function drain(orders = 100, outageS = 600, intervalMs = 2000) {
  const rec = await receiver();
  const { lib, server, rooms } = await setup(rec, orders);
  const pending = () => lib.metric(server.url, 'order_chat_notification_outbox_pending');
  await rec.down();
  const t0 = performance.now();
  console.log(`drain: receiver down for ${outageS} s while ${orders} orders send one message per ${intervalMs} ms each (agents offline, NOTIFY_DELAY=0)`);
  const l = load(lib, rooms, intervalMs);
  while (performance.now() - t0 < outageS * 1000) {
    await sleep(Math.min(60_000, outageS * 1000 - (performance.now() - t0)));
    console.log(`  ${Math.round((performance.now() - t0) / 1000)} s: ${l.sent.size} messages sent, outbox pending ${await pending()}`);
  }
  await l.stop();
  await sleep(1500); // the decider's last round and the gauge (read each second)
  const backlog = await pending();
  const before = rec.seen.size;
  const tUp = performance.now();
  await rec.up();
  let last = before;
  let lastAt = tUp;
  let firstAt = null;
  rec.onDelivery(() => { if (firstAt === null) firstAt = performance.now(); });
  // Done when the outbox is empty (the gauge) and nothing arrived for 2 s; at most 30 minutes.
  for (;;) {
    await sleep(250);
    const n = rec.seen.size;
    if (n !== last) { last = n; lastAt = performance.now(); }
    if (performance.now() - lastAt > 2000 && (await pending()) === 0) break;
    if (performance.now() - tUp > 1_800_000) { console.log('  gave up waiting after 30 minutes'); break; }
  }
  const delivered = rec.seen.size - before;
  const tookS = (lastAt - tUp) / 1000;
  console.log(`  messages sent during the outage: ${l.sent.size} (send errors ${l.errors()})`);
  console.log(`  outbox backlog when the receiver came back: ${backlog}`);
  console.log(`  first delivery ${fmt(firstAt === null ? NaN : firstAt - tUp)} ms after it was back; all ${delivered} delivered in ${tookS.toFixed(1)} s: ${fmt(delivered / Math.max(tookS, 0.001))} deliveries/s`);
  console.log(`  receiver: ${JSON.stringify(rec.counts())}; outbox pending at the end: ${await pending()}`);
  await server.stop();
  await rec.close();
}

if (mode === 'receiver') {
  const rec = await receiver();
  writeFileSync(args[0], rec.url());
  const t0 = performance.now();
  process.on('SIGTERM', async () => {
    console.log(`receiver: ${JSON.stringify(rec.counts())} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await rec.close();
    process.exit(0);
  });
} else if (mode === 'latency') {
  await latency(...args.map(Number));
  process.exit(0);
} else if (mode === 'drain') {
  await drain(...args.map(Number));
  process.exit(0);
} else {
  console.error('usage: node bench/notify.mjs receiver URL_FILE | latency [ORDERS SECONDS INTERVAL_MS] | drain [ORDERS OUTAGE_S INTERVAL_MS]');
  process.exit(2);
}
