/*
 * Reading, on the page (PROTOCOL §15: "the page marks read what was shown"). An
 * IntersectionObserver on the message list tells reading.js which messages are on screen; they
 * count as seen only while the tab is visible and the window focused, and the read marker moves
 * over seen messages in order (`mark-messages-read` with `upToSeq`). Also: the unread divider
 * before the first message that was unread when the chat opened (the view starts there when it
 * is above the screen), and "N new" in the tab title while messages wait to be seen.
 */
import { el } from './dom.js';
import { ReadTracker, unreadDivider, dividerText } from './reading.js';

const MARK_DELAY_MS = 250; // at most one mark per this long (scrolling sees many at once)
const SEEN_RATIO = 0.5; // this much of a message (or of the list's height) on screen is seeing it

export class Reader {
  /** @param {import('./chat.js').ChatClient} chat */
  constructor(chat) {
    this.chat = chat;
    this.tracker = new ReadTracker();
    this.timer = null;
    this.lastMark = 0; // when the last mark went out
    this.divider = null; // {node, seq}
    this.dividerFrom = null; // the marker when the chat opened, while the divider is not placed
    const root = chat.ui.container;
    this.observer = typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => this.onIntersect(entries), { root, threshold: [0, SEEN_RATIO, 1] })
      : null;
    const update = () => this.updateActive();
    document.addEventListener('visibilitychange', update);
    window.addEventListener('focus', update);
    window.addEventListener('blur', update);
    this.tracker.setActive(this.isActive());
  }

  /** The reader is there: the tab is visible and the window has the focus. */
  isActive() {
    return document.visibilityState === 'visible' && (typeof document.hasFocus !== 'function' || document.hasFocus());
  }

  updateActive() {
    const wasActive = this.tracker.active;
    const seenNow = this.tracker.setActive(this.isActive());
    if (seenNow || (!wasActive && this.tracker.active)) this.markRead();
    else this.updateTitle();
  }

  /** A message element was put on the page (`old`: the one it replaced). */
  observe(node, old) {
    if (old && this.observer) this.observer.unobserve(old);
    if (!node.dataset || !node.dataset.seq) return;
    if (this.divider && Number(node.dataset.seq) < this.divider.seq) this.keepDivider();
    else if (!this.divider && this.dividerFrom != null) this.placeDivider(); // an older page brought it
    if (this.observer && !node.classList.contains('msg--own')) this.observer.observe(node);
    else if (!this.observer) this.tracker.shown(Number(node.dataset.seq), true); // no observer: shown is seen
    this.scheduleTitle();
  }

  onIntersect(entries) {
    let seen = false;
    for (const e of entries) {
      const seq = Number(e.target.dataset.seq);
      if (this.chat.view.nodes.get(seq) !== e.target) continue; // redrawn: its new element reports
      const rootHeight = e.rootBounds ? e.rootBounds.height : Infinity;
      const shown = e.isIntersecting && (e.intersectionRatio >= SEEN_RATIO || e.intersectionRect.height >= rootHeight * SEEN_RATIO);
      if (this.tracker.shown(seq, shown)) seen = true;
    }
    if (seen) this.scheduleMark();
  }

  /** The page is going away: take what the observer has not reported yet and mark it now. */
  flush() {
    if (this.observer) this.onIntersect(this.observer.takeRecords());
    this.markRead();
  }

  /** Mark now, or (when a mark went out just now) once a moment has passed. */
  scheduleMark() {
    if (this.timer) return;
    const wait = this.lastMark + MARK_DELAY_MS - Date.now();
    if (!(wait > 0)) { this.markRead(); return; }
    this.timer = setTimeout(() => this.markRead(), wait);
  }

  scheduleTitle() {
    if (this.titleQueued) return;
    this.titleQueued = true;
    queueMicrotask(() => { this.titleQueued = false; this.updateTitle(); });
  }

  /** Move the read marker over what was seen, if that is further than it is. */
  markRead() {
    clearTimeout(this.timer);
    this.timer = null;
    const chat = this.chat;
    const t = chat.timeline;
    const upTo = chat.joined && chat.socket ? this.tracker.take(t) : null;
    this.updateTitle();
    if (upTo == null) return;
    this.lastMark = Date.now();
    chat.connection.request('mark-messages-read', { orderId: chat.orderId, upToSeq: upTo }, 10000).then(({ ack }) => {
      const ok = ack && ack.ok;
      const seq = ok && ack.data && typeof ack.data.lastReadSeq === 'number' ? ack.data.lastReadSeq : upTo;
      t.readMarked(upTo, ok ? seq : null);
      this.updateTitle(); // a failed mark is asked again with the next sighting or join
    });
  }

  /** "N new" in the tab title: messages of others above the marker not seen yet. */
  updateTitle() {
    this.chat.view.setNewCount(this.tracker.newCount(this.chat.timeline));
  }

  // ---- the unread divider ------------------------------------------------------------------------

  /**
   * The chat opened (first join): the divider goes before the first unread message once it is
   * loaded; when it is loaded now and above the screen, the view starts there (`o.scroll`).
   */
  opened(o = {}) {
    this.dividerFrom = this.chat.timeline.myReadSeq;
    if (this.placeDivider() && o.scroll !== false) this.showDivider();
  }

  placeDivider() {
    const t = this.chat.timeline;
    if (this.divider || this.dividerFrom == null) return false;
    const d = unreadDivider(t, this.dividerFrom);
    if (!d) { this.dividerFrom = null; return false; } // nothing was unread
    if (!d.loaded) return false; // older pages will bring it
    const target = this.chat.view.nodes.get(d.seq);
    if (!target) return false;
    const node = el('div', 'unread-divider');
    node.id = 'unread-divider';
    node.setAttribute('role', 'separator');
    node.setAttribute('aria-label', dividerText(d.count));
    node.appendChild(el('span', 'unread-divider__text', dividerText(d.count)));
    target.before(node);
    target.classList.remove('msg--cont'); // after the divider a message names its sender again
    this.divider = { node, seq: d.seq };
    this.dividerFrom = null;
    return true;
  }

  /** An older message went in: keep the divider right before its message. */
  keepDivider() {
    const target = this.chat.view.nodes.get(this.divider.seq);
    if (target && target.previousElementSibling !== this.divider.node) {
      target.before(this.divider.node);
      target.classList.remove('msg--cont');
    }
  }

  /** Scroll so that the divider is near the top, when it lies above the visible part. */
  showDivider() {
    const c = this.chat.ui.container;
    const top = this.divider.node.getBoundingClientRect().top - c.getBoundingClientRect().top + c.scrollTop;
    if (top >= c.scrollTop) return;
    c.scrollTop = Math.max(0, top - 8);
    this.chat.view.stick = this.chat.view.isAtBottom();
  }
}
