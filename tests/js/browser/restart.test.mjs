// A server restart in the middle of a chat: both pages show the connection going and coming back,
// re-join with `since`, and end up with every message exactly once, in order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lib from '../lib/server.mjs';
import {
  launchBrowser, openChat, typeAndSend, waitForMessage, shownMessages, waitBanner, freePort, artifact,
  cspViolations,
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
