// Notifications on the page (PROTOCOL §14), in a real Chromium against the real binary: the
// service worker from /sw.js, pushes delivered to it, clicks on its notifications, the bell.
// What is real and what is triggered:
// - the worker registers and activates for real (the page's own code, from /sw.js, scope /);
// - headless Chromium has no push service, so pushes are handed to the worker through the
//   DevTools protocol (ServiceWorker.deliverPushMessage): the worker's real `push` handler runs
//   and shows real notifications, read back with registration.getNotifications() once they are
//   on display (see the note in the bell's test);
// - the clicks are real clicks as far as Chromium can tell. The DevTools protocol has no command
//   that clicks a notification, and a synthetic NotificationEvent would be untrusted (no
//   waitUntil, no right to open or focus a window). Chromium on Linux shows notifications
//   through the desktop's notification service (org.freedesktop.Notifications on the D-Bus
//   session bus), headless too; this file gives its browsers a private bus with a stand-in
//   service on it (startNotificationDesktop, browser-helpers.mjs), which receives Chromium's
//   real notification and, for the click, sends the `ActionInvoked(id, "default")` signal a
//   desktop sends when the user clicks it. Chromium then dispatches a trusted
//   `notificationclick` to the worker, whose unchanged handler focuses or opens the window, and
//   the test checks the windows. Triggered: the push (as above) and that one signal. These
//   tests run in a regular on-disk profile (launchProfile): a click on a notification of
//   Playwright's off-the-record contexts (`browser.newContext()`) reaches no worker. Playwright
//   emulates focus on every page (all say they have it), so the pages whose focus is checked
//   have that emulation turned off (Emulation.setFocusEmulationEnabled).
// - the bell's REST calls are real; `pushManager.subscribe` fails in a Playwright context (an
//   off-the-record profile: "AbortError: Registration failed - permission denied"), and the page
//   says "Push is not available in this browser", which is what is asserted.
// The tests that need the server's /sw.js and §14 endpoints skip, saying so, while the server
// does not have them; the click tests skip, saying so, without dbus-daemon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import { joinAs, say } from '../lib/chat.mjs';
import {
  launchBrowser, launchProfile, startNotificationDesktop, openChat, chatUrl, waitJoined, waitForMessage, eventually,
} from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
let server;
let browser;
let serverHas = { sw: false, endpoints: false };
const opened = [];
let desktop = null; // the stand-in notification service both browsers show notifications on
let clicking = null; // the click tests' browser (clickSetup)

before(async () => {
  desktop = await startNotificationDesktop();
  const env = desktop ? { DBUS_SESSION_BUS_ADDRESS: desktop.address } : {};
  [server, browser] = await Promise.all([startServer({ env: lib.NO_LIMITS || {} }), launchBrowser({ env })]);
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
  if (clicking) {
    const c = await clicking.catch(() => null);
    await c?.context?.close().catch(() => {});
  }
  await desktop?.stop();
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
  // Blocked must not look like muted (both show the slashed bell): a copy of the bell in the
  // muted state, next to it, is drawn in other colours (not only fainter).
  const looks = await page.evaluate(() => {
    const bell = document.querySelector('#notify-toggle');
    const copy = bell.cloneNode(true);
    copy.removeAttribute('id');
    copy.dataset.state = 'muted';
    bell.after(copy);
    const draw = (b) => { const s = getComputedStyle(b); return [s.color, s.backgroundColor]; };
    const seen = { blocked: draw(bell), muted: draw(copy) };
    copy.remove();
    return seen;
  });
  assert.notDeepEqual(looks.blocked, looks.muted, `blocked and muted look alike: ${JSON.stringify(looks)}`);
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
  // getNotifications() is read only once the notification is on display: a read that starts
  // while one is being shown deletes it from Chromium's database for good (it keeps only what
  // the platform already displays, platform_notification_context_impl.cc), and every later read
  // lists nothing (this test lost a push that way once in 10 to 30 runs). On display: the
  // desktop's notification service has it (without dbus-daemon: a second later).
  const onDisplay = (pred) => (desktop ? desktop.waitFor(pred) : new Promise((r) => setTimeout(r, 1000)));
  const title = `Order #${order.number}`;
  const url = `/chat.html?orderId=${order.id}&userId=${order.customer.id}`;
  await push({ title, body: 'Tunde Bello: ripe?', orderId: order.id, url, tag: `order-${order.id}` });
  const first = await onDisplay((n) => n.summary === title);
  assert.deepEqual(await shown(), [{ title, body: 'Tunde Bello: ripe?', tag: `order-${order.id}` }]);
  await push({ title, body: '2 new messages · Tunde Bello: yes', orderId: order.id, url, tag: `order-${order.id}` });
  await onDisplay((n) => n === first && n.body.endsWith('2 new messages · Tunde Bello: yes'));
  assert.deepEqual(await shown(), [{ title, body: '2 new messages · Tunde Bello: yes', tag: `order-${order.id}` }], 'the same tag replaces the last one');
  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: 'not json' });
  await onDisplay((n) => n.summary === 'New message' && n.body.startsWith(new URL(origin).host) && n.body.endsWith('Open the chat to read it.'));
  assert.deepEqual((await shown()).map((n) => n.title).sort(), ['New message', title]);
});

// --- Clicks on notifications (see the header: the desktop's notification service, D-Bus) ---

/** A page of `context` at `url` (recording its errors), once it has joined the chat. */
async function pageAt(context, url) {
  const page = await context.newPage();
  const side = { page, pageErrors: [] };
  page.on('pageerror', (e) => side.pageErrors.push(String(e)));
  page.on('dialog', (d) => d.dismiss().catch(() => {}));
  await page.goto(url);
  await waitJoined(page);
  return side;
}

/** Turn off Playwright's focus emulation for `page`: document.hasFocus() then tells the truth. */
async function realFocus(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
  await page.evaluate(() => {
    window.focusEvents = [];
    window.addEventListener('focus', () => window.focusEvents.push('focus'));
    window.addEventListener('blur', () => window.focusEvents.push('blur'));
  });
}
const hasFocus = (page) => page.evaluate(() => document.hasFocus());

/** What the server's push for a message of `order` to `user` holds (src/service/notify.rs). */
const payloadFor = (order, user, body) => ({
  title: `Order #${order.number}`, body, orderId: order.id,
  url: `/chat.html?${new URLSearchParams({ orderId: order.id, userId: user.id })}`, tag: `order-${order.id}`,
});

/**
 * Once for the click tests: the stand-in desktop, Chromium with a profile on its bus, one
 * customer, and the chat of one of their orders (`home`) where the bell registered /sw.js.
 * Resolves with `{context, origin, customer, home, homeOrder, push(payload)}`, or with
 * `{skip}` saying why the tests cannot run.
 */
function clickSetup() {
  clicking ||= (async () => {
    if (!desktop) return { skip: 'dbus-daemon is not installed (apt-get install dbus-daemon): no notification service to click on' };
    const context = await launchProfile({ env: { DBUS_SESSION_BUS_ADDRESS: desktop.address } });
    const origin = new URL(server.url).origin;
    await context.grantPermissions(['notifications'], { origin });
    const customer = { id: lib.uid('cust'), name: 'Ada Obi' };
    const homeOrder = await makeOrder(server, { customer });
    const home = await pageAt(context, chatUrl(server, homeOrder, customer));
    // The page's own bell registers the worker (subscribing fails here too: no push service).
    await home.page.click('#notify-toggle');
    await eventually(async () => ['on', 'unavailable'].includes(await bellState(home.page)), { timeout: 30000, message: 'the bell turned on' });
    await home.page.evaluate(() => navigator.serviceWorker.ready);
    const cdp = await context.newCDPSession(home.page);
    const regs = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    const registrationId = await eventually(() => regs.find((r) => !r.isDeleted && r.scopeURL === origin + '/')?.registrationId, { message: 'the registration id' });
    const push = (p) => cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(p) });
    return { context, origin, customer, home, homeOrder, push };
  })();
  return clicking;
}

/** The worker's notifications as `registration.getNotifications()` has them. */
const workerNotifications = (page) => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
  .map((n) => ({ title: n.title, tag: n.tag })));

test('a click on the notification focuses the window already showing that chat, and opens none', async (t) => {
  if (!serverHas.sw) { t.skip('the server does not serve /sw.js yet'); return; }
  const c = await clickSetup();
  if (c.skip) { t.skip(c.skip); return; }
  const { context, customer, home, homeOrder, push } = c;
  // Another chat of the same customer, in front: the one with the focus.
  const other = await pageAt(context, chatUrl(server, await makeOrder(server, { customer }), customer));
  await realFocus(context, home.page);
  await realFocus(context, other.page);
  await other.page.bringToFront();
  await eventually(async () => (await hasFocus(other.page)) && !(await hasFocus(home.page)), { message: 'the other chat in front' });
  const pagesBefore = context.pages().length;
  const newPages = [];
  context.on('page', (p) => newPages.push(p));
  const homeUrl = home.page.url();

  await push(payloadFor(homeOrder, customer, 'Tunde Bello: ripe?'));
  const n = await desktop.waitFor((x) => x.summary === `Order #${homeOrder.number}` && !x.closed);
  assert.match(n.body, /Tunde Bello: ripe\?$/, 'the notification Chromium gave the desktop');
  assert.ok(n.actions.includes('default'), `a notification the user can click: ${JSON.stringify(n.actions)}`);
  assert.deepEqual(await workerNotifications(home.page), [{ title: `Order #${homeOrder.number}`, tag: `order-${homeOrder.id}` }]);

  await home.page.evaluate(() => { window.focusEvents = []; });
  desktop.click(n.id);
  await eventually(async () => (await hasFocus(home.page)) && !(await hasFocus(other.page)), {
    message: 'the chat of the order focused',
  }).catch(async (e) => {
    throw new Error(`${e.message}: home ${await hasFocus(home.page)}, other ${await hasFocus(other.page)}, pages ${context.pages().map((p) => p.url())}`);
  });
  assert.deepEqual(await home.page.evaluate(() => window.focusEvents), ['focus'], 'the window got the focus');
  assert.equal(n.closed, true, 'the handler closed the notification');
  assert.deepEqual(await workerNotifications(home.page), []);
  await new Promise((r) => setTimeout(r, 1000)); // room for a wrong openWindow to show up
  assert.deepEqual(newPages.map((p) => p.url()), [], 'no new window');
  assert.equal(context.pages().length, pagesBefore);
  assert.equal(home.page.url(), homeUrl, 'the chat stays where it was');
  assert.deepEqual([...home.pageErrors, ...other.pageErrors], []);
  await other.page.close();
});

test('a click on the notification with no window showing that chat opens it, and it shows the chat', async (t) => {
  if (!serverHas.sw) { t.skip('the server does not serve /sw.js yet'); return; }
  const c = await clickSetup();
  if (c.skip) { t.skip(c.skip); return; }
  const { context, customer, home, push } = c;
  const order = await makeOrder(server, { customer });
  const agent = await joinAs(server, order.agents[0].id, order.id);
  await say(agent, order.id, 'Your basket is packed');
  agent.close();
  const before = context.pages().map((p) => p.url());
  assert.ok(!before.some((u) => new URL(u).searchParams.get('orderId') === order.id), `no window shows this chat: ${before}`);

  await push(payloadFor(order, customer, 'Tunde Bello: Your basket is packed'));
  const n = await desktop.waitFor((x) => x.summary === `Order #${order.number}` && !x.closed);
  const opening = context.waitForEvent('page', { timeout: 10000 });
  desktop.click(n.id);
  const page = await opening;
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.waitForURL((u) => u.pathname === '/chat.html' && u.searchParams.get('orderId') === order.id, { timeout: 10000 });
  const u = new URL(page.url());
  assert.equal(u.origin, c.origin);
  assert.deepEqual(Object.fromEntries(u.searchParams), { orderId: order.id, userId: customer.id }, 'the payload url');
  // The page is that order's chat, signed in with the stored token: it joins, shows the order
  // and loads its messages.
  await waitJoined(page, 15000);
  await waitForMessage(page, 'Your basket is packed');
  assert.match(await page.textContent('#chat-title'), new RegExp(`Order ${order.number}$`));
  assert.equal(n.closed, true, 'the handler closed the notification');
  assert.deepEqual(context.pages().filter((p) => p !== page).map((p) => p.url()), before, 'the other windows stay as they were');
  assert.deepEqual(pageErrors, []);
  await page.close();
});
