// PROTOCOL.md section 11 (and the choices of section 9 about it): replies, edits, deletes and
// reactions over Socket.IO and REST; who may do what and in which order the checks apply; the
// live events (to the room, the sender's sockets included, never to outsiders); no-ops that
// broadcast nothing; the windows; the audit trail; unread counts and the chat list.
// The change stream (`rev`, `sinceRev`) is in catchup.test.mjs.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, NO_LIMITS, makeOrder, uid, call, next, collector, barrier } from '../lib/server.mjs';
import {
  ackData, assertAckError, assertErrorEvent, assertMessage, assertTombstone, assertReactionResult,
  assertReactionUpdated, assertRestError, assertRevisions, assertPage, assertReadResult, quoteOf, reactionList,
  restData,
} from '../lib/shapes.mjs';
import {
  joinAs, join, say, people, edit, del, react, unreact, timeline, isNewMessage, assertQuietUntilMarker,
} from '../lib/chat.mjs';
import { uploaded, pdf } from '../lib/media.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const ADMIN = 'ops@example.com';

/** The full REST history of an order (oldest first) as `userId` reads it: {messages, hasMore, rev}. */
async function fullHistory(srv, order, userId = order.customer.id) {
  const d = restData(await srv.rest('GET', `/orders/${order.id}/messages?limit=200`, srv.token(userId)));
  assertPage(d, { hasMore: false });
  return d;
}
const byId = (page, id) => {
  const m = page.messages.find((x) => x.id === id);
  assert.ok(m, `message ${id} is in the history`);
  return m;
};

async function setStatus(srv, order, status) {
  await srv.putOrder(order.id, { orderNumber: order.number, status, customer: order.customer, agents: order.agents });
}

/** Change the order's status so the server writes a system message; resolves with it. */
async function systemMessage(srv, order, status = 'delivery') {
  await setStatus(srv, order, status);
  const m = (await fullHistory(srv, order)).messages.at(-1);
  assert.equal(m.senderType, 'system');
  return m;
}

/**
 * An order with its customer and agent joined (each socket's change events recorded in `tl`), and
 * a stranger (the customer of another order) connected, refused, and recording too.
 */
async function room(srv = server, o = {}) {
  const order = await makeOrder(srv, o);
  const p = people(order);
  const cust = await joinAs(srv, order.customer.id, order.id);
  const agent = await joinAs(srv, order.agents[0].id, order.id);
  const other = await makeOrder(srv);
  const stranger = await srv.connect(srv.token(other.customer.id));
  assertAckError(await call(stranger, 'join-order-chat', order.id), 'FORBIDDEN');
  const tl = { cust: timeline(cust), agent: timeline(agent), stranger: timeline(stranger) };
  return { order, o: order.id, p, cust, agent, other, stranger, tl };
}

/** The stranger saw nothing at all (after everything else arrived at the participants). */
async function strangerSawNothing(r) {
  await barrier(r.stranger);
  assert.deepEqual(r.tl.stranger, [], 'nothing reaches a non-participant');
}

/**
 * Wait until the customer's and the agent's sockets have received the event of the order's latest
 * change (every change event carries its rev), then return their timelines' lengths: the marks
 * for assertQuietUntilMarker.
 */
async function settled(r, srv = server) {
  const { rev } = await fullHistory(srv, r.order);
  const tls = [r.tl.cust, r.tl.agent];
  if (rev > 0) await Promise.all(tls.map((t) => t.waitFor((x) => x.data.rev >= rev)));
  return tls.map((t) => t.length);
}

const updatedOf = (id) => (x) => x.event === 'message-updated' && x.data.id === id;
const deletedOf = (id) => (x) => x.event === 'message-deleted' && x.data.id === id;
const reactionOf = (id, rev) => (x) => x.event === 'reaction-updated' && x.data.messageId === id && x.data.rev === rev;

describe('replies (send-message with replyToId)', () => {
  it('the reply carries replyTo {id, seq, senderId, senderName, preview, deleted:false}, live, in the ack and in history', async () => {
    const r = await room();
    const { o, p, cust, agent, tl } = r;
    const original = await say(cust, o, 'Please get the ripe plantains');
    assertMessage(original, { orderId: o, seq: 1, sender: p.customer, message: 'Please get the ripe plantains' });
    const reply = await say(agent, o, 'Found them', { replyToId: original.id });
    assertMessage(reply, {
      orderId: o, seq: 2, sender: p.agents[0], message: 'Found them',
      replyTo: quoteOf(original, 'Please get the ripe plantains'),
    });
    assert.deepEqual(reply.replyTo, {
      id: original.id, seq: 1, senderId: r.order.customer.id, senderName: 'Ada Obi',
      preview: 'Please get the ripe plantains', deleted: false,
    });
    assert.ok(reply.rev > original.rev, 'the reply took a later rev');
    for (const t of [tl.cust, tl.agent]) assert.deepEqual((await t.waitFor(isNewMessage(reply.id))).data, reply);
    const h = await fullHistory(server, r.order);
    assert.deepEqual(byId(h, reply.id), reply);
    // Being replied to is no change of the original.
    assert.deepEqual(byId(h, original.id), original);
    // null is no reply; an admin may reply; a reply to a system message quotes "System".
    const plain = await say(cust, o, 'no reply', { replyToId: null });
    assertMessage(plain, { orderId: o, seq: 3, sender: p.customer, message: 'no reply' });
    const admin = await server.connect(server.adminToken(ADMIN));
    const fromAdmin = await say(admin, o, 'Support here', { replyToId: reply.id });
    assert.deepEqual(fromAdmin.replyTo, quoteOf(reply, 'Found them'));
    const sys = await systemMessage(server, r.order);
    const toSys = await say(cust, o, 'On its way?', { replyToId: sys.id });
    assert.deepEqual(toSys.replyTo, {
      id: sys.id, seq: sys.seq, senderId: 'system', senderName: 'System', preview: 'Order status changed to delivery', deleted: false,
    });
    await strangerSawNothing(r);
  });

  it('POST /orders/{orderId}/messages takes replyToId too', async () => {
    const r = await room();
    const original = await say(r.cust, r.o, 'Which brand?');
    const res = await server.rest('POST', `/orders/${r.o}/messages`, server.token(r.order.agents[0].id),
      { message: 'Dangote', replyToId: original.id });
    const reply = restData(res, 201);
    assertMessage(reply, { orderId: r.o, seq: 2, sender: r.p.agents[0], message: 'Dangote', replyTo: quoteOf(original, 'Which brand?') });
    assert.deepEqual((await r.tl.cust.waitFor(isNewMessage(reply.id))).data, reply);
    for (const body of [{ message: 'x', replyToId: randomUUID() }, { message: 'x', replyToId: 5 }, { message: 'x', replyToId: 'bad id!' }]) {
      const bad = await server.rest('POST', `/orders/${r.o}/messages`, server.token(r.order.customer.id), body);
      assertRestError(bad, 400, 'VALIDATION');
      assert.match(bad.body.message, /replyToId/);
    }
  });

  it('preview: the first 140 characters (code points) of the text, cut exactly, no ellipsis; the whole text when shorter', async () => {
    const r = await room();
    const texts = [
      'a😀'.repeat(100), // 200 characters, 300 UTF-16 units
      'b'.repeat(140),
      `${'c'.repeat(139)}é!`,
      'short',
      'line one\nline two\tand a tab',
      '<b>not html</b> & "quotes"',
      `${'word '.repeat(27)}xyzzy`, // 140 characters: the cut ends exactly on the last one
    ];
    for (const text of texts) {
      const original = await say(r.cust, r.o, text);
      const reply = await say(r.agent, r.o, 're', { replyToId: original.id });
      const want = [...original.message].slice(0, 140).join('');
      assert.equal(reply.replyTo.preview, want, JSON.stringify(text.slice(0, 20)));
      assert.equal([...reply.replyTo.preview].length, Math.min(140, [...original.message].length));
      assert.equal(reply.replyTo.deleted, false);
    }
  });

  it('the preview follows the original: its edit shows the new text; once deleted, deleted:true and no preview', async () => {
    const r = await room();
    const original = await say(r.cust, r.o, 'Ripe plantains please');
    const reply = await say(r.agent, r.o, 'Sure', { replyToId: original.id });
    const edited = await edit(r.cust, r.o, original.id, 'Green plantains please, I changed my mind');
    let h = await fullHistory(server, r.order);
    assert.deepEqual(byId(h, reply.id).replyTo, quoteOf(edited, 'Green plantains please, I changed my mind'));
    const long = 'x'.repeat(150);
    await edit(r.cust, r.o, original.id, long);
    h = await fullHistory(server, r.order);
    assert.equal(byId(h, reply.id).replyTo.preview, 'x'.repeat(140));
    await del(r.cust, r.o, original.id);
    h = await fullHistory(server, r.order);
    const quote = byId(h, reply.id).replyTo;
    assert.deepEqual(quote, { id: original.id, seq: original.seq, senderId: original.senderId, senderName: 'Ada Obi', deleted: true });
    assert.ok(!('preview' in quote));
    // The reply itself is otherwise unchanged.
    assertMessage(byId(h, reply.id), {
      id: reply.id, orderId: r.o, seq: reply.seq, sender: r.p.agents[0], message: 'Sure', replyTo: quote,
    });
  });

  it('replyToId unknown, of another order, deleted, or not an id → VALIDATION naming replyToId; nothing stored or broadcast', async () => {
    const r = await room();
    const outsider = await server.connect(server.token(r.other.customer.id));
    const elsewhere = await say(outsider, r.other.id, 'elsewhere');
    const gone = await say(r.cust, r.o, 'gone soon');
    await del(r.cust, r.o, gone.id);
    const marks = await settled(r);
    const bad = [randomUUID(), elsewhere.id, gone.id, 5, true, {}, ['x'], '', 'bad id!', 'x'.repeat(65)];
    for (const replyToId of bad) {
      const ack = await call(r.cust, 'send-message', { orderId: r.o, message: 'a reply', replyToId });
      assertAckError(ack, 'VALIDATION', /replyToId/);
    }
    const marker = await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.agent, r.o, 'marker'));
    assert.equal(marker.seq, 2, 'no seq was used up');
    await strangerSawNothing(r);
  });
});

describe('edit-message', () => {
  it('the sender edits: the ack is the whole message with editedAt and a new rev; message-updated to the room, sender included, not outside', async () => {
    const r = await room();
    const { o, p, cust, agent, tl } = r;
    const question = await say(agent, o, 'How many?');
    const m = await say(cust, o, 'Two plantains', { replyToId: question.id, clientMessageId: 'c-1' });
    const reacted = await react(agent, o, m.id, '👍');
    const edited = await edit(cust, o, m.id, 'Three plantains');
    assertMessage(edited, {
      id: m.id, orderId: o, seq: m.seq, sender: p.customer, message: 'Three plantains', clientMessageId: 'c-1',
      editedAt: true, replyTo: quoteOf(question, 'How many?'), reactions: reacted.reactions,
    });
    assert.equal(edited.createdAt, m.createdAt);
    assert.ok(edited.rev > reacted.rev, `rev ${edited.rev} > ${reacted.rev}`);
    for (const t of [tl.agent, tl.cust]) assert.deepEqual((await t.waitFor(updatedOf(m.id))).data, edited);
    assert.deepEqual(byId(await fullHistory(server, r.order), m.id), edited);
    // Again: a later editedAt and rev.
    const again = await edit(cust, o, m.id, 'Four plantains');
    assert.equal(again.message, 'Four plantains');
    assert.ok(again.rev > edited.rev);
    assert.ok(Date.parse(again.editedAt) >= Date.parse(edited.editedAt));
    for (const t of [tl.agent, tl.cust]) {
      assert.deepEqual((await t.waitFor((x) => updatedOf(m.id)(x) && x.data.rev === again.rev)).data, again);
    }
    // An order number addresses the order too; the events carry the id.
    const third = await edit(cust, r.order.number, m.id, 'Five plantains');
    assert.equal(third.orderId, o);
    await tl.agent.waitFor((x) => x.event === 'message-updated' && x.data.rev === third.rev);
    // A never-edited message has no editedAt key.
    assert.ok(!('editedAt' in question));
    assert.ok(!('editedAt' in byId(await fullHistory(server, r.order), question.id)));
    await strangerSawNothing(r);
  });

  it('an admin edits their own message; a message with an image or attachments may be edited to empty text', async () => {
    const r = await room();
    const admin = await joinAs(server, { token: server.adminToken(ADMIN) }, r.o);
    const mine = await say(admin, r.o, 'Support here');
    const edited = await edit(admin, r.o, mine.id, 'Support here (Olu)');
    assertMessage(edited, { id: mine.id, orderId: r.o, seq: mine.seq, sender: mine.sender, message: 'Support here (Olu)', editedAt: true });
    assert.deepEqual((await r.tl.cust.waitFor(updatedOf(mine.id))).data, edited);

    const img = await say(r.cust, r.o, 'caption', { imageUrl: 'https://cdn.example.com/p.jpg' });
    const noCaption = await edit(r.cust, r.o, img.id, '');
    assertMessage(noCaption, { id: img.id, orderId: r.o, seq: img.seq, sender: r.p.customer, message: '', imageUrl: 'https://cdn.example.com/p.jpg', editedAt: true });
    const ct = server.token(r.order.customer.id);
    const ids = [(await uploaded(server, ct, r.o, 'a.pdf', pdf())).id, (await uploaded(server, ct, r.o, 'b.pdf', pdf())).id];
    const files = await say(r.cust, r.o, 'files', { attachmentIds: ids });
    const blank = await edit(r.cust, r.o, files.id, '   ');
    assertMessage(blank, {
      id: files.id, orderId: r.o, seq: files.seq, sender: r.p.customer, message: '', attachments: blank.attachments, editedAt: true,
    });
    assert.deepEqual(blank.attachments.map((x) => x.id), ids);
  });

  it('text rules as for sending: trimmed, 1–4,000 characters, no control characters but newlines and tabs', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'plain');
    assert.equal((await edit(r.cust, r.o, m.id, `  ${'é'.repeat(4000)}  `)).message, 'é'.repeat(4000));
    assert.equal((await edit(r.cust, r.o, m.id, 'line 1\nline 2\ttab')).message, 'line 1\nline 2\ttab');
    assert.equal((await edit(r.cust, r.o, m.id, '<img src=x onerror=alert(1)>')).message, '<img src=x onerror=alert(1)>');
    const before = byId(await fullHistory(server, r.order), m.id);
    const marks = await settled(r);
    for (const message of ['', '   \n\t ', 'a'.repeat(4001), 'a\u0000b', 'bell\u0007']) {
      assertAckError(await call(r.cust, 'edit-message', { orderId: r.o, messageId: m.id, message }), 'VALIDATION');
    }
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.cust, r.o, 'marker'));
    assert.deepEqual(byId(await fullHistory(server, r.order), m.id), before);
  });

  it('the same text again: the current message, no new rev, nothing broadcast, no revision', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'same');
    let marks = await settled(r);
    const revBefore = (await fullHistory(server, r.order)).rev;
    assert.deepEqual(await edit(r.cust, r.o, m.id, 'same'), m);
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.cust, r.o, 'marker 1'));
    const changed = await edit(r.cust, r.o, m.id, 'changed');
    await r.tl.agent.waitFor(updatedOf(m.id));
    const rev = (await fullHistory(server, r.order)).rev;
    assert.equal(rev, changed.rev);
    assert.ok(rev > revBefore);
    marks = await settled(r);
    assert.deepEqual(await edit(r.cust, r.o, m.id, 'changed'), changed);
    assert.equal((await fullHistory(server, r.order)).rev, rev, 'a no-op takes no rev');
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.cust, r.o, 'marker 2'));
    const revs = restData(await server.rest('GET', `/orders/${r.o}/messages/${m.id}/revisions`, server.adminToken(ADMIN)));
    assertRevisions(revs, [{ message: 'same', attachments: [], editedBy: r.order.customer.id }]);
  });

  it('the checks in order: access → MESSAGE_NOT_FOUND → not the sender FORBIDDEN → ORDER_CLOSED → deleted VALIDATION', async () => {
    const r = await room();
    const { o, cust, agent, order } = r;
    const mine = await say(cust, o, 'mine');
    const gone = await say(cust, o, 'gone');
    await del(cust, o, gone.id);
    const sys = await systemMessage(server, order);
    const admin = await server.connect(server.adminToken(ADMIN));
    const both = await makeOrder(server, { customer: order.customer });
    const elsewhere = await say(cust, both.id, 'in another order of the same customer');
    const unknown = randomUUID();
    const editAs = (s, ref, messageId, message = 'new text') => call(s, 'edit-message', { orderId: ref, messageId, message });

    // Access first: a stranger is FORBIDDEN whatever the message; an unknown order is ORDER_NOT_FOUND.
    for (const id of [mine.id, unknown, sys.id]) assertAckError(await editAs(r.stranger, o, id), 'FORBIDDEN');
    assertAckError(await editAs(cust, uid('order'), mine.id), 'ORDER_NOT_FOUND');
    assertAckError(await editAs(cust, 'B2S-NOSUCH', mine.id), 'ORDER_NOT_FOUND');
    // Then the message: unknown, or of another order (even one the caller is in).
    assertAckError(await editAs(cust, o, unknown), 'MESSAGE_NOT_FOUND');
    assertAckError(await editAs(cust, o, unknown, ''), 'MESSAGE_NOT_FOUND');
    assertAckError(await editAs(cust, o, elsewhere.id), 'MESSAGE_NOT_FOUND');
    assertAckError(await editAs(admin, o, elsewhere.id), 'MESSAGE_NOT_FOUND');
    // Then the sender: another participant, an admin, anyone on a system message.
    assertAckError(await editAs(agent, o, mine.id), 'FORBIDDEN');
    assertAckError(await editAs(agent, o, mine.id, ''), 'FORBIDDEN');
    assertAckError(await editAs(admin, o, mine.id), 'FORBIDDEN');
    assertAckError(await editAs(cust, o, sys.id), 'FORBIDDEN');
    assertAckError(await editAs(admin, o, sys.id), 'FORBIDDEN');
    assertAckError(await editAs(agent, o, gone.id), 'FORBIDDEN');
    // Then deleted (the order is still open).
    assertAckError(await editAs(cust, o, gone.id), 'VALIDATION');
    // Closed: the sender gets ORDER_CLOSED (before "deleted" and the text rules); others still FORBIDDEN.
    await setStatus(server, order, 'completed');
    assertAckError(await editAs(cust, o, mine.id), 'ORDER_CLOSED');
    assertAckError(await editAs(cust, o, mine.id, ''), 'ORDER_CLOSED');
    assertAckError(await editAs(cust, o, gone.id), 'ORDER_CLOSED');
    assertAckError(await editAs(agent, o, mine.id), 'FORBIDDEN');
    assertAckError(await editAs(cust, o, unknown), 'MESSAGE_NOT_FOUND');
    assertAckError(await editAs(r.stranger, o, mine.id), 'FORBIDDEN');
    // Nothing changed.
    const h = await fullHistory(server, order);
    assert.deepEqual([byId(h, mine.id).message, 'editedAt' in byId(h, mine.id)], ['mine', false]);
    assert.equal(byId(h, sys.id).message, 'Order status changed to delivery');
    const updates = r.tl.agent.filter((x) => x.event === 'message-updated');
    assert.deepEqual(updates, []);
  });

  it('payload validation: VALIDATION with a message naming the field', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'x');
    const cases = [
      [{ orderId: r.o, message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: null, message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: 5, message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: ['a'], message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: '', message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: 'bad id!', message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: 'x'.repeat(65), message: 'y' }, /messageId/],
      [{ orderId: r.o, messageId: m.id }, /message/],
      [{ orderId: r.o, messageId: m.id, message: 5 }, /message/],
      [{ orderId: r.o, messageId: m.id, message: { text: 'y' } }, /message/],
      [{ orderId: r.o, messageId: m.id, message: 'a'.repeat(4001) }, /message/],
      [{ messageId: m.id, message: 'y' }, /orderId/],
      [{ orderId: 'bad id!', messageId: m.id, message: 'y' }, undefined],
      [r.o, undefined],
      [null, undefined],
      [[r.o, m.id, 'y'], undefined],
    ];
    for (const [payload, re] of cases) assertAckError(await call(r.cust, 'edit-message', payload), 'VALIDATION', re);
    assertAckError(await r.cust.timeout(5000).emitWithAck('edit-message'), 'VALIDATION');
    assert.equal(byId(await fullHistory(server, r.order), m.id).message, 'x');
  });
});

describe('delete-message', () => {
  it('the sender deletes: the ack is the tombstone (seq kept, new rev); message-deleted to the room, not outside; history shows it', async () => {
    const r = await room();
    const { o, p, cust, agent, tl } = r;
    const question = await say(agent, o, 'Which brand?');
    const secretFile = await uploaded(server, server.token(r.order.customer.id), o, 'secret-file.pdf', pdf());
    const m = await say(cust, o, 'Secret text', {
      imageUrl: 'https://cdn.example.com/secret.jpg', attachmentIds: [secretFile.id], replyToId: question.id,
    });
    await react(agent, o, m.id, '👍');
    const later = await say(agent, o, 'later');
    const t = await del(cust, o, m.id);
    assertTombstone(t, {
      id: m.id, orderId: o, seq: m.seq, sender: p.customer, deletedBy: r.order.customer.id,
      secrets: ['Secret text', 'secret.jpg', secretFile.id, 'secret-file', 'Which brand?', '👍'],
    });
    assert.equal(t.createdAt, m.createdAt);
    assert.ok(t.rev > later.rev, `rev ${t.rev} > ${later.rev}`);
    for (const tl1 of [tl.agent, tl.cust]) assert.deepEqual((await tl1.waitFor(deletedOf(m.id))).data, t);
    const h = await fullHistory(server, r.order);
    assert.deepEqual(h.messages.map((x) => x.seq), [1, 2, 3]);
    assert.deepEqual(byId(h, m.id), t);
    assert.equal(h.rev, t.rev);
    assert.equal((await say(cust, o, 'next')).seq, 4, 'seq goes on; the tombstone keeps its place');
    await strangerSawNothing(r);
  });

  it('who may delete: another participant FORBIDDEN; an admin any message (system ones too) at any time, also on a closed order; participants on a closed order ORDER_CLOSED', async () => {
    const r = await room();
    const { o, p, cust, agent, order } = r;
    const a = await say(cust, o, 'a');
    const b = await say(cust, o, 'b');
    const c = await say(agent, o, 'c');
    const sys = await systemMessage(server, order);
    const admin = await server.connect(server.adminToken(ADMIN));
    const delAs = (s, messageId, ref = o) => call(s, 'delete-message', { orderId: ref, messageId });
    assertAckError(await delAs(agent, a.id), 'FORBIDDEN');
    assertAckError(await delAs(cust, c.id), 'FORBIDDEN');
    assertAckError(await delAs(cust, sys.id), 'FORBIDDEN');
    assertAckError(await delAs(r.stranger, a.id), 'FORBIDDEN');
    assertAckError(await delAs(r.stranger, randomUUID()), 'FORBIDDEN');
    assertAckError(await delAs(cust, a.id, uid('order')), 'ORDER_NOT_FOUND');
    assertAckError(await delAs(cust, randomUUID()), 'MESSAGE_NOT_FOUND');
    const elsewhere = await say(await server.connect(server.token(r.other.customer.id)), r.other.id, 'elsewhere');
    assertAckError(await delAs(admin, elsewhere.id), 'MESSAGE_NOT_FOUND');

    const ta = ackData(await delAs(admin, a.id));
    assertTombstone(ta, { id: a.id, orderId: o, seq: a.seq, sender: p.customer, deletedBy: ADMIN, secrets: [] });
    assert.deepEqual((await r.tl.cust.waitFor(deletedOf(a.id))).data, ta);
    const ts = ackData(await delAs(admin, sys.id));
    assertTombstone(ts, { id: sys.id, orderId: o, seq: sys.seq, sender: { id: 'system', name: 'System', type: 'system' }, deletedBy: ADMIN });

    await setStatus(server, order, 'cancelled');
    assertAckError(await delAs(cust, b.id), 'ORDER_CLOSED');
    assertAckError(await delAs(agent, c.id), 'ORDER_CLOSED');
    const tb = ackData(await delAs(admin, b.id));
    assertTombstone(tb, { id: b.id, orderId: o, seq: b.seq, sender: p.customer, deletedBy: ADMIN });
    assert.deepEqual((await r.tl.agent.waitFor(deletedOf(b.id))).data, tb);
    const h = await fullHistory(server, order);
    assert.deepEqual(h.messages.map((x) => [x.seq, x.deleted === true]), [[1, true], [2, true], [3, false], [4, true], [5, false]]);
    await strangerSawNothing(r);
  });

  it('deleting a deleted message: success with the same tombstone, no new rev, nothing broadcast', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'oops');
    const t = await del(r.cust, r.o, m.id);
    await r.tl.agent.waitFor(deletedOf(m.id));
    const rev = (await fullHistory(server, r.order)).rev;
    const marks = await settled(r);
    assert.deepEqual(await del(r.cust, r.o, m.id), t);
    const admin = await server.connect(server.adminToken(ADMIN));
    assert.deepEqual(await del(admin, r.o, m.id), t, 'still deleted by the sender');
    assert.equal((await fullHistory(server, r.order)).rev, rev);
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.cust, r.o, 'marker'));
    const revs = restData(await server.rest('GET', `/orders/${r.o}/messages/${m.id}/revisions`, server.adminToken(ADMIN)));
    assertRevisions(revs, [{ message: 'oops', attachments: [], editedBy: r.order.customer.id }]);
  });

  it('a deleted message cannot be edited, reacted to or replied to (VALIDATION)', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'soon gone');
    await react(r.agent, r.o, m.id, '👍');
    await del(r.cust, r.o, m.id);
    const marks = await settled(r);
    assertAckError(await call(r.cust, 'edit-message', { orderId: r.o, messageId: m.id, message: 'back' }), 'VALIDATION');
    assertAckError(await call(r.agent, 'add-reaction', { orderId: r.o, messageId: m.id, emoji: '🔥' }), 'VALIDATION');
    assertAckError(await call(r.agent, 'remove-reaction', { orderId: r.o, messageId: m.id, emoji: '👍' }), 'VALIDATION');
    assertAckError(await call(r.agent, 'send-message', { orderId: r.o, message: 're', replyToId: m.id }), 'VALIDATION', /replyToId/);
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.cust, r.o, 'marker'));
  });

  it('payload validation: VALIDATION naming messageId', async () => {
    const r = await room();
    for (const messageId of [undefined, null, 5, '', 'bad id!', 'x'.repeat(65), {}]) {
      assertAckError(await call(r.cust, 'delete-message', { orderId: r.o, messageId }), 'VALIDATION', /messageId/);
    }
    for (const payload of [r.o, null, { messageId: randomUUID() }]) {
      assertAckError(await call(r.cust, 'delete-message', payload), 'VALIDATION');
    }
  });
});

describe('add-reaction / remove-reaction', () => {
  it('ack {orderId, messageId, rev, reactions}; reaction-updated to the room; emoji by their first reaction still there, userIds in the order they reacted', async () => {
    const r = await room();
    const { o, cust, agent, tl } = r;
    const c = r.order.customer.id;
    const a = r.order.agents[0].id;
    const m = await say(agent, o, 'Plantains are 500 naira');
    const admin = await joinAs(server, { token: server.adminToken(ADMIN) }, o);
    const steps = [
      [cust, 'add', '👍', [['👍', [c]]]],
      [agent, 'add', '❤️', [['👍', [c]], ['❤️', [a]]]],
      [agent, 'add', '👍', [['👍', [c, a]], ['❤️', [a]]]],
      // 👍's first reaction still there is now the agent's, later than ❤️'s.
      [cust, 'remove', '👍', [['❤️', [a]], ['👍', [a]]]],
      [cust, 'add', '👍', [['❤️', [a]], ['👍', [a, c]]]],
      [admin, 'add', '❤️', [['❤️', [a, ADMIN]], ['👍', [a, c]]]],
      [agent, 'remove', '👍', [['❤️', [a, ADMIN]], ['👍', [c]]]],
      [cust, 'remove', '👍', [['❤️', [a, ADMIN]]]],
      [cust, 'add', '👍', [['❤️', [a, ADMIN]], ['👍', [c]]]],
    ];
    let lastRev = m.rev;
    for (const [s, op, emoji, want] of steps) {
      const res = await (op === 'add' ? react : unreact)(s, o, m.id, emoji);
      const userId = s === cust ? c : s === agent ? a : ADMIN;
      const what = `${userId} ${op} ${emoji}`;
      assertReactionResult(res, { orderId: o, messageId: m.id, reactions: reactionList(want) });
      assert.ok(res.rev > lastRev, `${what}: rev ${res.rev} > ${lastRev}`);
      lastRev = res.rev;
      for (const t of [tl.cust, tl.agent]) {
        const ev = await t.waitFor(reactionOf(m.id, res.rev));
        assertReactionUpdated(ev.data, {
          orderId: o, messageId: m.id, seq: m.seq, rev: res.rev, emoji, userId, added: op === 'add', reactions: res.reactions,
        });
      }
    }
    // The message shows the reactions and the rev of the latest one.
    const h = await fullHistory(server, r.order);
    assertMessage(byId(h, m.id), {
      id: m.id, orderId: o, seq: m.seq, sender: r.p.agents[0], message: 'Plantains are 500 naira', rev: lastRev,
      reactions: reactionList([['❤️', [a, ADMIN]], ['👍', [c]]]),
    });
    // All removed: the message has no reactions key; the ack and the event carry [].
    await unreact(agent, o, m.id, '❤️');
    await unreact(admin, o, m.id, '❤️');
    const empty = await unreact(cust, o, m.id, '👍');
    assertReactionResult(empty, { orderId: o, messageId: m.id, reactions: [] });
    const ev = await tl.agent.waitFor(reactionOf(m.id, empty.rev));
    assert.deepEqual(ev.data.reactions, []);
    assertMessage(byId(await fullHistory(server, r.order), m.id), {
      id: m.id, orderId: o, seq: m.seq, sender: r.p.agents[0], message: 'Plantains are 500 naira', rev: empty.rev,
    });
    await strangerSawNothing(r);
  });

  it('adding one already there and removing one not there: success, no new rev, nothing broadcast', async () => {
    const r = await room();
    const m = await say(r.agent, r.o, 'x');
    const added = await react(r.cust, r.o, m.id, '👍');
    await r.tl.agent.waitFor(reactionOf(m.id, added.rev));
    const rev = (await fullHistory(server, r.order)).rev;
    const marks = await settled(r);
    assert.deepEqual(await react(r.cust, r.o, m.id, '👍'), added);
    assert.deepEqual(await unreact(r.cust, r.o, m.id, '🔥'), added);
    assert.deepEqual(await unreact(r.agent, r.o, m.id, '👍'), added, 'removing someone else\'s is removing one you have not');
    assert.equal((await fullHistory(server, r.order)).rev, rev);
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks, () => say(r.agent, r.o, 'marker'));
  });

  it('emoji: one Unicode emoji (skin tones, flags, ZWJ sequences), ≤ 32 bytes; "❤" is "❤️"; anything else VALIDATION naming emoji', async () => {
    const r = await room();
    const m = await say(r.agent, r.o, 'react to me');
    const good = ['👍🏽', '🇳🇬', '👩‍💻', '🙏🏿', '✅', '😂', '👨‍👩‍👧‍👦'];
    for (const emoji of good) {
      const res = await react(r.cust, r.o, m.id, emoji);
      assert.equal(res.reactions.at(-1).emoji, emoji);
    }
    // The unqualified heart is stored as the emoji-presentation one, on both sides.
    const heart = await react(r.agent, r.o, m.id, '❤');
    assert.deepEqual(heart.reactions.at(-1), { emoji: '❤️', count: 1, userIds: [r.order.agents[0].id] });
    const ev = await r.tl.cust.waitFor(reactionOf(m.id, heart.rev));
    assert.equal(ev.data.emoji, '❤️');
    assert.deepEqual(await react(r.agent, r.o, m.id, '❤️'), heart, '"❤️" is the same reaction as "❤"');
    const removed = await unreact(r.agent, r.o, m.id, '❤');
    assert.ok(!removed.reactions.some((x) => x.emoji === '❤️'));
    const bad = ['yes', '👍👍', '', ' ', 'a', ':)', '<3', '<script>', '👩🏽‍❤️‍💋‍👨🏿' /* 35 bytes */, 'x'.repeat(40), 5, true, ['👍'], {}, null, undefined];
    for (const emoji of bad) {
      for (const ev2 of ['add-reaction', 'remove-reaction']) {
        assertAckError(await call(r.cust, ev2, { orderId: r.o, messageId: m.id, emoji }), 'VALIDATION', /emoji/);
      }
    }
    for (const payload of [{ orderId: r.o, emoji: '👍' }, { orderId: r.o, messageId: 5, emoji: '👍' }, { orderId: r.o, messageId: 'bad id!', emoji: '👍' }]) {
      assertAckError(await call(r.cust, 'add-reaction', payload), 'VALIDATION', /messageId/);
    }
    const h = await fullHistory(server, r.order);
    assert.deepEqual(byId(h, m.id).reactions.map((x) => x.emoji), good);
  });

  it('at most 10 emoji per user and 20 distinct per message (LIMIT_EXCEEDED); re-adding within the limit is fine', async () => {
    const E = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🔥', '🎉', '👏', '😡', '🤔', '👀', '💯', '✅', '🙌', '😍', '🥳', '😎', '🤝', '💪', '🚀', '🍌'];
    const r = await room();
    const m = await say(r.agent, r.o, 'popular');
    const admin = await server.connect(server.adminToken(ADMIN));
    for (const e of E.slice(0, 10)) await react(r.cust, r.o, m.id, e);
    assertAckError(await call(r.cust, 'add-reaction', { orderId: r.o, messageId: m.id, emoji: E[10] }), 'LIMIT_EXCEEDED');
    await react(r.cust, r.o, m.id, E[0]); // already there: a no-op, not over the limit
    for (const e of E.slice(10, 20)) await react(r.agent, r.o, m.id, e);
    // 20 distinct emoji now: a 21st is refused, another user's vote for one of them is not.
    assertAckError(await call(admin, 'add-reaction', { orderId: r.o, messageId: m.id, emoji: E[20] }), 'LIMIT_EXCEEDED');
    const plusOne = await react(admin, r.o, m.id, E[0]);
    assert.deepEqual(plusOne.reactions[0], { emoji: E[0], count: 2, userIds: [r.order.customer.id, ADMIN] });
    assert.equal(plusOne.reactions.length, 20);
    // The user's count is of current reactions: remove one, add another (one the agent has).
    await unreact(r.cust, r.o, m.id, E[1]);
    await react(r.cust, r.o, m.id, E[10]);
    assertAckError(await call(r.cust, 'add-reaction', { orderId: r.o, messageId: m.id, emoji: E[11] }), 'LIMIT_EXCEEDED');
    // 19 distinct now (E[1] is gone): a new one fits again.
    const fits = await react(admin, r.o, m.id, E[20]);
    assert.equal(fits.reactions.length, 20);
    assert.equal(fits.reactions.at(-1).emoji, E[20]);
    assertAckError(await call(admin, 'add-reaction', { orderId: r.o, messageId: m.id, emoji: E[21] }), 'LIMIT_EXCEEDED');
  });

  it('access and state: stranger FORBIDDEN, unknown order/message, closed order ORDER_CLOSED (admins too), system messages VALIDATION', async () => {
    const r = await room();
    const { o, cust, order } = r;
    const m = await say(r.agent, o, 'x');
    await react(cust, o, m.id, '👍');
    const sys = await systemMessage(server, order);
    const admin = await server.connect(server.adminToken(ADMIN));
    const as = (s, ev, messageId, ref = o, emoji = '🔥') => call(s, ev, { orderId: ref, messageId, emoji });
    for (const ev of ['add-reaction', 'remove-reaction']) {
      assertAckError(await as(r.stranger, ev, m.id), 'FORBIDDEN');
      assertAckError(await as(r.stranger, ev, randomUUID()), 'FORBIDDEN');
      assertAckError(await as(cust, ev, m.id, uid('order')), 'ORDER_NOT_FOUND');
      assertAckError(await as(cust, ev, randomUUID()), 'MESSAGE_NOT_FOUND');
      assertAckError(await as(cust, ev, sys.id), 'VALIDATION');
      assertAckError(await as(admin, ev, sys.id), 'VALIDATION');
    }
    const elsewhere = await say(await server.connect(server.token(r.other.customer.id)), r.other.id, 'elsewhere');
    assertAckError(await as(admin, 'add-reaction', elsewhere.id), 'MESSAGE_NOT_FOUND');
    // Admins may react on an open order.
    const byAdmin = await react(admin, o, m.id, '🔥');
    assert.deepEqual(byAdmin.reactions.at(-1), { emoji: '🔥', count: 1, userIds: [ADMIN] });
    await setStatus(server, order, 'completed');
    assertAckError(await as(cust, 'add-reaction', m.id), 'ORDER_CLOSED');
    assertAckError(await as(cust, 'remove-reaction', m.id, o, '👍'), 'ORDER_CLOSED');
    assertAckError(await as(admin, 'add-reaction', m.id, o, '🎉'), 'ORDER_CLOSED');
    assertAckError(await as(admin, 'remove-reaction', m.id, o, '🔥'), 'ORDER_CLOSED');
    const h = await fullHistory(server, order);
    assert.deepEqual(byId(h, m.id).reactions, reactionList([['👍', [order.customer.id]], ['🔥', [ADMIN]]]));
  });
});

describe('the error event (no ack callback)', () => {
  it('a failing lifecycle event without an ack gets `error` {message, code, event, orderId}; a success sends no error', async () => {
    const r = await room();
    const m = await say(r.agent, r.o, 'x');
    const errors = collector(r.cust, 'error');
    let err = next(r.cust, 'error');
    r.cust.emit('edit-message', { orderId: r.o, messageId: randomUUID(), message: 'y' });
    assertErrorEvent(await err, { code: 'MESSAGE_NOT_FOUND', event: 'edit-message', orderId: r.o });
    err = next(r.cust, 'error');
    r.cust.emit('delete-message', { orderId: r.o, messageId: m.id });
    assertErrorEvent(await err, { code: 'FORBIDDEN', event: 'delete-message', orderId: r.o });
    err = next(r.cust, 'error');
    r.cust.emit('add-reaction', { orderId: r.o, messageId: m.id, emoji: 'yes' });
    assertErrorEvent(await err, { code: 'VALIDATION', event: 'add-reaction', orderId: r.o });
    err = next(r.cust, 'error');
    r.cust.emit('remove-reaction', { orderId: r.o, messageId: randomUUID(), emoji: '👍' });
    assertErrorEvent(await err, { code: 'MESSAGE_NOT_FOUND', event: 'remove-reaction', orderId: r.o });
    // Without an ack, a success still broadcasts and sends no error.
    const mine = await say(r.cust, r.o, 'mine');
    const before = errors.length;
    r.cust.emit('edit-message', { orderId: r.o, messageId: mine.id, message: 'edited without an ack' });
    const upd = await r.tl.agent.waitFor(updatedOf(mine.id));
    assert.equal(upd.data.message, 'edited without an ack');
    r.cust.emit('add-reaction', { orderId: r.o, messageId: m.id, emoji: '👍' });
    await r.tl.agent.waitFor((x) => x.event === 'reaction-updated' && x.data.messageId === m.id);
    r.cust.emit('delete-message', { orderId: r.o, messageId: mine.id });
    await r.tl.agent.waitFor(deletedOf(mine.id));
    await barrier(r.cust);
    assert.equal(errors.length, before);
    assert.equal(r.cust.connected, true);
  });
});

describe('EDIT_WINDOW and DELETE_WINDOW', () => {
  let win;
  before(async () => { win = await startServer({ env: { ...NO_LIMITS, EDIT_WINDOW: '1s', DELETE_WINDOW: '1s' } }); });
  after(async () => { await win?.stop(); });
  afterEach(() => win.closeSockets());

  /** Wait (by the clock, not for an event) until `windowMs` after the latest createdAt has passed. */
  async function pastWindow(messages, windowMs) {
    const deadline = Math.max(...messages.map((m) => Date.parse(m.createdAt))) + windowMs + 100;
    const wait = deadline - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  it('within the window the sender edits and deletes; past it EDIT_WINDOW_PASSED / DELETE_WINDOW_PASSED (REST 409); admins still delete; reactions have no window', async () => {
    const r = await room(win);
    const { o, cust, agent, order } = r;
    const a = await say(cust, o, 'a');
    const b = await say(cust, o, 'b');
    const c = await say(cust, o, 'c');
    const d = await say(cust, o, 'd');
    const e = await say(cust, o, 'e');
    // Within the window.
    const ea = await edit(cust, o, a.id, 'a2');
    assert.equal(ea.message, 'a2');
    const tb = await del(cust, o, b.id);
    assert.equal(tb.deleted, true);
    await del(cust, o, d.id);
    await pastWindow([a, b, c, d, e], 1000);
    const t = win.token(order.customer.id);
    const editAs = (s, id, message = 'late') => call(s, 'edit-message', { orderId: o, messageId: id, message });
    assertAckError(await editAs(cust, a.id), 'EDIT_WINDOW_PASSED');
    assertAckError(await editAs(cust, c.id), 'EDIT_WINDOW_PASSED');
    assertAckError(await editAs(cust, c.id, ''), 'EDIT_WINDOW_PASSED', undefined); // the window before the text rules
    assertAckError(await editAs(agent, c.id), 'FORBIDDEN'); // the sender before the window
    assertAckError(await editAs(cust, d.id), 'VALIDATION'); // deleted before the window
    assertAckError(await call(cust, 'delete-message', { orderId: o, messageId: c.id }), 'DELETE_WINDOW_PASSED');
    assertAckError(await call(agent, 'delete-message', { orderId: o, messageId: c.id }), 'FORBIDDEN');
    assertRestError(await win.rest('PATCH', `/orders/${o}/messages/${c.id}`, t, { message: 'late' }), 409, 'EDIT_WINDOW_PASSED');
    assertRestError(await win.rest('DELETE', `/orders/${o}/messages/${c.id}`, t), 409, 'DELETE_WINDOW_PASSED');
    // Reactions know no window.
    const reacted = await react(agent, o, c.id, '👍');
    assert.equal(reacted.reactions.length, 1);
    // Admins delete at any time.
    const admin = await win.connect(win.adminToken(ADMIN));
    const tc = await del(admin, o, c.id);
    assertTombstone(tc, { id: c.id, orderId: o, seq: c.seq, sender: r.p.customer, deletedBy: ADMIN });
    // Closed: ORDER_CLOSED comes before the window.
    await setStatus(win, order, 'completed');
    assertAckError(await editAs(cust, e.id), 'ORDER_CLOSED');
    const h = await fullHistory(win, order);
    assert.deepEqual(h.messages.filter((m) => m.senderType !== 'system').map((m) => [m.message, m.deleted === true]),
      [['a2', false], ['', true], ['', true], ['', true], ['e', false]]);
  });
});

describe('REST', () => {
  const msgPath = (o, id) => `/orders/${o}/messages/${id}`;
  const reactionPath = (o, id, emoji) => `${msgPath(o, id)}/reactions/${encodeURIComponent(emoji)}`;

  it('PATCH …/messages/{messageId} {message} → 200 with the message; message-updated to the room', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'over the socket');
    const t = server.token(r.order.customer.id);
    const edited = restData(await server.rest('PATCH', msgPath(r.o, m.id), t, { message: 'over REST' }));
    assertMessage(edited, { id: m.id, orderId: r.o, seq: m.seq, sender: r.p.customer, message: 'over REST', editedAt: true });
    assert.ok(edited.rev > m.rev);
    for (const tl of [r.tl.agent, r.tl.cust]) assert.deepEqual((await tl.waitFor(updatedOf(m.id))).data, edited);
    // By order number; the body's orderId, if any, does not matter.
    const again = restData(await server.rest('PATCH', msgPath(r.order.number, m.id), t, { message: 'by number', orderId: 'ignored' }));
    assert.equal(again.orderId, r.o);
    assert.equal(again.message, 'by number');
    assert.deepEqual(byId(await fullHistory(server, r.order), m.id), again);
    await strangerSawNothing(r);
  });

  it('DELETE …/messages/{messageId} → 200 with the tombstone; message-deleted to the room', async () => {
    const r = await room();
    const m = await say(r.agent, r.o, 'to be removed', { imageUrl: 'https://cdn.example.com/x.jpg' });
    const t = restData(await server.rest('DELETE', msgPath(r.o, m.id), server.token(r.order.agents[0].id)));
    assertTombstone(t, { id: m.id, orderId: r.o, seq: m.seq, sender: r.p.agents[0], deletedBy: r.order.agents[0].id, secrets: ['to be removed', 'x.jpg'] });
    for (const tl of [r.tl.agent, r.tl.cust]) assert.deepEqual((await tl.waitFor(deletedOf(m.id))).data, t);
    // An admin over REST, on a closed order.
    const other = await say(r.cust, r.o, 'also removed');
    await setStatus(server, r.order, 'completed');
    assertRestError(await server.rest('DELETE', msgPath(r.o, other.id), server.token(r.order.customer.id)), 409, 'ORDER_CLOSED');
    const t2 = restData(await server.rest('DELETE', msgPath(r.o, other.id), server.adminToken(ADMIN)));
    assertTombstone(t2, { id: other.id, orderId: r.o, seq: other.seq, sender: r.p.customer, deletedBy: ADMIN });
    assert.deepEqual((await r.tl.agent.waitFor(deletedOf(other.id))).data, t2);
    await strangerSawNothing(r);
  });

  it('PUT and DELETE …/reactions/{emoji} (percent-encoded) → 200 {orderId, messageId, rev, reactions}; reaction-updated', async () => {
    const r = await room();
    const m = await say(r.agent, r.o, 'react over REST');
    const c = r.order.customer.id;
    const t = server.token(c);
    const put = restData(await server.rest('PUT', reactionPath(r.o, m.id, '👍🏽'), t));
    assertReactionResult(put, { orderId: r.o, messageId: m.id, reactions: reactionList([['👍🏽', [c]]]) });
    let ev = await r.tl.agent.waitFor(reactionOf(m.id, put.rev));
    assertReactionUpdated(ev.data, { orderId: r.o, messageId: m.id, seq: m.seq, rev: put.rev, emoji: '👍🏽', userId: c, added: true, reactions: put.reactions });
    const heart = restData(await server.rest('PUT', reactionPath(r.o, m.id, '❤'), t));
    assert.deepEqual(heart.reactions.map((x) => x.emoji), ['👍🏽', '❤️']);
    const gone = restData(await server.rest('DELETE', reactionPath(r.o, m.id, '👍🏽'), t));
    assertReactionResult(gone, { orderId: r.o, messageId: m.id, reactions: reactionList([['❤️', [c]]]) });
    assert.ok(gone.rev > heart.rev && heart.rev > put.rev);
    ev = await r.tl.cust.waitFor(reactionOf(m.id, gone.rev));
    assertReactionUpdated(ev.data, { orderId: r.o, messageId: m.id, seq: m.seq, rev: gone.rev, emoji: '👍🏽', userId: c, added: false, reactions: gone.reactions });
    // Admins too.
    const byAdmin = restData(await server.rest('PUT', reactionPath(r.o, m.id, '🔥'), server.adminToken(ADMIN)));
    assert.deepEqual(byAdmin.reactions.at(-1), { emoji: '🔥', count: 1, userIds: [ADMIN] });
    await r.tl.agent.waitFor(reactionOf(m.id, byAdmin.rev));
    await strangerSawNothing(r);
  });

  it('no-ops over REST (same text, deleted again, reaction there / not there): 200, no new rev, nothing broadcast', async () => {
    const r = await room();
    const t = server.token(r.order.customer.id);
    const m = await say(r.cust, r.o, 'same');
    const gone = await say(r.cust, r.o, 'gone');
    const tomb = await del(r.cust, r.o, gone.id);
    const reacted = await react(r.cust, r.o, m.id, '👍');
    await r.tl.agent.waitFor(reactionOf(m.id, reacted.rev));
    const current = byId(await fullHistory(server, r.order), m.id);
    const rev = (await fullHistory(server, r.order)).rev;
    const marks = await settled(r);
    assert.deepEqual(restData(await server.rest('PATCH', msgPath(r.o, m.id), t, { message: 'same' })), current);
    assert.deepEqual(restData(await server.rest('DELETE', msgPath(r.o, gone.id), t)), tomb);
    assert.deepEqual(restData(await server.rest('PUT', reactionPath(r.o, m.id, '👍'), t)), reacted);
    assert.deepEqual(restData(await server.rest('DELETE', reactionPath(r.o, m.id, '🔥'), t)), reacted);
    assert.equal((await fullHistory(server, r.order)).rev, rev);
    await assertQuietUntilMarker([r.tl.cust, r.tl.agent], marks,
      async () => restData(await server.rest('POST', `/orders/${r.o}/messages`, t, { message: 'marker' }), 201));
  });

  it('errors: 400 VALIDATION, 401, 403 FORBIDDEN, 404 MESSAGE_NOT_FOUND / ORDER_NOT_FOUND, 409 ORDER_CLOSED, 429 LIMIT_EXCEEDED', async () => {
    const r = await room();
    const { o, order } = r;
    const c = server.token(order.customer.id);
    const a = server.token(order.agents[0].id);
    const s = server.token(r.other.customer.id);
    const admin = server.adminToken(ADMIN);
    const m = await say(r.cust, o, 'mine');
    const theirs = await say(r.agent, o, 'theirs');
    const unknown = randomUUID();
    // 400
    for (const body of [{ message: 5 }, {}, { message: 'a'.repeat(4001) }, { message: '' }, { message: '  ' }, { message: 'a\u0000' }, 'not json', '[1]', '"x"']) {
      assertRestError(await server.rest('PATCH', msgPath(o, m.id), c, body), 400, 'VALIDATION');
    }
    const typed = await server.rest('PATCH', msgPath(o, m.id), c, { message: 5 });
    assert.match(typed.body.message, /message/);
    for (const bad of ['bad%20id!', 'x'.repeat(65)]) {
      for (const [method, path, body] of [['PATCH', msgPath(o, bad), { message: 'x' }], ['DELETE', msgPath(o, bad)], ['PUT', `${msgPath(o, bad)}/reactions/%F0%9F%91%8D`]]) {
        const res = await server.rest(method, path, c, body);
        assertRestError(res, 400, 'VALIDATION');
        assert.match(res.body.message, /messageId/, `${method} ${path}`);
      }
    }
    for (const emoji of ['yes', '👍👍', '<3']) {
      for (const method of ['PUT', 'DELETE']) {
        const res = await server.rest(method, reactionPath(o, theirs.id, emoji), c);
        assertRestError(res, 400, 'VALIDATION');
        assert.match(res.body.message, /emoji/);
      }
    }
    assertRestError(await server.rest('PATCH', msgPath('bad%20id!', m.id), c, { message: 'x' }), 400, 'VALIDATION');
    // 401
    assertRestError(await server.rest('PATCH', msgPath(o, m.id), undefined, { message: 'x' }), 401, 'UNAUTHORIZED');
    assertRestError(await server.rest('PUT', reactionPath(o, m.id, '👍'), undefined), 401, 'UNAUTHORIZED');
    // 403
    assertRestError(await server.rest('PATCH', msgPath(o, m.id), a, { message: 'not yours' }), 403, 'FORBIDDEN');
    assertRestError(await server.rest('PATCH', msgPath(o, m.id), admin, { message: 'not yours' }), 403, 'FORBIDDEN');
    assertRestError(await server.rest('DELETE', msgPath(o, m.id), a), 403, 'FORBIDDEN');
    for (const [method, path, body] of [['PATCH', msgPath(o, m.id), { message: 'x' }], ['DELETE', msgPath(o, m.id)],
      ['PUT', reactionPath(o, m.id, '👍')], ['DELETE', reactionPath(o, m.id, '👍')], ['GET', `${msgPath(o, m.id)}/revisions`]]) {
      assertRestError(await server.rest(method, path, s, body), 403, 'FORBIDDEN');
    }
    // 404
    for (const [method, path, body] of [['PATCH', msgPath(o, unknown), { message: 'x' }], ['DELETE', msgPath(o, unknown)],
      ['PUT', reactionPath(o, unknown, '👍')], ['DELETE', reactionPath(o, unknown, '👍')]]) {
      assertRestError(await server.rest(method, path, c, body), 404, 'MESSAGE_NOT_FOUND');
    }
    const elsewhere = await say(await server.connect(server.token(r.other.customer.id)), r.other.id, 'elsewhere');
    assertRestError(await server.rest('DELETE', msgPath(o, elsewhere.id), admin), 404, 'MESSAGE_NOT_FOUND');
    assertRestError(await server.rest('PATCH', msgPath(uid('order'), m.id), c, { message: 'x' }), 404, 'ORDER_NOT_FOUND');
    assertRestError(await server.rest('PUT', reactionPath(uid('order'), m.id, '👍'), c), 404, 'ORDER_NOT_FOUND');
    // 429
    const E = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🔥', '🎉', '👏', '😡', '🤔'];
    for (const e of E.slice(0, 10)) restData(await server.rest('PUT', reactionPath(o, theirs.id, e), c));
    assertRestError(await server.rest('PUT', reactionPath(o, theirs.id, E[10]), c), 429, 'LIMIT_EXCEEDED');
    // 409
    await setStatus(server, order, 'completed');
    assertRestError(await server.rest('PATCH', msgPath(o, m.id), c, { message: 'closed' }), 409, 'ORDER_CLOSED');
    assertRestError(await server.rest('DELETE', msgPath(o, m.id), c), 409, 'ORDER_CLOSED');
    assertRestError(await server.rest('PUT', reactionPath(o, theirs.id, E[10]), a), 409, 'ORDER_CLOSED');
    assertRestError(await server.rest('DELETE', reactionPath(o, theirs.id, E[0]), c), 409, 'ORDER_CLOSED');
    // Nothing of that changed the messages.
    const h = await fullHistory(server, order);
    assert.equal(byId(h, m.id).message, 'mine');
    assert.equal(byId(h, theirs.id).reactions.length, 10);
  });
});

describe('revisions (the audit trail)', () => {
  const revisionsPath = (o, id) => `/orders/${o}/messages/${id}/revisions`;

  it('admins read one entry per edit and per delete, oldest first: the text and attachments before each change, who changed it and when', async () => {
    const r = await room();
    const c = r.order.customer.id;
    const att = (await uploaded(server, server.token(c), r.o, 'v1.pdf', pdf())).id;
    const m = await say(r.cust, r.o, 'v1', { attachmentIds: [att] });
    const e1 = await edit(r.cust, r.o, m.id, 'v2');
    const e2 = restData(await server.rest('PATCH', `/orders/${r.o}/messages/${m.id}`, server.token(c), { message: 'v3' }));
    await edit(r.cust, r.o, m.id, 'v3'); // the same text: no revision
    await react(r.agent, r.o, m.id, '👍'); // a reaction: no revision
    const admin = await server.connect(server.adminToken(ADMIN));
    const t = await del(admin, r.o, m.id);
    const res = restData(await server.rest('GET', revisionsPath(r.o, m.id), server.adminToken(ADMIN)));
    assertRevisions(res, [
      { message: 'v1', attachments: [{ id: att }], editedBy: c },
      { message: 'v2', attachments: [{ id: att }], editedBy: c },
      { message: 'v3', attachments: [{ id: att }], editedBy: ADMIN },
    ]);
    assert.deepEqual(res.revisions.map((x) => x.editedAt), [e1.editedAt, e2.editedAt, t.deletedAt], 'each entry is dated when the change was made');
    // By order number too; another admin reads the same.
    const byNumber = restData(await server.rest('GET', revisionsPath(r.order.number, m.id), server.adminToken('audit@example.com')));
    assert.deepEqual(byNumber, res);
    // A message never changed has none.
    const plain = await say(r.cust, r.o, 'never changed');
    assert.deepEqual(restData(await server.rest('GET', revisionsPath(r.o, plain.id), server.adminToken(ADMIN))), { revisions: [] });
  });

  it('participants → 403 FORBIDDEN (the sender too); unknown message or one of another order → 404 MESSAGE_NOT_FOUND; unknown order → 404 ORDER_NOT_FOUND', async () => {
    const r = await room();
    const m = await say(r.cust, r.o, 'v1');
    await edit(r.cust, r.o, m.id, 'v2');
    for (const u of [r.order.customer.id, r.order.agents[0].id, r.other.customer.id]) {
      assertRestError(await server.rest('GET', revisionsPath(r.o, m.id), server.token(u)), 403, 'FORBIDDEN');
    }
    const admin = server.adminToken(ADMIN);
    assertRestError(await server.rest('GET', revisionsPath(r.o, randomUUID()), admin), 404, 'MESSAGE_NOT_FOUND');
    const elsewhere = await say(await server.connect(server.token(r.other.customer.id)), r.other.id, 'elsewhere');
    assertRestError(await server.rest('GET', revisionsPath(r.o, elsewhere.id), admin), 404, 'MESSAGE_NOT_FOUND');
    assertRestError(await server.rest('GET', revisionsPath(uid('order'), m.id), admin), 404, 'ORDER_NOT_FOUND');
    assertRestError(await server.rest('GET', revisionsPath(r.o, 'bad%20id!'), admin), 400, 'VALIDATION');
    assertRestError(await server.rest('GET', revisionsPath(r.o, m.id), undefined), 401, 'UNAUTHORIZED');
  });
});

describe('read state, unread counts and the chat list', () => {
  const unread = async (userId, order) => restData(await server.rest('GET', `/unread?orderId=${order.id}`, server.token(userId))).count;
  const listed = async (userId, order) => restData(await server.rest('GET', '/orders', server.token(userId))).orders.find((x) => x.orderId === order.id);

  it('deleted messages never count as unread; edits and reactions change no read state', async () => {
    const r = await room();
    const { o, cust, agent, order } = r;
    const c = order.customer.id;
    const reads = collector(agent, 'messages-read');
    const a1 = await say(agent, o, 'a1');
    const a2 = await say(agent, o, 'a2');
    const a3 = await say(agent, o, 'a3');
    assert.equal(await unread(c, order), 3);
    await del(agent, o, a2.id);
    assert.equal(await unread(c, order), 2);
    assert.equal((await listed(c, order)).unread, 2);
    const all = restData(await server.rest('GET', '/unread', server.token(c)));
    assert.equal(all.byOrder[o], 2);
    assert.equal(all.count, 2);
    // Edits and reactions: no change.
    await edit(agent, o, a1.id, 'a1 edited');
    await react(cust, o, a3.id, '👍');
    await react(agent, o, a1.id, '🔥');
    assert.equal(await unread(c, order), 2);
    assert.equal((await listed(c, order)).unread, 2);
    // Reading up to a1 leaves a3; deleting a3 leaves nothing.
    assertReadResult(ackData(await call(cust, 'mark-messages-read', { orderId: o, upToSeq: a1.seq })),
      { orderId: o, userId: c, lastReadSeq: 1, marked: true });
    assert.equal(await unread(c, order), 1);
    await del(agent, o, a3.id);
    assert.equal(await unread(c, order), 0);
    assert.equal((await listed(c, order)).unread, 0);
    // Edits and reactions on a read message leave it read, and move no marker.
    await reads.waitFor(1);
    const e = await edit(agent, o, a1.id, 'a1 edited again');
    assert.deepEqual([e.isRead, e.readBy], [true, [c]]);
    await react(cust, o, a1.id, '👍');
    const again = await join(cust, o);
    assert.deepEqual(again.reads, { [c]: 1 });
    const h = await fullHistory(server, order);
    assert.deepEqual([byId(h, a1.id).isRead, byId(h, a1.id).readBy], [true, [c]]);
    await barrier(agent);
    assert.equal(reads.length, 1, 'only the one mark-messages-read emitted messages-read');
    // The other way round: the customer's own deleted message is nothing to the agent.
    const mine = await say(cust, o, 'mine');
    assert.equal(await unread(order.agents[0].id, order), 1);
    await del(cust, o, mine.id);
    assert.equal(await unread(order.agents[0].id, order), 0);
  });

  it('GET /orders: lastMessage carries replyTo and reactions, and may be a tombstone', async () => {
    const r = await room();
    const { o, cust, agent, order } = r;
    const c = order.customer.id;
    const q = await say(cust, o, 'Do you have yams?');
    const reply = await say(agent, o, 'Yes, 3 left', { replyToId: q.id });
    await react(cust, o, reply.id, '🙏');
    let entry = await listed(c, order);
    let last = byId(await fullHistory(server, order), reply.id);
    assertMessage(last, {
      id: reply.id, orderId: o, seq: 2, sender: r.p.agents[0], message: 'Yes, 3 left',
      replyTo: quoteOf(q, 'Do you have yams?'), reactions: reactionList([['🙏', [c]]]),
    });
    assert.deepEqual(entry.lastMessage, last);
    await del(agent, o, reply.id);
    entry = await listed(c, order);
    last = byId(await fullHistory(server, order), reply.id);
    assertTombstone(entry.lastMessage, { id: reply.id, orderId: o, seq: 2, sender: r.p.agents[0], deletedBy: order.agents[0].id, secrets: ['Yes, 3 left', '🙏'] });
    assert.deepEqual(entry.lastMessage, last);
    assert.equal(entry.unread, 0);
  });
});
