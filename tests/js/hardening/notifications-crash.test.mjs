// PROTOCOL.md section 14, "Durable": a notification due for a message whose send was acknowledged
// is not lost when the server is SIGKILLed before delivering it. The server (NOTIFY_DELAY=2s) is
// killed right after the send's ack, restarted on the same SQLite file with the receiver up, and
// the notification arrives after the restart, exactly once (one request, one webhook-id, verified
// with standardwebhooks); the push too, decrypted and VAPID-checked.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeOrder } from '../lib/server.mjs';
import { spawnServer, figure } from '../lib/hardening.mjs';
import { restData } from '../lib/shapes.mjs';
import { startWebhookReceiver, startPushReceiver } from '../lib/receivers.mjs';

const WAIT = 20000;

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

const env = () => ({
  NOTIFY_DELAY: '2s',
  WEBHOOK_URL: hooks.url,
  WEBHOOK_SECRET: hooks.secret,
  PUSH_ENDPOINT_HOSTS: '127.0.0.1',
  SSL_CERT_FILE: push.caFile,
});

const isDue = (userId, orderId) => (r) => r.type === 'notification.due' &&
  r.data?.userId === userId && r.data?.orderId === orderId;

/** GET /push/public-key: the server's VAPID public key. */
async function publicKey(server) {
  return restData(await server.rest('GET', '/push/public-key', server.token('vapid-reader'))).publicKey;
}

describe('notifications across a SIGKILL', () => {
  it('a notification due after a SIGKILL (right after the send\'s ack) is delivered after the restart, exactly once', { timeout: 120000 }, async () => {
    const first = await spawnServer({ env: env() });
    let second;
    try {
      const k = await publicKey(first);
      push.setVapidKey(k);
      const order = await makeOrder(first);
      const agent = order.agents[0].id;
      const sub = push.subscribe();
      restData(await first.rest('POST', '/push/subscriptions', first.token(agent), sub.json()), 201);
      const sent = await first.rest('POST', `/orders/${order.id}/messages`, first.token(order.customer.id), { message: 'survive this' });
      first.proc.kill('SIGKILL');
      const m = restData(sent, 201);
      const killedAt = Date.now();
      assert.equal((await first.exited).signal, 'SIGKILL');
      assert.deepEqual(hooks.deliveries().filter(isDue(agent, order.id)).map((r) => r.summary()), [],
        'nothing was due before the kill (NOTIFY_DELAY=2s)');

      second = await spawnServer({
        env: env(), databaseUrl: first.databaseUrl,
        secret: first.secret, adminSecret: first.adminSecret, internalKey: first.internalKey,
      });
      assert.equal(await publicKey(second), k, 'the stored VAPID key, the same after the restart');
      const d = await hooks.waitFor(isDue(agent, order.id), WAIT);
      assert.equal(d.data.count, 1);
      assert.equal(d.data.lastMessage.id, m.id);
      assert.match(d.id, /^msg_[0-9a-f]{32}$/);
      const pushed = await push.waitFor((r) => r.subscriptionId === sub.id, WAIT);
      assert.equal(pushed.payload.tag, `order-${order.id}`);
      figure('notification after SIGKILL', { ms_after_kill: d.receivedAt - killedAt });

      // A later notification (another order, after this one) bounds the wait for a duplicate.
      const later = await makeOrder(second);
      await second.rest('POST', `/orders/${later.id}/messages`, second.token(later.customer.id), { message: 'marker' });
      await hooks.waitFor(isDue(later.agents[0].id, later.id), WAIT);
      const all = hooks.deliveries().filter(isDue(agent, order.id));
      assert.equal(all.length, 1, `one delivery: ${JSON.stringify(all.map((r) => r.summary()))}`);
      assert.equal(all[0].verified, true);
      assert.equal(push.to(sub).length, 1, 'one push');

      // The message's message.created webhook is not lost either (before the kill or after the restart).
      const created = await hooks.waitFor((r) => r.type === 'message.created' && r.data?.message?.id === m.id, WAIT);
      figure('message.created of the killed send', { delivered: created.receivedAt < killedAt ? 'before the kill' : 'after the restart' });
    } finally {
      if (first.alive()) first.proc.kill('SIGKILL');
      await second?.stop();
    }
  });
});
