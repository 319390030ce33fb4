// Hardening (issue 5), part A: what a hostile or broken client can throw at the server. Tokens at
// the handshake, the authorization matrix of every event and endpoint, hostile input (injection
// strings, control characters, oversized and deeply nested payloads, wrong JSON types, unknown
// events, malformed Socket.IO / Engine.IO packets on raw transports), and the per-user limits.
// Each test prints the figure it measured (`FIGURE …`).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { makeOrder, call, next, collect, uid } from '../lib/server.mjs';
import { spawnServer, LOAD_LIMITS, figure, probe, waitFor } from '../lib/hardening.mjs';

const NOT_PROVIDED = 'Authentication error: Token not provided';
const INVALID = 'Authentication error: Invalid token';
const EXPIRED = 'Authentication error: Token expired';
const BLOCKED = 'Your account has been blocked. Please contact support';

/** A round trip (an unknown event, answered on its ack): what the server emitted before has arrived. */
async function barrier(socket) {
  const ack = await call(socket, 'hardening-barrier', {});
  assert.equal(ack.ok, false);
}

/** Connect `user` and join `orderId`; resolves with the socket. */
async function joined(server, userId, orderId) {
  const s = await server.connect(server.token(userId));
  const ack = await call(s, 'join-order-chat', orderId);
  assert.equal(ack.ok, true, `join: ${JSON.stringify(ack)}`);
  return s;
}

/** The server still serves: /healthz answers and two fresh clients chat through it. */
async function assertServing(server, what) {
  assert.equal((await probe(server.url, '/healthz')).status, 200, `${what}: /healthz`);
  assert.ok(server.alive(), `${what}: the process is up`);
  const order = await makeOrder(server);
  const a = await joined(server, order.customer.id, order.id);
  const b = await joined(server, order.agents[0].id, order.id);
  const got = next(b, 'new-message');
  const ack = await call(a, 'send-message', { orderId: order.id, message: `still serving after ${what}` });
  assert.equal(ack.ok, true, `${what}: a send works: ${JSON.stringify(ack)}`);
  assert.equal((await got).id, ack.data.id);
  a.close();
  b.close();
}

let server;
before(async () => { server = await spawnServer({ env: LOAD_LIMITS }); });
after(async () => { await server?.stop(); });

describe('A1. JWT at the handshake', () => {
  it('expired, not yet valid, tampered, wrong tokenType, admin-with-user-secret: each refused with its exact message', async () => {
    const order = await makeOrder(server);
    const id = order.customer.id;
    const now = Math.floor(Date.now() / 1000);
    const [h, , sig] = server.token(id).split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ user: { id: order.agents[0].id }, tokenType: 'access', exp: now + 3600 })).toString('base64url')}.${sig}`;
    const cases = [
      ['expired (exp 1 h ago)', server.token(id, {}, { expiresIn: -3600 }), EXPIRED],
      ['expired beyond the 30 s leeway (exp 45 s ago)', server.token(id, {}, { expiresIn: -45 }), EXPIRED],
      ['not yet valid (nbf in 1 h)', server.token(id, { nbf: now + 3600 }), INVALID],
      ['tampered payload (other user id, original signature)', tampered, INVALID],
      ['tokenType "refresh"', server.token(id, { tokenType: 'refresh' }), INVALID],
      ['tokenType 42 (not a string)', server.token(id, { tokenType: 42 }), INVALID],
      ['admin token signed with the user secret', server.adminToken('ops@b2s.test', { secret: server.secret }), INVALID],
      ['access token signed with the admin secret', server.token(id, {}, { secret: server.adminSecret }), INVALID],
      ['no token', undefined, NOT_PROVIDED],
    ];
    const rows = [];
    for (const [what, token, expected] of cases) {
      const message = await server.refusal(token);
      assert.equal(message, expected, what);
      // The same token on REST: 401 UNAUTHORIZED, never data.
      const r = await server.rest('GET', `/messages/${order.id}`, token);
      assert.equal(r.status, 401, `${what} (REST)`);
      assert.equal(r.body.code, 'UNAUTHORIZED', `${what} (REST)`);
      rows.push(`${what} → "${message}" / REST ${r.status}`);
    }
    console.log(rows.map((r) => `  ${r}`).join('\n'));
    figure('jwt-refusals', { cases: cases.length, refusedAsExpected: rows.length });
  });
});

describe('A2. Authorization matrix', () => {
  it('every event and endpoint × outsider customer, outsider agent, blocked participant, admin, no token', async () => {
    const order = await makeOrder(server);
    const other = await makeOrder(server);
    const blocked = { id: uid('blocked'), name: 'Blocked Bea' };
    // The blocked user is an agent of this very order: refused for being blocked, not for being an outsider.
    await server.putOrder(order.id, {
      orderNumber: order.number, status: 'shopping', customer: order.customer, agents: [...order.agents, blocked],
    });
    await server.putUser(blocked.id, { name: blocked.name, type: 'agent', blocked: true });
    // A participant in the room watches: nothing a refused caller does may reach it.
    const watcher = await joined(server, order.customer.id, order.id);
    const seen = { messages: collect(watcher, 'new-message'), typing: collect(watcher, 'user-typing'),
      reads: collect(watcher, 'messages-read'), joins: collect(watcher, 'user-joined') };

    const roles = {
      'customer-of-other': server.token(other.customer.id),
      'agent-of-other': server.token(other.agents[0].id),
      blocked: server.token(blocked.id),
      admin: server.adminToken('ops@b2s.test'),
      'no-token': undefined,
    };
    const events = [
      ['join-order-chat', order.id],
      ['send-message', { orderId: order.id, message: 'hello from outside' }],
      ['typing', { orderId: order.id, isTyping: true }],
      ['mark-messages-read', order.id],
      ['leave-order-chat', order.id],
    ];
    const endpoints = [
      ['GET', `/messages/${order.id}`],
      ['GET', `/orders/${order.id}/messages`],
      ['POST', `/orders/${order.id}/messages`, { message: 'hello from outside (REST)' }],
      ['POST', `/read/${order.id}`],
      ['POST', `/orders/${order.id}/read`],
      ['GET', `/unread?orderId=${order.id}`],
      ['GET', `/unread-count?orderId=${order.id}`],
    ];
    const matrix = {};
    const cell = (row, col, v) => { (matrix[row] ||= {})[col] = v; };
    let adminSends = 0;
    for (const [role, token] of Object.entries(roles)) {
      // Socket.IO
      if (role === 'blocked' || role === 'no-token') {
        const message = await server.refusal(token);
        assert.equal(message, role === 'blocked' ? BLOCKED : NOT_PROVIDED, `${role} handshake`);
        for (const [ev] of events) cell(ev, role, 'no-connect');
      } else {
        const s = await server.connect(token);
        for (const [ev, payload] of events) {
          const ack = await call(s, ev, payload);
          if (role === 'admin') {
            assert.equal(ack.ok, true, `admin ${ev}: ${JSON.stringify(ack)}`);
            if (ev === 'send-message') adminSends += 1;
            cell(ev, role, 'ok');
          } else {
            assert.equal(ack.ok, false, `${role} ${ev}: ${JSON.stringify(ack)}`);
            assert.equal(ack.error.code, 'FORBIDDEN', `${role} ${ev}`);
            cell(ev, role, ack.error.code);
          }
        }
        s.close();
      }
      // REST
      for (const [method, path, body] of endpoints) {
        const r = await server.rest(method, path, token, body);
        const name = `${method} ${path.replace(order.id, '{id}')}`;
        if (role === 'admin') {
          assert.equal(r.status, method === 'POST' && body ? 201 : 200, `admin ${name}: ${JSON.stringify(r.body)}`);
          if (body) adminSends += 1;
        } else if (role === 'no-token') {
          assert.equal(r.status, 401, `${role} ${name}`);
          assert.equal(r.body.code, 'UNAUTHORIZED');
          assert.equal(r.body.message, NOT_PROVIDED);
        } else {
          assert.equal(r.status, 403, `${role} ${name}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.code, 'FORBIDDEN');
          if (role === 'blocked') assert.equal(r.body.message, BLOCKED);
          assert.equal(r.body.data, undefined, 'no data on a refusal');
        }
        cell(name, role, r.status === 200 || r.status === 201 ? `${r.status}` : `${r.status} ${r.body.code}`);
      }
    }
    // Only the admin's sends were stored and broadcast; the watcher saw no typing, read or join from outsiders.
    await barrier(watcher);
    const history = await server.rest('GET', `/messages/${order.id}?limit=200`, server.token(order.customer.id));
    const texts = history.body.data.messages.filter((m) => m.senderType !== 'system');
    assert.equal(texts.length, adminSends, 'only the admin stored messages');
    assert.ok(texts.every((m) => m.senderType === 'admin'));
    assert.equal(seen.messages.filter((m) => m.senderType !== 'system').length, adminSends);
    assert.ok(seen.typing.every((t) => t.user.id === 'ops@b2s.test'), 'typing only from the admin');
    assert.ok(seen.reads.every((r) => r.userId === 'ops@b2s.test'), 'read receipts only from the admin');
    assert.ok(seen.joins.every((j) => j.userId === 'ops@b2s.test'), 'user-joined only for the admin');

    const cols = Object.keys(roles);
    const w = Math.max(...Object.keys(matrix).map((k) => k.length));
    const lines = [`  ${''.padEnd(w)}  ${cols.map((c) => c.padEnd(18)).join('')}`];
    for (const [row, v] of Object.entries(matrix)) lines.push(`  ${row.padEnd(w)}  ${cols.map((c) => String(v[c]).padEnd(18)).join('')}`);
    console.log(lines.join('\n'));
    figure('authz-matrix', { cells: Object.keys(matrix).length * cols.length, asExpected: 'all', storedByOutsiders: 0 });
  });
});

describe('A3. Hostile input', () => {
  let order;
  let cust;
  let token;
  before(async () => {
    order = await makeOrder(server);
    token = server.token(order.customer.id);
    cust = await joined(server, order.customer.id, order.id);
  });
  after(() => cust?.close());

  it('SQL injection and HTML are stored and returned verbatim as text; the database keeps working', async () => {
    const hostile = [
      "'; DROP TABLE messages; --",
      "Robert'); DROP TABLE users;--",
      '" OR "1"="1',
      "' OR 1=1 UNION SELECT id, body FROM messages --",
      '1; DELETE FROM orders WHERE 1=1',
      '$1; SELECT pg_sleep(10); --',
      "\\'; ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
      '<script>alert(document.cookie)</script>',
      '<img src=x onerror="alert(1)">',
      '&lt;b&gt;not bold&lt;/b&gt; &amp; <b>bold?</b>',
      '{{constructor.constructor("alert(1)")()}}',
      '%00%27%22 \u202Eevil\u202C ﷽ 👩‍👩‍👧 \u200B',
    ];
    const sent = [];
    for (const [i, text] of hostile.entries()) {
      const ack = await call(cust, 'send-message', { orderId: order.id, message: text });
      assert.equal(ack.ok, true, `socket send ${JSON.stringify(text)}: ${JSON.stringify(ack)}`);
      assert.equal(ack.data.message, text);
      sent.push(ack.data);
      const r = await server.rest('POST', `/orders/${order.id}/messages`, token, { message: `${text} #${i}` });
      assert.equal(r.status, 201, `REST send ${JSON.stringify(text)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.data.message, `${text} #${i}`);
      sent.push(r.body.data);
    }
    // Hostile ids and cursors never reach SQL: they are validation errors.
    for (const bad of ["x' OR '1'='1", 'o;DROP TABLE orders', '../../etc/passwd', 'a'.repeat(65)]) {
      const ack = await call(cust, 'join-order-chat', bad);
      assert.equal(ack.error?.code, 'VALIDATION', `orderId ${bad}`);
      const r = await server.rest('GET', `/messages/${encodeURIComponent(bad)}`, token);
      assert.equal(r.status, 400, `REST orderId ${bad}`);
      assert.equal(r.body.code, 'VALIDATION');
    }
    const badCmid = await call(cust, 'send-message', { orderId: order.id, message: 'x', clientMessageId: "c'; DROP TABLE messages;--" });
    assert.equal(badCmid.error?.code, 'VALIDATION');
    for (const q of ['after=1%20OR%201=1', 'before=-1', 'limit=1;DROP', 'after=1e3']) {
      const r = await server.rest('GET', `/messages/${order.id}?${q}`, token);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.code, 'VALIDATION', q);
    }
    // Read back: verbatim, in order, seq gapless; and the database still stores and serves.
    const r = await server.rest('GET', `/messages/${order.id}?limit=200`, token);
    assert.equal(r.status, 200);
    const texts = r.body.data.messages.filter((m) => m.senderType !== 'system');
    assert.deepEqual(texts.map((m) => [m.id, m.message]), sent.map((m) => [m.id, m.message]));
    const last = await call(cust, 'send-message', { orderId: order.id, message: 'after the injections' });
    assert.equal(last.ok, true);
    assert.equal(last.data.seq, r.body.data.messages.at(-1).seq + 1, 'seq continues');
    const agentView = await server.rest('GET', '/orders', server.token(order.agents[0].id));
    assert.equal(agentView.status, 200);
    assert.equal(agentView.body.data.orders.find((o) => o.orderId === order.id)?.lastMessage?.message, 'after the injections');
    figure('injection-verbatim', { stored: sent.length, verbatim: sent.length, badIdsRefused: 4, badCursorsRefused: 4 });
  });

  it('control characters → VALIDATION (socket and REST); newline, tab and CR are kept', async () => {
    // In the middle of the text: leading and trailing whitespace (\v, \f, U+0085 among it) is trimmed.
    const bad = ['a\u0000b', 'bell\u0007!', 'esc\u001b[31mred', 'del\u007fx', 'c1\u0085next', 'bs\u0008x', 'v\u000bt', 'f\u000cf', 'csi\u009bx'];
    for (const text of bad) {
      const ack = await call(cust, 'send-message', { orderId: order.id, message: text });
      assert.equal(ack.ok, false, JSON.stringify(text));
      assert.equal(ack.error.code, 'VALIDATION', JSON.stringify(text));
      const r = await server.rest('POST', `/orders/${order.id}/messages`, token, { message: text });
      assert.equal(r.status, 400, JSON.stringify(text));
      assert.equal(r.body.code, 'VALIDATION');
    }
    const ok = await call(cust, 'send-message', { orderId: order.id, message: 'line 1\nline 2\tcol\r\nline 3' });
    assert.equal(ok.ok, true);
    assert.equal(ok.data.message, 'line 1\nline 2\tcol\r\nline 3');
    figure('control-chars', { refused: bad.length * 2, keptWhitespace: 1 });
  });

  it('4,001 characters → VALIDATION; 4,000 (also of 3-byte characters) are stored', async () => {
    for (const [text, ok] of [['a'.repeat(4001), false], ['€'.repeat(4001), false], ['a'.repeat(4000), true], ['€'.repeat(4000), true]]) {
      const ack = await call(cust, 'send-message', { orderId: order.id, message: text });
      assert.equal(ack.ok, ok, `${text.length} × ${text[0]}`);
      if (!ok) assert.equal(ack.error.code, 'VALIDATION');
      else assert.equal(ack.data.message, text);
      const r = await server.rest('POST', `/orders/${order.id}/messages`, token, { message: text });
      assert.equal(r.status, ok ? 201 : 400, `REST ${text.length} × ${text[0]}`);
    }
    figure('length-limit', { max: 4000, over: 'VALIDATION' });
  });

  it('a 10 MB message over Socket.IO (websocket and polling): the connection may close, the server keeps serving', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const outcomes = {};
    for (const transports of [['websocket'], ['polling']]) {
      const s = await server.connect(token, { transports });
      const closed = new Promise((resolve) => s.once('disconnect', (reason) => resolve(`disconnect: ${reason}`)));
      const acked = call(s, 'send-message', { orderId: order.id, message: huge }, 20000)
        .then((ack) => `ack ${ack.ok ? 'ok' : ack.error.code}`, (err) => `no ack: ${err.message}`);
      const outcome = await Promise.race([closed, acked]);
      outcomes[transports[0]] = outcome;
      assert.ok(!outcome.startsWith('ack ok'), `a 10 MB message is not stored (${outcome})`);
      assert.ok(!outcome.startsWith('no ack'), `the server answered or closed the connection (${outcome})`);
      s.close();
      await assertServing(server, `10 MB over ${transports[0]}`);
    }
    // The other socket of this user was never affected.
    assert.equal(cust.connected, true);
    assert.equal((await call(cust, 'send-message', { orderId: order.id, message: 'still here' })).ok, true);
    figure('10mb-socketio', outcomes);
  });

  it('a 10 MB REST body → 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({ message: 'x'.repeat(10 * 1024 * 1024) });
    const r = await server.rest('POST', `/orders/${order.id}/messages`, token, body);
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'PAYLOAD_TOO_LARGE');
    // Just over the 64 KB limit too, on the read endpoint.
    const r2 = await server.rest('POST', `/read/${order.id}`, token, JSON.stringify({ upToSeq: 1, pad: 'x'.repeat(70 * 1024) }));
    assert.equal(r2.status, 413);
    assert.equal(r2.body.code, 'PAYLOAD_TOO_LARGE');
    await assertServing(server, '10 MB REST body');
    figure('10mb-rest', { status: r.status, code: r.body.code });
  });

  it('the announced 64 KB maxPayload binds both transports: a 100 KB packet is refused, not processed', async () => {
    // The Engine.IO open packet announces maxPayload; a packet over it is a protocol violation
    // the server must not buffer and parse (memory: one client could otherwise push 64 MB frames).
    const raw = await rawClient(server, token);
    const announced = raw.maxPayload;
    assert.equal(announced, 64 * 1024, 'maxPayload announced in the open packet');
    const text = 'w'.repeat(100 * 1024);
    raw.send(`4291["send-message",{"orderId":"${order.id}","message":"${text}"}]`);
    const ws = await raw.waitFor((m) => m.startsWith('4391') || m === '<closed>', 5000).catch(() => 'no answer');
    raw.close();
    const s = await server.connect(token, { transports: ['polling'] });
    const closed = new Promise((resolve) => s.once('disconnect', (reason) => resolve(`disconnect: ${reason}`)));
    const acked = call(s, 'send-message', { orderId: order.id, message: text }, 10000)
      .then((ack) => `answered: ${JSON.stringify(ack).slice(0, 80)}`, (err) => `no ack: ${err.message}`);
    const polling = await Promise.race([closed, acked]);
    s.close();
    const wsOutcome = ws === '<closed>' ? 'closed' : ws === 'no answer' ? 'no-answer' : `answered-${/"code":"(\w+)"/.exec(ws)?.[1] ?? ws.slice(0, 40)}`;
    figure('max-payload-100kb', { announced, websocket: wsOutcome, polling: JSON.stringify(polling) });
    assert.match(polling, /^disconnect/, 'polling: the oversized POST is refused and the session ends');
    assert.equal(ws, '<closed>', `websocket: a 100 KB frame closes the connection (got ${ws.slice(0, 80)})`);
    await assertServing(server, '100 KB packets');
  });

  it('wrong JSON types for every field of every event → an ack with VALIDATION, every time', async () => {
    const o = order.id;
    const wrongIds = [true, false, null, [], {}, [o], { id: o }, 4.5e300]; // a plain number: its own test below
    const cases = [];
    const add = (ev, payload) => cases.push([ev, payload]);
    for (const ev of ['join-order-chat', 'leave-order-chat', 'mark-messages-read', 'send-message', 'typing']) {
      for (const p of [42, true, null, [], 'x y', '']) add(ev, p);
    }
    for (const id of wrongIds) {
      add('join-order-chat', { orderId: id });
      add('leave-order-chat', { orderId: id });
      add('mark-messages-read', { orderId: id });
      add('send-message', { orderId: id, message: 'hi' });
      add('typing', { orderId: id, isTyping: true });
    }
    for (const v of ['3', -1, 1.5, true, {}, [], 1e300]) add('join-order-chat', { orderId: o, since: v });
    for (const v of ['10', 0, 201, 2.5, false, {}, []]) add('join-order-chat', { orderId: o, limit: v });
    for (const v of [42, true, {}, ['hi'], { text: 'hi' }]) add('send-message', { orderId: o, message: v });
    for (const v of [42, true, {}, [], 'javascript:alert(1)', 'ftp://x/y.png', 'http://example.com/a.png', `https://x/${'a'.repeat(2100)}`]) {
      add('send-message', { orderId: o, message: 'hi', imageUrl: v });
    }
    for (const v of ['a', 42, true, {}, [42], [{}], [null], ['bad id!'], Array.from({ length: 11 }, (_, i) => `a${i}`)]) {
      add('send-message', { orderId: o, message: 'hi', attachmentIds: v });
    }
    for (const v of [42, true, {}, [], 'bad id!', 'c'.repeat(65), '']) add('send-message', { orderId: o, message: 'hi', clientMessageId: v });
    for (const v of ['yes', 1, 0, {}, [], null]) add('typing', { orderId: o, isTyping: v });
    add('typing', { orderId: o });
    for (const v of ['3', -1, 1.5, true, {}, []]) add('mark-messages-read', { orderId: o, upToSeq: v });
    const misses = [];
    for (const [ev, payload] of cases) {
      const ack = await call(cust, ev, payload); // fails on silence (no ack within 5 s)
      if (!(ack.ok === false && ack.error?.code === 'VALIDATION')) misses.push(`${ev} ${JSON.stringify(payload)?.slice(0, 80)} → ${JSON.stringify(ack).slice(0, 120)}`);
    }
    // With no payload at all, and with no ack callback (the `error` event answers).
    for (const ev of ['join-order-chat', 'send-message', 'typing', 'leave-order-chat', 'mark-messages-read']) {
      const ack = await cust.timeout(5000).emitWithAck(ev);
      if (ack.error?.code !== 'VALIDATION') misses.push(`${ev} (no payload) → ${JSON.stringify(ack)}`);
      const err = next(cust, 'error');
      cust.emit(ev, { orderId: true });
      const e = await err;
      if (e.code !== 'VALIDATION' || e.event !== ev) misses.push(`${ev} (no ack) → error ${JSON.stringify(e)}`);
    }
    assert.equal(cust.connected, true, 'no bad payload disconnects the socket');
    console.log(misses.map((m) => `  not VALIDATION: ${m}`).join('\n'));
    figure('wrong-types', { calls: cases.length + 10, validation: cases.length + 10 - misses.length, other: misses.length, silent: 0 });
    assert.deepEqual(misses, [], 'every wrong type is a VALIDATION error');
  });

  it('orderId as a JSON number → VALIDATION (ids are strings: section 1), like a bare number payload', async () => {
    const outcomes = {};
    for (const [ev, payload] of [
      ['join-order-chat', 42], ['join-order-chat', { orderId: 42 }], ['leave-order-chat', { orderId: 42 }],
      ['mark-messages-read', { orderId: 42 }], ['send-message', { orderId: 42, message: 'hi' }],
      ['typing', { orderId: 42, isTyping: true }],
    ]) {
      const ack = await call(cust, ev, payload);
      outcomes[`${ev}(${JSON.stringify(payload)})`] = ack.ok ? 'ok' : ack.error.code;
    }
    figure('numeric-order-id', outcomes);
    for (const [k, v] of Object.entries(outcomes)) assert.equal(v, 'VALIDATION', k);
  });

  it('10,000 levels of nesting (socket payload and REST body) are handled without a crash', async () => {
    const depth = 10000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const nestedObj = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const raw = await rawClient(server, token);
    const outcomes = [];
    for (const [what, packet] of [
      ['send-message payload', `421["send-message",${nested}]`],
      ['orderId', `422["join-order-chat",{"orderId":${nestedObj}}]`],
      ['message field', `423["send-message",{"orderId":"${order.id}","message":${nested}}]`],
    ]) {
      if (!raw.open) break;
      raw.send(packet);
      const id = packet.slice(2, 3);
      const reply = await raw.waitFor((m) => m.startsWith(`43${id}`) || m === '<closed>', 5000).catch(() => null);
      outcomes.push(`${what}: ${reply === null ? 'no answer' : reply === '<closed>' ? 'connection closed' : reply.slice(0, 90)}`);
      if (reply && reply !== '<closed>') assert.match(reply, /"code":"VALIDATION"/, what);
    }
    raw.close();
    for (const body of [nested, nestedObj, `{"message":${nested}}`]) {
      const r = await server.rest('POST', `/orders/${order.id}/messages`, token, body);
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'VALIDATION');
      outcomes.push(`REST ${body.slice(0, 12)}…: ${r.status} ${r.body.code}`);
    }
    console.log(outcomes.map((o) => `  ${o}`).join('\n'));
    await assertServing(server, 'deep nesting');
    figure('deep-nesting', { depth, outcomes: outcomes.length, crashes: 0 });
  });

  it('unknown events → VALIDATION "Unknown event: <name>"', async () => {
    const long = `e${'x'.repeat(999)}`;
    for (const name of ['foo', 'DROP TABLE messages', 'new-message', 'previous-messages', 'error-ish', '💥', long]) {
      const ack = await call(cust, name, { orderId: order.id });
      assert.equal(ack.ok, false, name);
      assert.equal(ack.error.code, 'VALIDATION');
      assert.equal(ack.error.message, `Unknown event: ${[...name].slice(0, 64).join('')}`);
    }
    figure('unknown-events', { names: 7, validation: 7 });
  });
});

/**
 * A Socket.IO client over a raw WebSocket (the `ws` package): Engine.IO v4 open, then the
 * namespace CONNECT with the token. `send` writes any frame; `waitFor(pred)` resolves with the
 * first text frame (from now on, or already received) matching pred; '<closed>' when it closed.
 */
async function rawClient(srv, token) {
  const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const inbox = [];
  let waiters = [];
  const c = {
    open: false,
    inbox,
    send: (data, opts) => { if (ws.readyState === WebSocket.OPEN) ws.send(data, opts); },
    close: () => ws.terminate(),
    waitFor: (pred, ms = 5000) => new Promise((resolve, reject) => {
      const hit = inbox.find(pred);
      if (hit !== undefined) { inbox.splice(inbox.indexOf(hit), 1); return resolve(hit); }
      const w = { pred, resolve };
      const timer = setTimeout(() => { waiters = waiters.filter((x) => x !== w); reject(new Error(`no matching frame in ${ms} ms`)); }, ms);
      w.resolve = (m) => { clearTimeout(timer); resolve(m); };
      waiters.push(w);
    }),
  };
  const push = (m) => {
    const w = waiters.find((x) => x.pred(m));
    if (w) { waiters = waiters.filter((x) => x !== w); w.resolve(m); } else inbox.push(m);
  };
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? `<binary ${data.length}>` : data.toString();
    if (m === '2') { c.send('3'); return; } // answer the server's pings
    push(m);
  });
  ws.on('close', () => { c.open = false; push('<closed>'); });
  ws.on('error', () => {});
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  c.open = true;
  const opened = await c.waitFor((m) => m.startsWith('0'));
  assert.match(opened, /^0\{/);
  c.maxPayload = JSON.parse(opened.slice(1)).maxPayload;
  if (token !== null) {
    c.send(`40${JSON.stringify({ token })}`);
    const connected = await c.waitFor((m) => m.startsWith('40') || m.startsWith('44'));
    assert.match(connected, /^40\{"sid"/, `raw connect: ${connected}`);
    // The server registers its event handlers in the connect handler, which sends connection-status
    // first: waiting for it keeps these tests clear of the connect race (A6 tests that race).
    await c.waitFor((m) => m.startsWith('42["connection-status"'));
  }
  return c;
}

describe('A4. Malformed Socket.IO / Engine.IO packets', () => {
  it('garbage over a raw WebSocket: the server stays up, answers /healthz, other clients work', async () => {
    const order = await makeOrder(server);
    const token = server.token(order.customer.id);
    // Each frame on its own fresh connection: what one frame does cannot hide what the next does.
    const frames = [
      ['garbage text', 'hello, server'],
      ['empty frame', ''],
      ['unknown engine.io type 9', '9xyz'],
      ['engine.io message without a socket.io packet', '4'],
      ['unknown socket.io type 9', '49["x"]'],
      ['event without data', '42'],
      ['truncated JSON', '42["send-message",{"orderId":'],
      ['event data not an array', '42{"a":1}'],
      ['empty event array', '42[]'],
      ['event name not a string', '42[1,2,3]'],
      ['event name null', '42[null]'],
      ['binary event claiming 1e9 attachments', '451000000000-["send-message",{"_placeholder":true,"num":0}]'],
      ['binary event claiming 2^64 attachments', '4518446744073709551616-["x",{"_placeholder":true,"num":0}]'],
      ['binary event without a count', '45-["x"]'],
      ['placeholder pointing past the attachments', '451-["send-message",{"_placeholder":true,"num":99}]'],
      ['ack id overflowing i64', '4299999999999999999999999["x"]'],
      ['negative ack id', '42-5["x"]'],
      ['ack for nothing', '43999[{"ok":true}]'],
      ['event to a namespace never connected', '42/nowhere,["x"]'],
      ['connect to an unknown namespace', '40/admin,{}'],
      ['second connect on /', `40${JSON.stringify({ token })}`],
      ['reserved event "disconnect"', '421["disconnect","x"]'],
      ['reserved event "connect"', '422["connect"]'],
      ['engine.io upgrade/noop/close out of place', '5'],
      ['client ping', '2probe'],
      ['invalid UTF-8 in a text frame', Buffer.from([0x34, 0x32, 0x5b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x5d]), { binary: false }],
      ['overlong UTF-8 in a text frame', Buffer.from([0x34, 0x32, 0x5b, 0x22, 0xc0, 0xaf, 0x22, 0x5d]), { binary: false }],
      ['binary frame of random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256)), { binary: true }],
      ['binary frame when no attachment is expected', Buffer.from([1, 2, 3]), { binary: true }],
      ['100 KB text frame (over the 64 KB max payload)', `42["x","${'y'.repeat(100 * 1024)}"]`],
      ['engine.io close', '1'],
    ];
    const rows = [];
    for (const [what, frame, opts] of frames) {
      const raw = await rawClient(server, token);
      raw.send(frame, opts);
      // Then a well-formed event with an ack: answered (the connection survived) or the connection closed.
      raw.send('4277["hardening-after"]');
      const reply = await raw.waitFor((m) => m.startsWith('4377') || m === '<closed>', 5000).catch(() => 'no answer');
      const outcome = reply === '<closed>' ? 'closed' : reply === 'no answer' ? 'no answer' : 'still answering';
      rows.push(`${what.padEnd(50)} → ${outcome}`);
      raw.close();
      assert.equal((await probe(server.url, '/healthz')).status, 200, `/healthz after: ${what}`);
      assert.ok(server.alive(), `the process is up after: ${what}`);
    }
    console.log(rows.map((r) => `  ${r}`).join('\n'));
    await assertServing(server, 'malformed websocket frames');
    figure('malformed-websocket', { frames: frames.length, serverUp: 'yes', secondClientWorks: 'yes' });
  });

  it('garbage over HTTP long-polling POSTs: the server stays up, answers /healthz, other clients work', async () => {
    const order = await makeOrder(server);
    const token = server.token(order.customer.id);
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = async () => {
      const text = await (await fetch(base)).text();
      const sid = JSON.parse(text.slice(1)).sid;
      const r = await fetch(`${base}&sid=${sid}`, { method: 'POST', body: `40${JSON.stringify({ token })}`, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
      assert.equal(r.status, 200);
      return sid;
    };
    const bodies = [
      ['garbage text', 'hello, server'],
      ['empty body', ''],
      ['unknown engine.io type', '9'],
      ['record separators only', '\x1e\x1e\x1e'],
      ['a valid packet then garbage', `42["x"]\x1e\x00\x01\x02`],
      ['truncated JSON', '42["send-message",{'],
      ['binary event claiming 1e9 attachments', '451000000000-["send-message",{"_placeholder":true,"num":0}]'],
      ['base64 binary that is not base64', 'b!!!not-base64!!!'],
      ['invalid UTF-8', Buffer.from([0x34, 0x32, 0x5b, 0x22, 0xff, 0xfe, 0xfd, 0x22, 0x5d])],
      ['deeply nested', `42["send-message",${'['.repeat(10000)}${']'.repeat(10000)}]`],
      ['10 MB body', `42["send-message",{"message":"${'z'.repeat(10 * 1024 * 1024)}"}]`],
    ];
    const rows = [];
    for (const [what, body] of bodies) {
      const sid = await open();
      let status;
      try {
        status = (await fetch(`${base}&sid=${sid}`, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } })).status;
      } catch (err) {
        status = `request failed (${err.cause?.code || err.message})`;
      }
      rows.push(`${what.padEnd(42)} → HTTP ${status}`);
      assert.equal((await probe(server.url, '/healthz')).status, 200, `/healthz after: ${what}`);
      assert.ok(server.alive(), `the process is up after: ${what}`);
    }
    // Garbage without a session: unknown sid, bad EIO version, bad transport.
    for (const [what, url] of [
      ['unknown sid', `${base}&sid=AAAAAAAAAAAAAAAAAAAA`],
      ['EIO=3', `${server.url}/socket.io/?EIO=3&transport=polling`],
      ['EIO=999', `${server.url}/socket.io/?EIO=999&transport=polling`],
      ['transport=carrier-pigeon', `${server.url}/socket.io/?EIO=4&transport=carrier-pigeon`],
    ]) {
      const r = await fetch(url, { method: 'POST', body: '42["x"]' });
      rows.push(`${what.padEnd(42)} → HTTP ${r.status}`);
      assert.ok(r.status >= 400 && r.status < 500, `${what}: a 4xx, got ${r.status}`);
    }
    console.log(rows.map((r) => `  ${r}`).join('\n'));
    await assertServing(server, 'malformed polling bodies');
    figure('malformed-polling', { bodies: bodies.length + 4, serverUp: 'yes', secondClientWorks: 'yes' });
  });
});

describe('A5. Limits (defaults)', () => {
  let limited;
  before(async () => { limited = await spawnServer(); });
  after(async () => { await limited?.stop(); });

  it('messages per second: past the burst of 20 → RATE_LIMITED with retryAfterMs (socket and REST share the budget)', async () => {
    const order = await makeOrder(limited);
    const s = await joined(limited, order.customer.id, order.id);
    const acks = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      call(s, 'send-message', { orderId: order.id, message: `burst ${i}` })));
    const ok = acks.filter((a) => a.ok).length;
    const limitedAcks = acks.filter((a) => !a.ok);
    assert.ok(ok >= 20 && ok <= 22, `the burst of 20 passes (plus at most the refill): ${ok}`);
    for (const a of limitedAcks) {
      assert.equal(a.error.code, 'RATE_LIMITED');
      assert.ok(Number.isInteger(a.error.retryAfterMs) && a.error.retryAfterMs > 0 && a.error.retryAfterMs <= 1000,
        `retryAfterMs ${a.error.retryAfterMs}`);
    }
    // REST draws on the same budget: 429 with Retry-After (a few tokens came back while the
    // burst was being stored, 10 per second: spend them first).
    let r;
    let restAccepted = 0;
    for (let i = 0; i < 10; i++) {
      r = await limited.rest('POST', `/orders/${order.id}/messages`, limited.token(order.customer.id), { message: `rest ${i}` });
      if (r.status !== 201) break;
      restAccepted += 1;
    }
    assert.ok(restAccepted <= 5, `REST shares the budget (${restAccepted} accepted right after the burst)`);
    assert.equal(r.status, 429);
    assert.equal(r.body.code, 'RATE_LIMITED');
    assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After header');
    assert.ok(r.body.retryAfterMs > 0);
    // After the hint, a send passes; another user was never limited.
    await new Promise((res) => setTimeout(res, r.body.retryAfterMs + 20));
    assert.equal((await call(s, 'send-message', { orderId: order.id, message: 'after the wait' })).ok, true);
    const agent = await joined(limited, order.agents[0].id, order.id);
    assert.equal((await call(agent, 'send-message', { orderId: order.id, message: 'agent unaffected' })).ok, true);
    // Nothing refused was stored.
    const h = await limited.rest('GET', `/messages/${order.id}?limit=200`, limited.token(order.customer.id));
    assert.equal(h.body.data.messages.filter((m) => m.senderType === 'customer').length, ok + restAccepted + 1);
    figure('rate-limit', { sent: 30, accepted: ok, restAcceptedAfter: restAccepted, rateLimited: limitedAcks.length, retryAfterMs: limitedAcks[0]?.error.retryAfterMs, restStatus: r.status });
    s.close();
    agent.close();
  });

  it('typing is throttled to 4 per second per user and order: ack data.throttled, nothing broadcast; isTyping:false never dropped', async () => {
    const order = await makeOrder(limited);
    const s = await joined(limited, order.customer.id, order.id);
    const agent = await joined(limited, order.agents[0].id, order.id);
    const got = collect(agent, 'user-typing');
    const acks = [];
    for (let i = 0; i < 12; i++) acks.push(await call(s, 'typing', { orderId: order.id, isTyping: true }));
    assert.ok(acks.every((a) => a.ok), 'typing is never an error');
    const passed = acks.filter((a) => !a.data.throttled).length;
    const throttled = acks.filter((a) => a.data.throttled === true).length;
    assert.ok(passed >= 4 && passed <= 5, `4 per second pass: ${passed}`);
    assert.equal(passed + throttled, 12);
    // Stopping typing is never dropped, even right after the throttle bit.
    const stops = [];
    for (let i = 0; i < 3; i++) stops.push(await call(s, 'typing', { orderId: order.id, isTyping: false }));
    assert.ok(stops.every((a) => a.ok && !a.data.throttled), `isTyping:false is never throttled: ${JSON.stringify(stops)}`);
    await barrier(agent);
    assert.equal(got.filter((t) => t.isTyping).length, passed, 'only the unthrottled isTyping:true are broadcast');
    assert.equal(got.filter((t) => !t.isTyping).length, 3, 'every isTyping:false is broadcast');
    figure('typing-throttle', { sentTrue: 12, broadcastTrue: passed, throttled, sentFalse: 3, broadcastFalse: 3 });
    s.close();
    agent.close();
  });

  it('sockets per user: the 21st → connect_error "Too many connections: at most 20 per user"', async () => {
    const order = await makeOrder(limited);
    const token = limited.token(order.customer.id);
    const sockets = [];
    for (let i = 0; i < 20; i++) sockets.push(await limited.connect(token));
    assert.equal(await limited.refusal(token), 'Too many connections: at most 20 per user');
    assert.equal(await limited.refusal(token, { transports: ['polling'] }), 'Too many connections: at most 20 per user');
    // Another user is unaffected; closing one socket makes room again.
    const other = await limited.connect(limited.token(order.agents[0].id));
    sockets.pop().close();
    const again = await waitFor(() => limited.connect(token).catch(() => null), 'a socket is admitted once one closed', 5000);
    assert.equal(again.connected, true);
    figure('sockets-per-user', { limit: 20, refusedAt: 21 });
    for (const s of [...sockets, other, again]) s.close();
  });

  it('chats per socket: the 51st join → LIMIT_EXCEEDED; leaving one makes room', async () => {
    const customer = { id: uid('many'), name: 'Many Orders' };
    const orders = [];
    for (let i = 0; i < 51; i++) orders.push(await makeOrder(limited, { customer }));
    const s = await limited.connect(limited.token(customer.id));
    for (const o of orders.slice(0, 50)) assert.equal((await call(s, 'join-order-chat', o.id)).ok, true);
    const refused = await call(s, 'join-order-chat', orders[50].id);
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'LIMIT_EXCEEDED');
    assert.equal((await call(s, 'join-order-chat', orders[0].id)).ok, true, 'a re-join of a joined chat is not a new room');
    assert.equal((await call(s, 'leave-order-chat', orders[1].id)).ok, true);
    assert.equal((await call(s, 'join-order-chat', orders[50].id)).ok, true);
    figure('chats-per-socket', { limit: 50, refusedAt: 51, code: refused.error.code, message: JSON.stringify(refused.error.message) });
    s.close();
  });
});

describe('A6. Events sent right after the handshake', () => {
  it('an event emitted before "connect" (buffered by socket.io-client) is answered, every time', async () => {
    // socket.io-client buffers emits made before the connection is up and sends them as soon as
    // the CONNECT ack arrives; `io(url).emit('join-order-chat', id, cb)` is common client code.
    const order = await makeOrder(server);
    const token = server.token(order.customer.id);
    const tries = 200;
    let lost = 0;
    for (let i = 0; i < tries; i++) {
      const s = io(server.url, { transports: ['websocket'], auth: { token }, forceNew: true, reconnection: false });
      const ack = await s.timeout(3000).emitWithAck('join-order-chat', order.id).catch(() => null);
      if (!ack?.ok) lost += 1;
      s.close();
    }
    figure('emit-before-connect', { tries, unanswered: lost });
    assert.equal(lost, 0, `${lost} of ${tries} joins emitted before connect got no ack (silently dropped)`);
  });
});
