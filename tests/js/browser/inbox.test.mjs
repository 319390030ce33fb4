// The inbox (chat.html without an orderId, PROTOCOL §15) in a real Chromium against the real
// binary: the user's chats with number, status, last message and unread badge, refreshed while
// the tab is visible, each opening its chat; and what it says when there is nothing to show.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, waitJoined, waitForMessage, eventually, artifact, cspViolations,
} from './browser-helpers.mjs';

const { startServer, makeOrder, uid } = lib;
const NO_LIMITS = lib.NO_LIMITS || {};

let server;
let browser;
const opened = [];

before(async () => {
  [server, browser] = await Promise.all([startServer({ env: NO_LIMITS }), launchBrowser()]);
});

after(async () => {
  await Promise.allSettled(opened.map((s) => s.context.close()));
  await browser?.close();
  await server?.stop();
});

function inboxUrl(token) {
  return `${server.url}/chat.html${token === null ? '' : `?${new URLSearchParams({ token })}`}`;
}

/** Open the inbox of `user` in a new browser context (token in the address, as an app link). */
async function openInbox(user, o = {}) {
  const token = o.token !== undefined ? o.token : server.token(user.id, { name: user.name });
  const side = await openChat(browser, server, null, user, { url: inboxUrl(token), waitJoined: false, ...o });
  opened.push(side);
  return side;
}

/** The rows shown, top to bottom. */
function rows(page) {
  return page.$$eval('#inbox-list .inbox-item', (items) => items.map((li) => ({
    orderId: li.querySelector('a').dataset.orderId,
    href: li.querySelector('a').getAttribute('href'),
    title: li.querySelector('.inbox-item__title').textContent,
    status: li.querySelector('.inbox-item__status')?.textContent ?? null,
    preview: li.querySelector('.inbox-item__preview').textContent,
    badge: li.querySelector('.badge .badge__count')?.textContent ?? null,
    badgeSpoken: li.querySelector('.badge .visually-hidden')?.textContent ?? null,
  })));
}

function assertClean(...sides) {
  for (const s of sides) {
    assert.deepEqual(s.dialogs, [], 'no dialog opened');
    assert.deepEqual(s.pageErrors, [], 'no uncaught page error');
    assert.deepEqual(cspViolations(s), [], 'no content security policy violation');
  }
}

const say = async (order, from, message) => {
  const res = await server.rest('POST', `/orders/${order.id}/messages`, server.token(from.id), { message });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.data;
};

test('the inbox lists both chats with badges, refreshes, and opens a chat', async () => {
  const customer = { id: uid('cust'), name: 'Ada Obi' };
  const groceries = await makeOrder(server, { customer, status: 'shopping' });
  const pharmacy = await makeOrder(server, { customer, status: 'delivery', agents: [{ id: uid('agent'), name: 'Bola Ade' }] });
  await say(groceries, groceries.agents[0], 'Found the plantains');
  await say(groceries, groceries.agents[0], 'Ripe or green?');
  await say(pharmacy, customer, 'Please ring the bell');

  const side = await openInbox(customer);
  const { page } = side;
  await page.locator('#inbox-list .inbox-item').nth(1).waitFor({ timeout: 10000 });
  // The token went to storage, not left in the address; the chat view is not shown.
  assert.ok(!page.url().includes('token='), page.url());
  assert.ok(await page.evaluate(() => localStorage.getItem('accessToken')));
  assert.equal(await page.isVisible('#message-container'), false);

  const first = await rows(page);
  const byId = Object.fromEntries(first.map((r) => [r.orderId, r]));
  assert.deepEqual(Object.keys(byId).sort(), [groceries.id, pharmacy.id].sort());
  assert.equal(byId[groceries.id].title, `Order ${groceries.number}`);
  assert.equal(byId[groceries.id].status, 'Shopping');
  assert.equal(byId[pharmacy.id].title, `Order ${pharmacy.number}`);
  assert.equal(byId[pharmacy.id].status, 'Delivery');
  // Unread: two from the agent on groceries, none on the pharmacy order (the customer wrote last).
  assert.equal(byId[groceries.id].badge, '2');
  assert.match(byId[groceries.id].badgeSpoken, /\b2 unread messages$/);
  assert.equal(byId[pharmacy.id].badge, null);
  assert.equal(byId[groceries.id].preview, 'Tunde Bello: Ripe or green?');
  assert.equal(byId[pharmacy.id].preview, 'You: Please ring the bell');
  // Links a screen reader announces with the count in words; the token is never in them.
  const link = page.getByRole('link', { name: new RegExp(`Order ${groceries.number}.*2 unread messages`) });
  assert.equal(await link.count(), 1);
  for (const r of first) assert.ok(!r.href.includes('token'), r.href);
  // Same order as the server's (newest activity first).
  const listed = await server.rest('GET', '/orders', server.token(customer.id));
  assert.deepEqual(first.map((r) => r.orderId), listed.body.data.orders.map((o) => o.orderId));
  assert.match(await page.innerText('#inbox-subtitle'), /2 unread messages in 1 chat/);

  // The pharmacy's agent writes: the open inbox shows it within a refresh, without a reload.
  await page.evaluate(() => { window.stillTheSamePage = true; });
  await say(pharmacy, pharmacy.agents[0], 'Your order is at the door');
  await eventually(async () => {
    const r = (await rows(page)).find((x) => x.orderId === pharmacy.id);
    return r.badge === '1' && r.preview === 'Bola Ade: Your order is at the door';
  }, { timeout: 12000, message: 'the inbox to show the new message' });
  assert.equal(await page.evaluate(() => window.stillTheSamePage), true, 'refreshed in place');
  assert.equal((await rows(page))[0].orderId, pharmacy.id, 'the newest activity moves to the top');
  await page.screenshot({ path: artifact('inbox.png') });
  // On a 360 px wide phone: nothing sticks out sideways.
  const phone = await openInbox(customer, { viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2 });
  await phone.page.locator(`#inbox-list a[data-order-id="${pharmacy.id}"] .badge`).waitFor({ timeout: 10000 });
  assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal overflow');
  await phone.page.screenshot({ path: artifact('inbox-mobile-360.png') });
  assertClean(phone);
  await phone.context.close();

  // Choosing it opens its chat, with the message there; the token stays out of the address.
  await page.click(`#inbox-list a[data-order-id="${pharmacy.id}"]`);
  await waitJoined(page);
  await waitForMessage(page, 'Your order is at the door');
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('orderId'), pharmacy.id);
  assert.equal(url.searchParams.has('token'), false);
  assert.match(await page.innerText('#chat-title'), new RegExp(pharmacy.number));

  // The header leads back; the chat just viewed has no unread badge any more.
  const back = page.getByRole('link', { name: 'All chats' });
  assert.equal(await back.count(), 1);
  await back.click();
  await page.locator(`#inbox-list a[data-order-id="${pharmacy.id}"]`).waitFor({ timeout: 10000 });
  await eventually(async () => (await rows(page)).find((x) => x.orderId === pharmacy.id).badge === null,
    { timeout: 12000, message: 'the read chat to lose its badge' });
  assert.equal((await rows(page)).find((x) => x.orderId === groceries.id).badge, '2');
  assertClean(side);
});

test('the inbox says so when there are no chats or the token is refused', async () => {
  const newcomer = { id: uid('cust'), name: 'New Customer' };
  const empty = await openInbox(newcomer);
  await empty.page.locator('#inbox-empty').waitFor({ timeout: 10000 });
  assert.match(await empty.page.innerText('#inbox-empty'), /^No chats yet/);
  assert.equal(await empty.page.locator('#inbox-list .inbox-item').count(), 0);
  await empty.page.screenshot({ path: artifact('inbox-empty.png') });

  const cases = [
    { token: 'not-a-jwt', text: 'Your access token is not valid: please sign in again to see your chats.' },
    { token: server.token(newcomer.id, {}, { expiresIn: -3600 }), text: 'Your session has expired: please sign in again to see your chats.' },
    { token: null, text: 'You are not signed in: open your chats from the app to see them here.' },
  ];
  for (const c of cases) {
    const side = await openInbox(newcomer, { token: c.token });
    await side.page.locator('#inbox-error').waitFor({ timeout: 10000 });
    assert.equal(await side.page.innerText('#inbox-error-text'), c.text);
    assert.equal(await side.page.isVisible('#inbox-retry'), false, 'no retry button for a refused token');
    assert.equal(await side.page.isVisible('#inbox-empty'), false);
    assertClean(side);
    await side.context.close();
  }
  assertClean(empty);
});

test('while the server cannot be reached the inbox says it is retrying, then recovers', async () => {
  const customer = { id: uid('cust'), name: 'Ada Obi' };
  const order = await makeOrder(server, { customer });
  const context = await browser.newContext();
  const page = await context.newPage();
  opened.push({ context, page });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The list request fails at the network level (as with the server down).
  await page.route('**/api/v0/chat/orders', (route) => route.abort('connectionrefused'));
  await page.goto(inboxUrl(server.token(customer.id)));
  await page.locator('#inbox-error').waitFor({ timeout: 10000 });
  assert.equal(await page.innerText('#inbox-error-text'), 'The chat server cannot be reached. Retrying…');
  assert.equal(await page.isVisible('#inbox-retry'), true);
  await page.screenshot({ path: artifact('inbox-offline.png') });

  await page.unroute('**/api/v0/chat/orders');
  await page.locator(`#inbox-list a[data-order-id="${order.id}"]`).waitFor({ timeout: 12000 });
  assert.equal(await page.isVisible('#inbox-error'), false);
  assert.deepEqual(errors, []);
});
