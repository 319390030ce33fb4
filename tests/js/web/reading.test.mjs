// What the reader has seen (web/js/reading.js) in Node, no browser: the read marker moves only
// over messages that were on screen while the tab was visible and focused, in order; the unread
// divider on opening a chat; "N new" in the tab title; presence while disconnected; and the
// composer's counter and blank/too-long rule (web/js/format.js composerState).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeline } from '../../../web/js/timeline.js';
import { ReadTracker, unreadDivider, dividerText, tabTitle, presenceState } from '../../../web/js/reading.js';
import { composerState, MAX_CHARS } from '../../../web/js/format.js';

const ME = 'cust-1';
const AGENT = 'agent-1';

function msg(seq, from = AGENT, extra = {}) {
  return {
    id: `m-${seq}`, orderId: 'o-1', seq, senderId: from, senderType: from === ME ? 'customer' : 'agent',
    sender: { id: from, name: from === ME ? 'Ada Obi' : 'Tunde Bello' }, message: `text ${seq}`,
    createdAt: '2026-11-24T10:15:02.123Z', rev: seq,
  };
}

/** A timeline joined with these messages (`from` per seq) and the user's marker at `read`. */
function joined(froms, { read = 0, hasMore = false, first = 1 } = {}) {
  const t = new Timeline({ userId: ME });
  t.applyJoin({ messages: froms.map((f, i) => msg(first + i, f)), hasMore, reads: read ? { [ME]: read } : {}, participants: [], rev: 0 });
  return t;
}

test('nothing is marked read while the tab is not visible and focused, even what is on screen', () => {
  const t = joined([AGENT, AGENT]);
  const r = new ReadTracker();
  assert.equal(r.shown(1, true), false, 'on screen, but the reader is not there');
  assert.equal(r.shown(2, true), false);
  assert.equal(r.take(t), null);
  assert.equal(r.newCount(t), 2);
  assert.equal(r.setActive(true), true, 'coming back sees what is on screen');
  assert.equal(r.take(t), 2);
  assert.equal(t.readSent, 2, 'counts as asked for');
  assert.equal(r.take(t), null, 'asked once');
});

test('the marker moves in order: an unseen message stops it, own and deleted ones do not', () => {
  const t = joined([AGENT, ME, AGENT, AGENT, AGENT]);
  t.ingest([{ ...msg(4), deleted: true, message: '', rev: 10 }], { changes: true });
  const r = new ReadTracker();
  r.setActive(true);
  r.shown(1, true);
  r.shown(5, true); // the newest is on screen; 3 never was
  assert.deepEqual(r.markable(t), { upTo: 2, others: true }, '1 seen, 2 own; 3 unseen stops it');
  assert.equal(r.take(t), 2);
  r.shown(3, true);
  assert.deepEqual(r.markable(t), { upTo: 5, others: true }, '3 seen, 4 deleted, 5 seen');
  assert.equal(r.take(t), 5);
});

test('a message that left the screen was still seen; one shown while away is seen on return', () => {
  const t = joined([AGENT, AGENT, AGENT]);
  const r = new ReadTracker();
  r.setActive(true);
  assert.equal(r.shown(1, true), true);
  r.shown(1, false);
  r.setActive(false); // another window took the focus
  r.shown(2, true);
  r.shown(3, true);
  r.shown(3, false); // scrolled away again while unfocused: never seen
  assert.equal(r.take(t), null, 'not while away');
  r.setActive(true);
  assert.equal(r.take(t), 2, 'only 2 was on screen on return');
  t.readMarked(2, 2);
  assert.equal(r.newCount(t), 1, '3 is still to be seen');
});

test('only own messages above the marker: nothing worth marking', () => {
  const t = joined([AGENT, ME, ME], { read: 1 });
  const r = new ReadTracker();
  r.setActive(true);
  assert.deepEqual(r.markable(t), { upTo: 3, others: false });
  assert.equal(r.take(t), null);
  assert.equal(r.newCount(t), 0);
});

test('messages not loaded (a gap below the loaded range) are not seen', () => {
  const t = joined([AGENT, AGENT], { first: 51, hasMore: true, read: 10 });
  const r = new ReadTracker();
  r.setActive(true);
  r.shown(51, true);
  r.shown(52, true);
  assert.equal(r.take(t), null, '11..50 were never shown');
  t.applyOlder({ messages: Array.from({ length: 40 }, (_, i) => msg(11 + i)), hasMore: true });
  for (let s = 11; s <= 50; s++) r.shown(s, true);
  assert.equal(r.take(t), 52);
});

test('the title counts the messages of others above the marker not seen yet', () => {
  const t = joined([AGENT, ME, AGENT, AGENT], { read: 1 });
  const r = new ReadTracker();
  assert.equal(r.newCount(t), 2, '3 and 4 (2 is own)');
  r.setActive(true);
  r.shown(3, true);
  assert.equal(r.newCount(t), 1);
  t.setRead(ME, 4); // read in another tab
  assert.equal(r.newCount(t), 0);
  assert.equal(tabTitle('Order B2S-7F3KQ', 0), 'Order B2S-7F3KQ · Chat');
  assert.equal(tabTitle('Order B2S-7F3KQ', 3), '3 new · Order B2S-7F3KQ · Chat');
  assert.equal(tabTitle('Order B2S-7F3KQ', 250), '99+ new · Order B2S-7F3KQ · Chat');
});

test('the unread divider: before the first unread message of others, once it is loaded', () => {
  assert.equal(unreadDivider(joined([AGENT, AGENT], { read: 2 })), null, 'all read');
  assert.equal(unreadDivider(joined([AGENT, ME, ME], { read: 1 })), null, 'only own messages since');
  assert.deepEqual(unreadDivider(joined([AGENT, ME, AGENT, AGENT], { read: 1 })), { seq: 3, count: 2, loaded: true });
  assert.deepEqual(unreadDivider(joined([AGENT, AGENT, AGENT])), { seq: 1, count: 3, loaded: true }, 'never read anything');
  // 60 unread, the latest 50 loaded: older pages must bring the first one.
  const t = joined(Array(50).fill(AGENT), { first: 11, hasMore: true, read: 0 });
  assert.equal(unreadDivider(t).loaded, false);
  t.applyOlder({ messages: Array.from({ length: 10 }, (_, i) => msg(1 + i)), hasMore: false });
  assert.deepEqual(unreadDivider(t), { seq: 1, count: 60, loaded: true });
  // With the marker it had when the chat opened (it moves on as the reader reads).
  assert.deepEqual(unreadDivider(t, 55), { seq: 56, count: 5, loaded: true });
  assert.equal(dividerText(1), '1 unread message');
  assert.equal(dividerText(12), '12 unread messages');
});

test('"online" only while our own connection is up', () => {
  assert.equal(presenceState({ online: true }, true), 'online');
  assert.equal(presenceState({ online: false }, true), 'offline');
  assert.equal(presenceState({ online: true }, false), 'unknown');
  assert.equal(presenceState({ online: false }, false), 'unknown');
});

test('the composer: blank text cannot be sent; a counter as the 4,000 characters near; over is refused', () => {
  assert.deepEqual(composerState(''), { blank: true, chars: 0, over: false, counter: '' });
  assert.equal(composerState('  \n\t ').blank, true);
  assert.deepEqual(composerState('hello'), { blank: false, chars: 5, over: false, counter: '' });
  assert.equal(composerState('x'.repeat(3499)).counter, '');
  assert.equal(composerState('x'.repeat(3500)).counter, '500 characters left');
  assert.equal(composerState('x'.repeat(3999)).counter, '1 character left');
  assert.deepEqual(composerState('x'.repeat(MAX_CHARS)), { blank: false, chars: 4000, over: false, counter: '0 characters left' });
  assert.deepEqual(composerState('x'.repeat(4001)), { blank: false, chars: 4001, over: true, counter: '1 character too many' });
  assert.equal(composerState('x'.repeat(5234)).counter, '1,234 characters too many');
  // Characters as the server counts them: an emoji is one, surrounding blanks are trimmed.
  assert.equal(composerState('😀'.repeat(4000)).over, false);
  assert.equal(composerState('  ' + '😀'.repeat(4000) + '  ').chars, 4000);
  assert.equal(composerState('😀'.repeat(4001)).over, true);
});
