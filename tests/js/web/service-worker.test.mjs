// The service worker's pure parts (web/sw.js, a classic script, run here in node:vm with only
// `self.location`): the notification for a push payload (the server's, one without a title,
// not JSON, none), and which window a click focuses. The worker's events themselves run in
// Chromium in tests/js/browser/notifications.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const ORIGIN = 'https://chat.example';
const source = readFileSync(new URL('../../../web/sw.js', import.meta.url), 'utf8');
const ctx = vm.createContext({ URL, URLSearchParams, Date, JSON, self: { location: { origin: ORIGIN } } });
vm.runInContext(source + '\n;globalThis.__sw = { notificationFor, pickClient, showsChat, safeUrl };', ctx);
const { notificationFor, pickClient, safeUrl } = ctx.__sw;
const plain = (v) => JSON.parse(JSON.stringify(v));

test('the server payload becomes its notification, tagged per order, renotifying', () => {
  const n = plain(notificationFor(JSON.stringify({
    title: 'Order #B2S-7F3KQ', body: 'Tunde Bello: ripe?', orderId: 'o-1', url: '/chat.html?orderId=o-1&userId=c-1', tag: 'order-o-1',
  }), ORIGIN));
  assert.equal(n.title, 'Order #B2S-7F3KQ');
  assert.equal(n.options.body, 'Tunde Bello: ripe?');
  assert.equal(n.options.tag, 'order-o-1');
  assert.equal(n.options.renotify, true);
  assert.equal(n.options.icon, '/img/chat-icon.svg');
  assert.deepEqual(n.options.data, { orderId: 'o-1', url: '/chat.html?orderId=o-1&userId=c-1' });
});

test('not JSON, no data, no title or not an object: a generic "New message" (a push always shows something)', () => {
  for (const raw of ['not json', null, '', '[1,2]', '42', JSON.stringify({ body: 'x' }), JSON.stringify({ title: 5 })]) {
    const n = plain(notificationFor(raw, ORIGIN));
    assert.equal(n.title, 'New message', String(raw));
    assert.ok(n.options.body, String(raw));
    assert.ok(n.options.tag);
    assert.equal(n.options.data.url.startsWith('/chat.html'), true);
  }
  const some = plain(notificationFor(JSON.stringify({ orderId: 'o-9' }), ORIGIN));
  assert.equal(some.title, 'New message');
  assert.equal(some.options.tag, 'order-o-9', 'still replaces that order’s last one');
  assert.equal(some.options.data.url, '/chat.html?orderId=o-9');
});

test('a url of another origin is not opened: the order’s chat instead', () => {
  const n = plain(notificationFor(JSON.stringify({ title: 't', orderId: 'o-1', url: 'https://evil.example/x' }), ORIGIN));
  assert.equal(n.options.data.url, '/chat.html?orderId=o-1');
  assert.equal(safeUrl('javascript:alert(1)', ORIGIN), null);
  assert.equal(safeUrl(ORIGIN + '/chat.html?orderId=a#seq=1', ORIGIN), '/chat.html?orderId=a#seq=1');
});

test('a click focuses a window showing that order’s chat (a focused or visible one first), none otherwise', () => {
  const w = (url, o = {}) => ({ url: ORIGIN + url, focused: false, visibilityState: 'hidden', ...o });
  const other = w('/chat.html?orderId=o-2');
  const inbox = w('/chat.html');
  const hidden = w('/chat.html?orderId=o-1&userId=c-1');
  const visible = w('/chat.html?orderId=o-1', { visibilityState: 'visible' });
  assert.equal(pickClient([other, inbox], 'o-1', ORIGIN), null);
  assert.equal(pickClient([other, hidden], 'o-1', ORIGIN), hidden);
  assert.equal(pickClient([hidden, visible], 'o-1', ORIGIN), visible);
  assert.equal(pickClient([{ url: 'https://elsewhere/chat.html?orderId=o-1' }], 'o-1', ORIGIN), null);
  assert.equal(pickClient([hidden], '', ORIGIN), null);
});
