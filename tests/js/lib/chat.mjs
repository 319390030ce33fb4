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
