// The message lifecycle on the bundled page (PROTOCOL §10-11) in a real Chromium: customer and
// agent in two browser contexts on one order, against the real binary. Replies (the quote, and
// following it to the original), edits, deletes and reactions, live in both windows; then a
// window that was offline catches up by rev and shows exactly the other's state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, typeAndSend, waitForMessage, bubble, eventually, artifact, cspViolations, waitBanner,
} from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
const NO_LIMITS = lib.NO_LIMITS || {};

let server;
let browser;
const opened = [];
const servers = [];

before(async () => {
  [server, browser] = await Promise.all([startServer({ env: NO_LIMITS }), launchBrowser()]);
});

after(async () => {
  await Promise.allSettled(opened.map((s) => s.context.close()));
  await browser?.close();
  await server?.stop();
  await Promise.allSettled(servers.map((s) => s.stop()));
});

async function pair(srv = server, o = {}) {
  const order = await makeOrder(srv, o.order);
  const customer = await open(srv, order, order.customer);
  const agent = await open(srv, order, order.agents[0]);
  return { order, customer, agent };
}

async function open(srv, order, user) {
  const side = await openChat(browser, srv, order, user);
  opened.push(side);
  return side;
}

function assertClean(...sides) {
  for (const s of sides) {
    assert.deepEqual(s.dialogs, [], 'no JavaScript dialog (alert/confirm) opened');
    assert.deepEqual(s.pageErrors, [], 'no uncaught page error');
    assert.deepEqual(cspViolations(s), [], 'no content security policy violation');
  }
}

/** REST send as `user` (body as send-message); resolves with the stored message. */
async function restSend(srv, order, user, body) {
  const r = await srv.rest('POST', `/orders/${order.id}/messages`, srv.token(user.id, { name: user.name }), body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.data;
}

/** What the page shows of each stored message (not system ones), top to bottom, in words. */
function rendered(page) {
  return page.$$eval('#message-container .msg[data-seq]:not(.msg--system)', (els) => els.map((m) => {
    const quote = m.querySelector('.msg__quote');
    return {
      seq: Number(m.dataset.seq),
      id: m.dataset.id,
      text: m.querySelector('.msg__text')?.textContent ?? null,
      deleted: m.querySelector('.msg__deleted')?.textContent.includes('This message was deleted') ?? false,
      edited: !!m.querySelector('.msg__edited'),
      quote: quote ? {
        seq: Number(quote.dataset.targetSeq),
        text: quote.querySelector('.msg__quote-text').textContent,
        deleted: quote.classList.contains('msg__quote--deleted'),
      } : null,
      chips: [...m.querySelectorAll('.reaction')].map((c) => [c.dataset.emoji, Number(c.querySelector('.reaction__count').textContent)]),
    };
  }));
}

/** The element of the stored message with this id. */
const byId = (page, id) => page.locator(`#message-container .msg[data-id="${id}"]`);

/** Hover a message (its buttons show) and press one of them. */
async function act(page, msg, action) {
  await msg.hover();
  await msg.locator(`.msg__actions [data-action="${action}"]`).click();
}

/** Wait until the message with `id` shows `emoji` with `count` (0: no chip). */
async function waitChip(page, id, emoji, count) {
  await page.waitForFunction(([id, emoji, count]) => {
    const chip = [...document.querySelectorAll(`#message-container .msg[data-id="${id}"] .reaction`)].find((c) => c.dataset.emoji === emoji);
    return count === 0 ? !chip : Number(chip?.querySelector('.reaction__count').textContent) === count;
  }, [id, emoji, count], { timeout: 10000, polling: 'raf' });
}

/** Whether the element lies inside the visible part of the message list. */
function inView(locator) {
  return locator.evaluate((el) => {
    const c = document.getElementById('message-container').getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return r.top >= c.top - 1 && r.bottom <= c.bottom + 1;
  });
}

test('reply, edit, delete and react, live in both windows', async () => {
  const { order, customer, agent } = await pair();
  const [cp, ap] = [customer.page, agent.page];

  await typeAndSend(cp, 'Do you have ripe plantains?');
  await waitForMessage(ap, 'Do you have ripe plantains?');
  const original = (await rendered(cp)).find((m) => m.text === 'Do you have ripe plantains?');
  // Enough other messages that the original is scrolled out of view.
  for (let i = 1; i <= 16; i++) await restSend(server, order, order.agents[0], { message: `Looking at aisle ${i}` });
  await waitForMessage(cp, 'Looking at aisle 16');
  await waitForMessage(ap, 'Looking at aisle 16');

  // ---- reply: the quote in the composer, then above the sent bubble in both windows
  await act(ap, byId(ap, original.id), 'reply');
  const bar = ap.locator('#reply-preview');
  await bar.waitFor({ state: 'visible' });
  assert.match(await bar.innerText(), /Replying to Ada Obi/);
  assert.match(await bar.innerText(), /Do you have ripe plantains\?/);
  assert.equal(await ap.evaluate(() => document.activeElement.id), 'message-input', 'the input has the focus');
  // × cancels; replying again and Esc cancels too; the third time it is sent.
  await ap.click('#reply-cancel');
  await bar.waitFor({ state: 'hidden' });
  await act(ap, byId(ap, original.id), 'reply');
  await bar.waitFor({ state: 'visible' });
  await ap.press('#message-input', 'Escape');
  await bar.waitFor({ state: 'hidden' });
  await act(ap, byId(ap, original.id), 'reply');
  await typeAndSend(ap, 'Yes, two bunches left');
  await bar.waitFor({ state: 'hidden' });
  for (const page of [cp, ap]) await waitForMessage(page, 'Yes, two bunches left');
  const replyOn = async (page) => (await rendered(page)).find((m) => m.text === 'Yes, two bunches left');
  for (const page of [cp, ap]) {
    assert.deepEqual((await replyOn(page)).quote, { seq: original.seq, text: 'Do you have ripe plantains?', deleted: false });
  }
  assert.equal(await bubble(ap, 'Yes, two bunches left').locator('.msg__quote-name').innerText(), 'Ada Obi');
  assert.equal(await bubble(cp, 'Yes, two bunches left').locator('.msg__quote-name').innerText(), 'You');
  await ap.screenshot({ path: artifact('lifecycle-reply-agent.png') });

  // Clicking the quote scrolls to the original and lights it up.
  const originalNode = byId(cp, original.id);
  assert.equal(await inView(originalNode), false, 'the original starts out of view');
  await bubble(cp, 'Yes, two bunches left').locator('.msg__quote').click();
  await cp.locator(`#message-container .msg--highlight[data-id="${original.id}"]`).waitFor();
  await eventually(() => inView(originalNode), { message: 'the original scrolled into view' });
  await cp.screenshot({ path: artifact('lifecycle-quote-jump.png') });

  // ---- edit: inline editor, Enter saves; "edited" in both; the reply's quote follows
  await act(cp, byId(cp, original.id), 'edit');
  const editor = cp.locator('.msg__edit-input');
  await editor.waitFor();
  assert.equal(await editor.inputValue(), 'Do you have ripe plantains?');
  await editor.fill('Do you have ripe plantains? Two bunches please');
  await cp.screenshot({ path: artifact('lifecycle-editing.png') });
  await editor.press('Enter');
  await editor.waitFor({ state: 'detached' });
  for (const page of [cp, ap]) {
    await waitForMessage(page, 'Do you have ripe plantains? Two bunches please');
    await eventually(async () => (await replyOn(page)).quote.text === 'Do you have ripe plantains? Two bunches please',
      { message: 'the quote shows the edited text' });
    assert.equal((await rendered(page)).find((m) => m.id === original.id).edited, true);
  }
  assert.match(await byId(ap, original.id).locator('.msg__edited').innerText(), /edited/);
  // Only own messages can be edited or deleted.
  assert.equal(await byId(ap, original.id).locator('[data-action="edit"], [data-action="delete"]').count(), 0);
  assert.equal(await byId(cp, original.id).locator('[data-action="edit"]').count(), 1);

  // ---- Arrow-up in the empty composer edits the last own message; Shift+Enter is a new line; Esc cancels
  await typeAndSend(cp, 'Also 2 kg of rice');
  await waitForMessage(ap, 'Also 2 kg of rice');
  await cp.focus('#message-input');
  await cp.keyboard.press('ArrowUp');
  await editor.waitFor();
  assert.equal(await editor.inputValue(), 'Also 2 kg of rice');
  await cp.keyboard.press('Escape');
  await editor.waitFor({ state: 'detached' });
  assert.equal(await cp.evaluate(() => document.activeElement.id), 'message-input', 'Esc goes back to the composer');
  await cp.keyboard.press('ArrowUp');
  await editor.waitFor();
  await cp.keyboard.press('End');
  await cp.keyboard.press('Shift+Enter');
  await cp.keyboard.type('and salt');
  await cp.keyboard.press('Enter');
  for (const page of [cp, ap]) await waitForMessage(page, 'Also 2 kg of rice\nand salt');
  const rice = (await rendered(cp)).find((m) => m.text === 'Also 2 kg of rice\nand salt');

  // ---- delete: a confirmation first (Cancel keeps it), then "This message was deleted" in both
  await act(cp, byId(cp, rice.id), 'delete');
  const dialog = cp.locator('#confirm-dialog[open]');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Delete this message\?/);
  await cp.screenshot({ path: artifact('lifecycle-confirm-delete.png') });
  await dialog.locator('.dialog__cancel').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await rendered(cp)).find((m) => m.id === rice.id).deleted, false, 'Cancel deletes nothing');
  await act(cp, byId(cp, rice.id), 'delete');
  await dialog.locator('.dialog__confirm').click();
  for (const page of [cp, ap]) {
    await byId(page, rice.id).locator('.msg__deleted', { hasText: 'This message was deleted' }).waitFor();
    const m = (await rendered(page)).find((x) => x.id === rice.id);
    assert.deepEqual([m.text, m.edited, m.chips], [null, false, []]);
    assert.equal(await byId(page, rice.id).locator('.msg__actions').count(), 0, 'a tombstone has no actions');
  }

  // ---- reactions: the picker, chips with counts in both, tapping a chip toggles one's own
  const reply = await replyOn(cp);
  await act(ap, byId(ap, reply.id), 'react');
  const picker = ap.locator('#reaction-picker');
  await picker.waitFor({ state: 'visible' });
  await ap.screenshot({ path: artifact('lifecycle-picker.png') });
  await picker.locator('[data-emoji="👍"]').click();
  await picker.waitFor({ state: 'hidden' });
  for (const page of [cp, ap]) await waitChip(page, reply.id, '👍', 1);
  const chip = (page) => byId(page, reply.id).locator('.reaction[data-emoji="👍"]');
  assert.equal(await chip(ap).getAttribute('aria-pressed'), 'true');
  assert.equal(await chip(cp).getAttribute('aria-pressed'), 'false');
  assert.equal(await chip(cp).getAttribute('title'), 'Tunde Bello reacted with 👍');
  await chip(cp).click();
  for (const page of [cp, ap]) await waitChip(page, reply.id, '👍', 2);
  assert.equal(await chip(cp).getAttribute('aria-pressed'), 'true');
  assert.equal(await chip(cp).getAttribute('title'), 'Tunde Bello and you reacted with 👍');
  assert.equal(await chip(ap).getAttribute('title'), 'You and Ada Obi reacted with 👍');
  assert.match(await chip(ap).getAttribute('aria-label'), /^👍 2: You and Ada Obi reacted with 👍/);
  await chip(cp).click();
  for (const page of [cp, ap]) await waitChip(page, reply.id, '👍', 1);
  assert.equal(await chip(cp).getAttribute('aria-pressed'), 'false');

  // By keyboard: the react button opens the picker with the focus on the first emoji; arrows
  // move; Enter picks; Esc closes and gives the focus back.
  const reactButton = byId(cp, reply.id).locator('[data-action="react"]');
  await reactButton.focus();
  await cp.keyboard.press('Enter');
  const cPicker = cp.locator('#reaction-picker');
  await cPicker.waitFor({ state: 'visible' });
  assert.equal(await cp.evaluate(() => document.activeElement.dataset.emoji), '👍');
  await cp.keyboard.press('ArrowRight');
  assert.equal(await cp.evaluate(() => document.activeElement.dataset.emoji), '❤️');
  await cp.keyboard.press('Escape');
  await cPicker.waitFor({ state: 'hidden' });
  assert.equal(await cp.evaluate(() => document.activeElement.dataset.action), 'react', 'the focus is back on the react button');
  await cp.keyboard.press('Enter');
  await cPicker.waitFor({ state: 'visible' });
  await cp.keyboard.press('ArrowRight');
  await cp.keyboard.press('Enter');
  for (const page of [cp, ap]) await waitChip(page, reply.id, '❤️', 1);

  // Free entry: any one emoji; anything else is refused in words.
  await act(cp, byId(cp, reply.id), 'react');
  await cPicker.waitFor({ state: 'visible' });
  await cPicker.locator('#reaction-input').fill('ok');
  await cPicker.locator('#reaction-input').press('Enter');
  await cPicker.locator('.picker__error', { hasText: 'one emoji' }).waitFor();
  await cPicker.locator('#reaction-input').fill('🦄');
  await cPicker.locator('#reaction-input').press('Enter');
  for (const page of [cp, ap]) await waitChip(page, reply.id, '🦄', 1);

  // Deleting the original: the reply's quote says so in both windows.
  await act(cp, byId(cp, original.id), 'delete');
  await cp.locator('#confirm-dialog[open] .dialog__confirm').click();
  for (const page of [cp, ap]) {
    await byId(page, original.id).locator('.msg__deleted').waitFor();
    await eventually(async () => (await replyOn(page)).quote.deleted, { message: 'the quote says the original was deleted' });
    assert.equal(await bubble(page, 'Yes, two bunches left').locator('.msg__quote-text').innerText(), 'This message was deleted');
  }
  assert.deepEqual(await rendered(ap), await rendered(cp), 'both windows show the same');
  await cp.screenshot({ path: artifact('lifecycle-customer.png') });
  await ap.screenshot({ path: artifact('lifecycle-agent.png') });
  assertClean(customer, agent);
});

test('a window that was offline catches up by rev: edits, deletes, reactions and new messages', async () => {
  const { order, customer, agent } = await pair();
  const [cp, ap] = [customer.page, agent.page];
  for (const text of ['one', 'two', 'three']) await typeAndSend(cp, text);
  for (const page of [cp, ap]) await waitForMessage(page, 'three');
  const ids = Object.fromEntries((await rendered(cp)).map((m) => [m.text, m.id]));
  // The agent reacts before going away, so the catch-up must also take a reaction away.
  await act(ap, byId(ap, ids.three), 'react');
  await ap.locator('#reaction-picker [data-emoji="😮"]').click();
  for (const page of [cp, ap]) await waitChip(page, ids.three, '😮', 1);

  // Record the agent page's joins.
  await ap.evaluate(() => {
    window.joins = [];
    const conn = window.chatClient.connection;
    const request = conn.request.bind(conn);
    conn.request = (event, payload, ms) => {
      if (event === 'join-order-chat') window.joins.push(payload);
      return request(event, payload, ms);
    };
  });
  const revBefore = await ap.evaluate(() => window.chatClient.timeline.rev);
  assert.equal(typeof revBefore, 'number');

  await agent.context.setOffline(true);
  await waitBanner(ap, 'reconnecting');

  // Meanwhile the customer edits one, deletes another, reacts to a third and sends a new one
  // (through the page); the agent takes its own reaction away from another device (REST).
  await act(cp, byId(cp, ids.one), 'edit');
  await cp.locator('.msg__edit-input').fill('one, edited while you were away');
  await cp.locator('.msg__edit-input').press('Enter');
  await waitForMessage(cp, 'one, edited while you were away');
  await act(cp, byId(cp, ids.two), 'delete');
  await cp.locator('#confirm-dialog[open] .dialog__confirm').click();
  await byId(cp, ids.two).locator('.msg__deleted').waitFor();
  await act(cp, byId(cp, ids.three), 'react');
  await cp.locator('#reaction-picker [data-emoji="❤️"]').click();
  await waitChip(cp, ids.three, '❤️', 1);
  const agentToken = server.token(order.agents[0].id, { name: order.agents[0].name });
  const un = await server.rest('DELETE', `/orders/${order.id}/messages/${ids.three}/reactions/${encodeURIComponent('😮')}`, agentToken);
  assert.equal(un.status, 200, JSON.stringify(un.body));
  await waitChip(cp, ids.three, '😮', 0);
  await typeAndSend(cp, 'four');
  await waitForMessage(cp, 'four');
  // The agent's page, still offline, shows none of it.
  assert.equal((await rendered(ap)).find((m) => m.id === ids.one).text, 'one');
  await ap.screenshot({ path: artifact('lifecycle-offline-agent.png') });

  await agent.context.setOffline(false);
  await waitBanner(ap, 'connected');
  await waitForMessage(ap, 'four');
  const want = await rendered(cp);
  await eventually(async () => JSON.stringify(await rendered(ap)) === JSON.stringify(want),
    { message: `the agent's page shows the customer's state: ${JSON.stringify(want)}` });
  assert.deepEqual(await rendered(ap), want);
  assert.deepEqual(want.map((m) => [m.text, m.deleted, m.edited, m.chips]), [
    ['one, edited while you were away', false, true, []],
    [null, true, false, []],
    ['three', false, false, [['❤️', 1]]],
    ['four', false, false, []],
  ]);

  // It re-joined with sinceRev (not since), and now knows the order's current rev.
  const joins = await ap.evaluate(() => window.joins);
  assert.ok(joins.length >= 1, 'the page joined again');
  assert.equal(joins[0].sinceRev, revBefore, JSON.stringify(joins));
  assert.equal('since' in joins[0], false);
  const history = await server.rest('GET', `/orders/${order.id}/messages`, agentToken);
  assert.equal(await ap.evaluate(() => window.chatClient.timeline.rev), history.body.data.rev);
  await ap.screenshot({ path: artifact('lifecycle-caught-up-agent.png') });
  assertClean(customer, agent);
});

test('old messages changed while offline are not shown out of place; a quote loads older pages to its original', async () => {
  const order = await makeOrder(server);
  const first = await restSend(server, order, order.customer, { message: 'the very first message' });
  const fillers = [];
  for (let i = 1; i <= 90; i++) fillers.push(await restSend(server, order, order.agents[0], { message: `filler ${i}` }));
  await restSend(server, order, order.agents[0], { message: 'About your very first message', replyToId: first.id });
  const customer = await open(server, order, order.customer);
  const page = customer.page;
  await waitForMessage(page, 'About your very first message');
  assert.equal(await byId(page, first.id).count(), 0, 'the original is not loaded at first');

  // Offline: an old message that is not loaded is edited, and so is the quoted original.
  await customer.context.setOffline(true);
  await waitBanner(page, 'reconnecting');
  const agentToken = server.token(order.agents[0].id, { name: order.agents[0].name });
  const old = fillers[2];
  const patched = await server.rest('PATCH', `/orders/${order.id}/messages/${old.id}`, agentToken, { message: 'filler 3, edited' });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const edited = await server.rest('PATCH', `/orders/${order.id}/messages/${first.id}`,
    server.token(order.customer.id, { name: order.customer.name }), { message: 'the very first message, edited' });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  await restSend(server, order, order.agents[0], { message: 'back online marker' });
  await customer.context.setOffline(false);
  await waitBanner(page, 'connected');
  await waitForMessage(page, 'back online marker');
  // The catch-up brought both changes; neither is put below the loaded range (that would leave
  // a hole that paging by before= never fills), but the loaded reply's quote follows its original.
  assert.equal(await byId(page, old.id).count(), 0, 'the changed old message is not shown out of place');
  assert.equal(await byId(page, first.id).count(), 0);
  await eventually(async () => (await bubble(page, 'About your very first message').locator('.msg__quote-text').innerText())
    === 'the very first message, edited', { message: 'the quote follows the edit of an original that is not loaded' });

  await bubble(page, 'About your very first message').locator('.msg__quote').click();
  const target = page.locator(`#message-container .msg--highlight[data-id="${first.id}"]`);
  await target.waitFor({ timeout: 10000 });
  await eventually(() => inView(target), { message: 'the original scrolled into view' });
  assert.equal(await target.locator('.msg__text').innerText(), 'the very first message, edited');
  assert.equal(await byId(page, old.id).locator('.msg__text').innerText(), 'filler 3, edited', 'older pages bring the current state');
  // Everything between is there once, in order, none missing.
  const seqs = (await rendered(page)).map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length);
  assert.deepEqual([seqs[0], seqs.length], [1, seqs[seqs.length - 1]], 'no seq missing');
  await page.screenshot({ path: artifact('lifecycle-quote-older.png') });
  assertClean(customer);
});

test('the server\'s refusals are said in words: the edit and delete windows passed', async () => {
  const strict = await startServer({ env: { ...NO_LIMITS, EDIT_WINDOW: '1ms', DELETE_WINDOW: '1ms' } });
  servers.push(strict);
  const { customer, agent } = await pair(strict);
  const cp = customer.page;
  await typeAndSend(cp, 'too late to change');
  await waitForMessage(cp, 'too late to change');
  const m = (await rendered(cp)).find((x) => x.text === 'too late to change');

  await act(cp, byId(cp, m.id), 'edit');
  const editor = cp.locator('.msg__edit-input');
  await editor.fill('changed');
  await editor.press('Enter');
  await cp.locator('.msg__edit-error', { hasText: 'This message can no longer be edited' }).waitFor();
  await cp.locator('#chat-error', { hasText: 'This message can no longer be edited' }).waitFor();
  assert.equal(await editor.inputValue(), 'changed', 'the editor stays open with the text');
  await cp.screenshot({ path: artifact('lifecycle-edit-refused.png') });
  await editor.press('Escape');
  await editor.waitFor({ state: 'detached' });
  assert.equal((await rendered(cp)).find((x) => x.id === m.id).text, 'too late to change');

  await act(cp, byId(cp, m.id), 'delete');
  await cp.locator('#confirm-dialog[open] .dialog__confirm').click();
  await cp.locator('#chat-error', { hasText: 'This message can no longer be deleted' }).waitFor();
  assert.equal((await rendered(cp)).find((x) => x.id === m.id).deleted, false);
  assertClean(customer, agent);
});
