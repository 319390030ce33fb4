/*
 * The chat's session on a live socket (PROTOCOL §15): a socket lives no longer than its token.
 *
 * - `session-expiring {expiresAt}` (60 s before the end): ask the embedding app for a fresh
 *   token (`window.orderChatRefreshToken`, see chat.js), send it with `refresh-token`, and keep
 *   it (localStorage.accessToken) for REST calls and the next reconnect. Without a hook, or when
 *   it fails or the server refuses the token, one sentence says the session is ending.
 * - `error {code: "TOKEN_EXPIRED"}` (then the server disconnects): the session has ended; the
 *   composer is disabled and keeps its draft. The hook is asked once more: a token then
 *   reconnects the chat.
 * - `removed-from-order {orderId}`: the backend took the user off this order: a final state.
 * - Reconnects: the socket's `auth` asks `authToken()`, which replaces an expired token through
 *   the hook before the handshake.
 */
import { jwtPayload } from './format.js';
import { storeToken, tokenFromApp, userOfToken } from './session.js';

export const ENDING_TEXT = 'Your session is ending: reload the page to continue.';
export const EXPIRED_TEXT = 'Your session has expired. Reload the page to sign in again.';
export const REMOVED_TEXT = 'You are no longer on this order.';

const REFRESH_TIMEOUT_MS = 10000;
const LEEWAY_MS = 30000; // the server accepts a token until 30 s after its exp

export class SessionKeeper {
  /** @param {import('./chat.js').ChatClient} chat */
  constructor(chat) {
    this.chat = chat;
    this.ended = null; // null, 'expired' or 'removed'
    this.warned = false; // the session is ending and no fresh token came
    this.expiresAt = null; // the socket's end as the server last said it
    this.renewing = null; // a refresh in progress (a promise)
    this.refused = new Set(); // tokens the server did not take
  }

  /** A token from the hook worth trying: not refused before, this user's, not past its end. */
  usable(token) {
    if (!token || this.refused.has(token)) return false;
    const user = userOfToken(token);
    if (user && this.chat.userId && user !== this.chat.userId) return false;
    const p = jwtPayload(token);
    return !(p && typeof p.exp === 'number' && p.exp * 1000 + LEEWAY_MS <= Date.now());
  }

  /** Why nothing can be sent now (`{code, text}`), or null. */
  reason() {
    if (this.ended === 'removed') return { code: 'REMOVED', text: REMOVED_TEXT };
    if (this.ended === 'expired') return { code: 'TOKEN_EXPIRED', text: EXPIRED_TEXT };
    return null;
  }

  /** The composer's placeholder in an ended session. */
  placeholder() {
    return this.ended === 'removed' ? 'You are no longer on this order' : 'Your session has expired';
  }

  /** Whether the banner's button should reload the page. */
  wantsReload() {
    return this.ended === 'expired' || (this.warned && !this.ended);
  }

  /** `session-expiring {expiresAt}`: renew the token before the socket ends. */
  expiring(p) {
    if (p && typeof p.expiresAt === 'string') this.expiresAt = p.expiresAt;
    if (this.ended) return this.renewing;
    return this.startRenewal();
  }

  startRenewal() {
    if (!this.renewing) this.renewing = this.renew().finally(() => { this.renewing = null; });
    return this.renewing;
  }

  async renew() {
    const chat = this.chat;
    const token = await tokenFromApp();
    if (!this.usable(token)) { this.warn(); return false; }
    const socket = chat.connection.socket;
    if (!socket || !socket.connected) {
      // No socket to extend: the next handshake uses the new token.
      this.accept(token);
      if (this.ended === 'expired') this.resume();
      return true;
    }
    const r = await chat.connection.request('refresh-token', { token }, REFRESH_TIMEOUT_MS);
    const ack = r.ack;
    if (ack && ack.ok) {
      this.accept(token);
      if (ack.data && typeof ack.data.expiresAt === 'string') this.expiresAt = ack.data.expiresAt;
      if (this.warned) { this.warned = false; if (!this.ended) chat.setBanner('connected'); }
      return true;
    }
    if (r.timeout && !chat.connection.connected) {
      // The socket ended meanwhile (expired): the next handshake tries the new token.
      this.accept(token);
      if (this.ended === 'expired') this.resume();
      return true;
    }
    if (ack) this.refused.add(token);
    console.warn('order-chat: refresh-token was not accepted', ack && ack.error);
    this.warn();
    return false;
  }

  accept(token) {
    storeToken(token);
    this.chat.token = token;
  }

  /** No fresh token: say that the session is ending (the chat works until it ends). */
  warn() {
    if (this.ended) return;
    this.warned = true;
    this.chat.setBanner('ending', ENDING_TEXT, 'Reload');
  }

  /** `error {code: "TOKEN_EXPIRED"}`: the server ends the socket now. */
  expired() {
    if (this.ended) return;
    this.end('expired', EXPIRED_TEXT, 'Reload');
    // The app may have a token by now (its hook may have been slow or failed for a moment).
    this.startRenewal();
  }

  /** `removed-from-order` for this order: nothing more of this chat reaches this user. */
  removed() {
    if (this.ended === 'removed') return;
    this.end('removed', REMOVED_TEXT);
    this.chat.connection.disconnect();
  }

  end(kind, text, action) {
    const chat = this.chat;
    this.ended = kind;
    this.warned = false;
    chat.composer.stopTyping();
    chat.joined = false;
    chat.typers.clear();
    chat.actions.editor.close();
    chat.actions.picker.close(false);
    chat.clearError();
    chat.updateComposer();
    chat.setBanner('ended', text, action);
  }

  /** An expired session got a fresh token after all: connect again with it. */
  resume() {
    const chat = this.chat;
    this.ended = null;
    chat.updateComposer();
    chat.setBanner('reconnecting', 'Signed in again. Reconnecting…');
    chat.connection.reconnect();
  }

  /**
   * The token for a handshake: the current one, or a fresh one from the app when the current
   * one is past its end (a reconnect after a long time offline).
   */
  async authToken() {
    const token = this.chat.currentToken();
    const p = jwtPayload(token);
    if (!p || typeof p.exp !== 'number' || p.exp * 1000 + LEEWAY_MS > Date.now() + 2000) return token;
    const fresh = await tokenFromApp();
    if (!this.usable(fresh)) return token;
    this.accept(fresh);
    return fresh;
  }
}
