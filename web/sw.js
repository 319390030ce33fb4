/*
 * The chat's service worker (PROTOCOL §14, Web Push), served at /sw.js with scope /.
 *
 * `push`: shows the notification of the server's payload `{title, body, orderId, url, tag}`.
 * The tag is per order, so a newer notification of an order replaces the one before
 * (`renotify` lets it sound again). A payload that is not JSON, or has no title, still shows a
 * generic "New message": a push must always show something (`userVisibleOnly`), or the browser
 * shows its own "This site has been updated in the background" and may revoke the permission.
 *
 * `notificationclick`: focuses a window already showing that order's chat
 * (`/chat.html?orderId=…`), or else opens the payload's `url` (same origin only; otherwise the
 * order's chat, or the inbox).
 *
 * A classic script (not an ES module: module service workers are not everywhere yet), with no
 * `fetch` handler, so it never stands between the page and the server. The pure functions at
 * the top are checked by tests/js/web/service-worker.test.mjs (in node:vm).
 */
'use strict';

const GENERIC_TITLE = 'New message';
const GENERIC_BODY = 'Open the chat to read it.';
const GENERIC_TAG = 'order-chat';
const ICON = '/img/chat-icon.svg';

const text = (v) => (typeof v === 'string' ? v : '');

/**
 * The notification to show for a push's data (its text, or null without data): `{title,
 * options}` for `registration.showNotification`. Never throws.
 */
function notificationFor(raw, origin) {
  let p = null;
  try { p = raw == null || raw === '' ? null : JSON.parse(raw); } catch (_) { p = null; }
  if (!p || typeof p !== 'object' || Array.isArray(p)) p = {};
  const orderId = text(p.orderId).trim();
  const title = text(p.title).trim();
  const generic = !title;
  const url = safeUrl(text(p.url), origin) || chatPath(orderId);
  const tag = text(p.tag).trim() || (orderId ? 'order-' + orderId : GENERIC_TAG);
  return {
    title: generic ? GENERIC_TITLE : title,
    options: {
      body: generic ? (text(p.body).trim() || GENERIC_BODY) : text(p.body),
      tag,
      renotify: true, // a replacement of the same tag alerts again
      icon: ICON,
      lang: 'en',
      timestamp: Date.now(),
      data: { orderId: orderId || null, url },
    },
  };
}

/** The chat of an order (the inbox without one), as a path on this origin. */
function chatPath(orderId) {
  return orderId ? '/chat.html?' + new URLSearchParams({ orderId }) : '/chat.html';
}

/** `url` as a path on `origin` when it is of that origin (the server's own link), else null. */
function safeUrl(url, origin) {
  if (!url) return null;
  try {
    const u = new URL(url, origin);
    if (u.origin !== new URL(origin).origin) return null;
    return u.pathname + u.search + u.hash;
  } catch (_) {
    return null;
  }
}

/** Whether a window's address shows the chat of `orderId`. */
function showsChat(href, orderId, origin) {
  if (!orderId) return false;
  try {
    const u = new URL(href, origin);
    return u.origin === new URL(origin).origin && u.pathname === '/chat.html' && u.searchParams.get('orderId') === orderId;
  } catch (_) {
    return false;
  }
}

/** The window client to focus for a click: the focused one showing the chat first, else any. */
function pickClient(clients, orderId, origin) {
  const showing = clients.filter((c) => showsChat(c.url, orderId, origin));
  return showing.find((c) => c.focused) || showing.find((c) => c.visibilityState === 'visible') || showing[0] || null;
}

async function openChat(data) {
  const origin = self.location.origin;
  const orderId = data && typeof data.orderId === 'string' ? data.orderId : '';
  const url = (data && safeUrl(text(data.url), origin)) || chatPath(orderId);
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const client = pickClient(windows, orderId, origin);
  if (client) return client.focus();
  return self.clients.openWindow(url);
}

if (typeof self !== 'undefined' && typeof self.addEventListener === 'function') {
  // A new version takes over at once (it holds no state and no caches).
  self.addEventListener('install', () => self.skipWaiting());
  self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

  self.addEventListener('push', (event) => {
    let raw = null;
    try { raw = event.data ? event.data.text() : null; } catch (_) { raw = null; }
    const n = notificationFor(raw, self.location.origin);
    event.waitUntil(self.registration.showNotification(n.title, n.options));
  });

  self.addEventListener('notificationclick', (event) => {
    event.notification.close();
    event.waitUntil(openChat(event.notification.data));
  });
}
