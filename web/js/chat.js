/*
 * Order chat: the bundled web page's client (PROTOCOL.md section 7). An ES module, no build step,
 * no dependency but the Socket.IO client that the server serves at /socket.io/socket.io.js
 * (loaded before this module). Defines the global `ChatClient`:
 *
 *   const chat = new ChatClient(orderId, userId);   // connects, joins, renders into the page
 *   chat.sendMessage('Hello');                       // resolves with the stored message
 *   chat.leaveChat();                                // leaves the room and disconnects
 *
 * It uses the elements #message-container, #message-input, #send-button and #typing-indicator
 * (and, when present, the other ids of chat.html: banner, header, error line, buttons).
 *
 * Session renewal (PROTOCOL §15): the embedding app provides a fresh access token with
 *
 *   window.orderChatRefreshToken = async () => newAccessToken;   // a string (or "Bearer …")
 *
 * It is called when the server says the session is ending (`session-expiring`) and before a
 * reconnect with an expired token; the page sends the token (`refresh-token`), stores it in
 * localStorage.accessToken and uses it for REST and reconnects. Without the hook, or when it
 * fails, the page says the session is ending, and at the end disables the composer (keeping
 * the draft). See web/README.md.
 *
 * The parts: timeline.js (the state, no DOM), connection.js (the socket) and events.js (what its
 * events do), render.js (the DOM), composer.js (the input), sender.js (pending sends),
 * history.js (REST paging), actions.js (reply, edit, delete, react; with editor.js, reactions.js
 * and bubble.js). This file holds the chat's state and wires them. chat.html without an orderId
 * is the inbox (inbox.js).
 */
import { Timeline } from './timeline.js';
import { Connection, CATCH_UP_LIMIT } from './connection.js';
import { connectionHooks, Typers } from './events.js';
import { ChatView, findElements } from './render.js';
import { Composer } from './composer.js';
import { Sender } from './sender.js';
import { History } from './history.js';
import { MessageActions } from './actions.js';
import { messageOptions } from './lifecycle.js';
import { bindChatPage, bootPage, inboxHref, openAddressedMessage } from './page.js';
import { resolveToken, storedToken, api } from './session.js';
import { SessionKeeper } from './session-keeper.js';
import { Reader } from './reader.js';
import { CLOSED_STATUSES, MAX_CHARS, chatError, describeError, newClientMessageId } from './format.js';
import { AttachmentTray } from './attachments.js';
import { VoiceRecorder } from './voice.js';

/** Join refusals that asking again will not change. */
const FINAL_JOIN_ERRORS = ['FORBIDDEN', 'ORDER_NOT_FOUND', 'VALIDATION', 'UNAUTHORIZED'];

export class ChatClient {
  /**
   * @param {string} orderId the order's id (or order number)
   * @param {string} userId the signed-in user (the token's user; used to tell own messages apart)
   */
  constructor(orderId, userId) {
    this.orderId = orderId == null ? '' : String(orderId);
    this.userType = null;
    this.ui = findElements();
    if (!this.ui.container || !this.ui.input) {
      throw new Error('ChatClient needs the elements #message-container and #message-input');
    }
    this.timeline = new Timeline({ userId });
    this.view = new ChatView(this.ui);
    this.reader = new Reader(this); // what was seen: read markers, the unread divider, the title
    this.view.onNode = (node, old) => this.reader.observe(node, old);
    this.typers = new Typers(this);
    this.history = new History(this);
    this.joined = false;
    this.everJoined = false;
    this.left = false;
    this.closed = false;
    this.fatal = null;
    this.destroyed = false;
    this.orderNumber = null;
    this.orderStatus = null;

    this.token = ChatClient.resolveToken(this.userId);
    this.composer = new Composer(this.ui, {
      submit: (text) => this.sendMessage(text, { replyTo: this.actions.replyTarget, attachments: this.tray ? this.tray.take() : [] }),
      hasFiles: () => !!this.tray && this.tray.hasReady(),
      filesReady: () => !this.tray || this.tray.readyToSend(),
      canSend: () => !this.cannotSendReason(),
      mayType: () => this.joined && !this.closed && !this.left,
      emitTyping: (isTyping) => { if (this.joined) this.connection.emit('typing', { orderId: this.orderId, isTyping }); },
      editLast: () => this.actions.editLast(),
      cancelReply: () => this.actions.cancelReply(),
    });
    this.actions = new MessageActions(this);
    if (this.ui.form) {
      this.tray = new AttachmentTray(this, this.ui); // attach, drop, paste; photos full size
      this.voice = new VoiceRecorder(this, this.tray); // voice notes into the same tray
    }
    this.sender = new Sender(this);
    this.session = new SessionKeeper(this);
    this.connection = new Connection(() => this.currentToken(), connectionHooks(this), () => this.session.authToken());
    bindChatPage(this);
    this.userId = this.timeline.userId; // the header's link back to the inbox names the user
    this.updateComposer();

    if (!this.orderId) {
      this.fail('This chat link has no order: the orderId parameter is missing.');
      this.setBanner('error', 'No order to open.');
      return;
    }
    if (typeof window.io !== 'function') {
      this.setBanner('error', 'The chat could not start: the Socket.IO client did not load. Please reload the page.');
      return;
    }
    this.setBanner('connecting');
    this.socket = this.connection.open();
    this.loadOrderInfo();
  }

  static resolveToken(userId) { return resolveToken(userId); }
  static storedToken(userId) { return storedToken(userId); }

  get userId() { return this.timeline.userId; }
  set userId(id) {
    this.timeline.userId = id == null ? null : String(id);
    if (this.ui.inboxLink) this.ui.inboxLink.href = inboxHref(this.timeline.userId);
  }

  /** The token to use now (re-read on every reconnect, so a refreshed token is picked up). */
  currentToken() {
    const stored = storedToken(this.userId);
    if (stored) this.token = stored;
    return this.token;
  }

  api(path, init) { return api(path, this.currentToken(), init); }

  // ---- joining -------------------------------------------------------------------------------

  /** Join (or re-join) the order's room; after a reconnect ask only for what came since. */
  async join() {
    let resuming = false;
    const r = await this.connection.join(() => {
      const payload = this.timeline.joinPayload(this.orderId, CATCH_UP_LIMIT);
      resuming = payload.sinceRev !== undefined || payload.since !== undefined;
      return payload;
    }, {
      retry: () => !this.joined,
      slow: () => this.setBanner(this.everJoined ? 'reconnecting' : 'connecting', 'The chat server is slow to answer. Retrying…'),
    });
    if (!r) return;
    const ack = r.ack;
    if (ack && ack.ok) { this.onJoined(ack.data || {}, resuming); return; }
    const code = ack && ack.error && ack.error.code;
    const text = describeError(code, ack && ack.error && ack.error.message);
    if (!FINAL_JOIN_ERRORS.includes(code)) {
      // Passing trouble (rate limit, server error): say so and ask again.
      this.fail(text, { soft: true });
      const socket = this.socket;
      setTimeout(() => { if (socket === this.socket && this.connection.connected && !this.joined && !this.left) this.join(); }, 3000);
      return;
    }
    this.fatal = code || 'JOIN_FAILED';
    this.fail(text);
    this.setBanner('error', 'This chat is not available.');
    if (this.ui.subtitle) this.ui.subtitle.textContent = code === 'FORBIDDEN' ? 'You are not a participant' : 'Not available';
    this.updateComposer();
    this.showHistoryState();
  }

  onJoined(data, resuming) {
    if (data.orderId) this.orderId = String(data.orderId);
    this.fatal = null;
    const first = !this.everJoined;
    const wasJoined = this.joined;
    this.joined = true;
    this.everJoined = true;
    const result = this.timeline.applyJoin(data, { resuming });
    this.show(result, { initial: first });
    if (result.needsCatchUp) this.history.catchUp();
    this.refreshReceipts();
    this.renderHeader();
    this.showHistoryState();
    this.updateComposer();
    if (!wasJoined) this.setBanner('connected');
    this.sender.flush();
    this.markRead();
    if (first) {
      this.view.scrollToBottom();
      this.history.fillViewport();
      const jumped = openAddressedMessage(this); // a search result's link: #seq=…&message=…
      this.reader.opened({ scroll: !jumped }); // the unread divider (the view starts there)
    }
  }

  /** The order number and status for the header (best effort). */
  async loadOrderInfo() {
    try {
      const data = await this.api('/orders');
      const list = (data && data.orders) || [];
      const mine = list.find((o) => o && (o.orderId === this.orderId || o.orderNumber === this.orderId));
      if (mine) {
        this.orderNumber = mine.orderNumber || this.orderNumber;
        this.setOrderStatus(mine.status);
        this.renderHeader();
      }
    } catch (_) { /* the header keeps the id */ }
  }

  // ---- messages ------------------------------------------------------------------------------

  /** Messages from anywhere into the timeline, then onto the screen. */
  ingest(list, opts = {}) {
    return this.show(this.timeline.ingest(list), opts);
  }

  /** Changed messages (`message-updated`, `message-deleted`, an action's ack) by rev. */
  applyChanges(list) {
    return this.show(this.timeline.ingest(list, { changes: true }));
  }

  /** `reaction-updated`, or the ack of a reaction of ours. */
  applyReaction(p) {
    const m = this.timeline.applyReaction(p);
    if (m) this.redraw(m);
    return m;
  }

  /**
   * Draw what the timeline took in: replace confirmed pending sends, insert new messages, draw
   * changed ones (and the replies quoting them) again in place.
   */
  show(result, opts = {}) {
    const atBottom = this.view.isAtBottom();
    for (const { cid, message } of result.confirmed) this.sender.settled(cid, message);
    // Highest first, so the message each one goes before is already on the page.
    const added = [...result.added].sort((a, b) => b.seq - a.seq);
    for (const m of added) this.view.insertMessage(m, this.timeline.nextSeqAbove(m.seq), messageOptions(this.timeline, m));
    const changed = new Set([...(result.updated || []), ...(result.replies || [])].map((m) => String(m.id)));
    for (const id of changed) this.redraw(this.timeline.get(id));
    if (changed.size && atBottom && !opts.prepend) this.view.scrollToBottom();
    if (!added.length) return result;
    this.showHistoryState();
    if (opts.prepend) return result;
    if (opts.initial || atBottom || result.addedOwn) this.view.scrollToBottom();
    else if (result.addedOthers) this.view.showJump();
    return result;
  }

  /** A kept message, drawn again in its current state. */
  redraw(m) {
    if (!m) return;
    const node = this.view.replaceMessage(m, messageOptions(this.timeline, m));
    if (node) this.actions.redrawn(m, node);
  }

  refreshReceipts() {
    this.view.refreshReceipts((id) => { const m = this.timeline.get(id); return m ? this.timeline.receipt(m) : null; });
  }

  /** Tell the server what the reader has seen (reader.js: on screen, visible and focused tab). */
  markRead() { this.reader.markRead(); }

  // ---- the order -----------------------------------------------------------------------------

  addNotice(text, kind, userId, timestamp) {
    this.view.addNotice(text, kind, userId, timestamp);
    this.showHistoryState();
  }

  setOrderStatus(status) {
    this.orderStatus = status || null;
    const closed = CLOSED_STATUSES.includes(String(status));
    if (closed && !this.closed) {
      this.closed = true;
      this.composer.stopTyping();
      this.fail(describeError('ORDER_CLOSED'), { soft: true });
    } else if (!closed && this.closed) {
      this.closed = false;
      this.clearError();
    }
    this.updateComposer();
  }

  /** The order is closed (the server said so): keep a known closed status, else "completed". */
  markClosed() {
    this.setOrderStatus(this.orderStatus && CLOSED_STATUSES.includes(this.orderStatus) ? this.orderStatus : 'completed');
  }

  // ---- sending and leaving -------------------------------------------------------------------

  /**
   * Send a text message. Resolves with the stored message (once the server acknowledged it),
   * rejects with an Error whose `code` is the server's error code. `o.replyToId` (or `o.replyTo`,
   * a quote) makes it a reply to that message.
   */
  sendMessage(text, o = {}) {
    const body = String(text == null ? '' : text).trim();
    const files = Array.isArray(o.attachments) ? o.attachments : [];
    if (!body && !files.length) return Promise.resolve(null);
    if ([...body].length > MAX_CHARS) {
      const msg = `A message can have at most 4,000 characters; this one has ${[...body].length}.`;
      this.fail(msg, { soft: true });
      return Promise.reject(chatError('VALIDATION', msg));
    }
    const blocked = this.cannotSendReason();
    if (blocked) {
      this.fail(blocked.text, { soft: true });
      return Promise.reject(chatError(blocked.code, blocked.text));
    }
    const original = o.replyToId != null ? this.timeline.get(o.replyToId) : null;
    const replyTo = o.replyTo || (original ? this.timeline.quoteOf(original) : null) ||
      (o.replyToId != null ? { id: String(o.replyToId) } : null);
    if (replyTo && this.actions.replyTarget && replyTo.id === this.actions.replyTarget.id) this.actions.cancelReply();
    const { entry, promise } = this.sender.add(newClientMessageId(), body, replyTo, files);
    this.showHistoryState();
    this.view.scrollToBottom();
    this.composer.stopTyping();
    this.sender.transmit(entry);
    return promise;
  }

  cannotSendReason() {
    const ended = this.session.reason();
    if (ended) return ended;
    if (this.fatal) return { code: this.fatal, text: describeError(this.fatal) };
    if (this.closed) return { code: 'ORDER_CLOSED', text: describeError('ORDER_CLOSED') };
    if (this.left) return { code: 'LEFT', text: 'You left this chat. Rejoin it to send messages.' };
    return null;
  }

  /** Leave the order's chat and disconnect. Resolves once the server was told (or gave up). */
  leaveChat() {
    if (this.left) return Promise.resolve();
    this.left = true;
    this.composer.stopTyping();
    this.typers.clear();
    const wasJoined = this.joined;
    this.joined = false;
    this.setBanner('left');
    this.addNotice('You left the chat', 'self-left', this.userId || undefined);
    this.updateComposer();
    return (wasJoined ? this.connection.leave(this.orderId) : Promise.resolve()).then(() => {
      if (this.left) this.connection.disconnect();
    });
  }

  /** Join again after leaveChat(). */
  rejoin() {
    if (!this.left || this.destroyed) return;
    this.left = false;
    this.clearError();
    this.updateComposer();
    this.setBanner('connecting');
    if (this.connection.connected) this.join(); else this.socket.connect();
  }

  /** Page unload: leave and close the connection right away. */
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.composer.stopTyping();
    this.reader.flush(); // what was seen before leaving counts
    if (this.joined) this.connection.emit('leave-order-chat', this.orderId);
    this.connection.disconnect();
    this.joined = false;
  }

  // ---- drawing -------------------------------------------------------------------------------

  showHistoryState() {
    this.view.showHistoryState({
      hasMoreOlder: this.timeline.hasMoreOlder,
      loadingOlder: this.history.loadingOlder,
      everJoined: this.everJoined,
      hasMessages: this.timeline.size > 0,
      hasContent: this.timeline.size > 0 || this.timeline.pending.size > 0,
      fatal: this.fatal,
    });
  }

  setBanner(state, text, action) {
    if (state === 'connected' && this.session.warned) { this.session.warn(); return; } // still ending
    this.view.setBanner(state, text, action);
  }
  fail(text, opts) { this.view.fail(text, opts); }
  clearError() { this.view.clearError(); }

  updateComposer() {
    const reason = this.cannotSendReason();
    let placeholder = 'Type a message…';
    if (this.session.ended) placeholder = this.session.placeholder();
    else if (this.fatal === 'FORBIDDEN') placeholder = 'You are not a participant of this order';
    else if (this.fatal) placeholder = 'This chat is not available';
    else if (this.closed) placeholder = 'This order is closed';
    else if (this.left) placeholder = 'You left this chat';
    this.composer.setEnabled(!reason, placeholder);
    this.ui.container.classList.toggle('messages--readonly', !!reason);
    if (this.ui.leave) this.ui.leave.hidden = this.left || !!this.fatal || !!this.session.ended;
  }

  renderHeader() {
    this.view.renderHeader({
      orderNumber: this.orderNumber,
      orderStatus: this.orderStatus,
      others: this.timeline.others(),
      everJoined: this.everJoined,
      connected: !!(this.joined && this.connection && this.connection.connected),
    });
  }
}

window.ChatClient = ChatClient;
bootPage(ChatClient);
