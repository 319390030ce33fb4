/*
 * The inbox (PROTOCOL §15): /chat.html without an orderId lists the user's chats from
 * `GET /api/v0/chat/orders` — order number, status, last message, unread badge — and a click
 * opens one (/chat.html?orderId=…; the token stays in localStorage, not in the address).
 *
 * Live updates: the server has no event addressed to a user's whole inbox (events go to an
 * order's room, and joining every order's room just to watch it would count as being in those
 * chats), so the list is fetched again every 5 s while the tab is visible, and at once when the
 * tab becomes visible or gets focus. Nothing is fetched while it is hidden.
 */
import { el, timeElement } from './dom.js';
import { resolveToken, storedToken, storeToken, tokenFromApp, userOfToken, api } from './session.js';
import { inboxRows, inboxError, unreadSummary } from './inbox-model.js';
import { SearchBox } from './search.js';

const REFRESH_MS = 5000;

export function startInbox(userId) {
  return new Inbox(userId);
}

class Inbox {
  constructor(userId) {
    const $ = (id) => document.getElementById(id);
    this.ui = {
      root: $('inbox'), chat: $('chat-view'), list: $('inbox-list'), empty: $('inbox-empty'),
      subtitle: $('inbox-subtitle'), error: $('inbox-error'), errorText: $('inbox-error-text'),
      retry: $('inbox-retry'), loading: $('inbox-loading'),
    };
    this.token = resolveToken(userId);
    this.userId = userId || userOfToken(this.token);
    this.timer = null;
    this.loading = false;
    this.again = false;
    this.shown = null; // the rows on screen, as JSON (redraw only on change)
    this.loaded = false;

    if (this.ui.chat) this.ui.chat.hidden = true;
    this.ui.root.hidden = false;
    document.title = 'Your chats · Chat';
    if (this.ui.retry) this.ui.retry.addEventListener('click', () => this.refresh());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.refresh(); else clearTimeout(this.timer);
    });
    window.addEventListener('focus', () => this.refresh());
    const header = this.ui.root.querySelector('.chat-header');
    if (header) {
      // Every chat's messages; a result's link opens its chat at that message.
      this.search = new SearchBox({
        mode: 'inbox', header, api: (path) => api(path, this.currentToken()), userId: () => this.userId, choose: () => {},
      });
    }
    this.refresh();
  }

  /** The token now: a newer one stored by the app (another tab) is picked up. */
  currentToken() {
    const stored = storedToken(this.userId);
    if (stored) this.token = stored;
    return this.token;
  }

  async refresh() {
    if (this.loading) { this.again = true; return; }
    clearTimeout(this.timer);
    this.loading = true;
    let retry = true;
    try {
      const token = this.currentToken();
      if (!token) throw Object.assign(new Error('no token'), { code: 'NO_TOKEN' });
      const data = await api('/orders', token).catch((e) => this.renewed(e, token));
      this.showError(null);
      this.render(inboxRows(data, this.userId));
    } catch (e) {
      const failure = inboxError(e);
      retry = failure.retry;
      this.showError(failure);
    } finally {
      this.loading = false;
    }
    if (this.again) { this.again = false; this.refresh(); return; }
    if (retry && document.visibilityState === 'visible') this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  /**
   * A refused token: ask the embedding app for a fresh one (window.orderChatRefreshToken, see
   * chat.js) and try once more with it; otherwise throw the refusal.
   */
  async renewed(err, token) {
    if (err.code !== 'UNAUTHORIZED') throw err;
    const fresh = await tokenFromApp();
    if (!fresh || fresh === token) throw err;
    const data = await api('/orders', fresh);
    storeToken(fresh);
    this.token = fresh;
    return data;
  }

  showError(failure) {
    const { error, errorText, retry, loading } = this.ui;
    if (loading && (failure || this.loaded)) loading.hidden = true;
    this.ui.root.dataset.state = failure ? (failure.retry ? 'offline' : 'refused') : 'ok';
    if (!error) return;
    error.hidden = !failure;
    if (!failure) return;
    errorText.textContent = failure.text;
    error.classList.toggle('alert--soft', failure.retry);
    if (retry) retry.hidden = !failure.retry;
    if (failure.retry && !this.loaded) this.subtitle('Not connected');
    if (!failure.retry) {
      // Refused: what was shown belongs to a session that is no longer valid.
      this.ui.list.textContent = '';
      this.shown = null;
      this.ui.empty.hidden = true;
      this.subtitle('Not signed in');
    }
  }

  /** The line under the title (a live region: changed only when its words change). */
  subtitle(text) {
    const node = this.ui.subtitle;
    if (node && node.textContent !== text) node.textContent = text;
  }

  render(rows) {
    this.loaded = true;
    if (this.ui.loading) this.ui.loading.hidden = true;
    this.ui.empty.hidden = rows.length > 0;
    this.subtitle(rows.length ? unreadSummary(rows) : 'No chats yet');
    const json = JSON.stringify(rows);
    if (json === this.shown) return; // unchanged: keep focus and what a screen reader is on
    this.shown = json;
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('[data-order-id]');
    const focusedId = focused ? focused.dataset.orderId : null;
    this.ui.list.replaceChildren(...rows.map((r) => rowNode(r)));
    if (focusedId) {
      const again = [...this.ui.list.querySelectorAll('[data-order-id]')].find((a) => a.dataset.orderId === focusedId);
      if (again) again.focus();
    }
  }
}

function rowNode(r) {
  const li = el('li', 'inbox-item' + (r.unread ? ' inbox-item--unread' : '') + (r.closed ? ' inbox-item--closed' : ''));
  const a = el('a', 'inbox-item__link');
  a.href = r.href;
  a.dataset.orderId = r.orderId;

  const top = el('span', 'inbox-item__top');
  top.appendChild(el('span', 'inbox-item__title', r.title));
  if (r.status) {
    const chip = el('span', 'status-chip inbox-item__status', r.statusLabel);
    chip.dataset.status = r.status;
    top.appendChild(chip);
  }
  if (r.preview && r.preview.at) top.appendChild(timeElement(r.preview.at, 'inbox-item__time'));
  a.appendChild(top);

  const bottom = el('span', 'inbox-item__bottom');
  const preview = el('span', 'inbox-item__preview');
  if (!r.preview) {
    preview.classList.add('inbox-item__preview--none');
    preview.textContent = 'No messages yet';
  } else {
    if (r.preview.sender) preview.appendChild(el('span', 'inbox-item__sender', r.preview.sender + ': '));
    preview.appendChild(el('span', 'inbox-item__text', r.preview.text));
  }
  bottom.appendChild(preview);
  if (r.unread) {
    const badge = el('span', 'badge');
    badge.dataset.count = String(r.unread);
    badge.appendChild(el('span', 'badge__count', r.unread > 99 ? '99+' : String(r.unread))).setAttribute('aria-hidden', 'true');
    badge.appendChild(el('span', 'visually-hidden', ', ' + r.unreadLabel));
    bottom.appendChild(badge);
  }
  a.appendChild(bottom);
  li.appendChild(a);
  return li;
}
