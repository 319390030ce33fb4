'use strict';
// A reference order chat written the way a typical Node.js team would: socket.io 4 on node's
// http server, jsonwebtoken for the access tokens, better-sqlite3 for storage. It speaks the same
// contract as order-chat (docs/PROTOCOL.md: events, acks, message shape, internal API) closely
// enough for chat-bench to drive both with the same parameters. It exists to be measured against.
//
// Environment: PORT (default 8091), DATABASE_PATH (default ./data/reference.db),
// JWT_ACCESS_SECRET, INTERNAL_API_KEY (both required).

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { Server } = require('socket.io');
const jwt = require('jsonwebtoken');
const Database = require('better-sqlite3');

const PORT = Number(process.env.PORT || 8091);
const HOST = '127.0.0.1';
const DATABASE_PATH = process.env.DATABASE_PATH || path.join(__dirname, 'data', 'reference.db');
const JWT_ACCESS_SECRET = process.env.JWT_ACCESS_SECRET;
const INTERNAL_API_KEY = process.env.INTERNAL_API_KEY;
for (const [name, value] of [['JWT_ACCESS_SECRET', JWT_ACCESS_SECRET], ['INTERNAL_API_KEY', INTERNAL_API_KEY]]) {
  if (!value) {
    console.error(`${name} is required`);
    process.exit(1);
  }
}

// ---- storage -------------------------------------------------------------------------------

fs.mkdirSync(path.dirname(DATABASE_PATH), { recursive: true });
const db = new Database(DATABASE_PATH);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL'); // an acked message is on disk, as in order-chat
db.pragma('foreign_keys = ON');
db.exec(`
  CREATE TABLE IF NOT EXISTS orders (
    id           TEXT PRIMARY KEY,
    order_number TEXT UNIQUE,
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS participants (
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    role     TEXT NOT NULL,
    name     TEXT NOT NULL,
    display_image TEXT,
    position INTEGER NOT NULL,
    PRIMARY KEY (order_id, user_id)
  );
  CREATE INDEX IF NOT EXISTS participants_by_user ON participants(user_id);
  CREATE TABLE IF NOT EXISTS messages (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders(id),
    seq               INTEGER NOT NULL,
    sender_id         TEXT NOT NULL,
    sender_type       TEXT NOT NULL,
    sender_name       TEXT NOT NULL,
    message           TEXT NOT NULL,
    image_url         TEXT,
    client_message_id TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (order_id, seq)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id
    ON messages(order_id, sender_id, client_message_id) WHERE client_message_id IS NOT NULL;
  CREATE TABLE IF NOT EXISTS read_markers (
    order_id      TEXT NOT NULL REFERENCES orders(id),
    user_id       TEXT NOT NULL,
    last_read_seq INTEGER NOT NULL,
    read_at       TEXT NOT NULL,
    PRIMARY KEY (order_id, user_id)
  );
`);

const q = {
  order: db.prepare('SELECT * FROM orders WHERE id = ? OR order_number = ?'),
  participant: db.prepare('SELECT role, name FROM participants WHERE order_id = ? AND user_id = ?'),
  participants: db.prepare('SELECT user_id, role, name, display_image FROM participants WHERE order_id = ? ORDER BY position'),
  anyRole: db.prepare('SELECT role FROM participants WHERE user_id = ? LIMIT 1'),
  upsertOrder: db.prepare(`INSERT INTO orders (id, order_number, status, created_at, updated_at)
    VALUES (@id, @orderNumber, @status, @now, @now)
    ON CONFLICT(id) DO UPDATE SET order_number = COALESCE(@orderNumber, order_number),
      status = @status, updated_at = @now`),
  clearParticipants: db.prepare('DELETE FROM participants WHERE order_id = ?'),
  addParticipant: db.prepare(`INSERT INTO participants (order_id, user_id, role, name, display_image, position)
    VALUES (?, ?, ?, ?, ?, ?)`),
  nextSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM messages WHERE order_id = ?'),
  insertMessage: db.prepare(`INSERT INTO messages
    (id, order_id, seq, sender_id, sender_type, sender_name, message, image_url, client_message_id, created_at, updated_at)
    VALUES (@id, @orderId, @seq, @senderId, @senderType, @senderName, @message, @imageUrl, @clientMessageId, @createdAt, @createdAt)`),
  byClientId: db.prepare('SELECT * FROM messages WHERE order_id = ? AND sender_id = ? AND client_message_id = ?'),
  latest: db.prepare('SELECT * FROM messages WHERE order_id = ? ORDER BY seq DESC LIMIT ?'),
  since: db.prepare('SELECT * FROM messages WHERE order_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?'),
  lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM messages WHERE order_id = ?'),
  reads: db.prepare('SELECT user_id, last_read_seq FROM read_markers WHERE order_id = ?'),
  marker: db.prepare('SELECT last_read_seq FROM read_markers WHERE order_id = ? AND user_id = ?'),
  setMarker: db.prepare(`INSERT INTO read_markers (order_id, user_id, last_read_seq, read_at) VALUES (?, ?, ?, ?)
    ON CONFLICT(order_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, read_at = excluded.read_at
    WHERE excluded.last_read_seq > read_markers.last_read_seq`),
  messageAt: db.prepare('SELECT id FROM messages WHERE order_id = ? AND seq = ?'),
};

// Per-order seq: read the max and insert in one transaction (better-sqlite3 runs it synchronously).
const storeMessage = db.transaction((m) => {
  m.seq = q.nextSeq.get(m.orderId).seq;
  q.insertMessage.run(m);
  return m;
});

const saveOrder = db.transaction((id, body) => {
  const existed = q.order.get(id, id);
  const now = new Date().toISOString();
  q.upsertOrder.run({ id, orderNumber: body.orderNumber ?? null, status: body.status, now });
  q.clearParticipants.run(id);
  q.addParticipant.run(id, body.customer.id, 'customer', body.customer.name, body.customer.displayImage ?? null, 0);
  body.agents.forEach((a, i) => q.addParticipant.run(id, a.id, 'agent', a.name, a.displayImage ?? null, i + 1));
  return { existed: Boolean(existed), order: q.order.get(id, id) };
});

// ---- rules ---------------------------------------------------------------------------------

class ChatError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const ID = /^[A-Za-z0-9._:@-]{1,64}$/;
const CLOSED = new Set(['completed', 'cancelled']);

function requireId(value, what) {
  if (typeof value !== 'string' || !ID.test(value)) throw new ChatError('VALIDATION', `${what} is invalid`);
  return value;
}

// The order and the caller's role in it, or ORDER_NOT_FOUND / FORBIDDEN.
function access(orderIdOrNumber, userId) {
  const order = q.order.get(orderIdOrNumber, orderIdOrNumber);
  if (!order) throw new ChatError('ORDER_NOT_FOUND', 'Order not found');
  const p = q.participant.get(order.id, userId);
  if (!p) throw new ChatError('FORBIDDEN', 'You are not a participant of this order');
  return { order, role: p.role, name: p.name };
}

function toMessage(row) {
  const m = {
    id: row.id,
    orderId: row.order_id,
    seq: row.seq,
    senderId: row.sender_id,
    senderType: row.sender_type,
    sender: { id: row.sender_id, name: row.sender_name, displayImage: null, type: row.sender_type },
    message: row.message,
    attachments: [],
    isRead: false,
    readBy: [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.image_url) m.imageUrl = row.image_url;
  if (row.client_message_id) m.clientMessageId = row.client_message_id;
  return m;
}

function orderArg(data) {
  return typeof data === 'string' ? data : data && data.orderId;
}

const room = (orderId) => `order:${orderId}`;

// ---- HTTP: the internal API ----------------------------------------------------------------

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function fail(res, status, code, message) {
  send(res, status, { status: 'error', error: true, code, message });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { status: 'ok' });
  const m = /^\/api\/v0\/internal\/orders\/([^/?]+)$/.exec(req.url);
  if (!m || req.method !== 'PUT') return fail(res, 404, 'NOT_FOUND', 'Not found');
  if (req.headers.authorization !== `Bearer ${INTERNAL_API_KEY}`) {
    return fail(res, 401, 'UNAUTHORIZED', 'Invalid internal API key');
  }
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    raw += chunk;
  });
  req.on('end', () => {
    try {
      const id = requireId(decodeURIComponent(m[1]), 'orderId');
      const body = JSON.parse(raw);
      if (typeof body.status !== 'string' || !/^[a-z_-]{1,32}$/.test(body.status)) {
        throw new ChatError('VALIDATION', 'status is invalid');
      }
      if (!body.customer || !Array.isArray(body.agents)) {
        throw new ChatError('VALIDATION', 'customer and agents are required');
      }
      for (const u of [body.customer, ...body.agents]) {
        requireId(u.id, 'user id');
        if (typeof u.name !== 'string' || u.name.length < 1 || u.name.length > 200) {
          throw new ChatError('VALIDATION', 'name is invalid');
        }
      }
      const { existed, order } = saveOrder(id, body);
      if (existed) {
        io.to(room(id)).emit('order-updated', {
          orderId: id,
          orderNumber: order.order_number,
          status: order.status,
          customerId: body.customer.id,
          agentIds: body.agents.map((a) => a.id),
        });
      }
      send(res, 200, { status: 'success', message: 'Order saved', data: { orderId: id, orderNumber: order.order_number, status: order.status } });
    } catch (e) {
      if (e instanceof ChatError) return fail(res, 400, e.code, e.message);
      if (e instanceof SyntaxError) return fail(res, 400, 'VALIDATION', 'Malformed JSON');
      console.error(e);
      fail(res, 500, 'INTERNAL', 'Something went wrong');
    }
  });
});

// ---- Socket.IO -----------------------------------------------------------------------------

const io = new Server(server);

io.use((socket, next) => {
  let token = socket.handshake.auth && socket.handshake.auth.token;
  if (!token && socket.handshake.headers.authorization) token = socket.handshake.headers.authorization;
  if (!token && socket.handshake.query.token) token = socket.handshake.query.token;
  if (!token) return next(new Error('Authentication error: Token not provided'));
  token = String(token).replace(/^Bearer\s+/i, '');
  try {
    const payload = jwt.verify(token, JWT_ACCESS_SECRET, { algorithms: ['HS256'], clockTolerance: 30 });
    if (payload.tokenType && payload.tokenType !== 'access') throw new Error('wrong token type');
    const id = (payload.user && payload.user.id) || payload.sub;
    if (typeof id !== 'string' || !ID.test(id)) throw new Error('no user id');
    const p = q.anyRole.get(id);
    socket.data.user = { id, type: p ? p.role : payload.type || 'customer' };
    next();
  } catch (e) {
    next(new Error(e.name === 'TokenExpiredError' ? 'Authentication error: Token expired' : 'Authentication error: Invalid token'));
  }
});

io.on('connection', (socket) => {
  const me = socket.data.user;
  socket.join(`user:${me.id}`);
  socket.emit('connection-status', { status: 'connected', userId: me.id, userType: me.type });

  // Every handler: run, then answer on the ack ({ok,data} / {ok:false,error}) or the `error` event.
  function handle(name, fn) {
    socket.on(name, (data, ack) => {
      if (typeof data === 'function') {
        ack = data;
        data = undefined;
      }
      let result;
      try {
        result = { ok: true, data: fn(data) };
      } catch (e) {
        if (!(e instanceof ChatError)) console.error(name, e);
        const error = e instanceof ChatError ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: 'Something went wrong' };
        result = { ok: false, error };
        if (typeof ack !== 'function') socket.emit('error', { ...error, event: name, orderId: orderArg(data) });
      }
      if (typeof ack === 'function') ack(result);
    });
  }

  handle('join-order-chat', (data) => {
    const { order, role, name } = access(requireId(orderArg(data), 'orderId'), me.id);
    const limit = data && data.limit !== undefined ? Number(data.limit) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new ChatError('VALIDATION', 'limit must be 1 to 200');
    let rows;
    if (data && data.since !== undefined) {
      rows = q.since.all(order.id, Number(data.since), limit + 1);
    } else {
      rows = q.latest.all(order.id, limit + 1).reverse();
    }
    const hasMore = rows.length > limit;
    if (hasMore) rows = data && data.since !== undefined ? rows.slice(0, limit) : rows.slice(1);
    const messages = rows.map(toMessage);
    const r = room(order.id);
    const firstSocket = !io.sockets.adapter.rooms.get(`${r}|${me.id}`);
    socket.join([r, `${r}|${me.id}`]);
    socket.emit('previous-messages', messages);
    if (firstSocket) {
      socket.to(r).except(`user:${me.id}`).emit('user-joined', {
        orderId: order.id, userId: me.id, id: me.id, name, type: role, timestamp: new Date().toISOString(),
      });
    }
    const online = io.sockets.adapter.rooms;
    const participants = q.participants.all(order.id).map((p) => ({
      id: p.user_id, name: p.name, type: p.role, online: online.has(`${r}|${p.user_id}`),
    }));
    const reads = {};
    for (const m of q.reads.all(order.id)) reads[m.user_id] = m.last_read_seq;
    return { orderId: order.id, messages, hasMore, participants, reads };
  });

  handle('send-message', (data) => {
    if (!data || typeof data !== 'object') throw new ChatError('VALIDATION', 'payload must be an object');
    const orderId = requireId(data.orderId, 'orderId');
    const text = typeof data.message === 'string' ? data.message.trim() : '';
    if (text.length < 1 || text.length > 4000) throw new ChatError('VALIDATION', 'message must be 1 to 4000 characters');
    const clientMessageId = data.clientMessageId === undefined ? null : requireId(data.clientMessageId, 'clientMessageId');
    const { order, role, name } = access(orderId, me.id);
    if (CLOSED.has(order.status)) throw new ChatError('ORDER_CLOSED', 'This order is closed');
    if (clientMessageId) {
      const dup = q.byClientId.get(order.id, me.id, clientMessageId);
      if (dup) return toMessage(dup);
    }
    const createdAt = new Date().toISOString();
    const row = storeMessage({
      id: crypto.randomUUID(),
      orderId: order.id,
      seq: 0,
      senderId: me.id,
      senderType: role,
      senderName: name,
      message: text,
      imageUrl: null,
      clientMessageId,
      createdAt,
    });
    const message = toMessage({
      id: row.id, order_id: row.orderId, seq: row.seq, sender_id: row.senderId, sender_type: row.senderType,
      sender_name: row.senderName, message: row.message, image_url: null, client_message_id: row.clientMessageId,
      created_at: createdAt, updated_at: createdAt,
    });
    io.to(room(order.id)).emit('new-message', message);
    return message;
  });

  handle('typing', (data) => {
    const orderId = requireId(orderArg(data), 'orderId');
    const { order, name } = access(orderId, me.id);
    if (!socket.rooms.has(room(order.id))) throw new ChatError('NOT_JOINED', 'Join the order chat first');
    socket.to(room(order.id)).except(`user:${me.id}`).emit('user-typing', {
      orderId: order.id, isTyping: Boolean(data && data.isTyping), user: { id: me.id, name },
    });
    return null;
  });

  handle('leave-order-chat', (data) => {
    const orderId = requireId(orderArg(data), 'orderId');
    const { order, role, name } = access(orderId, me.id);
    leave(order.id, role, name);
    return null;
  });

  handle('mark-messages-read', (data) => {
    const orderId = requireId(orderArg(data), 'orderId');
    const { order } = access(orderId, me.id);
    const latest = q.lastSeq.get(order.id).seq;
    let upTo = data && data.upToSeq !== undefined ? Number(data.upToSeq) : latest;
    if (!Number.isInteger(upTo) || upTo < 0) throw new ChatError('VALIDATION', 'upToSeq is invalid');
    upTo = Math.min(upTo, latest);
    const readAt = new Date().toISOString();
    const marked = q.setMarker.run(order.id, me.id, upTo, readAt).changes > 0;
    const current = q.marker.get(order.id, me.id);
    const lastReadSeq = current ? current.last_read_seq : 0;
    if (marked) {
      const at = q.messageAt.get(order.id, lastReadSeq);
      io.to(room(order.id)).emit('messages-read', {
        orderId: order.id, userId: me.id, lastReadSeq, lastReadMessageId: at ? at.id : null, readAt,
      });
    }
    return { orderId: order.id, userId: me.id, lastReadSeq, readAt, marked };
  });

  function leave(orderId, role, name) {
    const r = room(orderId);
    socket.leave(r);
    socket.leave(`${r}|${me.id}`);
    if (!io.sockets.adapter.rooms.has(`${r}|${me.id}`)) {
      socket.to(r).except(`user:${me.id}`).emit('user-left', {
        orderId, userId: me.id, id: me.id, name, type: role, timestamp: new Date().toISOString(),
      });
    }
  }

  socket.on('disconnecting', () => {
    for (const r of socket.rooms) {
      if (!r.startsWith('order:') || r.includes('|')) continue;
      const orderId = r.slice('order:'.length);
      const p = q.participant.get(orderId, me.id);
      // Still inside `disconnecting` the socket is in its rooms: count the user's other sockets.
      const mine = io.sockets.adapter.rooms.get(`${r}|${me.id}`);
      if (mine && mine.size <= 1) {
        socket.to(r).except(`user:${me.id}`).emit('user-left', {
          orderId, userId: me.id, id: me.id, name: p ? p.name : me.id, type: p ? p.role : me.type, timestamp: new Date().toISOString(),
        });
      }
    }
  });
});

server.listen(PORT, HOST, () => {
  console.log(`listening on http://${HOST}:${server.address().port}`);
});

function shutdown() {
  io.close();
  server.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
