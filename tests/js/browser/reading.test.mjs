// Reading on the bundled page (PROTOCOL §15 "the page marks read what was shown"; issue 16) in a
// real Chromium against the real binary: the read marker moves only over messages that were on
// screen in a visible, focused tab, in order (the server's unread count and the sender's ✓✓
// say so); "N new" in the tab title; the unread divider when a chat opens, with the view
// starting there; the counter near the composer and the send button for blank or too long a
// text; "online" only while one's own connection is up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import { launchBrowser, openChat, eventually, artifact, cspViolations, waitForMessage, bubble, waitJoined } from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;

let server;
let browser;
const opened = [];

before(async () => {
  [server, browser] = await Promise.all([startServer({ env: lib.NO_LIMITS }), launchBrowser()]);
});

after(async () => {
  await Promise.allSettled(opened.map((s) => s.context.close()));
  await browser?.close();
  await server?.stop();
});

async function open(order, user, o = {}) {
  const side = await openChat(browser, server, order, user, { viewport: { width: 900, height: 600 }, ...o });
  opened.push(side);
  return side;
}

function assertClean(...sides) {
  for (const side of sides) {
    assert.deepEqual(side.dialogs, [], 'no dialog opened');
    assert.deepEqual(side.pageErrors, [], 'no uncaught page error');
    assert.deepEqual(cspViolations(side), [], 'no content security policy violation');
  }
}

const say = async (order, user, message) => {
  const r = await server.rest('POST', `/orders/${order.id}/messages`, server.token(user.id, { name: user.name }), { message });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.data;
};

/** The server's unread count of `user` in `order`. */
const unread = async (order, user) => (await server.rest('GET', `/unread?orderId=${order.id}`, server.token(user.id))).body.data.count;

/** Wait until the server's unread count is `n` (the page marked, or did not). */
const waitUnread = (order, user, n, message) => eventually(async () => (await unread(order, user)) === n, { message: message || `unread ${n}` });

/** Whether the message with `id` is inside the visible part of the list. */
const inView = (page, id) => page.evaluate((id) => {
  const node = document.querySelector(`#message-container .msg[data-id="${id}"]`);
  const c = document.getElementById('message-container').getBoundingClientRect();
  const r = node.getBoundingClientRect();
  return r.top >= c.top - 1 && r.bottom <= c.bottom + 1;
}, id);

/** The window loses (false) or gets back (true) the focus, as when another window is used. */
const setFocus = (page, focused) => page.evaluate((focused) => {
  if (focused) delete document.hasFocus; else document.hasFocus = () => false;
  window.dispatchEvent(new Event(focused ? 'focus' : 'blur'));
}, focused);

test('read only what was seen: scrolled away or an unfocused window marks nothing; the title counts new messages', async () => {
  const order = await makeOrder(server);
  const agentUser = order.agents[0];
  const customer = await open(order, order.customer);
  const agent = await open(order, agentUser);
  const cp = customer.page;
  for (let i = 1; i <= 20; i++) {
    // At a reader's pace: each one is drawn before the next comes.
    await say(order, agentUser, `Aisle note ${i}`);
    await waitForMessage(cp, `Aisle note ${i}`);
  }
  await waitUnread(order, order.customer, 0, 'what arrived at the bottom was seen');
  assert.equal(await cp.title(), `Order ${order.number} · Chat`);

  // Scrolled up: a new message is not on screen, so it stays unread; the title says so.
  await cp.evaluate(() => { document.getElementById('message-container').scrollTop = 0; });
  const question = await say(order, agentUser, 'Are you there?');
  await waitForMessage(cp, 'Are you there?');
  await cp.locator('#jump-latest').waitFor();
  assert.equal(await inView(cp, question.id), false);
  await eventually(async () => (await cp.title()) === `1 new · Order ${order.number} · Chat`, { message: 'the title counts it' });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await unread(order, order.customer), 1, 'not marked while not shown');
  assert.equal(await bubble(agent.page, 'Are you there?').getAttribute('data-status'), 'sent', 'the agent sees ✓, not ✓✓');
  await cp.screenshot({ path: artifact('reading-scrolled-up.png') });

  // Shown: marked, the agent sees ✓✓, the title is back.
  await cp.click('#jump-latest');
  await waitUnread(order, order.customer, 0, 'marked once shown');
  await bubble(agent.page, 'Are you there?').and(agent.page.locator('[data-status="read"]')).waitFor();
  await eventually(async () => (await cp.title()) === `Order ${order.number} · Chat`, { message: 'the title without "new"' });

  // Another window has the focus: on screen is not seen.
  await setFocus(cp, false);
  await say(order, agentUser, 'Hello?');
  await say(order, agentUser, 'Ada?');
  await waitForMessage(cp, 'Ada?');
  await eventually(async () => (await cp.title()) === `2 new · Order ${order.number} · Chat`, { message: 'the title counts 2' });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await unread(order, order.customer), 2, 'not marked while unfocused');
  await setFocus(cp, true);
  await waitUnread(order, order.customer, 0, 'marked once focused');
  await eventually(async () => (await cp.title()) === `Order ${order.number} · Chat`, { message: 'the title without "new"' });
  assertClean(customer, agent);
});

test('opening a chat with unread messages: the divider before the first, the view starts there, read in order as scrolled', async () => {
  const order = await makeOrder(server);
  const agentUser = order.agents[0];
  for (let i = 1; i <= 3; i++) await say(order, agentUser, `Earlier ${i}`);
  const first = await open(order, order.customer);
  await waitUnread(order, order.customer, 0, 'the first visit read the three');
  assert.equal(await first.page.textContent('#unread-divider'), '3 unread messages');
  await first.context.close();
  // Nothing unread: no divider.
  const again = await open(order, order.customer);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await again.page.locator('#unread-divider').count(), 0, 'no divider when nothing is unread');
  await again.context.close();

  const updates = [];
  for (let i = 1; i <= 30; i++) updates.push(await say(order, agentUser, `Update ${i}`));
  const side = await open(order, order.customer);
  const { page } = side;
  const divider = page.locator('#unread-divider');
  await divider.waitFor();
  assert.equal(await divider.textContent(), '30 unread messages');
  assert.equal(await page.evaluate(() => document.getElementById('unread-divider').nextElementSibling.dataset.seq), String(updates[0].seq),
    'right before the first unread message');
  assert.equal(await inView(page, updates[0].id), true, 'the view starts at the first unread message');
  assert.equal(await inView(page, updates[29].id), false, 'not at the bottom');
  assert.equal(await page.isVisible('.unread-divider + .msg .msg__sender'), true, 'the first unread names its sender');
  await page.screenshot({ path: artifact('reading-divider.png') });
  // Only what is on screen was marked: some, not all.
  await eventually(async () => { const n = await unread(order, order.customer); return n > 0 && n < 30; }, { message: 'partly read' });
  assert.match(await page.title(), /^\d+ new · /);
  // A jump to the bottom skips messages that were never on screen: the marker stops before them.
  const partly = await unread(order, order.customer);
  await page.evaluate(() => { const c = document.getElementById('message-container'); c.scrollTop = c.scrollHeight; });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await unread(order, order.customer), partly, 'the newest were seen, but not those between');
  assert.equal(await bubble(page, 'Update 30').count(), 1);
  // Scrolling up through them, as a reader does, reads them.
  await page.evaluate(async () => {
    const c = document.getElementById('message-container');
    for (let top = c.scrollTop; top > 0; top -= 150) {
      c.scrollTop = top;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    }
  });
  await waitUnread(order, order.customer, 0, 'all read once scrolled through');
  await eventually(async () => (await page.title()) === `Order ${order.number} · Chat`, { message: 'the title without "new"' });
  assert.equal(await divider.count(), 1, 'the divider stays while the chat is open');
  assertClean(side);
});

test('the composer: a counter as the limit nears, the send button disabled for blank or too long a text', async () => {
  const order = await makeOrder(server);
  const side = await open(order, order.customer);
  const { page } = side;
  assert.equal(await page.isDisabled('#send-button'), true, 'nothing typed: nothing to send');
  await page.fill('#message-input', '   \n  ');
  assert.equal(await page.isDisabled('#send-button'), true, 'blank');
  await page.fill('#message-input', 'hi');
  assert.equal(await page.isEnabled('#send-button'), true);
  assert.equal(await page.isHidden('#composer-counter'), true, 'no counter far from the limit');

  await page.fill('#message-input', 'x'.repeat(3600));
  assert.equal(await page.textContent('#composer-counter'), '400 characters left');
  assert.equal(await page.isVisible('#composer-counter'), true);
  await page.fill('#message-input', '😀'.repeat(3990)); // one character each, as the server counts
  assert.equal(await page.textContent('#composer-counter'), '10 characters left');
  const long = 'y'.repeat(4005);
  await page.fill('#message-input', long);
  assert.equal(await page.textContent('#composer-counter'), '5 characters too many');
  assert.equal(await page.isDisabled('#send-button'), true);
  assert.equal(await page.getAttribute('#message-input', 'aria-invalid'), 'true');
  await page.press('#message-input', 'Enter');
  assert.equal(await page.inputValue('#message-input'), long, 'nothing cut, nothing lost');
  assert.equal(await page.locator('#message-container .msg--pending, #message-container .msg--own').count(), 0, 'nothing sent');
  await page.screenshot({ path: artifact('reading-counter.png') });
  await page.fill('#message-input', 'y'.repeat(4000));
  assert.equal(await page.textContent('#composer-counter'), '0 characters left');
  await page.press('#message-input', 'Enter');
  await eventually(() => page.evaluate(() => document.querySelectorAll('#message-container .msg--own[data-seq]').length === 1), { message: 'sent' });
  assert.equal(await page.isDisabled('#send-button'), true, 'empty again');
  assert.equal(await page.isHidden('#composer-counter'), true);
  assertClean(side);
});

test('"online" only while our own connection is up', async () => {
  const order = await makeOrder(server);
  const customer = await open(order, order.customer);
  const agent = await open(order, order.agents[0]);
  const person = customer.page.locator('#chat-subtitle .person');
  await eventually(async () => (await person.getAttribute('data-presence')) === 'online', { message: 'the agent online' });
  assert.equal(await person.textContent(), 'Tunde Bello, agent · online');

  await customer.page.evaluate(() => window.chatClient.socket.disconnect());
  await eventually(async () => (await person.getAttribute('data-presence')) === 'unknown', { message: 'presence unknown' });
  assert.equal(await person.textContent(), 'Tunde Bello, agent', 'neither online nor offline: not known');
  await customer.page.screenshot({ path: artifact('reading-presence-unknown.png') });

  await customer.page.evaluate(() => window.chatClient.socket.connect());
  await waitJoined(customer.page);
  await eventually(async () => (await person.getAttribute('data-presence')) === 'online', { message: 'online again' });
  assertClean(customer, agent);
});
