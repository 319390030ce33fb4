// Message search on the bundled page (PROTOCOL §13) in a real Chromium against the real binary:
// the box in the chat's header (this chat, or all chats) and in the inbox; results with the
// order number, sender, time and the snippet whose <mark> elements are exactly the matched words
// (offsets counted in UTF-16 across emoji); a result far back in history scrolls there, loading
// older pages; a result of another chat opens it; no results, a refused query, paging, keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import { launchBrowser, openChat, eventually, artifact, cspViolations, waitJoined } from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;

let server;
let browser;
let world;
const opened = [];

/** Two orders of one customer; order A has a long history whose first message is a match. */
async function makeWorld() {
  const customer = { id: lib.uid('cust'), name: 'Ada Obi' };
  const agent = { id: lib.uid('agent'), name: 'Tunde Bello' };
  const a = await makeOrder(server, { customer, agents: [agent] });
  const b = await makeOrder(server, { customer, agents: [agent] });
  const send = async (order, user, message) => {
    const r = await server.rest('POST', `/orders/${order.id}/messages`, server.token(user.id, { name: user.name }), { message });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.data;
  };
  const first = await send(a, customer, '😀🎉 Please get ripe plantains');
  const html = await send(a, agent, '👍🏽 <b>bold</b> plantain <img src=x onerror=alert(1)>');
  for (let i = 1; i <= 260; i++) await send(a, i % 2 ? agent : customer, `Filler message number ${i}`);
  const other = await send(b, agent, '👨‍👩‍👧 family pack of plantain chips');
  return { customer, agent, a, b, first, html, other };
}

before(async () => {
  [server, browser] = await Promise.all([startServer({ env: lib.NO_LIMITS }), launchBrowser()]);
  world = await makeWorld();
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

function assertClean(side) {
  assert.deepEqual(side.dialogs, [], 'no dialog opened (no script from a message ran)');
  assert.deepEqual(side.pageErrors, [], 'no uncaught page error');
  assert.deepEqual(cspViolations(side), [], 'no content security policy violation');
}

/** The results shown in the box `#search-<mode>-box`, in words. */
function results(page, mode) {
  return page.$$eval(`#search-${mode}-box .search-result`, (links) => links.map((a) => ({
    orderId: a.dataset.orderId,
    seq: Number(a.dataset.seq),
    order: a.querySelector('.search-result__order').textContent,
    sender: a.querySelector('.search-result__sender').textContent,
    time: a.querySelector('time')?.getAttribute('datetime') ?? null,
    snippet: a.querySelector('.search-result__snippet').textContent,
    marks: [...a.querySelectorAll('mark')].map((m) => m.textContent),
    elements: [...a.querySelector('.search-result__snippet').children].map((c) => c.tagName),
  })));
}

const statusText = (page, mode) => page.locator(`#search-${mode}-status`).textContent();

async function waitResults(page, mode, n) {
  await page.waitForFunction(([mode, n]) => {
    const box = document.getElementById(`search-${mode}-box`);
    return box.dataset.state === 'done' && box.querySelectorAll('.search-result').length === n;
  }, [mode, n], { timeout: 10000 });
}

/** Whether the message with `id` is inside the visible part of the list and lit up. */
function shownAndLit(page, id) {
  return page.evaluate((id) => {
    const node = document.querySelector(`#message-container .msg[data-id="${id}"]`);
    if (!node) return false;
    const c = document.getElementById('message-container').getBoundingClientRect();
    const r = node.getBoundingClientRect();
    return r.top >= c.top - 1 && r.bottom <= c.bottom + 1 && node.classList.contains('msg--highlight');
  }, id);
}

test('search in a chat: this chat by default, highlighted words after emoji, a result far back scrolls there', async () => {
  const { a, b, customer, first, html } = world;
  const side = await open(a, customer);
  const { page } = side;
  assert.equal(await page.locator(`#message-container .msg[data-id="${first.id}"]`).count(), 0, 'the first message is not loaded yet');

  await page.click('#search-toggle');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-chat-input', 'the box has the focus');
  await page.keyboard.type('plant'); // searched after a pause, without Enter
  await waitResults(page, 'chat', 2);
  const rows = await results(page, 'chat');
  assert.deepEqual(rows.map((r) => [r.orderId, r.seq]), [[a.id, html.seq], [a.id, first.seq]], 'this chat only, newest first');
  assert.deepEqual(rows[1], {
    orderId: a.id, seq: first.seq, order: `Order ${a.number}`, sender: 'You', time: first.createdAt,
    snippet: '😀🎉 Please get ripe plantains', marks: ['plantains'], elements: ['MARK'],
  });
  assert.equal(rows[0].sender, 'Tunde Bello');
  assert.equal(rows[0].snippet, '👍🏽 <b>bold</b> plantain <img src=x onerror=alert(1)>', 'the text as it was typed');
  assert.deepEqual(rows[0].marks, ['plantain']);
  assert.deepEqual(rows[0].elements, ['MARK'], 'no element but <mark> in a snippet');
  assert.equal(await statusText(page, 'chat'), '2 results');
  await page.screenshot({ path: artifact('search-chat-results.png') });

  // Keyboard: ArrowDown into the results, down again, Enter opens the oldest one.
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.seq), String(first.seq));
  await page.keyboard.press('Enter');
  await eventually(() => shownAndLit(page, first.id), { message: 'the first message scrolled into view and lit up' });
  assert.equal(await page.isHidden('#search-chat-box'), true, 'the box closed');
  assert.equal(new URL(page.url()).searchParams.get('orderId'), a.id, 'still the same chat');
  assert.equal(await page.evaluate(() => window.chatClient.timeline.lowestSeq), 1, 'older pages were loaded down to it');
  await page.screenshot({ path: artifact('search-chat-jumped.png') });

  // All chats: the other order's match too; choosing it opens that chat at the message.
  await page.click('#search-toggle');
  assert.equal(await page.inputValue('#search-chat-input'), 'plant', 'the query stays');
  await page.check('#search-chat-all');
  await waitResults(page, 'chat', 3);
  const all = await results(page, 'chat');
  assert.deepEqual(all[0], {
    orderId: b.id, seq: world.other.seq, order: `Order ${b.number}`, sender: 'Tunde Bello', time: world.other.createdAt,
    snippet: '👨‍👩‍👧 family pack of plantain chips', marks: ['plantain'], elements: ['MARK'],
  });
  await page.locator('#search-chat-box .search-result').first().click();
  await page.waitForURL((u) => u.searchParams.get('orderId') === b.id);
  await waitJoined(page);
  await eventually(() => shownAndLit(page, world.other.id), { message: 'the other chat opened at the message' });
  assert.equal(new URL(page.url()).hash, '', 'the address forgets the jump (a reload does not jump again)');
  assertClean(side);
});

test('on a 360 px phone the search box fits: nothing sticks out sideways', async () => {
  const { a, customer } = world;
  const side = await open(a, customer, { viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2 });
  const { page } = side;
  assert.equal(await page.getAttribute('#search-toggle', 'title'), 'Search messages', 'the icon button is labelled');
  await page.click('#search-toggle');
  await page.fill('#search-chat-input', 'plant');
  await page.check('#search-chat-all');
  await waitResults(page, 'chat', 3);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal overflow');
  await page.screenshot({ path: artifact('search-mobile-360.png') });
  assertClean(side);
});

test('search that finds nothing, a refused query, Esc closes the box', async () => {
  const { a, customer } = world;
  const side = await open(a, customer);
  const { page } = side;
  await page.click('#search-toggle');
  await page.fill('#search-chat-input', 'zebra');
  await page.press('#search-chat-input', 'Enter');
  await page.waitForFunction(() => document.getElementById('search-chat-box').dataset.state === 'done');
  assert.equal(await statusText(page, 'chat'), 'No messages match “zebra”.');
  assert.equal(await page.locator('#search-chat-box .search-result').count(), 0);
  assert.equal(await page.isHidden('#search-chat-box .search__more'), true);
  await page.screenshot({ path: artifact('search-no-results.png') });

  await page.fill('#search-chat-input', 'x'.repeat(201));
  await page.press('#search-chat-input', 'Enter');
  await page.waitForFunction(() => document.getElementById('search-chat-box').dataset.state === 'error');
  assert.equal(await statusText(page, 'chat'), 'This search cannot be run: q must be 1-200 characters.');

  // Emptied: nothing is asked, nothing shown.
  await page.fill('#search-chat-input', '   ');
  await page.press('#search-chat-input', 'Enter');
  await page.waitForFunction(() => document.getElementById('search-chat-box').dataset.state === 'idle');
  assert.equal(await statusText(page, 'chat'), '');

  await page.keyboard.press('Escape');
  assert.equal(await page.isHidden('#search-chat-box'), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-toggle', 'the focus is back on the Search button');
  assertClean(side);
});

test('search from the inbox: every chat, more results page on, a result opens its chat far back', async () => {
  const { a, b, customer, first } = world;
  const url = `${server.url}/chat.html?${new URLSearchParams({ token: server.token(customer.id, { name: customer.name }) })}`;
  const side = await open(null, customer, { url, waitJoined: false });
  const { page } = side;
  await page.waitForSelector('#inbox-list .inbox-item');
  await page.fill('#search-inbox-input', 'plant');
  await page.press('#search-inbox-input', 'Enter');
  await waitResults(page, 'inbox', 3);
  const rows = await results(page, 'inbox');
  assert.deepEqual(rows.map((r) => [r.orderId, r.seq, r.marks]), [
    [b.id, world.other.seq, ['plantain']], [a.id, world.html.seq, ['plantain']], [a.id, first.seq, ['plantains']],
  ]);
  assert.deepEqual(rows.map((r) => r.order), [`Order ${b.number}`, `Order ${a.number}`, `Order ${a.number}`]);
  await page.screenshot({ path: artifact('search-inbox-results.png') });

  // Paging: 260 fillers, 20 a page.
  await page.fill('#search-inbox-input', 'filler message');
  await page.press('#search-inbox-input', 'Enter');
  await waitResults(page, 'inbox', 20);
  assert.equal(await statusText(page, 'inbox'), '20 results so far');
  const firstPage = await results(page, 'inbox');
  assert.deepEqual(firstPage[0].marks, ['Filler', 'message']);
  await page.click('#search-inbox-box .search__more');
  await waitResults(page, 'inbox', 40);
  const both = await results(page, 'inbox');
  assert.equal(new Set(both.map((r) => r.seq)).size, 40, 'no result twice');
  assert.deepEqual(both.map((r) => r.seq), [...both.map((r) => r.seq)].sort((x, y) => y - x), 'newest first across pages');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.seq), String(both[20].seq), 'the focus is on the first new result');
  // Arrow keys and Esc: Esc in the results goes back to the box, Esc in the box empties it.
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.seq), String(both[19].seq));
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-inbox-input');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.getElementById('search-inbox-box').dataset.state === 'idle');
  assert.equal(await page.locator('#search-inbox-box .search-result').count(), 0);

  // The first message of order A is 260 messages back: opening it loads older pages to it.
  await page.fill('#search-inbox-input', 'ripe');
  await page.press('#search-inbox-input', 'Enter');
  await waitResults(page, 'inbox', 1);
  await page.locator('#search-inbox-box .search-result').click();
  await page.waitForURL((u) => u.searchParams.get('orderId') === a.id);
  await waitJoined(page);
  await eventually(() => shownAndLit(page, first.id), { message: 'the chat opened at the first message' });
  await page.screenshot({ path: artifact('search-inbox-opened.png') });
  assertClean(side);
});
