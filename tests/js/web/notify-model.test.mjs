// The notification bell without the DOM (web/js/notify-model.js): what the browser offers,
// the states from the server's mute, the permission and the subscription, what a press does,
// and failures in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NotifyState, pushSupport, keyBytes, sameKey, subscribeErrorText, restErrorText, PUSH_UNAVAILABLE,
} from '../../../web/js/notify-model.js';

const ALL = { secure: true, serviceWorker: true, pushManager: true, notification: true };

function state(o = {}) {
  const s = new NotifyState(pushSupport({ ...ALL, ...(o.env || {}) }));
  Object.assign(s, { loaded: true, permission: 'granted', muted: false, subscribed: true }, o.set || {});
  return s;
}

test('an insecure page or a browser without service workers, PushManager or Notification is unsupported, said plainly', () => {
  assert.match(pushSupport({ ...ALL, secure: false }).reason, /secure \(HTTPS\)/);
  for (const k of ['serviceWorker', 'pushManager', 'notification']) {
    const s = pushSupport({ ...ALL, [k]: false });
    assert.equal(s.ok, false);
    assert.equal(s.reason, 'This browser cannot show notifications from web pages.');
  }
  assert.deepEqual(pushSupport(ALL), { ok: true, reason: null });
  const s = state({ env: { pushManager: false } });
  assert.equal(s.kind, 'unsupported');
  assert.equal(s.action, 'explain');
  assert.equal(s.pressed, false);
});

test('the states: blocked before anything, then checking, muted, on, off in this browser, unavailable', () => {
  assert.equal(state({ set: { permission: 'denied', muted: false } }).kind, 'blocked');
  assert.equal(state({ set: { permission: 'denied', loaded: false } }).kind, 'blocked');
  assert.equal(state({ set: { loaded: false } }).kind, 'checking');
  assert.equal(state({ set: { loaded: false } }).action, null);
  assert.equal(state({ set: { muted: true } }).kind, 'muted');
  assert.equal(state().kind, 'on');
  assert.equal(state({ set: { subscribed: false } }).kind, 'off');
  assert.equal(state({ set: { permission: 'default' } }).kind, 'off', 'a subscription without the permission shows nothing');
  assert.equal(state({ set: { subscribed: false, pushError: 'x' } }).kind, 'unavailable');
  assert.equal(state({ set: { muted: true, pushError: 'x' } }).kind, 'muted');
  assert.equal(state({ set: { muted: null } }).kind, 'off', 'the server did not answer');
});

test('a press turns on what is off or muted and mutes what is on; aria-pressed follows the server', () => {
  for (const set of [{ muted: true }, { subscribed: false }, { muted: null }]) {
    const s = state({ set });
    assert.equal(s.action, 'on', JSON.stringify(set));
    assert.equal(s.pressed, false);
  }
  for (const set of [{}, { subscribed: false, pushError: 'x' }]) {
    const s = state({ set });
    assert.equal(s.action, 'off');
    assert.equal(s.pressed, true);
  }
  assert.equal(state({ set: { permission: 'denied' } }).action, 'explain');
});

test('each state has a sentence and a title; the note is shown for failures and when push is unavailable', () => {
  const blocked = state({ set: { permission: 'denied' } });
  assert.match(blocked.sentence, /blocked for this site/);
  assert.match(blocked.sentence, /site’s settings/);
  assert.equal(blocked.title, 'Notifications are blocked by the browser');
  assert.equal(blocked.attention, false, 'said when pressed, not on every page load');
  const un = state({ set: { subscribed: false, pushError: subscribeErrorText({ name: 'AbortError', message: 'Registration failed - push service not available' }) } });
  assert.equal(un.attention, true);
  assert.match(un.note, /^Push is not available in this browser \(AbortError: Registration failed - push service not available\)/);
  const failed = state();
  failed.error = 'Could not turn notifications off: nope.';
  assert.equal(failed.note, 'Could not turn notifications off: nope.');
  assert.equal(failed.attention, true);
  for (const s of [state(), state({ set: { muted: true } }), state({ set: { subscribed: false } }), state({ set: { loaded: false } })]) {
    assert.ok(s.sentence && s.title, s.kind);
  }
});

test('subscribe failures and REST errors in words', () => {
  assert.ok(subscribeErrorText({ name: 'AbortError', message: 'Registration failed - permission denied' }).startsWith(PUSH_UNAVAILABLE));
  assert.match(subscribeErrorText({ name: 'TIMEOUT' }), /did not answer/);
  assert.match(subscribeErrorText({ name: 'NotAllowedError' }), /blocked/);
  const e = Object.assign(new Error('You are not a participant of this order.'), { code: 'FORBIDDEN' });
  assert.equal(restErrorText(e, 'turn notifications on'), 'Could not turn notifications on: You are not a participant of this order.');
  assert.match(restErrorText({ code: 'NETWORK', message: 'Failed to fetch' }, 'x'), /could not be reached/);
});

test('the VAPID key as bytes, and whether a subscription was made with it', () => {
  const raw = Buffer.alloc(65, 7); raw[0] = 4; raw[64] = 0xff; raw[63] = 0xfb;
  const b64u = raw.toString('base64url');
  assert.ok(/[-_]/.test(b64u) || true);
  assert.deepEqual([...keyBytes(b64u)], [...raw]);
  assert.throws(() => keyBytes('not a key!'));
  assert.throws(() => keyBytes(''));
  assert.equal(sameKey(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 65), b64u), true);
  const other = Buffer.from(raw); other[5] = 1;
  assert.equal(sameKey(other.buffer.slice(other.byteOffset, other.byteOffset + 65), b64u), false);
  assert.equal(sameKey(null, b64u), true, 'unknown: kept');
});
