// Hardening (issue 5), part C: a bounded soak. A few dozen clients connect, join, send, type,
// mark read, leave and disconnect in a loop at a moderate rate for SOAK_SECONDS (default 120);
// the server's resident memory (VmRSS) and open file descriptors are sampled every few seconds
// and must stay flat: after a warm-up, the last quarter's average within +20 % (memory) and
// +30 fds of the first quarter's. Time itself is the subject here, hence the pacing delays.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeOrder, call } from '../lib/server.mjs';
import { spawnServer, LOAD_LIMITS, figure, procStats, fullHistory } from '../lib/hardening.mjs';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS || 120);
const ORDERS = 15; // a customer and an agent each: 30 clients
const SAMPLE_MS = 2000;
const WARMUP_MS = Math.max(10000, SOAK_SECONDS * 1000 * 0.15);

let server;
after(async () => { await server?.stop('SIGKILL'); });

const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const jitter = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo));
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

it(`soak: 30 clients cycling for ${SOAK_SECONDS} s; memory and fds stay flat`, { timeout: (SOAK_SECONDS + 120) * 1000 }, async () => {
  server = await spawnServer({ env: LOAD_LIMITS });
  const orders = [];
  for (let i = 0; i < ORDERS; i++) orders.push(await makeOrder(server));
  const t0 = Date.now();
  const deadline = t0 + SOAK_SECONDS * 1000;
  const samples = [];
  const sample = () => samples.push({ t: Date.now() - t0, ...procStats(server.pid) });
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  const counts = { cycles: 0, sent: 0, typing: 0, reads: 0, errors: [], unexpectedDisconnects: 0 };

  const client = async (order, userId, n) => {
    const token = server.token(userId);
    // Every third client uses HTTP long-polling, the others WebSocket.
    const transports = n % 3 === 0 ? ['polling'] : ['websocket'];
    for (let cycle = 0; Date.now() < deadline; cycle++) {
      const s = await server.connect(token, { transports });
      let closing = false;
      s.on('disconnect', () => { if (!closing) counts.unexpectedDisconnects += 1; });
      const step = async (event, payload) => {
        const ack = await call(s, event, payload, 10000);
        if (!ack.ok) counts.errors.push(`${event}: ${JSON.stringify(ack.error)}`);
        return ack;
      };
      await step('join-order-chat', { orderId: order.id, limit: 20 });
      await step('typing', { orderId: order.id, isTyping: true });
      await pause(jitter(100, 400));
      await step('typing', { orderId: order.id, isTyping: false });
      counts.typing += 2;
      if ((await step('send-message', { orderId: order.id, message: `soak ${n}.${cycle}`, clientMessageId: `soak-${n}-${cycle}` })).ok) counts.sent += 1;
      await pause(jitter(100, 400));
      await step('mark-messages-read', { orderId: order.id });
      counts.reads += 1;
      await step('leave-order-chat', order.id);
      closing = true;
      s.close();
      server.sockets.delete(s);
      counts.cycles += 1;
      await pause(jitter(200, 800));
    }
  };
  await Promise.all(orders.flatMap((o, i) => [client(o, o.customer.id, 2 * i), client(o, o.agents[0].id, 2 * i + 1)]));
  clearInterval(sampler);
  const elapsed = Date.now() - t0;
  const steady = samples.filter((s) => s.t >= WARMUP_MS);
  sample(); // once every client is gone: the idle figure, not part of the quarters

  // Every acknowledged send is stored (and nothing else was).
  let stored = 0;
  for (const o of orders) stored += (await fullHistory(server, server.token(o.customer.id), o.id)).filter((m) => m.senderType !== 'system').length;

  const q = Math.max(1, Math.floor(steady.length / 4));
  const first = steady.slice(0, q);
  const last = steady.slice(-q);
  const firstRss = avg(first.map((s) => s.rssKb));
  const lastRss = avg(last.map((s) => s.rssKb));
  const firstFds = avg(first.map((s) => s.fds));
  const lastFds = avg(last.map((s) => s.fds));
  console.log(`  samples (t s: RSS MB / fds): ${samples.map((s) => `${Math.round(s.t / 1000)}:${(s.rssKb / 1024).toFixed(1)}/${s.fds}`).join(' ')}`);
  figure('soak', {
    seconds: Math.round(elapsed / 1000), clients: ORDERS * 2, cycles: counts.cycles, sent: counts.sent, stored,
    msgPerSec: (counts.sent / (elapsed / 1000)).toFixed(1), samples: samples.length,
    rssFirstQuarterMB: (firstRss / 1024).toFixed(1), rssLastQuarterMB: (lastRss / 1024).toFixed(1),
    rssMaxMB: (Math.max(...samples.map((s) => s.rssKb)) / 1024).toFixed(1), rssGrowthPct: (((lastRss - firstRss) / firstRss) * 100).toFixed(1),
    fdsFirstQuarter: firstFds.toFixed(1), fdsLastQuarter: lastFds.toFixed(1), fdsMax: Math.max(...samples.map((s) => s.fds)),
    fdsIdleEnd: samples.at(-1).fds, errors: counts.errors.length, unexpectedDisconnects: counts.unexpectedDisconnects,
  });
  assert.deepEqual(counts.errors.slice(0, 5), [], 'every call of the soak succeeded');
  assert.equal(counts.unexpectedDisconnects, 0, 'no client was disconnected by the server');
  assert.equal(stored, counts.sent, 'every acknowledged message is stored');
  assert.ok(steady.length >= 4, `enough samples after the warm-up (${steady.length})`);
  assert.ok(lastRss <= firstRss * 1.2, `RSS flat: last quarter ${(lastRss / 1024).toFixed(1)} MB vs first ${(firstRss / 1024).toFixed(1)} MB`);
  assert.ok(lastFds <= firstFds + 30, `fds flat: last quarter ${lastFds.toFixed(1)} vs first ${firstFds.toFixed(1)}`);
  await server.stop();
});
