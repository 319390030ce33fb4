/*
 * The Socket.IO connection of the chat (PROTOCOL §2-4): the socket with its reconnect policy,
 * joining with `since` (and asking again when the server does not answer), acknowledged
 * requests with a timeout, and the REST catch-up after a long gap.
 *
 * It knows the wire, not the page: what happens is reported to `hooks`, the owner (chat.js)
 * decides what to show. The socket.io client is the global `io` of /socket.io/socket.io.js.
 */
import { AUTH_ERRORS, describeError } from './format.js';
import { api } from './session.js';

const JOIN_TIMEOUT_MS = 5000; // a join without an answer is simply asked again (it is idempotent)
const CATCH_UP_LIMIT = 200; // messages per request when catching up after a reconnect
const SERVER_DROP_RETRY_MS = 1000; // after the server closed the session
const REFUSED_RETRY_MS = 5000; // after a refusal that is not about the token

export class Connection {
  /**
   * @param {() => string|null} token the token to use now (re-read on every reconnect, so a
   *   refreshed token is picked up)
   * @param {object} hooks `wanted()` (false once the user left or the page is closing),
   *   `connected()`, `disconnected(reason, byServer)`, `refused(text, message)` (the token was refused:
   *   no automatic retry), `unavailable(text)` (refused for another reason: retried in 5 s),
   *   `trying()` (the client retries by itself), `attempt(n)`, and `events`: server event name
   *   -> handler
   * @param {() => Promise<string|null>} [authToken] the token for a handshake, if it may need to
   *   be renewed first (default: `token()`)
   */
  constructor(token, hooks, authToken) {
    this.token = token;
    this.authToken = authToken || token;
    this.hooks = hooks;
    this.socket = null;
    this.retryTimer = null;
  }

  get connected() {
    return !!(this.socket && this.socket.connected);
  }

  open() {
    const socket = window.io({
      // A callback: every (re)connect sends the token of that moment (PROTOCOL §15).
      auth: (cb) => {
        Promise.resolve().then(() => this.authToken()).catch(() => this.token())
          .then((t) => cb({ token: t || undefined }));
      },
      transports: ['websocket', 'polling'],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      timeout: 10000,
    });
    this.socket = socket;
    const h = this.hooks;
    socket.on('connect', () => { if (h.wanted()) h.connected(); });
    socket.on('disconnect', (reason) => this.onDisconnect(reason));
    socket.on('connect_error', (err) => this.onConnectError(err));
    socket.io.on('reconnect_attempt', (n) => { if (h.wanted()) h.attempt(n); });
    for (const [event, handler] of Object.entries(h.events)) socket.on(event, handler);
    return socket;
  }

  onDisconnect(reason) {
    const byServer = reason === 'io server disconnect';
    this.hooks.disconnected(reason, byServer);
    if (!this.hooks.wanted()) return;
    if (byServer) {
      // The server closed this session (for example a blocked account): ask again; a refusal
      // comes back as a connect_error that says why.
      setTimeout(() => { if (this.hooks.wanted() && !this.socket.connected) this.socket.connect(); }, SERVER_DROP_RETRY_MS);
    }
  }

  onConnectError(err) {
    const message = err && err.message;
    if (AUTH_ERRORS[message]) {
      // Refused by the server: Socket.IO does not retry this on its own, and asking again with
      // the same token would not help; the owner offers a button (reconnect()).
      this.hooks.refused(AUTH_ERRORS[message], message);
      return;
    }
    if (!this.socket.active) {
      // Another refusal (server busy or unavailable): say so and ask again in a while.
      this.hooks.unavailable(describeError(null, message) + ' Retrying shortly…');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        if (this.hooks.wanted() && !this.socket.connected && !this.socket.active) this.socket.connect();
      }, REFUSED_RETRY_MS);
      return;
    }
    this.hooks.trying();
  }

  /** Connect again now (a button; the stored token is read again). */
  reconnect() {
    if (this.socket && !this.socket.connected) this.socket.connect();
  }

  emit(event, payload) {
    if (this.connected) this.socket.emit(event, payload);
  }

  /**
   * Emit with an ack. Resolves with `{ack}`, or `{timeout: true}` when no answer came in `ms`.
   * `socket` is the socket it went out on (compare with `this.socket` before retrying).
   */
  request(event, payload, ms) {
    const socket = this.socket;
    return new Promise((resolve) => {
      socket.timeout(ms).emit(event, payload, (err, ack) => resolve(err ? { timeout: true, socket } : { ack, socket }));
    });
  }

  /**
   * Join the order's room (PROTOCOL §3). `payload()` builds the request each time (with `since`
   * after a reconnect). No answer within 5 s: `o.slow()` is told and, while `o.retry()` holds, the
   * join is sent again. Resolves with `{ack}`, or null when the answer no longer matters (the
   * socket went away, the user left).
   */
  async join(payload, o) {
    for (;;) {
      const socket = this.socket;
      const r = await this.request('join-order-chat', payload(), JOIN_TIMEOUT_MS);
      if (socket !== this.socket || !socket.connected || !this.hooks.wanted()) return null;
      if (!r.timeout) return { ack: r.ack };
      if (!o.retry()) return null;
      o.slow();
    }
  }

  /** Leave the room; resolves once the server answered (or after 2 s). */
  leave(orderId) {
    if (!this.connected) return Promise.resolve();
    return this.request('leave-order-chat', orderId, 2000).then(() => undefined);
  }

  disconnect() {
    if (this.socket) this.socket.disconnect();
  }

  /**
   * Fetch every message after `highest()` through REST (a reconnect after a long gap: the
   * re-join's answer said there is more), handing each page to `ingest` until none is left.
   */
  async catchUp(orderId, highest, ingest) {
    for (let i = 0; i < 100; i++) {
      const before = highest();
      const data = await api(`/messages/${encodeURIComponent(orderId)}?after=${before}&limit=${CATCH_UP_LIMIT}`, this.token());
      ingest(data.messages || []);
      if (!data.hasMore || highest() === before) break;
    }
  }
}

export { CATCH_UP_LIMIT };
