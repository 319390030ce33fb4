// The README's screenshots, made by the suite so that they show the page as it is: a short
// conversation (a run of messages, a reply, a reaction, emoji, read receipts, the other side
// typing) on a desktop (the customer) and at 360 px (the agent), and a failure state. Written to
// docs/screenshots/ (the README links them) as well as tests/js/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from '../lib/server.mjs';
import { launchBrowser, openChat, typeAndSend, waitForMessage, bubble, artifact } from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
const NO_LIMITS = lib.NO_LIMITS || {};
const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'screenshots');
let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer({ env: NO_LIMITS }), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Save a screenshot under tests/js/artifacts/ and docs/screenshots/. */
async function shoot(page, name) {
  const path = artifact(name);
  await page.screenshot({ path });
  mkdirSync(DOCS, { recursive: true });
  copyFileSync(path, join(DOCS, name));
  assert.ok(statSync(join(DOCS, name)).size > 5000, `${name} has content`);
}

test('the README screenshots: a conversation on a desktop and at 360 px, a failure state', async () => {
  const order = await makeOrder(server, { customer: { id: lib.uid('cust'), name: 'Ada Obi' }, agents: [{ id: lib.uid('agent'), name: 'Tunde Bello' }] });
  const customer = await openChat(browser, server, order, order.customer, { viewport: { width: 900, height: 640 } });
  const agent = await openChat(browser, server, order, order.agents[0], {
    viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2,
  });
  await typeAndSend(customer.page, 'Hi Tunde! Could you get ripe plantains? 🍌');
  await typeAndSend(customer.page, 'And a small bag of tomatoes 🍅');
  await waitForMessage(agent.page, 'And a small bag of tomatoes 🍅');
  await typeAndSend(agent.page, 'Hello Ada 👋 On it.');
  await typeAndSend(agent.page, 'The plantains are nice and yellow. Six of them?');
  await waitForMessage(customer.page, 'The plantains are nice and yellow. Six of them?');
  // A reply (through the page's own API, as the reply button would) and a reaction.
  const target = await bubble(customer.page, 'The plantains are nice and yellow. Six of them?').getAttribute('data-id');
  await customer.page.evaluate((id) => window.chatClient.sendMessage('Six is perfect, thank you!', { replyToId: id }), target);
  await waitForMessage(agent.page, 'Six is perfect, thank you!');
  const reacted = await agent.page.evaluate(async (text) => {
    const m = window.chatClient.timeline.list().find((x) => x.message === text);
    const ack = await window.chatClient.socket.timeout(5000).emitWithAck('add-reaction', { orderId: m.orderId, messageId: m.id, emoji: '👍' });
    return ack && ack.ok;
  }, 'Six is perfect, thank you!');
  assert.equal(reacted, true);
  await bubble(customer.page, 'Six is perfect, thank you!').locator('.reaction').waitFor();
  // Both sides have read everything; the agent is typing.
  await bubble(customer.page, 'Six is perfect, thank you!').and(customer.page.locator('[data-status="read"]')).waitFor();
  await agent.page.type('#message-input', 'Paying now');
  await customer.page.locator('#typing-indicator:not([hidden])').waitFor();
  await customer.page.locator('#connection-banner.banner--hidden').waitFor({ state: 'attached' });
  await agent.page.locator('#connection-banner.banner--hidden').waitFor({ state: 'attached' });
  await customer.page.evaluate(() => document.activeElement && document.activeElement.blur());
  await shoot(customer.page, 'chat-desktop.png');
  await shoot(agent.page, 'chat-mobile.png');

  const refused = await openChat(browser, server, order, order.customer, {
    token: 'not-a-jwt', waitJoined: false, viewport: { width: 360, height: 640 }, isMobile: true, deviceScaleFactor: 2,
  });
  await refused.page.waitForSelector('#chat-error:not([hidden])');
  await shoot(refused.page, 'chat-refused.png');
  for (const s of [customer, agent, refused]) {
    assert.deepEqual(s.pageErrors, []);
    await s.context.close();
  }
});
