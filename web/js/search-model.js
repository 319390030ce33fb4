/*
 * Message search without the DOM (PROTOCOL §13; the server's choices in docs/PROTOCOL.md §9):
 * the request's address, a snippet cut into plain and highlighted parts, one row per result,
 * the state of a search that pages on with `nextCursor` (answers to an older request are
 * dropped), and the address that opens a chat at one message. Node imports it too
 * (tests/js/web/search-model.test.mjs).
 */
import { chatHref } from './inbox-model.js';

/** Results per page (the server allows 1–50). */
export const PAGE_LIMIT = 20;
/** The wait after the last keystroke before a typed query is searched. */
export const DEBOUNCE_MS = 300;

/** `GET /api/v0/chat/search` for `q` (trimmed), narrowed to `orderId`, continuing `before`. */
export function searchPath(q, { orderId, before, limit = PAGE_LIMIT } = {}) {
  const p = new URLSearchParams({ q: String(q ?? '').trim() });
  if (orderId) p.set('orderId', String(orderId));
  if (limit) p.set('limit', String(limit));
  if (before) p.set('before', String(before));
  return '/search?' + p;
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/**
 * The snippet as consecutive parts `{text, mark}` (together exactly the snippet), `mark` true
 * for the matched words. `highlights` are `[start, end)` in JavaScript string indices; ranges
 * out of bounds are clipped, empty or malformed ones dropped, overlapping ones merged, and an
 * index inside a surrogate pair (an emoji) is moved to its edge so no character is cut.
 */
export function highlightSegments(snippet, highlights) {
  const text = String(snippet ?? '');
  const n = text.length;
  const ranges = [];
  for (const h of Array.isArray(highlights) ? highlights : []) {
    if (!Array.isArray(h) || h.length < 2 || !Number.isInteger(h[0]) || !Number.isInteger(h[1])) continue;
    let s = Math.max(0, Math.min(n, h[0]));
    let e = Math.max(0, Math.min(n, h[1]));
    if (s > 0 && s < n && isLow(text.charCodeAt(s)) && isHigh(text.charCodeAt(s - 1))) s -= 1;
    if (e > 0 && e < n && isLow(text.charCodeAt(e)) && isHigh(text.charCodeAt(e - 1))) e += 1;
    if (e > s) ranges.push([s, e]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  const parts = [];
  let at = 0;
  for (const [s, e] of merged) {
    if (s > at) parts.push({ text: text.slice(at, s), mark: false });
    parts.push({ text: text.slice(s, e), mark: true });
    at = e;
  }
  if (at < n || parts.length === 0) parts.push({ text: text.slice(at), mark: false });
  return parts;
}

/** The address of a chat that opens at one message (`#seq=…&message=…`, read by parseJump). */
export function jumpHref(orderId, seq, messageId, userId) {
  const hash = new URLSearchParams({ seq: String(seq), message: String(messageId) });
  return chatHref(String(orderId), userId) + '#' + hash;
}

/** `{seq, id}` from an address's hash written by jumpHref, or null. */
export function parseJump(hash) {
  const p = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const seq = Number(p.get('seq'));
  if (!p.has('seq') || !Number.isInteger(seq) || seq < 1) return null;
  return { seq, id: p.get('message') || null };
}

function senderLabel(m, userId) {
  if (m.senderType === 'system') return 'System';
  if (userId != null && String(m.senderId) === String(userId)) return 'You';
  return (m.sender && m.sender.name) || String(m.senderId || 'Someone');
}

/** One result as the page shows it, everything worded. */
export function resultRow(r, userId) {
  const m = (r && r.message && typeof r.message === 'object') ? r.message : {};
  const orderId = String(r.orderId ?? m.orderId ?? '');
  return {
    key: String(m.id ?? `${orderId}:${m.seq}`),
    orderId,
    orderLabel: `Order ${r.orderNumber || orderId}`,
    messageId: m.id != null ? String(m.id) : null,
    seq: typeof m.seq === 'number' ? m.seq : null,
    sender: senderLabel(m, userId),
    at: m.createdAt || null,
    parts: highlightSegments(r.snippet ?? m.message ?? '', r.highlights),
    href: jumpHref(orderId, m.seq, m.id, userId),
  };
}

/** A failed search (an Error with the server's `code`) in words; VALIDATION says the server's. */
export function searchErrorText(err) {
  const code = err && err.code;
  const message = err && err.message ? String(err.message).replace(/\.$/, '') : '';
  switch (code) {
    case 'VALIDATION':
      return 'This search cannot be run' + (message ? ': ' + message : '') + '.';
    case 'UNAUTHORIZED':
      return 'Your session is not valid any more: reload the page to search.';
    case 'FORBIDDEN':
      return 'You cannot search this chat: you are not a participant of this order.';
    case 'ORDER_NOT_FOUND':
      return 'This order was not found, so its messages cannot be searched.';
    case 'RATE_LIMITED':
      return 'Too many searches for now. Please wait a moment and try again.';
    case 'NETWORK':
      return 'The chat server could not be reached. Check your connection and try again.';
    default:
      return 'The search failed. Please try again.';
  }
}

/**
 * One search at a time: `start` a query (in one order, or all chats), page on with `more`, and
 * hand each answer to `answer` / `failed` with the request it answers (older ones are ignored).
 * `status`: idle (no query), loading, done, error; `moreFailed` when only a further page failed.
 */
export class SearchState {
  constructor() {
    this.query = '';
    this.orderId = null;
    this.rows = [];
    this.nextCursor = null;
    this.status = 'idle';
    this.error = null;
    this.loadingMore = false;
    this.moreFailed = null;
    this.serial = 0;
  }

  /** Whether `query` in `orderId` is what is searched or shown now (no new request needed). */
  isCurrent(query, orderId) {
    return String(query ?? '').trim() === this.query && (orderId || null) === this.orderId && this.status !== 'error';
  }

  /** A new search; returns the request `{id, path}`, or null for an empty query (idle). */
  start(query, orderId) {
    this.serial += 1;
    this.query = String(query ?? '').trim();
    this.orderId = orderId || null;
    this.rows = [];
    this.nextCursor = null;
    this.error = null;
    this.moreFailed = null;
    this.loadingMore = false;
    if (!this.query) { this.status = 'idle'; return null; }
    this.status = 'loading';
    return { id: this.serial, more: false, path: searchPath(this.query, { orderId: this.orderId }) };
  }

  /** The next page's request, or null (no more, or a page is loading). */
  more() {
    if (this.status !== 'done' || !this.nextCursor || this.loadingMore) return null;
    this.serial += 1;
    this.loadingMore = true;
    this.moreFailed = null;
    return { id: this.serial, more: true, path: searchPath(this.query, { orderId: this.orderId, before: this.nextCursor }) };
  }

  /** The answer `data` to `req`; returns the rows it added, or null when `req` is stale. */
  answer(req, data, userId) {
    if (!req || req.id !== this.serial) return null;
    const seen = new Set(this.rows.map((r) => r.key));
    const added = [];
    for (const r of (data && Array.isArray(data.results)) ? data.results : []) {
      if (!r || typeof r !== 'object') continue;
      const row = resultRow(r, userId);
      if (seen.has(row.key) || row.seq == null) continue;
      seen.add(row.key);
      added.push(row);
    }
    this.rows.push(...added);
    this.nextCursor = data && typeof data.nextCursor === 'string' && data.nextCursor ? data.nextCursor : null;
    this.status = 'done';
    this.loadingMore = false;
    return added;
  }

  /** `req` failed with `err`; returns false when `req` is stale. */
  failed(req, err) {
    if (!req || req.id !== this.serial) return false;
    const text = searchErrorText(err);
    if (req.more) { this.loadingMore = false; this.moreFailed = text; return true; }
    this.status = 'error';
    this.error = text;
    return true;
  }

  /** The status line: "Searching…", "No messages match “…”.", "3 results", the error. */
  summary() {
    if (this.status === 'loading') return 'Searching…';
    if (this.status === 'error') return this.error;
    if (this.status !== 'done') return '';
    const n = this.rows.length;
    if (!n) return `No messages match “${this.query}”.`;
    const words = n === 1 ? '1 result' : `${n} results`;
    if (this.moreFailed) return `${words}. ${this.moreFailed}`;
    return this.nextCursor ? `${words} so far` : words;
  }
}
