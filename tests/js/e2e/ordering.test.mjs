// One socket's events are handled in the order they were emitted: a client that fires several
// sends without waiting for the acks gets them stored (and numbered) in that order.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, call } from '../lib/server.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

describe('event order', () => {
  it('30 sends fired without waiting are stored in emit order', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id));
    const acks = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(s, 'send-message', { orderId: order.id, message: `line ${i + 1}` })),
    );
    acks.forEach((a, i) => {
      assert.equal(a.ok, true);
      assert.equal(a.data.message, `line ${i + 1}`);
      assert.equal(a.data.seq, i + 1, `line ${i + 1} got seq ${a.data.seq}`);
    });
  });

  it('a join emitted right before a send is answered first', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id));
    const seen = [];
    const join = call(s, 'join-order-chat', order.id).then(() => seen.push('join'));
    const send = call(s, 'send-message', { orderId: order.id, message: 'hi' }).then(() => seen.push('send'));
    await Promise.all([join, send]);
    assert.deepEqual(seen, ['join', 'send']);
  });
});
