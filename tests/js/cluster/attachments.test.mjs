// PROTOCOL.md section 12 across nodes sharing S3 (moto on loopback): a photo uploaded through
// node 1 reaches a client on node 2 as a full attachment object, and node 2 serves its bytes by
// the signed link node 1 made and by bearer; a delete on node 2 stops node 1 serving it at once.
// Run: E2E_DATABASE_URL=… E2E_REDIS_URL=… E2E_S3_URL=http://127.0.0.1:PORT node --test cluster/
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { makeOrder, next } from '../lib/server.mjs';
import { joinAs, say, del } from '../lib/chat.mjs';
import { clusterEnv, startCluster, stopCluster } from '../lib/cluster.mjs';
import { png, uploaded, download, s3StorageUrl } from '../lib/media.mjs';

clusterEnv();

let nodes = [];
let skip = false;
before(async () => {
  const storage = await s3StorageUrl();
  if (storage === null) { skip = true; return; }
  nodes = await startCluster(2, { env: { STORAGE_URL: storage } });
});
after(async () => { await stopCluster(nodes); });
afterEach(() => { for (const n of nodes) n.closeSockets(); });

describe('cluster: attachments on shared S3', () => {
  it('uploaded through node 1, shown and served by node 2; deleted on node 2, gone on node 1', async (t) => {
    if (skip) return t.skip('ORDER_CHAT_SKIP_S3=1');
    const [n1, n2] = nodes;
    const order = await makeOrder(n1);
    const o = order.id;
    const photo = png(600, 300);
    const f = await uploaded(n1, n1.token(order.customer.id), o, 'shelf.png', photo);
    const cust = await joinAs(n1, order.customer.id, o);
    const agent = await joinAs(n2, order.agents[0].id, o);
    const live = next(agent, 'new-message');
    const m = await say(cust, o, 'this brand?', { attachmentIds: [f.id] });
    const seen = await live;
    assert.equal(seen.attachments[0].id, f.id);
    assert.equal(seen.attachments[0].width, 600);
    // Node 2 serves what node 1 stored, by node 1's link and by bearer.
    const byLink = await download(n2, m.attachments[0].url);
    assert.equal(byLink.status, 200);
    assert.equal(byLink.headers.get('content-type'), 'image/png');
    assert.equal(byLink.bytes.length, f.size);
    const thumb = await download(n2, seen.attachments[0].thumbnailUrl);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.bytes.readUInt32BE(16), 320);
    const bearer = await download(n2, f.url.split('?')[0], { token: n2.token(order.agents[0].id) });
    assert.equal(bearer.status, 200);
    assert.deepEqual(bearer.bytes, byLink.bytes);
    const part = await download(n2, f.url, { headers: { range: 'bytes=0-7' } });
    assert.equal(part.status, 206);
    // Deleted through node 2: node 1 stops serving it at once.
    await del(await joinAs(n2, order.customer.id, o), o, m.id);
    assert.equal((await download(n1, m.attachments[0].url)).status, 404);
    assert.equal((await download(n2, m.attachments[0].url)).status, 404);
  });
});
