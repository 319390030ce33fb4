/*
 * History through REST: older pages when the reader scrolls up or follows a quote (`before=` the
 * lowest seq), and the catch-up after a reconnect whose re-join said there is more: every change
 * after a rev (`sinceRev=`, PROTOCOL §10), or, against a server without revs, every message after
 * the highest seq (`after=`).
 */
import { describeError } from './format.js';
import { CATCH_UP_LIMIT } from './connection.js';

const PAGE_SIZE = 50; // history page when scrolling up
const MAX_PAGE = 200; // the most one page may ask for

export class History {
  /** @param {import('./chat.js').ChatClient} chat */
  constructor(chat) {
    this.chat = chat;
    this.loadingOlder = false;
    this.older = null; // the page being loaded (a promise)
    this.catchingUp = false;
    this.catchUpAgain = null; // a rev to catch up from once the current catch-up is done
  }

  /**
   * Load the page before the lowest loaded seq; `o.untilSeq` asks for enough to reach that seq
   * (following a quote). Resolves when the page is shown (or failed); a call while a page loads
   * waits for that one.
   */
  loadOlder(o = {}) {
    if (this.older) return this.older;
    const timeline = this.chat.timeline;
    if (!timeline.hasMoreOlder || timeline.size === 0) return Promise.resolve();
    this.older = this.fetchOlder(o).finally(() => {
      this.older = null;
      this.loadingOlder = false;
      this.chat.showHistoryState();
      this.fillViewport();
    });
    return this.older;
  }

  async fetchOlder(o) {
    const chat = this.chat;
    const timeline = chat.timeline;
    this.loadingOlder = true;
    chat.showHistoryState();
    const container = chat.ui.container;
    const lowest = timeline.lowestSeq;
    const wanted = o.untilSeq != null ? lowest - o.untilSeq + 10 : PAGE_SIZE;
    const limit = Math.min(MAX_PAGE, Math.max(PAGE_SIZE, wanted));
    try {
      const data = await chat.api(`/messages/${encodeURIComponent(chat.orderId)}?before=${lowest}&limit=${limit}`);
      const fromBottom = container.scrollHeight - container.scrollTop;
      chat.show(timeline.applyOlder(data), { prepend: true });
      container.scrollTop = container.scrollHeight - fromBottom;
      chat.refreshReceipts();
    } catch (e) {
      chat.fail('Older messages could not be loaded. ' + describeError(e.code, e.message), { soft: true });
    }
  }

  /** When the list does not fill the screen yet, there is no scrolling: load older right away. */
  fillViewport() {
    const c = this.chat.ui.container;
    if (this.chat.timeline.hasMoreOlder && !this.loadingOlder && c.scrollHeight <= c.clientHeight + 8) this.loadOlder();
  }

  /**
   * Fetch what the page missed: every change after `fromRev` (default: the highest rev seen),
   * page by page until none is left. A second call while one runs is done after it, from the
   * lower of the two revs.
   */
  async catchUp(fromRev = this.chat.timeline.rev) {
    if (this.catchingUp) {
      if (fromRev != null) this.catchUpAgain = this.catchUpAgain == null ? fromRev : Math.min(this.catchUpAgain, fromRev);
      return;
    }
    const chat = this.chat;
    this.catchingUp = true;
    try {
      if (fromRev == null) {
        await chat.connection.catchUp(chat.orderId, () => chat.timeline.highestSeq, (list) => chat.ingest(list));
      } else {
        await this.changesSince(fromRev);
      }
      chat.markRead();
    } catch (e) {
      console.warn('order-chat: catching up failed', e);
    } finally {
      this.catchingUp = false;
    }
    const again = this.catchUpAgain;
    this.catchUpAgain = null;
    if (again != null) this.catchUp(again);
  }

  async changesSince(rev) {
    const chat = this.chat;
    let cursor = rev;
    for (let i = 0; i < 1000; i++) {
      const data = await chat.api(`/messages/${encodeURIComponent(chat.orderId)}?sinceRev=${cursor}&limit=${CATCH_UP_LIMIT}`);
      chat.show(chat.timeline.applyChanges(data));
      chat.refreshReceipts();
      const revs = (data.messages || []).map((m) => m.rev).filter((r) => typeof r === 'number');
      const highest = revs.length ? Math.max(...revs) : cursor;
      if (!data.hasMore || highest <= cursor) break;
      cursor = highest;
    }
  }
}
