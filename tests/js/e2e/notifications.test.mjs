// PROTOCOL.md section 14 (and "Where §14 is silent"): notifications by webhook and Web Push, with
// real cryptography at the far ends (lib/receivers.mjs): every webhook is verified by the official
// `standardwebhooks` package, every push is decrypted with `http_ece` (aes128gcm, RFC 8291) and
// its VAPID JWT checked with node:crypto against the server's public key, over HTTPS with a
// private CA the server trusts through SSL_CERT_FILE.
//
// "Nothing arrived" is never a sleep: each such case waits for a positive signal that comes after
// the notification would have (another participant's notification of the same message, then a
// marker: a later message in a fresh order to an offline user, whose webhook and push must both
// arrive), and the last test checks that, over the whole file, nobody who must not be notified was.
//
// Both backends: E2E_DATABASE_URL (PostgreSQL) when set, else a new SQLite file per server.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, NO_LIMITS, makeOrder, uid } from '../lib/server.mjs';
import { assertKeys, assertMessage, assertRestError, restData, TIME } from '../lib/shapes.mjs';
import { joinAs, people, edit, del, react } from '../lib/chat.mjs';
import {
  startWebhookReceiver, startPushReceiver, vapidKeyPair, vapidPublicKeyOf,
} from '../lib/receivers.mjs';

const VAPID_SUBJECT = 'mailto:ops@order-chat.test';
const WAIT = 15000;
const T = { timeout: 90000 };

let hooks;
let push;
before(async () => {
  hooks = await startWebhookReceiver();
  push = await startPushReceiver();
});
after(async () => {
  await hooks?.close();
  await push?.close();
});

/** The environment of a server that notifies through both receivers. */
const notifyEnv = (delay, extra = {}) => ({
  ...NO_LIMITS,
  NOTIFY_DELAY: delay,
  WEBHOOK_URL: hooks.url,
  WEBHOOK_SECRET: hooks.secret,
  VAPID_SUBJECT,
  PUSH_ENDPOINT_HOSTS: '127.0.0.1',
  SSL_CERT_FILE: push.caFile,
  ...extra,
});

/** GET /push/public-key: the server's VAPID public key (base64url). */
async function publicKey(server) {
  const d = restData(await server.rest('GET', '/push/public-key', server.token(uid('vapid'))));
  assertKeys(d, ['publicKey'], 'push public-key data');
  return d.publicKey;
}

/** Start a notifying server and tell the push receiver its VAPID key. */
async function start(delay, o = {}) {
  const server = await startServer({ ...o, env: notifyEnv(delay, o.env) });
  push.setVapidKey(await publicKey(server));
  return server;
}

const isDue = (userId, orderId) => (r) => r.type === 'notification.due' &&
  r.data?.userId === userId && r.data?.orderId === orderId;
const isPushFor = (sub) => (r) => r.subscriptionId === sub.id;
const isEvent = (type, messageId) => (r) => r.type === type && r.data?.message?.id === messageId;

/** Every request (verified or not) the webhook receiver got for this user's notification of this order. */
const dueRequests = (userId, orderId) => hooks.deliveries().filter(isDue(userId, orderId));

// Who must never be notified (checked again by the last test of the file).
const mustNot = [];
const never = (userId, orderId, why) => mustNot.push({ userId, orderId, why });
const mustNotPush = [];
const neverPush = (sub, why) => mustNotPush.push({ sub, why });

/** POST /push/subscriptions as `userId`; asserts 201 and the echo; resolves with the subscription. */
async function subscribe(server, userId, sub = push.subscribe(), status = 201) {
  const res = await server.rest('POST', '/push/subscriptions', server.token(userId), sub.json());
  assert.deepEqual(restData(res, status), sub.json(), 'POST /push/subscriptions answers the subscription');
  return sub;
}

/** Send `text` over REST as `userId` (no socket at all); resolves with the stored message. */
async function send(server, order, userId, text) {
  return restData(await server.rest('POST', `/orders/${order.id}/messages`, server.token(userId), { message: text }), 201);
}

/**
 * The positive signal: a fresh order whose customer is offline with a push subscription; its
 * agent sends now. Resolves once that notification's webhook and push both arrived: whatever was
 * due before them has been decided and sent by then.
 */
async function marker(server) {
  const order = await makeOrder(server);
  const sub = await subscribe(server, order.customer.id);
  never(order.agents[0].id, order.id, 'the marker\'s sender');
  await send(server, order, order.agents[0].id, 'marker');
  await hooks.waitFor(isDue(order.customer.id, order.id), WAIT);
  await push.waitFor(isPushFor(sub), WAIT);
}

/** A due notification's webhook: the Standard Webhooks headers, the envelope and its data. */
function assertDueWebhook(r, e) {
  assert.equal(r.verified, true, r.error);
  assert.equal(r.method, 'POST');
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.match(r.headers['user-agent'], /^order-chat\/\S+$/);
  assert.match(r.id, /^msg_[0-9a-f]{32}$/, 'webhook-id is msg_ + 32 hex');
  assert.match(r.timestamp, /^\d+$/, 'webhook-timestamp in Unix seconds');
  assert.ok(Math.abs(Number(r.timestamp) * 1000 - r.receivedAt) < 60000, 'webhook-timestamp is now');
  assertKeys(r.envelope, ['type', 'timestamp', 'data'], 'webhook envelope');
  assert.equal(r.envelope.type, 'notification.due');
  assert.match(r.envelope.timestamp, TIME, 'envelope timestamp: ISO 8601 UTC with milliseconds');
  assertKeys(r.data, ['userId', 'orderId', 'orderNumber', 'count', 'lastMessage'], 'notification.due data');
  assert.equal(r.data.userId, e.userId);
  assert.equal(r.data.orderId, e.order.id);
  assert.equal(r.data.orderNumber, e.order.number);
  assert.equal(r.data.count, e.count);
  assert.equal(r.data.lastMessage.id, e.lastMessage.id);
  assert.equal(r.data.lastMessage.message, e.lastMessage.message);
}

/** A push: its headers, its VAPID claims and its decrypted payload (section 14's choices). */
function assertPush(p, e) {
  assert.equal(p.verified, true, p.error);
  assert.equal(p.headers.ttl, '86400', 'TTL');
  assert.equal(p.headers.urgency, 'high', 'Urgency');
  assert.match(p.headers.topic ?? '', /^[A-Za-z0-9_-]{32}$/, 'Topic: 32 URL-safe base64 characters');
  assert.equal(p.headers.contentEncoding, 'aes128gcm');
  assert.equal(p.vapid.claims.aud, push.origin, 'aud: the endpoint origin');
  assert.equal(p.vapid.claims.sub, VAPID_SUBJECT, 'sub: VAPID_SUBJECT');
  const ahead = p.vapid.claims.exp - p.receivedAt / 1000;
  assert.ok(Math.abs(ahead - 12 * 3600) < 600, `exp is now + 12 h (is now + ${Math.round(ahead)} s)`);
  assertKeys(p.payload, ['title', 'body', 'orderId', 'url', 'tag'], 'push payload');
  assert.deepEqual(p.payload, {
    title: `Order #${e.order.number}`,
    body: e.body,
    orderId: e.order.id,
    url: `/chat.html?orderId=${e.order.id}&userId=${e.userId}`,
    tag: `order-${e.order.id}`,
  });
}

describe('notifications with NOTIFY_DELAY=0s', () => {
  let server;
  before(async () => { server = await start('0s'); });
  after(async () => { await server?.stop(); });
  afterEach(() => server.closeSockets());

  it('an offline recipient gets notification.due (signed, count 1, the message) and a push (decrypted, VAPID-signed, TTL/Urgency/Topic); the sender nothing', T, async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const agent = order.agents[0].id;
    const sub = await subscribe(server, agent);
    const custSub = await subscribe(server, order.customer.id);
    never(order.customer.id, order.id, 'the sender');
    neverPush(custSub, 'the sender\'s subscription');
    const m = await send(server, order, order.customer.id, 'Please get the ripe plantains');

    const d = await hooks.waitFor(isDue(agent, order.id), WAIT);
    assertDueWebhook(d, { userId: agent, order, count: 1, lastMessage: m });
    assertMessage(d.data.lastMessage, {
      id: m.id, orderId: order.id, seq: m.seq, sender: p.customer, message: 'Please get the ripe plantains', rev: m.rev,
    });
    const pushed = await push.waitFor(isPushFor(sub), WAIT);
    assertPush(pushed, { order, userId: agent, body: 'Ada Obi: Please get the ripe plantains' });

    await marker(server);
    assert.equal(dueRequests(agent, order.id).length, 1, 'one notification.due request');
    assert.equal(push.to(sub).length, 1, 'one push');
    assert.deepEqual(dueRequests(order.customer.id, order.id).map((r) => r.summary()), [], 'the sender is not notified');
    assert.deepEqual(push.to(custSub).map((r) => r.summary()), [], 'no push to the sender');
  });

  it('a recipient with a socket joined to the order gets nothing; one only connected (not joined) is notified', T, async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Kemi Ade' }],
    });
    const [inChat, elsewhere] = order.agents.map((a) => a.id);
    const inChatSub = await subscribe(server, inChat);
    await joinAs(server, inChat, order.id);
    await server.connect(server.token(elsewhere));
    never(inChat, order.id, 'joined to the order\'s chat');
    neverPush(inChatSub, 'joined to the order\'s chat');
    const m = await send(server, order, order.customer.id, 'are you there?');

    const d = await hooks.waitFor(isDue(elsewhere, order.id), WAIT);
    assertDueWebhook(d, { userId: elsewhere, order, count: 1, lastMessage: m });
    await marker(server);
    assert.deepEqual(dueRequests(inChat, order.id).map((r) => r.summary()), [], 'no notification to the user in the chat');
    assert.deepEqual(push.to(inChatSub).map((r) => r.summary()), [], 'no push to the user in the chat');
  });

  it('mute: PUT …/notifications {muted:true} stops notification.due and push (not message.created); GET reports it; unmuting notifies new messages only', T, async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Kemi Ade' }],
    });
    const [muted, other] = order.agents.map((a) => a.id);
    const path = `/orders/${order.id}/notifications`;
    assert.deepEqual(restData(await server.rest('GET', path, server.token(muted))), { orderId: order.id, muted: false }, 'not muted by default');
    assert.deepEqual(restData(await server.rest('PUT', path, server.token(muted), { muted: true })), { orderId: order.id, muted: true });
    assert.deepEqual(restData(await server.rest('GET', path, server.token(muted))), { orderId: order.id, muted: true });
    assert.deepEqual(restData(await server.rest('GET', path, server.token(other))), { orderId: order.id, muted: false }, 'per user');
    const stranger = (await makeOrder(server)).customer.id;
    assertRestError(await server.rest('PUT', path, server.token(stranger), { muted: true }), 403, 'FORBIDDEN');
    assertRestError(await server.rest('GET', path, server.token(stranger)), 403, 'FORBIDDEN');
    const bad = await server.rest('PUT', path, server.token(muted), { muted: 'yes' });
    assertRestError(bad, 400, 'VALIDATION');

    const sub = await subscribe(server, muted);
    never(muted, order.id, 'muted');
    const m = await send(server, order, order.customer.id, 'muted?');
    await hooks.waitFor(isDue(other, order.id), WAIT);
    const created = await hooks.waitFor(isEvent('message.created', m.id), WAIT);
    assert.equal(created.data.orderId, order.id, 'muting does not touch message.* webhooks');
    await marker(server);
    assert.deepEqual(dueRequests(muted, order.id).map((r) => r.summary()), [], 'no notification.due to the muted user');
    assert.deepEqual(push.to(sub).map((r) => r.summary()), [], 'no push to the muted user');

    assert.deepEqual(restData(await server.rest('PUT', path, server.token(muted), { muted: false })), { orderId: order.id, muted: false });
    mustNot.splice(mustNot.findIndex((x) => x.userId === muted), 1);
    const m2 = await send(server, order, order.customer.id, 'and now?');
    const d = await hooks.waitFor(isDue(muted, order.id), WAIT);
    assertDueWebhook(d, { userId: muted, order, count: 1, lastMessage: m2 });
    const pushed = await push.waitFor(isPushFor(sub), WAIT);
    assertPush(pushed, { order, userId: muted, body: 'Ada Obi: and now?' });
  });

  it('the webhook answers 500 then 200: two attempts with the same webhook-id, each verified (signed anew), then done', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    hooks.script(isDue(agent, order.id), [500]);
    const m = await send(server, order, order.customer.id, 'retry me');
    const [first, second] = await hooks.waitForCount(isDue(agent, order.id), 2, WAIT);
    assert.deepEqual([first.status, second.status], [500, 200]);
    assert.equal(second.id, first.id, 'the same webhook-id on every attempt');
    assertDueWebhook(first, { userId: agent, order, count: 1, lastMessage: m });
    assertDueWebhook(second, { userId: agent, order, count: 1, lastMessage: m });
    assert.ok(Number(second.timestamp) >= Number(first.timestamp), 'webhook-timestamp signed anew');
    const gap = second.receivedAt - first.receivedAt;
    assert.ok(gap >= 700, `attempt 2 waits 1 s ± 25 % after attempt 1 (waited ${gap} ms)`);
    await marker(server);
    assert.equal(dueRequests(agent, order.id).length, 2, 'no attempt after the 200');
  });

  it('the webhook answers 503 with Retry-After: 3: the next attempt waits at least 3 s', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    hooks.script(isDue(agent, order.id), [{ status: 503, headers: { 'retry-after': '3' } }]);
    await send(server, order, order.customer.id, 'later, please');
    const [first, second] = await hooks.waitForCount(isDue(agent, order.id), 2, WAIT);
    assert.deepEqual([first.status, second.status], [503, 200]);
    assert.equal(second.id, first.id);
    const gap = second.receivedAt - first.receivedAt;
    assert.ok(gap >= 2900, `Retry-After honoured (waited ${gap} ms, not 3 s)`);
  });

  it('a retry that gets through means the receiver is back: a delivery told to wait an hour (Retry-After: 3600) goes at once', T, async () => {
    const held = await makeOrder(server);
    const probe = await makeOrder(server);
    const [heldAgent, probeAgent] = [held.agents[0].id, probe.agents[0].id];
    hooks.script(isDue(heldAgent, held.id), [{ status: 503, headers: { 'retry-after': '3600' } }]);
    await send(server, held, held.customer.id, 'the receiver is down');
    const [refused] = await hooks.waitForCount(isDue(heldAgent, held.id), 1, WAIT);
    assert.equal(refused.status, 503);
    // Another delivery fails once (retried after ~1 s), then gets a 200.
    hooks.script(isDue(probeAgent, probe.id), [500]);
    await send(server, probe, probe.customer.id, 'is it back?');
    const [, ok] = await hooks.waitForCount(isDue(probeAgent, probe.id), 2, WAIT);
    assert.equal(ok.status, 200);
    const [, again] = await hooks.waitForCount(isDue(heldAgent, held.id), 2, WAIT);
    assert.equal(again.status, 200);
    assert.equal(again.id, refused.id, 'the same webhook-id');
    assert.ok(again.receivedAt >= ok.receivedAt, 'sent after the receiver answered again');
    assert.ok(again.receivedAt - ok.receivedAt < 5000, `sent at once, not after an hour (${again.receivedAt - ok.receivedAt} ms after the 200)`);
  });

  it('a push service\'s 410 or 404 removes that subscription: a later message pushes to the others only', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    const gone = await subscribe(server, agent);
    const notFound = await subscribe(server, agent);
    const kept = await subscribe(server, agent);
    push.script(isPushFor(gone), [410]);
    push.script(isPushFor(notFound), [404]);
    await send(server, order, order.customer.id, 'first');
    await push.waitFor(isPushFor(gone), WAIT);
    await push.waitFor(isPushFor(notFound), WAIT);
    await push.waitFor(isPushFor(kept), WAIT);
    await hooks.waitFor(isDue(agent, order.id), WAIT);
    // A whole later notification round, so the server has handled the 410 and 404 answers.
    await marker(server);
    const m2 = await send(server, order, order.customer.id, 'second');
    const p2 = await push.waitFor((r) => isPushFor(kept)(r) && r.payload.body === 'Ada Obi: second', WAIT);
    assertPush(p2, { order, userId: agent, body: 'Ada Obi: second' });
    await hooks.waitFor((r) => isDue(agent, order.id)(r) && r.data.lastMessage.id === m2.id, WAIT);
    await marker(server);
    assert.equal(push.to(gone).length, 1, 'nothing more to the subscription answered 410');
    assert.equal(push.to(notFound).length, 1, 'nothing more to the subscription answered 404');
    const del410 = await server.rest('DELETE', '/push/subscriptions', server.token(agent), { endpoint: gone.endpoint });
    assert.deepEqual(restData(del410), { removed: false }, 'the 410 subscription is gone already');
  });

  it('a push service\'s 500 is retried: a second push of the same payload', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    const sub = await subscribe(server, agent);
    push.script(isPushFor(sub), [500]);
    await send(server, order, order.customer.id, 'push again');
    const [first, second] = await push.waitForCount(isPushFor(sub), 2, WAIT);
    assert.deepEqual([first.status, second.status], [500, 201]);
    assertPush(second, { order, userId: agent, body: 'Ada Obi: push again' });
    assert.deepEqual(first.payload, second.payload);
  });

  it('subscriptions: 201 then 200 for the same endpoint (also from another user, who takes it over); DELETE answers removed', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    const sub = await subscribe(server, agent);
    await subscribe(server, agent, sub, 200);
    const taken = await subscribe(server, agent);
    const newOwner = (await makeOrder(server)).customer.id;
    await subscribe(server, newOwner, taken, 200);
    neverPush(taken, 'taken over by another user');
    const deleted = await subscribe(server, agent);
    neverPush(deleted, 'deleted');
    const d = (u, s) => server.rest('DELETE', '/push/subscriptions', server.token(u), { endpoint: s.endpoint });
    assert.deepEqual(restData(await d(newOwner, deleted)), { removed: false }, 'not the caller\'s');
    assert.deepEqual(restData(await d(agent, deleted)), { removed: true });
    assert.deepEqual(restData(await d(agent, deleted)), { removed: false }, 'already removed');
    await send(server, order, order.customer.id, 'who gets this?');
    await push.waitFor(isPushFor(sub), WAIT);
    await marker(server);
    assert.equal(push.to(sub).length, 1, 'the re-posted subscription counts once');
    assert.deepEqual(push.to(taken).map((r) => r.summary()), [], 'no push to a subscription now another user\'s');
    assert.deepEqual(push.to(deleted).map((r) => r.summary()), [], 'no push to a deleted subscription');
  });

  it('endpoints not https on an allowed host are VALIDATION naming endpoint; bad keys name keys.p256dh / keys.auth', T, async () => {
    const t = server.token(uid('cust'));
    const good = push.subscribe().json();
    const postSub = (body) => server.rest('POST', '/push/subscriptions', t, body);
    const endpoints = [
      'https://evil.example.com/x',
      `http://127.0.0.1:${new URL(push.origin).port}/push/x`,
      'https://10.0.0.5/push/x',
      'https://192.168.1.10/push/x',
      'https://localhost/push/x',
      'https://[::1]/push/x',
      'https://127.0.0.1.evil.example.com/push/x',
      'not a url',
      `${push.origin}/push/${'x'.repeat(1025)}`,
      '',
    ];
    for (const endpoint of endpoints) {
      const res = await postSub({ ...good, endpoint });
      assertRestError(res, 400, 'VALIDATION');
      assert.match(res.body.message, /endpoint/, `${endpoint.slice(0, 60)}: ${res.body.message}`);
    }
    const res = await postSub({ keys: good.keys });
    assertRestError(res, 400, 'VALIDATION');
    assert.match(res.body.message, /endpoint/, 'a missing endpoint');

    const point = Buffer.from(good.keys.p256dh, 'base64url');
    const compressed = Buffer.concat([Buffer.from([2 + (point[64] & 1)]), point.subarray(1, 33)]);
    const p256dh = [
      compressed.toString('base64url'),
      point.subarray(0, 64).toString('base64url'),
      Buffer.concat([point, Buffer.from([0])]).toString('base64url'),
      '!!!not base64url!!!',
      '',
      42,
    ];
    for (const v of p256dh) {
      const r = await postSub({ ...good, keys: { ...good.keys, p256dh: v } });
      assertRestError(r, 400, 'VALIDATION');
      assert.match(r.body.message, /keys\.p256dh/, `p256dh ${JSON.stringify(v)}: ${r.body.message}`);
    }
    const r1 = await postSub({ ...good, keys: { auth: good.keys.auth } });
    assertRestError(r1, 400, 'VALIDATION');
    assert.match(r1.body.message, /keys\.p256dh/, `missing p256dh: ${r1.body.message}`);
    for (const v of [Buffer.alloc(8, 1).toString('base64url'), Buffer.alloc(32, 1).toString('base64url'), '***', '']) {
      const r = await postSub({ ...good, keys: { ...good.keys, auth: v } });
      assertRestError(r, 400, 'VALIDATION');
      assert.match(r.body.message, /keys\.auth/, `auth ${JSON.stringify(v)}: ${r.body.message}`);
    }
    const r2 = await postSub({ ...good, keys: { p256dh: good.keys.p256dh } });
    assertRestError(r2, 400, 'VALIDATION');
    assert.match(r2.body.message, /keys\.auth/, `missing auth: ${r2.body.message}`);
    assertRestError(await server.rest('POST', '/push/subscriptions', undefined, good), 401, 'UNAUTHORIZED');
    assertRestError(await server.rest('GET', '/push/public-key', undefined), 401, 'UNAUTHORIZED');
  });

  it('an 11th subscription of a user removes that user\'s oldest', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    const subs = [];
    for (let i = 0; i < 11; i++) subs.push(await subscribe(server, agent));
    neverPush(subs[0], 'the oldest of 11');
    await send(server, order, order.customer.id, 'to ten devices');
    for (const s of subs.slice(1)) await push.waitFor(isPushFor(s), WAIT);
    await marker(server);
    assert.deepEqual(push.to(subs[0]).map((r) => r.summary()), [], 'no push to the oldest subscription');
    const r = await server.rest('DELETE', '/push/subscriptions', server.token(agent), { endpoint: subs[0].endpoint });
    assert.deepEqual(restData(r), { removed: false }, 'the oldest is gone');
  });

  it('message.created, message.updated (edit, reaction) and message.deleted webhooks, in rev order, system messages included', T, async () => {
    const order = await makeOrder(server);
    const p = people(order);
    const o = order.id;
    const cust = await joinAs(server, order.customer.id, o);
    // Each change once the previous one's webhook arrived: the data is the message "in its state
    // when the event is taken from the change stream", so this makes each state known.
    const m = await send(server, order, order.customer.id, 'the original');
    const created = await hooks.waitFor(isEvent('message.created', m.id), WAIT);
    const edited = await edit(cust, o, m.id, 'the edit');
    const editEvent = await hooks.waitFor((r) => isEvent('message.updated', m.id)(r) && r.data.message.rev === edited.rev, WAIT);
    const reacted = await react(cust, o, m.id, '👍');
    const reactEvent = await hooks.waitFor((r) => isEvent('message.updated', m.id)(r) && r.data.message.rev === reacted.rev, WAIT);
    const tomb = await del(cust, o, m.id);
    const deleted = await hooks.waitFor(isEvent('message.deleted', m.id), WAIT);

    const events = hooks.verified((r) => r.data?.message?.id === m.id);
    assert.deepEqual(events.map((r) => r.type), ['message.created', 'message.updated', 'message.updated', 'message.deleted'],
      'one webhook per change');
    for (const r of events) {
      assert.match(r.id, /^msg_[0-9a-f]{32}$/);
      assert.match(r.headers['user-agent'], /^order-chat\/\S+$/);
      assertKeys(r.envelope, ['type', 'timestamp', 'data'], 'envelope');
      assert.match(r.envelope.timestamp, TIME);
      assertKeys(r.data, ['orderId', 'orderNumber', 'message'], `${r.type} data`);
      assert.equal(r.data.orderId, o);
      assert.equal(r.data.orderNumber, order.number);
    }
    assert.equal(new Set(events.map((r) => r.id)).size, 4, 'each event its own webhook-id');
    assertMessage(created.data.message, { id: m.id, orderId: o, seq: m.seq, sender: p.customer, message: 'the original', rev: m.rev });
    assert.equal(editEvent.data.message.message, 'the edit');
    assert.equal(editEvent.data.message.editedAt, edited.editedAt);
    assert.deepEqual(reactEvent.data.message.reactions, reacted.reactions);
    assert.equal(deleted.data.message.deleted, true);
    assert.equal(deleted.data.message.message, '');
    assert.equal(deleted.data.message.rev, tomb.rev);
    assert.equal(deleted.data.message.deletedBy, order.customer.id);
    for (const secret of ['the original', 'the edit']) {
      assert.ok(!JSON.stringify(deleted.data).includes(secret), `the deleted webhook shows ${secret}`);
    }

    await server.putOrder(o, { orderNumber: order.number, status: 'delivery', customer: order.customer, agents: order.agents });
    const sys = await hooks.waitFor((r) => r.type === 'message.created' && r.data?.orderId === o &&
      r.data.message.senderType === 'system', WAIT);
    assert.ok(sys.data.message.seq > m.seq);
  });
});

describe('notifications with NOTIFY_DELAY=2s', () => {
  let server;
  before(async () => { server = await start('2s'); });
  after(async () => { await server?.stop(); });
  afterEach(() => server.closeSockets());

  it('a recipient who read the message before it was due gets nothing; the one who did not is notified', T, async () => {
    const order = await makeOrder(server, {
      agents: [{ id: uid('agent'), name: 'Tunde Bello' }, { id: uid('agent'), name: 'Kemi Ade' }],
    });
    const [reader, other] = order.agents.map((a) => a.id);
    const sub = await subscribe(server, reader);
    never(reader, order.id, 'read it in time');
    neverPush(sub, 'read it in time');
    const t0 = Date.now();
    const m = await send(server, order, order.customer.id, 'read me quickly');
    restData(await server.rest('POST', `/read/${order.id}`, server.token(reader)));
    assert.ok(Date.now() - t0 < 1500, 'marked read well before NOTIFY_DELAY');
    const d = await hooks.waitFor(isDue(other, order.id), WAIT);
    assertDueWebhook(d, { userId: other, order, count: 1, lastMessage: m });
    assert.ok(d.receivedAt - t0 >= 1900, `not before NOTIFY_DELAY (after ${d.receivedAt - t0} ms)`);
    await marker(server);
    assert.deepEqual(dueRequests(reader, order.id).map((r) => r.summary()), [], 'no notification to the reader');
    assert.deepEqual(push.to(sub).map((r) => r.summary()), [], 'no push to the reader');
  });

  it('three messages quickly fold into one notification: count 3, the newest, "3 new messages · …"', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    const sub = await subscribe(server, agent);
    const t0 = Date.now();
    await send(server, order, order.customer.id, 'one');
    await send(server, order, order.customer.id, 'two');
    const m3 = await send(server, order, order.customer.id, 'three');
    assert.ok(Date.now() - t0 < 1500, 'the three were sent well within NOTIFY_DELAY');
    const d = await hooks.waitFor(isDue(agent, order.id), WAIT);
    assertDueWebhook(d, { userId: agent, order, count: 3, lastMessage: m3 });
    const pushed = await push.waitFor(isPushFor(sub), WAIT);
    assertPush(pushed, { order, userId: agent, body: '3 new messages · Ada Obi: three' });
    await marker(server);
    assert.equal(dueRequests(agent, order.id).length, 1, 'one notification for the three');
    assert.equal(push.to(sub).length, 1, 'one push for the three');
  });

  it('a message deleted before it is due is not counted', T, async () => {
    const order = await makeOrder(server);
    const agent = order.agents[0].id;
    const cust = await joinAs(server, order.customer.id, order.id);
    const m1 = await send(server, order, order.customer.id, 'keep one');
    const m2 = await send(server, order, order.customer.id, 'oops');
    await del(cust, order.id, m2.id);
    const d = await hooks.waitFor(isDue(agent, order.id), WAIT);
    assertDueWebhook(d, { userId: agent, order, count: 1, lastMessage: m1 });
  });
});

describe('the VAPID key', () => {
  it('is generated once and stored: the same after a restart on the same database', T, async () => {
    const first = await start('0s');
    let k1;
    try {
      k1 = await publicKey(first);
      const raw = Buffer.from(k1, 'base64url');
      assert.equal(raw.length, 65, 'a 65-byte point');
      assert.equal(raw[0], 4, 'uncompressed');
      assert.equal(k1, raw.toString('base64url'), 'base64url without padding');
    } finally {
      await first.stop();
    }
    const second = await start('0s', { databaseUrl: first.databaseUrl });
    try {
      assert.equal(await publicKey(second), k1, 'the same key after the restart');
    } finally {
      await second.stop();
    }
  });

  it('is VAPID_PRIVATE_KEY\'s public key when that is set, and pushes are signed with it', T, async () => {
    const vapid = vapidKeyPair();
    const server = await start('0s', { env: { VAPID_PRIVATE_KEY: vapid.privateKey } });
    try {
      assert.equal(await publicKey(server), vapidPublicKeyOf(vapid.privateKey));
      push.setVapidKey(vapid.publicKey);
      const order = await makeOrder(server);
      const agent = order.agents[0].id;
      const sub = await subscribe(server, agent);
      await send(server, order, order.customer.id, 'signed by the configured key');
      const pushed = await push.waitFor(isPushFor(sub), WAIT);
      assert.equal(pushed.vapid.k, vapid.publicKey);
      assertPush(pushed, { order, userId: agent, body: 'Ada Obi: signed by the configured key' });
    } finally {
      await server.stop();
    }
  });
});

describe('over the whole file', () => {
  it('nobody who must not be notified was (sender, joined, muted, read in time), and no removed subscription was pushed', () => {
    const wrong = mustNot.flatMap(({ userId, orderId, why }) => dueRequests(userId, orderId).map((r) => ({ why, ...r.summary() })));
    assert.deepEqual(wrong, []);
    const pushed = mustNotPush.flatMap(({ sub, why }) => push.to(sub).map((r) => ({ why, ...r.summary() })));
    assert.deepEqual(pushed, []);
    const unverified = [...hooks.deliveries(), ...push.pushes()].filter((r) => !r.verified).map((r) => r.summary());
    assert.deepEqual(unverified, [], 'every webhook and push the server sent verified');
  });
});
