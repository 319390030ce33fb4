/*
 * What a user can do to a message (PROTOCOL §11): reply to it, react to it, edit and delete
 * their own, and follow a reply's quote to its original. One click handler for the whole list
 * (the buttons of bubble.js carry `data-action`), the acknowledged requests and their errors in
 * words. The inline editor is editor.js, the reaction picker reactions.js; what the server
 * answers goes into the timeline like any other change (chat.applyChanges / applyReaction).
 */
import { chatError } from './format.js';
import { el } from './dom.js';
import { actionErrorText, quoteName } from './lifecycle.js';
import { InlineEditor } from './editor.js';
import { ReactionPicker } from './reactions.js';

const REQUEST_TIMEOUT_MS = 10000;

export class MessageActions {
  /** @param {import('./chat.js').ChatClient} chat */
  constructor(chat) {
    this.chat = chat;
    this.replyTarget = null; // the quote of the message the composer replies to
    this.busy = new Set(); // reaction toggles in flight ("id emoji")
    this.editor = new InlineEditor(this);
    this.picker = new ReactionPicker(this);
    this.dialog = null;
    chat.ui.container.addEventListener('click', (e) => this.onClick(e));
  }

  onClick(e) {
    const node = e.target.closest('.msg[data-id]');
    if (!node || !this.chat.ui.container.contains(node)) return;
    const button = e.target.closest('[data-action]');
    if (!button || !node.contains(button)) {
      // Phones have no hover: a tap on a message shows its buttons.
      if (!e.target.closest('a, button, textarea') && window.matchMedia && window.matchMedia('(hover: none)').matches) {
        for (const other of this.chat.ui.container.querySelectorAll('.msg--active')) if (other !== node) other.classList.remove('msg--active');
        node.classList.toggle('msg--active');
      }
      return;
    }
    const m = this.chat.timeline.get(node.dataset.id);
    if (!m) return;
    const action = button.dataset.action;
    if (action === 'jump') { this.jumpTo(Number(button.dataset.targetSeq), button.dataset.targetId); return; }
    const blocked = this.blocked(action);
    if (blocked) { this.report(blocked); return; }
    if (action === 'reply') this.startReply(m);
    else if (action === 'react') this.picker.open(button, m);
    else if (action === 'edit') this.editor.open(m);
    else if (action === 'delete') this.confirmDelete(m, button);
    else if (action === 'toggle-reaction') this.toggleReaction(m, button.dataset.emoji);
  }

  /** Why nothing can be changed now (closed order, left, not a participant), or null. */
  blocked(action) {
    const chat = this.chat;
    const reason = chat.cannotSendReason();
    if (!reason) return null;
    const text = reason.code === 'ORDER_CLOSED' ? actionErrorText(action, 'ORDER_CLOSED') : reason.text;
    return chatError(reason.code, text);
  }

  /**
   * Emit `event` for this order with an ack. Resolves with the ack's data; rejects with an Error
   * whose message is the sentence to show and `code` the server's code (or OFFLINE, TIMEOUT).
   */
  async request(event, payload, action) {
    const chat = this.chat;
    const blocked = this.blocked(action);
    if (blocked) throw blocked;
    if (!chat.joined || !chat.connection.connected) throw chatError('OFFLINE', actionErrorText(action, 'OFFLINE'));
    const r = await chat.connection.request(event, { orderId: chat.orderId, ...payload }, REQUEST_TIMEOUT_MS);
    if (r.timeout) throw chatError('TIMEOUT', actionErrorText(action, 'TIMEOUT'));
    const ack = r.ack;
    if (ack && ack.ok) return ack.data;
    const code = (ack && ack.error && ack.error.code) || 'INTERNAL';
    if (code === 'ORDER_CLOSED') chat.markClosed();
    throw chatError(code, actionErrorText(action, code, ack && ack.error && ack.error.message));
  }

  report(err) {
    this.chat.fail(err.message, { soft: true });
  }

  /** The quoted sender as this user sees it. */
  nameOf(replyTo) {
    return quoteName(replyTo, this.chat.userId);
  }

  // ---- replying ------------------------------------------------------------------------------

  startReply(m) {
    this.replyTarget = this.chat.timeline.quoteOf(m);
    this.chat.composer.setReply(this.replyTarget, this.nameOf(this.replyTarget));
    this.chat.ui.input.focus();
  }

  cancelReply() {
    this.replyTarget = null;
    this.chat.composer.setReply(null);
  }

  /** The reply the next send answers (and the composer forgets it). */
  takeReply() {
    const r = this.replyTarget;
    if (r) this.cancelReply();
    return r;
  }

  /** A message was drawn again (`node`) in its new state `m`: what is open on it follows. */
  redrawn(m, node) {
    this.editor.redrawn(m, node);
    this.picker.redrawn(m);
    if (this.replyTarget && this.replyTarget.id === String(m.id)) {
      if (m.deleted) {
        this.cancelReply();
        this.chat.fail('The message you were replying to was deleted.', { soft: true });
      } else {
        this.replyTarget = this.chat.timeline.quoteOf(m);
        this.chat.composer.setReply(this.replyTarget, this.nameOf(this.replyTarget));
      }
    }
  }

  /** Arrow-up in the empty composer: edit the newest own message. Returns whether it opened. */
  editLast() {
    if (this.blocked('edit')) return false;
    const m = this.chat.timeline.lastEditable();
    if (!m) return false;
    this.editor.open(m);
    return true;
  }

  // ---- following a quote ---------------------------------------------------------------------

  /**
   * Scroll to the message a quote (or a search result) names, loading older pages until it is
   * there; `o.notFound`: what to say when it is not in this chat.
   */
  async jumpTo(seq, id, o = {}) {
    const { view, timeline, history } = this.chat;
    let node = view.nodes.get(seq);
    while (!node && timeline.hasMoreOlder && timeline.size > 0 && seq < timeline.lowestSeq) {
      const lowest = timeline.lowestSeq;
      await history.loadOlder({ untilSeq: seq });
      if (timeline.lowestSeq === lowest) break; // the page failed (the error line says why)
      node = view.nodes.get(seq);
    }
    if (!node || (id && node.dataset.id !== String(id))) {
      if (!history.loadingOlder) this.chat.fail(o.notFound || 'The original message could not be found in this chat.', { soft: true });
      return;
    }
    view.highlight(node);
  }

  // ---- deleting ------------------------------------------------------------------------------

  async confirmDelete(m, trigger) {
    const yes = await this.confirm({
      title: 'Delete this message?',
      text: 'It will be replaced by "This message was deleted" for everyone in this chat.',
      confirm: 'Delete',
    }, trigger);
    if (!yes) return;
    if (this.editor.openId === String(m.id)) this.editor.close();
    try {
      const tombstone = await this.request('delete-message', { messageId: m.id }, 'delete');
      this.chat.applyChanges([tombstone]);
    } catch (e) {
      this.report(e);
    }
  }

  /** A modal question with Cancel (the default, and Esc) and a confirming button. */
  confirm(o, trigger) {
    const d = this.dialog || (this.dialog = buildDialog());
    if (typeof d.showModal !== 'function') return Promise.resolve(window.confirm(o.title));
    d.querySelector('.dialog__title').textContent = o.title;
    d.querySelector('.dialog__text').textContent = o.text;
    d.querySelector('.dialog__confirm').textContent = o.confirm;
    d.returnValue = '';
    d.showModal();
    d.querySelector('.dialog__cancel').focus();
    return new Promise((resolve) => {
      d.addEventListener('close', () => {
        resolve(d.returnValue === 'confirm');
        if (trigger && trigger.isConnected) trigger.focus();
      }, { once: true });
    });
  }

  // ---- reactions -----------------------------------------------------------------------------

  /** Add the user's `emoji` to `m`, or take it away when it is there. */
  async toggleReaction(m, emoji) {
    const key = `${m.id} ${emoji}`;
    if (!emoji || this.busy.has(key)) return;
    const current = this.chat.timeline.get(m.id) || m;
    const mine = this.chat.timeline.hasReacted(current, emoji);
    this.busy.add(key);
    try {
      const data = await this.request(mine ? 'remove-reaction' : 'add-reaction', { messageId: m.id, emoji }, 'react');
      this.chat.applyReaction(data);
    } catch (e) {
      this.report(e);
    } finally {
      this.busy.delete(key);
    }
  }
}

function buildDialog() {
  const d = el('dialog', 'dialog');
  d.id = 'confirm-dialog';
  d.setAttribute('aria-labelledby', 'confirm-dialog-title');
  d.setAttribute('aria-describedby', 'confirm-dialog-text');
  const form = el('form', 'dialog__form');
  form.method = 'dialog';
  const title = el('h2', 'dialog__title');
  title.id = 'confirm-dialog-title';
  const text = el('p', 'dialog__text');
  text.id = 'confirm-dialog-text';
  const buttons = el('div', 'dialog__buttons');
  const cancel = el('button', 'button dialog__cancel', 'Cancel');
  cancel.value = 'cancel';
  const ok = el('button', 'button button--danger dialog__confirm', 'Delete');
  ok.value = 'confirm';
  buttons.append(cancel, ok);
  form.append(title, text, buttons);
  d.appendChild(form);
  // A click on the backdrop (outside the form) cancels.
  d.addEventListener('click', (e) => { if (e.target === d) d.close('cancel'); });
  document.body.appendChild(d);
  return d;
}
