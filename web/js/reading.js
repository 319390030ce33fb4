/*
 * What the reader has actually seen, without the DOM (PROTOCOL §15: "the page marks read what
 * was shown"): which messages were on screen while the tab was visible and focused, how far the
 * read marker may move (in order: only over messages seen, or one's own, with none missing in
 * between), where the unread divider goes on opening a chat, and the "N new" of the tab title.
 * It reads a Timeline (timeline.js); reader.js feeds it from an IntersectionObserver. Node
 * imports it too (tests/js/web/reading.test.mjs).
 */

/** Whether a message needs to be seen before the marker may move over it. */
function needsSight(t, m) {
  return !t.isOwn(m) && !m.deleted;
}

export class ReadTracker {
  constructor() {
    this.seen = new Set(); // seqs that were on screen while the reader was there
    this.onScreen = new Set(); // seqs on screen now (seen or not: the tab may be hidden)
    this.active = false; // the tab is visible and focused
  }

  /** The tab became visible and focused (or not). Returns whether anything new was seen. */
  setActive(active) {
    this.active = !!active;
    if (!this.active) return false;
    let any = false;
    for (const s of this.onScreen) if (!this.seen.has(s)) { this.seen.add(s); any = true; }
    return any;
  }

  /** A message came on screen (or left it). Returns whether it was seen just now. */
  shown(seq, isShown) {
    if (!isShown) { this.onScreen.delete(seq); return false; }
    this.onScreen.add(seq);
    if (!this.active || this.seen.has(seq)) return false;
    this.seen.add(seq);
    return true;
  }

  /**
   * The highest seq the marker may move to: from the current mark up through consecutive loaded
   * messages that were seen, are one's own or deleted. `{upTo, others}`: `others` tells whether
   * someone else's message is among them (only then is marking worth a request).
   */
  markable(t) {
    let upTo = Math.max(t.myReadSeq, t.readSent);
    let others = false;
    for (let i = t.indexAbove(upTo + 1); i < t.seqs.length; i++) {
      const seq = t.seqs[i];
      if (seq !== upTo + 1) break; // not loaded: not seen
      const m = t.at(seq);
      if (needsSight(t, m) && !this.seen.has(seq)) break;
      if (!t.isOwn(m)) others = true;
      upTo = seq;
    }
    return { upTo, others };
  }

  /** The seq to mark read up to now, or null; counts as asked for (like Timeline.takeReadMark). */
  take(t) {
    if (!this.active) return null;
    const { upTo, others } = this.markable(t);
    if (!others || upTo <= Math.max(t.myReadSeq, t.readSent)) return null;
    t.readSent = upTo;
    return upTo;
  }

  /** Messages of others above the marker that the reader has not seen: the title's "N new". */
  newCount(t) {
    const mark = t.myReadSeq;
    let n = 0;
    for (let i = t.indexAbove(mark + 1); i < t.seqs.length; i++) {
      const seq = t.seqs[i];
      if (needsSight(t, t.at(seq)) && !this.seen.has(seq)) n += 1;
    }
    return n;
  }
}

/**
 * Where the unread divider goes when a chat opens: before the first message of someone else
 * above the reader's marker `mark` (as it was then). `{seq, count, loaded}`, or null when
 * nothing is unread; `loaded` false while the first unread is older than the loaded range
 * (older pages bring it).
 */
export function unreadDivider(t, mark = t.myReadSeq) {
  if (t.highestOtherSeq <= mark) return null;
  let seq = null;
  let count = 0;
  for (let i = t.indexAbove(mark + 1); i < t.seqs.length; i++) {
    const m = t.at(t.seqs[i]);
    if (!needsSight(t, m)) continue;
    if (seq == null) seq = m.seq;
    count += 1;
  }
  if (seq == null) return null;
  const loaded = !t.hasMoreOlder || t.lowestSeq <= mark + 1;
  return { seq, count, loaded };
}

/** "1 unread message", "12 unread messages". */
export function dividerText(count) {
  return count === 1 ? '1 unread message' : `${count} unread messages`;
}

/** The tab's title: "3 new · Order B2S-7F3KQ · Chat". */
export function tabTitle(name, newCount) {
  return (newCount > 0 ? `${newCount > 99 ? '99+' : newCount} new · ` : '') + name + ' · Chat';
}

/** A participant's state in the header: 'online' / 'offline', or 'unknown' while we are not connected. */
export function presenceState(p, connected) {
  if (!connected) return 'unknown';
  return p && p.online ? 'online' : 'offline';
}
