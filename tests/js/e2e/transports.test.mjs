// PROTOCOL.md section 2: WebSocket and HTTP long-polling on the same port. The same core chat
// exchange runs over websocket only, polling only, the two mixed, and the default
// (polling upgraded to websocket).
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, call, next, collector, barrier } from '../lib/server.mjs';
import {
  ackData, assertConnectionStatus, assertJoined, assertMessage, assertMessagesRead, assertPresence, assertTyping,
  assertAckError, assertReadResult,
} from '../lib/shapes.mjs';
import { join, people } from '../lib/chat.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

/** The core exchange between a customer and an agent, each on its own transports. */
async function coreExchange(custTransports, agentTransports) {
  const order = await makeOrder(server);
  const p = people(order);
  const cust = await server.connect(server.token(order.customer.id), { transports: custTransports });
  const agent = await server.connect(server.token(order.agents[0].id), { transports: agentTransports });
  assertConnectionStatus(cust.status, order.customer.id, 'customer');
  assertConnectionStatus(agent.status, order.agents[0].id, 'agent');
  if (custTransports.length === 1) assert.equal(cust.io.engine.transport.name, custTransports[0]);
  if (agentTransports.length === 1) assert.equal(agent.io.engine.transport.name, agentTransports[0]);

  // Join: the agent sees the customer arrive.
  await join(agent, order.id);
  const joined = next(agent, 'user-joined');
  const data = await join(cust, { orderId: order.number });
  assertJoined(data, {
    orderId: order.id, seqs: [], hasMore: false, reads: {},
    participants: [
      { id: order.customer.id, name: 'Ada Obi', type: 'customer', online: true },
      { id: order.agents[0].id, name: 'Tunde Bello', type: 'agent', online: true },
    ],
  });
  assertPresence(await joined, { orderId: order.id, userId: order.customer.id, name: 'Ada Obi', type: 'customer' });

  // Typing, to the other side only.
  const typing = next(agent, 'user-typing');
  const ownTyping = collector(cust, 'user-typing');
  ackData(await call(cust, 'typing', { orderId: order.id, isTyping: true }));
  assertTyping(await typing, { orderId: order.id, isTyping: true, userId: order.customer.id, name: 'Ada Obi' });

  // Both ways.
  const toAgent = next(agent, 'new-message');
  const echo = next(cust, 'new-message');
  const long = `Please get ${'é'.repeat(3970)} plantains`;
  const m1 = ackData(await call(cust, 'send-message', { orderId: order.id, message: long, clientMessageId: 'c-1' }));
  assertMessage(m1, { orderId: order.id, seq: 1, sender: p.customer, message: long, clientMessageId: 'c-1' });
  assert.deepEqual(await toAgent, m1);
  assert.deepEqual(await echo, m1);
  const toCust = next(cust, 'new-message');
  const m2 = ackData(await call(agent, 'send-message', { orderId: order.id, message: 'Six of them? 🍌', imageUrl: 'https://cdn.example.com/p.jpg' }));
  assertMessage(m2, { orderId: order.id, seq: 2, sender: p.agents[0], message: 'Six of them? 🍌', imageUrl: 'https://cdn.example.com/p.jpg' });
  assert.deepEqual(await toCust, m2);

  // Read receipts.
  const read = next(agent, 'messages-read');
  assertReadResult(ackData(await call(cust, 'mark-messages-read', order.id)), { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, marked: true });
  assertMessagesRead(await read, { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, lastReadMessageId: m2.id });

  // Errors come back on the ack and as the error event.
  assertAckError(await call(cust, 'send-message', { orderId: order.id, message: '' }), 'VALIDATION');
  const err = next(agent, 'error');
  agent.emit('send-message', { orderId: order.id });
  assert.equal((await err).code, 'VALIDATION');

  // History after the fact, and leaving.
  const history = await join(agent, { orderId: order.id, since: 0 });
  assert.deepEqual(history.messages.map((m) => m.id), [m1.id, m2.id]);
  assert.deepEqual(history.messages[1].readBy, [order.customer.id]);
  const left = next(agent, 'user-left');
  ackData(await call(cust, 'leave-order-chat', order.id));
  assertPresence(await left, { orderId: order.id, userId: order.customer.id, name: 'Ada Obi', type: 'customer' });
  await barrier(cust);
  assert.deepEqual(ownTyping, []);
  assert.equal(cust.connected && agent.connected, true);
  return { cust, agent };
}

describe('transports', () => {
  it('websocket only', async () => {
    await coreExchange(['websocket'], ['websocket']);
  });

  it('polling only', async () => {
    const { cust, agent } = await coreExchange(['polling'], ['polling']);
    assert.equal(cust.io.engine.transport.name, 'polling');
    assert.equal(agent.io.engine.transport.name, 'polling');
  });

  it('mixed: a polling customer and a websocket agent', async () => {
    await coreExchange(['polling'], ['websocket']);
  });

  it('default transports: polling, then upgraded to websocket', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id), { transports: ['polling', 'websocket'] });
    if (s.io.engine.transport.name !== 'websocket') {
      await new Promise((resolve) => s.io.engine.once('upgrade', resolve));
    }
    assert.equal(s.io.engine.transport.name, 'websocket');
    await coreExchange(['polling', 'websocket'], ['polling', 'websocket']);
  });

  it('polling: many events in a row arrive complete and in order', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id), { transports: ['polling'] });
    const agent = await server.connect(server.token(order.agents[0].id), { transports: ['polling'] });
    await join(agent, order.id);
    const seen = collector(agent, 'new-message');
    for (let i = 1; i <= 25; i++) ackData(await call(cust, 'send-message', { orderId: order.id, message: `m${i}` }));
    await seen.waitFor(25);
    assert.deepEqual(seen.map((m) => [m.seq, m.message]), Array.from({ length: 25 }, (_, i) => [i + 1, `m${i + 1}`]));
  });
});
