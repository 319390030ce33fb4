// A server restart in the middle of a chat: both pages show the connection going and coming back,
// re-join with `since`, and end up with every message exactly once, in order. And `order-chat
// demo` restarted with its pages open: the same secrets (its data folder), so the pages reconnect
// and send what waited; after `--fresh` they end in a clear final state that keeps what was typed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, typeAndSend, waitForMessage, shownMessages, waitBanner, freePort, artifact,
  cspViolations, waitJoined,
} from './browser-helpers.mjs';

const { startServer, makeOrder } = lib;
const NO_LIMITS = lib.NO_LIMITS || {};
const cleanup = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
});

test('a server restart mid-chat loses and duplicates nothing once the pages reconnect', async () => {
  const port = await freePort();
  const databaseUrl = process.env.E2E_DATABASE_URL ||
    `sqlite://${join(mkdtempSync(join(tmpdir(), 'order-chat-restart-')), 'chat.db')}`;
  let server = await startServer({ port, databaseUrl, env: NO_LIMITS });
  const keys = { secret: server.secret, adminSecret: server.adminSecret, internalKey: server.internalKey };
  cleanup.push(() => server.stop());
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());

  const order = await makeOrder(server);
  const customer = await openChat(browser, server, order, order.customer);
  const agent = await openChat(browser, server, order, order.agents[0]);

  await typeAndSend(customer.page, 'before restart: customer');
  await waitForMessage(agent.page, 'before restart: customer');
  await typeAndSend(agent.page, 'before restart: agent');
  await waitForMessage(customer.page, 'before restart: agent');

  // Down: both pages say they are reconnecting.
  await server.stop();
  await Promise.all([waitBanner(customer.page, 'reconnecting'), waitBanner(agent.page, 'reconnecting')]);
  assert.match(await customer.page.innerText('#connection-banner'), /reconnect/i);

  // A message typed while the server is down waits in the page ("sending") instead of failing.
  await typeAndSend(customer.page, 'typed while the server was down');
  await customer.page.waitForSelector('#message-container .msg--pending[data-status="pending"]');
  await customer.page.screenshot({ path: artifact('restart-customer-down.png') });

  // Up again on the same port and database, same keys (so the tokens stay valid). A message sent
  // through REST right away may land before or after the pages re-join: either way once.
  server = await startServer({ port, databaseUrl, ...keys, env: NO_LIMITS });
  const agentToken = server.token(order.agents[0].id);
  const rest = await server.rest('POST', `/orders/${order.id}/messages`, agentToken, { message: 'sent by REST right after the restart' });
  assert.equal(rest.status, 201, JSON.stringify(rest.body));
  await Promise.all([waitBanner(customer.page, 'connected'), waitBanner(agent.page, 'connected')]);

  for (const side of [customer, agent]) {
    await waitForMessage(side.page, 'typed while the server was down');
    await waitForMessage(side.page, 'sent by REST right after the restart');
  }
  await typeAndSend(agent.page, 'after restart: agent');
  await typeAndSend(customer.page, 'after restart: customer');
  for (const side of [customer, agent]) {
    await waitForMessage(side.page, 'after restart: agent');
    await waitForMessage(side.page, 'after restart: customer');
  }

  const expected = [
    'before restart: customer', 'before restart: agent', 'typed while the server was down',
    'sent by REST right after the restart', 'after restart: agent', 'after restart: customer',
  ];
  const lists = [];
  for (const side of [customer, agent]) {
    // Nothing left waiting to be sent.
    assert.equal(await side.page.locator('#message-container .msg--pending').count(), 0);
    const shown = await shownMessages(side.page);
    lists.push(shown);
    const seqs = shown.map((m) => m.seq);
    assert.equal(new Set(seqs).size, seqs.length, `no duplicate seq: ${seqs}`);
    assert.equal(new Set(shown.map((m) => m.id)).size, shown.length, 'no duplicate id');
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
    for (const text of expected) {
      assert.equal(shown.filter((m) => m.text === text).length, 1, `exactly once: ${text}`);
    }
    const texts = shown.filter((m) => !m.system).map((m) => m.text);
    // REST and the reconnected socket race for the fourth place; everything else is fixed.
    assert.deepEqual([...texts].sort(), [...expected].sort());
    assert.deepEqual(texts.slice(0, 2), expected.slice(0, 2));
  }
  assert.deepEqual(lists[0].map((m) => m.id), lists[1].map((m) => m.id), 'both pages show the same messages');
  // The server stored each message once (the retried send was not stored twice).
  const history = await server.rest('GET', `/messages/${order.id}?limit=200`, agentToken);
  const stored = history.body.data.messages.filter((m) => m.senderType !== 'system').map((m) => m.message);
  assert.deepEqual([...stored].sort(), [...expected].sort());

  await customer.page.screenshot({ path: artifact('restart-customer.png') });
  await agent.page.screenshot({ path: artifact('restart-agent.png') });
  for (const s of [customer, agent]) {
    assert.deepEqual(s.dialogs, []);
    assert.deepEqual(s.pageErrors, []);
    assert.deepEqual(cspViolations(s), []);
  }
});

/** `order-chat demo` on `port` with its data in `dir`, until it printed its links: {customer, agent, stop}. */
function demo(dir, port, extra = []) {
  const proc = spawn(lib.BIN, ['demo', '--data-dir', dir, '--port', String(port), ...extra], {
    env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => proc.on('exit', r));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const customer = out.match(/customer: (http\S+)/);
      const agent = out.match(/agent: +(http\S+)/);
      if (customer && agent && out.includes('Ctrl-C')) {
        clearTimeout(timer);
        resolve({ customer: customer[1], agent: agent[1], stop: () => { if (proc.exitCode === null) proc.kill('SIGTERM'); return exited; } });
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited ${code}:\n${out}`)); });
  });
}

async function openLink(browser, url, name) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const page = await context.newPage();
  const side = { context, page, user: { id: name }, dialogs: [], pageErrors: [], consoleErrors: [] };
  page.on('pageerror', (e) => side.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') side.consoleErrors.push(m.text()); });
  page.on('dialog', (d) => { side.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(url);
  await waitJoined(page);
  return side;
}

test('a demo restart with the pages open: they reconnect (same secrets) and send what waited; --fresh ends them clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'order-chat-demo-restart-'));
  const port = await freePort();
  let run = await demo(dir, port);
  cleanup.push(() => run.stop());
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  const customer = await openLink(browser, run.customer, 'customer');
  const agent = await openLink(browser, run.agent, 'agent');
  await typeAndSend(customer.page, 'before the demo restart');
  await waitForMessage(agent.page, 'before the demo restart');

  await run.stop();
  await waitBanner(customer.page, 'reconnecting');
  await typeAndSend(customer.page, 'typed while the demo was down');
  await customer.page.locator('#message-container .msg--pending', { hasText: 'Waiting for connection…' }).waitFor();

  run = await demo(dir, port); // the same data folder: the same secrets, so the same links
  await Promise.all([waitBanner(customer.page, 'connected', 20000), waitBanner(agent.page, 'connected', 20000)]);
  await waitForMessage(agent.page, 'typed while the demo was down', 15000);
  await waitForMessage(customer.page, 'typed while the demo was down', 15000);
  assert.equal(await customer.page.locator('#message-container .msg--pending').count(), 0, 'nothing left waiting');
  for (const side of [customer, agent]) {
    const texts = (await shownMessages(side.page)).filter((m) => !m.system).map((m) => m.text);
    assert.deepEqual(texts.filter((t) => t === 'typed while the demo was down'), ['typed while the demo was down'], 'once');
    assert.equal(await side.page.isDisabled('#message-input'), false);
    assert.equal(await side.page.isHidden('#chat-error'), true, 'no error said');
  }
  await customer.page.screenshot({ path: artifact('demo-restart-customer.png') });

  // --fresh: new secrets, the old links are refused: a final state that keeps what was typed.
  await run.stop();
  await waitBanner(customer.page, 'reconnecting');
  await typeAndSend(customer.page, 'typed before --fresh');
  run = await demo(dir, port, ['--fresh']);
  await waitBanner(customer.page, 'error', 20000);
  assert.equal(await customer.page.textContent('#connection-text'), 'Not signed in.');
  assert.match(await customer.page.textContent('#chat-error-text'), /access token is not valid/);
  assert.equal(await customer.page.isDisabled('#message-input'), true);
  const unsent = customer.page.locator('#message-container .msg--pending');
  assert.match(await unsent.innerText(), /typed before --fresh[\s\S]*Not sent/);
  for (const side of [customer, agent]) {
    assert.deepEqual(side.pageErrors, []);
    assert.deepEqual(cspViolations(side), []);
  }
  await run.stop();
});
