// Issue 4: several `order-chat` nodes sharing one PostgreSQL and one Redis behave as one server.
// Three nodes on different loopback ports; every event of PROTOCOL.md section 4 crosses nodes,
// presence counts a user's sockets on every node, blocking disconnects everywhere, and seq stays
// gapless and idempotent with senders on different nodes.
// Run: E2E_DATABASE_URL=postgres://… E2E_REDIS_URL=redis://… node --test --test-concurrency=1 cluster/
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { makeOrder, uid, call, next, collector, barrier, http } from '../lib/server.mjs';
import {
  ackData, assertJoined, assertMessage, assertMessagesRead, assertOrderUpdated, assertPresence,
  assertReadResult, assertRestError, assertSystemMessage, assertTyping, restData,
} from '../lib/shapes.mjs';
import { joinAs, join, say, people } from '../lib/chat.mjs';
import { clusterEnv, startCluster, stopCluster } from '../lib/cluster.mjs';

// Without E2E_DATABASE_URL and E2E_REDIS_URL this file fails here, saying what is missing.
clusterEnv();

const BLOCKED = 'Your account has been blocked. Please contact support';

let nodes = [];
let n1;
let n2;
let n3;
before(async () => {
  nodes = await startCluster(3);
  [n1, n2, n3] = nodes;
});
after(async () => { await stopCluster(nodes); });
afterEach(() => { for (const n of nodes) n.closeSockets(); });

/** The full REST history of an order (oldest first), read through `node`. */
async function history(node, order, asUser) {
  const data = restData(await node.rest('GET', `/orders/${order.id}/messages?limit=200`, node.token(asUser)));
  assert.equal(data.hasMore, false);
  return data.messages;
}

describe('cluster: three nodes, one PostgreSQL, one Redis', () => {
  it('/readyz on every node reports the database and Redis ok', async () => {
    for (const node of nodes) {
      const res = await http(node.url, 'GET', '/readyz');
      assert.equal(res.status, 200, `${node.url}/readyz: ${res.text}`);
      assert.equal(res.body.database, 'ok', res.text);
      assert.equal(res.body.redis, 'ok', res.text);
    }
  });

  it('customer on node 1 and agent on node 2 get every event of the other; order-updated from node 3', async () => {
    const order = await makeOrder(n1);
    const p = people(order);
    const cust = order.customer;
    const agent = order.agents[0];

    // user-joined: the agent is in the chat on node 2, the customer joins on node 1.
    const a = await joinAs(n2, agent.id, order.id);
    const c = await n1.connect(n1.token(cust.id));
    const custJoined = next(a, 'user-joined');
    await join(c, order.id);
    assertPresence(await custJoined, { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });
    assertJoined(c.joined, {
      orderId: order.id, seqs: [], hasMore: false, reads: {},
      participants: [
        { id: cust.id, name: cust.name, type: 'customer', online: true },
        { id: agent.id, name: agent.name, type: 'agent', online: true },
      ],
    });

    // new-message, customer → agent (every optional field set), to both sides exactly once.
    const aMsgs = collector(a, 'new-message');
    const cMsgs = collector(c, 'new-message');
    const m1 = await say(c, order.id, 'Please get the ripe plantains',
      { imageUrl: 'https://example.com/plantains.jpg', clientMessageId: 'c-1' });
    assertMessage(m1, {
      orderId: order.id, seq: 1, sender: p.customer, message: 'Please get the ripe plantains',
      imageUrl: 'https://example.com/plantains.jpg', clientMessageId: 'c-1',
    });
    await aMsgs.waitFor(1);
    await cMsgs.waitFor(1);
    assert.deepEqual(aMsgs, [m1]);
    assert.deepEqual(cMsgs, [m1]);

    // new-message, agent → customer.
    const m2 = await say(a, order.id, 'Found them, 6 pieces');
    assertMessage(m2, { orderId: order.id, seq: 2, sender: p.agents[0], message: 'Found them, 6 pieces' });
    await cMsgs.waitFor(2);
    await aMsgs.waitFor(2);
    assert.deepEqual(cMsgs, [m1, m2]);
    assert.deepEqual(aMsgs, [m1, m2]);

    // user-typing both ways (and not to the typist's own socket).
    const cTyping = collector(c, 'user-typing');
    const aTyping = collector(a, 'user-typing');
    assert.deepEqual(ackData(await call(c, 'typing', { orderId: order.id, isTyping: true })), { orderId: order.id, isTyping: true });
    await aTyping.waitFor(1);
    assertTyping(aTyping[0], { orderId: order.id, isTyping: true, userId: cust.id, name: cust.name });
    ackData(await call(a, 'typing', { orderId: order.id, isTyping: false }));
    await cTyping.waitFor(1);
    assertTyping(cTyping[0], { orderId: order.id, isTyping: false, userId: agent.id, name: agent.name });
    await barrier(c);
    await barrier(a);
    assert.equal(aTyping.length, 1);
    assert.equal(cTyping.length, 1);

    // messages-read both ways.
    const cRead = next(c, 'messages-read');
    assertReadResult(ackData(await call(a, 'mark-messages-read', order.id)),
      { orderId: order.id, userId: agent.id, lastReadSeq: 2, marked: true });
    assertMessagesRead(await cRead, { orderId: order.id, userId: agent.id, lastReadSeq: 2, lastReadMessageId: m2.id });
    const aRead = next(a, 'messages-read');
    assertReadResult(ackData(await call(c, 'mark-messages-read', { orderId: order.id, upToSeq: 2 })),
      { orderId: order.id, userId: cust.id, lastReadSeq: 2, marked: true });
    assertMessagesRead(await aRead, { orderId: order.id, userId: cust.id, lastReadSeq: 2, lastReadMessageId: m2.id });

    // order-updated (and its system messages) after the backend changed the order on node 3.
    const cUpdated = collector(c, 'order-updated');
    const aUpdated = collector(a, 'order-updated');
    const second = { id: uid('agent'), name: 'Ngozi Eze' };
    await n3.putOrder(order.id, {
      orderNumber: order.number, status: 'delivery', customer: order.customer, agents: [...order.agents, second],
    });
    for (const [msgs, updated] of [[cMsgs, cUpdated], [aMsgs, aUpdated]]) {
      await msgs.waitFor(4);
      await updated.waitFor(1);
      assertSystemMessage(msgs[2], order.id, `Agent ${second.name} joined the order`);
      assertSystemMessage(msgs[3], order.id, 'Order status changed to delivery');
      assert.deepEqual([msgs[2].seq, msgs[3].seq], [3, 4]);
      assertOrderUpdated(updated[0], {
        orderId: order.id, orderNumber: order.number, status: 'delivery', customerId: cust.id, agentIds: [agent.id, second.id],
      });
    }
    assert.deepEqual(cMsgs, aMsgs);

    // user-left and user-joined both ways: the agent leaves and comes back on node 2, then the
    // customer leaves on node 1 (a disconnect as a leave: see the presence tests).
    const agentLeft = next(c, 'user-left');
    assert.deepEqual(ackData(await call(a, 'leave-order-chat', order.id)), { orderId: order.id });
    assertPresence(await agentLeft, { orderId: order.id, userId: agent.id, name: agent.name, type: 'agent' });
    const agentBack = next(c, 'user-joined');
    await join(a, { orderId: order.id, since: 4 });
    assertPresence(await agentBack, { orderId: order.id, userId: agent.id, name: agent.name, type: 'agent' });
    const custLeft = next(a, 'user-left');
    assert.deepEqual(ackData(await call(c, 'leave-order-chat', order.id)), { orderId: order.id });
    assertPresence(await custLeft, { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });

    // Nothing was delivered twice.
    await barrier(a);
    assert.equal(aMsgs.length, 4);
    assert.equal(aUpdated.length, 1);
    assert.equal(cUpdated.length, 1);
  });

  it('a REST send on node 3 reaches the sockets on nodes 1 and 2 exactly once', async () => {
    const order = await makeOrder(n1);
    const p = people(order);
    const c = await joinAs(n1, order.customer.id, order.id);
    const a = await joinAs(n2, order.agents[0].id, order.id);
    const cMsgs = collector(c, 'new-message');
    const aMsgs = collector(a, 'new-message');

    const res = await n3.rest('POST', `/orders/${order.id}/messages`, n3.token(order.agents[0].id),
      { message: 'Sent over REST', clientMessageId: 'rest-1' });
    const m = restData(res, 201);
    assertMessage(m, { orderId: order.id, seq: 1, sender: p.agents[0], message: 'Sent over REST', clientMessageId: 'rest-1' });
    await cMsgs.waitFor(1);
    await aMsgs.waitFor(1);

    // The same send retried on node 1 stores and broadcasts nothing new.
    const again = await n1.rest('POST', `/orders/${order.id}/messages`, n1.token(order.agents[0].id),
      { message: 'Sent over REST', clientMessageId: 'rest-1' });
    assert.ok([200, 201].includes(again.status), `HTTP ${again.status}`);
    const dup = again.body.data;
    assert.equal(dup.id, m.id);
    assert.equal(dup.seq, 1);

    await barrier(c);
    await barrier(a);
    assert.deepEqual(cMsgs, [m]);
    assert.deepEqual(aMsgs, [m]);
    assert.deepEqual((await history(n2, order, order.customer.id)).map((x) => x.id), [m.id]);
  });

  it('presence counts a user\'s sockets on every node: one user-joined, user-left after the last one', async () => {
    const order = await makeOrder(n1, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Ngozi Eze' }],
    });
    const cust = order.customer;
    const [agent, other] = order.agents;
    const a = await joinAs(n3, agent.id, order.id);
    const joined = collector(a, 'user-joined');
    const left = collector(a, 'user-left');
    const aMsgs = collector(a, 'new-message');

    // First tab, node 1: one user-joined.
    const tab1 = await joinAs(n1, cust.id, order.id);
    await joined.waitFor(1);
    assertPresence(joined[0], { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });

    // Second tab, node 2: no second user-joined. The join ack shows the agent on node 3 online.
    const tab2 = await joinAs(n2, cust.id, order.id);
    assertJoined(tab2.joined, {
      orderId: order.id,
      participants: [
        { id: cust.id, name: cust.name, type: 'customer', online: true },
        { id: agent.id, name: agent.name, type: 'agent', online: true },
        { id: other.id, name: other.name, type: 'agent', online: false },
      ],
    });
    const b1 = await say(tab2, order.id, 'barrier after the second tab');
    await aMsgs.waitFor(1);
    assert.equal(aMsgs[0].id, b1.id);
    assert.equal(joined.length, 1, `user-joined: ${JSON.stringify(joined)}`);

    // Another agent joining on node 1 sees the customer (nodes 1 and 2) and the agent (node 3) online.
    const o = await joinAs(n1, other.id, order.id);
    assertJoined(o.joined, {
      orderId: order.id,
      participants: [
        { id: cust.id, name: cust.name, type: 'customer', online: true },
        { id: agent.id, name: agent.name, type: 'agent', online: true },
        { id: other.id, name: other.name, type: 'agent', online: true },
      ],
    });
    await joined.waitFor(2);
    assertPresence(joined[1], { orderId: order.id, userId: other.id, name: other.name, type: 'agent' });

    // The first tab leaves: the customer is still in the chat on node 2, so no user-left.
    assert.deepEqual(ackData(await call(tab1, 'leave-order-chat', order.id)), { orderId: order.id });
    const b2 = await say(tab2, order.id, 'barrier after the first tab left');
    await aMsgs.waitFor(2);
    assert.equal(aMsgs[1].id, b2.id);
    assert.deepEqual(left, [], `no user-left while a tab remains: ${JSON.stringify(left)}`);
    // ... and the customer still shows online.
    const again = await join(o, order.id);
    assert.equal(again.participants.find((x) => x.id === cust.id).online, true);

    // The last tab goes away (socket closed): now user-left, once.
    tab2.close();
    await left.waitFor(1);
    assertPresence(left[0], { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });
    const b3 = await say(o, order.id, 'barrier after the last tab');
    await aMsgs.waitFor(3);
    assert.equal(aMsgs[2].id, b3.id);
    assert.equal(left.length, 1);
    assert.equal(joined.length, 2);
    const later = await join(o, order.id);
    assert.equal(later.participants.find((x) => x.id === cust.id).online, false);
  });

  it('two tabs of one user joining, then leaving, at the same moment on two nodes: one user-joined, one user-left', async () => {
    const rounds = [];
    for (let r = 0; r < 8; r++) {
      const order = await makeOrder(n1);
      const cust = order.customer;
      const a = await joinAs(n3, order.agents[0].id, order.id);
      const joined = collector(a, 'user-joined');
      const left = collector(a, 'user-left');
      const aMsgs = collector(a, 'new-message');
      const tabs = [await n1.connect(n1.token(cust.id)), await n2.connect(n2.token(cust.id))];
      for (const ack of await Promise.all(tabs.map((t) => call(t, 'join-order-chat', order.id)))) ackData(ack);
      await say(a, order.id, 'barrier after the joins');
      await aMsgs.waitFor(1);
      const afterJoins = [joined.length, left.length];
      for (const ack of await Promise.all(tabs.map((t) => call(t, 'leave-order-chat', order.id)))) ackData(ack);
      await say(a, order.id, 'barrier after the leaves');
      await aMsgs.waitFor(2);
      rounds.push(`joined ${afterJoins[0]} left ${afterJoins[1]}, then joined ${joined.length} left ${left.length}`);
      for (const p of joined) assertPresence(p, { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });
      for (const p of left) assertPresence(p, { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });
      for (const n of nodes) n.closeSockets();
    }
    // The user-joined and user-left the agent had seen after the joins, then after the leaves, per round.
    assert.deepEqual(rounds, rounds.map(() => 'joined 1 left 0, then joined 1 left 1'));
  });

  it('blocking a user through the internal API on one node disconnects their sockets on every node', async () => {
    const order = await makeOrder(n1);
    const cust = order.customer;
    const a = await joinAs(n3, order.agents[0].id, order.id);
    const tabs = [
      await joinAs(n1, cust.id, order.id),
      await joinAs(n2, cust.id, order.id),
      await n3.connect(n3.token(cust.id)), // connected, not in the chat
    ];
    const disconnects = tabs.map((s) => next(s, 'disconnect', 10000));
    const aDisconnects = collector(a, 'disconnect');

    const stored = await n2.putUser(cust.id, { name: cust.name, type: 'customer', blocked: true });
    assert.equal(stored.blocked, true);
    const reasons = await Promise.all(disconnects);
    assert.deepEqual(reasons, ['io server disconnect', 'io server disconnect', 'io server disconnect']);
    for (const s of tabs) assert.equal(s.connected, false);

    // A reconnect attempt is refused on every node; REST is refused too.
    for (const node of nodes) assert.equal(await node.refusal(node.token(cust.id)), BLOCKED, node.url);
    assertRestError(await n1.rest('GET', `/orders/${order.id}/messages`, n1.token(cust.id)), 403, 'FORBIDDEN', BLOCKED);

    // Only the blocked user was disconnected.
    await barrier(a);
    assert.equal(a.connected, true);
    assert.deepEqual(aDisconnects, []);
    assert.equal((await say(a, order.id, 'still connected')).seq, 1);
  });

  it('a blocked user\'s sockets (on two nodes) leave the chat: the agent gets user-left once', async () => {
    const order = await makeOrder(n1);
    const cust = order.customer;
    const a = await joinAs(n3, order.agents[0].id, order.id);
    const tabs = [await joinAs(n1, cust.id, order.id), await joinAs(n2, cust.id, order.id)];
    const disconnects = tabs.map((s) => next(s, 'disconnect', 10000));
    const left = collector(a, 'user-left');
    await n3.putUser(cust.id, { name: cust.name, type: 'customer', blocked: true });
    await Promise.all(disconnects);
    await left.waitFor(1);
    assertPresence(left[0], { orderId: order.id, userId: cust.id, name: cust.name, type: 'customer' });
    await barrier(a);
    assert.equal(left.length, 1, `user-left arrived ${left.length} times`);
    const joined = await join(a, order.id);
    assert.equal(joined.participants.find((x) => x.id === cust.id).online, false);
  });

  it('an event emitted as soon as the socket is connected is answered, on every node', async () => {
    // What socket.io-client users do: emit in the `connect` handler (as after every reconnection),
    // or emit before the connection is up (the client buffers and sends it on connect).
    const order = await makeOrder(n1);
    const lost = [];
    const N = 30;
    for (let i = 0; i < N; i++) {
      const node = nodes[i % 3];
      const how = i % 2 ? 'emitted in the connect handler' : 'emitted before connecting (buffered)';
      const s = io(node.url, {
        transports: ['websocket'], auth: { token: node.token(order.customer.id) }, forceNew: true, reconnection: false,
      });
      try {
        const ack = await new Promise((resolve) => {
          const go = () => s.timeout(1000).emit('join-order-chat', order.id, (err, a) => resolve(err ? null : a));
          if (i % 2) s.once('connect', go);
          else go();
        });
        if (ack === null) lost.push(`#${i} on node ${(i % 3) + 1}, ${how}`);
        else assert.equal(ack.ok, true, JSON.stringify(ack));
      } finally {
        s.close();
      }
    }
    assert.deepEqual(lost, [], `join-order-chat was never answered (no ack within 1 s) ${lost.length} times of ${N}`);
  });

  it('seq stays gapless and idempotent with concurrent senders on three nodes', async () => {
    const agents = Array.from({ length: 5 }, (_, i) => ({ id: uid('agent'), name: `Agent ${i + 1}` }));
    const order = await makeOrder(n1, { agents });
    const users = [order.customer.id, ...agents.map((x) => x.id)];
    // Every user has a socket on every node; the customer's three sockets are in the chat and
    // count the broadcasts.
    const socks = new Map();
    for (const u of users) socks.set(u, await Promise.all(nodes.map((node) => node.connect(node.token(u)))));
    const watchers = socks.get(order.customer.id);
    for (const w of watchers) await join(w, order.id);
    const seen = watchers.map((w) => collector(w, 'new-message'));

    // 70 sends with unique clientMessageIds (or none), spread over users and nodes, and 10
    // clientMessageIds each sent by the same user on two different nodes at the same moment.
    const sends = [];
    for (let i = 0; i < 70; i++) {
      const u = users[i % users.length];
      const s = socks.get(u)[i % 3];
      const payload = { orderId: order.id, message: `m${i}` };
      if (i % 2 === 0) payload.clientMessageId = `u-${i}`;
      sends.push({ u, cmid: payload.clientMessageId, payload, s });
    }
    for (let i = 0; i < 10; i++) {
      const u = users[i % users.length];
      const cmid = `dup-${i}`;
      const payload = { orderId: order.id, message: `retried ${i}`, clientMessageId: cmid };
      sends.push({ u, cmid, payload, s: socks.get(u)[i % 3], dup: i });
      sends.push({ u, cmid, payload, s: socks.get(u)[(i + 1) % 3], dup: i });
    }
    assert.equal(sends.length, 90);
    const acks = await Promise.all(sends.map((x) => call(x.s, 'send-message', x.payload, 15000)));
    const stored = acks.map((ack, i) => {
      assert.equal(ack.ok, true, `send ${i} failed: ${JSON.stringify(ack)}`);
      return ack.data;
    });

    // The two sends of a repeated clientMessageId acknowledge the same message.
    for (let i = 0; i < 10; i++) {
      const pair = sends.map((x, j) => [x, stored[j]]).filter(([x]) => x.dup === i).map(([, m]) => m);
      assert.equal(pair.length, 2);
      assert.equal(pair[0].id, pair[1].id, `dup-${i} stored twice: seqs ${pair[0].seq} and ${pair[1].seq}`);
      assert.equal(pair[0].seq, pair[1].seq);
      assert.equal(pair[0].clientMessageId, `dup-${i}`);
      assert.equal(pair[0].senderId, sends.find((x) => x.dup === i).u);
    }
    const N = 80;
    const ids = new Set(stored.map((m) => m.id));
    assert.equal(ids.size, N, 'one stored message per distinct send');
    assert.deepEqual([...new Set(stored.map((m) => m.seq))].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i + 1));

    // REST history (read through each node): seqs exactly 1..N, each once, the acked messages.
    for (const node of nodes) {
      const hist = await history(node, order, order.customer.id);
      assert.deepEqual(hist.map((m) => m.seq), Array.from({ length: N }, (_, i) => i + 1), `history via ${node.url}`);
      assert.deepEqual(new Set(hist.map((m) => m.id)), ids);
      const cmids = hist.map((m) => m.clientMessageId).filter(Boolean);
      assert.equal(new Set(cmids).size, cmids.length, 'no clientMessageId stored twice');
      assert.equal(cmids.length, 35 + 10);
    }

    // Each of the customer's sockets (one per node) got every stored message exactly once.
    for (const [k, got] of seen.entries()) {
      await got.waitFor(N, 10000);
      await barrier(watchers[k]);
      assert.deepEqual(got.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i + 1),
        `new-message on the customer's socket on node ${k + 1}`);
    }
  });
});
