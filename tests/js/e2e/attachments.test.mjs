// PROTOCOL.md section 12 with the official client and fetch, on both storages (the local folder
// and S3 on moto): uploads and their refusals, the ownership rule of a send, full attachment
// objects in every rendering, downloads (signed links and bearer) with every header and Range,
// access (a non-participant and a tampered link get no bytes), removal with the message and
// after 24 h (a short UNATTACHED_UPLOAD_TTL here), the compatibility upload, voice notes.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { startServer, NO_LIMITS, makeOrder, call, next } from '../lib/server.mjs';
import { assertAckError, assertAttachment, assertRestError, restData } from '../lib/shapes.mjs';
import { joinAs, join, say, del } from '../lib/chat.mjs';
import {
  png, pngBomb, pdf, svgWithScript, htmlPage, oggOpus, upload, uploaded, download, postMultipart, s3StorageUrl,
} from '../lib/media.mjs';

const MAX = 1024 * 1024;
const storages = [['local folder', async () => null], ['S3', s3StorageUrl]];

for (const [label, storageUrl] of storages) {
  describe(`attachments on the ${label}`, () => {
    let server;
    let skip = false;
    before(async () => {
      const url = await storageUrl();
      if (url === null && label === 'S3') { skip = true; return; }
      server = await startServer({ env: { ...NO_LIMITS, MAX_UPLOAD_BYTES: String(MAX), ...(url ? { STORAGE_URL: url } : {}) } });
    });
    after(async () => { await server?.stop(); });
    afterEach(() => server?.closeSockets());

    const room = async () => {
      const order = await makeOrder(server);
      const c = order.customer.id;
      return { order, o: order.id, c, a: order.agents[0].id, ct: server.token(c), at: server.token(order.agents[0].id) };
    };

    it('an image upload: 201 with the attachment object; its signed link serves the bytes with every header; thumbnail, Range, ETag', async (t) => {
      if (skip) return t.skip('no S3');
      const { o, ct } = await room();
      const bytes = png(800, 400);
      const r = await upload(server, ct, o, '../../receipts/reçu 1.png', bytes, 'text/html');
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const a = r.body.data;
      assertAttachment(a, { name: 'reçu 1.png', contentType: 'image/png', kind: 'image', thumbnailUrl: true, width: 800, height: 400 });
      const got = await download(server, a.url);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), 'image/png', 'the true type, not the client\'s');
      assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(got.headers.get('content-security-policy'), 'sandbox');
      assert.equal(got.headers.get('content-disposition'), "inline; filename=\"re_u 1.png\"; filename*=UTF-8''re%C3%A7u%201%2Epng");
      assert.match(got.headers.get('cache-control'), /^private/);
      assert.equal(got.headers.get('accept-ranges'), 'bytes');
      assert.equal(Number(got.headers.get('content-length')), a.size);
      assert.equal(got.bytes.length, a.size);
      assert.deepEqual([...got.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      const etag = got.headers.get('etag');
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      const thumb = await download(server, a.thumbnailUrl);
      assert.equal(thumb.status, 200);
      assert.equal(thumb.headers.get('content-type'), 'image/png', 'transparency keeps the thumbnail a PNG');
      assert.equal(thumb.bytes.readUInt32BE(16), 320, 'thumbnail width');
      assert.equal(thumb.bytes.readUInt32BE(20), 160, 'thumbnail height');
      const part = await download(server, a.url, { headers: { range: 'bytes=8-23' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 8-23/${a.size}`);
      assert.deepEqual(part.bytes, got.bytes.subarray(8, 24));
      const tail = await download(server, a.url, { headers: { range: 'bytes=-10' } });
      assert.deepEqual(tail.bytes, got.bytes.subarray(a.size - 10));
      const beyond = await download(server, a.url, { headers: { range: `bytes=${a.size}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers.get('content-range'), `bytes */${a.size}`);
      const cached = await download(server, a.url, { headers: { 'if-none-match': etag } });
      assert.equal(cached.status, 304);
      assert.equal(cached.bytes.length, 0);
    });

    it('send with attachmentIds: new-message to the room with full objects; join history, sinceRev catch-up, REST history and GET /orders render them too', async (t) => {
      if (skip) return t.skip('no S3');
      const { order, o, c, a, ct, at } = await room();
      const photo = await uploaded(server, ct, o, 'brand-a.png', png(64, 64));
      const list = await uploaded(server, ct, o, 'list.pdf', pdf());
      const cust = await joinAs(server, c, o);
      const agent = await joinAs(server, a, o);
      const live = next(agent, 'new-message');
      const m = await say(cust, o, '', { attachmentIds: [photo.id, list.id] });
      assert.equal(m.message, '', 'attachments alone need no text');
      assert.deepEqual(m.attachments.map((x) => x.id), [photo.id, list.id], 'in the order sent');
      assertAttachment(m.attachments[0], { id: photo.id, name: 'brand-a.png', contentType: 'image/png', kind: 'image', thumbnailUrl: true, width: 64, height: 64, size: photo.size });
      assertAttachment(m.attachments[1], { id: list.id, name: 'list.pdf', contentType: 'application/pdf', kind: 'file', size: list.size });
      const seen = await live;
      assert.deepEqual(seen.attachments.map((x) => x.id), [photo.id, list.id]);
      // The agent's links open the files.
      assert.equal((await download(server, seen.attachments[0].url)).status, 200);
      const rejoined = await join(agent, o);
      assert.deepEqual(rejoined.messages.at(-1).attachments.map((x) => x.name), ['brand-a.png', 'list.pdf']);
      const caught = await join(agent, { orderId: o, sinceRev: m.rev - 1 });
      assert.deepEqual(caught.messages[0].attachments.map((x) => x.kind), ['image', 'file']);
      const hist = restData(await server.rest('GET', `/messages/${o}`, at));
      assert.deepEqual(hist.messages.at(-1).attachments.map((x) => x.contentType), ['image/png', 'application/pdf']);
      const chats = restData(await server.rest('GET', '/orders', at));
      const mine = chats.orders.find((x) => x.orderId === o);
      assert.equal(mine.lastMessage.attachments[0].id, photo.id);
      // REST send takes them too.
      const more = await uploaded(server, ct, o, 'more.png', png(10, 10));
      const sent = restData(await server.rest('POST', `/orders/${o}/messages`, ct, { message: 'and this', attachmentIds: [more.id] }), 201);
      assert.equal(sent.attachments[0].id, more.id);
      assert.ok(order);
    });

    it('ownership: each id must be the sender\'s upload to this order and on no other message, else VALIDATION naming it', async (t) => {
      if (skip) return t.skip('no S3');
      const { o, c, ct, at } = await room();
      const other = await makeOrder(server, { customer: { id: c, name: 'Same customer' } });
      const mine = await uploaded(server, ct, o, 'a.png', png(8, 8));
      const agents = await uploaded(server, at, o, 'b.png', png(8, 8));
      const elsewhere = await uploaded(server, ct, other.id, 'c.png', png(8, 8));
      const cust = await joinAs(server, c, o);
      for (const [id, why] of [[agents.id, 'was not uploaded by you'], [elsewhere.id, 'was not uploaded by you'], ['no-such-file', 'does not exist']]) {
        const ack = await call(cust, 'send-message', { orderId: o, message: 'x', attachmentIds: [mine.id, id] });
        assertAckError(ack, 'VALIDATION');
        assert.match(ack.error.message, new RegExp(`${id}.*${why}`));
      }
      assertAckError(await call(cust, 'send-message', { orderId: o, attachmentIds: [mine.id, mine.id] }), 'VALIDATION');
      assertAckError(await call(cust, 'send-message', { orderId: o, attachmentIds: Array.from({ length: 11 }, () => mine.id) }), 'VALIDATION');
      // A refused send took nothing; a retry of the same send is the same message.
      const first = await say(cust, o, 'x', { attachmentIds: [mine.id], clientMessageId: 'c-1' });
      const again = await say(cust, o, 'x', { attachmentIds: [mine.id], clientMessageId: 'c-1' });
      assert.equal(again.id, first.id);
      const ack = await call(cust, 'send-message', { orderId: o, message: 'y', attachmentIds: [mine.id] });
      assertAckError(ack, 'VALIDATION');
      assert.match(ack.error.message, /already on another message/);
    });

    it('access: the uploader alone before sending; then participants and admins; a non-participant, no credentials, a tampered or swapped link get no bytes', async (t) => {
      if (skip) return t.skip('no S3');
      const { o, c, a, ct, at } = await room();
      const f = await uploaded(server, ct, o, 'x.png', png(40, 40));
      const bare = f.url.split('?')[0];
      assert.equal((await download(server, bare, { token: ct })).status, 200);
      assert.equal((await download(server, bare, { token: at })).status, 403, 'not sent yet');
      const cust = await joinAs(server, c, o);
      await say(cust, o, '', { attachmentIds: [f.id] });
      assert.equal((await download(server, bare, { token: at })).status, 200);
      assert.equal((await download(server, `${bare}/thumbnail`, { token: at })).status, 200);
      assert.equal((await download(server, bare, { token: server.adminToken('ops@example.com') })).status, 200);
      const outsider = await download(server, bare, { token: server.token('stranger-1') });
      assert.equal(outsider.status, 403);
      const none = await download(server, bare);
      assert.equal(none.status, 401);
      const sig = f.url.match(/sig=([^&]+)/)[1];
      const flipped = sig[0] === 'A' ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
      for (const bad of [f.url.replace(sig, flipped), f.url.replace(/exp=\d+/, (e) => `exp=${Number(e.slice(4)) + 3600}`),
        f.url.replace(`${f.id}?`, `${f.id}/thumbnail?`), f.url.replace(/&sig=.*/, '')]) {
        const r = await download(server, bad);
        assert.ok([401, 403].includes(r.status), `${bad} → ${r.status}`);
        assert.equal(r.headers.get('content-type'), 'application/json');
        assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
        assert.ok(!r.bytes.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47])), 'no image bytes');
      }
      assert.equal((await download(server, '/api/v0/chat/attachments/nope', { token: ct })).status, 404);
      assert.ok(a);
    });

    it('refused files: SVG and HTML renamed .png → 415; a truncated image or a bomb → VALIDATION (the server stays up); over MAX_UPLOAD_BYTES → 413; not a participant, a closed order, no file', async (t) => {
      if (skip) return t.skip('no S3');
      const { order, o, ct } = await room();
      for (const [name, bytes] of [['icon.svg', svgWithScript()], ['cat.png', htmlPage()], ['x.exe', Buffer.from('MZ\x90\x00\x03\x00\x00\x00')]]) {
        assertRestError(await upload(server, ct, o, name, bytes, 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      }
      const full = png(200, 200, (x, y) => [x % 256, y % 256, 7, 255]);
      assertRestError(await upload(server, ct, o, 'cut.png', full.subarray(0, full.length - 200)), 400, 'VALIDATION');
      const started = Date.now();
      const bomb = await upload(server, ct, o, 'bomb.png', pngBomb());
      assertRestError(bomb, 400, 'VALIDATION');
      assert.match(bomb.body.message, /megapixels/);
      assert.ok(Date.now() - started < 2000, 'refused before decoding');
      assert.ok(server.alive());
      const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(MAX + 1)]);
      assertRestError(await upload(server, ct, o, 'big.pdf', big), 413, 'PAYLOAD_TOO_LARGE');
      assert.equal((await upload(server, ct, o, 'ok.pdf', pdf())).status, 201, 'still serving');
      assertRestError(await upload(server, server.token('stranger-2'), o, 'a.pdf', pdf()), 403, 'FORBIDDEN');
      assertRestError(await upload(server, undefined, o, 'a.pdf', pdf()), 401, 'UNAUTHORIZED');
      await server.putOrder(o, { orderNumber: order.number, status: 'completed', customer: order.customer, agents: order.agents });
      assertRestError(await upload(server, ct, o, 'a.pdf', pdf()), 409, 'ORDER_CLOSED');
      const { o: o2, ct: ct2 } = await room();
      assertRestError(await postMultipart(`${server.url}/api/v0/chat/orders/${o2}/attachments`, ct2, { other: 'x' }), 400, 'VALIDATION');
      const json = await server.rest('POST', `/orders/${o2}/attachments`, ct2, { file: 'x' });
      assertRestError(json, 400, 'VALIDATION');
    });

    it('a deleted message\'s files stop being served at once (404) and its tombstone lists none', async (t) => {
      if (skip) return t.skip('no S3');
      const { o, c, ct, at } = await room();
      const f = await uploaded(server, ct, o, 'secret.png', png(30, 30));
      const cust = await joinAs(server, c, o);
      const m = await say(cust, o, 'look', { attachmentIds: [f.id] });
      const link = m.attachments[0].url;
      assert.equal((await download(server, link)).status, 200);
      const tomb = await del(cust, o, m.id);
      assert.deepEqual(tomb.attachments, []);
      assert.equal((await download(server, link)).status, 404);
      assert.equal((await download(server, m.attachments[0].thumbnailUrl)).status, 404);
      assert.equal((await download(server, link.split('?')[0], { token: at })).status, 404);
    });

    it('voice notes: Ogg/Opus is audio with its duration, served inline with Range for seeking', async (t) => {
      if (skip) return t.skip('no S3');
      const { o, ct } = await room();
      const note = await uploaded(server, ct, o, 'voice-note.ogg', oggOpus(3));
      assertAttachment(note, { name: 'voice-note.ogg', contentType: 'audio/ogg', kind: 'audio', durationMs: 3000 });
      const seek = await download(server, note.url, { headers: { range: 'bytes=1000-1999' } });
      assert.equal(seek.status, 206);
      assert.equal(seek.bytes.length, 1000);
      assert.equal(seek.headers.get('content-type'), 'audio/ogg');
      assert.match(seek.headers.get('content-disposition'), /^inline;/);
    });

    it('compatibility: POST /upload-image (file, orderId) → {imageUrl, attachment}; sending that imageUrl attaches it', async (t) => {
      if (skip) return t.skip('no S3');
      const { order, o, c, ct } = await room();
      const r = await postMultipart(`${server.url}/api/v0/chat/upload-image`, ct, { file: { name: 'p.png', bytes: png(20, 20) }, orderId: order.number });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const { imageUrl, attachment } = r.body.data;
      assert.equal(imageUrl, attachment.url);
      const cust = await joinAs(server, c, o);
      const m = await say(cust, o, 'this one?', { imageUrl });
      assert.equal(m.attachments[0].id, attachment.id);
      assert.match(m.imageUrl, /sig=/);
      assert.equal((await download(server, m.imageUrl)).status, 200);
      assertRestError(await postMultipart(`${server.url}/api/v0/chat/upload-image`, ct, { file: { name: 'p.png', bytes: png(2, 2) } }), 400, 'VALIDATION');
    });
  });
}

describe('uploads never sent are removed after UNATTACHED_UPLOAD_TTL', () => {
  let server;
  before(async () => {
    // Its own SQLite database: on a database shared with the suite's other servers, their
    // sweep lease (held for their ATTACHMENT_SWEEP_EVERY, 10 min) would rightly keep this
    // server's sweep from running.
    const databaseUrl = `sqlite://${joinPath(mkdtempSync(joinPath(tmpdir(), 'order-chat-sweep-')), 'chat.db')}`;
    server = await startServer({ databaseUrl, env: { ...NO_LIMITS, UNATTACHED_UPLOAD_TTL: '1s', ATTACHMENT_SWEEP_EVERY: '200ms' } });
  });
  after(async () => { await server?.stop(); });

  it('the sweep removes an unsent upload (404, and it can no longer be sent); a sent one stays', async () => {
    const order = await makeOrder(server);
    const ct = server.token(order.customer.id);
    const kept = await uploaded(server, ct, order.id, 'kept.png', png(8, 8));
    const cust = await joinAs(server, order.customer.id, order.id);
    await say(cust, order.id, '', { attachmentIds: [kept.id] });
    const lost = await uploaded(server, ct, order.id, 'lost.png', png(8, 8));
    const deadline = Date.now() + 10000;
    while ((await download(server, lost.url)).status === 200) {
      assert.ok(Date.now() < deadline, 'swept within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await download(server, lost.url)).status, 404);
    assertAckError(await call(cust, 'send-message', { orderId: order.id, attachmentIds: [lost.id] }), 'VALIDATION');
    assert.equal((await download(server, kept.url)).status, 200);
    cust.close();
  });
});
