// PROTOCOL.md section 15 across three nodes (PostgreSQL + Redis): a participant removed through one
// node hears nothing more of the order on any node, and loses access at once everywhere; the
// per-user message rate holds across nodes at the single-node budget.
// Run: E2E_DATABASE_URL=postgres://… E2E_REDIS_URL=redis://… node --test --test-concurrency=1 cluster/
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { makeOrder, uid, call, next } from '../lib/server.mjs';
import { joinAs, say, timeline, isNewMessage } from '../lib/chat.mjs';
import { clusterEnv, startCluster, stopCluster } from '../lib/cluster.mjs';

clusterEnv();

// 2 messages per second with a burst of 4, per user: a user on three nodes gets that, not 3×.
const LIMITS = { MESSAGES_PER_SECOND: '2', MESSAGE_BURST: '4', TYPING_PER_SECOND: '100', MAX_SOCKETS_PER_USER: '50' };

let nodes = [];
let n1;
let n2;
let n3;
before(async () => {
  nodes = await startCluster(3, { env: LIMITS });
  [n1, n2, n3] = nodes;
});
after(async () => { await stopCluster(nodes); });
afterEach(() => { for (const n of nodes) n.closeSockets(); });

describe('removed from an order, across nodes', () => {
  it('an agent removed through node 1 gets nothing more on node 2, and is refused at once there', async () => {
    const keep = { id: uid('agent'), name: 'Ngozi Eze' };
    const gone = { id: uid('agent'), name: 'Tunde Bello' };
    const order = await makeOrder(n1, { agents: [keep, gone] });
    const other = await makeOrder(n1, { agents: [gone] });
    const removed = await joinAs(n2, gone.id, order.id);
    await call(removed, 'join-order-chat', other.id);
    // The agent has just used the order on node 2 (its access is cached there).
    await say(removed, order.id, 'on my way');
    const cust = await joinAs(n3, order.customer.id, order.id);
    const seen = timeline(removed, ['new-message', 'user-typing', 'message-updated', 'reaction-updated']);
    const notice = next(removed, 'removed-from-order');

    await n1.putOrder(order.id, { orderNumber: order.number, status: 'shopping', customer: order.customer, agents: [keep] });
    // Once the PUT has returned: refused on node 2 at once (no cache lag) …
    const refused = await call(removed, 'send-message', { orderId: order.id, message: 'still here?' });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'FORBIDDEN');
    assert.deepEqual(await notice, { orderId: order.id });
    // … and the customer's next message on node 3 does not reach node 2's socket.
    const secret = await say(cust, order.id, 'the gate code is 4411');
    const otherCust = await joinAs(n1, other.customer.id, other.id);
    const marker = await say(otherCust, other.id, 'marker');
    await seen.waitFor(isNewMessage(marker.id));
    assert.ok(!seen.some((x) => x.data.id === secret.id || x.data.orderId === order.id),
      `nothing of the order reached the removed agent: ${JSON.stringify(seen.slice(0))}`);
    // Added back through node 3: allowed at once on node 2 again.
    await n3.putOrder(order.id, { orderNumber: order.number, status: 'shopping', customer: order.customer, agents: [keep, gone] });
    const back = await call(removed, 'join-order-chat', order.id);
    assert.equal(back.ok, true, JSON.stringify(back));
  });
});

describe('limits across nodes', () => {
  it('a user on three nodes is rate-limited at the single-node budget', async () => {
    const order = await makeOrder(n1);
    const sockets = [];
    for (const node of nodes) sockets.push(await joinAs(node, order.customer.id, order.id));
    const acks = [];
    for (let i = 0; i < 12; i++) {
      acks.push(await call(sockets[i % 3], 'send-message', { orderId: order.id, message: `m${i}` }));
    }
    const accepted = acks.filter((a) => a.ok).length;
    const limited = acks.filter((a) => !a.ok && a.error.code === 'RATE_LIMITED');
    // The burst of 4, plus at most what 2/s refills while the 12 sends run.
    assert.ok(accepted >= 4 && accepted <= 6, `accepted ${accepted} of 12 (one budget for every node)`);
    assert.equal(accepted + limited.length, 12);
    assert.ok(limited.every((a) => a.error.retryAfterMs > 0));
    const ready = await (await fetch(`${n2.url}/readyz`)).json();
    assert.equal(ready.limits, 'shared');
  });
});
