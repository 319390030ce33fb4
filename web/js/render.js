/*
 * The chat's DOM: message bubbles in seq order, pending sends, notices, receipts, the typing
 * line, the header, the connection banner and the error line. It draws what it is told; the
 * state lives in timeline.js and the decisions in chat.js.
 */
import { el, renderText, timeElement } from './dom.js';
import { ROLE_LABELS, statusLabel } from './format.js';
import { tabTitle, presenceState } from './reading.js';
import { messageNode, quoteNode, setReceipt, receiptWords } from './bubble.js';

const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages of one sender are grouped

const BANNER_TEXT = {
  connecting: 'Connecting…',
  reconnecting: 'Connection lost. Reconnecting…',
  connected: 'Connected',
  left: 'You left the chat.',
  error: 'Cannot connect.',
};

/** The elements of chat.html that the page uses (only the first two are required). */
export function findElements(doc = document) {
  const $ = (id) => doc.getElementById(id);
  return {
    container: $('message-container'),
    input: $('message-input'),
    send: $('send-button'),
    typing: $('typing-indicator'),
    typingText: $('typing-text'),
    form: $('composer'),
    banner: $('connection-banner'),
    bannerText: $('connection-text'),
    bannerAction: $('connection-action'),
    error: $('chat-error'),
    errorText: $('chat-error-text'),
    errorClose: $('chat-error-close'),
    title: $('chat-title'),
    subtitle: $('chat-subtitle'),
    status: $('order-status'),
    leave: $('leave-button'),
    leaveDialog: $('leave-dialog'),
    announcer: $('chat-announcer'),
    inboxLink: $('inbox-link'),
    loadOlder: $('load-older'),
    historyStatus: $('history-status'),
    empty: $('empty-state'),
    jump: $('jump-latest'),
  };
}

export class ChatView {
  constructor(ui) {
    this.ui = ui;
    this.nodes = new Map(); // seq -> element of a stored message
    this.pendingNodes = new Map(); // clientMessageId -> element
    this.stick = true; // the reader is at the bottom: follow new messages
    this.onNode = null; // (node, replaced) after a stored message's element went in (reader.js)
    this.titleName = 'Order chat';
    this.newCount = 0;
  }

  // ---- messages ------------------------------------------------------------------------------

  /** Put a stored message before the one with `nextSeq` (or before the pending sends). */
  insertMessage(m, nextSeq, o) {
    const node = this.messageNode(m, o);
    this.nodes.set(m.seq, node);
    const before = (nextSeq !== undefined && this.nodes.get(nextSeq)) || this.firstPendingNode();
    this.ui.container.insertBefore(node, before || null);
    regroup(node);
    if (node.nextElementSibling) regroup(node.nextElementSibling);
    if (this.onNode) this.onNode(node, null);
  }

  /**
   * Draw a kept message again in its new state (an edit, a delete, reactions, its quote), in
   * place. Returns the new element, or null when the message is not on the page.
   */
  replaceMessage(m, o) {
    const old = this.nodes.get(m.seq);
    if (!old) return null;
    const node = this.messageNode(m, o);
    if (old.classList.contains('msg--highlight')) node.classList.add('msg--highlight');
    old.replaceWith(node);
    this.nodes.set(m.seq, node);
    regroup(node);
    if (this.onNode) this.onNode(node, old);
    return node;
  }

  /** Scroll a message into the middle of the list and light it up for a moment. */
  highlight(node) {
    // At once, not smoothly: an older page loading meanwhile (near the top) keeps the place.
    node.scrollIntoView({ block: 'center', behavior: 'auto' });
    node.classList.remove('msg--highlight');
    void node.offsetWidth; // restart the animation
    node.classList.add('msg--highlight');
    clearTimeout(node.highlightTimer);
    const seq = Number(node.dataset.seq);
    node.highlightTimer = setTimeout(() => { const n = this.nodes.get(seq); if (n) n.classList.remove('msg--highlight'); }, 2500);
    if (!node.hasAttribute('tabindex')) node.tabIndex = -1;
    node.focus({ preventScroll: true });
  }

  firstPendingNode() {
    return this.ui.container.querySelector('.msg--pending');
  }

  messageNode(m, o) {
    return messageNode(m, { ...o, onImageLoad: () => { if (this.stick) this.scrollToBottom(); } });
  }

  /**
   * Redraw ✓ / ✓✓ of own messages; `receiptOf(id)` answers from the timeline. Returns the
   * receipt of the newest message whose words changed (to announce it), or null.
   */
  refreshReceipts(receiptOf) {
    let changed = null;
    for (const node of this.ui.container.querySelectorAll('.msg--own[data-seq]')) {
      const r = receiptOf(node.dataset.id);
      if (!r) continue;
      const before = node.querySelector('.msg__status')?.title;
      if (node.dataset.status !== r.state || r.state === 'read') setReceipt(node, r);
      if (before && before !== receiptWords(r)) changed = r;
    }
    return changed;
  }

  // ---- pending sends -------------------------------------------------------------------------

  /** A bubble for a send that has no ack yet, at the bottom. */
  addPending(entry, senderId, o = {}) {
    const node = el('article', 'msg msg--own msg--pending');
    node.dataset.clientMessageId = entry.cid;
    node.dataset.senderId = senderId || '';
    node.dataset.status = 'pending';
    node.dataset.time = String(entry.createdAt);
    const body = el('div', 'msg__body');
    const meta = el('div', 'msg__meta');
    meta.appendChild(el('span', 'msg__sender', 'You'));
    body.appendChild(meta);
    if (entry.replyTo) {
      const q = quoteNode(entry.replyTo, o.quoteName);
      q.disabled = true;
      body.appendChild(q);
    }
    const bubble = el('div', 'msg__bubble');
    const p = el('p', 'msg__text');
    renderText(p, entry.text);
    bubble.appendChild(p);
    if (entry.attachments) { // §12: the uploaded files going with it
      const n = entry.attachments.length;
      bubble.appendChild(el('p', 'msg__note', `📎 ${n} file${n === 1 ? '' : 's'}`));
    }
    const footer = el('div', 'msg__footer');
    const status = el('span', 'msg__status msg__status--pending', 'Sending…');
    status.dataset.status = 'pending';
    footer.appendChild(status);
    bubble.appendChild(footer);
    body.appendChild(bubble);
    node.appendChild(body);
    this.pendingNodes.set(entry.cid, node);
    this.ui.container.appendChild(node);
  }

  /**
   * Show a pending send's state: "Waiting for connection…" / "Sending…", or failed with Retry
   * and Delete buttons (`actions.retry()`, `actions.discard()`).
   */
  showPendingState(entry, { label, canRetry, actions }) {
    const node = this.pendingNodes.get(entry.cid);
    if (!node) return;
    const { failed, text } = label;
    const key = `${failed}|${text}|${canRetry}`;
    if (node.dataset.shown === key) return; // unchanged: keep the buttons (and their focus)
    node.dataset.shown = key;
    node.dataset.status = failed ? 'failed' : 'pending';
    node.classList.toggle('msg--failed', failed);
    const footer = node.querySelector('.msg__footer');
    footer.textContent = '';
    if (failed) {
      footer.appendChild(el('span', 'msg__status msg__status--failed', text));
      if (canRetry) {
        const retry = el('button', 'msg__retry', 'Retry');
        retry.type = 'button';
        retry.setAttribute('aria-label', 'Retry sending this message');
        retry.addEventListener('click', () => actions.retry());
        footer.append(retry);
      }
      const discard = el('button', 'msg__retry', 'Delete');
      discard.type = 'button';
      discard.setAttribute('aria-label', 'Delete this unsent message');
      discard.addEventListener('click', () => actions.discard());
      footer.append(discard);
    } else {
      const s = el('span', 'msg__status msg__status--pending', text);
      s.dataset.status = 'pending';
      footer.appendChild(s);
    }
  }

  removePending(cid) {
    const node = this.pendingNodes.get(cid);
    if (node) node.remove();
    this.pendingNodes.delete(cid);
  }

  // ---- notices, typing, history --------------------------------------------------------------

  /** "Tunde joined the chat · 10:15": a line between the messages (not stored). */
  addNotice(text, kind, userId, timestamp) {
    const atBottom = this.isAtBottom();
    const node = el('div', 'notice notice--' + kind);
    node.dataset.kind = kind;
    if (userId) node.dataset.userId = userId;
    const p = el('p', 'notice__text', text);
    p.append(' · ');
    p.appendChild(timeElement(timestamp || new Date().toISOString()));
    node.appendChild(p);
    this.ui.container.insertBefore(node, this.firstPendingNode());
    const next = node.nextElementSibling;
    if (next) regroup(next);
    if (atBottom) this.scrollToBottom();
  }

  renderTyping(text) {
    const box = this.ui.typing;
    if (!box) return;
    (this.ui.typingText || box).textContent = text;
    box.hidden = !text;
    box.classList.toggle('typing--visible', !!text);
  }

  /** @param {{hasMoreOlder, loadingOlder, everJoined, hasContent, hasMessages, fatal}} s */
  showHistoryState(s) {
    const { loadOlder, historyStatus, empty } = this.ui;
    if (loadOlder) loadOlder.hidden = !s.hasMoreOlder || s.loadingOlder;
    if (historyStatus) {
      let text = '';
      if (s.loadingOlder) text = 'Loading older messages…';
      else if (s.everJoined && !s.hasMoreOlder && s.hasMessages) text = 'This is the beginning of the conversation.';
      historyStatus.textContent = text;
    }
    if (empty) empty.hidden = s.hasContent || !s.everJoined || !!s.fatal;
  }

  // ---- scrolling -----------------------------------------------------------------------------

  isAtBottom() {
    const c = this.ui.container;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 48;
  }

  scrollToBottom() {
    const c = this.ui.container;
    c.scrollTop = c.scrollHeight;
    this.stick = true;
    if (this.ui.jump) this.ui.jump.hidden = true;
  }

  showJump() {
    if (this.ui.jump) this.ui.jump.hidden = false;
  }

  // ---- header, banner, errors ----------------------------------------------------------------

  setBanner(state, text, action) {
    const { banner, bannerText, bannerAction } = this.ui;
    if (!banner) return;
    banner.dataset.state = state;
    (bannerText || banner).textContent = text || BANNER_TEXT[state] || '';
    banner.classList.remove('banner--hidden');
    clearTimeout(this.bannerTimer);
    if (state === 'connected') {
      this.bannerTimer = setTimeout(() => banner.classList.add('banner--hidden'), 2500);
    }
    if (bannerAction) {
      const label = state === 'left' ? 'Rejoin' : action;
      bannerAction.hidden = !label;
      if (label) bannerAction.textContent = label;
    }
  }

  fail(text, opts = {}) {
    const { error, errorText, errorClose } = this.ui;
    if (!error) { console.warn('order-chat:', text); return; }
    (errorText || error).textContent = text;
    error.hidden = false;
    error.classList.toggle('alert--soft', !!opts.soft);
    if (errorClose) errorClose.hidden = !opts.soft;
  }

  clearError() {
    if (this.ui.error) this.ui.error.hidden = true;
  }

  /** The tab title with "N new" (messages waiting to be seen, reader.js). */
  setNewCount(n) {
    this.newCount = n;
    const title = tabTitle(this.titleName, n);
    if (document.title !== title) document.title = title;
  }

  /**
   * @param {{orderNumber, orderStatus, others, everJoined, connected, unavailable}} h
   *   `connected`: our own connection is up (otherwise nobody's presence is known);
   *   `unavailable`: what the subtitle says instead in a state that blocks the chat
   */
  renderHeader(h) {
    const { title, subtitle, status } = this.ui;
    const name = h.orderNumber ? `Order ${h.orderNumber}` : 'Order chat';
    if (title && title.textContent !== name) {
      title.textContent = '';
      if (h.orderNumber) {
        // "Order " gives way on a phone (still read out), so the number itself stays readable.
        title.append(el('span', 'chat-header__prefix', 'Order '), String(h.orderNumber));
      } else {
        title.textContent = name;
      }
    }
    this.titleName = name;
    this.setNewCount(this.newCount);
    if (status) {
      status.hidden = !h.orderStatus;
      if (h.orderStatus) {
        status.textContent = statusLabel(h.orderStatus);
        status.dataset.status = String(h.orderStatus);
      }
    }
    if (!subtitle) return;
    subtitle.textContent = '';
    if (h.unavailable) { subtitle.textContent = h.unavailable; return; } // a final state says so
    if (!h.others.length) {
      subtitle.textContent = h.everJoined ? 'No one else is in this chat yet' : 'Loading conversation…';
      return;
    }
    h.others.forEach((p, i) => {
      if (i > 0) subtitle.append(', ');
      const state = presenceState(p, h.connected !== false);
      const span = el('span', 'person person--' + state);
      span.dataset.presence = state;
      span.appendChild(el('span', 'person__dot'));
      span.append(p.name || p.id);
      if (ROLE_LABELS[p.type]) span.appendChild(el('span', 'visually-hidden', `, ${ROLE_LABELS[p.type].toLowerCase()}`));
      if (state !== 'unknown') span.appendChild(el('span', 'person__state', ` · ${state}`));
      subtitle.appendChild(span);
    });
  }
}

/** Consecutive messages of one sender within a few minutes share the name and avatar. */
function regroup(node) {
  if (!node.classList || !node.classList.contains('msg') || node.classList.contains('msg--system')) return;
  const prev = node.previousElementSibling;
  const same = prev && prev.classList.contains('msg') && !prev.classList.contains('msg--system') &&
    prev.dataset.senderId === node.dataset.senderId &&
    Math.abs(Number(node.dataset.time || 0) - Number(prev.dataset.time || 0)) < GROUP_WINDOW_MS;
  node.classList.toggle('msg--cont', !!same);
}
