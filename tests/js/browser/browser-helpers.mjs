// Helpers for the real-browser tests of the bundled chat page (web/chat.html): Debian's Chromium
// driven by playwright-core, against the real `order-chat` binary (see ../lib/server.mjs).
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, '..', 'artifacts');

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

/** A path under tests/js/artifacts/ (created on first use). */
export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function chatUrl(server, order, user, token = server.token(user.id, { name: user.name })) {
  const q = new URLSearchParams({ orderId: order.id, userId: user.id });
  if (token !== null) q.set('token', token);
  return `${server.url}/chat.html?${q}`;
}

/**
 * Open the chat page for `user` in a new browser context (its own localStorage, like another
 * device). Records dialogs, page errors and console errors. Waits until the page has joined,
 * unless `waitJoined` is false. `o.before(context, page)` runs before the page is loaded.
 */
export async function openChat(browser, server, order, user, o = {}) {
  const context = await browser.newContext({
    viewport: o.viewport || { width: 1000, height: 720 },
    deviceScaleFactor: o.deviceScaleFactor || 1,
    isMobile: !!o.isMobile,
    hasTouch: !!o.isMobile,
    colorScheme: o.colorScheme || 'light',
  });
  const page = await context.newPage();
  const side = { context, page, user, dialogs: [], pageErrors: [], consoleErrors: [] };
  page.on('dialog', (d) => { side.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => side.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') side.consoleErrors.push(m.text()); });
  if (o.before) await o.before(context, page); // e.g. an init script that sets the app's hooks
  const url = o.url || chatUrl(server, order, user, o.token);
  await page.goto(url);
  if (o.waitJoined !== false) {
    try {
      await waitJoined(page);
    } catch (e) {
      throw new Error(`the page of ${user.id} did not join: ${JSON.stringify(await pageState(side))}`, { cause: e });
    }
  }
  return side;
}

/** What the page shows and knows, for failure messages. */
export async function pageState(side) {
  const state = await side.page.evaluate(() => ({
    banner: document.getElementById('connection-banner')?.dataset.state,
    bannerText: document.getElementById('connection-banner')?.innerText,
    error: document.getElementById('chat-error')?.hidden ? null : document.getElementById('chat-error')?.innerText,
    socket: window.chatClient?.socket ? { connected: window.chatClient.socket.connected, id: window.chatClient.socket.id } : null,
    joined: window.chatClient?.joined,
  })).catch((e) => ({ evaluateFailed: String(e) }));
  return { ...state, pageErrors: side.pageErrors, consoleErrors: side.consoleErrors };
}

/** The page joined the order's chat (banner says connected). */
export async function waitJoined(page, timeout = 10000) {
  await page.waitForSelector('#connection-banner[data-state="connected"]', { state: 'attached', timeout });
}

export async function bannerState(page) {
  return page.getAttribute('#connection-banner', 'data-state');
}

export async function waitBanner(page, state, timeout = 15000) {
  await page.waitForSelector(`#connection-banner[data-state="${state}"]`, { state: 'attached', timeout });
}

/** Type into the input like a user and press Enter. */
export async function typeAndSend(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

/** Wait until a stored (seq-numbered) message with exactly this text is in the list. */
export async function waitForMessage(page, text, timeout = 10000) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#message-container .msg[data-seq]')]
      .some((m) => (m.querySelector('.msg__text, .msg__system-text')?.textContent ?? '') === t),
    text, { timeout, polling: 'raf' },
  );
}

/** The stored messages shown, top to bottom. */
export async function shownMessages(page) {
  return page.$$eval('#message-container .msg[data-seq]', (els) => els.map((m) => ({
    seq: Number(m.dataset.seq),
    id: m.dataset.id,
    own: m.classList.contains('msg--own'),
    system: m.classList.contains('msg--system'),
    status: m.dataset.status || null,
    sender: m.querySelector('.msg__sender')?.textContent ?? null,
    text: m.querySelector('.msg__text, .msg__system-text')?.textContent ?? '',
  })));
}

/** The bubble (locator) of the stored message with this text. */
export function bubble(page, text) {
  return page.locator('#message-container .msg[data-seq]').filter({
    has: page.locator('.msg__text', { hasText: text }),
  });
}

/** Poll `fn` until it returns a truthy value (or throw its last error / a timeout). */
export async function eventually(fn, { timeout = 10000, interval = 50, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw last || new Error(`timed out waiting for ${message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Console errors that mean the page broke its content security policy. */
export function cspViolations(side) {
  return side.consoleErrors.filter((t) => /Content Security Policy/i.test(t));
}

const AXE_SOURCE = join(here, '..', 'node_modules', 'axe-core', 'axe.min.js');

/**
 * Run axe-core (npm, tests/js/node_modules) in the page against WCAG 2.0-2.2 A and AA and the
 * best practices; resolves with the violations of impact serious or critical, each as
 * `{id, impact, help, nodes: [selector :: why]}` (an empty list passes). axe is evaluated through
 * the DevTools protocol, so the page's content security policy (script-src 'self') stays as it is.
 * `o.include`: a selector to check instead of the whole document.
 */
export async function axeViolations(page, o = {}) {
  const source = readFileSync(AXE_SOURCE, 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(source);
  const all = await page.evaluate(async (include) => {
    const r = await window.axe.run(include ? { include: [include] } : document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')} :: ${n.failureSummary}`),
    }));
  }, o.include || null);
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
