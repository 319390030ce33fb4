// Exact payload shapes of PROTOCOL.md sections 3–5, 10 and 11: every field present, of the right
// type, and nothing else. Each assert takes the payload and the values the test expects.
import assert from 'node:assert/strict';

/** UTC RFC 3339 with milliseconds, e.g. 2026-11-24T10:15:02.123Z. */
export const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function assertTime(v, what = 'time') {
  assert.equal(typeof v, 'string', `${what} is a string`);
  assert.match(v, TIME, `${what} is RFC 3339 UTC with milliseconds`);
  assert.ok(!Number.isNaN(Date.parse(v)), `${what} parses`);
}

/** The time is within `slackMs` of now (the server's clock is this machine's). */
export function assertRecent(v, what = 'time', slackMs = 60000) {
  assertTime(v, what);
  assert.ok(Math.abs(Date.parse(v) - Date.now()) < slackMs, `${what} ${v} is recent`);
}

export const keys = (o) => Object.keys(o).sort();

export function assertKeys(o, expected, what = 'payload') {
  assert.ok(o !== null && typeof o === 'object' && !Array.isArray(o), `${what} is an object: ${JSON.stringify(o)}`);
  assert.deepEqual(keys(o), [...expected].sort(), `${what} has exactly the fields ${expected}: ${JSON.stringify(o)}`);
}

const MESSAGE_KEYS = ['id', 'orderId', 'seq', 'senderId', 'senderType', 'sender', 'message', 'attachments',
  'isRead', 'readBy', 'createdAt', 'updatedAt', 'rev'];

/** A `rev` (section 10): a non-negative integer; `min` when it must be at least that. */
export function assertRev(v, what = 'rev', min = 0) {
  assert.ok(Number.isInteger(v) && v >= min, `${what} is an integer >= ${min}: ${JSON.stringify(v)}`);
}

/**
 * A message (sections 4 and 11). `e` holds the expected values: orderId, seq, sender ({id, name,
 * type, displayImage?}), message, imageUrl?, clientMessageId?, isRead? (default false), readBy?
 * (default []), attachments? (default []), id? (when known), rev? (when known; else any rev >= 1),
 * replyTo? ({id, seq, senderId, senderName, preview?, deleted}: the key is expected exactly when
 * given), editedAt? (true: any recent time; a string: that time; absent: no editedAt key),
 * reactions? (the list; absent or []: no reactions key).
 */
export function assertMessage(m, e) {
  const expectedKeys = [...MESSAGE_KEYS];
  if (e.imageUrl !== undefined) expectedKeys.push('imageUrl');
  if (e.clientMessageId !== undefined) expectedKeys.push('clientMessageId');
  if (e.replyTo !== undefined) expectedKeys.push('replyTo');
  if (e.editedAt !== undefined) expectedKeys.push('editedAt');
  if (e.reactions !== undefined && e.reactions.length > 0) expectedKeys.push('reactions');
  assertKeys(m, expectedKeys, 'message');
  assert.equal(typeof m.id, 'string');
  assert.ok(m.id.length > 0, 'message id is not empty');
  if (e.id !== undefined) assert.equal(m.id, e.id);
  assert.equal(m.orderId, e.orderId);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `seq is a positive integer: ${m.seq}`);
  if (e.seq !== undefined) assert.equal(m.seq, e.seq);
  assert.equal(m.senderId, e.sender.id);
  assert.equal(m.senderType, e.sender.type);
  assertKeys(m.sender, ['id', 'name', 'displayImage', 'type'], 'message.sender');
  assert.deepEqual(m.sender, {
    id: e.sender.id,
    name: e.sender.name,
    displayImage: e.sender.displayImage ?? null,
    type: e.sender.type,
  });
  assert.equal(m.message, e.message);
  if (e.imageUrl !== undefined) assert.equal(m.imageUrl, e.imageUrl);
  if (e.clientMessageId !== undefined) assert.equal(m.clientMessageId, e.clientMessageId);
  assert.ok(Array.isArray(m.attachments), 'attachments is an array');
  assert.deepEqual(m.attachments, e.attachments ?? []);
  assert.equal(m.isRead, e.isRead ?? false);
  assert.deepEqual([...m.readBy].sort(), [...(e.readBy ?? [])].sort());
  assertRecent(m.createdAt, 'createdAt');
  assertRecent(m.updatedAt, 'updatedAt');
  assert.ok(Date.parse(m.updatedAt) >= Date.parse(m.createdAt), 'updatedAt >= createdAt');
  assertRev(m.rev, 'message rev', 1);
  if (e.rev !== undefined) assert.equal(m.rev, e.rev, 'message rev');
  if (e.replyTo !== undefined) assertReplyTo(m.replyTo, e.replyTo);
  if (e.editedAt !== undefined) {
    assertRecent(m.editedAt, 'editedAt');
    if (typeof e.editedAt === 'string') assert.equal(m.editedAt, e.editedAt);
    assert.ok(Date.parse(m.editedAt) >= Date.parse(m.createdAt), 'editedAt >= createdAt');
  }
  if (e.reactions !== undefined && e.reactions.length > 0) assertReactionList(m.reactions, e.reactions);
}

/**
 * A message's `replyTo` (section 11): {id, seq, senderId, senderName, preview, deleted}; a deleted
 * original has `deleted: true` and no `preview` key. `e` holds the expected values (`preview`
 * ignored when `deleted`).
 */
export function assertReplyTo(r, e) {
  const expected = ['id', 'seq', 'senderId', 'senderName', 'deleted'];
  if (!e.deleted) expected.push('preview');
  assertKeys(r, expected, 'replyTo');
  const want = { id: e.id, seq: e.seq, senderId: e.senderId, senderName: e.senderName, deleted: !!e.deleted };
  if (!e.deleted) want.preview = e.preview;
  assert.deepEqual(r, want, 'replyTo');
}

/** A reply quote of `original` (a message as rendered) with the given preview (none when deleted). */
export const quoteOf = (original, preview, deleted = false) => ({
  id: original.id, seq: original.seq, senderId: original.senderId, senderName: original.sender.name,
  deleted, ...(deleted ? {} : { preview }),
});

/** A `reactions` list: [{emoji, count, userIds}], in this order, count = userIds.length. */
export function assertReactionList(list, expected) {
  assert.ok(Array.isArray(list), `reactions is an array: ${JSON.stringify(list)}`);
  for (const r of list) {
    assertKeys(r, ['emoji', 'count', 'userIds'], 'reaction');
    assert.equal(r.count, r.userIds.length, `count equals userIds.length: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(list, expected, 'reactions');
}

/** The expected reactions list from [[emoji, [userIds…]], …]. */
export const reactionList = (pairs) => pairs.map(([emoji, userIds]) => ({ emoji, count: userIds.length, userIds }));

/**
 * A tombstone (section 11): the message's identity kept (`e.id`, `e.seq`, `e.orderId`, `e.sender`),
 * `message: ""`, `attachments: []`, `deleted: true`, `deletedAt`, `deletedBy` (`e.deletedBy`), no
 * `imageUrl`, no `reactions`, no `replyTo`; `editedAt` / `clientMessageId` only when `e` says so.
 * `e.rev` when known. `e.secrets`: strings (the deleted text, the quoted text) that must appear
 * nowhere in it.
 */
export function assertTombstone(m, e) {
  const expectedKeys = [...MESSAGE_KEYS, 'deleted', 'deletedAt', 'deletedBy'];
  if (e.editedAt !== undefined) expectedKeys.push('editedAt');
  if (e.clientMessageId !== undefined) expectedKeys.push('clientMessageId');
  // No replyTo: a tombstone quotes nothing (section 9).
  assertKeys(m, expectedKeys, 'tombstone');
  if (e.id !== undefined) assert.equal(m.id, e.id);
  assert.equal(m.orderId, e.orderId);
  if (e.seq !== undefined) assert.equal(m.seq, e.seq, 'a tombstone keeps its seq');
  assert.equal(m.senderId, e.sender.id);
  assert.equal(m.senderType, e.sender.type);
  assert.deepEqual(m.sender, {
    id: e.sender.id, name: e.sender.name, displayImage: e.sender.displayImage ?? null, type: e.sender.type,
  });
  assert.equal(m.message, '');
  assert.deepEqual(m.attachments, []);
  assert.equal(m.deleted, true);
  assertRecent(m.deletedAt, 'deletedAt');
  assert.ok(Date.parse(m.deletedAt) >= Date.parse(m.createdAt), 'deletedAt >= createdAt');
  assert.equal(m.deletedBy, e.deletedBy);
  if (e.clientMessageId !== undefined) assert.equal(m.clientMessageId, e.clientMessageId);
  assert.equal(typeof m.isRead, 'boolean');
  assert.ok(Array.isArray(m.readBy));
  assertRecent(m.createdAt, 'createdAt');
  assertRecent(m.updatedAt, 'updatedAt');
  assertRev(m.rev, 'tombstone rev', 1);
  if (e.rev !== undefined) assert.equal(m.rev, e.rev, 'tombstone rev');
  const text = JSON.stringify(m);
  for (const secret of e.secrets ?? []) {
    assert.ok(!text.includes(secret), `the tombstone still shows ${JSON.stringify(secret)}: ${text}`);
  }
}

/** The add-reaction / remove-reaction result: {orderId, messageId, rev, reactions}. */
export function assertReactionResult(d, e) {
  assertKeys(d, ['orderId', 'messageId', 'rev', 'reactions'], 'reaction result');
  assert.equal(d.orderId, e.orderId);
  assert.equal(d.messageId, e.messageId);
  assertRev(d.rev, 'reaction result rev', 1);
  if (e.rev !== undefined) assert.equal(d.rev, e.rev, 'reaction result rev');
  assertReactionList(d.reactions, e.reactions);
}

/** reaction-updated: {orderId, messageId, seq, rev, emoji, userId, added, reactions}. */
export function assertReactionUpdated(p, e) {
  assertKeys(p, ['orderId', 'messageId', 'seq', 'rev', 'emoji', 'userId', 'added', 'reactions'], 'reaction-updated');
  assert.equal(p.orderId, e.orderId);
  assert.equal(p.messageId, e.messageId);
  assert.equal(p.seq, e.seq);
  assertRev(p.rev, 'reaction-updated rev', 1);
  if (e.rev !== undefined) assert.equal(p.rev, e.rev, 'reaction-updated rev');
  assert.equal(p.emoji, e.emoji);
  assert.equal(p.userId, e.userId);
  assert.equal(p.added, e.added);
  assertReactionList(p.reactions, e.reactions);
}

/** A history page (REST data): {messages, hasMore, rev}. */
export function assertPage(d, e = {}) {
  assertKeys(d, ['messages', 'hasMore', 'rev'], 'history page');
  assert.ok(Array.isArray(d.messages));
  assert.equal(typeof d.hasMore, 'boolean');
  assertRev(d.rev, 'page rev');
  if (e.hasMore !== undefined) assert.equal(d.hasMore, e.hasMore);
  if (e.rev !== undefined) assert.equal(d.rev, e.rev, 'page rev');
  if (e.ids !== undefined) assert.deepEqual(d.messages.map((m) => m.id), e.ids);
}

/** The revisions endpoint's data: {revisions: [{message, attachments, editedBy, editedAt}]}. */
export function assertRevisions(d, expected) {
  assertKeys(d, ['revisions'], 'revisions');
  assert.ok(Array.isArray(d.revisions));
  for (const r of d.revisions) {
    assertKeys(r, ['message', 'attachments', 'editedBy', 'editedAt'], 'revision');
    assertRecent(r.editedAt, 'revision editedAt');
  }
  assert.deepEqual(d.revisions.map(({ editedAt, ...r }) => r), expected, 'revisions');
  for (let i = 1; i < d.revisions.length; i++) {
    assert.ok(Date.parse(d.revisions[i].editedAt) >= Date.parse(d.revisions[i - 1].editedAt), 'revisions oldest first');
  }
}

/** A system message (senderType "system") with the given text. */
export function assertSystemMessage(m, orderId, text) {
  assertKeys(m, MESSAGE_KEYS, 'system message');
  assertRev(m.rev, 'system message rev', 1);
  assert.equal(m.orderId, orderId);
  assert.equal(m.senderType, 'system');
  assertKeys(m.sender, ['id', 'name', 'displayImage', 'type'], 'system message sender');
  assert.equal(m.senderId, 'system');
  assert.deepEqual(m.sender, { id: 'system', name: 'System', displayImage: null, type: 'system' });
  assert.equal(m.message, text);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1);
  assert.deepEqual(m.attachments, []);
  assertRecent(m.createdAt, 'createdAt');
  assertRecent(m.updatedAt, 'updatedAt');
}

/** user-joined / user-left. */
export function assertPresence(p, e) {
  assertKeys(p, ['orderId', 'userId', 'id', 'name', 'type', 'timestamp'], 'presence');
  assert.deepEqual({ ...p, timestamp: undefined }, {
    orderId: e.orderId, userId: e.userId, id: e.userId, name: e.name, type: e.type, timestamp: undefined,
  });
  assertRecent(p.timestamp, 'timestamp');
}

/** user-typing. */
export function assertTyping(p, e) {
  assertKeys(p, ['orderId', 'isTyping', 'user'], 'user-typing');
  assertKeys(p.user, ['id', 'name'], 'user-typing.user');
  assert.deepEqual(p, { orderId: e.orderId, isTyping: e.isTyping, user: { id: e.userId, name: e.name } });
}

/** messages-read. */
export function assertMessagesRead(p, e) {
  assertKeys(p, ['orderId', 'userId', 'lastReadSeq', 'lastReadMessageId', 'readAt'], 'messages-read');
  assert.equal(p.orderId, e.orderId);
  assert.equal(p.userId, e.userId);
  assert.equal(p.lastReadSeq, e.lastReadSeq);
  assert.equal(p.lastReadMessageId, e.lastReadMessageId);
  assertRecent(p.readAt, 'readAt');
}

/** The mark-read result (socket ack data and REST data). */
export function assertReadResult(d, e) {
  assertKeys(d, ['orderId', 'userId', 'lastReadSeq', 'readAt', 'marked'], 'read result');
  assert.equal(d.orderId, e.orderId);
  assert.equal(d.userId, e.userId);
  assert.equal(d.lastReadSeq, e.lastReadSeq);
  assert.equal(d.marked, e.marked);
  if (e.lastReadSeq === 0) assert.equal(d.readAt, null);
  else assertRecent(d.readAt, 'readAt');
}

/** order-updated. */
export function assertOrderUpdated(p, e) {
  assertKeys(p, ['orderId', 'orderNumber', 'status', 'customerId', 'agentIds'], 'order-updated');
  assert.deepEqual(p, {
    orderId: e.orderId, orderNumber: e.orderNumber, status: e.status, customerId: e.customerId, agentIds: e.agentIds,
  });
}

/** connection-status. */
export function assertConnectionStatus(p, userId, userType) {
  assertKeys(p, ['status', 'userId', 'userType'], 'connection-status');
  assert.deepEqual(p, { status: 'connected', userId, userType });
}

/** A successful ack: `{ok:true, data}`; returns data. */
export function ackData(ack) {
  assertKeys(ack, ['ok', 'data'], 'ack');
  assert.equal(ack.ok, true);
  return ack.data;
}

/** A failed ack: `{ok:false, error:{code, message}}` with this code (and message, when given). */
export function assertAckError(ack, code, message) {
  assertKeys(ack, ['ok', 'error'], `ack (expected ${code})`);
  assert.equal(ack.ok, false);
  assertKeys(ack.error, ['code', 'message'], 'ack.error');
  assert.equal(ack.error.code, code, `error code: ${JSON.stringify(ack.error)}`);
  assert.equal(typeof ack.error.message, 'string');
  assert.ok(ack.error.message.length > 0, 'error message is not empty');
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(ack.error.message, message);
    else assert.equal(ack.error.message, message);
  }
}

/** The `error` event (a failure without an ack). */
export function assertErrorEvent(p, e) {
  const expected = ['message', 'code', 'event'];
  if (e.orderId !== undefined) expected.push('orderId');
  assertKeys(p, expected, 'error event');
  assert.equal(p.code, e.code);
  assert.equal(p.event, e.event);
  if (e.orderId !== undefined) assert.equal(p.orderId, e.orderId);
  assert.equal(typeof p.message, 'string');
  if (e.message !== undefined) assert.equal(p.message, e.message);
  else assert.ok(p.message.length > 0);
}

/** The join ack data: {orderId, messages, hasMore, participants, reads, rev}. */
export function assertJoined(d, e) {
  assertKeys(d, ['orderId', 'messages', 'hasMore', 'participants', 'reads', 'rev'], 'join ack data');
  assert.equal(d.orderId, e.orderId);
  assertRev(d.rev, 'join ack rev');
  if (e.rev !== undefined) assert.equal(d.rev, e.rev, 'join ack rev');
  if (e.ids !== undefined) assert.deepEqual(d.messages.map((m) => m.id), e.ids);
  assert.ok(Array.isArray(d.messages));
  assert.equal(typeof d.hasMore, 'boolean');
  if (e.hasMore !== undefined) assert.equal(d.hasMore, e.hasMore);
  if (e.seqs !== undefined) assert.deepEqual(d.messages.map((m) => m.seq), e.seqs);
  assert.ok(Array.isArray(d.participants));
  for (const p of d.participants) assertKeys(p, ['id', 'name', 'type', 'online'], 'participant');
  if (e.participants !== undefined) {
    const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    assert.deepEqual([...d.participants].sort(byId), [...e.participants].sort(byId));
  }
  assert.ok(d.reads !== null && typeof d.reads === 'object' && !Array.isArray(d.reads));
  if (e.reads !== undefined) assert.deepEqual(d.reads, e.reads);
}

/** REST success envelope; returns data. */
export function restData(res, status = 200) {
  assert.equal(res.status, status, `HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  assertKeys(res.body, ['status', 'message', 'data'], 'REST envelope');
  assert.equal(res.body.status, 'success');
  assert.equal(typeof res.body.message, 'string');
  assert.ok(res.body.message.length > 0);
  return res.body.data;
}

/** REST failure envelope with this HTTP status and code (and message, when given). */
export function assertRestError(res, status, code, message) {
  assert.equal(res.status, status, `HTTP ${res.status} (expected ${status}): ${JSON.stringify(res.body)}`);
  assertKeys(res.body, ['status', 'error', 'code', 'message'], 'REST error envelope');
  assert.equal(res.body.status, 'error');
  assert.equal(res.body.error, true);
  assert.equal(res.body.code, code);
  assert.equal(typeof res.body.message, 'string');
  if (message !== undefined) assert.equal(res.body.message, message);
  else assert.ok(res.body.message.length > 0);
}

/**
 * An attachment object (section 12): `e` holds name, contentType, kind, size? and which of
 * thumbnailUrl/width/height/durationMs must be there (true) — those not named must be absent.
 */
export function assertAttachment(a, e) {
  const expected = ['id', 'name', 'contentType', 'size', 'kind', 'url'];
  for (const k of ['thumbnailUrl', 'width', 'height', 'durationMs']) if (e[k] !== undefined) expected.push(k);
  assertKeys(a, expected, 'attachment');
  assert.equal(typeof a.id, 'string');
  if (e.id !== undefined) assert.equal(a.id, e.id);
  assert.equal(a.name, e.name);
  assert.equal(a.contentType, e.contentType);
  assert.equal(a.kind, e.kind);
  assert.ok(Number.isInteger(a.size) && a.size > 0, `size ${a.size}`);
  if (e.size !== undefined) assert.equal(a.size, e.size);
  const link = new RegExp(`^/api/v0/chat/attachments/${a.id}\\?exp=\\d+&sig=[A-Za-z0-9_-]+$`);
  assert.match(a.url, link, 'url is a signed link');
  if (e.thumbnailUrl) assert.match(a.thumbnailUrl, new RegExp(`^/api/v0/chat/attachments/${a.id}/thumbnail\\?exp=\\d+&sig=`));
  for (const k of ['width', 'height', 'durationMs']) {
    if (typeof e[k] === 'number') assert.equal(a[k], e[k], k);
  }
}
