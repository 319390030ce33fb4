/*
 * The chat's state, without the DOM: the stored messages of one order by seq, the sends still
 * waiting for their ack, read markers, participants and their presence, who is typing, and
 * whether older history exists. The page renders from it; `node --test` checks it
 * (tests/js/web/timeline.test.mjs).
 *
 * A message is kept once: by id and by seq (PROTOCOL §4: seq is gapless and never reused), so a
 * message that arrives twice (its own ack and `new-message`, a catch-up overlapping the live
 * stream) is shown once.
 */
import { firstName } from './format.js';

export class Timeline {
  /** @param {{userId?: string|null}} o the signed-in user (tells own messages apart) */
  constructor(o = {}) {
    this.userId = o.userId ? String(o.userId) : null;
    this.messages = new Map(); // id -> message
    this.seqs = []; // stored seqs, ascending
    this.bySeq = new Map(); // seq -> message
    this.pending = new Map(); // clientMessageId -> {cid, text, state, note, createdAt}
    this.reads = new Map(); // userId -> lastReadSeq
    this.participants = new Map(); // userId -> {id, name, type, online}
    this.typers = new Map(); // userId -> name
    this.highestSeq = 0;
    this.highestOtherSeq = 0; // newest message written by someone else
    this.hasMoreOlder = false;
    this.myReadSeq = 0;
    this.readSent = 0; // the highest mark asked for (acked or not)
  }

  isOwn(m) {
    return this.userId != null && String(m.senderId) === this.userId && m.senderType !== 'system';
  }

  get size() { return this.seqs.length; }
  get lowestSeq() { return this.seqs.length ? this.seqs[0] : undefined; }
  get(id) { return this.messages.get(String(id)); }
  at(seq) { return this.bySeq.get(seq); }
  /** The stored messages, oldest first. */
  list() { return this.seqs.map((s) => this.bySeq.get(s)); }

  /** The smallest stored seq above `seq` (where a message with `seq` goes before), if any. */
  nextSeqAbove(seq) {
    const i = this.indexAbove(seq);
    return this.seqs[i] === seq ? this.seqs[i + 1] : this.seqs[i];
  }

  indexAbove(seq) {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid] < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** A live message that skips seqs we have not seen: the page must catch up. */
  isGap(m) {
    return this.highestSeq > 0 && typeof m.seq === 'number' && m.seq > this.highestSeq + 1;
  }

  /**
   * Take messages from anywhere (join ack, new-message, ack of a send, a history page). Returns
   * the messages that were new, in the order given; `confirmed` lists own pending sends that a
   * message answered (by clientMessageId), which are no longer pending.
   */
  ingest(list) {
    const added = [];
    const confirmed = [];
    let addedOwn = false;
    let addedOthers = false;
    for (const m of list || []) {
      if (!m || typeof m !== 'object' || typeof m.seq !== 'number' || m.id == null) continue;
      const own = this.isOwn(m);
      if (own && m.clientMessageId && this.pending.has(m.clientMessageId)) {
        this.pending.delete(m.clientMessageId);
        confirmed.push({ cid: m.clientMessageId, message: m });
      }
      if (this.messages.has(String(m.id)) || this.bySeq.has(m.seq)) continue;
      this.messages.set(String(m.id), m);
      this.seqs.splice(this.indexAbove(m.seq), 0, m.seq);
      this.bySeq.set(m.seq, m);
      added.push(m);
      if (own) addedOwn = true; else addedOthers = true;
      if (m.seq > this.highestSeq) this.highestSeq = m.seq;
      if (!own && m.seq > this.highestOtherSeq) this.highestOtherSeq = m.seq;
    }
    return { added, confirmed, addedOwn, addedOthers };
  }

  /**
   * The join ack (PROTOCOL §3): participants, read markers, the messages. A first join sets
   * whether older history exists; a re-join with `since` returns newer messages, whose
   * `hasMore` means "more to catch up" instead.
   */
  applyJoin(data, { resuming = false } = {}) {
    if (Array.isArray(data.participants)) {
      this.participants.clear();
      for (const p of data.participants) if (p && p.id != null) this.participants.set(String(p.id), p);
    }
    if (data.reads && typeof data.reads === 'object') {
      for (const [user, seq] of Object.entries(data.reads)) this.setRead(user, seq);
    }
    this.readSent = this.myReadSeq;
    if (!resuming) this.hasMoreOlder = !!data.hasMore;
    const result = this.ingest(Array.isArray(data.messages) ? data.messages : []);
    result.needsCatchUp = !!(resuming && data.hasMore);
    return result;
  }

  /** A page of older history (`before=` the lowest seq). */
  applyOlder(data) {
    const messages = (data && data.messages) || [];
    const result = this.ingest(messages);
    this.hasMoreOlder = !!(data && data.hasMore) && messages.length > 0;
    return result;
  }

  /** The `since` of a re-join: ask only for what came after the newest message we have. */
  joinPayload(orderId, limit) {
    const payload = { orderId };
    if (this.highestSeq > 0) {
      payload.since = this.highestSeq;
      payload.limit = limit;
    }
    return payload;
  }

  // ---- sends waiting for their ack -----------------------------------------------------------

  addPending(cid, text, now = Date.now()) {
    const entry = { cid, text, state: 'queued', note: null, createdAt: now };
    this.pending.set(cid, entry);
    return entry;
  }

  /** `queued` (waiting for a connection), `sending` (emitted, no ack yet) or `failed`. */
  setPendingState(cid, state, note = null) {
    const entry = this.pending.get(cid);
    if (!entry) return null;
    entry.state = state;
    entry.note = note;
    return entry;
  }

  /** The ack of a send: the stored message replaces the pending one (also without its cid). */
  confirm(cid, message) {
    const result = this.ingest([message]);
    const wasPending = this.pending.delete(cid);
    if (wasPending && !result.confirmed.some((c) => c.cid === cid)) result.confirmed.push({ cid, message });
    return result;
  }

  discard(cid) { return this.pending.delete(cid); }

  /** Sends to go out now (after a join). */
  queued() { return [...this.pending.values()].filter((e) => e.state === 'queued'); }

  /** The connection dropped: what was in flight goes out again after the next join. */
  requeue() {
    const changed = [];
    for (const e of this.pending.values()) if (e.state === 'sending') { e.state = 'queued'; changed.push(e); }
    return changed;
  }

  // ---- read receipts -------------------------------------------------------------------------

  /** A read marker moves forward only. Returns whether it moved. */
  setRead(userId, seq) {
    const n = Number(seq);
    if (!Number.isFinite(n)) return false;
    const key = String(userId);
    const moved = (this.reads.get(key) || 0) < n;
    if (moved) this.reads.set(key, n);
    if (key === this.userId && n > this.myReadSeq) this.myReadSeq = n;
    return moved;
  }

  isReadByOthers(m) {
    if (m.isRead) return true;
    for (const [user, seq] of this.reads) if (user !== this.userId && seq >= m.seq) return true;
    return false;
  }

  /** The names of the others who have read up to `seq`. */
  readersOf(seq) {
    const names = [];
    for (const [user, s] of this.reads) {
      if (user === this.userId || s < seq) continue;
      const p = this.participants.get(user);
      names.push(p && p.name ? p.name : user);
    }
    return names;
  }

  /** ✓ or ✓✓ of an own message: `{state: 'sent'|'read', readers}`. */
  receipt(m) {
    return this.isReadByOthers(m) ? { state: 'read', readers: this.readersOf(m.seq) } : { state: 'sent', readers: [] };
  }

  /**
   * The seq to mark read up to, or null: only when someone else wrote something not marked yet
   * (our own messages are read by definition); then up to the newest. Counts as asked for.
   */
  takeReadMark() {
    const upTo = this.highestSeq;
    const mark = Math.max(this.myReadSeq, this.readSent);
    if (this.highestOtherSeq <= mark || upTo <= mark) return null;
    this.readSent = upTo;
    return upTo;
  }

  /** The answer to a mark: the server's lastReadSeq, or null when it failed (ask again later). */
  readMarked(upTo, lastReadSeq) {
    if (lastReadSeq == null) {
      if (this.readSent === upTo) this.readSent = this.myReadSeq;
      return;
    }
    if (this.userId) this.setRead(this.userId, lastReadSeq);
    else this.myReadSeq = Math.max(this.myReadSeq, lastReadSeq);
  }

  // ---- people --------------------------------------------------------------------------------

  /** The other participants, for the header. */
  others() {
    return [...this.participants.values()].filter((p) => String(p.id) !== this.userId);
  }

  /** `user-joined` / `user-left` of someone else: returns `{id, name}`, or null for our own. */
  presence(p, online) {
    const id = String(p.userId != null ? p.userId : p.id);
    if (id === this.userId) return null;
    const known = this.participants.get(id) || { id, name: p.name, type: p.type };
    known.online = online;
    if (p.name) known.name = p.name;
    this.participants.set(id, known);
    if (!online) this.typers.delete(id);
    return { id, name: p.name || known.name || 'Someone' };
  }

  /** Someone else started or stopped typing. Returns whether the indicator changed. */
  setTyping(id, name, isTyping) {
    const key = String(id);
    if (key === this.userId) return false;
    if (!isTyping) return this.typers.delete(key);
    const shown = name || (this.participants.get(key) || {}).name || 'Someone';
    const changed = this.typers.get(key) !== shown;
    this.typers.set(key, shown);
    return changed;
  }

  clearTyping() { this.typers.clear(); }

  /** "Ada is typing…", "Ada and Tunde are typing…", "3 people are typing…", or ''. */
  typingText() {
    const names = [...this.typers.values()];
    const firsts = names.map(firstName);
    const shown = new Set(firsts).size === firsts.length ? firsts : names;
    if (shown.length === 1) return `${shown[0]} is typing…`;
    if (shown.length === 2) return `${shown[0]} and ${shown[1]} are typing…`;
    if (shown.length > 2) return `${shown.length} people are typing…`;
    return '';
  }
}
