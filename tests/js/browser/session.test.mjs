// Sessions on the bundled page (PROTOCOL §15) in a real Chromium against the real binary. Tokens
// are signed 18 s in the past: the server accepts them for 30 s after exp, so each socket ends
// about 12 s after the token was made (less than the 60 s of warning: `session-expiring` comes
// at once).
// - With the app's hook (window.orderChatRefreshToken) the page renews the token on the live
//   socket (no reconnect), stores it and uses it for REST; the inbox renews a refused token.
// - Without a hook, or with one that gives a token the server refuses: one sentence says the
//   session is ending, then that it has expired; the composer is disabled and keeps the draft.
// - removed-from-order: "You are no longer on this order.", the composer disabled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import { launchBrowser, openChat, eventually, artifact, cspViolations, waitForMessage, typeAndSend } from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;

const ENDING = 'Your session is ending: reload the page to continue.';
const EXPIRED = 'Your session has expired. Reload the page to sign in again.';
const REMOVED = 'You are no longer on this order.';

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

/** How long a short token stays valid (its exp plus the server's 30 s leeway), in seconds. */
const LIFE_S = 12;
/** A token of `user` valid for LIFE_S more seconds. */
const shortToken = (user) => server.token(user.id, { name: user.name }, { expiresIn: LIFE_S - 30 });
/** Wait until `ms` after the short token of `side` stopped being valid. */
const pastEnd = (side, ms) => new Promise((r) => setTimeout(r, Math.max(0, side.endsAt + ms - Date.now())));
const END_TIMEOUT = (LIFE_S + 15) * 1000;

/**
 * Open the chat with a short token; `hookToken` (a token, or a list handed out in turn) makes
 * the page's window.orderChatRefreshToken return it; calls are counted in window.hookCalls.
 */
async function open(order, user, { hookToken, url, waitJoined } = {}) {
  const beforeLoad = hookToken === undefined ? undefined : async (context) => {
    await context.addInitScript((tokens) => {
      window.hookCalls = 0;
      window.orderChatRefreshToken = async () => tokens[Math.min(window.hookCalls++, tokens.length - 1)];
    }, [hookToken].flat());
  };
  const token = shortToken(user);
  const endsAt = Date.now() + LIFE_S * 1000;
  const side = await openChat(browser, server, order, user, { token: url ? undefined : token, url: url && url(token), waitJoined, before: beforeLoad });
  side.endsAt = endsAt;
  opened.push(side);
  side.page.on('websocket', () => { side.websockets = (side.websockets || 0) + 1; });
  return side;
}

function assertClean(side) {
  assert.deepEqual(side.dialogs, [], 'no dialog opened');
  assert.deepEqual(side.pageErrors, [], 'no uncaught page error');
  assert.deepEqual(cspViolations(side), [], 'no content security policy violation');
}

const banner = (page) => page.evaluate(() => {
  const b = document.getElementById('connection-banner');
  return { state: b.dataset.state, text: document.getElementById('connection-text').textContent };
});

/** The banner states the page went through, recorded in the page. */
async function recordBanner(page) {
  await page.evaluate(() => {
    window.bannerStates = [];
    const b = document.getElementById('connection-banner');
    new MutationObserver(() => window.bannerStates.push(b.dataset.state)).observe(b, { attributes: true, attributeFilter: ['data-state'] });
  });
}

test('with the app\'s hook the token is renewed on the live socket, stored, and used for REST', async () => {
  const order = await makeOrder(server);
  const user = order.customer;
  const fresh = server.token(user.id, { name: user.name });
  const side = await open(order, user, { hookToken: fresh });
  const { page } = side;
  await recordBanner(page);
  const socketId = await page.evaluate(() => window.chatClient.socket.id);
  await eventually(() => page.evaluate(() => window.hookCalls >= 1), { message: 'the hook was asked' });
  await eventually(() => page.evaluate((t) => localStorage.getItem('accessToken') === t, fresh), { message: 'the fresh token stored' });

  // Past the old token's end: the same socket is still joined (refresh-token extended it).
  await pastEnd(side, 1500);
  assert.equal(await page.evaluate(() => window.chatClient.socket.connected && window.chatClient.joined), true);
  assert.equal(await page.evaluate(() => window.chatClient.socket.id), socketId, 'no reconnect was needed');
  assert.equal(await page.evaluate(() => window.hookCalls), 1, 'asked once');
  const states = await page.evaluate(() => window.bannerStates);
  assert.ok(!states.includes('ending') && !states.includes('ended'), `no warning: ${states}`);

  // Sending works, and REST (a search) goes out with the fresh token: the old one is dead now.
  await typeAndSend(page, 'still here after the renewal');
  await waitForMessage(page, 'still here after the renewal');
  await page.click('#search-toggle');
  await page.fill('#search-chat-input', 'renewal');
  await page.press('#search-chat-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#search-chat-box .search-result').length === 1);
  assert.equal(await page.isEnabled('#message-input'), true);
  assertClean(side);
});

test('without a hook: the session is ending, then expired; the composer is disabled and keeps the draft', async () => {
  const order = await makeOrder(server);
  const user = order.customer;
  const side = await open(order, user, { waitJoined: false }); // the banner never says "Connected"
  const { page } = side;
  await page.waitForSelector('#connection-banner[data-state="ending"]');
  await page.waitForFunction(() => window.chatClient.joined);
  assert.deepEqual(await banner(page), { state: 'ending', text: ENDING });
  assert.equal(await page.isVisible('#connection-action'), true, 'a Reload button');
  assert.equal(await page.textContent('#connection-action'), 'Reload');
  assert.equal(await page.isEnabled('#message-input'), true, 'the chat works until the end');
  await page.screenshot({ path: artifact('session-ending.png') });

  await page.fill('#message-input', 'half-written order note');
  await page.waitForSelector('#connection-banner[data-state="ended"]', { timeout: END_TIMEOUT });
  assert.deepEqual(await banner(page), { state: 'ended', text: EXPIRED });
  assert.equal(await page.isDisabled('#message-input'), true);
  assert.equal(await page.isDisabled('#send-button'), true);
  assert.equal(await page.inputValue('#message-input'), 'half-written order note', 'the draft is kept');
  assert.equal(await page.getAttribute('#message-input', 'placeholder'), 'Your session has expired');
  assert.equal(await page.isHidden('#chat-error'), true, 'one sentence, not two');
  // It stays so: no reconnect loop with the dead token.
  const sockets = side.websockets || 0;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await page.evaluate(() => window.chatClient.socket.connected), false);
  assert.equal(side.websockets || 0, sockets, 'no new connection attempt');
  assert.deepEqual(await banner(page), { state: 'ended', text: EXPIRED });
  await page.screenshot({ path: artifact('session-expired.png') });

  // A reload (the way out) brings the draft back.
  await page.click('#connection-action');
  await page.waitForLoadState('load');
  await eventually(() => page.evaluate(() => document.getElementById('message-input').value === 'half-written order note'),
    { message: 'the draft after the reload' });
  assertClean(side);
});

test('a hook whose token the server refuses, or that names another user, counts as no hook', async () => {
  const order = await makeOrder(server);
  const user = order.customer;
  const forged = server.token(user.id, {}, { secret: 'not-the-secret' });
  const other = server.token(order.agents[0].id);
  // First (session-expiring) a token the server refuses; then (at the end) another user's.
  const side = await open(order, user, { hookToken: [forged, other], waitJoined: false });
  const { page } = side;
  await page.waitForSelector('#connection-banner[data-state="ending"]');
  assert.equal((await banner(page)).text, ENDING);
  assert.equal(await page.evaluate(() => window.hookCalls), 1);
  await page.waitForSelector('#connection-banner[data-state="ended"]', { timeout: END_TIMEOUT });
  assert.equal((await banner(page)).text, EXPIRED);
  await eventually(() => page.evaluate(() => window.hookCalls === 2), { message: 'the hook asked again at the end' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await banner(page)).text, EXPIRED, 'another user\'s token does not reconnect the chat');
  assert.equal(await page.evaluate(() => window.chatClient.socket.connected), false);
  const stored = await page.evaluate(() => localStorage.getItem('accessToken'));
  assert.ok(stored !== forged && stored !== other, 'neither token was stored');
  assert.equal(await page.evaluate(() => window.chatClient.userId), user.id, 'still the same user');
  assert.equal(await page.isDisabled('#message-input'), true);
  assertClean(side);
});

test('a hook that fails at first but gives a token at the end: the chat reconnects with it', async () => {
  const order = await makeOrder(server);
  const user = order.customer;
  const fresh = server.token(user.id, { name: user.name });
  const side = await open(order, user, { hookToken: [null, fresh], waitJoined: false });
  const { page } = side;
  await page.waitForSelector('#connection-banner[data-state="ending"]');
  await page.waitForFunction(() => window.chatClient.joined);
  await page.fill('#message-input', 'typed across the renewal');
  // At the end the hook gives a token: the page connects again with it and joins.
  await page.waitForSelector('#connection-banner[data-state="connected"]', { state: 'attached', timeout: END_TIMEOUT });
  await page.waitForFunction(() => window.chatClient.joined && window.chatClient.socket.connected);
  assert.equal(await page.evaluate(() => window.hookCalls), 2);
  assert.equal(await page.evaluate(() => localStorage.getItem('accessToken')), fresh);
  assert.equal(await page.isEnabled('#message-input'), true);
  assert.equal(await page.inputValue('#message-input'), 'typed across the renewal');
  await page.press('#message-input', 'Enter');
  await waitForMessage(page, 'typed across the renewal');
  assertClean(side);
});

test('removed from the order: a final state, the composer disabled', async () => {
  const order = await makeOrder(server, { agents: [{ id: lib.uid('agent'), name: 'Tunde Bello' }, { id: lib.uid('agent'), name: 'Bola Ade' }] });
  const [tunde, bola] = order.agents;
  const customer = await openChat(browser, server, order, order.customer);
  const agent = await openChat(browser, server, order, tunde);
  opened.push(customer, agent);
  await typeAndSend(agent.page, 'Picking your items now');
  await waitForMessage(customer.page, 'Picking your items now');
  await agent.page.fill('#message-input', 'unsent words');

  await server.putOrder(order.id, { status: order.status, customer: order.customer, agents: [bola] });
  await agent.page.waitForSelector('#connection-banner[data-state="ended"]');
  assert.deepEqual(await banner(agent.page), { state: 'ended', text: REMOVED });
  assert.equal(await agent.page.isDisabled('#message-input'), true);
  assert.equal(await agent.page.inputValue('#message-input'), 'unsent words');
  assert.equal(await agent.page.getAttribute('#message-input', 'placeholder'), 'You are no longer on this order');
  assert.equal(await agent.page.isHidden('#leave-button'), true);
  assert.equal(await agent.page.isHidden('#connection-action'), true, 'nothing to retry');
  assert.equal(await agent.page.isHidden('#chat-error'), true);
  await agent.page.screenshot({ path: artifact('session-removed.png') });

  // The customer's chat goes on; nothing of it reaches the removed agent's page.
  await waitForMessage(customer.page, 'Agent Tunde Bello left the order');
  await typeAndSend(customer.page, 'Thanks Bola');
  await waitForMessage(customer.page, 'Thanks Bola');
  await new Promise((r) => setTimeout(r, 500));
  const texts = await agent.page.$$eval('#message-container .msg__text', (els) => els.map((e) => e.textContent));
  assert.ok(!texts.includes('Thanks Bola'), 'the removed agent sees no new message');
  assert.deepEqual(await banner(agent.page), { state: 'ended', text: REMOVED });
  assertClean(agent);
  assertClean(customer);
});

test('the inbox renews a refused token through the hook', async () => {
  const order = await makeOrder(server);
  const user = order.customer;
  const fresh = server.token(user.id, { name: user.name });
  const url = (token) => `${server.url}/chat.html?${new URLSearchParams({ token })}`;
  const side = await open(null, user, { hookToken: fresh, url, waitJoined: false });
  const { page } = side;
  await page.waitForSelector('#inbox-list .inbox-item');
  await pastEnd(side, 500); // the first token is dead now
  await page.evaluate(() => window.dispatchEvent(new Event('focus'))); // refresh at once
  await eventually(() => page.evaluate((t) => localStorage.getItem('accessToken') === t, fresh), { message: 'the fresh token stored' });
  assert.equal(await page.isHidden('#inbox-error'), true, 'no error shown');
  assert.equal(await page.locator('#inbox-list .inbox-item').count(), 1);
  assert.equal(await page.evaluate(() => window.hookCalls), 1);
  assertClean(side);
});
