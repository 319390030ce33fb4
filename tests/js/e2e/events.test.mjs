// PROTOCOL.md section 3: every client event with its ack, the `error` event when there is no
// ack, validation errors, access (FORBIDDEN / ORDER_NOT_FOUND / ORDER_CLOSED, admins).
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid, call, next, collector, barrier, signToken } from '../lib/server.mjs';
import {
  ackData, assertAckError, assertErrorEvent, assertJoined, assertMessage, assertReadResult, assertKeys,
} from '../lib/shapes.mjs';
import { joinAs, join, say, people, senderOf } from '../lib/chat.mjs';
import { uploaded, pdf } from '../lib/media.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

describe('join-order-chat', () => {
  it('by id: ack {orderId, messages, hasMore, participants, reads} and previous-messages oldest first', async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Ngozi Eze' }],
    });
    const p = people(order);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const m1 = await say(agent, order.id, 'first');
    const m2 = await say(agent, order.id, 'second');

    const cust = await server.connect(server.token(order.customer.id));
    const prev = next(cust, 'previous-messages');
    const data = ackData(await call(cust, 'join-order-chat', order.id));
    assertJoined(data, {
      orderId: order.id, hasMore: false, seqs: [1, 2], reads: {},
      participants: [
        { id: order.customer.id, name: 'Ada Obi', type: 'customer', online: true },
        { id: order.agents[0].id, name: 'Tunde Bello', type: 'agent', online: true },
        { id: order.agents[1].id, name: 'Ngozi Eze', type: 'agent', online: false },
      ],
    });
    assertMessage(data.messages[0], { id: m1.id, orderId: order.id, seq: 1, sender: p.agents[0], message: 'first' });
    assertMessage(data.messages[1], { id: m2.id, orderId: order.id, seq: 2, sender: p.agents[0], message: 'second' });
    const previous = await prev;
    assert.ok(Array.isArray(previous));
    assert.deepEqual(previous, data.messages);
  });

  it('by order number: resolved to the id in the ack, the messages and the room', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.number);
    assert.equal(cust.joined.orderId, order.id);
    const agent = await joinAs(server, order.agents[0].id, { orderId: order.number });
    assert.equal(agent.joined.orderId, order.id);
    // The room is the id's: a message sent by id reaches the socket that joined by number, and a
    // message sent by number carries the id.
    const got = next(cust, 'new-message');
    const sent = await say(agent, order.number, 'by number');
    assert.equal(sent.orderId, order.id);
    assert.deepEqual(await got, sent);
    const got2 = next(agent, 'new-message');
    const sent2 = await say(cust, order.id, 'by id');
    assert.deepEqual(await got2, sent2);
    assert.deepEqual([sent.seq, sent2.seq], [1, 2]);
  });

  it('with {orderId, since, limit}: messages after since, oldest first, hasMore', async () => {
    const order = await makeOrder(server);
    const agent = await server.connect(server.token(order.agents[0].id));
    for (let i = 1; i <= 5; i++) await say(agent, order.id, `m${i}`);
    const cust = await server.connect(server.token(order.customer.id));
    const cases = [
      [{ orderId: order.id, since: 1, limit: 2 }, [2, 3], true],
      [{ orderId: order.id, since: 3 }, [4, 5], false],
      [{ orderId: order.id, since: 3, limit: 2 }, [4, 5], false],
      [{ orderId: order.id, since: 5 }, [], false],
      [{ orderId: order.id, since: 0 }, [1, 2, 3, 4, 5], false],
      [{ orderId: order.id, limit: 2 }, [4, 5], true],
      [{ orderId: order.id, limit: 5 }, [1, 2, 3, 4, 5], false],
      [{ orderId: order.id, limit: 200 }, [1, 2, 3, 4, 5], false],
      [{ orderId: order.id }, [1, 2, 3, 4, 5], false],
    ];
    for (const [payload, seqs, hasMore] of cases) {
      const data = await join(cust, payload);
      assertJoined(data, { orderId: order.id, seqs, hasMore });
      assert.deepEqual(cust.previous.map((m) => m.seq), seqs, JSON.stringify(payload));
      for (const m of data.messages) assert.equal(m.message, `m${m.seq}`);
    }
  });

  it('validation: missing payload, bad ids, limit outside 1..200, bad since → VALIDATION', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    assertAckError(await cust.timeout(5000).emitWithAck('join-order-chat'), 'VALIDATION');
    const bad = [
      null, 42, true, [], {}, { orderId: null }, { orderId: ['x'] }, { orderId: '' }, 'bad id!', 'x'.repeat(65), { orderId: 'a/b' },
      { orderId: order.id, limit: 0 }, { orderId: order.id, limit: 201 }, { orderId: order.id, limit: -5 },
      { orderId: order.id, limit: 'ten' }, { orderId: order.id, since: -1 }, { orderId: order.id, since: 'x' },
    ];
    for (const payload of bad) {
      assertAckError(await call(cust, 'join-order-chat', payload), 'VALIDATION');
    }
    // None of them joined the room.
    assertAckError(await call(cust, 'typing', { orderId: order.id, isTyping: true }), 'NOT_JOINED');
  });
});

describe('send-message', () => {
  it('ack data is the stored message; new-message carries the same to the room', async () => {
    const order = await makeOrder(server, {
      customer: { id: uid('cust'), name: 'Ada Obi', displayImage: 'https://cdn.example.com/ada.png' },
    });
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const toAgent = next(agent, 'new-message');
    const toSelf = next(cust, 'new-message');
    const data = ackData(await call(cust, 'send-message', { orderId: order.id, message: 'Please get the ripe plantains' }));
    assertMessage(data, { orderId: order.id, seq: 1, sender: p.customer, message: 'Please get the ripe plantains' });
    assert.equal(data.sender.displayImage, 'https://cdn.example.com/ada.png');
    assert.equal(data.createdAt, data.updatedAt);
    assert.deepEqual(await toAgent, data);
    assert.deepEqual(await toSelf, data);
  });

  it('imageUrl and clientMessageId are present only when set; an image alone needs no text', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const a = await say(cust, order.id, 'look', { imageUrl: 'https://cdn.example.com/p.jpg', clientMessageId: 'c-1' });
    assertMessage(a, { orderId: order.id, seq: 1, sender: p.customer, message: 'look', imageUrl: 'https://cdn.example.com/p.jpg', clientMessageId: 'c-1' });
    const b = await say(cust, order.id, '', { imageUrl: 'https://cdn.example.com/q.jpg' });
    assertMessage(b, { orderId: order.id, seq: 2, sender: p.customer, message: '', imageUrl: 'https://cdn.example.com/q.jpg' });
    const c = await say(cust, order.id, 'plain', { imageUrl: null, clientMessageId: null });
    assertMessage(c, { orderId: order.id, seq: 3, sender: p.customer, message: 'plain' });
    // http: only on loopback.
    const d = await say(cust, order.id, 'local', { imageUrl: 'http://127.0.0.1:8090/a.png' });
    assertMessage(d, { orderId: order.id, seq: 4, sender: p.customer, message: 'local', imageUrl: 'http://127.0.0.1:8090/a.png' });
    const e = await say(cust, order.id, 'local', { imageUrl: 'http://localhost/a.png' });
    assert.equal(e.imageUrl, 'http://localhost/a.png');
    // History shows the same.
    const data = await join(cust, order.id);
    assert.deepEqual(data.messages.map(({ isRead, readBy, ...m }) => m), [a, b, c, d, e].map(({ isRead, readBy, ...m }) => m));
  });

  it('attachmentIds (the sender\'s uploads, at most 10) are rendered as attachment objects; attachments alone need no text', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const token = server.token(order.customer.id);
    const files = [];
    for (let i = 0; i < 10; i++) files.push(await uploaded(server, token, order.id, `f${i}.pdf`, pdf()));
    const a = await say(cust, order.id, '', { attachmentIds: [files[0].id, files[1].id] });
    assertMessage(a, { orderId: order.id, seq: 1, sender: p.customer, message: '', attachments: a.attachments });
    assert.deepEqual(a.attachments.map((x) => x.id), [files[0].id, files[1].id]);
    const ten = files.slice(2).map((f) => f.id);
    for (const attachmentIds of [[...files.map((f) => f.id), 'att-10'], ['bad id!'], [1], 'att-1', [{ id: 'x' }], ['no-such-upload']]) {
      assertAckError(await call(cust, 'send-message', { orderId: order.id, message: 'x', attachmentIds }), 'VALIDATION');
    }
    const b = await say(cust, order.id, 'eight', { attachmentIds: ten });
    assert.deepEqual(b.attachments.map((x) => x.id), ten);
    const data = await join(cust, order.id);
    assert.deepEqual(data.messages.map((m) => m.attachments.map((x) => x.id)), [a, b].map((m) => m.attachments.map((x) => x.id)));
  });

  it('text is stored as plain text, 1–4,000 characters after trimming', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const html = await say(cust, order.id, '<img src=x onerror=alert(1)> & "quotes"');
    assert.equal(html.message, '<img src=x onerror=alert(1)> & "quotes"');
    const max = await say(cust, order.id, 'é'.repeat(4000));
    assert.equal([...max.message].length, 4000);
    const padded = await say(cust, order.id, `   ${'a'.repeat(4000)}   `);
    assert.equal(padded.message.trim(), 'a'.repeat(4000));
    const multi = await say(cust, order.id, 'line 1\nline 2\ttab');
    assert.equal(multi.message, 'line 1\nline 2\ttab');
    assertAckError(await call(cust, 'send-message', { orderId: order.id, message: 'a'.repeat(4001) }), 'VALIDATION');
  });

  it('validation errors → VALIDATION, nothing stored or broadcast', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const seen = collector(agent, 'new-message');
    const o = order.id;
    const bad = [
      { orderId: o, message: '' },
      { orderId: o, message: '   \n\t ' },
      { orderId: o },
      { orderId: o, message: null },
      { orderId: o, message: 5 },
      { orderId: o, message: { text: 'x' } },
      { orderId: o, message: 'a'.repeat(4001) },
      { orderId: o, message: 'a\u0000b' },
      { orderId: o, message: 'x', imageUrl: 'javascript:alert(1)' },
      { orderId: o, message: 'x', imageUrl: 'http://example.com/a.png' },
      { orderId: o, message: 'x', imageUrl: 'ftp://cdn.example.com/a.png' },
      { orderId: o, message: 'x', imageUrl: `https://cdn.example.com/${'a'.repeat(2048)}` },
      { orderId: o, message: 'x', imageUrl: 42 },
      { orderId: o, message: 'x', clientMessageId: { a: 1 } },
      { orderId: o, message: 'x', clientMessageId: 'bad id!' },
      { orderId: o, message: 'x', attachmentIds: 'a' },
      { message: 'x' },
      { orderId: 'bad id!', message: 'x' },
      { orderId: 'x'.repeat(65), message: 'x' },
      o,
      null,
      [o, 'x'],
    ];
    for (const payload of bad) {
      assertAckError(await call(cust, 'send-message', payload), 'VALIDATION');
    }
    assertAckError(await cust.timeout(5000).emitWithAck('send-message'), 'VALIDATION');
    await barrier(agent);
    assert.deepEqual(seen, []);
    // No seq was used up.
    const ok = await say(cust, o, 'valid');
    assert.equal(ok.seq, 1);
  });

  it('a repeated clientMessageId acks the original (same id and seq) with no second new-message', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const seen = collector(agent, 'new-message');
    const first = await say(cust, order.id, 'once', { clientMessageId: 'c-77' });
    await seen.waitFor(1);
    const again = ackData(await call(cust, 'send-message', { orderId: order.id, message: 'once', clientMessageId: 'c-77' }));
    assertMessage(again, { id: first.id, orderId: order.id, seq: 1, sender: p.customer, message: 'once', clientMessageId: 'c-77' });
    assert.equal(again.createdAt, first.createdAt);
    // Another text with the same clientMessageId is still the original.
    const third = ackData(await call(cust, 'send-message', { orderId: order.id, message: 'changed', clientMessageId: 'c-77' }));
    assert.equal(third.id, first.id);
    assert.equal(third.message, 'once');
    await barrier(agent);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], first);
    // The same clientMessageId from another sender is a new message.
    const other = await say(agent, order.id, 'mine', { clientMessageId: 'c-77' });
    assert.equal(other.seq, 2);
    assert.notEqual(other.id, first.id);
    // History holds two messages.
    const data = await join(cust, order.id);
    assert.deepEqual(data.messages.map((m) => m.seq), [1, 2]);
  });

  it('token claims fill a profile the directory lacks, and never override the directory', async () => {
    const order = await makeOrder(server);
    // The directory knows the customer as Ada Obi: the token's claims do not change that.
    const cust = await server.connect(server.token(order.customer.id, { name: 'Someone Else', type: 'agent', displayImage: 'https://cdn.example.com/x.png' }));
    assert.equal(cust.status.userType, 'customer');
    const mine = await say(cust, order.id, 'hi');
    assert.deepEqual(mine.sender, { id: order.customer.id, name: 'Ada Obi', displayImage: null, type: 'customer' });
    // An admin the directory does not know is shown with the token's name and image.
    const admin = await server.connect(signToken({ authKey: 'olu@example.com', tokenType: 'admin', name: 'Olu (Support)', displayImage: 'https://cdn.example.com/olu.png' }, server.adminSecret));
    const msg = await say(admin, order.id, 'Support here');
    assert.deepEqual(msg.sender, { id: 'olu@example.com', name: 'Olu (Support)', displayImage: 'https://cdn.example.com/olu.png', type: 'admin' });
  });

  it('the same clientMessageId on another order is a new message', async () => {
    const agentUser = { id: uid('agent'), name: 'Tunde Bello' };
    const o1 = await makeOrder(server, { agents: [agentUser] });
    const o2 = await makeOrder(server, { agents: [agentUser] });
    const agent = await server.connect(server.token(agentUser.id));
    const a = await say(agent, o1.id, 'x', { clientMessageId: 'same' });
    const b = await say(agent, o2.id, 'x', { clientMessageId: 'same' });
    assert.notEqual(a.id, b.id);
    assert.deepEqual([a.orderId, a.seq, b.orderId, b.seq], [o1.id, 1, o2.id, 1]);
  });

  it('a participant may send without joining; the room still gets new-message', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await server.connect(server.token(order.agents[0].id));
    const got = next(cust, 'new-message');
    const sent = await say(agent, order.id, 'from outside the room');
    assert.deepEqual(await got, sent);
  });
});

describe('typing, leave-order-chat', () => {
  it('typing before joining → NOT_JOINED; after joining → ok', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    assertAckError(await call(cust, 'typing', { orderId: order.id, isTyping: true }), 'NOT_JOINED');
    await join(cust, order.id);
    const data = ackData(await call(cust, 'typing', { orderId: order.id, isTyping: true }));
    assert.deepEqual(data, { orderId: order.id, isTyping: true });
    assert.deepEqual(ackData(await call(cust, 'typing', { orderId: order.number, isTyping: false })), { orderId: order.id, isTyping: false });
  });

  it('typing validation: isTyping must be a boolean, orderId required', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    for (const payload of [
      { orderId: order.id }, { orderId: order.id, isTyping: 'yes' }, { orderId: order.id, isTyping: 1 },
      { orderId: order.id, isTyping: null }, { isTyping: true }, order.id, null,
    ]) {
      assertAckError(await call(cust, 'typing', payload), 'VALIDATION');
    }
  });

  it('leave-order-chat acks, leaves the room (no more new-message, typing → NOT_JOINED)', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    assert.deepEqual(ackData(await call(cust, 'leave-order-chat', order.id)), { orderId: order.id });
    const seen = collector(cust, 'new-message');
    await say(agent, order.id, 'after leaving');
    await barrier(cust);
    assert.deepEqual(seen, []);
    assertAckError(await call(cust, 'typing', { orderId: order.id, isTyping: true }), 'NOT_JOINED');
    // Leaving by order number, in object form, and leaving a chat not joined are all fine.
    await join(cust, order.id);
    assert.deepEqual(ackData(await call(cust, 'leave-order-chat', { orderId: order.number })), { orderId: order.id });
    assert.deepEqual(ackData(await call(cust, 'leave-order-chat', order.id)), { orderId: order.id });
    assertAckError(await call(cust, 'leave-order-chat', 'bad id!'), 'VALIDATION');
    assertAckError(await call(cust, 'leave-order-chat', null), 'VALIDATION');
  });
});

describe('mark-messages-read', () => {
  it('without upToSeq marks up to the latest; with upToSeq up to it; ack {orderId, userId, lastReadSeq, readAt, marked}', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    for (let i = 1; i <= 4; i++) await say(agent, order.id, `m${i}`);
    const userId = order.customer.id;
    assertReadResult(ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 2 })),
      { orderId: order.id, userId, lastReadSeq: 2, marked: true });
    assertReadResult(ackData(await call(cust, 'mark-messages-read', order.id)),
      { orderId: order.id, userId, lastReadSeq: 4, marked: true });
    assertReadResult(ackData(await call(cust, 'mark-messages-read', { orderId: order.id })),
      { orderId: order.id, userId, lastReadSeq: 4, marked: false });
    await say(agent, order.id, 'm5');
    assertReadResult(ackData(await call(cust, 'mark-messages-read', { orderId: order.number })),
      { orderId: order.id, userId, lastReadSeq: 5, marked: true });
    const data = await join(cust, order.id);
    assert.deepEqual(data.reads, { [userId]: 5 });
  });

  it('upToSeq beyond the latest message stops at the latest; an empty chat marks nothing', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    assertReadResult(ackData(await call(cust, 'mark-messages-read', order.id)),
      { orderId: order.id, userId: order.customer.id, lastReadSeq: 0, marked: false });
    const agent = await server.connect(server.token(order.agents[0].id));
    await say(agent, order.id, 'one');
    await say(agent, order.id, 'two');
    assertReadResult(ackData(await call(cust, 'mark-messages-read', { orderId: order.id, upToSeq: 99 })),
      { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, marked: true });
  });

  it('marking read does not need a joined socket', async () => {
    const order = await makeOrder(server);
    const agent = await server.connect(server.token(order.agents[0].id));
    await say(agent, order.id, 'one');
    const cust = await server.connect(server.token(order.customer.id));
    assertReadResult(ackData(await call(cust, 'mark-messages-read', order.id)),
      { orderId: order.id, userId: order.customer.id, lastReadSeq: 1, marked: true });
  });

  it('validation: upToSeq must be a non-negative integer', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    for (const payload of [{ orderId: order.id, upToSeq: '3' }, { orderId: order.id, upToSeq: -1 },
      { orderId: order.id, upToSeq: 1.5 }, { upToSeq: 1 }, 'bad id!', null, 7]) {
      assertAckError(await call(cust, 'mark-messages-read', payload), 'VALIDATION');
    }
  });
});

describe('the error event (no ack callback)', () => {
  it('a failing event without an ack gets `error` {message, code, event, orderId}', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));

    let err = next(cust, 'error');
    cust.emit('send-message', { orderId: order.id, message: '' });
    assertErrorEvent(await err, { code: 'VALIDATION', event: 'send-message', orderId: order.id });

    err = next(cust, 'error');
    cust.emit('typing', { orderId: order.id, isTyping: true });
    assertErrorEvent(await err, { code: 'NOT_JOINED', event: 'typing', orderId: order.id });

    const missing = uid('order');
    err = next(cust, 'error');
    cust.emit('join-order-chat', missing);
    assertErrorEvent(await err, { code: 'ORDER_NOT_FOUND', event: 'join-order-chat', orderId: missing });

    err = next(cust, 'error');
    cust.emit('mark-messages-read', { orderId: order.id, upToSeq: 'x' });
    assertErrorEvent(await err, { code: 'VALIDATION', event: 'mark-messages-read', orderId: order.id });

    err = next(cust, 'error');
    cust.emit('leave-order-chat', missing);
    assertErrorEvent(await err, { code: 'ORDER_NOT_FOUND', event: 'leave-order-chat', orderId: missing });
    assert.equal(cust.connected, true);
  });

  it('a payload with no orderId gives an `error` without orderId', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    const err = next(cust, 'error');
    cust.emit('send-message', { message: 'no order' });
    assertErrorEvent(await err, { code: 'VALIDATION', event: 'send-message' });
  });

  it('an unknown event → VALIDATION "Unknown event: <name>" (ack or error event)', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    assertAckError(await call(cust, 'delete-everything', { orderId: order.id }), 'VALIDATION', 'Unknown event: delete-everything');
    const err = next(cust, 'error');
    cust.emit('sendMessage', { orderId: order.id, message: 'x' });
    assertErrorEvent(await err, { code: 'VALIDATION', event: 'sendMessage', message: 'Unknown event: sendMessage' });
    assert.equal(cust.connected, true);
  });

  it('a successful event without an ack works and sends no error', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const errors = collector(cust, 'error');
    const agentErrors = collector(agent, 'error');
    const got = next(cust, 'new-message');
    cust.emit('send-message', { orderId: order.id, message: 'fire and forget' });
    assertMessage(await got, { orderId: order.id, seq: 1, sender: people(order).customer, message: 'fire and forget' });
    const typing = next(agent, 'user-typing');
    cust.emit('typing', { orderId: order.id, isTyping: true });
    assert.equal((await typing).isTyping, true);
    const read = next(cust, 'messages-read');
    agent.emit('mark-messages-read', order.id);
    assert.equal((await read).lastReadSeq, 1);
    // Each handler has finished (its effect arrived), so an error from it would be here by now.
    await barrier(cust);
    await barrier(agent);
    assert.deepEqual(errors, []);
    assert.deepEqual(agentErrors, []);
  });
});

describe('access', () => {
  const everyEvent = (orderRef) => [
    ['join-order-chat', orderRef],
    ['join-order-chat', { orderId: orderRef, since: 0 }],
    ['send-message', { orderId: orderRef, message: 'let me in' }],
    ['typing', { orderId: orderRef, isTyping: true }],
    ['leave-order-chat', orderRef],
    ['mark-messages-read', orderRef],
    ['mark-messages-read', { orderId: orderRef, upToSeq: 1 }],
  ];

  it('the customer of another order gets FORBIDDEN on every event of this order (by id and by number)', async () => {
    const order = await makeOrder(server);
    const other = await makeOrder(server);
    const insider = await joinAs(server, order.customer.id, order.id);
    await say(insider, order.id, 'secret');
    const seen = collector(insider, 'new-message');
    const joined = collector(insider, 'user-joined');
    const stranger = await server.connect(server.token(other.customer.id));
    const history = collector(stranger, 'previous-messages');
    for (const ref of [order.id, order.number]) {
      for (const [ev, payload] of everyEvent(ref)) {
        assertAckError(await call(stranger, ev, payload), 'FORBIDDEN', undefined);
      }
    }
    await barrier(stranger);
    await barrier(insider);
    assert.deepEqual(history, []);
    assert.deepEqual(seen, []);
    assert.deepEqual(joined, []);
    // The stranger was never put in the room.
    const strangerSeen = collector(stranger, 'new-message');
    await say(insider, order.id, 'still secret');
    await barrier(stranger);
    assert.deepEqual(strangerSeen, []);
    assert.equal(stranger.connected, true);
  });

  it('the agent of another order gets FORBIDDEN on every event of this order', async () => {
    const order = await makeOrder(server);
    const other = await makeOrder(server);
    const agent = await server.connect(server.token(other.agents[0].id));
    for (const [ev, payload] of everyEvent(order.id)) {
      assertAckError(await call(agent, ev, payload), 'FORBIDDEN');
    }
    // …and the error event without an ack.
    const err = next(agent, 'error');
    agent.emit('send-message', { orderId: order.id, message: 'x' });
    assertErrorEvent(await err, { code: 'FORBIDDEN', event: 'send-message', orderId: order.id });
    // Its own order still works.
    await join(agent, other.id);
    assert.equal(agent.joined.orderId, other.id);
  });

  it('a user unknown to the order (token-only user) gets FORBIDDEN', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(uid('nobody'), { name: 'Nobody', type: 'agent' }));
    for (const [ev, payload] of everyEvent(order.id)) {
      assertAckError(await call(s, ev, payload), 'FORBIDDEN');
    }
  });

  it('an admin may join, read, send, type and mark read on any order', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    await say(cust, order.id, 'hello?');
    const admin = await server.connect(server.adminToken('ops@example.com'));
    const data = await join(admin, order.id);
    assertJoined(data, { orderId: order.id, seqs: [1], hasMore: false });
    const got = next(cust, 'new-message');
    const msg = await say(admin, order.id, 'Support here');
    assert.equal(msg.senderId, 'ops@example.com');
    assert.equal(msg.senderType, 'admin');
    assertKeys(msg.sender, ['id', 'name', 'displayImage', 'type']);
    assert.equal(msg.sender.id, 'ops@example.com');
    assert.equal(msg.sender.type, 'admin');
    assert.equal(typeof msg.sender.name, 'string');
    assert.deepEqual(await got, msg);
    assert.equal(ackData(await call(admin, 'typing', { orderId: order.id, isTyping: true })).isTyping, true);
    assertReadResult(ackData(await call(admin, 'mark-messages-read', order.id)),
      { orderId: order.id, userId: 'ops@example.com', lastReadSeq: 2, marked: true });
    // An admin's marker is not a read receipt of the order's participants.
    const again = await join(cust, order.id);
    assert.deepEqual(again.messages.map((m) => [m.seq, m.isRead, m.readBy]), [[1, false, []], [2, false, []]]);
    assert.deepEqual(ackData(await call(admin, 'leave-order-chat', order.id)), { orderId: order.id });
  });

  it('an unknown order (id or number) → ORDER_NOT_FOUND on every event', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    for (const ref of [uid('order'), 'B2S-NOSUCH']) {
      for (const [ev, payload] of everyEvent(ref)) {
        assertAckError(await call(cust, ev, payload), 'ORDER_NOT_FOUND', undefined);
      }
    }
    const admin = await server.connect(server.adminToken('ops@example.com'));
    assertAckError(await call(admin, 'join-order-chat', uid('order')), 'ORDER_NOT_FOUND');
  });

  for (const status of ['completed', 'cancelled']) {
    it(`a ${status} order: send → ORDER_CLOSED; join, history, typing and mark-read still work`, async () => {
      const order = await makeOrder(server);
      const cust = await joinAs(server, order.customer.id, order.id);
      const agent = await joinAs(server, order.agents[0].id, order.id);
      await say(agent, order.id, 'delivered!');
      const updated = next(agent, 'order-updated');
      await server.putOrder(order.id, { orderNumber: order.number, status, customer: order.customer, agents: order.agents });
      await updated;
      const seen = collector(agent, 'new-message');
      assertAckError(await call(cust, 'send-message', { orderId: order.id, message: 'thanks' }), 'ORDER_CLOSED');
      assertAckError(await call(agent, 'send-message', { orderId: order.id, message: 'bye', clientMessageId: 'c-1' }), 'ORDER_CLOSED');
      const err = next(cust, 'error');
      cust.emit('send-message', { orderId: order.id, message: 'thanks' });
      assertErrorEvent(await err, { code: 'ORDER_CLOSED', event: 'send-message', orderId: order.id });
      const later = await server.connect(server.token(order.customer.id));
      const data = await join(later, order.id);
      assert.deepEqual(data.messages.map((m) => [m.seq, m.senderType, m.message]),
        [[1, 'agent', 'delivered!'], [2, 'system', `Order status changed to ${status}`]]);
      assert.deepEqual(ackData(await call(later, 'typing', { orderId: order.id, isTyping: true })), { orderId: order.id, isTyping: true });
      assertReadResult(ackData(await call(later, 'mark-messages-read', order.id)),
        { orderId: order.id, userId: order.customer.id, lastReadSeq: 2, marked: true });
      await barrier(agent);
      assert.deepEqual(seen, []);
    });
  }

  it('no event failure disconnects the socket', async () => {
    const order = await makeOrder(server);
    const other = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    const disconnects = collector(cust, 'disconnect');
    const errors = collector(cust, 'error');
    const failures = [
      ['join-order-chat', uid('order')], ['join-order-chat', other.id], ['join-order-chat', { orderId: order.id, limit: 0 }],
      ['send-message', { orderId: order.id, message: '' }], ['send-message', { orderId: other.id, message: 'x' }],
      ['send-message', 'garbage'], ['typing', { orderId: order.id, isTyping: true }], ['typing', 'garbage'],
      ['leave-order-chat', other.id], ['mark-messages-read', { orderId: order.id, upToSeq: 'x' }], ['no-such-event', 1],
    ];
    for (const [ev, payload] of failures) {
      assert.equal((await call(cust, ev, payload)).ok, false, ev);
      cust.emit(ev, payload);
    }
    // One `error` event per failure sent without an ack (handlers may finish in any order).
    await errors.waitFor(failures.length);
    assert.deepEqual(errors.map((e) => e.event).sort(), failures.map(([ev]) => ev).sort());
    assert.equal(cust.connected, true);
    assert.deepEqual(disconnects, []);
    await join(cust, order.id);
    const msg = await say(cust, order.id, 'still here');
    assert.equal(msg.seq, 1);
    assert.equal(errors.length, failures.length);
    assert.equal(cust.connected, true);
  });
});
