/*
 * The inbox without the DOM: one row per chat from `GET /api/v0/chat/orders` (PROTOCOL §5:
 * `{orderId, orderNumber, status, lastMessage, unread}`, newest activity first), and what its
 * errors mean to the user. Checked by tests/js/web/inbox-model.test.mjs.
 */
import { CLOSED_STATUSES, statusLabel } from './format.js';

/** The chat page of one order; the token stays in storage, never in the address. */
export function chatHref(orderId, userId) {
  const q = new URLSearchParams({ orderId });
  if (userId) q.set('userId', userId);
  return '/chat.html?' + q;
}

export function unreadLabel(n) {
  return n === 1 ? '1 unread message' : `${n} unread messages`;
}

/** "You", the sender's name, or '' for a message the server wrote itself. */
function senderLabel(m, userId) {
  if (m.senderType === 'system') return '';
  if (userId != null && String(m.senderId) === String(userId)) return 'You';
  return (m.sender && m.sender.name) || 'Someone';
}

/** The last message in one line: its text, or what it carries when it has none. */
export function previewText(m) {
  const text = String(m.message || '').replace(/\s+/g, ' ').trim();
  if (text) return text;
  if (m.imageUrl) return 'Photo';
  if (Array.isArray(m.attachments) && m.attachments.length) return 'Attachment';
  return '';
}

/** One row of the inbox, everything it shows already worded. */
export function inboxRow(order, userId) {
  const unread = Number.isFinite(Number(order.unread)) ? Math.max(0, Number(order.unread)) : 0;
  const m = order.lastMessage && typeof order.lastMessage === 'object' ? order.lastMessage : null;
  return {
    orderId: String(order.orderId),
    title: `Order ${order.orderNumber || order.orderId}`,
    status: order.status ? String(order.status) : null,
    statusLabel: order.status ? statusLabel(order.status) : null,
    closed: CLOSED_STATUSES.includes(String(order.status)),
    href: chatHref(String(order.orderId), userId),
    unread,
    unreadLabel: unread ? unreadLabel(unread) : null,
    preview: m ? { sender: senderLabel(m, userId), text: previewText(m), at: m.createdAt || null } : null,
  };
}

export function inboxRows(data, userId) {
  const orders = (data && Array.isArray(data.orders)) ? data.orders : [];
  return orders.filter((o) => o && o.orderId != null).map((o) => inboxRow(o, userId));
}

/** "3 unread messages in 2 chats", or "No unread messages". */
export function unreadSummary(rows) {
  const chats = rows.filter((r) => r.unread > 0);
  const total = chats.reduce((n, r) => n + r.unread, 0);
  if (!total) return 'No unread messages';
  return `${unreadLabel(total)} in ${chats.length === 1 ? '1 chat' : `${chats.length} chats`}`;
}

/**
 * What a failed refresh means: `{text, retry}`; `retry` false when asking again with the same
 * token cannot help (the inbox then waits for the tab to come back, the token may be new then).
 */
export function inboxError(err) {
  const code = err && err.code;
  const m = String((err && err.message) || '').toLowerCase();
  if (code === 'UNAUTHORIZED' || code === 'NO_TOKEN') {
    if (code === 'NO_TOKEN' || m.includes('not provided') || m.includes('missing')) {
      return { retry: false, text: 'You are not signed in: open your chats from the app to see them here.' };
    }
    if (m.includes('expired')) return { retry: false, text: 'Your session has expired: please sign in again to see your chats.' };
    return { retry: false, text: 'Your access token is not valid: please sign in again to see your chats.' };
  }
  if (code === 'FORBIDDEN') return { retry: false, text: 'Your account has been blocked. Please contact support.' };
  if (code === 'RATE_LIMITED') return { retry: true, text: 'Too many requests for now. Retrying…' };
  return { retry: true, text: 'The chat server cannot be reached. Retrying…' };
}
