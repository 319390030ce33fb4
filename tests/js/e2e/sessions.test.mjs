// PROTOCOL.md section 15 on one node: a participant removed by the backend hears nothing more of
// the order; a socket lives no longer than its token unless it refreshes it.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid, next, call, signToken } from '../lib/server.mjs';
import { joinAs, say, timeline, isNewMessage } from '../lib/chat.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

/** A token of `userId` whose `exp` is `secondsFromNow` away (negative: within the 30 s leeway). */
const tokenExpiring = (userId, secondsFromNow) =>
  signToken({ user: { id: userId }, tokenType: 'access' }, server.secret, { expiresIn: secondsFromNow });

describe('removed from an order', () => {
  it('the removed agent gets removed-from-order and nothing of the chat after the PUT returns', async () => {
    const keep = { id: uid('agent'), name: 'Ngozi Eze' };
    const gone = { id: uid('agent'), name: 'Tunde Bello' };
    const order = await makeOrder(server, { agents: [keep, gone] });
    // A second order the removed agent stays on: its messages bound the wait.
    const other = await makeOrder(server, { agents: [gone] });
    const cust = await joinAs(server, order.customer.id, order.id);
    const removed = await joinAs(server, gone.id, order.id);
    await call(removed, 'join-order-chat', other.id);
    const seen = timeline(removed, ['new-message', 'user-typing', 'message-updated']);
    const notice = next(removed, 'removed-from-order');

    await server.putOrder(order.id, {
      orderNumber: order.number, status: 'shopping', customer: order.customer, agents: [keep],
    });
    assert.deepEqual(await notice, { orderId: order.id });
    const secret = await say(cust, order.id, 'the gate code is 4411');
    await call(cust, 'typing', { orderId: order.id, isTyping: true });
    const otherCust = await joinAs(server, other.customer.id, other.id);
    const marker = await say(otherCust, other.id, 'marker');
    await seen.waitFor(isNewMessage(marker.id));
    assert.ok(!seen.some((x) => x.data.id === secret.id || x.data.orderId === order.id),
      `nothing of the order reached the removed agent: ${JSON.stringify(seen.slice(0))}`);
    // And the removed agent can no longer act in it.
    const refused = await call(removed, 'send-message', { orderId: order.id, message: 'still here?' });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'FORBIDDEN');
  });

  it('a replaced customer is removed the same way', async () => {
    const order = await makeOrder(server);
    const old = await joinAs(server, order.customer.id, order.id);
    const notice = next(old, 'removed-from-order');
    await server.putOrder(order.id, {
      orderNumber: order.number, status: 'shopping', customer: { id: uid('cust'), name: 'New Owner' }, agents: order.agents,
    });
    assert.deepEqual(await notice, { orderId: order.id });
  });
});

describe('sessions bounded by the token', () => {
  it('warns with session-expiring, then sends TOKEN_EXPIRED and disconnects', async () => {
    const order = await makeOrder(server);
    // exp 25 s ago: accepted within the 30 s leeway, so the socket ends in about 5 s.
    let warning;
    const s = await server.connect(tokenExpiring(order.customer.id, -25), {
      before: (sock) => { warning = next(sock, 'session-expiring', 3000); },
    });
    const warned = await warning;
    const end = Date.parse(warned.expiresAt);
    assert.ok(end > Date.now() && end < Date.now() + 10_000, `expiresAt ${warned.expiresAt}`);
    const closed = new Promise((resolve) => s.on('disconnect', resolve));
    const error = await next(s, 'error', 10_000);
    assert.equal(error.code, 'TOKEN_EXPIRED');
    assert.equal(typeof error.message, 'string');
    await closed;
    assert.ok(Date.now() >= end - 200, 'not before its end');
  });

  it('refresh-token with a fresh token of the same user keeps the socket open', async () => {
    const order = await makeOrder(server);
    let warning;
    const s = await server.connect(tokenExpiring(order.customer.id, -25), {
      before: (sock) => { warning = next(sock, 'session-expiring', 3000); },
    });
    await warning;
    const ack = await call(s, 'refresh-token', { token: server.token(order.customer.id) });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assert.ok(Date.parse(ack.data.expiresAt) > Date.now() + 3_000_000);
    // Past the old end (≈ 5 s), the socket still works.
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal(s.connected, true);
    const joined = await call(s, 'join-order-chat', order.id);
    assert.equal(joined.ok, true);
  });

  it('refresh-token refuses another user\'s token, a bad one, and a missing one', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id));
    for (const [payload, code] of [
      [{ token: server.token(order.agents[0].id) }, 'UNAUTHORIZED'],
      [{ token: 'not-a-jwt' }, 'UNAUTHORIZED'],
      [{}, 'VALIDATION'],
      [{ token: 5 }, 'VALIDATION'],
    ]) {
      const ack = await call(s, 'refresh-token', payload);
      assert.equal(ack.ok, false, JSON.stringify(payload));
      assert.equal(ack.error.code, code, JSON.stringify(payload));
    }
    assert.equal(s.connected, true);
  });
});
