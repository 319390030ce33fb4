// PROTOCOL.md sections 3–4: history pages, reconnecting with `since` (nothing missed, nothing
// twice), gapless `seq` under concurrent sends, read markers that never move back, and the
// derived isRead / readBy.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid, call, next, collector, barrier, nextWhere } from '../lib/server.mjs';
import { ackData, assertJoined, assertMessage, assertReadResult, restData } from '../lib/shapes.mjs';
import { joinAs, join, say, people } from '../lib/chat.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const seqs = (messages) => messages.map((m) => m.seq);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('reconnecting with since', () => {
  it('a client that disconnected and joins with {orderId, since: lastSeq} gets exactly the missed messages', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    let cust = await joinAs(server, order.customer.id, order.id);
    const live = collector(cust, 'new-message');
    for (let i = 1; i <= 3; i++) await say(agent, order.id, `before ${i}`);
    await live.waitFor(3);
    const lastSeq = live.at(-1).seq;
    assert.equal(lastSeq, 3);

    cust.close();
    const missed = [];
    for (let i = 1; i <= 4; i++) missed.push(await say(agent, order.id, `while away ${i}`));

    cust = await server.connect(server.token(order.customer.id));
    const data = await join(cust, { orderId: order.id, since: lastSeq });
    assertJoined(data, { orderId: order.id, hasMore: false, seqs: [4, 5, 6, 7] });
    assert.deepEqual(data.messages, missed);
    assert.deepEqual(cust.previous, missed);
    missed.forEach((m, i) => assertMessage(m, { orderId: order.id, seq: 4 + i, sender: p.agents[0], message: `while away ${i + 1}` }));

    // Nothing else arrives twice, and the live stream goes on from there.
    const after = collector(cust, 'new-message');
    const m8 = await say(agent, order.id, 'welcome back');
    await after.waitFor(1);
    await barrier(cust);
    assert.deepEqual(after, [m8]);
    assert.equal(m8.seq, 8);
  });

  it('the same Socket object reconnecting (disconnect() / connect()) rejoins with since', async () => {
    const order = await makeOrder(server);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const cust = await joinAs(server, order.customer.id, order.id);
    let lastSeq = 0;
    cust.on('new-message', (m) => { lastSeq = Math.max(lastSeq, m.seq); });
    const got = nextWhere(cust, 'new-message', (m) => m.seq === 2);
    await say(agent, order.id, 'one');
    await say(agent, order.id, 'two');
    await got;
    cust.disconnect();
    const missed = [await say(agent, order.id, 'three'), await say(agent, order.id, 'four')];
    const reconnected = next(cust, 'connection-status');
    cust.connect();
    await reconnected;
    const data = await join(cust, { orderId: order.id, since: lastSeq });
    assert.deepEqual(data.messages, missed);
    assert.deepEqual(cust.previous, missed);
  });

  it('automatic reconnection after a dropped transport, rejoining with since, misses nothing', async () => {
    const order = await makeOrder(server);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const cust = await joinAs(server, order.customer.id, order.id, {
      reconnection: true,
      options: { reconnectionDelay: 100, reconnectionDelayMax: 100, randomizationFactor: 0 },
    });
    const received = [];
    cust.on('new-message', (m) => received.push(m));
    cust.on('previous-messages', (ms) => received.push(...ms));
    const first = nextWhere(cust, 'new-message', (m) => m.seq === 2);
    await say(agent, order.id, 'one');
    await say(agent, order.id, 'two');
    await first;

    let whileAway;
    const dropped = new Promise((resolve) => cust.once('disconnect', (reason) => {
      // Sent right when the client notices the drop, while it is out of the room.
      whileAway = (async () => [await say(agent, order.id, 'three'), await say(agent, order.id, 'four')])();
      resolve(reason);
    }));
    const back = new Promise((resolve) => cust.io.once('reconnect', resolve));
    cust.io.engine.transport.ws.terminate(); // the connection drops, as on a network failure
    assert.equal(await dropped, 'transport close');
    await back;
    const missed = await whileAway;
    const lastSeq = Math.max(...received.map((m) => m.seq));
    assert.equal(lastSeq, 2);
    const data = await join(cust, { orderId: order.id, since: lastSeq });
    assert.deepEqual(data.messages, missed);
    await barrier(cust);
    assert.deepEqual(seqs(received), [1, 2, 3, 4]);
  });

  it('since with more missed messages than limit pages forward with hasMore', async () => {
    const order = await makeOrder(server);
    const agent = await server.connect(server.token(order.agents[0].id));
    for (let i = 1; i <= 60; i++) await say(agent, order.id, `m${i}`);
    const cust = await server.connect(server.token(order.customer.id));
    let since = 10;
    const pages = [];
    for (;;) {
      const data = await join(cust, { orderId: order.id, since, limit: 25 });
      pages.push([seqs(data.messages), data.hasMore]);
      assert.deepEqual(cust.previous, data.messages);
      if (!data.hasMore) break;
      since = data.messages.at(-1).seq;
    }
    assert.deepEqual(pages, [[range(11, 35), true], [range(36, 60), false]]);
  });
});

describe('history pages', () => {
  it('without since: the latest `limit` messages, oldest first, hasMore right (default 50)', async () => {
    const order = await makeOrder(server);
    const agent = await server.connect(server.token(order.agents[0].id));
    for (let i = 1; i <= 55; i++) await say(agent, order.id, `m${i}`);
    const cust = await server.connect(server.token(order.customer.id));
    assertJoined(await join(cust, order.id), { orderId: order.id, seqs: range(6, 55), hasMore: true });
    assertJoined(await join(cust, { orderId: order.id }), { orderId: order.id, seqs: range(6, 55), hasMore: true });
    assertJoined(await join(cust, { orderId: order.id, limit: 10 }), { orderId: order.id, seqs: range(46, 55), hasMore: true });
    assertJoined(await join(cust, { orderId: order.id, limit: 54 }), { orderId: order.id, seqs: range(2, 55), hasMore: true });
    assertJoined(await join(cust, { orderId: order.id, limit: 55 }), { orderId: order.id, seqs: range(1, 55), hasMore: false });
    assertJoined(await join(cust, { orderId: order.id, limit: 200 }), { orderId: order.id, seqs: range(1, 55), hasMore: false });
    assertJoined(await join(cust, { orderId: order.id, limit: 1 }), { orderId: order.id, seqs: [55], hasMore: true });
  });

  it('an order with no messages: empty history, hasMore false', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    assertJoined(await join(cust, order.id), { orderId: order.id, seqs: [], hasMore: false, reads: {} });
    assert.deepEqual(cust.previous, []);
  });
});

describe('seq', () => {
  it('30 concurrent sends from several sockets on one order get seqs 1..30 exactly once each', async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Ngozi Eze' }],
    });
    const senders = [
      await server.connect(server.token(order.customer.id)),
      await server.connect(server.token(order.customer.id)),
      await server.connect(server.token(order.agents[0].id)),
      await server.connect(server.token(order.agents[1].id), { transports: ['polling'] }),
      await server.connect(server.token(order.agents[1].id)),
    ];
    const observer = await joinAs(server, { token: server.adminToken('ops@example.com') }, order.id);
    const live = collector(observer, 'new-message');
    const acks = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      call(senders[i % senders.length], 'send-message', { orderId: order.id, message: `c${i}`, clientMessageId: `c-${i}` })));
    const messages = acks.map(ackData);
    assert.deepEqual(seqs(messages).sort((a, b) => a - b), range(1, 30));
    assert.equal(new Set(messages.map((m) => m.id)).size, 30);
    // Each text got its own seq, and the room saw each exactly once.
    await live.waitFor(30);
    await barrier(observer);
    assert.equal(live.length, 30);
    assert.deepEqual(seqs(live).sort((a, b) => a - b), range(1, 30));
    const bySeq = new Map(messages.map((m) => [m.seq, m]));
    for (const m of live) assert.deepEqual(m, bySeq.get(m.seq));
    // The history agrees.
    const data = await join(observer, { orderId: order.id, limit: 200 });
    assert.deepEqual(seqs(data.messages), range(1, 30));
    for (const m of data.messages) assert.equal(m.id, bySeq.get(m.seq).id);
  });

  it('every order counts from 1, also when sending to several orders at once', async () => {
    const cust = { id: uid('cust'), name: 'Ada Obi' };
    const orders = await Promise.all([1, 2, 3].map(() => makeOrder(server, { customer: cust })));
    const s = await server.connect(server.token(cust.id));
    const acks = await Promise.all(orders.flatMap((o) => range(1, 8).map((i) => call(s, 'send-message', { orderId: o.id, message: `m${i}` }))));
    const messages = acks.map(ackData);
    for (const o of orders) {
      assert.deepEqual(seqs(messages.filter((m) => m.orderId === o.id)).sort((a, b) => a - b), range(1, 8));
    }
  });

  it('rejected and duplicate sends use up no seq', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    await say(cust, order.id, 'one', { clientMessageId: 'dup' });
    await call(cust, 'send-message', { orderId: order.id, message: '' });
    await call(cust, 'send-message', { orderId: order.id, message: 'one', clientMessageId: 'dup' });
    const dupes = await Promise.all(range(1, 5).map(() => call(cust, 'send-message', { orderId: order.id, message: 'two', clientMessageId: 'dup2' })));
    assert.deepEqual(dupes.map((a) => ackData(a).seq), [2, 2, 2, 2, 2]);
    assert.equal(new Set(dupes.map((a) => a.data.id)).size, 1);
    assert.equal((await say(cust, order.id, 'three')).seq, 3);
  });
});

describe('read markers', () => {
  it('never move back: up to 5 then up to 3 keeps 5, marked false, no messages-read', async () => {
    const order = await makeOrder(server);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const cust = await joinAs(server, order.customer.id, order.id);
    const msgs = [];
    for (let i = 1; i <= 6; i++) msgs.push(await say(agent, order.id, `m${i}`));
    const me = order.customer.id;
    const ev = next(agent, 'messages-read');
    const five = ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 5 }));
    assertReadResult(five, { orderId: order.id, userId: me, lastReadSeq: 5, marked: true });
    assert.equal((await ev).lastReadMessageId, msgs[4].id);

    const events = [collector(agent, 'messages-read'), collector(cust, 'messages-read')];
    const three = ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 3 }));
    assertReadResult(three, { orderId: order.id, userId: me, lastReadSeq: 5, marked: false });
    assert.equal(three.readAt, five.readAt);
    const zero = ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 0 }));
    assertReadResult(zero, { orderId: order.id, userId: me, lastReadSeq: 5, marked: false });
    // Through REST too.
    const rest = restData(await server.rest('POST', `/read/${order.id}`, server.token(me), { upToSeq: 2 }));
    assertReadResult(rest, { orderId: order.id, userId: me, lastReadSeq: 5, marked: false });
    await barrier(agent);
    await barrier(cust);
    assert.deepEqual(events, [[], []]);
    assert.deepEqual((await join(cust, order.id)).reads, { [me]: 5 });
    const history = await join(agent, order.id);
    assert.deepEqual(history.messages.map((m) => m.isRead), [true, true, true, true, true, false]);
  });

  it('concurrent marks end at the highest', async () => {
    const order = await makeOrder(server);
    const agent = await server.connect(server.token(order.agents[0].id));
    for (let i = 1; i <= 10; i++) await say(agent, order.id, `m${i}`);
    const tabs = [await server.connect(server.token(order.customer.id)), await server.connect(server.token(order.customer.id))];
    const acks = await Promise.all([7, 3, 10, 1, 9, 4].map((n, i) => call(tabs[i % 2], 'mark-messages-read', { orderId: order.id, upToSeq: n })));
    assert.ok(acks.every((a) => a.ok));
    assert.ok(acks.some((a) => a.data.lastReadSeq === 10 && a.data.marked));
    const data = await join(tabs[0], order.id);
    assert.deepEqual(data.reads, { [order.customer.id]: 10 });
  });

  it('isRead / readBy are derived from the other participants\' markers (group chat)', async () => {
    const tunde = { id: uid('agent'), name: 'Tunde Bello' };
    const ngozi = { id: uid('agent'), name: 'Ngozi Eze' };
    const order = await makeOrder(server, { agents: [tunde, ngozi] });
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const t = await joinAs(server, tunde.id, order.id);
    const n = await server.connect(server.token(ngozi.id));
    const m1 = await say(t, order.id, 'from tunde 1');
    const m2 = await say(t, order.id, 'from tunde 2');
    const m3 = await say(cust, order.id, 'from ada');
    for (const m of [m1, m2, m3]) assert.deepEqual([m.isRead, m.readBy], [false, []]);

    // The sender's own marker never counts for its messages.
    ackData(await call(t, 'mark-messages-read', order.id));
    ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 3 }));
    let data = await join(cust, order.id);
    assertMessage(data.messages[0], { id: m1.id, orderId: order.id, seq: 1, sender: p.agents[0], message: 'from tunde 1', isRead: true, readBy: [order.customer.id] });
    assertMessage(data.messages[1], { id: m2.id, orderId: order.id, seq: 2, sender: p.agents[0], message: 'from tunde 2', isRead: true, readBy: [order.customer.id] });
    assertMessage(data.messages[2], { id: m3.id, orderId: order.id, seq: 3, sender: p.customer, message: 'from ada', isRead: true, readBy: [tunde.id] });
    assert.deepEqual(data.reads, { [order.customer.id]: 3, [tunde.id]: 3 });

    // A second agent reads up to 1.
    ackData(await call(n, 'mark-messages-read', { orderId: order.id, upToSeq: 1 }));
    data = await join(cust, order.id);
    assert.deepEqual(data.messages.map((m) => [m.seq, m.isRead, [...m.readBy].sort()]), [
      [1, true, [order.customer.id, ngozi.id].sort()],
      [2, true, [order.customer.id]],
      [3, true, [tunde.id]],
    ]);
    // A new message is unread until someone else reads it.
    const m4 = await say(cust, order.id, 'anyone?');
    ackData(await call(cust, 'mark-messages-read', order.id));
    data = await join(t, order.id);
    assert.deepEqual([data.messages[3].seq, data.messages[3].isRead, data.messages[3].readBy], [4, false, []]);
    // The REST history shows the same.
    const page = restData(await server.rest('GET', `/messages/${order.id}`, server.token(ngozi.id)));
    assert.deepEqual(page.messages, data.messages);
    assert.equal(m4.seq, 4);
  });
});
