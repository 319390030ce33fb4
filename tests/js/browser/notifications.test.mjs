// Notifications on the page (PROTOCOL §14), in a real Chromium against the real binary: the
// service worker from /sw.js, pushes delivered to it, the bell. What is real and what is
// triggered:
// - the worker registers and activates for real (the page's own code, from /sw.js, scope /);
// - headless Chromium has no push service, so pushes are handed to the worker through the
//   DevTools protocol (ServiceWorker.deliverPushMessage): the worker's real `push` handler runs
//   and shows real notifications, read back with registration.getNotifications();
// - the bell's REST calls are real; `pushManager.subscribe` fails in a Playwright context (an
//   off-the-record profile: "AbortError: Registration failed - permission denied"), and the page
//   says "Push is not available in this browser", which is what is asserted.
// The tests that need the server's /sw.js and §14 endpoints skip, saying so, while the server
// does not have them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import { launchBrowser, openChat, eventually } from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
let server;
let browser;
let serverHas = { sw: false, endpoints: false };
const opened = [];

before(async () => {
  [server, browser] = await Promise.all([startServer({ env: lib.NO_LIMITS || {} }), launchBrowser()]);
  const sw = await fetch(server.url + '/sw.js');
  serverHas.sw = sw.ok;
  const key = await fetch(server.url + '/api/v0/chat/push/public-key', { headers: { authorization: 'Bearer ' + server.token('x') } });
  const order = await makeOrder(server);
  const mute = await fetch(`${server.url}/api/v0/chat/orders/${order.id}/notifications`, { headers: { authorization: 'Bearer ' + server.token(order.customer.id) } });
  serverHas.endpoints = key.status !== 404 && mute.status !== 404;
});
after(async () => {
  await Promise.allSettled(opened.map((s) => s.context.close()));
  await browser?.close();
  await server?.stop();
});

async function open(order, user, o = {}) {
  const origin = new URL(server.url).origin;
  const side = await openChat(browser, server, order, user, {
    ...o,
    before: async (context, page) => {
      if (o.grant !== false) await context.grantPermissions(['notifications'], { origin });
      if (o.before) await o.before(context, page);
    },
  });
  opened.push(side);
  return side;
}

const bellState = (page) => page.getAttribute('#notify-toggle', 'data-state');

test('/sw.js is served as JavaScript with Service-Worker-Allowed: /', async (t) => {
  if (!serverHas.sw) { t.skip('the server does not serve /sw.js yet'); return; }
  const res = await fetch(server.url + '/sw.js');
  assert.match(res.headers.get('content-type'), /^text\/javascript/);
  assert.equal(res.headers.get('service-worker-allowed'), '/');
});

test('with the permission denied the bell shows the blocked state and says how to fix it', async () => {
  const order = await makeOrder(server);
  const side = await open(order, order.customer, {
    grant: false,
    before: async (context, page) => {
      // The override belongs to the page's browser context (Playwright's contexts are separate
      // browser contexts in Chromium): name it, or the default context gets it.
      const cdp = await context.newCDPSession(page);
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
      await cdp.send('Browser.setPermission', {
        permission: { name: 'notifications' }, setting: 'denied',
        origin: new URL(server.url).origin, browserContextId: targetInfo.browserContextId,
      });
    },
  });
  const { page } = side;
  await eventually(async () => (await bellState(page)) === 'blocked', {
    message: 'the blocked state',
  }).catch(async (e) => {
    const seen = await page.evaluate(() => ({ permission: Notification.permission }));
    throw new Error(`${e.message}: bell ${await bellState(page)}, ${JSON.stringify(seen)}`);
  });
  assert.equal(await page.getAttribute('#notify-toggle', 'aria-pressed'), 'false');
  assert.equal(await page.getAttribute('#notify-toggle', 'aria-label'), 'Notify me of new messages in this chat');
  await page.focus('#notify-toggle');
  await page.keyboard.press('Enter');
  const note = page.locator('#notify-note');
  await note.waitFor({ state: 'visible' });
  assert.match(await note.textContent(), /blocked for this site.*site’s settings/);
  assert.deepEqual(side.pageErrors, []);
});

test('the bell: on registers /sw.js (scope /), says push is not available here, unmutes; off mutes', async (t) => {
  if (!serverHas.sw || !serverHas.endpoints) { t.skip('the server does not have /sw.js and the §14 endpoints yet'); return; }
  const order = await makeOrder(server);
  const { page, context } = await open(order, order.customer);
  const origin = new URL(server.url).origin;
  await eventually(async () => ['off', 'muted'].includes(await bellState(page)), { message: 'the first state' });
  const puts = [];
  page.on('request', (r) => { if (r.method() === 'PUT' && r.url().endsWith('/notifications')) puts.push(JSON.parse(r.postData())); });
  await page.click('#notify-toggle');
  await eventually(async () => ['on', 'unavailable'].includes(await bellState(page)), { timeout: 30000, message: 'turned on' });
  const reg = await page.evaluate(async () => {
    const r = await navigator.serviceWorker.ready;
    return { scope: r.scope, script: r.active.scriptURL, state: r.active.state };
  });
  assert.deepEqual(reg, { scope: origin + '/', script: origin + '/sw.js', state: 'activated' });
  if ((await bellState(page)) === 'unavailable') {
    assert.match(await page.locator('#notify-note').textContent(), /^Push is not available in this browser/);
  }
  assert.deepEqual(puts.at(-1), { muted: false });
  const token = server.token(order.customer.id);
  const got = await server.rest('GET', `/orders/${order.id}/notifications`, token);
  assert.equal((got.body?.data ?? got.data ?? got).muted ?? got.json?.data?.muted, false, JSON.stringify(got));
  assert.equal(await page.getAttribute('#notify-toggle', 'aria-pressed'), 'true');
  await page.click('#notify-toggle');
  await eventually(async () => (await bellState(page)) === 'muted', { message: 'muted' });
  assert.deepEqual(puts.at(-1), { muted: true });
  assert.equal(await page.getAttribute('#notify-toggle', 'aria-pressed'), 'false');

  // Pushes, delivered to the real worker through the DevTools protocol.
  const cdp = await context.newCDPSession(page);
  const regs = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  const registrationId = await eventually(() => regs.find((r) => !r.isDeleted && r.scopeURL === origin + '/')?.registrationId, { message: 'the registration id' });
  const push = (p) => cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(p) });
  const shown = () => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
  const url = `/chat.html?orderId=${order.id}&userId=${order.customer.id}`;
  await push({ title: `Order #${order.number}`, body: 'Tunde Bello: ripe?', orderId: order.id, url, tag: `order-${order.id}` });
  await eventually(async () => (await shown()).length === 1, { message: 'a notification' });
  assert.deepEqual(await shown(), [{ title: `Order #${order.number}`, body: 'Tunde Bello: ripe?', tag: `order-${order.id}` }]);
  await push({ title: `Order #${order.number}`, body: '2 new messages · Tunde Bello: yes', orderId: order.id, url, tag: `order-${order.id}` });
  await eventually(async () => (await shown())[0]?.body.startsWith('2 new'), { message: 'the replacement' });
  assert.equal((await shown()).length, 1, 'the same tag replaces the last one');
  const before = (await shown()).length;
  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: 'not json' });
  await eventually(async () => (await shown()).some((n) => n.title === 'New message'), { message: 'the generic notification' });
  assert.equal((await shown()).length, before + 1);
});
