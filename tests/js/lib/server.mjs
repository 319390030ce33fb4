// Test helpers: run the real `order-chat` binary on a free loopback port, feed it orders through
// the internal API as the main backend would, mint tokens, and talk to it with the official
// socket.io-client.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.ORDER_CHAT_BIN || join(here, '..', '..', '..', 'target', 'debug', 'order-chat');

/**
 * Per-user abuse limits high enough that functional tests never meet them (tests of the limits
 * themselves start their own server with low ones). Pass as `startServer({ env: NO_LIMITS })`.
 */
export const NO_LIMITS = {
  MESSAGES_PER_SECOND: '100000',
  MESSAGE_BURST: '100000',
  TYPING_PER_SECOND: '100000',
  MAX_SOCKETS_PER_USER: '1000',
  MAX_ROOMS_PER_SOCKET: '1000',
};

/** A fresh id with a readable prefix, so tests never collide (also on a shared PostgreSQL). */
export const uid = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * Start `order-chat serve` on 127.0.0.1 with a free port. Storage: E2E_DATABASE_URL when set
 * (PostgreSQL runs), else a new SQLite file. Resolves once the server printed its address.
 */
export async function startServer(opts = {}) {
  const databaseUrl = opts.databaseUrl || process.env.E2E_DATABASE_URL ||
    `sqlite://${join(mkdtempSync(join(tmpdir(), 'order-chat-e2e-')), 'chat.db')}`;
  return launch({ label: 'e2e', ...opts, databaseUrl });
}

/**
 * What every way of starting the server shares: spawn `order-chat serve` with the keys (made up
 * unless given), the database and the port in its environment, wait until it prints
 * "listening on", and return the server object the tests use.
 *
 * Options: `databaseUrl` (required), `port` (default 0: any free one), `redisUrl`,
 * `secret`/`adminSecret`/`internalKey`, `env` (more variables), `label` (names the made-up keys),
 * `baseEnv` (the environment it starts from; default this process's), `spawn` (more options for
 * child_process.spawn: `cwd`, `uid`/`gid`), `onSpawn(proc)` (called before anything is awaited,
 * e.g. to kill it when this process exits).
 */
export async function launch(opts) {
  const label = opts.label || 'e2e';
  const secret = opts.secret || `${label}-access-secret-${randomUUID()}`;
  const adminSecret = opts.adminSecret || `${label}-admin-secret-${randomUUID()}`;
  const internalKey = opts.internalKey || `${label}-internal-${randomUUID()}`;
  const { databaseUrl } = opts;
  if (!databaseUrl) throw new Error('launch: databaseUrl is required');
  const env = {
    ...(opts.baseEnv || process.env),
    JWT_ACCESS_SECRET: secret,
    JWT_ADMIN_ACCESS_SECRET: adminSecret,
    INTERNAL_API_KEY: internalKey,
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(opts.port ?? 0),
    RUST_LOG: process.env.RUST_LOG || 'warn',
    // Tests of presence expect user-left when the last socket leaves; the grace (default 10s)
    // has its own tests, which set PRESENCE_GRACE themselves.
    PRESENCE_GRACE: '0s',
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    // Attachments in a temp folder unless the test names a storage (e.g. a shared S3 bucket).
    STORAGE_URL: `file://${join(mkdtempSync(join(tmpdir(), `order-chat-${label}-files-`)), 'files')}`,
    ...(opts.env || {}),
  };
  const proc = spawn(BIN, ['serve'], { ...(opts.spawn || {}), env, stdio: ['ignore', 'pipe', 'pipe'] });
  opts.onSpawn?.(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; if (process.env.E2E_VERBOSE) process.stderr.write(d); });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s\n${stderr}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening\n${stderr}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const sockets = new Set();
  const server = {
    url, proc, pid: proc.pid, secret, adminSecret, internalKey, databaseUrl, exited, sockets,
    stderr: () => stderr,
    /** The process has not exited. */
    alive: () => proc.exitCode === null && proc.signalCode === null,
    /** Close every client socket opened through `server.connect`. */
    closeSockets() {
      for (const s of sockets) s.close();
      sockets.clear();
    },
    /** Close the client sockets, stop with SIGTERM (or the given signal) and wait for the process to end. */
    async stop(signal = 'SIGTERM') {
      server.closeSockets();
      if (server.alive()) proc.kill(signal);
      return exited;
    },
    token: (userId, claims = {}, o = {}) => signToken({ user: { id: userId }, tokenType: 'access', ...claims }, o.secret || secret, o),
    adminToken: (email, o = {}) => signToken({ authKey: email, tokenType: 'admin' }, o.secret || adminSecret, o),
    putOrder: (orderId, body) => internal(server, `orders/${encodeURIComponent(orderId)}`, body),
    putUser: (userId, body) => internal(server, `users/${encodeURIComponent(userId)}`, body),
    connect: (token, o = {}) => connect(url, token, { ...o, track: sockets }),
    /** The `connect_error` message of a refused handshake (fails if the handshake succeeds). */
    refusal: (token, o = {}) => refusal(url, token, o),
    rest: (method, path, token, body) => rest(url, method, path, token, body),
  };
  return server;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

const HMAC = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/**
 * An HS256 JWT; `expiresIn` in seconds (negative for an expired token), `header` to override
 * (`alg` HS384 / HS512 sign with that hash; `none` leaves the signature empty).
 */
export function signToken(claims, secret, o = {}) {
  const header = o.header || { alg: 'HS256', typ: 'JWT' };
  const now = Math.floor(Date.now() / 1000);
  const payload = { exp: now + (o.expiresIn ?? 3600), ...claims };
  if (o.noExp) delete payload.exp;
  const data = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (header.alg === 'none') return `${data}.`;
  return `${data}.${createHmac(HMAC[header.alg] || 'sha256', secret).update(data).digest('base64url')}`;
}

async function internal(server, path, body) {
  const res = await fetch(`${server.url}/api/v0/internal/${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.internalKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`internal ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

export async function rest(url, method, path, token, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}/api/v0/chat${path}`, {
    method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/**
 * Connect with socket.io-client and resolve once connected (with the `connection-status`
 * payload that the server sends right away), or reject with the connect_error.
 */
export function connect(url, token, o = {}) {
  const socket = io(url, {
    transports: o.transports || ['websocket'],
    auth: token === undefined ? undefined : { token },
    reconnection: o.reconnection ?? false,
    forceNew: true,
    ...(o.options || {}),
  });
  o.track?.add(socket);
  // Listeners for what the server sends right after connecting (before this resolves).
  o.before?.(socket);
  const status = new Promise((resolve) => socket.once('connection-status', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.close(); reject(new Error('connect timed out')); }, 10000);
    socket.once('connect', async () => {
      clearTimeout(timer);
      socket.status = await status;
      resolve(socket);
    });
    socket.once('connect_error', (err) => { clearTimeout(timer); socket.close(); reject(err); });
  });
}

/** The next `event` on `socket` (payload), failing after `ms`. */
export function next(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(event, on); reject(new Error(`no ${event} within ${ms} ms`)); }, ms);
    const on = (payload) => { clearTimeout(timer); resolve(payload); };
    socket.once(event, on);
  });
}

/** Collect every `event` on `socket` from now on. */
export function collect(socket, event) {
  const seen = [];
  socket.on(event, (p) => seen.push(p));
  return seen;
}

/** Emit with an ack and resolve with the ack's `{ok, data|error}`. */
export function call(socket, event, payload, ms = 5000) {
  return socket.timeout(ms).emitWithAck(event, payload);
}

/** A new order with a customer and agents (ids generated), created through the internal API. */
export async function makeOrder(server, o = {}) {
  const order = {
    id: o.id || uid('order'),
    number: o.number || `B2S-${randomUUID().slice(0, 6).toUpperCase()}`,
    customer: o.customer || { id: uid('cust'), name: 'Ada Obi' },
    agents: o.agents || [{ id: uid('agent'), name: 'Tunde Bello' }],
    status: o.status || 'shopping',
  };
  await server.putOrder(order.id, {
    orderNumber: order.number, status: order.status, customer: order.customer, agents: order.agents,
  });
  return order;
}

/** Connect expecting a refusal: resolves with the `connect_error` message. */
export async function refusal(url, token, o = {}) {
  try {
    const socket = await connect(url, token, o);
    socket.close();
  } catch (err) {
    return err.message;
  }
  throw new Error('the handshake was accepted');
}

/** The next `event` on `socket` whose payload satisfies `pred` (others are skipped). */
export function nextWhere(socket, event, pred, ms = 5000) {
  return new Promise((resolve, reject) => {
    const on = (payload) => {
      if (!pred(payload)) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(payload);
    };
    const timer = setTimeout(() => { socket.off(event, on); reject(new Error(`no matching ${event} within ${ms} ms`)); }, ms);
    socket.on(event, on);
  });
}

/**
 * Like `collect`, and the array also has `waitFor(n, ms)`: resolves with the array once it holds
 * at least `n` payloads, and `stop()`: stops collecting.
 */
export function collector(socket, event) {
  const seen = [];
  let waiters = [];
  const on = (p) => {
    seen.push(p);
    waiters = waiters.filter((w) => (seen.length >= w.n ? (w.done(), false) : true));
  };
  socket.on(event, on);
  const waitFor = (n, ms = 5000) => new Promise((resolve, reject) => {
    if (seen.length >= n) return resolve(seen);
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${n} ${event} within ${ms} ms`)), ms);
    waiters.push({ n, done: () => { clearTimeout(timer); resolve(seen); } });
  });
  // Not enumerable: the array still deep-equals a plain array of the payloads.
  Object.defineProperty(seen, 'waitFor', { value: waitFor });
  Object.defineProperty(seen, 'stop', { value: () => socket.off(event, on) });
  return seen;
}

/**
 * A round trip on `socket`: emits an event the server answers at once with no side effect
 * (an unknown event, answered on its ack). Whatever the server emitted to this socket before
 * has arrived once this resolves: use it to assert that something did NOT arrive.
 */
export async function barrier(socket, ms = 5000) {
  const ack = await socket.timeout(ms).emitWithAck('e2e-barrier', {});
  if (!ack || ack.ok !== false) throw new Error(`unexpected barrier ack ${JSON.stringify(ack)}`);
}

/** A raw HTTP call (any headers, any body) to the server, with the JSON body parsed if any. */
export async function http(url, method, path, { headers = {}, body } = {}) {
  const res = await fetch(`${url}${path}`, { method, headers, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: json, text };
}

/** The value of a Prometheus metric (no labels) from GET /metrics. */
export async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

/**
 * Close `socket` and wait until the server has seen it go (its open-connections gauge dropped),
 * so a later round trip observes what the disconnect caused.
 */
export async function closeAndWait(server, socket, ms = 5000) {
  const gauge = 'order_chat_socket_connections';
  const before = await metric(server.url, gauge);
  socket.close();
  const deadline = Date.now() + ms;
  while ((await metric(server.url, gauge)) > before - 1) {
    if (Date.now() > deadline) throw new Error('the server did not see the socket close');
    await new Promise((r) => setImmediate(r));
  }
}
