// The message lifecycle in the page's model (web/js/timeline.js, web/js/lifecycle.js), in Node:
// edits, deletes and reactions applied by rev from live events and catch-up pages alike (PROTOCOL
// §10), older revs ignored, tombstones, reply quotes that follow their original, and the words the
// page uses for reactions and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeline } from '../../../web/js/timeline.js';
import {
  previewOf, singleEmoji, listNames, reactionSummary, actionErrorText, COMMON_EMOJI,
} from '../../../web/js/lifecycle.js';

const ME = 'cust-1';
const AGENT = 'agent-1';
const PEOPLE = [
  { id: ME, name: 'Ada Obi', type: 'customer', online: true },
  { id: AGENT, name: 'Tunde Bello', type: 'agent', online: true },
];

/** A stored message as the server sends it (PROTOCOL §4, §11); rev defaults to seq. */
function msg(seq, from = AGENT, extra = {}) {
  return {
    id: `m-${seq}`,
    orderId: 'o-1',
    seq,
    rev: seq,
    senderId: from,
    senderType: from === ME ? 'customer' : 'agent',
    sender: { id: from, name: from === ME ? 'Ada Obi' : 'Tunde Bello' },
    message: `text ${seq}`,
    attachments: [],
    isRead: false,
    readBy: [],
    createdAt: '2026-11-24T10:15:02.123Z',
    ...extra,
  };
}

const edited = (m, rev, message) => ({ ...m, rev, message, editedAt: '2026-11-24T10:16:00.000Z' });
const tombstone = (m, rev) => {
  const t = { ...m, rev, message: '', attachments: [], deleted: true, deletedAt: '2026-11-24T10:17:00.000Z', deletedBy: m.senderId };
  delete t.reactions;
  delete t.replyTo;
  delete t.imageUrl;
  return t;
};
const replyTo = (orig, extra = {}) => ({
  id: orig.id, seq: orig.seq, senderId: orig.senderId, senderName: orig.sender.name, preview: orig.message, deleted: false, ...extra,
});

/** A timeline joined to an order with these messages, at the order's rev `rev`. */
function joined(messages, rev, o = {}) {
  const t = new Timeline({ userId: ME });
  t.applyJoin({ participants: PEOPLE, reads: {}, messages, hasMore: !!o.hasMore, rev });
  return t;
}

test('an edit replaces the message by id when its rev is newer; an older or equal rev is ignored', () => {
  const t = joined([msg(1, ME), msg(2)], 2);
  assert.equal(t.rev, 2, 'the join ack says where the order is');

  const r = t.ingest([edited(msg(1, ME), 3, 'text 1, fixed')], { changes: true });
  assert.deepEqual(r.added, []);
  assert.deepEqual(r.updated.map((m) => [m.id, m.rev, m.message]), [['m-1', 3, 'text 1, fixed']]);
  assert.equal(t.get('m-1').editedAt, '2026-11-24T10:16:00.000Z');
  assert.equal(t.at(1).message, 'text 1, fixed', 'by seq too');
  assert.equal(t.rev, 3);

  // The same change again (its ack and the room's event), and a stale state: nothing changes.
  assert.deepEqual(t.ingest([edited(msg(1, ME), 3, 'text 1, fixed')]).updated, []);
  assert.deepEqual(t.ingest([edited(msg(1, ME), 2, 'an older text')]).updated, []);
  assert.deepEqual(t.ingest([msg(1, ME)]).updated, [], 'the original new-message, late');
  assert.equal(t.get('m-1').message, 'text 1, fixed');
  assert.deepEqual(t.list().map((m) => m.seq), [1, 2], 'still each message once');
  assert.equal(t.rev, 3, 'an older rev never moves the mark back');
});

test('a tombstone replaces the content; later changes to it are older or no-ops', () => {
  const withReaction = msg(2, AGENT, { reactions: [{ emoji: '👍', count: 1, userIds: [ME] }] });
  const t = joined([msg(1, ME), withReaction], 2);
  const gone = tombstone(withReaction, 5);
  const r = t.ingest([gone], { changes: true });
  assert.equal(r.updated.length, 1);
  const m = t.get('m-2');
  assert.equal(m.deleted, true);
  assert.equal(m.message, '');
  assert.equal(m.reactions, undefined, 'a tombstone carries no reactions');
  assert.equal(m.seq, 2, 'seq stays');
  // A reaction change from before the delete arriving late is older: the tombstone stays.
  assert.equal(t.applyReaction({ messageId: 'm-2', rev: 4, reactions: [{ emoji: '😂', count: 1, userIds: [ME] }] }), null);
  assert.equal(t.get('m-2').reactions, undefined);
  assert.equal(t.lastEditable().id, 'm-1', 'Arrow-up skips messages of others and deleted ones');
});

test('reactions apply by rev from the event and the ack alike, once', () => {
  const t = joined([msg(1, ME), msg(2)], 2);
  const change = {
    orderId: 'o-1', messageId: 'm-1', seq: 1, rev: 3, emoji: '👍', userId: AGENT, added: true,
    reactions: [{ emoji: '👍', count: 1, userIds: [AGENT] }],
  };
  const m = t.applyReaction(change);
  assert.deepEqual(m.reactions, change.reactions);
  assert.equal(m.rev, 3);
  assert.equal(t.hasReacted(m, '👍'), false);
  assert.equal(t.applyReaction(change), null, 'the same change again (ack after event)');

  // Our own reaction (the ack of add-reaction has {orderId, messageId, rev, reactions}).
  const both = t.applyReaction({ orderId: 'o-1', messageId: 'm-1', rev: 4, reactions: [{ emoji: '👍', count: 2, userIds: [AGENT, ME] }] });
  assert.equal(both.reactions[0].count, 2);
  assert.equal(t.hasReacted(t.get('m-1'), '👍'), true);
  assert.deepEqual(t.reactorNames(both.reactions[0]), ['Tunde Bello', 'You']);
  assert.equal(reactionSummary('👍', t.reactorNames(both.reactions[0])), 'Tunde Bello and you reacted with 👍');

  // Removing the last one leaves no reactions key, as the server sends it.
  const none = t.applyReaction({ messageId: 'm-1', rev: 6, reactions: [] });
  assert.equal('reactions' in none, false);
  // A change of a message that is not loaded: nothing to show, but its rev counts as seen.
  assert.equal(t.applyReaction({ messageId: 'm-99', rev: 7, reactions: [] }), null);
  assert.equal(t.rev, 7);
});

test('a reply quotes its original; the quote follows the original when it is edited or deleted', () => {
  const orig = msg(1, ME, { message: 'Do you have ripe plantains?' });
  const reply = msg(2, AGENT, { message: 'Yes, two bunches', replyTo: replyTo(orig) });
  const t = joined([orig, reply], 2);
  assert.deepEqual(t.quoteOf(orig), { id: 'm-1', seq: 1, senderId: ME, senderName: 'Ada Obi', preview: 'Do you have ripe plantains?', deleted: false });

  const long = 'Do you have ripe plantains, or only green ones? '.repeat(4) + '🍌🍌🍌';
  const r = t.ingest([edited(orig, 3, long)], { changes: true });
  assert.deepEqual(r.updated.map((m) => m.id), ['m-1']);
  assert.deepEqual(r.replies.map((m) => m.id), ['m-2'], 'the reply must be redrawn');
  assert.equal(t.get('m-2').replyTo.preview, previewOf(long));
  assert.equal([...t.get('m-2').replyTo.preview].length, 140, 'cut at 140 characters like the server');
  assert.equal(t.get('m-2').rev, 2, 'the reply itself did not change');

  const d = t.ingest([tombstone(t.get('m-1'), 4)], { changes: true });
  assert.deepEqual(d.replies.map((m) => m.id), ['m-2']);
  assert.equal(t.get('m-2').replyTo.deleted, true);
  assert.equal('preview' in t.get('m-2').replyTo, false, 'no preview once the original is deleted');
  assert.equal(t.get('m-2').replyTo.senderName, 'Ada Obi');
  // Deleting the reply drops its quote (a tombstone has no replyTo); its original changing later touches nothing.
  t.ingest([tombstone(t.get('m-2'), 5)], { changes: true });
  assert.deepEqual(t.ingest([{ ...t.get('m-1'), rev: 6 }], { changes: true }).replies, []);
});

test('a catch-up page by rev brings new, edited, deleted and reacted messages in their current state', () => {
  const t = joined([msg(1, ME), msg(2, ME), msg(3, ME)], 3);
  assert.deepEqual(t.joinPayload('o-1', 200), { orderId: 'o-1', sinceRev: 3, limit: 200 }, 're-join from the highest rev');

  // While offline: m-1 edited (rev 4), m-2 deleted (5), m-3 reacted to (6), m-4 sent (7).
  const page = [
    edited(msg(1, ME), 4, 'edited offline'),
    tombstone(msg(2, ME), 5),
    msg(3, ME, { rev: 6, reactions: [{ emoji: '❤️', count: 1, userIds: [AGENT] }] }),
    msg(4, AGENT, { rev: 7 }),
  ];
  const r = t.applyJoin({ participants: PEOPLE, messages: page, hasMore: false, rev: 7 }, { resuming: true });
  assert.equal(r.needsCatchUp, false);
  assert.deepEqual(r.updated.map((m) => m.id), ['m-1', 'm-2', 'm-3']);
  assert.deepEqual(r.added.map((m) => m.id), ['m-4']);
  assert.deepEqual(t.list().map((m) => [m.seq, m.message, !!m.deleted, (m.reactions || []).length]), [
    [1, 'edited offline', false, 0], [2, '', true, 0], [3, 'text 3', false, 1], [4, 'text 4', false, 0],
  ]);
  assert.equal(t.rev, 7);
  assert.deepEqual(t.joinPayload('o-1', 200), { orderId: 'o-1', sinceRev: 7, limit: 200 });
});

test('a catch-up with more to come continues from the page, not from the order\'s rev', () => {
  const t = joined([msg(1, ME)], 1);
  const r = t.applyJoin({ messages: [msg(2, AGENT), msg(3, AGENT)], hasMore: true, rev: 40 }, { resuming: true });
  assert.equal(r.needsCatchUp, true);
  assert.equal(t.rev, 3, 'not 40: the changes between 3 and 40 are still to fetch');
  const last = t.applyChanges({ messages: [edited(msg(1, ME), 39, 'late edit'), msg(4, AGENT, { rev: 40 })], hasMore: false, rev: 40 });
  assert.deepEqual([last.updated.length, last.added.length], [1, 1]);
  assert.equal(t.rev, 40);
});

test('changes to old messages not loaded yet are not put into the list, but update loaded quotes', () => {
  // Loaded: seq 51-52 of a long chat; 52 replies to 10, which is not loaded.
  const ten = msg(10, ME, { message: 'the list: plantains, rice' });
  const t = joined([msg(51), msg(52, AGENT, { replyTo: replyTo(ten) })], 60, { hasMore: true });
  assert.equal(t.hasMoreOlder, true);
  const r = t.ingest([edited(ten, 61, 'the list: plantains, rice, eggs')], { changes: true });
  assert.deepEqual(r.added, [], 'a hole below the loaded range would break paging by before=');
  assert.deepEqual(t.list().map((m) => m.seq), [51, 52]);
  assert.deepEqual(r.replies.map((m) => m.id), ['m-52']);
  assert.equal(t.get('m-52').replyTo.preview, 'the list: plantains, rice, eggs');
  assert.equal(t.rev, 61);

  // An older page brings it later, in its state then; its rev does not move the mark.
  const older = t.applyOlder({ messages: [edited(ten, 70, 'the list, again')], hasMore: true });
  assert.deepEqual(older.added.map((m) => m.seq), [10]);
  assert.equal(t.rev, 61, 'a history page is not the change stream');
  // Once everything older is loaded (or nothing is), a change of any message is shown.
  const u = joined([], 0);
  assert.deepEqual(u.ingest([msg(1, AGENT)], { changes: true }).added.map((m) => m.seq), [1]);
});

test('a re-join uses since when the server never said a rev, and a plain join when nothing is kept', () => {
  const t = new Timeline({ userId: ME });
  t.applyJoin({ messages: [msg(1, AGENT, { rev: undefined })], hasMore: false });
  assert.equal(t.rev, null);
  assert.deepEqual(t.joinPayload('o-1', 200), { orderId: 'o-1', since: 1, limit: 200 });
  const empty = joined([], 0);
  assert.equal(empty.rev, 0);
  assert.deepEqual(empty.joinPayload('o-1', 200), { orderId: 'o-1' });
});

test('a pending reply keeps the quote it shows; a plain send has none', () => {
  const t = joined([msg(1)], 1);
  const q = t.quoteOf(t.get('m-1'));
  assert.deepEqual(t.addPending('c-1', 'ok', 1000, q).replyTo, q);
  assert.equal('replyTo' in t.addPending('c-2', 'plain', 1000), false);
});

test('words: previews, one emoji, names, errors', () => {
  assert.equal(previewOf('x'.repeat(200)).length, 140);
  assert.equal(previewOf('👍'.repeat(150)), '👍'.repeat(140), 'characters, not UTF-16 units');
  for (const e of [...COMMON_EMOJI, '🦄', '👍🏽', '👨‍👩‍👧', '🇳🇬', '1️⃣']) assert.equal(singleEmoji(` ${e} `), e, e);
  for (const bad of ['', 'a', 'ok', '👍👍', '👍 x', ':)']) assert.equal(singleEmoji(bad), null, bad);
  assert.equal(listNames(['A']), 'A');
  assert.equal(listNames(['A', 'B', 'C']), 'A, B and C');
  assert.equal(listNames(['A', 'B', 'C', 'D'], 2), 'A, B and 2 others');
  assert.equal(reactionSummary('😂', ['You']), 'You reacted with 😂');
  assert.match(actionErrorText('edit', 'EDIT_WINDOW_PASSED'), /can no longer be edited/);
  assert.match(actionErrorText('delete', 'DELETE_WINDOW_PASSED'), /can no longer be deleted/);
  assert.match(actionErrorText('edit', 'FORBIDDEN'), /only edit your own/);
  assert.match(actionErrorText('react', 'LIMIT_EXCEEDED', 'A message may carry at most 20 different emoji'), /^A message may carry at most 20 different emoji\. Remove/);
});
