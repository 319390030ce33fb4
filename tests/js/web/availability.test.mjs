// The page's states that block the chat (web/js/availability.js), in Node: every failure state
// is final or says the page keeps trying, has one sentence, a placeholder and a subtitle; what
// could not be sent is "Not sent" and kept over a reload; and the words a screen reader is told
// when messages arrive (web/js/format.js arrivals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedState, pendingLabel, draftNote, draftToKeep, isRefusal, joinRefusalText } from '../../../web/js/availability.js';
import { arrivals, messageWords } from '../../../web/js/format.js';
import { Timeline } from '../../../web/js/timeline.js';

const REFUSED = {
  'Authentication error: Token not provided': ['NO_TOKEN', /not signed in.*open the chat again from the app/i],
  'Authentication error: Invalid token': ['INVALID_TOKEN', /access token is not valid.*sign in again/i],
  'Authentication error: Token expired': ['TOKEN_EXPIRED', /session has expired.*sign in again/i],
  'Your account has been blocked. Please contact support': ['BLOCKED', /blocked.*contact support/i],
};

/** One sentence: a capital first, one final full stop, no second sentence after it. */
function oneSentence(text) {
  return /^[A-Z]/.test(text) && /\.$/.test(text) && !/[.!?]\s+[A-Z]/.test(text.slice(0, -1).replace(/e\.g\./g, ''));
}

test('nothing in the way: the chat can be used', () => {
  assert.equal(blockedState({}), null);
  assert.equal(blockedState({ everJoined: true, unreachable: false }), null);
});

test('a refused handshake is final, says what happened and what to do, and names no retry', () => {
  for (const [message, [code, words]] of Object.entries(REFUSED)) {
    assert.equal(isRefusal(message), true);
    const b = blockedState({ refused: message });
    assert.equal(b.code, code);
    assert.equal(b.final, true, code);
    assert.equal(b.retry, false, code);
    assert.match(b.text, words);
    assert.ok(b.banner && b.placeholder && b.subtitle, code);
    assert.notEqual(b.subtitle, 'Loading conversation…');
  }
  assert.equal(isRefusal('xhr poll error'), false);
  // An unknown refusal text still reads as an invalid token, never as nothing.
  assert.equal(blockedState({ refused: 'Authentication error: something new' }).code, 'INVALID_TOKEN');
});

test('no order, an unknown order, not a participant, a malformed link: final, one sentence each', () => {
  const cases = [
    [{ noOrder: true }, 'NO_ORDER', /no order.*open the chat again from the app/],
    [{ fatal: 'ORDER_NOT_FOUND' }, 'ORDER_NOT_FOUND', /not found.*check that the chat link is complete/],
    [{ fatal: 'FORBIDDEN' }, 'FORBIDDEN', /not a participant/],
    [{ fatal: 'VALIDATION' }, 'VALIDATION', /link is not valid.*open the chat again from the app/],
    [{ fatal: 'UNAUTHORIZED', fatalMessage: 'Token expired' }, 'UNAUTHORIZED', /session has expired/],
  ];
  for (const [input, code, words] of cases) {
    const b = blockedState(input);
    assert.equal(b.code, code);
    assert.equal(b.final, true);
    assert.match(b.text, words);
    assert.ok(oneSentence(b.text), `one sentence: ${b.text}`);
    assert.ok(b.placeholder && b.subtitle && b.banner);
  }
  assert.equal(blockedState({ fatal: 'FORBIDDEN' }).subtitle, 'You are not a participant');
  assert.equal(joinRefusalText('VALIDATION'), blockedState({ fatal: 'VALIDATION' }).text);
});

test('every refusal sentence is one sentence', () => {
  for (const message of Object.keys(REFUSED)) {
    const { text } = blockedState({ refused: message });
    assert.ok(oneSentence(text), `one sentence: ${text}`);
  }
  assert.ok(oneSentence(blockedState({ unreachable: true }).text));
});

test('a server unreachable for long: not final, the page keeps trying and says so', () => {
  const b = blockedState({ unreachable: true, everJoined: true });
  assert.equal(b.code, 'UNREACHABLE');
  assert.equal(b.final, false);
  assert.equal(b.retry, true);
  assert.match(b.text, /cannot be reached.*keeps trying.*sends your waiting messages/);
  assert.equal(b.subtitle, null, 'after a join the header keeps the people');
  assert.equal(blockedState({ unreachable: true }).subtitle, 'Not connected', 'never joined: not "Loading conversation…"');
});

test('which state wins: the most lasting first', () => {
  assert.equal(blockedState({ noOrder: true, refused: 'Authentication error: Invalid token' }).code, 'NO_ORDER');
  assert.equal(blockedState({ refused: 'Authentication error: Token expired', fatal: 'FORBIDDEN' }).code, 'TOKEN_EXPIRED');
  assert.equal(blockedState({ fatal: 'FORBIDDEN', unreachable: true, closed: true }).code, 'FORBIDDEN');
  assert.equal(blockedState({ unreachable: true, closed: true, left: true }).code, 'UNREACHABLE');
  assert.equal(blockedState({ closed: true, left: true }).code, 'ORDER_CLOSED');
  const ended = blockedState({ session: { code: 'TOKEN_EXPIRED', text: 'Your session has expired.', placeholder: 'Your session has expired' }, closed: true });
  assert.equal(ended.own, true, 'the session keeper says it itself');
  assert.equal(ended.final, true);
  assert.equal(ended.placeholder, 'Your session has expired');
  assert.equal(blockedState({ left: true }).soft, true);
});

test('pending sends: waiting while the page keeps trying, "Not sent" in a final state', () => {
  const queued = { state: 'queued' };
  const sending = { state: 'sending' };
  assert.deepEqual(pendingLabel(queued, { online: false, blocked: null }), { failed: false, text: 'Waiting for connection…' });
  assert.deepEqual(pendingLabel(queued, { online: true, blocked: null }), { failed: false, text: 'Sending…' });
  assert.deepEqual(pendingLabel(sending, { online: true, blocked: null }), { failed: false, text: 'Sending…' });
  const unreachable = blockedState({ unreachable: true });
  assert.equal(pendingLabel(queued, { online: false, blocked: unreachable }).text, 'Waiting for connection…');
  const refused = blockedState({ refused: 'Authentication error: Invalid token' });
  assert.deepEqual(pendingLabel(queued, { online: false, blocked: refused }), { failed: true, text: 'Not sent' });
  assert.deepEqual(pendingLabel(sending, { online: false, blocked: refused }), { failed: true, text: 'Not sent' });
  assert.deepEqual(pendingLabel({ state: 'failed', note: 'Not sent (too fast)' }, { online: true, blocked: null }), { failed: true, text: 'Not sent (too fast)' });
});

test('a draft in a disabled composer is said to be unsent', () => {
  const refused = blockedState({ refused: 'Authentication error: Invalid token' });
  assert.equal(draftNote(null, 'hello'), '');
  assert.equal(draftNote(refused, '   '), '');
  assert.match(draftNote(refused, 'hello'), /^Not sent: your text stays here/);
  assert.match(draftNote(blockedState({ unreachable: true }), 'hello'), /^Not sent yet: .*until the chat is back/);
});

test('kept over a reload: sends that never went out or failed, then the draft; not those in flight', () => {
  const t = new Timeline({ userId: 'me' });
  t.addPending('c1', 'typed while offline');
  t.addPending('c2', 'went out, no ack yet');
  t.setPendingState('c2', 'sending');
  t.addPending('c3', 'refused by the server');
  t.setPendingState('c3', 'sending');
  t.setPendingState('c3', 'failed', 'Not sent');
  t.addPending('c4', 'went out, then the connection dropped');
  t.setPendingState('c4', 'sending');
  t.requeue();
  assert.equal(draftToKeep('half a sentence', t.pending.values()),
    'typed while offline\n\nrefused by the server\n\nhalf a sentence');
  assert.equal(draftToKeep('  ', []), '');
  assert.equal(draftToKeep('', [{ text: '  ', state: 'queued' }]), '', 'files without text are not a draft');
});

test('arrivals in words for the live region: sender and text, a count for a catch-up', () => {
  const name = (m) => m.sender.name;
  const m = (id, extra = {}) => ({ id, seq: id, message: `text ${id}`, sender: { name: 'Tunde Bello' }, ...extra });
  assert.equal(arrivals([], name), '');
  assert.equal(arrivals([m(1)], name), 'Tunde Bello: text 1');
  assert.equal(arrivals([m(1), m(2)], name), 'Tunde Bello: text 1\nTunde Bello: text 2');
  assert.equal(arrivals([m(1), m(2), m(3), m(4)], name), '4 new messages');
  assert.equal(messageWords(m(1, { message: '', attachments: [{ id: 'a' }] })), 'sent an attachment');
  assert.equal(messageWords(m(1, { message: 'look', attachments: [{}, {}] })), 'look (with 2 attachments)');
  assert.equal(messageWords(m(1, { message: '', imageUrl: 'https://x/y.png' })), 'sent an image');
  assert.equal(messageWords(m(1, { deleted: true })), 'a deleted message');
});
