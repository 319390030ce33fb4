// PROTOCOL.md section 1 (tokens) and section 2 (the Socket.IO handshake): where the token is read
// from, connection-status, and each refused handshake with its exact connect_error message.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, signToken, uid, call } from '../lib/server.mjs';
import { assertConnectionStatus, ackData } from '../lib/shapes.mjs';

const NOT_PROVIDED = 'Authentication error: Token not provided';
const INVALID = 'Authentication error: Invalid token';
const EXPIRED = 'Authentication error: Token expired';
const BLOCKED = 'Your account has been blocked. Please contact support';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

describe('handshake: where the token is read from', () => {
  it('auth.token with the bare JWT connects and gets connection-status', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id));
    assert.equal(s.connected, true);
    assertConnectionStatus(s.status, order.customer.id, 'customer');
  });

  it('auth.token with "Bearer <jwt>" connects', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(`Bearer ${server.token(order.agents[0].id)}`);
    assertConnectionStatus(s.status, order.agents[0].id, 'agent');
  });

  it('the Authorization header over polling (extraHeaders) connects', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(undefined, {
      transports: ['polling'],
      options: { extraHeaders: { Authorization: `Bearer ${server.token(order.customer.id)}` } },
    });
    assert.equal(s.io.engine.transport.name, 'polling');
    assertConnectionStatus(s.status, order.customer.id, 'customer');
  });

  it('the Authorization header over websocket (node) connects', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(undefined, {
      transports: ['websocket'],
      options: { extraHeaders: { Authorization: `Bearer ${server.token(order.customer.id)}` } },
    });
    assert.equal(s.io.engine.transport.name, 'websocket');
    assertConnectionStatus(s.status, order.customer.id, 'customer');
  });

  it('the token query parameter connects (websocket and polling)', async () => {
    const order = await makeOrder(server);
    for (const transports of [['websocket'], ['polling']]) {
      const s = await server.connect(undefined, {
        transports, options: { query: { token: server.token(order.customer.id) } },
      });
      assertConnectionStatus(s.status, order.customer.id, 'customer');
      s.close();
    }
  });

  it('auth.token wins over the header, the header over the query parameter', async () => {
    const order = await makeOrder(server);
    const [cust, agent] = [order.customer.id, order.agents[0].id];
    const a = await server.connect(server.token(cust), {
      options: { extraHeaders: { Authorization: `Bearer ${server.token(agent)}` }, query: { token: server.token(agent) } },
    });
    assertConnectionStatus(a.status, cust, 'customer');
    const b = await server.connect(undefined, {
      options: { extraHeaders: { Authorization: `Bearer ${server.token(agent)}` }, query: { token: server.token(cust) } },
    });
    assertConnectionStatus(b.status, agent, 'agent');
    // The first source present is the one used: a bad auth.token is not rescued by a good header.
    assert.equal(await server.refusal('garbage', {
      options: { extraHeaders: { Authorization: `Bearer ${server.token(cust)}` } },
    }), INVALID);
  });

  it('the user id falls back to `sub`', async () => {
    const order = await makeOrder(server);
    const t = signToken({ sub: order.customer.id, tokenType: 'access' }, server.secret);
    const s = await server.connect(t);
    assertConnectionStatus(s.status, order.customer.id, 'customer');
  });

  it('a user the directory does not know takes the type from the token claims', async () => {
    const id = uid('newagent');
    const s = await server.connect(server.token(id, { name: 'Kemi', type: 'agent' }));
    assertConnectionStatus(s.status, id, 'agent');
  });

  it('a token within the 30 s exp leeway still connects', async () => {
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id, {}, { expiresIn: -10 }));
    assertConnectionStatus(s.status, order.customer.id, 'customer');
  });
});

describe('handshake: refusals', () => {
  it('no token at all → Token not provided', async () => {
    assert.equal(await server.refusal(undefined), NOT_PROVIDED);
  });

  it('an empty auth.token or token query parameter → Token not provided', async () => {
    assert.equal(await server.refusal(''), NOT_PROVIDED);
    assert.equal(await server.refusal(undefined, { options: { query: { token: '' } } }), NOT_PROVIDED);
  });

  it('"Bearer" with no token after it (auth.token, header) → Token not provided', async () => {
    assert.equal(await server.refusal('Bearer '), NOT_PROVIDED);
    assert.equal(await server.refusal(undefined, { options: { extraHeaders: { Authorization: 'Bearer' } } }), NOT_PROVIDED);
  });

  it('no token over polling → Token not provided', async () => {
    assert.equal(await server.refusal(undefined, { transports: ['polling'] }), NOT_PROVIDED);
  });

  it('garbage → Invalid token (auth, header and query)', async () => {
    assert.equal(await server.refusal('not-a-jwt'), INVALID);
    assert.equal(await server.refusal('a.b.c'), INVALID);
    assert.equal(await server.refusal(undefined, { options: { extraHeaders: { Authorization: 'Bearer garbage' } } }), INVALID);
    assert.equal(await server.refusal(undefined, { options: { query: { token: 'garbage' } } }), INVALID);
  });

  it('a bad signature → Invalid token', async () => {
    const order = await makeOrder(server);
    assert.equal(await server.refusal(server.token(order.customer.id, {}, { secret: 'wrong-secret' })), INVALID);
    // A valid token whose payload was altered after signing.
    const [h, , sig] = server.token(order.customer.id).split('.');
    const forged = Buffer.from(JSON.stringify({ user: { id: order.agents[0].id }, tokenType: 'access', exp: 9999999999 })).toString('base64url');
    assert.equal(await server.refusal(`${h}.${forged}.${sig}`), INVALID);
  });

  it('alg none → Invalid token', async () => {
    const order = await makeOrder(server);
    const t = server.token(order.customer.id, {}, { header: { alg: 'none', typ: 'JWT' } });
    assert.equal(await server.refusal(t), INVALID);
  });

  it('another HMAC algorithm (HS384, HS512) with the right secret → Invalid token', async () => {
    const order = await makeOrder(server);
    for (const alg of ['HS384', 'HS512']) {
      const t = server.token(order.customer.id, {}, { header: { alg, typ: 'JWT' } });
      assert.equal(await server.refusal(t), INVALID, alg);
    }
  });

  it('an expired token → Token expired', async () => {
    const order = await makeOrder(server);
    assert.equal(await server.refusal(server.token(order.customer.id, {}, { expiresIn: -120 })), EXPIRED);
  });

  it('a token without exp → Invalid token', async () => {
    const order = await makeOrder(server);
    assert.equal(await server.refusal(server.token(order.customer.id, {}, { noExp: true })), INVALID);
  });

  it('a user id outside the id rule (bad characters, over 64 characters, empty) → Invalid token', async () => {
    for (const id of ['bad id!', 'x'.repeat(65), '', 'a/b']) {
      assert.equal(await server.refusal(server.token(id)), INVALID, JSON.stringify(id));
    }
    assert.equal(await server.refusal(signToken({ tokenType: 'access' }, server.secret)), INVALID, 'no user id at all');
  });

  it('tokenType "refresh" → Invalid token', async () => {
    const order = await makeOrder(server);
    assert.equal(await server.refusal(server.token(order.customer.id, { tokenType: 'refresh' })), INVALID);
  });

  it('a blocked user → the blocked message', async () => {
    const id = uid('blocked');
    await server.putUser(id, { name: 'Blocked Bob', type: 'customer', blocked: true });
    assert.equal(await server.refusal(server.token(id)), BLOCKED);
    assert.equal(await server.refusal(undefined, { transports: ['polling'], options: { query: { token: server.token(id) } } }), BLOCKED);
  });

  it('an unblocked user connects again', async () => {
    const id = uid('unblocked');
    await server.putUser(id, { name: 'Bob', type: 'customer', blocked: true });
    assert.equal(await server.refusal(server.token(id)), BLOCKED);
    await server.putUser(id, { name: 'Bob', type: 'customer', blocked: false });
    const s = await server.connect(server.token(id));
    assertConnectionStatus(s.status, id, 'customer');
  });

  it('an admin token signed with the user secret → Invalid token', async () => {
    const t = server.adminToken('ops@example.com', { secret: server.secret });
    assert.equal(await server.refusal(t), INVALID);
  });

  it('a user access token signed with the admin secret → Invalid token', async () => {
    const order = await makeOrder(server);
    assert.equal(await server.refusal(server.token(order.customer.id, {}, { secret: server.adminSecret })), INVALID);
  });

  it('a refused socket is not connected and the server keeps serving', async () => {
    assert.equal(await server.refusal('garbage'), INVALID);
    const order = await makeOrder(server);
    const s = await server.connect(server.token(order.customer.id));
    const joined = ackData(await call(s, 'join-order-chat', order.id));
    assert.equal(joined.orderId, order.id);
  });
});

describe('handshake: admins', () => {
  it('an admin token with the admin secret connects as userType admin (id = authKey)', async () => {
    const s = await server.connect(server.adminToken('ops@example.com'));
    assertConnectionStatus(s.status, 'ops@example.com', 'admin');
  });

  it('an admin token naming the admin by `sub` connects', async () => {
    const t = signToken({ sub: 'admin-7', tokenType: 'admin' }, server.adminSecret);
    const s = await server.connect(t);
    assertConnectionStatus(s.status, 'admin-7', 'admin');
  });

  it('an expired admin token → Token expired', async () => {
    assert.equal(await server.refusal(server.adminToken('ops@example.com', { expiresIn: -120 })), EXPIRED);
  });
});
