/*
 * The chat's state, without the DOM: the stored messages of one order by seq, the sends still
 * waiting for their ack, read markers, participants and their presence, who is typing, and
 * whether older history exists. The page renders from it; `node --test` checks it
 * (tests/js/web/timeline.test.mjs).
 *
 * A message is kept once: by id and by seq (PROTOCOL §4: seq is gapless and never reused), so a
 * message that arrives twice (its own ack and `new-message`, a catch-up overlapping the live
 * stream) is shown once, in its newest state: every message carries `rev`, the order's change
 * counter at its latest change (PROTOCOL §10), and a newer rev replaces an older one by id.
 */
import { firstName } from './format.js';
import { replyToOf } from './lifecycle.js';

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
    this.rev = null; // the highest rev seen on the change stream (null: the server never said one)
    this.repliesTo = new Map(); // id of an original -> ids of the loaded replies to it
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
   * Take messages from anywhere (join ack, new-message, ack of a send, a history page, the change
   * stream). A message already kept is replaced when the incoming one has a newer `rev` (an edit,
   * a delete, a reaction; PROTOCOL §10) and ignored otherwise. Returns the messages that were new
   * (`added`, in the order given) and replaced (`updated`), the loaded replies whose quote changed
   * with them (`replies`), and `confirmed`: own pending sends that a message answered (by
   * clientMessageId), which are no longer pending.
   *
   * `o.changes`: the messages are changes (live updates, a catch-up by rev), which may be of old
   * messages not loaded yet; those are not put into the list (older pages bring them, in their
   * state then) but still update the quotes of loaded replies. `o.history`: a page of older
   * history, whose revs do not count as seen (the live stream may not have brought the changes
   * below them yet).
   */
  ingest(list, o = {}) {
    const added = [];
    const updated = [];
    const replies = [];
    const confirmed = [];
    let addedOwn = false;
    let addedOthers = false;
    for (const m of list || []) {
      if (!m || typeof m !== 'object' || typeof m.seq !== 'number' || m.id == null) continue;
      if (!o.history) this.noteRev(m.rev);
      const own = this.isOwn(m);
      if (own && m.clientMessageId && this.pending.has(m.clientMessageId)) {
        this.pending.delete(m.clientMessageId);
        confirmed.push({ cid: m.clientMessageId, message: m });
      }
      const known = this.messages.get(String(m.id));
      if (known) {
        if (isNewer(m, known)) {
          this.put(m);
          updated.push(m);
          this.touchReplies(m, replies);
        }
        continue;
      }
      if (this.bySeq.has(m.seq)) continue;
      if (o.changes && this.hasMoreOlder && this.seqs.length && m.seq < this.seqs[0]) {
        this.touchReplies(m, replies);
        continue;
      }
      this.put(m);
      this.seqs.splice(this.indexAbove(m.seq), 0, m.seq);
      added.push(m);
      this.touchReplies(m, replies);
      if (own) addedOwn = true; else addedOthers = true;
      if (m.seq > this.highestSeq) this.highestSeq = m.seq;
      if (!own && m.seq > this.highestOtherSeq) this.highestOtherSeq = m.seq;
    }
    return { added, updated, replies, confirmed, addedOwn, addedOthers };
  }

  /**
   * The join ack (PROTOCOL §3): participants, read markers, the messages. A first join sets
   * whether older history exists; a re-join with `since` or `sinceRev` returns newer messages
   * (or changed ones), whose `hasMore` means "more to catch up" instead. The ack's `rev` counts
   * as seen unless more changes are still to come.
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
    const result = this.ingest(Array.isArray(data.messages) ? data.messages : [], { changes: resuming });
    result.needsCatchUp = !!(resuming && data.hasMore);
    if (!result.needsCatchUp) this.noteRev(data.rev);
    return result;
  }

  /** A page of older history (`before=` the lowest seq). */
  applyOlder(data) {
    const messages = (data && data.messages) || [];
    const result = this.ingest(messages, { history: true });
    this.hasMoreOlder = !!(data && data.hasMore) && messages.length > 0;
    return result;
  }

  /** A page of the change stream (`GET …/messages?sinceRev=`): like a re-join's messages. */
  applyChanges(data) {
    const result = this.ingest((data && data.messages) || [], { changes: true });
    if (data && !data.hasMore) this.noteRev(data.rev);
    return result;
  }

  /**
   * The payload of a join. A re-join asks only for what changed since the highest rev seen
   * (`sinceRev`, PROTOCOL §10); against a server that never said a rev, for what came after the
   * newest message (`since`).
   */
  joinPayload(orderId, limit) {
    if (this.rev != null && this.size > 0) return { orderId, sinceRev: this.rev, limit };
    if (this.highestSeq > 0) return { orderId, since: this.highestSeq, limit };
    return { orderId };
  }

  // ---- the lifecycle: revs, edits, deletes, reactions, replies (PROTOCOL §10-11) --------------

  /** A rev from the change stream: the highest one is where a re-join continues. */
  noteRev(rev) {
    if (typeof rev === 'number' && Number.isFinite(rev) && (this.rev == null || rev > this.rev)) this.rev = rev;
  }

  /** Keep `m` (new, or the newer state of a kept message) by id and seq, and index its quote. */
  put(m) {
    const id = String(m.id);
    const before = this.messages.get(id);
    const was = before && before.replyTo && before.replyTo.id != null ? String(before.replyTo.id) : null;
    const now = m.replyTo && m.replyTo.id != null ? String(m.replyTo.id) : null;
    if (was && was !== now) this.repliesTo.get(was)?.delete(id);
    if (now) {
      if (!this.repliesTo.has(now)) this.repliesTo.set(now, new Set());
      this.repliesTo.get(now).add(id);
    }
    this.messages.set(id, m);
    this.bySeq.set(m.seq, m);
  }

  /**
   * The original `orig` is now in this state: the loaded replies to it quote its current text
   * (or say it was deleted), as the server would send them now. Pushes the changed replies.
   */
  touchReplies(orig, out) {
    const ids = this.repliesTo.get(String(orig.id));
    if (!ids) return;
    for (const id of ids) {
      const r = this.messages.get(id);
      if (!r || !r.replyTo || r.deleted) continue;
      const next = { ...r.replyTo, ...replyToOf(orig, r.replyTo.senderName) };
      if (orig.deleted) delete next.preview;
      if (next.preview === r.replyTo.preview && next.deleted === r.replyTo.deleted) continue;
      const copy = { ...r, replyTo: next };
      this.put(copy);
      out.push(copy);
    }
  }

  /**
   * `reaction-updated`, or the ack of add-/remove-reaction: `{messageId, rev, reactions}`. Returns
   * the message in its new state, or null (not loaded, or not newer than what is shown).
   */
  applyReaction(p) {
    if (!p || typeof p !== 'object' || p.messageId == null) return null;
    this.noteRev(p.rev);
    const m = this.get(p.messageId);
    if (!m || !isNewer(p, m)) return null;
    const next = { ...m, rev: p.rev };
    if (Array.isArray(p.reactions) && p.reactions.length) next.reactions = p.reactions;
    else delete next.reactions;
    this.put(next);
    return next;
  }

  /** Whether the signed-in user reacted to `m` with `emoji`. */
  hasReacted(m, emoji) {
    const r = (m && m.reactions || []).find((x) => x.emoji === emoji);
    return !!(r && this.userId && (r.userIds || []).map(String).includes(this.userId));
  }

  /** Who reacted, as names: "You" for the signed-in user, names from the participants. */
  reactorNames(reaction) {
    return (reaction.userIds || []).map((u) => {
      const id = String(u);
      if (id === this.userId) return 'You';
      const p = this.participants.get(id);
      return (p && p.name) || id;
    });
  }

  /** The newest own message that can still be changed (not deleted): what Arrow-up edits. */
  lastEditable() {
    for (let i = this.seqs.length - 1; i >= 0; i--) {
      const m = this.bySeq.get(this.seqs[i]);
      if (this.isOwn(m) && !m.deleted) return m;
    }
    return null;
  }

  /** The quote of `m` for a reply to it (the composer, a pending reply). */
  quoteOf(m) {
    return replyToOf(m, m.sender && m.sender.name);
  }

  // ---- sends waiting for their ack -----------------------------------------------------------

  /** A send shown before its ack; `replyTo` (the quote of the message it answers) when a reply. */
  addPending(cid, text, now = Date.now(), replyTo = null) {
    const entry = { cid, text, state: 'queued', note: null, createdAt: now };
    if (replyTo) entry.replyTo = replyTo;
    this.pending.set(cid, entry);
    return entry;
  }

  /** `queued` (waiting for a connection), `sending` (emitted, no ack yet) or `failed`. */
  setPendingState(cid, state, note = null) {
    const entry = this.pending.get(cid);
    if (!entry) return null;
    entry.state = state;
    entry.note = note;
    if (state === 'sending') entry.emitted = true; // the server may have it (draftToKeep)
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

/** Whether `m` (a message, or a reaction change) is a newer state than `known`, by rev. */
function isNewer(m, known) {
  if (typeof m.rev !== 'number') return false;
  return typeof known.rev !== 'number' || m.rev > known.rev;
}
