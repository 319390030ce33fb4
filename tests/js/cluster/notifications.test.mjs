// PROTOCOL.md section 14 across three nodes (one PostgreSQL, one Redis, the same WEBHOOK_URL and
// push receiver): one node decides what is due and each row is delivered by one node, so an
// offline recipient gets exactly one notification.due (and one push) per message, and each
// message one message.created; a recipient whose socket is joined on node 2 while the message is
// sent on node 1 gets nothing. Every webhook is verified with standardwebhooks, every push
// decrypted with http_ece and its VAPID JWT checked (lib/receivers.mjs).
// Run: E2E_DATABASE_URL=postgres://… E2E_REDIS_URL=redis://… node --test --test-concurrency=1 cluster/
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { makeOrder, uid } from '../lib/server.mjs';
import { joinAs } from '../lib/chat.mjs';
import { restData } from '../lib/shapes.mjs';
import { clusterEnv, startCluster, stopCluster } from '../lib/cluster.mjs';
import { startWebhookReceiver, startPushReceiver } from '../lib/receivers.mjs';

clusterEnv();

const WAIT = 20000;
const T = { timeout: 120000 };

let hooks;
let push;
let nodes = [];
let n1;
let n2;
let n3;
before(async () => {
  hooks = await startWebhookReceiver();
  push = await startPushReceiver();
  nodes = await startCluster(3, {
    env: {
      NOTIFY_DELAY: '1s',
      WEBHOOK_URL: hooks.url,
      WEBHOOK_SECRET: hooks.secret,
      PUSH_ENDPOINT_HOSTS: '127.0.0.1',
      SSL_CERT_FILE: push.caFile,
      MESSAGES_PER_SECOND: '1000',
      MESSAGE_BURST: '1000',
    },
  });
  [n1, n2, n3] = nodes;
  push.setVapidKey(await publicKey(n1));
});
after(async () => {
  await stopCluster(nodes);
  await hooks?.close();
  await push?.close();
});
afterEach(() => { for (const n of nodes) n.closeSockets(); });

const isDue = (userId, orderId) => (r) => r.type === 'notification.due' &&
  r.data?.userId === userId && r.data?.orderId === orderId;
const isPushFor = (sub) => (r) => r.subscriptionId === sub.id;
const dueRequests = (userId, orderId) => hooks.deliveries().filter(isDue(userId, orderId));

async function publicKey(node) {
  return restData(await node.rest('GET', '/push/public-key', node.token(uid('vapid')))).publicKey;
}

async function subscribe(node, userId) {
  const sub = push.subscribe();
  restData(await node.rest('POST', '/push/subscriptions', node.token(userId), sub.json()), 201);
  return sub;
}

async function send(node, order, userId, text) {
  return restData(await node.rest('POST', `/orders/${order.id}/messages`, node.token(userId), { message: text }), 201);
}

/** A later notification (a fresh order, its customer offline, sent on node 3): both its webhook and its push arrived. */
async function marker() {
  const order = await makeOrder(n3);
  const sub = await subscribe(n3, order.customer.id);
  await send(n3, order, order.agents[0].id, 'marker');
  await hooks.waitFor(isDue(order.customer.id, order.id), WAIT);
  await push.waitFor(isPushFor(sub), WAIT);
}

describe('cluster: notifications', () => {
  it('every node shows the same VAPID public key (stored once for all)', T, async () => {
    const keys = await Promise.all(nodes.map(publicKey));
    assert.equal(Buffer.from(keys[0], 'base64url').length, 65);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
  });

  it('one offline recipient, one message: exactly one notification.due and one push, and one per later message; one message.created each', T, async () => {
    const order = await makeOrder(n1);
    const agent = order.agents[0].id;
    const sub = await subscribe(n2, agent);
    const sent = [];
    for (const [i, node] of [n1, n2, n3].entries()) {
      const m = await send(node, order, order.customer.id, `message ${i + 1}`);
      sent.push(m);
      // Each message is notified on its own: the next is sent once this one's notification arrived.
      const d = await hooks.waitFor((r) => isDue(agent, order.id)(r) && r.data.lastMessage.id === m.id, WAIT);
      assert.equal(d.data.count, 1, `message ${i + 1}: count 1`);
      const p = await push.waitFor((r) => isPushFor(sub)(r) && r.payload.body === `Ada Obi: message ${i + 1}`, WAIT);
      assert.equal(p.payload.tag, `order-${order.id}`);
    }
    await marker();
    const dues = dueRequests(agent, order.id);
    assert.deepEqual(dues.map((r) => [r.data.lastMessage.id, r.verified, r.status]), sent.map((m) => [m.id, true, 200]),
      'exactly one notification.due request per message');
    assert.equal(new Set(dues.map((r) => r.id)).size, 3, 'each its own webhook-id');
    assert.deepEqual(push.to(sub).map((r) => [r.payload?.body, r.verified]),
      sent.map((m) => [`Ada Obi: ${m.message}`, true]), 'exactly one push per message');
    assert.deepEqual(dueRequests(order.customer.id, order.id), [], 'the sender is not notified');
    for (const m of sent) {
      const created = hooks.deliveries().filter((r) => r.type === 'message.created' && r.data?.message?.id === m.id);
      assert.equal(created.length, 1, `one message.created for ${m.message}: ${JSON.stringify(created.map((r) => r.summary()))}`);
    }
  });

  it('a recipient joined on node 2 while the message is sent on node 1 gets nothing; the offline one is notified', T, async () => {
    const order = await makeOrder(n1, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Kemi Ade' }],
    });
    const [online, offline] = order.agents.map((a) => a.id);
    const onlineSub = await subscribe(n3, online);
    await joinAs(n2, online, order.id);
    const cust = await joinAs(n1, order.customer.id, order.id);
    const ack = await cust.timeout(5000).emitWithAck('send-message', { orderId: order.id, message: 'who is here?' });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const d = await hooks.waitFor(isDue(offline, order.id), WAIT);
    assert.equal(d.data.lastMessage.id, ack.data.id);
    await marker();
    assert.deepEqual(dueRequests(online, order.id).map((r) => r.summary()), [], 'no notification to the user joined on node 2');
    assert.deepEqual(push.to(onlineSub).map((r) => r.summary()), [], 'no push to the user joined on node 2');
    assert.equal(dueRequests(offline, order.id).length, 1, 'one notification to the offline user');
  });

  it('every webhook and push the cluster sent verified', () => {
    const bad = [...hooks.deliveries(), ...push.pushes()].filter((r) => !r.verified).map((r) => r.summary());
    assert.deepEqual(bad, []);
  });
});
