// PROTOCOL.md section 5 (REST under /api/v0/chat) through the same server as the sockets:
// envelopes, history cursors, unread counts, marking read, the chat list, sending with the
// same broadcast as the socket event, and the error statuses and codes.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid, call, next, collector, barrier, http } from '../lib/server.mjs';
import {
  ackData, assertKeys, assertMessage, assertMessagesRead, assertReadResult, assertRestError, restData,
} from '../lib/shapes.mjs';
import { joinAs, join, say, people } from '../lib/chat.mjs';

const NOT_PROVIDED = 'Authentication error: Token not provided';
const INVALID = 'Authentication error: Invalid token';
const EXPIRED = 'Authentication error: Token expired';
const BLOCKED = 'Your account has been blocked. Please contact support';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const seqs = (messages) => messages.map((m) => m.seq);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** An order whose agent has sent `n` messages m1..mn over the socket. */
async function orderWithMessages(n, o = {}) {
  const order = await makeOrder(server, o);
  const agent = await server.connect(server.token(order.agents[0].id));
  const messages = [];
  for (let i = 1; i <= n; i++) messages.push(await say(agent, order.id, `m${i}`));
  return { order, agent, messages };
}

describe('GET /messages/{orderId} and /orders/{orderId}/messages', () => {
  it('a page of history, oldest first: {messages, hasMore}, with limit, before and after', async () => {
    const { order, messages } = await orderWithMessages(12);
    const t = server.token(order.customer.id);
    const get = async (q) => restData(await server.rest('GET', `/messages/${order.id}${q}`, t));
    let data = await get('');
    assertKeys(data, ['messages', 'hasMore', 'rev'], 'history page');
    assert.deepEqual(data.messages, messages);
    assert.equal(data.hasMore, false);
    const cases = [
      ['?limit=5', range(8, 12), true],
      ['?limit=12', range(1, 12), false],
      ['?before=6', range(1, 5), false],
      ['?before=6&limit=3', range(3, 5), true],
      ['?before=1', [], false],
      ['?after=9', range(10, 12), false],
      ['?after=2&limit=4', range(3, 6), true],
      ['?after=12', [], false],
      ['?after=0&limit=12', range(1, 12), false],
      ['?limit=200', range(1, 12), false],
      ['?limit=', range(1, 12), false],
    ];
    for (const [q, want, hasMore] of cases) {
      data = await get(q);
      assert.deepEqual([seqs(data.messages), data.hasMore], [want, hasMore], q);
    }
    // The later path and the order number give the same.
    const later = restData(await server.rest('GET', `/orders/${order.id}/messages?before=6&limit=3`, t));
    assert.deepEqual(seqs(later.messages), range(3, 5));
    const byNumber = restData(await server.rest('GET', `/messages/${order.number}?limit=2`, t));
    assert.deepEqual(byNumber.messages, messages.slice(10));
    assertMessage(byNumber.messages[1], { orderId: order.id, seq: 12, sender: people(order).agents[0], message: 'm12', id: messages[11].id });
  });

  it('bad query parameters → 400 VALIDATION', async () => {
    const { order } = await orderWithMessages(1);
    const t = server.token(order.customer.id);
    for (const q of ['?limit=0', '?limit=201', '?limit=abc', '?limit=-1', '?limit=1.5', '?before=-1', '?before=x', '?after=-3', '?after=1e3', '?before=5&after=1']) {
      assertRestError(await server.rest('GET', `/messages/${order.id}${q}`, t), 400, 'VALIDATION');
    }
    for (const id of ['bad%20id!', 'x'.repeat(65), 'a%2Fb']) {
      assertRestError(await server.rest('GET', `/messages/${id}`, t), 400, 'VALIDATION');
    }
  });

  it('reading history does not mark anything read', async () => {
    const { order } = await orderWithMessages(3);
    const t = server.token(order.customer.id);
    restData(await server.rest('GET', `/messages/${order.id}`, t));
    restData(await server.rest('GET', `/orders/${order.id}/messages`, t));
    assert.deepEqual(restData(await server.rest('GET', `/unread?orderId=${order.id}`, t)), { count: 3, total: 3 });
  });

  it('an admin reads any order\'s history', async () => {
    const { order, messages } = await orderWithMessages(2);
    const data = restData(await server.rest('GET', `/messages/${order.id}`, server.adminToken('ops@example.com')));
    assert.deepEqual(data.messages, messages);
  });
});

describe('GET /unread and /unread-count', () => {
  it('{count, total, byOrder}: messages by others above the caller\'s marker, in the caller\'s orders only', async () => {
    const cust = { id: uid('cust'), name: 'Ada Obi' };
    const a = await orderWithMessages(3, { customer: cust });
    const b = await orderWithMessages(2, { customer: cust });
    await orderWithMessages(4); // someone else's order
    const t = server.token(cust.id);
    // The caller's own messages never count.
    const me = await server.connect(t);
    await say(me, a.order.id, 'mine');
    for (const path of ['/unread', '/unread-count']) {
      const data = restData(await server.rest('GET', path, t));
      assertKeys(data, ['count', 'total', 'byOrder'], 'unread');
      assert.deepEqual(data, { count: 5, total: 5, byOrder: { [a.order.id]: 3, [b.order.id]: 2 } });
    }
    // With orderId: that order alone, no byOrder.
    for (const path of [`/unread?orderId=${a.order.id}`, `/unread-count?orderId=${b.order.number}`]) {
      const data = restData(await server.rest('GET', path, t));
      assertKeys(data, ['count', 'total'], 'unread for one order');
    }
    assert.deepEqual(restData(await server.rest('GET', `/unread?orderId=${a.order.id}`, t)), { count: 3, total: 3 });
    assert.deepEqual(restData(await server.rest('GET', `/unread-count?orderId=${b.order.number}`, t)), { count: 2, total: 2 });

    // Marking read lowers it.
    ackData(await call(me, 'mark-messages-read', { orderId: a.order.id, upToSeq: 2 }));
    const data = restData(await server.rest('GET', '/unread', t));
    assert.deepEqual([data.count, data.total, data.byOrder[a.order.id], data.byOrder[b.order.id]], [3, 3, 1, 2]);
    restData(await server.rest('POST', `/read/${a.order.id}`, t));
    restData(await server.rest('POST', `/orders/${b.order.id}/read`, t));
    const none = restData(await server.rest('GET', '/unread-count', t));
    assert.deepEqual([none.count, none.total, none.byOrder[a.order.id] ?? 0, none.byOrder[b.order.id] ?? 0], [0, 0, 0, 0]);
  });

  it('a user with no orders has nothing unread; orderId of another order → 403, unknown → 404, bad → 400', async () => {
    const { order } = await orderWithMessages(1);
    const t = server.token(uid('lonely'));
    assert.deepEqual(restData(await server.rest('GET', '/unread', t)), { count: 0, total: 0, byOrder: {} });
    assertRestError(await server.rest('GET', `/unread?orderId=${order.id}`, t), 403, 'FORBIDDEN');
    assertRestError(await server.rest('GET', `/unread-count?orderId=${uid('order')}`, t), 404, 'ORDER_NOT_FOUND');
    assertRestError(await server.rest('GET', '/unread?orderId=bad%20id!', t), 400, 'VALIDATION');
  });
});

describe('POST /read/{orderId} and /orders/{orderId}/read', () => {
  it('marks everything (or up to {upToSeq}) read: {orderId, userId, lastReadSeq, readAt, marked}; messages-read to the room', async () => {
    const { order, agent, messages } = await orderWithMessages(4);
    await join(agent, order.id);
    const t = server.token(order.customer.id);
    const me = order.customer.id;

    let ev = next(agent, 'messages-read');
    let data = restData(await server.rest('POST', `/read/${order.id}`, t, { upToSeq: 2 }));
    assertReadResult(data, { orderId: order.id, userId: me, lastReadSeq: 2, marked: true });
    const got = await ev;
    assertMessagesRead(got, { orderId: order.id, userId: me, lastReadSeq: 2, lastReadMessageId: messages[1].id });
    assert.equal(got.readAt, data.readAt);

    ev = next(agent, 'messages-read');
    data = restData(await server.rest('POST', `/orders/${order.id}/read`, t));
    assertReadResult(data, { orderId: order.id, userId: me, lastReadSeq: 4, marked: true });
    assertMessagesRead(await ev, { orderId: order.id, userId: me, lastReadSeq: 4, lastReadMessageId: messages[3].id });

    // Not moved: marked false, no event. Empty body and {} are fine.
    const seen = collector(agent, 'messages-read');
    assertReadResult(restData(await server.rest('POST', `/read/${order.id}`, t, {})), { orderId: order.id, userId: me, lastReadSeq: 4, marked: false });
    assertReadResult(restData(await server.rest('POST', `/read/${order.number}`, t)), { orderId: order.id, userId: me, lastReadSeq: 4, marked: false });
    assertReadResult(restData(await server.rest('POST', `/read/${order.id}`, t, { upToSeq: 1 })), { orderId: order.id, userId: me, lastReadSeq: 4, marked: false });
    await barrier(agent);
    assert.deepEqual(seen, []);
  });

  it('never marked: lastReadSeq 0, readAt null, marked false', async () => {
    const order = await makeOrder(server);
    const data = restData(await server.rest('POST', `/read/${order.id}`, server.token(order.customer.id)));
    assertReadResult(data, { orderId: order.id, userId: order.customer.id, lastReadSeq: 0, marked: false });
  });

  it('bad bodies → 400 VALIDATION', async () => {
    const { order } = await orderWithMessages(1);
    const t = server.token(order.customer.id);
    for (const body of ['{"upToSeq":', '[1]', '"x"', JSON.stringify({ upToSeq: 'x' }), JSON.stringify({ upToSeq: -1 })]) {
      assertRestError(await server.rest('POST', `/read/${order.id}`, t, body), 400, 'VALIDATION');
    }
  });
});

describe('GET /orders', () => {
  it('the caller\'s chats, newest activity first: {orders:[{orderId, orderNumber, status, lastMessage, unread}]}', async () => {
    const cust = { id: uid('cust'), name: 'Ada Obi' };
    const o1 = await makeOrder(server, { customer: cust });
    const o2 = await makeOrder(server, { customer: cust, status: 'delivery' });
    const o3 = await makeOrder(server, { customer: cust });
    await makeOrder(server); // not the caller's
    const agents = {};
    for (const o of [o1, o2, o3]) agents[o.id] = await server.connect(server.token(o.agents[0].id));
    await say(agents[o2.id], o2.id, 'o2 first');
    await say(agents[o3.id], o3.id, 'o3 first');
    await say(agents[o3.id], o3.id, 'o3 second');
    const last1 = await say(agents[o1.id], o1.id, 'o1 latest');
    const t = server.token(cust.id);
    const data = restData(await server.rest('GET', '/orders', t));
    assertKeys(data, ['orders'], 'chat list');
    assert.deepEqual(data.orders.map((o) => o.orderId), [o1.id, o3.id, o2.id]);
    for (const entry of data.orders) assertKeys(entry, ['orderId', 'orderNumber', 'status', 'lastMessage', 'unread'], 'chat list entry');
    assert.deepEqual(data.orders[0], { orderId: o1.id, orderNumber: o1.number, status: 'shopping', lastMessage: last1, unread: 1 });
    assert.deepEqual(
      data.orders.map((o) => [o.orderNumber, o.status, o.lastMessage.message, o.unread]),
      [[o1.number, 'shopping', 'o1 latest', 1], [o3.number, 'shopping', 'o3 second', 2], [o2.number, 'delivery', 'o2 first', 1]],
    );
    // New activity moves a chat to the top; reading clears its unread.
    await say(agents[o2.id], o2.id, 'o2 again');
    restData(await server.rest('POST', `/read/${o3.id}`, t));
    const again = restData(await server.rest('GET', '/orders', t));
    assert.deepEqual(again.orders.map((o) => [o.orderId, o.unread]), [[o2.id, 2], [o1.id, 1], [o3.id, 0]]);
  });

  it('a chat with no messages yet has lastMessage null and unread 0', async () => {
    const order = await makeOrder(server);
    const data = restData(await server.rest('GET', '/orders', server.token(order.agents[0].id)));
    assert.deepEqual(data.orders, [{ orderId: order.id, orderNumber: order.number, status: 'shopping', lastMessage: null, unread: 0 }]);
  });
});

describe('POST /orders/{orderId}/messages', () => {
  it('201 with the message; new-message to socket clients exactly like the socket event', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const cust = await joinAs(server, order.customer.id, order.id);
    const agentTab = await joinAs(server, order.agents[0].id, order.id);
    const toCust = next(cust, 'new-message');
    const toAgentTab = next(agentTab, 'new-message');
    const res = await server.rest('POST', `/orders/${order.id}/messages`, server.token(order.agents[0].id),
      { message: 'Sent over REST', imageUrl: 'https://cdn.example.com/r.jpg', clientMessageId: 'r-1', orderId: 'ignored-order' });
    const data = restData(res, 201);
    assertMessage(data, { orderId: order.id, seq: 1, sender: p.agents[0], message: 'Sent over REST', imageUrl: 'https://cdn.example.com/r.jpg', clientMessageId: 'r-1' });
    assert.deepEqual(await toCust, data);
    assert.deepEqual(await toAgentTab, data);
    // The socket path produces the same shape for the same kind of message.
    const toAgent2 = next(agentTab, 'new-message');
    const viaSocket = await say(cust, order.id, 'over the socket', { imageUrl: 'https://cdn.example.com/s.jpg', clientMessageId: 's-1' });
    assert.deepEqual(Object.keys(viaSocket).sort(), Object.keys(data).sort());
    assert.deepEqual(await toAgent2, viaSocket);
    // History holds both, in order.
    const page = restData(await server.rest('GET', `/orders/${order.id}/messages`, server.token(order.customer.id)));
    assert.deepEqual(page.messages.map((m) => m.id), [data.id, viaSocket.id]);
  });

  it('a repeated clientMessageId returns the original and broadcasts nothing', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const seen = collector(cust, 'new-message');
    const t = server.token(order.agents[0].id);
    const first = restData(await server.rest('POST', `/orders/${order.id}/messages`, t, { message: 'once', clientMessageId: 'r-9' }), 201);
    const res = await server.rest('POST', `/orders/${order.id}/messages`, t, { message: 'once', clientMessageId: 'r-9' });
    assert.ok(res.status === 200 || res.status === 201, `status ${res.status}`);
    const again = res.body.data;
    assert.deepEqual([again.id, again.seq], [first.id, first.seq]);
    // The same clientMessageId over the socket is the same message too.
    const agent = await server.connect(t);
    assert.equal(ackData(await call(agent, 'send-message', { orderId: order.id, message: 'once', clientMessageId: 'r-9' })).id, first.id);
    await seen.waitFor(1);
    await barrier(cust);
    assert.equal(seen.length, 1);
  });

  it('REST and socket sends share one gapless seq', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id));
    const t = server.token(order.agents[0].id);
    const results = await Promise.all(range(1, 20).map((i) => (i % 2
      ? server.rest('POST', `/orders/${order.id}/messages`, t, { message: `rest ${i}` }).then((r) => restData(r, 201))
      : call(s, 'send-message', { orderId: order.id, message: `socket ${i}` }).then(ackData))));
    assert.deepEqual(seqs(results).sort((a, b) => a - b), range(1, 20));
  });

  it('validation → 400; closed order → 409; not a participant → 403; unknown order → 404', async () => {
    const order = await makeOrder(server);
    const t = server.token(order.customer.id);
    const post = (path, body) => server.rest('POST', path, t, body);
    const path = `/orders/${order.id}/messages`;
    for (const body of [
      { message: '' }, { message: '   ' }, {}, { message: 'a'.repeat(4001) }, { message: 7 }, { message: 'a\u0007' },
      { message: 'x', imageUrl: 'javascript:alert(1)' }, { message: 'x', clientMessageId: 'bad id!' }, '"just a string"', '[1,2]',
      '{"message":', 'not json',
    ]) {
      assertRestError(await post(path, body), 400, 'VALIDATION');
    }
    // An empty body.
    assertRestError(await http(server.url, 'POST', `/api/v0/chat${path}`, { headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' } }), 400, 'VALIDATION');
    assertRestError(await post('/orders/bad%20id!/messages', { message: 'x' }), 400, 'VALIDATION');
    assertRestError(await post(`/orders/${uid('order')}/messages`, { message: 'x' }), 404, 'ORDER_NOT_FOUND');
    const other = await makeOrder(server);
    assertRestError(await post(`/orders/${other.id}/messages`, { message: 'x' }), 403, 'FORBIDDEN');
    assertRestError(await server.rest('GET', `/messages/${other.id}`, t), 403, 'FORBIDDEN');
    assertRestError(await server.rest('POST', `/read/${other.id}`, t), 403, 'FORBIDDEN');
    assertRestError(await server.rest('GET', `/messages/${uid('order')}`, t), 404, 'ORDER_NOT_FOUND');
    assertRestError(await server.rest('POST', `/read/${uid('order')}`, t), 404, 'ORDER_NOT_FOUND');
    // An agent of another order is refused too.
    assertRestError(await server.rest('GET', `/messages/${order.id}`, server.token(other.agents[0].id)), 403, 'FORBIDDEN');
    // Closed orders stay readable.
    await server.putOrder(order.id, { orderNumber: order.number, status: 'completed', customer: order.customer, agents: order.agents });
    assertRestError(await post(path, { message: 'too late' }), 409, 'ORDER_CLOSED');
    const page = restData(await server.rest('GET', `/messages/${order.id}`, t));
    assert.deepEqual(page.messages.map((m) => m.message), ['Order status changed to completed']);
    assertReadResult(restData(await server.rest('POST', `/read/${order.id}`, t)), { orderId: order.id, userId: order.customer.id, lastReadSeq: 1, marked: true });
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const order = await makeOrder(server);
    const res = await server.rest('POST', `/orders/${order.id}/messages`, server.token(order.customer.id), { message: 'x'.repeat(200 * 1024) });
    assertRestError(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('an admin may post to any order (senderType admin)', async () => {
    const order = await makeOrder(server);
    const cust = await joinAs(server, order.customer.id, order.id);
    const got = next(cust, 'new-message');
    const data = restData(await server.rest('POST', `/orders/${order.id}/messages`, server.adminToken('ops@example.com'), { message: 'Support here' }), 201);
    assert.deepEqual([data.senderId, data.senderType, data.sender.type], ['ops@example.com', 'admin', 'admin']);
    assert.deepEqual(await got, data);
  });
});

describe('REST authentication', () => {
  const paths = () => [['GET', '/orders'], ['GET', '/unread'], ['GET', '/unread-count'], ['GET', `/messages/${uid('order')}`],
    ['POST', `/read/${uid('order')}`], ['POST', `/orders/${uid('order')}/messages`]];

  it('no token → 401 "Token not provided" on every endpoint', async () => {
    for (const [method, path] of paths()) {
      assertRestError(await server.rest(method, path, undefined, method === 'POST' ? { message: 'x' } : undefined), 401, 'UNAUTHORIZED', NOT_PROVIDED);
    }
  });

  it('"Authorization: Bearer" with no token after it → 401 "Token not provided"', async () => {
    assertRestError(await http(server.url, 'GET', '/api/v0/chat/orders', { headers: { authorization: 'Bearer' } }), 401, 'UNAUTHORIZED', NOT_PROVIDED);
    assertRestError(await http(server.url, 'GET', '/api/v0/chat/orders', { headers: { authorization: 'Bearer   ' } }), 401, 'UNAUTHORIZED', NOT_PROVIDED);
  });

  it('a bad token → 401 "Invalid token" (garbage, bad signature, alg none, refresh, admin with the user secret)', async () => {
    const order = await makeOrder(server);
    const id = order.customer.id;
    const bad = [
      'garbage',
      server.token(id, {}, { secret: 'wrong' }),
      server.token(id, {}, { header: { alg: 'none', typ: 'JWT' } }),
      server.token(id, {}, { header: { alg: 'HS512', typ: 'JWT' } }),
      server.token(id, { tokenType: 'refresh' }),
      server.token(id, {}, { noExp: true }),
      server.adminToken('ops@example.com', { secret: server.secret }),
    ];
    for (const token of bad) {
      for (const [method, path] of paths()) {
        assertRestError(await server.rest(method, path, token, method === 'POST' ? { message: 'x' } : undefined), 401, 'UNAUTHORIZED', INVALID);
      }
    }
  });

  it('an expired token → 401 "Token expired"', async () => {
    const order = await makeOrder(server);
    const token = server.token(order.customer.id, {}, { expiresIn: -120 });
    for (const [method, path] of paths()) {
      assertRestError(await server.rest(method, path, token, method === 'POST' ? { message: 'x' } : undefined), 401, 'UNAUTHORIZED', EXPIRED);
    }
  });

  it('a blocked user → 403 FORBIDDEN with the blocked message', async () => {
    const order = await makeOrder(server);
    await server.putUser(order.customer.id, { name: 'Ada Obi', type: 'customer', blocked: true });
    assertRestError(await server.rest('GET', `/messages/${order.id}`, server.token(order.customer.id)), 403, 'FORBIDDEN', BLOCKED);
    assertRestError(await server.rest('GET', '/orders', server.token(order.customer.id)), 403, 'FORBIDDEN', BLOCKED);
  });

  it('an unknown path → 404 NOT_FOUND in the error envelope', async () => {
    const order = await makeOrder(server);
    assertRestError(await server.rest('GET', '/nope', server.token(order.customer.id)), 404, 'NOT_FOUND');
  });
});

describe('internal API (section 6)', () => {
  it('refuses a missing or wrong key', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${server.secret}` }]) {
      const res = await http(server.url, 'PUT', `/api/v0/internal/users/${uid('u')}`, {
        headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'X', type: 'customer' }),
      });
      assertRestError(res, 401, 'UNAUTHORIZED');
    }
  });

  it('PUT users answers with the stored user; bad bodies → 400', async () => {
    const id = uid('user');
    const data = await server.putUser(id, { name: 'Kemi', type: 'agent', displayImage: 'https://cdn.example.com/k.png' });
    assert.deepEqual(data, { id, name: 'Kemi', type: 'agent', displayImage: 'https://cdn.example.com/k.png', blocked: false });
    const put = (path, body) => http(server.url, 'PUT', `/api/v0/internal/${path}`, {
      headers: { authorization: `Bearer ${server.internalKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assertRestError(await put(`users/${id}`, { name: '', type: 'agent' }), 400, 'VALIDATION');
    assertRestError(await put(`users/${id}`, { name: 'K', type: 'robot' }), 400, 'VALIDATION');
    assertRestError(await put('users/bad%20id!', { name: 'K', type: 'agent' }), 400, 'VALIDATION');
    assertRestError(await put(`orders/${uid('order')}`, { status: 'Shopping!', customer: { id: 'c', name: 'C' }, agents: [] }), 400, 'VALIDATION');
    assertRestError(await put(`orders/${uid('order')}`, { status: 'shopping', agents: [] }), 400, 'VALIDATION');
  });
});
