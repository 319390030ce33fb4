// Helpers of the multi-node suite (tests/js/cluster/): several `order-chat` processes sharing one
// PostgreSQL and one Redis, a small TCP proxy standing in for a load balancer, and a chat client
// that survives the death of its node (reconnects elsewhere, re-joins with `since`, retries the
// sends that were not acknowledged, with the same clientMessageId).
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { startServer, connect, uid } from './server.mjs';

/**
 * The shared PostgreSQL and Redis of the cluster, from E2E_DATABASE_URL and E2E_REDIS_URL.
 * Throws (the suite fails, it does not skip) when either is missing.
 */
export function clusterEnv() {
  const databaseUrl = process.env.E2E_DATABASE_URL;
  const redisUrl = process.env.E2E_REDIS_URL;
  const missing = [];
  if (!databaseUrl) missing.push('E2E_DATABASE_URL (a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/cluster)');
  if (!redisUrl) missing.push('E2E_REDIS_URL (e.g. redis://127.0.0.1:6379/?protocol=resp3)');
  if (missing.length > 0) {
    throw new Error(`The multi-node suite needs ${missing.join(' and ')}: every node must share one ` +
      'PostgreSQL database and one Redis. scripts/test.sh sets both.');
  }
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error(`E2E_DATABASE_URL must be a PostgreSQL URL shared by every node, got ${databaseUrl}`);
  }
  if (!/^rediss?:\/\//.test(redisUrl)) throw new Error(`E2E_REDIS_URL must be a redis:// URL, got ${redisUrl}`);
  return { databaseUrl, redisUrl };
}

/**
 * Start `n` nodes on free loopback ports with the same database, Redis, JWT secrets and internal
 * key, so a token or an internal call works on any node. The first node starts alone (it runs
 * the migrations), the others together. `o.env`: more variables for every node (e.g. a shared
 * STORAGE_URL). Resolves with the servers of lib/server.mjs.
 */
export async function startCluster(n, o = {}) {
  const { databaseUrl, redisUrl } = clusterEnv();
  const shared = {
    databaseUrl,
    redisUrl,
    env: o.env,
    secret: `cluster-access-${randomUUID()}`,
    adminSecret: `cluster-admin-${randomUUID()}`,
    internalKey: `cluster-internal-${randomUUID()}`,
    ...(o.env ? { env: o.env } : {}),
  };
  const nodes = [];
  const started = async () => { const s = await startServer(shared); nodes.push(s); return s; };
  try {
    const first = await started();
    const rest = await Promise.all(Array.from({ length: n - 1 }, started));
    return [first, ...rest];
  } catch (err) {
    await stopCluster(nodes);
    throw err;
  }
}

/** Close every socket and stop every node (those already dead included). */
export async function stopCluster(nodes = []) {
  await Promise.all(nodes.map((s) => s?.stop()));
}

/**
 * A TCP proxy on a free loopback port, standing in for a load balancer: it forwards each new
 * connection to the current target (`setTarget(url)`), refuses connections while the target is
 * null, closes the client side of a connection when its upstream closes (a node dying), and can
 * lose the traffic towards the clients of the open connections (`freeze()`).
 */
export async function startProxy(targetUrl) {
  let target = targetUrl ? new URL(targetUrl) : null;
  const pairs = new Set();
  const server = net.createServer((client) => {
    if (!target) { client.destroy(); return; }
    const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
    const pair = [client, upstream];
    pair.frozen = false;
    pairs.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.on('data', (d) => { if (!pair.frozen) client.write(d); });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    /** Forward new connections to `url` (null: refuse them). */
    setTarget(u) { target = u ? new URL(u) : null; },
    /**
     * On the connections open now, drop from now on what the server sends to the client (what the
     * client sends still goes through): the server stores and acknowledges, the acknowledgements
     * are lost on the way. New connections are not affected.
     */
    freeze() { for (const pair of pairs) pair.frozen = true; },
    async close() {
      for (const [a, b] of pairs) { a.destroy(); b.destroy(); }
      pairs.clear();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A chat client of one user in one order that survives the death of its node, as a real client
 * should behave:
 * - it keeps every message it received (`new-message` and `previous-messages`), by seq;
 * - after a reconnect it re-joins with `since` = the highest seq up to which it has seen every
 *   message (so it misses nothing even if broadcasts arrived out of order);
 * - every send carries a clientMessageId; a send not acknowledged when the connection dropped is
 *   sent again, with the same clientMessageId, once the client is back.
 *
 * Two ways back:
 * - `urls` (several nodes): on `disconnect`, await `beforeReconnect()` (if given), then open a NEW
 *   socket to the next node of the list that accepts it;
 * - `url` of a proxy: one socket.io-client socket with its Manager's reconnection enabled; it
 *   re-joins on each reconnection.
 *
 * `log` records what arrived: `{gen, kind: 'live' | 'history', message}` (`gen` counts the
 * connections: 1 for the first), and `joins` each re-join: `{gen, since, messages}`.
 */
export class ResilientClient {
  constructor({ token, orderId, urls, url, beforeReconnect, name = 'client' }) {
    this.token = token;
    this.orderId = orderId;
    this.urls = urls;
    this.proxyUrl = url;
    this.beforeReconnect = beforeReconnect;
    this.name = name;
    this.gen = 0;
    this.sockets = [];
    this.seen = new Map(); // seq → message
    this.log = [];
    this.joins = [];
    this.outbox = new Map(); // clientMessageId → {text, extra, inflight, message, resolve, reject}
    this.disconnects = []; // {gen, reason, url?}: for the failure messages
    this.closed = false;
    this.urlIndex = 0;
    this.waiters = [];
    this.ready = null;
    this.error = null; // a failed reconnect or re-join
  }

  /** Connect to the first node and join. */
  async start() {
    if (this.proxyUrl) {
      // Not lib/server.mjs's connect: its one-shot connect_error handler would close the socket
      // on the first failed reconnection attempt.
      const socket = io(this.proxyUrl, {
        transports: ['websocket'], auth: { token: this.token }, forceNew: true,
        reconnection: true, reconnectionDelay: 20, reconnectionDelayMax: 100, randomizationFactor: 0,
        // An attempt the proxy drops before the handshake can end without an error event; give
        // up on it after 1 s (instead of the default 20 s) and try again.
        timeout: 1000,
      });
      this.sockets.push(socket);
      this.attach(socket);
      // (Re-)join once the server greeted this connection with `connection-status`, the first
      // time and after each reconnection of the Manager (to whichever node the proxy forwards to).
      // Not on `connect`: an event that arrives right after the handshake can be lost (see
      // cluster.test.mjs, "an event emitted as soon as the socket is connected").
      socket.on('connection-status', () => {
        this.ready = this.rejoin(socket);
        this.ready.catch((err) => { this.error = err; });
      });
      socket.on('disconnect', (reason) => this.disconnects.push({ gen: this.gen, reason }));
      let onError;
      const failed = new Promise((resolve, reject) => { onError = reject; socket.once('connect_error', onError); });
      try {
        await Promise.race([this.waitJoins(1), failed]);
      } finally {
        socket.off('connect_error', onError);
      }
      if (this.error) throw this.error;
    } else {
      await this.openNext();
    }
    return this;
  }

  /** The url the current socket was opened on (failover mode). */
  get currentUrl() { return this.urls?.[this.urlIndex]; }

  get socket() { return this.sockets[this.sockets.length - 1]; }

  /** Open a new socket on the next node that accepts it (failover mode), then join. */
  async openNext() {
    let lastErr;
    for (let tries = 0; tries < this.urls.length * 3 && !this.closed; tries++) {
      const url = this.urls[this.urlIndex];
      let socket;
      try {
        socket = await connect(url, this.token, { reconnection: false });
        if (this.closed) { socket.close(); return; }
        this.sockets.push(socket);
        this.attach(socket);
        socket.once('disconnect', (reason) => {
          this.disconnects.push({ gen: this.gen, reason, url });
          if (this.closed || reason === 'io client disconnect') return;
          this.urlIndex = (this.urlIndex + 1) % this.urls.length;
          this.ready = (async () => {
            if (this.beforeReconnect) await this.beforeReconnect(this);
            await this.openNext();
          })();
          this.ready.catch((err) => { this.error = err; });
        });
        await this.rejoin(socket);
        return;
      } catch (err) {
        lastErr = err;
        socket?.close();
        this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      }
    }
    if (!this.closed) throw new Error(`${this.name}: no node accepted the connection: ${lastErr?.message}`);
  }

  attach(socket) {
    socket.on('new-message', (m) => this.record(m, 'live'));
    socket.on('previous-messages', (ms) => { for (const m of ms) this.record(m, 'history'); });
  }

  record(message, kind) {
    if (message.orderId !== this.orderId) return;
    this.log.push({ gen: this.gen, kind, message });
    if (!this.seen.has(message.seq)) this.seen.set(message.seq, message);
    this.poke();
  }

  /** The highest seq s such that every message 1..s has been seen. */
  contiguous() {
    let s = 0;
    while (this.seen.has(s + 1)) s++;
    return s;
  }

  /** Resolve once `check()` holds (checked whenever a message arrives or a join completes). */
  waitUntil(check, what, ms = 10000) {
    return new Promise((resolve, reject) => {
      const w = { check, done: () => { clearTimeout(timer); resolve(); } };
      if (check()) return resolve();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const err = this.error ? ` (last error: ${this.error.message})` : '';
        reject(new Error(`${this.name}: ${what()} within ${ms} ms${err}; disconnects ${JSON.stringify(this.disconnects)}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  poke() {
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.done(), false) : true));
  }

  /** Resolve once every message 1..seq has been seen. */
  waitSeen(seq, ms = 10000) {
    return this.waitUntil(() => this.contiguous() >= seq,
      () => `saw every message up to seq ${this.contiguous()}, not ${seq},`, ms);
  }

  /** Resolve once the client has joined `n` times (n - 1 re-joins after reconnecting). */
  waitJoins(n, ms = 10000) {
    return this.waitUntil(() => this.joins.length >= n, () => `joined ${this.joins.length} times, not ${n},`, ms);
  }

  /** (Re-)join the order: the first time without `since`, then with since = contiguous(). */
  async rejoin(socket) {
    this.gen += 1;
    const gen = this.gen;
    const payload = gen === 1 ? { orderId: this.orderId } : { orderId: this.orderId, since: this.contiguous() };
    const prev = new Promise((resolve) => socket.once('previous-messages', resolve));
    const ack = await socket.timeout(10000).emitWithAck('join-order-chat', payload);
    if (!ack?.ok) throw new Error(`${this.name}: join failed: ${JSON.stringify(ack)}`);
    this.joins.push({ gen, since: payload.since, messages: await prev, url: this.proxyUrl || this.currentUrl });
    this.poke();
    // Retry what was not acknowledged, with the same clientMessageId.
    for (const [cmid, entry] of this.outbox) if (!entry.message && !entry.inflight) this.attempt(cmid);
  }

  /**
   * Send `text` with a fresh clientMessageId; resolves with the stored message once a send is
   * acknowledged (after any number of reconnects); rejects on an error ack.
   */
  send(text, extra = {}) {
    const cmid = extra.clientMessageId || uid('cm');
    return new Promise((resolve, reject) => {
      this.outbox.set(cmid, { text, extra, inflight: false, message: null, attempts: 0, resolve, reject });
      this.attempt(cmid);
    });
  }

  attempt(cmid) {
    const entry = this.outbox.get(cmid);
    const socket = this.socket;
    if (!entry || entry.message || this.closed || !socket?.connected) return;
    entry.inflight = true;
    entry.attempts += 1;
    socket.timeout(5000).emitWithAck('send-message', {
      orderId: this.orderId, message: entry.text, ...entry.extra, clientMessageId: cmid,
    }).then((ack) => {
      entry.inflight = false;
      if (ack?.ok) {
        entry.message = ack.data;
        entry.resolve(ack.data);
      } else {
        entry.reject(new Error(`${this.name}: send refused: ${JSON.stringify(ack)}`));
      }
    }, () => {
      // Disconnected (or no ack in time): sent again after the re-join, or now if still connected.
      entry.inflight = false;
      if (socket.connected && socket === this.socket) this.attempt(cmid);
    });
  }

  /** The messages acknowledged so far, by clientMessageId. */
  acked() {
    return [...this.outbox].filter(([, e]) => e.message).map(([cmid, e]) => ({ cmid, message: e.message }));
  }

  close() {
    this.closed = true;
    for (const s of this.sockets) s.close();
    for (const w of this.waiters) w.done?.();
    this.waiters = [];
  }
}
