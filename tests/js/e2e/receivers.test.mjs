// Self-test of tests/js/lib/receivers.mjs, without the chat server: the webhook receiver accepts a
// request signed by the official `standardwebhooks` package and refuses a tampered one or one
// signed with another secret; the push receiver decrypts a push encrypted with `http_ece` to one of
// its subscriptions and checks its VAPID JWT (signed here with node:crypto), and refuses a wrong
// signature, another key, another audience, an expiry too far ahead and a push it cannot decrypt.
// These prove that the notification tests' receivers can fail.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createRequire } from 'node:module';
import { createECDH, createPrivateKey, sign, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  startWebhookReceiver, startPushReceiver, webhookSecret, vapidKeyPair, vapidPublicKeyOf, parseVapid,
} from '../lib/receivers.mjs';

const ece = createRequire(import.meta.url)('http_ece');
const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** POST `body` to the webhook receiver with these headers; resolves with {status, headers}. */
async function post(url, body, headers) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  await res.text();
  return { status: res.status, headers: res.headers };
}

/** Standard Webhooks headers for `body`, signed with `secret` at `when`. */
function signed(secret, body, id = `msg_${randomBytes(16).toString('hex')}`, when = new Date()) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(when.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, when, body),
  };
}

describe('webhook receiver', () => {
  let hooks;
  before(async () => { hooks = await startWebhookReceiver(); });
  after(async () => { await hooks?.close(); });

  const envelope = (data) => JSON.stringify({ type: 'notification.due', timestamp: new Date().toISOString(), data });

  it('accepts a request signed by standardwebhooks and records its id, type, data and headers', async () => {
    const body = envelope({ userId: 'u-self-1', count: 1, text: 'Ada: plantains · 🍌' });
    const h = signed(hooks.secret, body);
    const res = await post(hooks.url, body, h);
    assert.equal(res.status, 200);
    const d = await hooks.waitFor((r) => r.data?.userId === 'u-self-1', 2000);
    assert.equal(d.verified, true);
    assert.equal(d.id, h['webhook-id']);
    assert.equal(d.type, 'notification.due');
    assert.deepEqual(d.data, { userId: 'u-self-1', count: 1, text: 'Ada: plantains · 🍌' });
    assert.equal(d.headers['webhook-signature'], h['webhook-signature']);
    assert.equal(d.status, 200);
  });

  it('refuses a tampered body, another secret, a stale timestamp and missing headers (401, not verified)', async () => {
    const body = envelope({ userId: 'u-self-2', count: 1 });
    const h = signed(hooks.secret, body);
    const tampered = body.replace('"count":1', '"count":2');
    assert.equal((await post(hooks.url, tampered, h)).status, 401);
    assert.equal((await post(hooks.url, body, signed(webhookSecret(), body))).status, 401);
    const old = new Date(Date.now() - 10 * 60 * 1000);
    assert.equal((await post(hooks.url, body, signed(hooks.secret, body, undefined, old))).status, 401);
    assert.equal((await post(hooks.url, body, { 'webhook-id': h['webhook-id'] })).status, 401);
    const mine = hooks.deliveries().filter((r) => r.data?.userId === 'u-self-2');
    assert.equal(mine.length, 4);
    assert.ok(mine.every((r) => !r.verified && r.error), JSON.stringify(mine.map((r) => r.error)));
    assert.deepEqual(hooks.verified((r) => r.data?.userId === 'u-self-2'), []);
    await assert.rejects(hooks.waitFor((r) => r.data?.userId === 'u-self-2', 200), /0 of 1 matching verified/);
  });

  it('answers a scripted sequence (500, then 503 with Retry-After) to the requests it matches, then 200', async () => {
    hooks.script((r) => r.data?.userId === 'u-self-3', [500, { status: 503, headers: { 'retry-after': '3' } }]);
    const body = envelope({ userId: 'u-self-3', count: 1 });
    const other = envelope({ userId: 'u-self-other', count: 1 });
    assert.equal((await post(hooks.url, other, signed(hooks.secret, other))).status, 200, 'not matched: default');
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(hooks.url, body, signed(hooks.secret, body, 'msg_0123456789abcdef0123456789abcdef'));
      statuses.push([res.status, res.headers.get('retry-after')]);
    }
    assert.deepEqual(statuses, [[500, null], [503, '3'], [200, null]]);
    const attempts = await hooks.waitForCount((r) => r.data?.userId === 'u-self-3', 3, 2000);
    assert.deepEqual(attempts.map((r) => r.status), [500, 503, 200]);
  });
});

/**
 * An application server's push, built here from the specs: the payload encrypted with http_ece to
 * the subscription (a fresh sender key pair), a VAPID JWT signed with node:crypto by `vapid`
 * (`{privateKey, publicKey}` base64url raw). `o` overrides: `claims`, `k` (the key shown),
 * `signWith` (another private key), `keys` (encrypt to other keys), `encoding`.
 */
function pushRequest(sub, payload, vapid, origin, o = {}) {
  const sender = createECDH('prime256v1');
  sender.generateKeys();
  const keys = o.keys || sub.keys;
  const body = ece.encrypt(Buffer.from(JSON.stringify(payload)), {
    version: 'aes128gcm', privateKey: sender, dh: keys.p256dh, authSecret: keys.auth,
  });
  const now = Math.floor(Date.now() / 1000);
  const claims = o.claims || { aud: origin, exp: now + 12 * 3600, sub: 'mailto:ops@example.com' };
  const h = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256' }));
  const p = b64url(JSON.stringify(claims));
  const signer = o.signWith || vapid;
  const pub = Buffer.from(signer.publicKey, 'base64url');
  const key = createPrivateKey({
    key: {
      kty: 'EC', crv: 'P-256', d: signer.privateKey,
      x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33)),
    },
    format: 'jwk',
  });
  const sig = sign('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' });
  return {
    body,
    headers: {
      'content-encoding': o.encoding || 'aes128gcm',
      'content-type': 'application/octet-stream',
      ttl: '86400',
      urgency: 'high',
      topic: 'abcdefghijklmnopqrstuvwxyz012345',
      authorization: `vapid t=${h}.${p}.${b64url(sig)}, k=${o.k || vapid.publicKey}`,
    },
  };
}

/** POST over HTTPS trusting `ca` (or nothing extra); resolves with {status, headers}. */
function httpsPost(url, { body, headers }, ca) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', headers: { ...headers, 'content-length': body.length }, ca }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('push receiver', () => {
  let push;
  const vapid = vapidKeyPair();
  before(async () => {
    push = await startPushReceiver();
    push.setVapidKey(vapid.publicKey);
  });
  after(async () => { await push?.close(); });

  it('makes browser-like subscriptions: https endpoint on its origin, a 65-byte P-256 point, 16 auth bytes', () => {
    const s = push.subscribe();
    assert.match(s.endpoint, /^https:\/\/127\.0\.0\.1:\d+\/push\/[0-9a-f-]{36}$/);
    assert.ok(s.endpoint.startsWith(push.origin));
    const p = Buffer.from(s.keys.p256dh, 'base64url');
    assert.equal(p.length, 65);
    assert.equal(p[0], 4);
    assert.equal(Buffer.from(s.keys.auth, 'base64url').length, 16);
    assert.deepEqual(Object.keys(s.json()).sort(), ['endpoint', 'keys']);
    assert.equal(vapidPublicKeyOf(vapid.privateKey), vapid.publicKey);
  });

  it('decrypts a push encrypted with http_ece and verifies its VAPID JWT (201, headers recorded)', async () => {
    const s = push.subscribe();
    const payload = { title: 'Order #B2S-SELF', body: 'Ada Obi: ripe plantains 🍌', orderId: 'o-self', url: '/chat.html?orderId=o-self&userId=u', tag: 'order-o-self' };
    const res = await httpsPost(s.endpoint, pushRequest(s, payload, vapid, push.origin), push.ca);
    assert.equal(res.status, 201);
    assert.ok(res.headers.location?.startsWith(push.origin));
    const got = await push.waitFor((r) => r.subscriptionId === s.id, 2000);
    assert.equal(got.verified, true, got.error);
    assert.deepEqual(got.payload, payload);
    assert.equal(got.headers.ttl, '86400');
    assert.equal(got.headers.urgency, 'high');
    assert.equal(got.headers.topic, 'abcdefghijklmnopqrstuvwxyz012345');
    assert.equal(got.headers.contentEncoding, 'aes128gcm');
    assert.equal(got.vapid.k, vapid.publicKey);
    assert.equal(got.vapid.claims.sub, 'mailto:ops@example.com');
    assert.deepEqual(parseVapid('vapid k=abc, t=x.y.z'), { t: 'x.y.z', k: 'abc' }, 'parameters in any order');
  });

  it('refuses a wrong signature, another key, another audience, an expiry past 24 h, other keys and another encoding', async () => {
    const s = push.subscribe();
    const payload = { title: 't', body: 'b', orderId: 'o', url: '/u', tag: 'order-o' };
    const other = vapidKeyPair();
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      ['signed by another key, showing the server key', { signWith: other }, 401, /signature does not verify/],
      ['the right JWT for another key', { signWith: other, k: other.publicKey }, 403, /not the server's public key/],
      ['another audience', { claims: { aud: 'https://127.0.0.1:1', exp: now + 3600, sub: 'mailto:a@b' } }, 401, /aud/],
      ['exp more than 24 h ahead', { claims: { aud: push.origin, exp: now + 25 * 3600, sub: 'mailto:a@b' } }, 401, /24 h/],
      ['exp past', { claims: { aud: push.origin, exp: now - 10, sub: 'mailto:a@b' } }, 401, /past/],
      ['no sub', { claims: { aud: push.origin, exp: now + 3600 } }, 401, /sub/],
      ['encrypted to another subscription', { keys: push.subscribe().keys }, 400, /./],
      ['aesgcm, not aes128gcm', { encoding: 'aesgcm' }, 400, /Content-Encoding/],
    ];
    for (const [what, o, status, error] of cases) {
      const before = push.to(s).length;
      const res = await httpsPost(s.endpoint, pushRequest(s, payload, vapid, push.origin, o), push.ca);
      assert.equal(res.status, status, what);
      const r = push.to(s)[before];
      assert.equal(r.verified, false, what);
      assert.match(r.error, error, `${what}: ${r.error}`);
    }
    assert.deepEqual(push.verified((r) => r.subscriptionId === s.id), []);
    await assert.rejects(push.waitFor((r) => r.subscriptionId === s.id, 200), /0 of 1 matching verified/);
  });

  it('answers scripted statuses (410, then 500, then the default 201), and 404 for an unknown subscription', async () => {
    const s = push.subscribe();
    push.script((r) => r.subscriptionId === s.id, [410, 500]);
    const payload = { title: 't', body: 'b', orderId: 'o', url: '/u', tag: 'order-o' };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await httpsPost(s.endpoint, pushRequest(s, payload, vapid, push.origin), push.ca)).status);
    assert.deepEqual(statuses, [410, 500, 201]);
    const gone = `${push.origin}/push/00000000-0000-0000-0000-000000000000`;
    assert.equal((await httpsPost(gone, pushRequest(s, payload, vapid, push.origin), push.ca)).status, 404);
  });

  it('serves a certificate of its private CA: trusted with the CA, refused without it', async () => {
    const s = push.subscribe();
    const req = pushRequest(s, { title: 't' }, vapid, push.origin);
    await assert.rejects(httpsPost(s.endpoint, req), (err) => /certificate/i.test(err.message) || /SELF_SIGNED|UNABLE_TO/.test(err.code));
    assert.equal((await httpsPost(s.endpoint, req, push.ca)).status, 201);
  });
});
