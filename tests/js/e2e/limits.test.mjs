// PROTOCOL.md section 5: 429 RATE_LIMITED (with Retry-After) for too many messages, on REST and on
// the socket (its ack). Its own server with a tiny message budget.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeOrder, call, collector, barrier } from '../lib/server.mjs';
import { ackData, assertRestError, restData } from '../lib/shapes.mjs';
import { joinAs } from '../lib/chat.mjs';

let server;
before(async () => {
  server = await startServer({ env: { MESSAGES_PER_SECOND: '1', MESSAGE_BURST: '3' } });
});
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

describe('rate limits', () => {
  it('a user over the message budget gets RATE_LIMITED on the ack; nothing is stored or broadcast; others are unaffected', async () => {
    const order = await makeOrder(server);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const cust = await server.connect(server.token(order.customer.id));
    const seen = collector(agent, 'new-message');
    const acks = [];
    for (let i = 1; i <= 5; i++) acks.push(await call(cust, 'send-message', { orderId: order.id, message: `m${i}` }));
    const limited = acks.filter((a) => !a.ok);
    assert.ok(limited.length >= 1, 'at least one send is refused');
    for (const a of limited) {
      assert.equal(a.error.code, 'RATE_LIMITED');
      assert.equal(typeof a.error.message, 'string');
    }
    const stored = acks.filter((a) => a.ok).map((a) => a.data.seq);
    assert.deepEqual(stored, stored.map((_, i) => i + 1), 'the accepted sends have gapless seqs');
    // The agent has its own budget.
    assert.equal(ackData(await call(agent, 'send-message', { orderId: order.id, message: 'agent' })).seq, stored.length + 1);
    await seen.waitFor(stored.length + 1);
    await barrier(agent);
    assert.equal(seen.length, stored.length + 1);
    assert.equal(cust.connected, true);
  });

  it('REST: 429 RATE_LIMITED with a Retry-After header', async () => {
    const order = await makeOrder(server);
    const t = server.token(order.customer.id);
    const statuses = [];
    let refused;
    for (let i = 1; i <= 5; i++) {
      const res = await server.rest('POST', `/orders/${order.id}/messages`, t, { message: `m${i}` });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else restData(res, 201);
    }
    assert.ok(refused, `one of ${statuses} is 429`);
    // The envelope's four fields; this server adds a retry hint in milliseconds (not in the contract).
    const { retryAfterMs, ...envelope } = refused.body;
    assertRestError({ ...refused, body: envelope }, 429, 'RATE_LIMITED');
    if (retryAfterMs !== undefined) assert.ok(Number.isInteger(retryAfterMs) && retryAfterMs >= 0);
    const retry = refused.headers.get('retry-after');
    assert.match(retry ?? '', /^\d+$/, 'Retry-After is a number of seconds');
    assert.ok(Number(retry) >= 1);
  });
});
