// PROTOCOL.md section 10, the change stream: every change takes the order's next `rev`, every
// message carries the rev of its latest change, and `sinceRev` (join-order-chat and REST history)
// returns every message changed after it, in its current state, in rev order, so a client that
// keeps the highest rev it has seen catches up with edits, deletes and reactions too.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid, call, closeAndWait } from '../lib/server.mjs';
import { ackData, assertAckError, assertJoined, assertPage, assertRestError, restData } from '../lib/shapes.mjs';
import {
  joinAs, join, say, edit, del, react, unreact, timeline, CHANGE_EVENTS, byRev,
} from '../lib/chat.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const ids = (messages) => messages.map((m) => m.id);
const revs = (messages) => messages.map((m) => m.rev);

async function page(order, query = '', userId = order.customer.id, path = 'orders') {
  const url = path === 'orders' ? `/orders/${order.id}/messages${query}` : `/messages/${order.id}${query}`;
  const d = restData(await server.rest('GET', url, server.token(userId)));
  assertPage(d);
  return d;
}
const fullHistory = (order, userId) => page(order, '?limit=200', userId);

function assertIncreasing(values, what) {
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i] > values[i - 1], `${what}: ${JSON.stringify(values)} increase strictly (at ${i})`);
  }
}

async function setStatus(order, status) {
  await server.putOrder(order.id, { orderNumber: order.number, status, customer: order.customer, agents: order.agents });
}

describe('rev', () => {
  it('an order starts at rev 0; every change (send, edit, delete, reaction, system message, REST or socket) takes a greater rev; a message\'s rev is its latest change\'s; no-ops take none', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    assertJoined(cust.joined, { orderId: order.id, seqs: [], rev: 0 });
    assert.equal((await page(order)).rev, 0);
    const agent = await server.connect(server.token(order.agents[0].id));
    const o = order.id;
    const ct = server.token(order.customer.id);
    const ops = []; // [what, rev, messageId]
    const op = (what, rev, id) => { ops.push([what, rev, id]); return rev; };
    const noop = async (what, rev) => {
      assert.equal((await page(order)).rev, ops.at(-1)[1], `${what} took no rev`);
      assert.ok(rev <= ops.at(-1)[1], `${what}: the no-op's rev ${rev} is not a new one`);
    };

    const a = await say(cust, o, 'a');
    op('send a', a.rev, a.id);
    const b = await say(agent, o, 'b');
    op('send b', b.rev, b.id);
    op('react a 👍', (await react(agent, o, a.id, '👍')).rev, a.id);
    op('edit b', (await edit(agent, o, b.id, 'b2')).rev, b.id);
    await noop('edit b again', (await edit(agent, o, b.id, 'b2')).rev);
    const c = restData(await server.rest('POST', `/orders/${o}/messages`, ct, { message: 'c', replyToId: b.id }), 201);
    op('send c (REST)', c.rev, c.id);
    op('react a 🔥', (await react(cust, o, a.id, '🔥')).rev, a.id);
    await noop('react a 🔥 again', (await react(cust, o, a.id, '🔥')).rev);
    op('unreact a 👍', (await unreact(agent, o, a.id, '👍')).rev, a.id);
    await noop('unreact a 👍 again', (await unreact(agent, o, a.id, '👍')).rev);
    op('delete c', (await del(cust, o, c.id)).rev, c.id);
    await noop('delete c again', (await del(cust, o, c.id)).rev);
    op('edit a (REST)', restData(await server.rest('PATCH', `/orders/${o}/messages/${a.id}`, ct, { message: 'a2' })).rev, a.id);
    await setStatus(order, 'delivery');
    const sys = (await fullHistory(order)).messages.at(-1);
    assert.equal(sys.senderType, 'system');
    op('system message', sys.rev, sys.id);
    op('react b ✅ (REST)', restData(await server.rest('PUT', `/orders/${o}/messages/${b.id}/reactions/${encodeURIComponent('✅')}`, ct)).rev, b.id);
    op('unreact a 🔥 (REST)', restData(await server.rest('DELETE', `/orders/${o}/messages/${a.id}/reactions/${encodeURIComponent('🔥')}`, ct)).rev, a.id);
    const d = await say(agent, o, 'd');
    op('send d', d.rev, d.id);

    assertIncreasing(ops.map(([, rev]) => rev), `revs of ${ops.map(([w]) => w).join(', ')}`);
    assert.ok(ops[0][1] >= 1, 'the first change takes a rev above 0');
    // Each message carries the rev of its latest change; the order carries the latest rev.
    const h = await fullHistory(order);
    const latest = new Map();
    for (const [, rev, id] of ops) latest.set(id, rev);
    assert.deepEqual(h.messages.map((m) => [m.message, m.rev]), h.messages.map((m) => [m.message, latest.get(m.id)]));
    assert.equal(h.rev, ops.at(-1)[1]);
    assertJoined(await join(cust, o), { orderId: o, rev: ops.at(-1)[1] });
    assert.equal((await page(order, '', order.customer.id, 'messages')).rev, ops.at(-1)[1]);
  });

  it('concurrent changes from several sockets each take their own rev', async () => {
    const agents = Array.from({ length: 4 }, (_, i) => ({ id: uid('agent'), name: `Agent ${i + 1}` }));
    const order = await makeOrder(server, { agents });
    const o = order.id;
    const socks = await Promise.all([order.customer, ...agents].map((u) => server.connect(server.token(u.id))));
    const target = await say(socks[0], o, 'target');
    const mine = await Promise.all(socks.map((s, i) => say(s, o, `mine ${i}`)));
    const EMOJI = ['👍', '❤️', '😂', '🔥', '🎉'];
    const acks = await Promise.all([
      ...socks.flatMap((s) => EMOJI.map((e) => call(s, 'add-reaction', { orderId: o, messageId: target.id, emoji: e }))),
      ...socks.map((s, i) => call(s, 'edit-message', { orderId: o, messageId: mine[i].id, message: `edited ${i}` })),
      ...socks.map((s, i) => call(s, 'send-message', { orderId: o, message: `new ${i}` })),
    ]);
    const got = acks.map(ackData).map((x) => x.rev);
    assert.equal(new Set(got).size, got.length, `every change has its own rev: ${JSON.stringify(got)}`);
    const h = await fullHistory(order);
    assert.equal(h.rev, Math.max(...got));
    const t = h.messages.find((m) => m.id === target.id);
    assert.equal(t.rev, Math.max(...got.slice(0, socks.length * EMOJI.length)));
    // (In whatever order they were stored: they were concurrent.)
    assert.deepEqual(t.reactions.map((r) => [r.emoji, r.count]).sort(), EMOJI.map((e) => [e, socks.length]).sort());
  });
});

describe('join-order-chat {orderId, sinceRev}', () => {
  it('a client that saw up to rev N and comes back gets exactly the four messages changed since (edited, deleted, reacted to, new), in rev order, as they are now', async () => {
    const order = await makeOrder(server);
    const o = order.id;
    const B = await joinAs(server, order.agents[0].id, o);
    let A = await joinAs(server, order.customer.id, o);
    const aSeen = timeline(A);
    let high = A.joined.rev;
    const m1 = await say(B, o, 'one');
    const m2 = await say(B, o, 'two');
    const m3 = await say(B, o, 'three');
    const m0 = await say(A, o, 'untouched');
    const m5 = await say(B, o, 'also untouched');
    await aSeen.waitFor((x) => x.event === 'new-message' && x.data.id === m5.id);
    for (const x of aSeen) high = Math.max(high, x.data.rev);
    assert.equal(high, m5.rev);
    await closeAndWait(server, A);

    const e1 = await edit(B, o, m1.id, 'one (edited)');
    const t2 = await del(B, o, m2.id);
    const r3 = await react(B, o, m3.id, '👍');
    const m4 = await say(B, o, 'four');

    A = await server.connect(server.token(order.customer.id));
    const data = await join(A, { orderId: o, sinceRev: high });
    assertJoined(data, { orderId: o, hasMore: false, ids: [m1.id, m2.id, m3.id, m4.id], rev: m4.rev });
    assert.deepEqual(A.previous, data.messages, 'previous-messages carries the same list as the ack');
    assertIncreasing(revs(data.messages), 'catch-up revs');
    const [c1, c2, c3, c4] = data.messages;
    assert.deepEqual(c1, e1);
    assert.deepEqual(c2, t2);
    assert.deepEqual(c3, { ...m3, rev: r3.rev, reactions: r3.reactions });
    assert.deepEqual(c4, m4);
    // Exactly the server's state.
    const h = await fullHistory(order);
    for (const m of data.messages) assert.deepEqual(m, h.messages.find((x) => x.id === m.id));
    assert.ok(!ids(data.messages).includes(m0.id) && !ids(data.messages).includes(m5.id));
    // Nothing changed since the latest rev.
    const none = await join(A, { orderId: o, sinceRev: data.rev });
    assertJoined(none, { orderId: o, hasMore: false, seqs: [], rev: m4.rev });
    assert.deepEqual(A.previous, []);
    // By order number, in the same way.
    const byNumber = await join(A, { orderId: order.number, sinceRev: high });
    assert.deepEqual(byNumber.messages, data.messages);
  });

  it('sinceRev 0 is every message in rev order; limit pages forward with hasMore (default 50)', async () => {
    const order = await makeOrder(server);
    const o = order.id;
    const agent = await server.connect(server.token(order.agents[0].id));
    const ms = [];
    for (let i = 1; i <= 5; i++) ms.push(await say(agent, o, `m${i}`));
    const e1 = await edit(agent, o, ms[0].id, 'm1 edited');
    const r3 = await react(agent, o, ms[2].id, '👍');
    const cust = await server.connect(server.token(order.customer.id));
    // Rev order: m2, m4, m5, m1 (edited), m3 (reacted).
    const order1 = [ms[1].id, ms[3].id, ms[4].id, ms[0].id, ms[2].id];
    let data = await join(cust, { orderId: o, sinceRev: 0 });
    assertJoined(data, { orderId: o, hasMore: false, ids: order1, rev: r3.rev });
    assertIncreasing(revs(data.messages), 'revs');
    assert.deepEqual(data.messages[3], e1);
    assert.deepEqual(data.messages.map((m) => m.seq), [2, 4, 5, 1, 3]);
    // Pages of 2.
    const pages = [];
    let since = 0;
    for (;;) {
      data = await join(cust, { orderId: o, sinceRev: since, limit: 2 });
      assert.deepEqual(cust.previous, data.messages);
      pages.push([ids(data.messages), data.hasMore]);
      if (!data.hasMore) break;
      since = data.messages.at(-1).rev;
    }
    assert.deepEqual(pages, [[order1.slice(0, 2), true], [order1.slice(2, 4), true], [order1.slice(4), false]]);
    // Default limit 50.
    for (let i = 6; i <= 60; i++) await say(agent, o, `m${i}`);
    data = await join(cust, { orderId: o, sinceRev: 0 });
    assert.equal(data.messages.length, 50);
    assert.equal(data.hasMore, true);
    assertIncreasing(revs(data.messages), 'revs');
    const rest = await join(cust, { orderId: o, sinceRev: data.messages.at(-1).rev, limit: 200 });
    assert.equal(rest.messages.length, 10);
    assert.equal(rest.hasMore, false);
    assert.equal(new Set([...ids(data.messages), ...ids(rest.messages)]).size, 60);
  });

  it('validation: sinceRev a non-negative integer (VALIDATION naming it); sinceRev with since → VALIDATION', async () => {
    const order = await makeOrder(server);
    const cust = await server.connect(server.token(order.customer.id));
    for (const sinceRev of ['1', -1, 1.5, true, {}, [1]]) {
      assertAckError(await call(cust, 'join-order-chat', { orderId: order.id, sinceRev }), 'VALIDATION', /sinceRev/);
    }
    for (const payload of [{ orderId: order.id, sinceRev: 0, since: 0 }, { orderId: order.id, sinceRev: 3, since: 1 },
      { orderId: order.id, sinceRev: 0, limit: 0 }, { orderId: order.id, sinceRev: 0, limit: 201 }]) {
      assertAckError(await call(cust, 'join-order-chat', payload), 'VALIDATION');
    }
    // None of them joined the room.
    assertAckError(await call(cust, 'typing', { orderId: order.id, isTyping: true }), 'NOT_JOINED');
  });

  it('access: a stranger is FORBIDDEN, an unknown order ORDER_NOT_FOUND, also with sinceRev', async () => {
    const order = await makeOrder(server);
    const other = await makeOrder(server);
    const stranger = await server.connect(server.token(other.customer.id));
    assertAckError(await call(stranger, 'join-order-chat', { orderId: order.id, sinceRev: 0 }), 'FORBIDDEN');
    assertAckError(await call(stranger, 'join-order-chat', { orderId: uid('order'), sinceRev: 0 }), 'ORDER_NOT_FOUND');
    assertRestError(await server.rest('GET', `/orders/${order.id}/messages?sinceRev=0`, server.token(other.customer.id)), 403, 'FORBIDDEN');
  });
});

describe('GET …/messages?sinceRev=', () => {
  it('both paths: the messages changed since, in rev order, current state, with rev and hasMore', async () => {
    const order = await makeOrder(server);
    const o = order.id;
    const agent = await server.connect(server.token(order.agents[0].id));
    const ms = [];
    for (let i = 1; i <= 4; i++) ms.push(await say(agent, o, `m${i}`));
    const high = ms.at(-1).rev;
    const t2 = await del(agent, o, ms[1].id);
    const e1 = await edit(agent, o, ms[0].id, 'm1 edited');
    const r4 = await react(agent, o, ms[3].id, '🎉');
    const m5 = await say(agent, o, 'm5');
    for (const path of ['orders', 'messages']) {
      const d = await page(order, `?sinceRev=${high}`, order.customer.id, path);
      assertPage(d, { hasMore: false, rev: m5.rev, ids: [ms[1].id, ms[0].id, ms[3].id, m5.id] });
      assert.deepEqual(d.messages[0], t2);
      assert.deepEqual(d.messages[1], e1);
      assert.deepEqual(d.messages[2], { ...ms[3], rev: r4.rev, reactions: r4.reactions });
      assert.deepEqual(d.messages[3], m5);
      const p1 = await page(order, `?sinceRev=${high}&limit=3`, order.customer.id, path);
      assertPage(p1, { hasMore: true, ids: [ms[1].id, ms[0].id, ms[3].id] });
      const p2 = await page(order, `?sinceRev=${p1.messages.at(-1).rev}&limit=3`, order.customer.id, path);
      assertPage(p2, { hasMore: false, ids: [m5.id] });
      assertPage(await page(order, `?sinceRev=${m5.rev}`, order.customer.id, path), { hasMore: false, ids: [], rev: m5.rev });
    }
    // The socket catch-up is the same list.
    const cust = await server.connect(server.token(order.customer.id));
    const joined = await join(cust, { orderId: o, sinceRev: high });
    assert.deepEqual(joined.messages, (await page(order, `?sinceRev=${high}`)).messages);
  });

  it('bad sinceRev, or sinceRev with before or after → 400 VALIDATION', async () => {
    const order = await makeOrder(server);
    const t = server.token(order.customer.id);
    for (const q of ['?sinceRev=-1', '?sinceRev=x', '?sinceRev=1.5', '?sinceRev=1e3']) {
      for (const path of [`/orders/${order.id}/messages`, `/messages/${order.id}`]) {
        const res = await server.rest('GET', `${path}${q}`, t);
        assertRestError(res, 400, 'VALIDATION');
        assert.match(res.body.message, /sinceRev/, q);
      }
    }
    for (const q of ['?sinceRev=0&before=3', '?sinceRev=0&after=1', '?sinceRev=2&after=0&before=5', '?sinceRev=0&limit=0']) {
      assertRestError(await server.rest('GET', `/orders/${order.id}/messages${q}`, t), 400, 'VALIDATION');
      assertRestError(await server.rest('GET', `/messages/${order.id}${q}`, t), 400, 'VALIDATION');
    }
  });
});

describe('a client applying live events and catching up with sinceRev', () => {
  /**
   * What a real client keeps: every message by id, replaced by a newer rev (whole messages from
   * new-message / message-updated / message-deleted / previous-messages; reactions and rev from
   * reaction-updated), and the highest rev seen.
   */
  class Model {
    constructor() { this.byId = new Map(); this.high = 0; }
    message(m) {
      const cur = this.byId.get(m.id);
      if (!cur || m.rev > cur.rev) this.byId.set(m.id, m);
      this.high = Math.max(this.high, m.rev);
    }
    reaction(p) {
      const cur = this.byId.get(p.messageId);
      if (cur && p.rev > cur.rev) {
        const { reactions, ...rest } = cur;
        this.byId.set(p.messageId, { ...rest, rev: p.rev, ...(p.reactions.length ? { reactions: p.reactions } : {}) });
      }
      this.high = Math.max(this.high, p.rev);
    }
    attach(socket) {
      socket.on('previous-messages', (ms) => ms.forEach((m) => this.message(m)));
      for (const ev of CHANGE_EVENTS) {
        socket.on(ev, (p) => (ev === 'reaction-updated' ? this.reaction(p) : this.message(p)));
      }
    }
    /** Without read state, which takes no rev (a client learns it from messages-read). */
    state() {
      return [...this.byId.values()].sort((a, b) => a.seq - b.seq).map(({ isRead, readBy, ...m }) => m);
    }
  }
  const withoutReads = (messages) => messages.map(({ isRead, readBy, ...m }) => m);

  it('ends with exactly the server\'s state after a disconnect in the middle of edits, deletes and reactions', async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Ngozi Eze' }],
    });
    const o = order.id;
    const B = await server.connect(server.token(order.agents[0].id));
    const C = await server.connect(server.token(order.agents[1].id));
    const model = new Model();
    let A = await server.connect(server.token(order.customer.id));
    model.attach(A);
    const first = await join(A, o);
    model.high = Math.max(model.high, first.rev);
    const live = timeline(A);

    // Phase 1, A connected.
    const ms = [];
    for (let i = 1; i <= 6; i++) ms.push(await say(i % 2 ? B : C, o, `m${i}`));
    await edit(B, o, ms[0].id, 'm1 v2');
    await react(C, o, ms[0].id, '👍');
    await react(B, o, ms[1].id, '🔥');
    const lastLive = await del(C, o, ms[1].id);
    await live.waitFor((x) => x.event === 'message-deleted' && x.data.rev === lastLive.rev);
    assert.equal(model.high, lastLive.rev);
    await closeAndWait(server, A);

    // Phase 2, A away: more of everything, a no-op, and a page's worth.
    await edit(B, o, ms[0].id, 'm1 v3');
    await unreact(C, o, ms[0].id, '👍');
    await react(B, o, ms[2].id, '🎉');
    await react(C, o, ms[2].id, '🎉');
    await react(C, o, ms[2].id, '🎉'); // no-op
    await del(B, o, ms[4].id);
    await edit(C, o, ms[3].id, 'm4 v2');
    for (let i = 7; i <= 12; i++) ms.push(await say(B, o, `m${i}`));
    await react(B, o, ms[11].id, '✅');

    // A comes back and pages through sinceRev (pages of 3).
    A = await server.connect(server.token(order.customer.id));
    model.attach(A);
    let pages = 0;
    for (;;) {
      const data = await join(A, { orderId: o, sinceRev: model.high, limit: 3 });
      pages += 1;
      assertIncreasing(revs(data.messages), 'page revs');
      if (!data.hasMore) { model.high = Math.max(model.high, data.rev); break; }
    }
    assert.ok(pages >= 4, `paged ${pages} times`);
    let h = await fullHistory(order);
    assert.deepEqual(model.state(), withoutReads(h.messages));
    assert.equal(model.high, h.rev);

    // Phase 3, live again.
    const live2 = timeline(A);
    await edit(C, o, ms[5].id, 'm6 v2');
    await unreact(B, o, ms[11].id, '✅');
    const endMarker = await del(B, o, ms[6].id);
    await live2.waitFor((x) => x.event === 'message-deleted' && x.data.rev === endMarker.rev);
    h = await fullHistory(order);
    assert.deepEqual(model.state(), withoutReads(h.messages));
    assert.equal(model.high, h.rev);
    // And the live events came in rev order.
    assertIncreasing(live2.map((x) => x.data.rev), 'live revs');
    assert.deepEqual(byRev(h.messages).at(-1).id, ms[6].id);
  });
});
