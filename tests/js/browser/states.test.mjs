// Every failure state of the chat page is final and clear (web/js/availability.js): a refused
// token (bad, signed with another secret, expired, missing; a blocked account, also while
// connected), a link whose order is missing or malformed, an unknown order, not a participant,
// a server unreachable for long. Each: the composer disabled, a short banner and one sentence
// saying what happened and what to do, the subtitle not "Loading conversation…", no "Try again"
// that would fail the same way, and nothing typed lost (unsent messages say so, the draft stays
// and comes back after a reload).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, typeAndSend, waitForMessage, waitBanner, freePort, artifact,
  cspViolations,
} from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
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

async function open(srv, order, user, o = {}) {
  const side = await openChat(browser, srv, order, user, o);
  opened.push(side);
  return side;
}

/** What the page shows of its state. */
function shown(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    return {
      banner: $('connection-banner').dataset.state,
      bannerText: $('connection-text').textContent,
      action: $('connection-action').hidden ? null : $('connection-action').textContent,
      alert: $('chat-error').hidden ? null : $('chat-error-text').textContent,
      dismissable: !$('chat-error-close').hidden,
      subtitle: $('chat-subtitle').textContent,
      inputDisabled: $('message-input').disabled,
      sendDisabled: $('send-button').disabled,
      placeholder: $('message-input').placeholder,
      leaveHidden: $('leave-button').hidden,
      active: !!(window.chatClient.socket && window.chatClient.socket.active),
    };
  });
}

/** The page settled in a final state: `expect` names the banner line, the sentence, the subtitle. */
async function assertFinal(side, expect) {
  const { page } = side;
  await page.waitForSelector('#connection-banner[data-state="error"]', { state: 'attached', timeout: 10000 });
  await page.waitForSelector('#chat-error:not([hidden])', { timeout: 10000 });
  const s = await shown(page);
  assert.equal(s.bannerText, expect.banner);
  assert.match(s.alert, expect.text);
  assert.match(s.alert, /^[A-Z][^.]*\.$/, `one sentence: ${s.alert}`);
  assert.equal(s.subtitle, expect.subtitle);
  assert.equal(s.placeholder, expect.placeholder);
  assert.equal(s.inputDisabled, true, 'the composer is disabled');
  assert.equal(s.sendDisabled, true);
  assert.equal(s.action, null, 'no "Try again" that would fail the same way');
  assert.equal(s.dismissable, false, 'a final state stays said');
  assert.equal(s.leaveHidden, true);
  assert.equal(s.active, false, 'the page stopped asking the server');
  assert.deepEqual(side.pageErrors, []);
  assert.deepEqual(cspViolations(side), []);
}

test('a refused token is a final state: bad, another secret, expired, missing, a blocked account', async () => {
  const order = await makeOrder(server);
  const signedIn = { banner: 'Not signed in.', subtitle: 'Not signed in', placeholder: 'You are not signed in' };
  const cases = [
    { name: 'bad', token: 'not-a-jwt', ...signedIn, text: /access token is not valid: sign in again/ },
    { name: 'secret', token: server.token(order.customer.id, {}, { secret: 'another-secret' }), ...signedIn, text: /access token is not valid/ },
    {
      name: 'expired', token: server.token(order.customer.id, {}, { expiresIn: -3600 }), text: /session has expired: sign in again/,
      banner: 'Session expired.', subtitle: 'Session expired', placeholder: 'Your session has expired',
    },
    { name: 'missing', token: null, ...signedIn, text: /no access token: open the chat again from the app/ },
  ];
  for (const c of cases) {
    const side = await open(server, order, order.customer, { token: c.token, waitJoined: false });
    await assertFinal(side, c);
    if (c.name === 'bad') await side.page.screenshot({ path: artifact('state-bad-token.png') });
    await side.context.close();
  }

  // A blocked account, at open.
  const blocked = { id: `blocked-${Date.now()}`, name: 'Bo Locked' };
  const other = await makeOrder(server, { customer: blocked });
  await server.putUser(blocked.id, { name: blocked.name, type: 'customer', blocked: true });
  const side = await open(server, other, blocked, { waitJoined: false });
  await assertFinal(side, { banner: 'Account blocked.', subtitle: 'Account blocked', placeholder: 'Your account is blocked', text: /blocked: please contact support/ });
});

test('blocked while connected: final, and what was typed is kept (also after a reload)', async () => {
  const order = await makeOrder(server);
  const customer = await open(server, order, order.customer);
  await customer.page.fill('#message-input', 'half a sentence');
  await server.putUser(order.customer.id, { name: order.customer.name, type: 'customer', blocked: true });
  await assertFinal(customer, { banner: 'Account blocked.', subtitle: 'Account blocked', placeholder: 'Your account is blocked', text: /blocked/ });
  assert.equal(await customer.page.inputValue('#message-input'), 'half a sentence', 'the draft stays');
  assert.match(await customer.page.innerText('#composer-note'), /^Not sent: your text stays here/);
  await customer.page.reload();
  await assertFinal(customer, { banner: 'Account blocked.', subtitle: 'Account blocked', placeholder: 'Your account is blocked', text: /blocked/ });
  assert.equal(await customer.page.inputValue('#message-input'), 'half a sentence', 'the draft came back after the reload');
  await server.putUser(order.customer.id, { name: order.customer.name, type: 'customer', blocked: false });
});

test('a link without an order, a malformed order, an unknown order, not a participant', async () => {
  const order = await makeOrder(server);
  const token = server.token(order.customer.id);
  const noOrder = await open(server, order, order.customer, {
    waitJoined: false, url: `${server.url}/chat.html?orderId=%20&userId=${order.customer.id}&token=${token}`,
  });
  await assertFinal(noOrder, {
    banner: 'No order to open.', subtitle: 'Not available', placeholder: 'There is no chat to write in',
    text: /^This chat link has no order in it: open the chat again from the app\.$/,
  });

  const malformed = await open(server, { id: 'no such/order' }, order.customer, { waitJoined: false });
  await assertFinal(malformed, {
    banner: 'This chat is not available.', subtitle: 'Not available', placeholder: 'This chat is not available',
    text: /link is not valid, as its order id is malformed/,
  });

  const unknown = await open(server, { id: 'order-that-does-not-exist' }, order.customer, { waitJoined: false });
  await assertFinal(unknown, {
    banner: 'This chat is not available.', subtitle: 'Not available', placeholder: 'This chat is not available',
    text: /order was not found: check that the chat link is complete/,
  });

  const stranger = { id: `stranger-${Date.now()}`, name: 'Nosy Neighbour' };
  const outsider = await open(server, order, stranger, { waitJoined: false });
  await assertFinal(outsider, {
    banner: 'This chat is not available.', subtitle: 'You are not a participant', placeholder: 'You are not a participant of this order',
    text: /not a participant of this order/,
  });
  assert.equal(await outsider.page.locator('#message-container .msg').count(), 0);
  await outsider.page.screenshot({ path: artifact('state-not-participant.png') });
});

/** A server on a fixed port and database, so that it can be stopped and started again. */
async function restartable(keys = {}) {
  const port = await freePort();
  const databaseUrl = process.env.E2E_DATABASE_URL ||
    `sqlite://${join(mkdtempSync(join(tmpdir(), 'order-chat-states-')), 'chat.db')}`;
  const start = (k = keys) => startServer({ port, databaseUrl, ...k, env: NO_LIMITS });
  return { start };
}

test('a server unreachable for long: said once it lasts, the draft kept, all sent once it is back', async () => {
  const r = await restartable();
  let srv = await r.start();
  const keys = { secret: srv.secret, adminSecret: srv.adminSecret, internalKey: srv.internalKey };
  try {
    const order = await makeOrder(srv);
    const agent = await open(srv, order, order.agents[0]);
    // The page says so after 1.5 s instead of 20 s (the test's patience, not the rule).
    const customer = await open(srv, order, order.customer, {
      before: (context) => context.addInitScript(() => { window.orderChatUnreachableMs = 1500; }),
    });
    await srv.stop();
    await waitBanner(customer.page, 'reconnecting');
    await typeAndSend(customer.page, 'sent while the server was away');
    await customer.page.fill('#message-input', 'a draft while it was away');
    await waitBanner(customer.page, 'offline');
    const s = await shown(customer.page);
    assert.equal(s.bannerText, 'Cannot reach the chat server. Still trying…');
    assert.equal(s.action, 'Try now', 'not final: the page keeps trying');
    assert.match(s.alert, /cannot be reached: check your internet connection; the chat keeps trying/);
    assert.equal(s.inputDisabled, true);
    assert.equal(s.placeholder, 'Waiting for the chat server…');
    assert.notEqual(s.subtitle, 'Loading conversation…');
    const pending = customer.page.locator('#message-container .msg--pending');
    assert.match(await pending.innerText(), /Waiting for connection…/, 'waiting, not given up');
    assert.equal(await customer.page.inputValue('#message-input'), 'a draft while it was away');
    assert.match(await customer.page.innerText('#composer-note'), /^Not sent yet: your text stays here until the chat is back/);
    await customer.page.screenshot({ path: artifact('state-unreachable.png') });

    srv = await r.start(keys);
    await waitBanner(customer.page, 'connected', 20000);
    await waitForMessage(customer.page, 'sent while the server was away', 15000);
    await waitForMessage(agent.page, 'sent while the server was away', 15000);
    const back = await shown(customer.page);
    assert.equal(back.inputDisabled, false);
    assert.equal(back.alert, null, 'the alert is gone');
    assert.equal(await customer.page.inputValue('#message-input'), 'a draft while it was away', 'the draft is still there to send');
    assert.equal(await customer.page.isHidden('#composer-note'), true);
    assert.equal(await pending.count(), 0);
    assert.deepEqual(customer.pageErrors, []);
  } finally {
    await srv.stop();
  }
});

test('the server comes back with other secrets: the waiting message is "Not sent" and kept after a reload', async () => {
  const r = await restartable();
  let srv = await r.start();
  try {
    const order = await makeOrder(srv);
    const customer = await open(srv, order, order.customer);
    await srv.stop();
    await waitBanner(customer.page, 'reconnecting');
    await typeAndSend(customer.page, 'typed while the server was down');
    await customer.page.locator('#message-container .msg--pending', { hasText: 'Waiting for connection…' }).waitFor();
    srv = await r.start({}); // new secrets: the page's token is no longer valid
    await assertFinal(customer, {
      banner: 'Not signed in.', subtitle: 'Not signed in', placeholder: 'You are not signed in', text: /access token is not valid/,
    });
    const pending = customer.page.locator('#message-container .msg--pending');
    assert.equal(await pending.getAttribute('data-status'), 'failed');
    assert.match(await pending.innerText(), /typed while the server was down[\s\S]*Not sent/);
    assert.equal(await pending.locator('button', { hasText: 'Retry' }).count(), 0, 'a retry would be refused the same way');
    assert.equal(await pending.locator('button', { hasText: 'Delete' }).count(), 1);
    await customer.page.screenshot({ path: artifact('state-refused-after-restart.png') });
    await customer.page.reload();
    await assertFinal(customer, {
      banner: 'Not signed in.', subtitle: 'Not signed in', placeholder: 'You are not signed in', text: /access token is not valid/,
    });
    assert.equal(await customer.page.inputValue('#message-input'), 'typed while the server was down', 'nothing typed is lost');
    assert.match(await customer.page.innerText('#composer-note'), /^Not sent/);
  } finally {
    await srv.stop();
  }
});
