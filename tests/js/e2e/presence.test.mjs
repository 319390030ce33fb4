// PROTOCOL.md section 4: the server events and who gets them (new-message, user-typing,
// user-joined / user-left with several tabs, messages-read, order-updated and system messages,
// blocking), and two users chatting both ways.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid, call, next, nextWhere, collector, barrier, closeAndWait } from '../lib/server.mjs';
import {
  ackData, assertMessage, assertPresence, assertTyping, assertMessagesRead, assertOrderUpdated, assertSystemMessage,
  assertJoined, assertReadResult,
} from '../lib/shapes.mjs';
import { joinAs, join, say, people } from '../lib/chat.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const presenceOf = (order, user, type) => ({ orderId: order.id, userId: user.id, name: user.name, type });

describe('chatting', () => {
  it('two users chat both ways; new-message reaches the whole room, the sender\'s other socket included', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const custPhone = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const inbox = { cust: collector(cust, 'new-message'), phone: collector(custPhone, 'new-message'), agent: collector(agent, 'new-message') };

    const m1 = await say(cust, order.id, 'Please get the ripe plantains');
    const m2 = await say(agent, order.id, 'Sure, how many?');
    const m3 = await say(custPhone, order.id, 'Six');
    const m4 = await say(agent, order.id, 'Got them', { imageUrl: 'https://cdn.example.com/plantains.jpg' });
    assertMessage(m1, { orderId: order.id, seq: 1, sender: p.customer, message: 'Please get the ripe plantains' });
    assertMessage(m2, { orderId: order.id, seq: 2, sender: p.agents[0], message: 'Sure, how many?' });
    assertMessage(m3, { orderId: order.id, seq: 3, sender: p.customer, message: 'Six' });
    assertMessage(m4, { orderId: order.id, seq: 4, sender: p.agents[0], message: 'Got them', imageUrl: 'https://cdn.example.com/plantains.jpg' });
    for (const box of Object.values(inbox)) await box.waitFor(4);
    await Promise.all([barrier(cust), barrier(custPhone), barrier(agent)]);
    for (const box of Object.values(inbox)) assert.deepEqual(box, [m1, m2, m3, m4]);
  });

  it('new-message goes to the order\'s room only: not to other orders or to sockets that did not join', async () => {
    const order = await makeOrder(server);
    const other = await makeOrder(server, { customer: order.customer });
    const cust = await joinAs(server, order.customer.id, other.id);
    const idle = await server.connect(server.token(order.agents[0].id));
    const seen = [collector(cust, 'new-message'), collector(idle, 'new-message')];
    const agent = await server.connect(server.token(order.agents[0].id));
    await say(agent, order.id, 'only for the room');
    await barrier(cust);
    await barrier(idle);
    assert.deepEqual(seen, [[], []]);
  });
});

describe('user-typing', () => {
  it('goes to the other users only, not to the sender\'s own sockets', async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Ngozi Eze' }],
    });
    const cust = await joinAs(server, order.customer.id, order.id);
    const custTab = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const admin = await joinAs(server, { token: server.adminToken('ops@example.com') }, order.id);
    const idleAgent = await server.connect(server.token(order.agents[1].id)); // connected, not joined
    const own = [collector(cust, 'user-typing'), collector(custTab, 'user-typing'), collector(idleAgent, 'user-typing')];

    const toAgent = next(agent, 'user-typing');
    const toAdmin = next(admin, 'user-typing');
    assert.equal(ackData(await call(cust, 'typing', { orderId: order.id, isTyping: true })).isTyping, true);
    const expected = { orderId: order.id, isTyping: true, userId: order.customer.id, name: 'Ada Obi' };
    assertTyping(await toAgent, expected);
    assertTyping(await toAdmin, expected);

    const stop = next(agent, 'user-typing');
    ackData(await call(custTab, 'typing', { orderId: order.number, isTyping: false }));
    assertTyping(await stop, { ...expected, isTyping: false });

    await Promise.all([barrier(cust), barrier(custTab), barrier(idleAgent)]);
    assert.deepEqual(own, [[], [], []]);

    // And the other way round.
    const toCust = next(cust, 'user-typing');
    const toTab = next(custTab, 'user-typing');
    ackData(await call(agent, 'typing', { orderId: order.id, isTyping: true }));
    const agentTyping = { orderId: order.id, isTyping: true, userId: order.agents[0].id, name: 'Tunde Bello' };
    assertTyping(await toCust, agentTyping);
    assertTyping(await toTab, agentTyping);
  });
});

describe('user-joined / user-left', () => {
  it('user-joined {orderId, userId, id, name, type, timestamp} to the others, not to the joiner', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const joined = next(cust, 'user-joined');
    const agent = await server.connect(server.token(order.agents[0].id));
    const agentSees = collector(agent, 'user-joined');
    const data = ackData(await call(agent, 'join-order-chat', order.id));
    assertPresence(await joined, presenceOf(order, order.agents[0], 'agent'));
    await barrier(agent);
    assert.deepEqual(agentSees, []);
    assertJoined(data, {
      orderId: order.id,
      participants: [
        { id: order.customer.id, name: 'Ada Obi', type: 'customer', online: true },
        { id: order.agents[0].id, name: 'Tunde Bello', type: 'agent', online: true },
      ],
    });
    // A second join of the same socket announces nothing.
    const again = collector(cust, 'user-joined');
    await join(agent, order.id);
    await barrier(cust);
    assert.deepEqual(again, []);
  });

  it('user-left on leave-order-chat, with the fields of user-joined', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const left = next(agent, 'user-left');
    ackData(await call(cust, 'leave-order-chat', order.id));
    assertPresence(await left, presenceOf(order, order.customer, 'customer'));
    const data = await join(await server.connect(server.token(order.agents[0].id)), order.id);
    assert.deepEqual(data.participants.find((x) => x.id === order.customer.id).online, false);
  });

  it('user-left when the user\'s only socket disconnects', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const left = next(cust, 'user-left');
    agent.close();
    assertPresence(await left, presenceOf(order, order.agents[0], 'agent'));
  });

  it('user-left for every user whose only socket disconnects (10 in a row)', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agents = Array.from({ length: 10 }, (_, i) => ({ id: uid('agent'), name: `Agent ${i}` }));
    await server.putOrder(order.id, { orderNumber: order.number, status: order.status, customer: order.customer, agents });
    const lefts = collector(cust, 'user-left');
    for (const a of agents) {
      const s = await joinAs(server, a.id, order.id);
      const left = nextWhere(cust, 'user-left', (p) => p.userId === a.id, 3000);
      s.close();
      assertPresence(await left, presenceOf(order, a, 'agent'));
    }
    assert.equal(lefts.length, 10);
  });

  it('an admin\'s presence is announced with type admin', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const joined = next(cust, 'user-joined');
    const admin = await joinAs(server, { token: server.adminToken('ops@example.com') }, order.id);
    const p = await joined;
    assertPresence(p, { orderId: order.id, userId: 'ops@example.com', name: p.name, type: 'admin' });
    const left = next(cust, 'user-left');
    ackData(await call(admin, 'leave-order-chat', order.id));
    assertPresence(await left, { orderId: order.id, userId: 'ops@example.com', name: p.name, type: 'admin' });
  });

  it('a second tab: one user-joined only; user-left only after both tabs leave', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const joins = collector(cust, 'user-joined');
    const lefts = collector(cust, 'user-left');
    const tab1 = await joinAs(server, order.agents[0].id, order.id);
    const tab2 = await joinAs(server, order.agents[0].id, order.id);
    await barrier(cust);
    assert.equal(joins.length, 1);
    assertPresence(joins[0], presenceOf(order, order.agents[0], 'agent'));
    // Tabs of the same user do not announce each other.
    const tabSees = collector(tab1, 'user-joined');
    await joinAs(server, order.agents[0].id, order.id).then((tab3) => call(tab3, 'leave-order-chat', order.id));
    await barrier(tab1);
    assert.deepEqual(tabSees, []);

    ackData(await call(tab1, 'leave-order-chat', order.id));
    await barrier(cust);
    assert.deepEqual(lefts, []);
    // Still online through the other tab.
    const data = await join(await server.connect(server.token(order.customer.id)), order.id);
    assert.equal(data.participants.find((x) => x.id === order.agents[0].id).online, true);

    ackData(await call(tab2, 'leave-order-chat', order.id));
    await lefts.waitFor(1);
    await barrier(cust);
    assert.equal(lefts.length, 1);
    assertPresence(lefts[0], presenceOf(order, order.agents[0], 'agent'));
    assert.equal(joins.length, 1);
  });

  it('a second tab that disconnects instead of leaving: user-left only after the last tab goes', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const lefts = collector(cust, 'user-left');
    const tab1 = await joinAs(server, order.agents[0].id, order.id);
    const tab2 = await joinAs(server, order.agents[0].id, order.id);
    await closeAndWait(server, tab1);
    await barrier(cust);
    assert.deepEqual(lefts, []);
    const data = await join(await server.connect(server.token(order.customer.id)), order.id);
    assert.equal(data.participants.find((x) => x.id === order.agents[0].id).online, true);
    // The remaining tab still chats.
    const got = next(tab2, 'new-message');
    await say(cust, order.id, 'still there?');
    await got;
    await closeAndWait(server, tab2);
    await lefts.waitFor(1);
    await barrier(cust);
    assert.equal(lefts.length, 1);
    assertPresence(lefts[0], presenceOf(order, order.agents[0], 'agent'));
  });

  it('one tab leaves, the other disconnects: exactly one user-left', async () => {
    const order = await makeOrder(server);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const lefts = collector(agent, 'user-left');
    const tab1 = await joinAs(server, order.customer.id, order.id);
    const tab2 = await joinAs(server, order.customer.id, order.id);
    ackData(await call(tab1, 'leave-order-chat', order.id));
    await barrier(agent);
    assert.deepEqual(lefts, []);
    tab2.close();
    await lefts.waitFor(1);
    tab1.close();
    await barrier(agent);
    assert.equal(lefts.length, 1);
    assertPresence(lefts[0], presenceOf(order, order.customer, 'customer'));
  });
});

describe('messages-read', () => {
  it('{orderId, userId, lastReadSeq, lastReadMessageId, readAt} to the room when the marker moves', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const custTab = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const msgs = [];
    for (let i = 1; i <= 3; i++) msgs.push(await say(agent, order.id, `m${i}`));

    const toAgent = next(agent, 'messages-read');
    const toSelf = next(cust, 'messages-read');
    const toTab = next(custTab, 'messages-read');
    const ack = ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 2 }));
    assertReadResult(ack, { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, marked: true });
    const expected = { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, lastReadMessageId: msgs[1].id };
    const ev = await toAgent;
    assertMessagesRead(ev, expected);
    assert.equal(ev.readAt, ack.readAt);
    assert.deepEqual(await toSelf, ev);
    assert.deepEqual(await toTab, ev);

    // Not moved → no event.
    const none = [collector(agent, 'messages-read'), collector(cust, 'messages-read')];
    assertReadResult(ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 1 })),
      { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, marked: false });
    assertReadResult(ackData(await call(custTab, 'mark-messages-read', { orderId: order.id, upToSeq: 2 })),
      { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, marked: false });
    await barrier(agent);
    await barrier(cust);
    assert.deepEqual(none, [[], []]);

    // To the latest.
    const latest = next(agent, 'messages-read');
    ackData(await call(custTab, 'mark-messages-read', order.id));
    assertMessagesRead(await latest, { ...expected, lastReadSeq: 3, lastReadMessageId: msgs[2].id });
  });
});

describe('order-updated and system messages', () => {
  it('a status change: system message "Order status changed to <status>" then order-updated', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    await say(cust, order.id, 'hi');
    const sys = next(cust, 'new-message');
    const upd = next(cust, 'order-updated');
    const updAgent = next(agent, 'order-updated');
    await server.putOrder(order.id, { orderNumber: order.number, status: 'delivery', customer: order.customer, agents: order.agents });
    const m = await sys;
    assertSystemMessage(m, order.id, 'Order status changed to delivery');
    assert.equal(m.seq, 2);
    const expected = { orderId: order.id, orderNumber: order.number, status: 'delivery', customerId: order.customer.id, agentIds: [order.agents[0].id] };
    assertOrderUpdated(await upd, expected);
    assertOrderUpdated(await updAgent, expected);
    // The system message is in the history like any other.
    const data = await join(cust, order.id);
    assert.deepEqual(data.messages.map((x) => [x.seq, x.senderType]), [[1, 'customer'], [2, 'system']]);
    assert.deepEqual(data.messages[1], m);
  });

  it('an agent added and one removed: system messages, order-updated, and access follows', async () => {
    const tunde = { id: uid('agent'), name: 'Tunde Bello' };
    const ngozi = { id: uid('agent'), name: 'Ngozi Eze' };
    const order = await makeOrder(server, { agents: [tunde] });
    const cust = await joinAs(server, order.customer.id, order.id);
    const newcomer = await server.connect(server.token(ngozi.id));
    assertAckErrorCode(await call(newcomer, 'join-order-chat', order.id), 'FORBIDDEN');

    let sys = collector(cust, 'new-message');
    let upd = next(cust, 'order-updated');
    await server.putOrder(order.id, { orderNumber: order.number, status: 'shopping', customer: order.customer, agents: [tunde, ngozi] });
    assertOrderUpdated(await upd, { orderId: order.id, orderNumber: order.number, status: 'shopping', customerId: order.customer.id, agentIds: [tunde.id, ngozi.id] });
    await barrier(cust);
    assert.equal(sys.length, 1);
    assertSystemMessage(sys[0], order.id, 'Agent Ngozi Eze joined the order');
    assert.equal(sys[0].seq, 1);
    sys.stop();

    // The new agent is now a participant.
    const data = await join(newcomer, order.id);
    assert.deepEqual(data.participants.map((x) => x.id).sort(), [order.customer.id, tunde.id, ngozi.id].sort());
    const hello = next(cust, 'new-message');
    await say(newcomer, order.id, 'Hello, I am helping Tunde');
    assert.equal((await hello).seq, 2);

    // Remove Tunde: he loses access.
    const tundeSocket = await server.connect(server.token(tunde.id));
    sys = collector(cust, 'new-message');
    upd = next(cust, 'order-updated');
    await server.putOrder(order.id, { orderNumber: order.number, status: 'shopping', customer: order.customer, agents: [ngozi] });
    assertOrderUpdated(await upd, { orderId: order.id, orderNumber: order.number, status: 'shopping', customerId: order.customer.id, agentIds: [ngozi.id] });
    await barrier(cust);
    assert.equal(sys.length, 1);
    assertSystemMessage(sys[0], order.id, 'Agent Tunde Bello left the order');
    assert.equal(sys[0].seq, 3);
    assertAckErrorCode(await call(tundeSocket, 'send-message', { orderId: order.id, message: 'x' }), 'FORBIDDEN');
    assertAckErrorCode(await call(tundeSocket, 'join-order-chat', order.id), 'FORBIDDEN');
  });

  it('status and agents changed at once: one system message each, one order-updated', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const sys = collector(cust, 'new-message');
    const upd = collector(cust, 'order-updated');
    const extra = { id: uid('agent'), name: 'Kemi Ade' };
    await server.putOrder(order.id, { orderNumber: order.number, status: 'delivery', customer: order.customer, agents: [...order.agents, extra] });
    await upd.waitFor(1);
    await barrier(cust);
    assert.equal(upd.length, 1);
    assert.equal(sys.length, 2);
    assert.deepEqual(sys.map((m) => m.seq), [1, 2]);
    for (const m of sys) assertSystemMessage(m, order.id, m.message);
    assert.deepEqual(sys.map((m) => m.message).sort(), ['Agent Kemi Ade joined the order', 'Order status changed to delivery']);
  });

  it('an update that changes nothing writes no system message and emits no order-updated', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const seen = [collector(cust, 'new-message'), collector(cust, 'order-updated')];
    await server.putOrder(order.id, { orderNumber: order.number, status: order.status, customer: order.customer, agents: order.agents });
    await barrier(cust);
    assert.deepEqual(seen, [[], []]);
  });

  it('a new order number or customer: order-updated without a system message', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const messages = collector(cust, 'new-message');
    const upd = next(cust, 'order-updated');
    await server.putOrder(order.id, { orderNumber: 'B2S-RENUMBERED' + order.id.slice(-4).toUpperCase(), status: order.status, customer: order.customer, agents: order.agents });
    const got = await upd;
    assertOrderUpdated(got, { orderId: order.id, orderNumber: 'B2S-RENUMBERED' + order.id.slice(-4).toUpperCase(), status: order.status, customerId: order.customer.id, agentIds: [order.agents[0].id] });
    // Without orderNumber the stored one is kept. The replaced customer is removed from the
    // room first (§15: removed-from-order, then nothing more); the agent sees order-updated.
    const newCustomer = { id: uid('cust'), name: 'Bola Ade' };
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const agentMessages = collector(agent, 'new-message');
    const upd2 = next(agent, 'order-updated');
    const removed = next(cust, 'removed-from-order');
    const custUpdates = collector(cust, 'order-updated');
    await server.putOrder(order.id, { status: order.status, customer: newCustomer, agents: order.agents });
    assertOrderUpdated(await upd2, { orderId: order.id, orderNumber: got.orderNumber, status: order.status, customerId: newCustomer.id, agentIds: [order.agents[0].id] });
    assert.deepEqual(await removed, { orderId: order.id });
    await barrier(cust);
    await barrier(agent);
    assert.deepEqual(custUpdates, [], 'the replaced customer hears nothing after removal');
    assert.deepEqual(messages, []);
    assert.deepEqual(agentMessages, []);
  });

  it('order-updated goes to the order\'s room only', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id)); // connected, not joined
    const seen = [collector(cust, 'order-updated'), collector(cust, 'new-message')];
    const watcher = await joinAs(server, order.agents[0].id, order.id);
    const upd = next(watcher, 'order-updated');
    await server.putOrder(order.id, { orderNumber: order.number, status: 'delivery', customer: order.customer, agents: order.agents });
    await upd;
    await barrier(cust);
    assert.deepEqual(seen, [[], []]);
  });
});

describe('blocking', () => {
  it('blocking a user disconnects their live sockets; the others see user-left once', async () => {
    const order = await makeOrder(server);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const lefts = collector(agent, 'user-left');
    const c1 = await joinAs(server, order.customer.id, order.id);
    const c2 = await server.connect(server.token(order.customer.id), { transports: ['polling'] });
    const d1 = next(c1, 'disconnect');
    const d2 = next(c2, 'disconnect');
    await server.putUser(order.customer.id, { name: order.customer.name, type: 'customer', blocked: true });
    assert.equal(await d1, 'io server disconnect');
    assert.equal(await d2, 'io server disconnect');
    assert.equal(c1.connected, false);
    await lefts.waitFor(1);
    await barrier(agent);
    assert.equal(lefts.length, 1);
    assertPresence(lefts[0], presenceOf(order, order.customer, 'customer'));
    // The agent stays connected, and the customer cannot come back.
    assert.equal(agent.connected, true);
    assert.equal(await server.refusal(server.token(order.customer.id)), 'Your account has been blocked. Please contact support');
  });
});

function assertAckErrorCode(ack, code) {
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(ack.error.code, code);
}
