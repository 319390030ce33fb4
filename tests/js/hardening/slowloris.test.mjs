// Slow and idle clients (PROTOCOL.md §15 / RELIABILITY.md): 2,000 connections that send their
// request headers a byte at a time do not starve a real user, who connects, joins and sends within
// 1 s; and the server closes each slow connection once the header-read timeout (10 s) passes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, NO_LIMITS, makeOrder } from '../lib/server.mjs';
import { joinAs, say } from '../lib/chat.mjs';

const SLOW = 2000;
let server;
const slow = [];
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => {
  for (const s of slow) s.destroy();
  await server?.stop();
});

/** Open a connection that starts a request and then sends one header byte every 2 s. */
function slowClient(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      s.timer = setInterval(() => { if (!s.destroyed) s.write('a'); }, 2000);
      resolve(s);
    });
    s.closedAt = null;
    s.on('close', () => { clearInterval(s.timer); s.closedAt = Date.now(); });
    s.on('error', () => {});
    s.once('error', reject);
  });
}

describe('slow clients', () => {
  it('2,000 slowloris connections do not delay a real user, and are closed after the header timeout', async () => {
    const port = Number(new URL(server.url).port);
    const t0 = Date.now();
    for (let i = 0; i < SLOW; i += 100) {
      slow.push(...await Promise.all(Array.from({ length: 100 }, () => slowClient(port))));
    }
    const order = await makeOrder(server);
    const start = Date.now();
    const agent = await joinAs(server, order.agents[0].id, order.id);
    await say(agent, order.id, 'served while 2,000 slow clients wait');
    const took = Date.now() - start;
    assert.ok(took < 1000, `connect + join + send took ${took} ms with ${SLOW} slow connections open`);
    // Every slow connection is closed by the server within the timeout (plus a margin).
    const deadline = t0 + 10_000 + 8_000;
    while (slow.some((s) => s.closedAt === null) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const open = slow.filter((s) => s.closedAt === null).length;
    assert.equal(open, 0, `${open} slow connections still open ${Date.now() - t0} ms after they began`);
    console.log(`# figure slowloris: ${SLOW} held off; real user served in ${took} ms; all closed after ${Math.max(...slow.map((s) => s.closedAt)) - t0} ms`);
  });
});
