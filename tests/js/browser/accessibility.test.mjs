// The chat page to WCAG 2.2 AA, in Chromium: axe-core (npm) finds no serious or critical
// violation on a desktop and at 360 px (also with the Leave dialog open and in a failure
// state); and what axe cannot see: the composer has the focus on open, new messages, receipts
// and typing are said in words by a polite live region, every message names its sender for
// assistive technology (the follow-ups of a run too), icon buttons have names, focus is
// visible, and Leave asks first (labelled with a word on a phone too). The notification bell
// (notify.js) for the keyboard and a screen reader, in each state a test can reach (permission
// granted: off or muted, then on/unavailable; denied: blocked; no PushManager: unsupported):
// reached with Tab, a name that says what it does with its state in aria-pressed (Chromium's
// own accessibility tree, through the DevTools protocol), pressed with Enter and with Space, a
// visible focus ring, the blocked / not available states said in words, and no axe violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, typeAndSend, waitForMessage, bubble, axeViolations, artifact, cspViolations, eventually,
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

// --- The notification bell (notify.js, notify-model.js) ---

const BELL_NAME = 'Notify me of new messages in this chat';

/** A chat page with the notification permission `granted`, `denied` or left alone; `o.page`: more openChat options. */
async function openWithBell(permission, o = {}) {
  const order = await makeOrder(server);
  const origin = new URL(server.url).origin;
  const side = await open(order, order.customer, {
    ...o,
    before: async (context, page) => {
      if (permission === 'granted') await context.grantPermissions(['notifications'], { origin });
      if (permission === 'denied') {
        const cdp = await context.newCDPSession(page);
        const { targetInfo } = await cdp.send('Target.getTargetInfo');
        await cdp.send('Browser.setPermission', {
          permission: { name: 'notifications' }, setting: 'denied', origin, browserContextId: targetInfo.browserContextId,
        });
        // Not detached: the override goes with the session.
      }
      if (o.before) await o.before(context, page);
    },
  });
  return { order, ...side };
}

const bellState = (page) => page.getAttribute('#notify-toggle', 'data-state');

async function waitBell(page, states, timeout = 10000) {
  await eventually(async () => states.includes(await bellState(page)), { timeout, message: `the bell in ${states}` })
    .catch(async (e) => { throw new Error(`${e.message}: it is ${await bellState(page)}`); });
}

/** The bell as Chromium's accessibility tree has it: role, name, description, pressed, disabled, focusable. */
async function axBell(side) {
  const cdp = await side.context.newCDPSession(side.page);
  try {
    await cdp.send('Accessibility.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#notify-toggle' });
    const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
    const n = nodes.find((x) => !x.ignored) || nodes[0];
    const props = Object.fromEntries((n.properties || []).map((p) => [p.name, p.value && p.value.value]));
    return {
      ignored: !!n.ignored,
      role: n.role && n.role.value,
      name: n.name && n.name.value,
      description: (n.description && n.description.value) || '',
      pressed: props.pressed === undefined ? undefined : String(props.pressed),
      disabled: !!props.disabled,
      focusable: !!props.focusable,
    };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Tab from the top of the page until the bell has the focus; the ids passed on the way. */
async function tabToBell(page) {
  await page.evaluate(() => { if (document.activeElement) document.activeElement.blur(); window.getSelection()?.removeAllRanges(); });
  const path = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement && (document.activeElement.id || document.activeElement.tagName));
    path.push(id);
    if (id === 'notify-toggle') return path;
  }
  assert.fail(`Tab does not reach the bell: ${JSON.stringify(path)}`);
}

/** The bell has the keyboard focus and shows it: :focus-visible, and an outline of 2px or more or a ring. */
async function assertFocusVisible(page, where) {
  const f = await page.evaluate(() => {
    const b = document.querySelector('#notify-toggle');
    const cs = getComputedStyle(b);
    return {
      focused: document.activeElement === b,
      focusVisible: b.matches(':focus-visible'),
      outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
      ring: (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || (!!cs.boxShadow && cs.boxShadow !== 'none'),
    };
  });
  assert.ok(f.focused && f.focusVisible && f.ring, `focus visible on the bell (${where}): ${JSON.stringify(f)}`);
}

/** The note under the header row, if it is on screen (not visually hidden): its text, else null. */
async function shownNote(page) {
  return page.evaluate(() => {
    const n = document.querySelector('#notify-note');
    if (!n || n.classList.contains('visually-hidden')) return null;
    const r = n.getBoundingClientRect();
    const cs = getComputedStyle(n);
    return r.width > 20 && r.height > 8 && cs.visibility !== 'hidden' && cs.display !== 'none' ? n.textContent : null;
  });
}

async function assertBellAccessible(side, where, expect) {
  const ax = await axBell(side);
  assert.equal(ax.ignored, false, `the bell is in the accessibility tree (${where})`);
  assert.equal(ax.role, 'button', `a button (${where})`);
  assert.equal(ax.name, BELL_NAME, `its name says what it does (${where})`);
  assert.equal(ax.pressed, expect.pressed, `aria-pressed says whether this chat notifies (${where}): ${JSON.stringify(ax)}`);
  assert.ok(ax.focusable, `focusable (${where})`);
  assert.equal(ax.disabled, false, `not disabled once loaded (${where})`);
  if (expect.description) assert.match(ax.description, expect.description, `its description says the state in words (${where})`);
  assertNoViolations(await axeViolations(side.page), `the bell ${where}`);
  return ax;
}

test('the bell, permission granted: Tab reaches it, its name and aria-pressed, Enter turns on, Space turns off, focus visible, axe', async () => {
  const side = await openWithBell('granted');
  const { page } = side;
  await waitBell(page, ['off', 'muted']);
  const first = await bellState(page);
  await assertBellAccessible(side, first, { pressed: 'false', description: /^Notifications of this chat are off/ });
  assert.equal(await shownNote(page), null, 'nothing to say on screen while it is simply off');

  const path = await tabToBell(page);
  assert.ok(path.indexOf('inbox-link') < path.indexOf('notify-toggle'), `in the header, after the way back to the inbox: ${path}`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'leave-button', 'then Leave');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'notify-toggle', 'and back with Shift+Tab');
  await assertFocusVisible(page, first);

  // Enter turns it on: unmuted; this browser's push is refused (no push service here), which the
  // page says in words, on screen, in the description and in the live region.
  await page.keyboard.press('Enter');
  await waitBell(page, ['on', 'unavailable'], 30000);
  const on = await bellState(page);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'notify-toggle', 'the focus stays on the bell');
  const ax = await assertBellAccessible(side, on, { pressed: 'true' });
  if (on === 'unavailable') {
    assert.match(ax.description, /^Push is not available in this browser/);
    assert.match(await shownNote(page) || '', /^Push is not available in this browser/, 'said on screen in words, not by colour only');
    await waitAnnounced(page, ax.description);
  } else {
    assert.match(ax.description, /^Notifications of this chat are on/);
  }
  await assertFocusVisible(page, on);

  // Space turns it off again: the server mutes the chat.
  await page.keyboard.press(' ');
  await waitBell(page, ['muted']);
  await assertBellAccessible(side, 'muted after Space', { pressed: 'false', description: /^Notifications of this chat are off\.$/ });
  await waitAnnounced(page, 'Notifications of this chat are off.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'notify-toggle');
  await assertFocusVisible(page, 'muted');
  assert.deepEqual(side.pageErrors, []);
  assert.deepEqual(cspViolations(side), []);
});

test('the bell, permission denied: "blocked" said in words (description, on Space on screen and aloud), focus visible, axe', async () => {
  const side = await openWithBell('denied');
  const { page } = side;
  await waitBell(page, ['blocked']);
  await assertBellAccessible(side, 'blocked', { pressed: 'false', description: /^Notifications are blocked for this site\. To allow them/ });
  assert.match(await page.getAttribute('#notify-toggle', 'title'), /blocked/, 'the tooltip says it too');
  await tabToBell(page);
  await assertFocusVisible(page, 'blocked');
  await page.keyboard.press(' ');
  await eventually(async () => /blocked for this site.*site’s settings/.test(await shownNote(page) || ''), { message: 'the blocked note on screen' });
  await waitAnnounced(page, (await axBell(side)).description);
  assert.equal(await bellState(page), 'blocked');
  await assertBellAccessible(side, 'blocked, explained', { pressed: 'false', description: /blocked for this site/ });
  await assertFocusVisible(page, 'blocked, explained');
  assert.deepEqual(side.pageErrors, []);
});

test('the bell, no push in this browser: "cannot show notifications" said in words on Enter, at 360 px, axe', async () => {
  const side = await openWithBell('granted', {
    ...PHONE,
    before: (context) => context.addInitScript(() => { delete window.PushManager; }),
  });
  const { page } = side;
  await waitBell(page, ['unsupported']);
  await assertBellAccessible(side, 'unsupported', { pressed: 'false', description: /^This browser cannot show notifications from web pages\.$/ });
  const box = await page.locator('#notify-toggle').boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 360 && box.width >= 24 && box.height >= 24, `on screen at 360 px, 24 px or more: ${JSON.stringify(box)}`);
  await tabToBell(page);
  await assertFocusVisible(page, 'unsupported');
  await page.keyboard.press('Enter');
  await eventually(async () => (await shownNote(page)) === 'This browser cannot show notifications from web pages.', { message: 'the note on screen' });
  await waitAnnounced(page, 'This browser cannot show notifications from web pages.');
  await assertBellAccessible(side, 'unsupported, explained', { pressed: 'false', description: /cannot show notifications/ });
  assert.deepEqual(side.pageErrors, []);
});
