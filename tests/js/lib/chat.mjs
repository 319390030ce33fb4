// Small fixtures over lib/server.mjs for the e2e suite: people as messages show them, and sockets
// that are connected and joined to an order's chat.
import assert from 'node:assert/strict';
import { call, next } from './server.mjs';

/** The `sender` a message of this user shows (displayImage null when none). */
export const senderOf = (user, type) => ({ id: user.id, name: user.name, type, displayImage: user.displayImage ?? null });

/** The customer and the agents of an order made by `makeOrder`, as senders. */
export const people = (order) => ({
  customer: senderOf(order.customer, 'customer'),
  agents: order.agents.map((a) => senderOf(a, 'agent')),
});

/**
 * Connect `userId` (or a token given as `{token}`) and join `orderRef` (an id, a number or a join
 * payload); resolves with the socket, its join ack data in `socket.joined` and the
 * previous-messages payload in `socket.previous`.
 */
export async function joinAs(server, user, joinPayload, o = {}) {
  const token = typeof user === 'string' ? server.token(user) : user.token;
  const s = await server.connect(token, o);
  await join(s, joinPayload);
  return s;
}

/** Join on an already connected socket; sets `socket.joined` and `socket.previous`. */
export async function join(s, joinPayload) {
  const prev = next(s, 'previous-messages');
  const ack = await call(s, 'join-order-chat', joinPayload);
  assert.equal(ack.ok, true, `join failed: ${JSON.stringify(ack)}`);
  s.joined = ack.data;
  s.previous = await prev;
  return ack.data;
}

/** Send a text and resolve with the stored message (ack data); fails on an error ack. */
export async function say(s, orderId, message, extra = {}) {
  const ack = await call(s, 'send-message', { orderId, message, ...extra });
  assert.equal(ack.ok, true, `send failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

/** Emit `event` with an ack and return its data; fails on an error ack. */
export async function ok(s, event, payload) {
  const ack = await call(s, event, payload);
  assert.equal(ack?.ok, true, `${event} failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

/** edit-message; resolves with the edited message (ack data). */
export const edit = (s, orderId, messageId, message) => ok(s, 'edit-message', { orderId, messageId, message });

/** delete-message; resolves with the tombstone (ack data). */
export const del = (s, orderId, messageId) => ok(s, 'delete-message', { orderId, messageId });

/** add-reaction; resolves with {orderId, messageId, rev, reactions}. */
export const react = (s, orderId, messageId, emoji) => ok(s, 'add-reaction', { orderId, messageId, emoji });

/** remove-reaction; resolves with {orderId, messageId, rev, reactions}. */
export const unreact = (s, orderId, messageId, emoji) => ok(s, 'remove-reaction', { orderId, messageId, emoji });

/** The events a chat's history can change by (sections 4 and 11). */
export const CHANGE_EVENTS = ['new-message', 'message-updated', 'message-deleted', 'reaction-updated'];

/**
 * Record `events` on `socket` in the order they arrive, as `[{event, data}]`. The array also has
 * `waitFor(pred, ms)`: resolves with the first entry (from the start) satisfying `pred`, and
 * `waitForCount(n, ms)`, and `stop()`.
 */
export function timeline(socket, events = CHANGE_EVENTS) {
  const seen = [];
  let waiters = [];
  const handlers = events.map((event) => [event, (data) => {
    seen.push({ event, data });
    waiters = waiters.filter((w) => (w.check() ? (w.done(), false) : true));
  }]);
  for (const [event, h] of handlers) socket.on(event, h);
  const wait = (check, what, ms) => new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      waiters = waiters.filter((w) => w !== entry);
      reject(new Error(`${what()} within ${ms} ms; got ${JSON.stringify(seen.map((x) => x.event))}`));
    }, ms);
    const entry = { check, done: () => { clearTimeout(timer); resolve(); } };
    waiters.push(entry);
  });
  Object.defineProperty(seen, 'waitFor', {
    value: async (pred, ms = 5000) => {
      await wait(() => seen.some(pred), () => 'no matching event', ms);
      return seen.find(pred);
    },
  });
  Object.defineProperty(seen, 'waitForCount', {
    value: async (n, ms = 5000) => {
      await wait(() => seen.length >= n, () => `only ${seen.length} of ${n} events`, ms);
      return seen;
    },
  });
  Object.defineProperty(seen, 'stop', { value: () => { for (const [event, h] of handlers) socket.off(event, h); } });
  return seen;
}

/** The entry of a `new-message` for the message with this id. */
export const isNewMessage = (id) => (x) => x.event === 'new-message' && x.data.id === id;

/**
 * Assert that nothing reached the `timelines` since `marks` (their lengths taken before the
 * operation under test), bounded by a later event: `sendMarker()` sends a message (after the
 * operation finished) and resolves with it; each timeline must then show exactly that message's
 * new-message and nothing else since its mark.
 */
export async function assertQuietUntilMarker(timelines, marks, sendMarker) {
  const marker = await sendMarker();
  for (const [i, t] of timelines.entries()) {
    await t.waitFor(isNewMessage(marker.id));
    assert.deepEqual(t.slice(marks[i]).map((x) => [x.event, x.data.id ?? x.data.messageId]),
      [['new-message', marker.id]], `timeline ${i}: only the marker arrived after the no-op`);
  }
  return marker;
}

/** Sort by rev ascending (a copy). */
export const byRev = (messages) => [...messages].sort((a, b) => a.rev - b.rev);
