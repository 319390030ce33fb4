// The bundled chat page (web/chat.html, web/js/chat.js) in a real Chromium, customer and agent in
// two browser contexts, against the real binary. PROTOCOL.md section 7 and the list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';

const { startServer, makeOrder } = lib;
// Functional tests never meet the per-user abuse limits (when the server has them).
const NO_LIMITS = lib.NO_LIMITS || {};
import {
  launchBrowser, openChat, waitJoined, typeAndSend, waitForMessage, shownMessages, bubble,
  eventually, artifact, cspViolations,
} from './browser-helpers.mjs';

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

/** Open both sides of a new order. */
async function pair(o = {}) {
  const order = await makeOrder(server, o.order);
  const customer = await open(order, order.customer, o);
  const agent = o.agentToo === false ? null : await open(order, order.agents[0], o);
  return { order, customer, agent };
}

async function open(order, user, o = {}) {
  const side = await openChat(browser, server, order, user, o);
  opened.push(side);
  return side;
}

function assertClean(...sides) {
  for (const s of sides) {
    assert.deepEqual(s.dialogs, [], 'no dialog opened');
    assert.deepEqual(s.pageErrors, [], 'no uncaught page error');
    assert.deepEqual(cspViolations(s), [], 'no content security policy violation');
  }
}

test('customer and agent exchange messages both ways, with sender names', async () => {
  const { order, customer, agent } = await pair();

  // The token was stored and stripped from the address bar.
  assert.ok(!customer.page.url().includes('token='), customer.page.url());
  assert.ok(await customer.page.evaluate(() => localStorage.getItem('accessToken')));

  await typeAndSend(customer.page, 'Hi Tunde, please get ripe plantains');
  await waitForMessage(agent.page, 'Hi Tunde, please get ripe plantains');

  await agent.page.fill('#message-input', 'Sure! Two bunches?\nThey also have green ones.');
  await agent.page.click('#send-button');
  await waitForMessage(customer.page, 'Sure! Two bunches?\nThey also have green ones.');
  await typeAndSend(customer.page, 'Two bunches, ripe ones please 🙏');
  await waitForMessage(agent.page, 'Two bunches, ripe ones please 🙏');

  const onAgent = await shownMessages(agent.page);
  const onCustomer = await shownMessages(customer.page);
  const chat = (list) => list.filter((m) => !m.system).map((m) => [m.own, m.sender, m.text]);
  assert.deepEqual(chat(onCustomer), [
    [true, 'You', 'Hi Tunde, please get ripe plantains'],
    [false, order.agents[0].name, 'Sure! Two bunches?\nThey also have green ones.'],
    [true, 'You', 'Two bunches, ripe ones please 🙏'],
  ]);
  assert.deepEqual(chat(onAgent), [
    [false, order.customer.name, 'Hi Tunde, please get ripe plantains'],
    [true, 'You', 'Sure! Two bunches?\nThey also have green ones.'],
    [false, order.customer.name, 'Two bunches, ripe ones please 🙏'],
  ]);
  // Both see the same stored messages (same ids, same seqs).
  assert.deepEqual(onAgent.map((m) => m.id), onCustomer.map((m) => m.id));
  // The input is empty again and the time is shown.
  assert.equal(await customer.page.inputValue('#message-input'), '');
  assert.match(await bubble(customer.page, 'ripe plantains').locator('time').innerText(), /\d/);

  await customer.page.screenshot({ path: artifact('chat-customer.png') });
  await agent.page.screenshot({ path: artifact('chat-agent.png') });

  // The same chat on a 360 px wide phone: nothing sticks out sideways, the input bar is on screen.
  const phone = await open(order, order.customer, { viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2 });
  await waitForMessage(phone.page, 'Two bunches, ripe ones please 🙏');
  const layout = await phone.page.evaluate(() => {
    const bar = document.getElementById('composer').getBoundingClientRect();
    return { scrollWidth: document.documentElement.scrollWidth, barBottom: bar.bottom, barTop: bar.top, height: innerHeight };
  });
  assert.ok(layout.scrollWidth <= 360, `no horizontal overflow (${layout.scrollWidth})`);
  assert.ok(layout.barBottom <= layout.height + 1 && layout.barTop > layout.height / 2, JSON.stringify(layout));
  await phone.page.screenshot({ path: artifact('chat-mobile-360.png') });
  await phone.context.close();

  assertClean(customer, agent, phone);
});

test('the typing indicator shows on the other side and clears', async () => {
  const { order, customer, agent } = await pair();
  const indicator = agent.page.locator('#typing-indicator');
  assert.equal(await indicator.isVisible(), false);

  await customer.page.focus('#message-input');
  await customer.page.keyboard.type('Do they hav');
  await indicator.waitFor({ state: 'visible', timeout: 5000 });
  const first = order.customer.name.split(' ')[0];
  assert.equal((await indicator.innerText()).trim(), `${first} is typing…`);
  await customer.page.screenshot({ path: artifact('typing-customer.png') });
  await agent.page.screenshot({ path: artifact('typing-agent.png') });

  // Stopping: the customer's page sends isTyping:false after 3 s idle (and the agent's page
  // would drop it 3 s after the last event anyway).
  const stoppedAt = Date.now();
  await indicator.waitFor({ state: 'hidden', timeout: 8000 });
  assert.ok(Date.now() - stoppedAt >= 1500, 'not cleared at once');

  // Typing again, then sending: cleared as soon as the message arrives.
  await customer.page.keyboard.type('e eggs?');
  await indicator.waitFor({ state: 'visible', timeout: 5000 });
  await customer.page.keyboard.press('Enter');
  await waitForMessage(agent.page, 'Do they have eggs?');
  await indicator.waitFor({ state: 'hidden', timeout: 1500 });

  // The other direction too.
  await agent.page.focus('#message-input');
  await agent.page.keyboard.type('Yes');
  const back = customer.page.locator('#typing-indicator');
  await back.waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await back.innerText(), /^Tunde is typing…/);
  await agent.page.keyboard.press('Enter');
  await back.waitFor({ state: 'hidden', timeout: 1500 });
  assertClean(customer, agent);
});

test('read receipts: ✓ until the other side views the chat, then ✓✓', async () => {
  const { order, customer } = await pair({ agentToo: false });
  await typeAndSend(customer.page, 'Are the tomatoes fresh?');
  const first = bubble(customer.page, 'Are the tomatoes fresh?');
  await first.and(customer.page.locator('[data-status="sent"]')).waitFor();
  // The glyph for the eye, the words for assistive technology.
  assert.equal(await first.locator('.msg__status-icon').innerText(), '✓');
  assert.equal(await first.locator('.msg__status-icon').getAttribute('aria-hidden'), 'true');
  assert.equal(await first.locator('.msg__status .visually-hidden').textContent(), 'Sent');

  // The agent opens the chat: the page marks what it shows as read, the customer sees ✓✓.
  const agent = await open(order, order.agents[0]);
  await first.and(customer.page.locator('[data-status="read"]')).waitFor({ timeout: 5000 });
  assert.equal(await first.locator('.msg__status-icon').innerText(), '✓✓');
  assert.match(await first.locator('.msg__status').getAttribute('title'), /Read by Tunde Bello/);
  assert.equal(await first.locator('.msg__status .visually-hidden').textContent(), 'Read by Tunde Bello');

  // While the agent's tab is hidden nothing is marked read...
  await agent.page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await typeAndSend(customer.page, 'And the onions?');
  await waitForMessage(agent.page, 'And the onions?');
  const agentToken = server.token(order.agents[0].id);
  const unread = await server.rest('GET', `/unread?orderId=${order.id}`, agentToken);
  assert.equal(unread.body.data.count, 1, JSON.stringify(unread.body));
  const second = bubble(customer.page, 'And the onions?');
  assert.equal(await second.getAttribute('data-status'), 'sent');

  // ...until it is visible again.
  await agent.page.evaluate(() => {
    delete document.visibilityState; // back to the real getter
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await second.and(customer.page.locator('[data-status="read"]')).waitFor({ timeout: 5000 });
  await customer.page.screenshot({ path: artifact('read-receipts-customer.png') });
  // The agent's own view: no receipts on other people's messages.
  assert.equal(await agent.page.locator('.msg--other .msg__status').count(), 0);
  assertClean(customer, agent);
});

test('leaving (leaveChat() and closing the page) shows the notice on the other side', async () => {
  const { order, customer, agent } = await pair();
  const left = customer.page.locator('#message-container .notice[data-kind="left"]');
  assert.equal(await left.count(), 0);

  await agent.page.evaluate(() => window.chatClient.leaveChat());
  await left.first().waitFor({ timeout: 5000 });
  assert.match(await left.first().innerText(), /^Tunde Bello left the chat/);
  // The leaver's own page says so and cannot send.
  assert.equal(await agent.page.getAttribute('#connection-banner', 'data-state'), 'left');
  assert.equal(await agent.page.isDisabled('#message-input'), true);
  // The header of the customer shows the agent offline.
  await customer.page.locator('#chat-subtitle .person:not(.person--online)').first().waitFor();

  // Rejoining announces the agent again.
  await agent.page.click('#connection-action');
  await customer.page.locator('#message-container .notice[data-kind="joined"]').first().waitFor({ timeout: 5000 });
  await waitJoined(agent.page);
  assert.equal(await agent.page.isDisabled('#message-input'), false);

  // Closing the tab (beforeunload runs the cleanup) leaves too.
  await agent.page.close({ runBeforeUnload: true });
  await eventually(async () => (await left.count()) === 2, { timeout: 5000, message: 'second left notice' });
  assert.match(await left.nth(1).innerText(), /^Tunde Bello left the chat/);
  await customer.page.screenshot({ path: artifact('left-customer.png') });
  assertClean(customer, agent);
});

test('markup in a message is shown as text and runs nothing', async () => {
  const { order, customer, agent } = await pair();
  const attacks = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(2)</script><b>bold?</b>',
    '"><svg onload=alert(3)> & &amp; javascript:alert(4)',
  ];
  for (const text of attacks) await typeAndSend(customer.page, text);
  for (const side of [customer, agent]) {
    for (const text of attacks) await waitForMessage(side.page, text);
    const html = await side.page.evaluate(() => ({
      imgX: document.querySelectorAll('#message-container img[src="x"], #message-container img[src$="/x"]').length,
      scripts: document.querySelectorAll('#message-container script, #message-container svg, #message-container b').length,
      links: [...document.querySelectorAll('#message-container a')].map((a) => a.href),
    }));
    assert.deepEqual(html, { imgX: 0, scripts: 0, links: [] });
  }

  // An image message (https or loopback http URL) is shown as an image; a link in the text as a link.
  const imageUrl = `${server.url}/img/chat-icon.svg`;
  const token = server.token(order.agents[0].id);
  const sent = await server.rest('POST', `/orders/${order.id}/messages`, token,
    { message: 'Here is the receipt, see https://example.com/receipt?id=1.', imageUrl });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  await waitForMessage(customer.page, 'Here is the receipt, see https://example.com/receipt?id=1.');
  const img = customer.page.locator('#message-container .msg__image img');
  await img.waitFor();
  assert.equal(await img.getAttribute('src'), imageUrl);
  await eventually(() => img.evaluate((i) => i.complete && i.naturalWidth > 0), { message: 'image loaded' });
  const link = customer.page.locator('#message-container a.msg__link');
  assert.equal(await link.getAttribute('href'), 'https://example.com/receipt?id=1');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
  await customer.page.screenshot({ path: artifact('markup-customer.png') });
  assertClean(customer, agent);
});

test('a reload restores the history: same messages, in order, no duplicates', async () => {
  const { order, customer, agent } = await pair();
  const texts = ['one', 'two', 'three', 'four'];
  for (const [i, text] of texts.entries()) {
    const from = i % 2 ? agent : customer;
    await typeAndSend(from.page, text);
    await waitForMessage(customer.page, text);
    await waitForMessage(agent.page, text);
  }
  const beforeReload = await shownMessages(customer.page);
  assert.deepEqual(beforeReload.filter((m) => !m.system).map((m) => m.text), texts);

  await customer.page.reload();
  await waitJoined(customer.page);
  await waitForMessage(customer.page, 'four');
  const afterReload = await shownMessages(customer.page);
  assert.deepEqual(afterReload, beforeReload);
  const seqs = afterReload.map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length);
  // The reload used the stored token (it is no longer in the address).
  assert.ok(!customer.page.url().includes('token='));

  // And the chat goes on after the reload.
  await typeAndSend(customer.page, 'five');
  await waitForMessage(agent.page, 'five');
  await waitForMessage(customer.page, 'five');
  assert.equal((await shownMessages(customer.page)).filter((m) => m.text === 'five').length, 1);
  assertClean(customer, agent);
  void order;
});

test('older history loads when scrolling to the top', async () => {
  const order = await makeOrder(server);
  const tokens = [server.token(order.customer.id), server.token(order.agents[0].id)];
  const total = 72;
  for (let i = 1; i <= total; i++) {
    const res = await server.rest('POST', `/orders/${order.id}/messages`, tokens[i % 2], { message: `history ${i}` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const customer = await open(order, order.customer, { viewport: { width: 800, height: 600 } });
  await waitForMessage(customer.page, `history ${total}`);
  const firstPage = (await shownMessages(customer.page)).filter((m) => m.text.startsWith('history'));
  assert.equal(firstPage.length, 50);
  // At the bottom, with the newest message in view.
  assert.ok(await customer.page.evaluate(() => {
    const c = document.getElementById('message-container');
    return c.scrollHeight - c.scrollTop - c.clientHeight < 5;
  }));

  await customer.page.evaluate(() => { document.getElementById('message-container').scrollTop = 0; });
  await waitForMessage(customer.page, 'history 1');
  await customer.page.locator('#history-status', { hasText: 'beginning of the conversation' }).waitFor();
  const all = (await shownMessages(customer.page)).filter((m) => m.text.startsWith('history'));
  assert.deepEqual(all.map((m) => m.text), Array.from({ length: total }, (_, i) => `history ${i + 1}`));
  // The view stayed where the reader was (not thrown to the top or bottom).
  const scrollTop = await customer.page.evaluate(() => document.getElementById('message-container').scrollTop);
  assert.ok(scrollTop > 100, `kept position (scrollTop ${scrollTop})`);
  assertClean(customer);
});

test('system messages are styled apart; a closed order disables the input', async () => {
  const { order, customer, agent } = await pair();
  const update = (status) => server.putOrder(order.id, {
    orderNumber: order.number, status, customer: order.customer, agents: order.agents,
  });
  await update('delivery');
  const system = customer.page.locator('#message-container .msg--system');
  await system.first().waitFor({ timeout: 5000 });
  assert.match(await system.last().innerText(), /delivery/i);
  assert.equal(await system.locator('.msg__bubble').count(), 0);
  await customer.page.locator('#order-status', { hasText: 'Delivery' }).waitFor();
  assert.match(await customer.page.innerText('#chat-title'), new RegExp(order.number));

  await update('completed');
  await customer.page.waitForSelector('#message-input:disabled', { timeout: 5000 });
  await agent.page.waitForSelector('#message-input:disabled', { timeout: 5000 });
  assert.match(await customer.page.innerText('#chat-error'), /order is closed/i);
  const err = await customer.page.evaluate(() => window.chatClient.sendMessage('still there?').catch((e) => e.code));
  assert.equal(err, 'ORDER_CLOSED');
  await customer.page.screenshot({ path: artifact('closed-customer.png') });

  // A page opened later on the closed order shows the history read-only too.
  const late = await open(order, order.customer);
  await late.page.waitForSelector('#message-input:disabled', { timeout: 5000 });
  assertClean(customer, agent, late);
});

// Refusals (bad, expired or missing token, a blocked account, not a participant, unknown order)
// are in states.test.mjs: each one a final state.
