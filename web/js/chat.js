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
import { blockedState, draftNote, FINAL_JOIN_ERRORS, UNREACHABLE_AFTER_MS } from './availability.js';
import { tokenFromApp } from './session.js';
import { LeaveDialog } from './leave-dialog.js';
import { Announcer } from './announcer.js';
import { receiptWords } from './bubble.js';
import { arrivals } from './format.js';
import { AttachmentTray } from './attachments.js';
import { VoiceRecorder } from './voice.js';

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
    this.announcer = new Announcer(this.ui.announcer); // new messages, receipts, typing in words
    this.view.announcer = this.announcer;
    this.reader = new Reader(this); // what was seen: read markers, the unread divider, the title
    this.view.onNode = (node, old) => this.reader.observe(node, old);
    this.typers = new Typers(this);
    this.history = new History(this);
    this.joined = false;
    this.everJoined = false;
    this.left = false;
    this.closed = false;
    this.fatal = null;
    this.fatalMessage = null;
    this.refused = null; // the handshake's refusal (a connect_error message), a final state
    this.noOrder = false;
    this.unreachable = false; // no connection for a long while (availability.js)
    this.unreachableTimer = null;
    this.shownBlock = null; // the code of the state the banner and the alert say
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

    this.leaveDialog = new LeaveDialog(this.ui, () => this.leaveChat());
    if (!this.orderId.trim()) {
      this.noOrder = true;
      this.updateComposer();
      this.renderHeader();
      return;
    }
    if (typeof window.io !== 'function') {
      this.setBanner('error', 'The chat could not start: the Socket.IO client did not load. Please reload the page.');
      return;
    }
    this.setBanner('connecting');
    this.socket = this.connection.open();
    this.watchReachability();
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
    const message = ack && ack.error && ack.error.message;
    const text = describeError(code, message);
    if (!FINAL_JOIN_ERRORS.includes(code)) {
      // Passing trouble (rate limit, server error): say so and ask again.
      this.fail(text, { soft: true });
      const socket = this.socket;
      setTimeout(() => { if (socket === this.socket && this.connection.connected && !this.joined && !this.left) this.join(); }, 3000);
      return;
    }
    this.setFatal(code, message);
    this.showHistoryState();
  }

  /** A refusal for good (the join's, a send's, or the order's participants): a final state. */
  setFatal(code, message) {
    this.fatal = code || 'JOIN_FAILED';
    this.fatalMessage = message || null;
    this.updateComposer();
    this.renderHeader();
  }

  /**
   * The handshake was refused (PROTOCOL §2: a token not provided, invalid or expired, or a
   * blocked account): the embedding app may have a fresh token (tried once); otherwise a final
   * state, without a "Try again" that would be refused the same way.
   */
  async refusedBy(message) {
    const token = await tokenFromApp();
    if (this.session.usable(token) && token !== this.currentToken()) {
      this.session.accept(token);
      this.connection.reconnect();
      return;
    }
    this.refused = message;
    this.joined = false;
    this.updateComposer();
    this.renderHeader();
  }

  // ---- reachability --------------------------------------------------------------------------

  /** How long without a connection before the page says so (a test or an app may set it). */
  unreachableAfterMs() {
    const ms = Number(window.orderChatUnreachableMs);
    return Number.isFinite(ms) && ms > 0 ? ms : UNREACHABLE_AFTER_MS;
  }

  /** Start counting the time without a connection (at start and after every drop). */
  watchReachability() {
    clearTimeout(this.unreachableTimer);
    this.unreachableTimer = setTimeout(() => {
      if (this.connection.connected || this.left || this.destroyed || this.refused || this.session.ended) return;
      this.unreachable = true;
      this.updateComposer();
    }, this.unreachableAfterMs());
  }

  /** The socket is up again: the server is reachable. */
  reached() {
    clearTimeout(this.unreachableTimer);
    this.refused = null;
    if (!this.unreachable) return;
    this.unreachable = false;
    this.updateComposer();
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
    this.refreshReceipts({ announce: !first });
    this.renderHeader();
    this.showHistoryState();
    this.updateComposer();
    if (!wasJoined) this.setBanner('connected');
    this.sender.flush();
    this.sender.showAll();
    this.markRead();
    if (first) {
      this.view.scrollToBottom();
      this.history.fillViewport();
      const jumped = openAddressedMessage(this); // a search result's link: #seq=…&message=…
      this.reader.opened({ scroll: !jumped }); // the unread divider (the view starts there)
      // The composer has the focus on open (unless a linked message took it, or the user moved it).
      const active = document.activeElement;
      if (!jumped && (!active || active === document.body)) this.ui.input.focus({ preventScroll: true });
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
    if (!opts.initial) this.announcer.say(arrivals(added.filter((m) => !this.timeline.isOwn(m)), (m) => this.senderName(m)));
    if (opts.initial || atBottom || result.addedOwn) this.view.scrollToBottom();
    else if (result.addedOthers) this.view.showJump();
    return result;
  }

  /** A message's sender as the page names them. */
  senderName(m) {
    const p = m.senderId != null ? this.timeline.participants.get(String(m.senderId)) : null;
    return (m.sender && m.sender.name) || (p && p.name) || (m.senderType === 'system' ? 'System' : 'Someone');
  }

  /** A kept message, drawn again in its current state. */
  redraw(m) {
    if (!m) return;
    const node = this.view.replaceMessage(m, messageOptions(this.timeline, m));
    if (node) this.actions.redrawn(m, node);
  }

  /** Redraw the receipts; one that changed is said in words ("Read by Tunde Bello"). */
  refreshReceipts({ announce = true } = {}) {
    const changed = this.view.refreshReceipts((id) => { const m = this.timeline.get(id); return m ? this.timeline.receipt(m) : null; });
    if (changed && announce && changed.state === 'read') this.announcer.say(receiptWords(changed));
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
    const b = this.blocked();
    return b ? { code: b.code, text: b.text } : null;
  }

  /** A state nothing the page does will change (the session keeper's own ends aside). */
  isFinal() {
    return !!(this.noOrder || this.refused || this.fatal);
  }

  /** What keeps the chat from being used now (availability.js), or null. */
  blocked() {
    const ended = this.session ? this.session.reason() : null;
    return blockedState({
      noOrder: this.noOrder,
      refused: this.refused,
      fatal: this.fatal,
      fatalMessage: this.fatalMessage,
      session: ended && { ...ended, placeholder: this.session.placeholder() },
      unreachable: this.unreachable,
      closed: this.closed,
      left: this.left,
      everJoined: this.everJoined,
    });
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
    clearTimeout(this.unreachableTimer);
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

  /**
   * The composer, the Leave button, the pending sends and (for final and unreachable states) the
   * banner and the alert follow what keeps the chat from being used (availability.js).
   */
  updateComposer() {
    if (!this.session) return; // still constructing
    const blocked = this.blocked();
    this.composer.setEnabled(!blocked, (blocked && blocked.placeholder) || 'Type a message…');
    this.composer.setNote(draftNote(blocked, this.ui.input.value));
    this.ui.container.classList.toggle('messages--readonly', !!blocked);
    // Nothing to attach or record into while nothing can be sent.
    if (this.tray && this.tray.button) this.tray.button.disabled = !!blocked;
    if (this.voice && this.voice.button) this.voice.button.disabled = !!blocked;
    if (this.ui.leave) this.ui.leave.hidden = this.left || !!(blocked && blocked.final);
    if (blocked && blocked.final && this.leaveDialog) this.leaveDialog.close();
    if (this.sender) this.sender.showAll();
    this.showBlocked(blocked);
  }

  /** Say a final or unreachable state once, in the banner and the alert (or stop saying it). */
  showBlocked(blocked) {
    const says = blocked && !blocked.own && (blocked.final || blocked.retry) ? blocked.code : null;
    if (says === this.shownBlock) return;
    const was = this.shownBlock;
    this.shownBlock = says;
    if (!says) {
      if (was) this.clearError();
      if (was === 'UNREACHABLE' && !this.left && !this.session.ended) {
        this.setBanner(this.everJoined ? 'reconnecting' : 'connecting', this.everJoined ? 'Reconnected. Catching up…' : undefined);
      }
      return;
    }
    this.composer.stopTyping();
    this.setBanner(blocked.retry ? 'offline' : 'error', blocked.banner, blocked.retry ? 'Try now' : undefined);
    this.fail(blocked.text);
    if (blocked.final) {
      // Nothing more to ask this server: no reconnects, no typing, no presence.
      clearTimeout(this.unreachableTimer);
      this.typers.clear();
      if (this.connection) this.connection.disconnect();
    }
  }

  renderHeader() {
    const blocked = this.blocked();
    this.view.renderHeader({
      unavailable: (blocked && blocked.subtitle) || null,
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
