/*
 * The search box (PROTOCOL §13): in the chat's header (behind a Search button; this chat by
 * default, "All chats" as an option) and at the top of the inbox (always open, every chat).
 * Typing searches after a short pause, Enter at once; each result shows the order, sender, time
 * and the snippet with its matched words in <mark> elements (made here from the server's
 * offsets: text nodes only, never HTML); "More results" pages on. Choosing a result calls
 * `choose(row, event)`, which opens the chat or scrolls to the message.
 *
 * Keyboard: Enter searches, ArrowDown goes into the results, ArrowUp/ArrowDown/Home/End move
 * between them (Tab too), Esc closes the box (in the inbox: clears it).
 */
import { el, timeElement } from './dom.js';
import { SearchState, DEBOUNCE_MS } from './search-model.js';

const ICON = 'M10 2a8 8 0 0 1 6.32 12.9l5.39 5.4a1 1 0 0 1-1.42 1.4l-5.39-5.38A8 8 0 1 1 10 2Zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12Z';

function icon(size) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', ICON);
  svg.appendChild(path);
  return svg;
}

/** The snippet's parts as text nodes and <mark> elements. */
export function snippetNode(parts) {
  const span = el('span', 'search-result__snippet');
  for (const p of parts) span.appendChild(p.mark ? el('mark', 'search-result__mark', p.text) : document.createTextNode(p.text));
  return span;
}

export class SearchBox {
  /**
   * @param {object} o `header` (the element it goes into), `before` (an element of it to go
   *   before, optional), `mode` 'chat' | 'inbox', `api(path)` (REST under /api/v0/chat: data or
   *   a thrown Error with `code`), `userId()`, `orderId()` (the chat's; chat mode), `choose(row,
   *   event)`, `toggleBefore` (chat mode: the header element the Search button goes before)
   */
  constructor(o) {
    this.o = o;
    this.chatMode = o.mode === 'chat';
    this.state = new SearchState();
    this.timer = null;
    this.build();
  }

  build() {
    const o = this.o;
    const id = (s) => `search-${o.mode}-${s}`;
    const root = el('div', 'search search--' + o.mode);
    root.id = id('box');
    const form = el('form', 'search__form');
    form.setAttribute('role', 'search');
    form.noValidate = true;
    const field = el('div', 'search__field');
    const input = el('input', 'search__input');
    input.id = id('input');
    input.type = 'search';
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.enterKeyHint = 'search';
    input.placeholder = this.chatMode ? 'Search this chat' : 'Search all your chats';
    const label = el('label', 'visually-hidden', this.chatMode ? 'Search messages' : 'Search messages in all your chats');
    label.htmlFor = input.id;
    field.append(icon(18), label, input);
    form.appendChild(field);
    if (this.chatMode) {
      const scope = el('label', 'search__scope');
      const all = el('input', 'search__all');
      all.type = 'checkbox';
      all.id = id('all');
      scope.append(all, ' All chats');
      const close = el('button', 'search__close', '×');
      close.type = 'button';
      close.setAttribute('aria-label', 'Close the search');
      close.title = 'Close the search (Esc)';
      form.append(scope, close);
      all.addEventListener('change', () => {
        input.placeholder = all.checked ? 'Search all your chats' : 'Search this chat';
        this.run();
        input.focus();
      });
      close.addEventListener('click', () => this.close());
      this.all = all;
    }
    const status = el('p', 'search__status');
    status.id = id('status');
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    const list = el('ul', 'search__results');
    list.id = id('results');
    list.setAttribute('aria-label', 'Search results');
    const more = el('button', 'button button--small search__more', 'More results');
    more.type = 'button';
    more.hidden = true;
    input.setAttribute('aria-describedby', status.id);
    input.setAttribute('aria-controls', list.id);
    root.append(form, status, list, more);

    form.addEventListener('submit', (e) => { e.preventDefault(); this.run(true); });
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
    });
    root.addEventListener('keydown', (e) => this.onKey(e));
    more.addEventListener('click', () => this.loadMore());
    list.addEventListener('click', (e) => {
      const a = e.target.closest('a[data-seq]');
      if (!a) return;
      const row = this.state.rows.find((r) => r.key === a.dataset.key);
      if (row) o.choose(row, e);
    });
    Object.assign(this, { root, form, input, status, list, more });

    if (this.chatMode) {
      root.hidden = true;
      const toggle = el('button', 'button button--ghost button--search');
      toggle.type = 'button';
      toggle.id = 'search-toggle';
      toggle.setAttribute('aria-expanded', 'false');
      toggle.setAttribute('aria-controls', root.id);
      toggle.title = 'Search messages';
      toggle.append(icon(20), el('span', 'button__label', 'Search'));
      toggle.addEventListener('click', () => (root.hidden ? this.open() : this.close()));
      const row = o.header.querySelector('.chat-header__row');
      (row || o.header).insertBefore(toggle, o.toggleBefore && o.toggleBefore.parentNode === row ? o.toggleBefore : null);
      this.toggle = toggle;
      o.header.insertBefore(root, row ? row.nextSibling : o.header.firstChild);
    } else {
      o.header.appendChild(root);
    }
  }

  get isOpen() { return !this.root.hidden; }

  open() {
    this.root.hidden = false;
    if (this.toggle) this.toggle.setAttribute('aria-expanded', 'true');
    this.input.focus();
    this.input.select();
  }

  /** Close the box (chat mode); the focus goes back to the Search button unless told not to. */
  close(focusToggle = true) {
    if (!this.chatMode) return;
    clearTimeout(this.timer);
    this.root.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    if (focusToggle) this.toggle.focus();
  }

  /** The order to narrow to: this chat unless "All chats" is ticked (the inbox: none). */
  scope() {
    return this.chatMode && !(this.all && this.all.checked) ? this.o.orderId() : null;
  }

  /** Search what is typed (again when `force`, e.g. Enter; otherwise only when it changed). */
  async run(force = false) {
    clearTimeout(this.timer);
    const orderId = this.scope();
    if (!force && this.state.isCurrent(this.input.value, orderId)) return;
    const req = this.state.start(this.input.value, orderId);
    this.render();
    if (req) await this.fetch(req);
  }

  async loadMore() {
    const req = this.state.more();
    if (!req) return;
    this.render();
    const first = await this.fetch(req);
    const link = first && this.list.querySelector(`a[data-key="${CSS.escape(first.key)}"]`);
    if (link) link.focus();
  }

  /** Ask the server; returns the first row it added (or null). */
  async fetch(req) {
    let added = null;
    try {
      const data = await this.o.api(req.path);
      added = this.state.answer(req, data, this.o.userId());
      if (!added) return null;
    } catch (e) {
      if (!this.state.failed(req, e)) return null;
    }
    this.render(req.more ? added : null);
    return added && added.length ? added[0] : null;
  }

  /** Draw the state: all rows anew, or only `appended` ones after a further page. */
  render(appended) {
    const s = this.state;
    this.root.dataset.state = s.status;
    const text = s.summary();
    if (this.status.textContent !== text) this.status.textContent = text;
    this.status.classList.toggle('search__status--error', s.status === 'error' || !!s.moreFailed);
    if (appended) for (const row of appended) this.list.appendChild(this.rowNode(row));
    else if (!s.loadingMore) this.list.replaceChildren(...s.rows.map((row) => this.rowNode(row)));
    this.more.hidden = s.status !== 'done' || !s.nextCursor;
    this.more.disabled = s.loadingMore;
    this.more.textContent = s.loadingMore ? 'Loading more…' : (s.moreFailed ? 'Try again' : 'More results');
  }

  rowNode(row) {
    const li = el('li', 'search__item');
    const a = el('a', 'search-result');
    a.href = row.href;
    a.dataset.key = row.key;
    a.dataset.orderId = row.orderId;
    a.dataset.seq = String(row.seq);
    if (row.messageId) a.dataset.messageId = row.messageId;
    const top = el('span', 'search-result__top');
    top.append(el('span', 'search-result__order', row.orderLabel), el('span', 'search-result__sender', row.sender));
    if (row.at) top.appendChild(timeElement(row.at, 'search-result__time'));
    a.append(top, snippetNode(row.parts));
    li.appendChild(a);
    return li;
  }

  onKey(e) {
    const links = [...this.list.querySelectorAll('a.search-result')];
    const i = links.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      if (this.chatMode) { this.close(); return; }
      if (i >= 0 || document.activeElement === this.more) { this.input.focus(); return; }
      this.input.value = '';
      this.run();
      return;
    }
    if (e.target === this.input && e.key === 'ArrowDown' && links.length) {
      e.preventDefault();
      links[0].focus();
      return;
    }
    if (i < 0) return;
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: links.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    if (to < 0) this.input.focus();
    else links[Math.min(to, links.length - 1)].focus();
  }
}
