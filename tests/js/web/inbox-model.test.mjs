// The inbox's rows and error sentences (web/js/inbox-model.js) in Node, no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inboxRows, inboxRow, inboxError, unreadSummary, previewText, chatHref } from '../../../web/js/inbox-model.js';

const ME = 'cust-1';

/** One entry of `GET /api/v0/chat/orders` (shape checked against the server). */
function order(extra = {}) {
  return {
    orderId: 'order-1',
    orderNumber: 'B2S-7F3KQ',
    status: 'shopping',
    unread: 0,
    lastMessage: null,
    ...extra,
  };
}

function message(extra = {}) {
  return {
    id: 'm-1', orderId: 'order-1', seq: 4, senderId: 'agent-1', senderType: 'agent',
    sender: { id: 'agent-1', name: 'Tunde Bello' }, message: 'Two bunches?', createdAt: '2026-11-24T10:15:02.123Z',
    ...extra,
  };
}

test('a row shows the order number, status, last message and unread count, in the server order', () => {
  const rows = inboxRows({
    orders: [
      order({ unread: 3, lastMessage: message() }),
      order({ orderId: 'order-2', orderNumber: 'B2S-ABCDE', status: 'out_for_delivery' }),
    ],
  }, ME);
  assert.deepEqual(rows.map((r) => r.orderId), ['order-1', 'order-2']);
  assert.deepEqual(rows[0], {
    orderId: 'order-1',
    title: 'Order B2S-7F3KQ',
    status: 'shopping',
    statusLabel: 'Shopping',
    closed: false,
    href: '/chat.html?orderId=order-1&userId=cust-1',
    unread: 3,
    unreadLabel: '3 unread messages',
    preview: { sender: 'Tunde Bello', text: 'Two bunches?', at: '2026-11-24T10:15:02.123Z' },
  });
  assert.equal(rows[1].statusLabel, 'Out for delivery');
  assert.equal(rows[1].preview, null, 'no message yet');
  assert.equal(rows[1].unreadLabel, null, 'no badge without unread messages');
});

test('the link opens the chat without the token in the address', () => {
  const href = chatHref('order 1/x', 'u-1');
  assert.equal(href, '/chat.html?orderId=order+1%2Fx&userId=u-1');
  assert.ok(!chatHref('o', null).includes('userId'));
  assert.ok(!inboxRow(order(), ME).href.includes('token'));
});

test('previews: "You" for own messages, no sender for system ones, one line, Photo for an image', () => {
  assert.equal(inboxRow(order({ lastMessage: message({ senderId: ME }) }), ME).preview.sender, 'You');
  const system = inboxRow(order({ lastMessage: message({ senderType: 'system', senderId: 'system', message: 'Order status changed to delivery' }) }), ME);
  assert.deepEqual([system.preview.sender, system.preview.text], ['', 'Order status changed to delivery']);
  assert.equal(previewText(message({ message: '  Line one\n\nline   two ' })), 'Line one line two');
  assert.equal(previewText(message({ message: '', imageUrl: 'https://example.com/a.jpg' })), 'Photo');
  assert.equal(previewText(message({ message: '', attachments: [{ id: 'a' }] })), 'Attachment');
});

test('unread labels read as words; closed orders are marked', () => {
  assert.equal(inboxRow(order({ unread: 1 }), ME).unreadLabel, '1 unread message');
  assert.equal(inboxRow(order({ unread: -2 }), ME).unread, 0);
  assert.equal(inboxRow(order({ status: 'completed' }), ME).closed, true);
  const rows = inboxRows({ orders: [order({ unread: 2 }), order({ orderId: 'b', unread: 1 }), order({ orderId: 'c' })] }, ME);
  assert.equal(unreadSummary(rows), '3 unread messages in 2 chats');
  assert.equal(unreadSummary(rows.slice(2)), 'No unread messages');
  assert.deepEqual(inboxRows({}, ME), []);
  assert.deepEqual(inboxRows({ orders: [null, { orderNumber: 'no id' }] }, ME), []);
});

test('errors: a refused token is one sentence and not retried; an unreachable server is', () => {
  const invalid = inboxError({ code: 'UNAUTHORIZED', message: 'Authentication error: Invalid token' });
  assert.equal(invalid.retry, false);
  assert.match(invalid.text, /^Your access token is not valid: please sign in again to see your chats\.$/);
  assert.match(inboxError({ code: 'UNAUTHORIZED', message: 'Authentication error: Token expired' }).text, /session has expired/);
  assert.match(inboxError({ code: 'NO_TOKEN' }).text, /not signed in/);
  assert.equal(inboxError({ code: 'FORBIDDEN' }).retry, false);
  for (const code of ['NETWORK', 'HTTP_502', 'INTERNAL']) {
    assert.deepEqual(inboxError({ code }), { retry: true, text: 'The chat server cannot be reached. Retrying…' }, code);
  }
  assert.equal(inboxError({ code: 'RATE_LIMITED' }).retry, true);
});
