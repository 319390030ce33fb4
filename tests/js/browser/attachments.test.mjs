// Attachments on the bundled page (PROTOCOL §12) in a real Chromium, customer and agent in two
// browser contexts against the real binary: the customer attaches a photo (upload progress in
// the tray, then sent with a caption), the agent sees its thumbnail and opens it full size (Esc
// closes); pasted and dropped files; a PDF card; refused files say why (client-side and the
// server's 415); a voice note recorded with Chromium's fake microphone plays in the bubble.
// Screenshots go to tests/js/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import * as lib from '../lib/server.mjs';
import { launchBrowser, openChat, typeAndSend, eventually, artifact, cspViolations, CHROMIUM } from './browser-helpers.mjs';
import { png, pdf, svgWithScript, htmlPage } from '../lib/media.mjs';

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

async function open(order, user, b = browser) {
  const side = await openChat(b, server, order, user);
  opened.push(side);
  return side;
}

function assertClean(...sides) {
  for (const s of sides) {
    assert.deepEqual(s.dialogs, [], 'no JavaScript dialog opened');
    assert.deepEqual(s.pageErrors, [], 'no uncaught page error');
    assert.deepEqual(cspViolations(s), [], 'no content security policy violation');
  }
}

/** A photo-like PNG: a gradient with a dark band, so the screenshot shows something. */
const photo = () => png(800, 600, (x, y) => (y > 260 && y < 340 ? [30, 41, 59, 255] : [(x * 255) / 800, 140, (y * 255) / 600, 255]));

const trayStates = (page) => page.$$eval('#attachment-tray .attach-item', (els) => els.map((e) => ({
  state: e.dataset.state, name: e.querySelector('.attach-item__name')?.textContent, error: e.querySelector('.attach-item__error')?.textContent || '',
})));

test('the customer attaches a photo; the agent sees its thumbnail and opens it full size; Esc closes', async () => {
  const order = await makeOrder(server);
  const customer = await open(order, order.customer);
  const agent = await open(order, order.agents[0]);
  const cp = customer.page;
  await cp.setInputFiles('#file-input', { name: 'brand-a.png', mimeType: 'image/png', buffer: photo() });
  await cp.waitForSelector('#attachment-tray .attach-item[data-state="ready"]', { timeout: 15000 });
  await cp.screenshot({ path: artifact('attachments-tray.png') });
  assert.deepEqual((await trayStates(cp)).map((i) => i.name), ['brand-a.png']);
  await typeAndSend(cp, 'Is this the brand you meant?');
  await cp.waitForSelector('#message-container .msg[data-seq] .att-thumb img', { timeout: 10000 });
  assert.equal(await cp.$eval('#attachment-tray', (t) => t.hidden), true, 'the tray empties once sent');

  const ap = agent.page;
  await ap.waitForSelector('#message-container .msg[data-seq] .att-thumb img', { timeout: 10000 });
  await eventually(async () => {
    const w = await ap.$eval('.att-thumb img', (img) => img.complete && img.naturalWidth);
    assert.ok(w > 0 && w <= 320, `thumbnail loaded (${w} px wide)`);
    return true;
  });
  assert.equal(await ap.$eval('.msg[data-seq] .msg__text', (p) => p.textContent), 'Is this the brand you meant?');
  await ap.screenshot({ path: artifact('attachments-agent-thumbnail.png') });
  await ap.click('.att-thumb');
  await ap.waitForSelector('#lightbox:not([hidden])');
  await eventually(async () => {
    const w = await ap.$eval('#lightbox .lightbox__img', (img) => img.complete && img.naturalWidth);
    assert.equal(w, 800, 'the full-size image');
    return true;
  });
  await ap.screenshot({ path: artifact('attachments-lightbox.png') });
  await ap.keyboard.press('Escape');
  await ap.waitForSelector('#lightbox', { state: 'hidden' });
  assert.equal(await ap.evaluate(() => document.activeElement?.classList.contains('att-thumb')), true, 'focus back on the thumbnail');
  assertClean(customer, agent);
});

test('pasted and dropped files join the tray; a PDF is a card with its name, type and size', async () => {
  const order = await makeOrder(server);
  const customer = await open(order, order.customer);
  const agent = await open(order, order.agents[0]);
  const cp = customer.page;
  const pngBytes = [...png(40, 40)];
  const pdfBytes = [...pdf()];
  await cp.evaluate((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'pasted.png', { type: 'image/png' }));
    const e = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.getElementById('message-input').dispatchEvent(e);
  }, pngBytes);
  await cp.evaluate((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'shopping list.pdf', { type: 'application/pdf' }));
    const zone = document.getElementById('message-container');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, pdfBytes);
  await eventually(async () => {
    assert.deepEqual((await trayStates(cp)).map((i) => `${i.name}:${i.state}`), ['pasted.png:ready', 'shopping list.pdf:ready']);
    return true;
  });
  await cp.press('#message-input', 'Enter'); // no text: the files alone
  const ap = agent.page;
  await ap.waitForSelector('.msg[data-seq] .att-file', { timeout: 10000 });
  assert.equal(await ap.$eval('.att-file .att-file__name', (n) => n.textContent), 'shopping list.pdf');
  assert.match(await ap.$eval('.att-file .att-file__meta', (n) => n.textContent), /^PDF · \d+ bytes$/);
  assert.equal(await ap.$$eval('.msg[data-seq] .att-thumb', (t) => t.length), 1);
  await ap.screenshot({ path: artifact('attachments-file-card.png') });
  assertClean(customer, agent);
});

test('refused files say why: a type the page knows is refused at once, one only the server can tell gets its 415 in words', async () => {
  const order = await makeOrder(server);
  const customer = await open(order, order.customer);
  const cp = customer.page;
  await cp.setInputFiles('#file-input', [
    { name: 'icon.svg', mimeType: 'image/svg+xml', buffer: svgWithScript() },
    { name: 'cat.png', mimeType: 'image/png', buffer: htmlPage() },
  ]);
  await eventually(async () => {
    const items = await trayStates(cp);
    assert.deepEqual(items.map((i) => i.state), ['error', 'error']);
    assert.match(items[0].error, /icon\.svg cannot be sent: only photos/);
    assert.match(items[1].error, /cat\.png cannot be sent: this type of file is not accepted/);
    return true;
  });
  await cp.screenshot({ path: artifact('attachments-refused.png') });
  // Refused files are not sent, and can be removed.
  assert.equal(await cp.$eval('#send-button', (b) => b.disabled), true, 'nothing to send');
  await cp.click('#attachment-tray .attach-item__remove');
  await cp.click('#attachment-tray .attach-item__remove');
  assert.equal(await cp.$eval('#attachment-tray', (t) => t.hidden), true);
  assertClean(customer);
});

test('a voice note recorded in the page plays in the other window', async () => {
  const voiceBrowser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const order = await makeOrder(server);
    const customer = await open(order, order.customer, voiceBrowser);
    await customer.context.grantPermissions(['microphone']);
    const agent = await open(order, order.agents[0]);
    const cp = customer.page;
    await cp.waitForSelector('#record-button');
    await cp.click('#record-button');
    await cp.waitForSelector('#record-button.is-recording');
    await cp.waitForFunction(() => /Recording 0:0[2-9]/.test(document.querySelector('.composer__recording')?.textContent || ''), null, { timeout: 10000 });
    await cp.click('#record-button');
    await cp.waitForSelector('#attachment-tray .attach-item[data-state="ready"]', { timeout: 15000 });
    await cp.press('#message-input', 'Enter');
    const ap = agent.page;
    await ap.waitForSelector('.msg[data-seq] audio.att-audio__player', { timeout: 10000 });
    await eventually(async () => {
      const d = await ap.$eval('audio.att-audio__player', (a) => a.readyState >= 1 && (a.duration || 0));
      assert.ok(d > 0, `the recording has a duration (${d})`);
      return true;
    });
    await ap.screenshot({ path: artifact('attachments-voice-note.png') });
    assertClean(customer, agent);
  } finally {
    await voiceBrowser.close();
  }
});
