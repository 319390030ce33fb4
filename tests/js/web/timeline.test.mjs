// The chat page's state model (web/js/timeline.js) in Node, no browser: the rules the page relies
// on to show every stored message once, in seq order, with the right pending/failed/read state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeline } from '../../../web/js/timeline.js';

const ME = 'cust-1';
const AGENT = 'agent-1';

/** A stored message as the server sends it (PROTOCOL §4), by `from` with this seq. */
function msg(seq, from = AGENT, extra = {}) {
  return {
    id: `m-${seq}`,
    orderId: 'o-1',
    seq,
    senderId: from,
    senderType: from === ME ? 'customer' : 'agent',
    sender: { id: from, name: from === ME ? 'Ada Obi' : 'Tunde Bello' },
    message: `text ${seq}`,
    isRead: false,
    readBy: [],
    createdAt: '2026-11-24T10:15:02.123Z',
    ...extra,
  };
}

const seqs = (t) => t.list().map((m) => m.seq);

test('messages are kept in seq order whatever order they arrive in', () => {
  const t = new Timeline({ userId: ME });
  const r = t.ingest([msg(3), msg(1), msg(5)]);
  assert.deepEqual(r.added.map((m) => m.seq), [3, 1, 5], 'added reports them as given');
  t.ingest([msg(2), msg(4)]);
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5]);
  assert.equal(t.lowestSeq, 1);
  assert.equal(t.highestSeq, 5);
  // Where a message goes: before the smallest stored seq above it.
  assert.equal(t.nextSeqAbove(2), 3);
  assert.equal(t.nextSeqAbove(5), undefined);
  assert.equal(t.at(4).id, 'm-4');
});

test('a repeated message is kept once (same id, or same seq)', () => {
  const t = new Timeline({ userId: ME });
  t.ingest([msg(1), msg(2)]);
  const again = t.ingest([msg(2), { ...msg(2), id: 'other-id-same-seq' }, msg(1)]);
  assert.deepEqual(again.added, []);
  assert.equal(again.addedOthers, false);
  assert.deepEqual(seqs(t), [1, 2]);
  assert.equal(t.size, 2);
  // Not messages at all: ignored, not stored.
  t.ingest([null, { id: 'x' }, { seq: 9 }, 'text']);
  assert.equal(t.size, 2);
});

test('a pending send is confirmed by its ack and shown once', () => {
  const t = new Timeline({ userId: ME });
  const entry = t.addPending('c-1', 'Hello', 1000);
  assert.deepEqual({ ...entry }, { cid: 'c-1', text: 'Hello', state: 'queued', note: null, createdAt: 1000 });
  t.setPendingState('c-1', 'sending');
  assert.deepEqual(t.queued(), [], 'a send in flight is not sent again');

  const stored = msg(1, ME, { clientMessageId: 'c-1', message: 'Hello' });
  const r = t.confirm('c-1', stored);
  assert.deepEqual(r.confirmed.map((c) => c.cid), ['c-1']);
  assert.equal(r.addedOwn, true);
  assert.equal(t.pending.size, 0);
  assert.deepEqual(seqs(t), [1]);

  // The room's new-message of the same message afterwards changes nothing.
  const echo = t.ingest([stored]);
  assert.deepEqual([echo.added.length, echo.confirmed.length], [0, 0]);
});

test('new-message before the ack confirms the send; the late ack adds nothing', () => {
  const t = new Timeline({ userId: ME });
  t.addPending('c-2', 'Hi');
  const stored = msg(1, ME, { clientMessageId: 'c-2' });
  const live = t.ingest([stored]);
  assert.deepEqual(live.confirmed.map((c) => c.cid), ['c-2']);
  const ack = t.confirm('c-2', stored);
  assert.deepEqual([ack.added.length, ack.confirmed.length], [0, 0]);
  assert.equal(t.size, 1);
});

test('an ack whose message lacks the clientMessageId still ends the pending send', () => {
  const t = new Timeline({ userId: ME });
  t.addPending('c-3', 'Hi');
  const r = t.confirm('c-3', msg(1, ME));
  assert.deepEqual(r.confirmed.map((c) => c.cid), ['c-3']);
  assert.equal(t.pending.size, 0);
});

test("someone else's message with my clientMessageId does not confirm my send", () => {
  const t = new Timeline({ userId: ME });
  t.addPending('c-4', 'Hi');
  const r = t.ingest([msg(1, AGENT, { clientMessageId: 'c-4' })]);
  assert.deepEqual(r.confirmed, []);
  assert.equal(t.pending.get('c-4').state, 'queued');
});

test('a failed send stays, is not retried by itself, and can be retried or discarded', () => {
  const t = new Timeline({ userId: ME });
  t.addPending('c-5', 'Too fast');
  t.setPendingState('c-5', 'sending');
  t.setPendingState('c-5', 'failed', 'Not sent (too fast)');
  assert.deepEqual({ state: t.pending.get('c-5').state, note: t.pending.get('c-5').note },
    { state: 'failed', note: 'Not sent (too fast)' });
  assert.deepEqual(t.queued(), [], 'a join does not resend a failed message');
  assert.deepEqual(t.requeue(), [], 'a reconnect does not either');

  t.setPendingState('c-5', 'queued'); // Retry
  assert.deepEqual(t.queued().map((e) => e.cid), ['c-5']);
  assert.equal(t.discard('c-5'), true); // Delete
  assert.equal(t.pending.size, 0);
  assert.equal(t.setPendingState('c-5', 'sending'), null);
});

test('sends in flight when the connection drops go out again after the next join', () => {
  const t = new Timeline({ userId: ME });
  t.addPending('a', 'one');
  t.addPending('b', 'two');
  t.setPendingState('a', 'sending');
  assert.deepEqual(t.requeue().map((e) => e.cid), ['a']);
  assert.deepEqual(t.queued().map((e) => e.cid), ['a', 'b'], 'in the order they were written');
});

test('read receipts: ✓ until another participant read it, then ✓✓ with their names', () => {
  const t = new Timeline({ userId: ME });
  t.applyJoin({
    participants: [{ id: ME, name: 'Ada Obi' }, { id: AGENT, name: 'Tunde Bello' }],
    reads: { [ME]: 2, [AGENT]: 1 },
    messages: [msg(1, ME), msg(2, ME)],
  });
  assert.deepEqual(t.receipt(t.at(1)), { state: 'read', readers: ['Tunde Bello'] });
  assert.deepEqual(t.receipt(t.at(2)), { state: 'sent', readers: [] }, 'my own marker is not a receipt');

  assert.equal(t.setRead(AGENT, 2), true);
  assert.equal(t.receipt(t.at(2)).state, 'read');
  assert.equal(t.setRead(AGENT, 1), false, 'a marker never moves back');
  assert.equal(t.reads.get(AGENT), 2);
  // The server's isRead counts too (a reader we have no marker for).
  assert.equal(t.receipt(msg(3, ME, { isRead: true })).state, 'read');
});

test('marking read: only when someone else wrote something unmarked, then up to the newest', () => {
  const t = new Timeline({ userId: ME });
  t.applyJoin({ messages: [msg(1, ME)], reads: {} });
  assert.equal(t.takeReadMark(), null, 'nothing from others yet');

  t.ingest([msg(2, AGENT), msg(3, ME)]);
  assert.equal(t.takeReadMark(), 3);
  assert.equal(t.takeReadMark(), null, 'asked once, not again while the ack is out');

  t.readMarked(3, null); // the mark failed: ask again next time
  assert.equal(t.takeReadMark(), 3);
  t.readMarked(3, 3);
  assert.equal(t.myReadSeq, 3);
  assert.equal(t.takeReadMark(), null);
  t.ingest([msg(4, ME)]);
  assert.equal(t.takeReadMark(), null, 'my own new message needs no mark');
});

test('catch-up after a reconnect: since = newest seq, overlapping pages merge without duplicates', () => {
  const t = new Timeline({ userId: ME });
  assert.deepEqual(t.joinPayload('o-1', 200), { orderId: 'o-1' }, 'the first join has no since');
  t.applyJoin({ messages: [msg(1), msg(2), msg(3)], hasMore: false });
  assert.equal(t.hasMoreOlder, false);
  assert.deepEqual(t.joinPayload('o-1', 200), { orderId: 'o-1', since: 3, limit: 200 });

  // The re-join returns what came since; its hasMore means "more to catch up", not older history.
  const rejoin = t.applyJoin({ messages: [msg(3), msg(4)], hasMore: true }, { resuming: true });
  assert.equal(rejoin.needsCatchUp, true);
  assert.equal(t.hasMoreOlder, false, 'older history unchanged by a re-join');
  assert.deepEqual(rejoin.added.map((m) => m.seq), [4]);

  // A live message that skips seqs asks for a catch-up; the REST page overlaps the live one.
  assert.equal(t.isGap(msg(7)), true);
  assert.equal(t.isGap(msg(5)), false);
  t.ingest([msg(7)]);
  t.ingest([msg(5), msg(6), msg(7)]);
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(t.applyJoin({ messages: [] }, { resuming: true }).needsCatchUp, false);
});

test('hasMore: older pages until the server says there are none', () => {
  const t = new Timeline({ userId: ME });
  t.applyJoin({ messages: [msg(51), msg(52)], hasMore: true });
  assert.equal(t.hasMoreOlder, true);
  t.applyOlder({ messages: [msg(49), msg(50)], hasMore: true });
  assert.deepEqual(seqs(t), [49, 50, 51, 52]);
  assert.equal(t.hasMoreOlder, true);
  t.applyOlder({ messages: [msg(48)], hasMore: false });
  assert.equal(t.hasMoreOlder, false);

  const u = new Timeline({ userId: ME });
  u.applyJoin({ messages: [msg(1)], hasMore: false });
  assert.equal(u.hasMoreOlder, false);
  u.hasMoreOlder = true;
  u.applyOlder({ messages: [], hasMore: true });
  assert.equal(u.hasMoreOlder, false, 'an empty page ends the paging even if it says more');
});

test('typing and presence of the others', () => {
  const t = new Timeline({ userId: ME });
  t.applyJoin({ participants: [{ id: AGENT, name: 'Tunde Bello', online: false }], messages: [] });
  assert.equal(t.setTyping(ME, 'Ada Obi', true), false, 'my own typing is never shown');
  assert.equal(t.setTyping(AGENT, 'Tunde Bello', true), true);
  assert.equal(t.typingText(), 'Tunde is typing…');
  t.setTyping('agent-2', 'Tunde Okoro', true);
  assert.equal(t.typingText(), 'Tunde Bello and Tunde Okoro are typing…', 'full names when first names clash');
  t.setTyping('agent-3', 'Bola', true);
  assert.equal(t.typingText(), '3 people are typing…');

  assert.equal(t.presence({ userId: ME }, true), null, 'my own presence is no news');
  assert.deepEqual(t.presence({ userId: AGENT, name: 'Tunde Bello' }, true), { id: AGENT, name: 'Tunde Bello' });
  assert.equal(t.participants.get(AGENT).online, true);
  t.presence({ userId: AGENT }, false);
  assert.equal(t.participants.get(AGENT).online, false);
  assert.equal(t.typingText(), 'Tunde and Bola are typing…', 'who left stops typing');
  assert.deepEqual(t.others().map((p) => p.id), [AGENT], 'typing does not make a participant');
});

test('own messages are told apart by sender id; system messages are never own', () => {
  const t = new Timeline({ userId: ME });
  assert.equal(t.isOwn(msg(1, ME)), true);
  assert.equal(t.isOwn(msg(2, AGENT)), false);
  assert.equal(t.isOwn({ ...msg(3, ME), senderType: 'system' }), false);
  const r = t.ingest([msg(1, ME), msg(2, AGENT)]);
  assert.deepEqual([r.addedOwn, r.addedOthers], [true, true]);
  assert.equal(t.highestOtherSeq, 2);
  assert.equal(new Timeline().isOwn(msg(1, ME)), false, 'no user yet: nothing is own');
});
