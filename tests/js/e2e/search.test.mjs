// PROTOCOL.md section 13: GET /api/v0/chat/search with the official client writing the messages,
// on whichever backend E2E_DATABASE_URL names (SQLite otherwise).
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid } from '../lib/server.mjs';
import { assertKeys, assertMessage } from '../lib/shapes.mjs';
import { joinAs, say, edit, del, people } from '../lib/chat.mjs';

let server;
before(async () => { server = await startServer({ env: NO_LIMITS }); });
after(async () => { await server?.stop(); });
afterEach(() => server.closeSockets());

const search = async (token, query) => {
  const res = await server.rest('GET', `/search?${new URLSearchParams(query)}`, token);
  return res;
};
const found = async (token, query) => {
  const res = await search(token, query);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data;
};
/** One word (letters and digits) no other test writes. */
const word = () => uid('w').replace('-', '');
/** What JavaScript shows as highlighted: the slices of the snippet. */
const marked = (r) => r.highlights.map(([a, b]) => r.snippet.slice(a, b));

describe('search', () => {
  it('finds words and prefixes, ignoring case and accents; results are whole messages with highlights', async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const agent = await joinAs(server, order.agents[0].id, order.id);
    const w = word(); // a word no other test writes, so a shared PostgreSQL cannot interfere
    const m = await say(agent, order.id, `🎉 ${w} Café or PLANTAINS for the ${w}s?`);
    await say(agent, order.id, 'nothing to see');
    const t = server.token(order.customer.id);
    const data = await found(t, { q: `${w} cafe plant` });
    assertKeys(data, ['results', 'nextCursor'], 'search page');
    assert.equal(data.nextCursor, null);
    assert.equal(data.results.length, 1);
    const r = data.results[0];
    assertKeys(r, ['orderId', 'orderNumber', 'message', 'snippet', 'highlights'], 'result');
    assert.equal(r.orderId, order.id);
    assert.equal(r.orderNumber, order.number);
    assertMessage(r.message, { id: m.id, orderId: order.id, seq: 1, sender: p.agents[0], message: m.message });
    assert.deepEqual(marked(r), [w, 'Café', 'PLANTAINS', `${w}s`]);
    assert.equal((await found(t, { q: 'lantains' })).results.length, 0, 'not inside words');
  });

  it('shows only the caller\'s orders (admins: all), never deleted messages, and the new text of an edit', async () => {
    const w = word();
    const mine = await makeOrder(server);
    const other = await makeOrder(server);
    const a = await joinAs(server, mine.agents[0].id, mine.id);
    const b = await joinAs(server, other.agents[0].id, other.id);
    const kept = await say(a, mine.id, `${w} yams`);
    const gone = await say(a, mine.id, `${w} to delete`);
    await say(b, other.id, `${w} elsewhere`);
    const cust = server.token(mine.customer.id);
    assert.equal((await found(cust, { q: w })).results.length, 2);
    await del(a, mine.id, gone.id);
    await edit(a, mine.id, kept.id, `${w} rice`);
    const now = await found(cust, { q: w });
    assert.deepEqual(now.results.map((r) => r.message.message), [`${w} rice`]);
    assert.equal((await found(cust, { q: `${w} yams` })).results.length, 0, 'the old text is gone');
    assert.equal((await found(server.adminToken('ops@busy2shop.com'), { q: w })).results.length, 2);
    const denied = await search(cust, { q: w, orderId: other.id });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'FORBIDDEN');
  });

  it('pages newest first by nextCursor with no repeats and no gaps', async () => {
    const w = word();
    const order = await makeOrder(server);
    const a = await joinAs(server, order.agents[0].id, order.id);
    for (let i = 0; i < 7; i++) await say(a, order.id, `${w} receipt ${i}`);
    const t = server.token(order.customer.id);
    const seen = [];
    let before;
    do {
      const data = await found(t, { q: w, limit: '3', ...(before ? { before } : {}) });
      seen.push(...data.results.map((r) => r.message.message));
      before = data.nextCursor;
    } while (before);
    assert.deepEqual(seen, [6, 5, 4, 3, 2, 1, 0].map((i) => `${w} receipt ${i}`));
  });

  it('query syntax is plain text; bad input is VALIDATION', async () => {
    const order = await makeOrder(server);
    const a = await joinAs(server, order.agents[0].id, order.id);
    const w = word();
    await say(a, order.id, `${w} NEAR the gate OR door`);
    const t = server.token(order.customer.id);
    for (const q of ['"', '*', ':', '(', ')', '-', 'NEAR', 'OR', "'", '\\', `"${w}"*`, `${w}:*`, '-gate', 'a & b', "'; DROP TABLE messages;--"]) {
      const res = await search(t, { q });
      assert.equal(res.status, 200, `${q}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await found(t, { q: `${w} NEAR OR` })).results.length, 1, 'operators are words');
    assert.equal((await found(t, { q: '*** ::' })).results.length, 0);
    for (const query of [{}, { q: '' }, { q: '   ' }, { q: 'x'.repeat(201) }, { q: 'x', limit: '0' },
      { q: 'x', limit: '51' }, { q: 'x', before: 'nonsense' }]) {
      const res = await search(t, query);
      assert.equal(res.status, 400, JSON.stringify(query));
      assert.equal(res.body.code, 'VALIDATION');
    }
    const anon = await server.rest('GET', '/search?q=x');
    assert.equal(anon.status, 401);
  });
});
