// PROTOCOL.md sections 10 and 11 across nodes: edits, deletes and reactions done on one node reach
// the clients on the others (message-updated, message-deleted, reaction-updated), with revs that
// grow; changes made at the same moment on three nodes each take their own rev; catch-up with
// sinceRev through any node gives the same state.
// Run: E2E_DATABASE_URL=postgres://… E2E_REDIS_URL=redis://… node --test --test-concurrency=1 cluster/
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { makeOrder, uid, call, metric } from '../lib/server.mjs';
import {
  ackData, assertMessage, assertPage, assertReactionUpdated, assertTombstone, reactionList, restData,
} from '../lib/shapes.mjs';
import {
  joinAs, join, say, people, edit, del, react, unreact, timeline, isNewMessage, assertQuietUntilMarker,
} from '../lib/chat.mjs';
import { clusterEnv, startCluster, stopCluster } from '../lib/cluster.mjs';

// Without E2E_DATABASE_URL and E2E_REDIS_URL this file fails here, saying what is missing.
clusterEnv();

let nodes = [];
let n1;
let n2;
let n3;
before(async () => {
  nodes = await startCluster(3);
  [n1, n2, n3] = nodes;
});
after(async () => { await stopCluster(nodes); });
afterEach(() => { for (const n of nodes) n.closeSockets(); });

async function fullHistory(node, order, userId = order.customer.id) {
  const d = restData(await node.rest('GET', `/orders/${order.id}/messages?limit=200`, node.token(userId)));
  assertPage(d, { hasMore: false });
  return d;
}

function assertIncreasing(values, what) {
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i] > values[i - 1], `${what}: ${JSON.stringify(values)} increase strictly (at ${i})`);
  }
}

describe('cluster: the message lifecycle across nodes', () => {
  it('an edit, a delete and reactions done on node 1 (and over REST on node 3) reach a client on node 2, revs increasing', async () => {
    const order = await makeOrder(n1);
    const p = people(order);
    const o = order.id;
    const c = order.customer.id;
    const a = order.agents[0].id;
    const cust = await joinAs(n1, c, o);
    const agent = await joinAs(n2, a, o);
    const seen = timeline(agent);
    const m1 = await say(cust, o, 'one');
    const m2 = await say(cust, o, 'two');
    const m3 = await say(cust, o, 'three');
    await seen.waitFor(isNewMessage(m3.id));
    const mark = seen.length;

    const e1 = await edit(cust, o, m1.id, 'one, edited on node 1');
    const t2 = await del(cust, o, m2.id);
    const r3 = await react(cust, o, m3.id, '👍');
    const u3 = await unreact(cust, o, m3.id, '👍');
    const ct = n3.token(c);
    const e3 = restData(await n3.rest('PATCH', `/orders/${o}/messages/${m3.id}`, ct, { message: 'three, edited on node 3' }));
    const r1 = restData(await n3.rest('PUT', `/orders/${o}/messages/${m1.id}/reactions/${encodeURIComponent('❤')}`, ct));
    const t1 = restData(await n3.rest('DELETE', `/orders/${o}/messages/${m1.id}`, n3.adminToken('ops@example.com')));

    await seen.waitForCount(mark + 7, 10000);
    const got = seen.slice(mark);
    assert.deepEqual(got.map((x) => x.event), [
      'message-updated', 'message-deleted', 'reaction-updated', 'reaction-updated', 'message-updated', 'reaction-updated', 'message-deleted',
    ]);
    assert.deepEqual(got[0].data, e1);
    assertMessage(got[0].data, { id: m1.id, orderId: o, seq: 1, sender: p.customer, message: 'one, edited on node 1', editedAt: true });
    assert.deepEqual(got[1].data, t2);
    assertTombstone(got[1].data, { id: m2.id, orderId: o, seq: 2, sender: p.customer, deletedBy: c, secrets: ['two'] });
    assertReactionUpdated(got[2].data, {
      orderId: o, messageId: m3.id, seq: 3, rev: r3.rev, emoji: '👍', userId: c, added: true, reactions: reactionList([['👍', [c]]]),
    });
    assertReactionUpdated(got[3].data, {
      orderId: o, messageId: m3.id, seq: 3, rev: u3.rev, emoji: '👍', userId: c, added: false, reactions: [],
    });
    assert.deepEqual(got[4].data, e3);
    assertReactionUpdated(got[5].data, {
      orderId: o, messageId: m1.id, seq: 1, rev: r1.rev, emoji: '❤️', userId: c, added: true, reactions: reactionList([['❤️', [c]]]),
    });
    assert.deepEqual(got[6].data, t1);
    assert.equal(t1.deletedBy, 'ops@example.com');
    // The revs node 2 saw, new messages included, only grow.
    assertIncreasing(seen.map((x) => x.data.rev), 'revs seen on node 2');

    // No-ops on node 1 (deleted again, a reaction that is not there, the same text) reach nobody on node 2.
    const mark2 = seen.length;
    assert.deepEqual(await del(cust, o, m2.id), t2);
    assert.deepEqual(await unreact(cust, o, m3.id, '👍'), { orderId: o, messageId: m3.id, rev: e3.rev, reactions: [] });
    assert.deepEqual(await edit(cust, o, m3.id, 'three, edited on node 3'), e3);
    const marker = await assertQuietUntilMarker([seen], [mark2], () => say(cust, o, 'marker'));
    // The revs node 2 saw, new messages included, only grew.
    assertIncreasing(seen.map((x) => x.data.rev), 'revs seen on node 2');

    // Catching up through node 3 from before the changes gives the state every node shows.
    const late = await n3.connect(n3.token(c));
    const caught = await join(late, { orderId: o, sinceRev: m3.rev });
    assert.deepEqual(caught.messages.map((m) => m.id), [m2.id, m3.id, m1.id, marker.id]);
    assert.deepEqual(caught.messages.map((m) => m.rev), [t2.rev, e3.rev, t1.rev, marker.rev]);
    assert.equal(caught.rev, marker.rev);
    for (const node of nodes) {
      const h = await fullHistory(node, order);
      for (const m of caught.messages) assert.deepEqual(m, h.messages.find((x) => x.id === m.id), node.url);
      assert.equal(h.rev, caught.rev);
    }
  });

  it('changes made at the same moment on three nodes each take their own rev; every node\'s client ends with the same state', async () => {
    const agents = Array.from({ length: 3 }, (_, i) => ({ id: uid('agent'), name: `Agent ${i + 1}` }));
    const order = await makeOrder(n1, { agents });
    const o = order.id;
    const users = [order.customer.id, ...agents.map((x) => x.id)];
    const socks = new Map();
    for (const u of users) socks.set(u, await Promise.all(nodes.map((node) => node.connect(node.token(u)))));
    // An admin watcher on every node.
    const watchers = await Promise.all(nodes.map((node) => joinAs(node, { token: node.adminToken('watch@example.com') }, o)));
    const seen = watchers.map((w) => timeline(w));
    const target = await say(socks.get(users[0])[0], o, 'react to me');
    const own = await Promise.all(users.map((u, i) => say(socks.get(u)[i % 3], o, `mine ${i}`)));
    const EMOJI = ['👍', '🔥', '🎉'];
    const ops = [];
    users.forEach((u, i) => {
      EMOJI.forEach((e, k) => ops.push(call(socks.get(u)[(i + k) % 3], 'add-reaction', { orderId: o, messageId: target.id, emoji: e }, 15000)));
      [0, 1, 2].forEach((k) => ops.push(call(socks.get(u)[k], 'edit-message', { orderId: o, messageId: own[i].id, message: `mine ${i} v${k}` }, 15000)));
      ops.push(call(socks.get(u)[(i + 2) % 3], 'send-message', { orderId: o, message: `new ${i}` }, 15000));
    });
    const results = (await Promise.all(ops)).map(ackData);
    const revs = results.map((x) => x.rev);
    assert.equal(new Set(revs).size, revs.length, `every change has its own rev: ${JSON.stringify(revs)}`);

    // The final state: each edited message shows the text of its highest-rev edit; the target has every reaction.
    const h = await fullHistory(n2, order);
    assert.equal(h.rev, Math.max(...revs));
    for (const [i, m] of own.entries()) {
      const edits = results.filter((x) => x.id === m.id);
      assert.equal(edits.length, 3);
      const winner = edits.reduce((x, y) => (y.rev > x.rev ? y : x));
      const now = h.messages.find((x) => x.id === m.id);
      assert.equal(now.message, winner.message, `mine ${i}`);
      assert.equal(now.rev, winner.rev);
    }
    const t = h.messages.find((x) => x.id === target.id);
    assert.deepEqual(t.reactions.map((r) => [r.emoji, [...r.userIds].sort()]).sort(), EMOJI.map((e) => [e, [...users].sort()]).sort());
    const reactionAcks = results.filter((x) => x.messageId === target.id);
    assert.equal(t.rev, Math.max(...reactionAcks.map((x) => x.rev)));

    // Every watcher got every change once (the target, the own messages, the changes, then a marker).
    const changes = users.length * (EMOJI.length + 3 + 1);
    const expected = 1 + users.length + changes;
    await Promise.all(seen.map((tl) => tl.waitForCount(expected, 15000)));
    const marker = await say(socks.get(users[0])[0], o, 'marker');
    for (const [k, tl] of seen.entries()) {
      await tl.waitFor(isNewMessage(marker.id), 10000);
      assert.equal(tl.length, expected + 1, `node ${k + 1}: ${tl.length} events, expected ${expected + 1}`);
      assert.equal(new Set(tl.map((x) => x.data.rev)).size, tl.length, `node ${k + 1}: each change once`);
      const latest = new Map();
      for (const x of [...tl].sort((p, q) => p.data.rev - q.data.rev)) {
        const id = x.data.messageId ?? x.data.id;
        latest.set(id, x.event === 'reaction-updated' ? { ...latest.get(id), reactions: x.data.reactions, rev: x.data.rev } : x.data);
      }
      assert.deepEqual(latest.get(target.id).reactions, t.reactions, `node ${k + 1}: the target's reactions`);
      for (const m of own) assert.equal(latest.get(m.id).message, h.messages.find((x) => x.id === m.id).message, `node ${k + 1}`);
    }
  });

  it('a repeat join is served from the node\'s page cache, and what another node changed is in the next join', async () => {
    const order = await makeOrder(n1);
    const o = order.id;
    const c = order.customer.id;
    const a = order.agents[0].id;
    const agent = await joinAs(n2, a, o);
    const m1 = await say(agent, o, 'one');
    const m2 = await say(agent, o, 'two');
    const m3 = await say(agent, o, 'three');
    const counts = async () => ({
      hits: await metric(n1.url, 'order_chat_join_page_cache_hits_total'),
      misses: await metric(n1.url, 'order_chat_join_page_cache_misses_total'),
    });

    const before = await counts();
    const first = await joinAs(n1, c, o);
    const second = await joinAs(n1, c, o);
    assert.deepEqual(await counts(), { hits: before.hits + 1, misses: before.misses + 1 }, 'the first join reads the page, the second is served from memory');
    assert.deepEqual(second.joined.messages, first.joined.messages);
    assert.deepEqual(first.joined.messages.map((m) => m.message), ['one', 'two', 'three']);

    // Node 2 changes every kind of thing the page renders: text, a tombstone, reactions, a reply.
    await edit(agent, o, m1.id, 'one, edited on node 2');
    await del(agent, o, m2.id);
    await react(agent, o, m3.id, '👍');
    const reply = await say(agent, o, 're: three', { replyToId: m3.id });
    const mid = await counts();
    const third = await joinAs(n1, c, o);
    assert.deepEqual(await counts(), { hits: mid.hits, misses: mid.misses + 1 }, 'the order changed on node 2: node 1 reads the page again');
    const h = await fullHistory(n2, order);
    assert.deepEqual(third.joined.messages, h.messages, 'the join on node 1 shows what node 2 reads');
    assert.equal(third.joined.rev, h.rev);
    const [e1, t2, r3, last] = third.joined.messages;
    assert.equal(e1.message, 'one, edited on node 2');
    assert.equal(t2.id, m2.id);
    assert.equal(t2.deleted, true);
    assert.deepEqual(r3.reactions.map((x) => [x.emoji, x.userIds]), [['👍', [a]]]);
    assert.equal(last.id, reply.id);
    assert.equal(last.replyTo.id, m3.id);

    // A reaction removed on node 3 moves the rev too: the next join on node 1 does not show it.
    await unreact(await joinAs(n3, a, o), o, m3.id, '👍');
    const fourth = await joinAs(n1, c, o);
    assert.equal('reactions' in fourth.joined.messages.find((x) => x.id === m3.id), false, 'no reactions left: the key is left out');
    assert.deepEqual(fourth.joined.messages, (await fullHistory(n3, order)).messages);
  });
});
