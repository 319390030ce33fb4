/*
 * History through REST: older pages when the reader scrolls up (`before=` the lowest seq), and
 * the catch-up after a reconnect whose re-join said there is more (`after=` the highest).
 */
import { describeError } from './format.js';

const PAGE_SIZE = 50; // history page when scrolling up

export class History {
  /** @param {import('./chat.js').ChatClient} chat */
  constructor(chat) {
    this.chat = chat;
    this.loadingOlder = false;
    this.catchingUp = false;
  }

  async loadOlder() {
    const chat = this.chat;
    const timeline = chat.timeline;
    if (this.loadingOlder || !timeline.hasMoreOlder || timeline.size === 0) return;
    this.loadingOlder = true;
    chat.showHistoryState();
    const container = chat.ui.container;
    try {
      const data = await chat.api(`/messages/${encodeURIComponent(chat.orderId)}?before=${timeline.lowestSeq}&limit=${PAGE_SIZE}`);
      const fromBottom = container.scrollHeight - container.scrollTop;
      chat.show(timeline.applyOlder(data), { prepend: true });
      container.scrollTop = container.scrollHeight - fromBottom;
      chat.refreshReceipts();
    } catch (e) {
      chat.fail('Older messages could not be loaded. ' + describeError(e.code, e.message), { soft: true });
    } finally {
      this.loadingOlder = false;
      chat.showHistoryState();
    }
    this.fillViewport();
  }

  /** When the list does not fill the screen yet, there is no scrolling: load older right away. */
  fillViewport() {
    const c = this.chat.ui.container;
    if (this.chat.timeline.hasMoreOlder && !this.loadingOlder && c.scrollHeight <= c.clientHeight + 8) this.loadOlder();
  }

  /** Fetch every message after the highest seq seen (a reconnect after a long gap). */
  async catchUp() {
    if (this.catchingUp) return;
    const chat = this.chat;
    this.catchingUp = true;
    try {
      await chat.connection.catchUp(chat.orderId, () => chat.timeline.highestSeq, (list) => chat.ingest(list));
      chat.markRead();
    } catch (e) {
      console.warn('order-chat: catching up failed', e);
    } finally {
      this.catchingUp = false;
    }
  }
}
