// The chat page to WCAG 2.2 AA, in Chromium: axe-core (npm) finds no serious or critical
// violation on a desktop and at 360 px (also with the Leave dialog open and in a failure
// state); and what axe cannot see: the composer has the focus on open, new messages, receipts
// and typing are said in words by a polite live region, every message names its sender for
// assistive technology (the follow-ups of a run too), icon buttons have names, focus is
// visible, and Leave asks first (labelled with a word on a phone too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, typeAndSend, waitForMessage, bubble, axeViolations, artifact, cspViolations,
} from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
const NO_LIMITS = lib.NO_LIMITS || {};
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2 };
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

async function open(order, user, o = {}) {
  const side = await openChat(browser, server, order, user, o);
  opened.push(side);
  return side;
}

/** The lines the polite live region said, oldest first. */
const announced = (page) => page.$$eval('#chat-announcer p', (ps) => ps.map((p) => p.textContent));

async function waitAnnounced(page, text, timeout = 5000) {
  await page.waitForFunction((t) => [...document.querySelectorAll('#chat-announcer p')].some((p) => p.textContent === t),
    text, { timeout, polling: 'raf' });
}

function assertNoViolations(violations, where) {
  assert.deepEqual(violations, [], `axe (${where}):\n${JSON.stringify(violations, null, 2)}`);
}

/** A short conversation with a run of two messages from the agent, a reply and a reaction. */
async function conversation(o = {}) {
  const order = await makeOrder(server);
  const customer = await open(order, order.customer, o.customer);
  const agent = await open(order, order.agents[0], o.agent);
  await typeAndSend(customer.page, 'Hi Tunde, are the plantains ripe? 🍌');
  await waitForMessage(agent.page, 'Hi Tunde, are the plantains ripe? 🍌');
  await typeAndSend(agent.page, 'Yes, nice and yellow.');
  await typeAndSend(agent.page, 'Shall I take six?');
  await waitForMessage(customer.page, 'Shall I take six?');
  return { order, customer, agent };
}

test('the live region says new messages, typing and receipts in words; the composer has the focus on open', async () => {
  const order = await makeOrder(server);
  const customer = await open(order, order.customer);
  assert.equal(await customer.page.evaluate(() => document.activeElement && document.activeElement.id), 'message-input',
    'the composer is focused on open');
  const region = customer.page.locator('#chat-announcer');
  assert.equal(await region.getAttribute('aria-live'), 'polite');
  assert.equal(await customer.page.getAttribute('#message-container', 'aria-live'), null,
    'the list itself is not live (its bubbles would be read out with their buttons)');

  const agent = await open(order, order.agents[0]);
  // Typing, as words.
  await agent.page.type('#message-input', 'Yes');
  await waitAnnounced(customer.page, 'Tunde is typing…');
  await agent.page.press('#message-input', 'Enter');
  // A new message from the other side: sender and text.
  await waitAnnounced(customer.page, 'Tunde Bello: Yes');
  // A receipt: the agent's page shows the customer's message, the customer hears who read it.
  await typeAndSend(customer.page, 'Great, thank you');
  await waitForMessage(agent.page, 'Great, thank you');
  await waitAnnounced(customer.page, 'Read by Tunde Bello');
  const own = bubble(customer.page, 'Great, thank you');
  assert.equal(await own.locator('.msg__status .visually-hidden').textContent(), 'Read by Tunde Bello');
  // One's own messages are not announced back.
  assert.ok(!(await announced(customer.page)).some((t) => t.startsWith('Ada Obi:')), JSON.stringify(await announced(customer.page)));
  for (const s of [customer, agent]) {
    assert.deepEqual(s.pageErrors, []);
    assert.deepEqual(cspViolations(s), []);
  }
});

test('every message names its sender for assistive technology, the follow-ups of a run too', async () => {
  const { customer } = await conversation();
  const second = bubble(customer.page, 'Shall I take six?');
  assert.match(await second.getAttribute('class'), /msg--cont/, 'a follow-up of a run');
  // Not shown again, but in the accessibility tree.
  const snapshot = await second.ariaSnapshot();
  assert.match(snapshot, /Tunde Bello/, snapshot);
  assert.match(snapshot, /Agent/, snapshot);
  const box = await second.locator('.msg__meta').boundingBox();
  assert.ok(box && box.width <= 1 && box.height <= 1, 'visually hidden, not display:none');
  const first = await bubble(customer.page, 'Yes, nice and yellow.').ariaSnapshot();
  assert.match(first, /Tunde Bello/);
});

test('icon buttons have names, focus is visible, Leave asks first', async () => {
  const { customer, agent } = await conversation();
  const page = customer.page;
  // Every button has a name (axe checks it too); the icon-only ones by aria-label.
  const unnamed = await page.$$eval('button:not([hidden])', (bs) => bs
    .filter((b) => b.offsetParent !== null)
    .filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim() || b.getAttribute('aria-labelledby')))
    .map((b) => b.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  assert.equal(await page.getAttribute('#send-button', 'aria-label'), 'Send message');
  assert.equal(await page.getAttribute('#attach-button', 'aria-label'), 'Attach a photo or file');

  // Focus is visible on what the keyboard reaches: an outline or a solid ring.
  await page.focus('#message-input');
  const rings = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Shift+Tab');
    rings.push(await page.evaluate(() => {
      const el = document.activeElement;
      const cs = getComputedStyle(el);
      const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || (cs.boxShadow && cs.boxShadow !== 'none');
      return { what: el.id || el.className || el.tagName, ring };
    }));
  }
  const missing = rings.filter((r) => !r.ring);
  assert.deepEqual(missing, [], `focus visible on each: ${JSON.stringify(rings)}`);

  // Leave: a dialog first; Esc keeps the chat and gives the focus back to Leave.
  await page.click('#leave-button');
  const dialog = page.locator('#leave-dialog');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement.value), 'stay', 'Stay has the focus');
  assertNoViolations(await axeViolations(page), 'the Leave dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'leave-button');
  assert.equal(await page.getAttribute('#connection-banner', 'data-state'), 'connected', 'still in the chat');
  // "Stay" keeps it too.
  await page.click('#leave-button');
  await page.click('#leave-dialog button[value="stay"]');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.getAttribute('#connection-banner', 'data-state'), 'connected');
  // "Leave chat" leaves; the other side hears of it.
  await page.click('#leave-button');
  await page.click('#leave-dialog button[value="leave"]');
  await page.waitForSelector('#connection-banner[data-state="left"]', { state: 'attached' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'connection-action', 'the focus goes to Rejoin');
  await agent.page.locator('#message-container .notice[data-kind="left"]').first().waitFor({ timeout: 5000 });
  assert.deepEqual(customer.dialogs, [], 'no browser dialog: the page\'s own');
});

test('axe-core: no serious or critical violation on a desktop and at 360 px, nor in a failure state', async () => {
  const { order, customer, agent } = await conversation({ agent: PHONE });
  assertNoViolations(await axeViolations(customer.page), 'desktop');
  assertNoViolations(await axeViolations(agent.page), '360 px');

  // On a phone Leave is labelled with a word, and it fits.
  const label = agent.page.locator('#leave-button .button__label');
  const box = await label.boundingBox();
  assert.ok(box && box.width > 20, 'the word "Leave" is shown at 360 px');
  assert.equal(await label.textContent(), 'Leave');
  const leave = await agent.page.locator('#leave-button').boundingBox();
  assert.ok(leave.x + leave.width <= 360, `Leave fits in 360 px (${JSON.stringify(leave)})`);
  await agent.page.click('#leave-button');
  await agent.page.locator('#leave-dialog').waitFor({ state: 'visible' });
  assertNoViolations(await axeViolations(agent.page), 'the Leave dialog at 360 px');
  await agent.page.screenshot({ path: artifact('leave-dialog-360.png') });
  await agent.page.keyboard.press('Escape');

  // A final state (a bad token) and the dark scheme.
  const refused = await open(order, order.customer, { token: 'not-a-jwt', waitJoined: false, colorScheme: 'dark' });
  await refused.page.waitForSelector('#chat-error:not([hidden])');
  assertNoViolations(await axeViolations(refused.page), 'a bad token, dark');
  const dark = await open(order, order.customer, { ...PHONE, colorScheme: 'dark' });
  await waitForMessage(dark.page, 'Shall I take six?');
  assertNoViolations(await axeViolations(dark.page), '360 px, dark');
  for (const s of [customer, agent, refused, dark]) assert.deepEqual(s.pageErrors, []);
});
