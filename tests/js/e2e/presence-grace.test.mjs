// PROTOCOL.md section 15, presence grace: `user-left` only once a user has had no socket in the
// order's chat for PRESENCE_GRACE; a reload within it announces nothing (no user-left, no second
// user-joined), and the join ack shows them online meanwhile.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, collector, nextWhere, next } from '../lib/server.mjs';
import { joinAs, join, say } from '../lib/chat.mjs';

const GRACE_MS = 1000;
let server;
before(async () => { server = await startServer({ env: { ...NO_LIMITS, PRESENCE_GRACE: '1s' } }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

describe('presence grace', () => {
  it('a reload within the grace announces nothing', async () => {
    const order = await makeOrder(server);
    const agentId = order.agents[0].id;
    const cust = await joinAs(server, order.customer.id, order.id);
    // The agent's first user-joined reaches the customer's socket on its own schedule (the
    // agent's ack may come first): wait for it, so that only a second one is counted.
    const firstJoined = next(cust, 'user-joined');
    const agent = await joinAs(server, agentId, order.id);
    await firstJoined;
    const joined = collector(cust, 'user-joined');
    const left = collector(cust, 'user-left');
    agent.close(); // a reload: the old page goes…
    await pause(200);
    const again = await joinAs(server, agentId, order.id); // …and the new one joins
    assert.equal(again.joined.participants.find((p) => p.id === agentId).online, true);
    // Past the grace (and a margin), then a message as a barrier for anything in flight.
    await pause(GRACE_MS + 500);
    const arrived = nextWhere(cust, 'new-message', (m) => m.message === 'back', 5000);
    await say(again, order.id, 'back');
    await arrived;
    assert.deepEqual(left, [], 'no user-left');
    assert.deepEqual(joined, [], 'no second user-joined');
  });

  it('a real leave is announced once, after the grace; the user shows online until then', async () => {
    const order = await makeOrder(server);
    const agentId = order.agents[0].id;
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, agentId, order.id);
    const left = collector(cust, 'user-left');
    const gotLeft = next(cust, 'user-left', GRACE_MS + 5000);
    const t0 = Date.now();
    agent.close();
    await pause(200);
    // Someone joining within the grace still sees the agent online.
    const other = await server.connect(server.token(order.customer.id));
    const ack = await join(other, order.id);
    assert.equal(ack.participants.find((p) => p.id === agentId).online, true);
    const ev = await gotLeft;
    assert.ok(Date.now() - t0 >= GRACE_MS - 50, `user-left after the grace (${Date.now() - t0} ms)`);
    assert.equal(ev.userId, agentId);
    await pause(300);
    assert.equal(left.length, 1, 'announced once');
    const after = await server.connect(server.token(order.customer.id));
    const ack2 = await join(after, order.id);
    assert.equal(ack2.participants.find((p) => p.id === agentId).online, false);
  });
});
