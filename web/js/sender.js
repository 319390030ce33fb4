/*
 * Sending: a message is shown at once as pending, goes out when the page has joined (after a
 * reconnect too), is sent again with the same clientMessageId when no ack came (the server stores
 * it once, PROTOCOL §3), and ends either replaced by the stored message or failed with Retry and
 * Delete.
 */
import { chatError, describeError } from './format.js';
import { pendingLabel } from './availability.js';

const ACK_TIMEOUT_MS = 10000;
const RESEND_AFTER_MS = 1000;

export class Sender {
  /** @param {import('./chat.js').ChatClient} chat */
  constructor(chat) {
    this.chat = chat;
    this.waiters = new Map(); // clientMessageId -> {resolve, reject} of sendMessage's promise
  }

  /**
   * A new pending send (shown, not yet transmitted): `{entry, promise}`. `replyTo`: the quote of
   * the message it answers (PROTOCOL §11 `replyToId`), shown above the pending bubble.
   */
  add(cid, text, replyTo = null, attachments = []) {
    const { timeline, view } = this.chat;
    const entry = timeline.addPending(cid, text, Date.now(), replyTo);
    if (attachments.length) entry.attachments = attachments; // uploaded: sent as attachmentIds
    const promise = new Promise((resolve, reject) => this.waiters.set(cid, { resolve, reject }));
    promise.catch(() => { /* the bubble shows it; callers may still await */ });
    view.addPending(entry, this.chat.userId, { quoteName: replyTo ? this.chat.actions.nameOf(replyTo) : null });
    return { entry, promise };
  }

  /** Redraw every pending send's state (the chat's state changed). */
  showAll() {
    for (const entry of this.chat.timeline.pending.values()) this.show(entry);
  }

  /** Redraw a pending send's state. */
  show(entry) {
    const chat = this.chat;
    const blocked = chat.blocked();
    chat.view.showPendingState(entry, {
      label: pendingLabel(entry, { online: chat.joined, blocked }),
      canRetry: !(blocked && blocked.final),
      actions: {
        retry: () => {
          const blocked = chat.cannotSendReason();
          if (blocked) { chat.fail(blocked.text, { soft: true }); return; }
          this.setState(entry, 'queued');
          this.transmit(entry);
        },
        discard: () => {
          chat.timeline.discard(entry.cid);
          chat.view.removePending(entry.cid);
          chat.showHistoryState();
          this.settle(entry.cid, null, chatError('CANCELLED', 'The message was deleted before it was sent'));
        },
      },
    });
  }

  setState(entry, state, note) {
    this.chat.timeline.setPendingState(entry.cid, state, note);
    this.show(entry);
  }

  /** The stored message answered a pending send (its ack or its `new-message`). */
  settled(cid, message) {
    this.chat.view.removePending(cid);
    this.settle(cid, message);
  }

  settle(cid, message, error) {
    const w = this.waiters.get(cid);
    if (!w) return;
    this.waiters.delete(cid);
    if (error) w.reject(error); else w.resolve(message);
  }

  /** Send every pending message that waits for a connection. */
  flush() {
    for (const entry of this.chat.timeline.queued()) this.transmit(entry);
  }

  /** Send one pending message now if joined; otherwise it goes out after the next join. */
  async transmit(entry) {
    const chat = this.chat;
    if (!chat.joined || !chat.connection.connected) {
      this.setState(entry, 'queued');
      return;
    }
    this.setState(entry, 'sending');
    const payload = { orderId: chat.orderId, message: entry.text, clientMessageId: entry.cid };
    if (entry.replyTo) payload.replyToId = entry.replyTo.id;
    if (entry.attachments) payload.attachmentIds = entry.attachments.map((a) => a.id);
    const r = await chat.connection.request('send-message', payload, ACK_TIMEOUT_MS);
    if (!chat.timeline.pending.has(entry.cid)) return; // already shown via new-message
    if (r.timeout) {
      // No answer: send again with the same clientMessageId (the server stores it once).
      this.setState(entry, 'queued');
      if (chat.joined && r.socket === chat.connection.socket && r.socket.connected) {
        setTimeout(() => this.transmit(entry), RESEND_AFTER_MS);
      }
      return;
    }
    const ack = r.ack;
    if (ack && ack.ok && ack.data) {
      chat.show(chat.timeline.confirm(entry.cid, ack.data));
      chat.markRead();
      return;
    }
    const code = (ack && ack.error && ack.error.code) || 'INTERNAL';
    const text = describeError(code, ack && ack.error && ack.error.message);
    if (code === 'ORDER_CLOSED') chat.markClosed();
    const final = code === 'FORBIDDEN' || code === 'ORDER_NOT_FOUND';
    this.setState(entry, 'failed', code === 'RATE_LIMITED' ? 'Not sent (too fast)' : 'Not sent');
    if (final) chat.setFatal(code, ack && ack.error && ack.error.message);
    else chat.fail(text, { soft: true });
    this.settle(entry.cid, null, chatError(code, text));
  }
}
