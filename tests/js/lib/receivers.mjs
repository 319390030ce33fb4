// The far ends of PROTOCOL.md section 14, for the notification tests: a webhook receiver (the main
// backend) that checks every request with the official `standardwebhooks` package, and a Web Push
// service on HTTPS (a private CA made here with the openssl command line) that decrypts every push
// with `http_ece` (RFC 8291) and checks its VAPID JWT (RFC 8292) with node:crypto. Both record what
// they got, answer scripted statuses, and let a test wait for a matching verified request.
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { createECDH, createPublicKey, randomBytes, randomUUID, verify as verifySignature } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';

// http_ece is CommonJS without an ES export map.
const ece = createRequire(import.meta.url)('http_ece');

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const webhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * A VAPID key pair as `web-push generate-vapid-keys` prints it: the raw 32-byte private key and
 * the 65-byte uncompressed public point, both base64url.
 */
export function vapidKeyPair() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { privateKey: b64url(ecdh.getPrivateKey()), publicKey: b64url(ecdh.getPublicKey()) };
}

/** The public key (base64url, 65-byte point) of a raw base64url P-256 private key. */
export function vapidPublicKeyOf(privateKey) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  return b64url(ecdh.getPublicKey());
}

/** A node:crypto public key object of a raw uncompressed P-256 point (65 bytes, 0x04 || x || y). */
export function p256PublicKey(point) {
  const raw = Buffer.from(point);
  if (raw.length !== 65 || raw[0] !== 4) throw new Error(`not an uncompressed P-256 point (${raw.length} bytes)`);
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) },
    format: 'jwk',
  });
}

/**
 * Answers scripted per request: `script(match, responses)` queues `responses` (a status, or
 * `{status, headers, body}`) for the requests `match(record)` accepts, one each, in order; a
 * request no script claims gets the default.
 */
function scripts(defaultStatus) {
  const list = [];
  return {
    add(match, responses) {
      list.push({ match, queue: responses.map((r) => (typeof r === 'number' ? { status: r } : r)) });
    },
    answer(record) {
      for (const s of list) {
        if (s.queue.length > 0 && s.match(record)) return s.queue.shift();
      }
      return { status: defaultStatus };
    },
  };
}

/**
 * Records and waiters: `waitFor(pred, ms)` resolves with the first verified record (from the
 * start) satisfying `pred`, `waitForCount(pred, n, ms)` with the list once n match.
 */
function recorder(what) {
  const records = [];
  let waiters = [];
  const matching = (pred) => records.filter((r) => r.verified && pred(r));
  const wake = () => { waiters = waiters.filter((w) => (w.check() ? (w.done(), false) : true)); };
  const waitForCount = (pred, n, ms = 15000) => new Promise((resolve, reject) => {
    const check = () => matching(pred).length >= n;
    if (check()) return resolve(matching(pred));
    const timer = setTimeout(() => {
      waiters = waiters.filter((w) => w !== entry);
      const got = records.map((r) => r.summary());
      reject(new Error(`${what}: ${matching(pred).length} of ${n} matching verified requests within ${ms} ms; ` +
        `received ${records.length}: ${JSON.stringify(got.slice(-20))}`));
    }, ms);
    const entry = { check, done: () => { clearTimeout(timer); resolve(matching(pred)); } };
    waiters.push(entry);
  });
  return {
    records,
    push(r) { records.push(r); wake(); },
    waitForCount,
    waitFor: async (pred, ms) => (await waitForCount(pred, 1, ms))[0],
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

function answer(res, response, extraHeaders = {}) {
  res.writeHead(response.status, { 'content-type': 'text/plain', ...extraHeaders, ...(response.headers || {}) });
  res.end(response.body ?? '');
}

/**
 * The main backend's webhook endpoint: `POST <url>` on 127.0.0.1 (any path). Each request is
 * recorded as `{id, timestamp, type, data, envelope, headers, body, verified, error, status,
 * receivedAt}`: `verified` when `new Webhook(secret).verify(body, headers)` accepted it (raw body
 * string), `error` otherwise. A verified request gets the scripted answer (default 200), an
 * unverified one 401.
 */
export async function startWebhookReceiver({ secret = webhookSecret() } = {}) {
  const wh = new Webhook(secret);
  const rec = recorder('webhook receiver');
  const script = scripts(200);
  const server = http.createServer(async (req, res) => {
    const raw = await readBody(req);
    const body = raw.toString('utf8');
    const record = {
      method: req.method,
      path: req.url,
      headers: { ...req.headers },
      id: req.headers['webhook-id'],
      timestamp: req.headers['webhook-timestamp'],
      body,
      receivedAt: Date.now(),
      verified: false,
      error: null,
      envelope: null,
      type: undefined,
      data: undefined,
      status: null,
      summary() {
        return { id: this.id, type: this.type, userId: this.data?.userId, orderId: this.data?.orderId, verified: this.verified, status: this.status, error: this.error };
      },
    };
    try {
      if (req.method !== 'POST') throw new Error(`method ${req.method}, not POST`);
      record.envelope = wh.verify(body, req.headers);
      record.type = record.envelope?.type;
      record.data = record.envelope?.data;
      record.verified = true;
    } catch (err) {
      record.error = err.message;
      try {
        const env = JSON.parse(body);
        record.type = env?.type;
        record.data = env?.data;
      } catch { /* not JSON */ }
    }
    const response = record.verified ? script.answer(record) : { status: 401, body: record.error };
    record.status = response.status;
    rec.push(record);
    answer(res, response);
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/hooks/order-chat`,
    secret,
    /** Every request received, in arrival order (verified or not). */
    deliveries: () => rec.records,
    /** The verified requests satisfying `pred` (all when none given). */
    verified: (pred = () => true) => rec.records.filter((r) => r.verified && pred(r)),
    /** Answer the next requests that `match(record)` accepts with `responses`, in order. */
    script: (match, responses) => script.add(match, responses),
    waitFor: rec.waitFor,
    waitForCount: rec.waitForCount,
    close: () => closeServer(server),
  };
}

/** A private CA and a certificate for 127.0.0.1 signed by it (P-256 keys), made with openssl. */
export function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'order-chat-push-ca-'));
  const ssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-sha256',
    '-subj', `/CN=order-chat test push CA ${randomUUID().slice(0, 8)}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ssl(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'leaf.ext'), [
    'subjectAltName=IP:127.0.0.1',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
  ].join('\n'));
  ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'leaf.pem', '-days', '2', '-sha256', '-extfile', 'leaf.ext']);
  const read = (f) => readFileSync(join(dir, f), 'utf8');
  return {
    dir, caFile: join(dir, 'ca.pem'), ca: read('ca.pem'), cert: read('leaf.pem'), key: read('leaf.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `Authorization: vapid t=<jwt>, k=<key>` → {t, k} (parameters in any order), or null. */
export function parseVapid(header) {
  const m = /^vapid\s+(.*)$/i.exec(header || '');
  if (!m) return null;
  const params = {};
  for (const part of m[1].split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    params[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return params.t && params.k ? { t: params.t, k: params.k } : null;
}

/**
 * Check a VAPID JWT (RFC 8292): ES256 signature by the raw public key `k` (base64url point),
 * `aud` = `origin`, `exp` in the future and at most 24 h ahead, `sub` present. Returns the claims;
 * throws saying what is wrong.
 */
export function verifyVapidJwt(jwt, k, origin, now = Date.now()) {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new Error('the VAPID JWT has not three parts');
  const [h, p, s] = parts;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  if (header.alg !== 'ES256') throw new Error(`VAPID JWT alg ${header.alg}, not ES256`);
  const key = p256PublicKey(Buffer.from(k, 'base64url'));
  const sig = Buffer.from(s, 'base64url');
  if (sig.length !== 64) throw new Error(`VAPID JWT signature of ${sig.length} bytes, not 64 (r || s)`);
  const ok = verifySignature('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) throw new Error('the VAPID JWT signature does not verify with k');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  if (claims.aud !== origin) throw new Error(`VAPID aud ${JSON.stringify(claims.aud)}, not ${origin}`);
  const nowS = now / 1000;
  if (!Number.isInteger(claims.exp)) throw new Error(`VAPID exp ${JSON.stringify(claims.exp)} is not an integer`);
  if (claims.exp <= nowS) throw new Error(`VAPID exp ${claims.exp} is past`);
  if (claims.exp > nowS + 24 * 3600) throw new Error(`VAPID exp ${claims.exp} is more than 24 h ahead`);
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new Error('VAPID sub missing');
  return claims;
}

/**
 * A Web Push service on https://127.0.0.1:<port> with a certificate of a private CA (`caFile`:
 * give it to the server as SSL_CERT_FILE). `subscribe()` makes a browser-like subscription
 * (P-256 ECDH key pair, 16 random auth bytes, endpoint `<origin>/push/<id>`). Each push is
 * recorded as `{subscriptionId, headers: {ttl, urgency, topic, contentEncoding, authorization},
 * payload (the decrypted JSON), text, vapid: {claims, k}, verified, error, status, receivedAt}`;
 * `verified` when it decrypted (aes128gcm, with the subscription's keys) and its VAPID header
 * checked out, `k` included: it must equal `setVapidKey(k)`'s key (the server's public key).
 * Verified pushes get the scripted answer (default 201), others 400 (undecryptable), 401 (bad
 * JWT), 403 (another key) or 404 (unknown subscription).
 */
export async function startPushReceiver() {
  const certs = makeCertificates();
  const rec = recorder('push receiver');
  const script = scripts(201);
  const subscriptions = new Map();
  let vapidKey = null;
  let origin;
  let n = 0;
  const server = https.createServer({ key: certs.key, cert: certs.cert }, async (req, res) => {
    const body = await readBody(req);
    const id = /^\/push\/([^/?]+)$/.exec(req.url)?.[1];
    const sub = id && subscriptions.get(id);
    const record = {
      method: req.method,
      path: req.url,
      subscriptionId: id,
      headers: {
        ttl: req.headers.ttl,
        urgency: req.headers.urgency,
        topic: req.headers.topic,
        contentEncoding: req.headers['content-encoding'],
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
      },
      rawHeaders: { ...req.headers },
      bodyLength: body.length,
      payload: undefined,
      text: undefined,
      vapid: null,
      verified: false,
      error: null,
      status: null,
      receivedAt: Date.now(),
      summary() {
        return { subscriptionId: this.subscriptionId, tag: this.payload?.tag, verified: this.verified, status: this.status, error: this.error };
      },
    };
    let refusal = null;
    try {
      if (req.method !== 'POST') { refusal = 405; throw new Error(`method ${req.method}, not POST`); }
      if (!sub) { refusal = 404; throw new Error(`no subscription at ${req.url}`); }
      refusal = 400;
      if (record.headers.contentEncoding !== 'aes128gcm') {
        throw new Error(`Content-Encoding ${record.headers.contentEncoding}, not aes128gcm`);
      }
      const plain = ece.decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.authSecret });
      record.text = plain.toString('utf8');
      record.payload = JSON.parse(record.text);
      refusal = 401;
      const v = parseVapid(req.headers.authorization);
      if (!v) throw new Error(`Authorization ${JSON.stringify(req.headers.authorization)} is not "vapid t=…, k=…"`);
      const claims = verifyVapidJwt(v.t, v.k, origin);
      record.vapid = { claims, k: v.k };
      refusal = 403;
      if (!vapidKey) throw new Error('the receiver was not told the server\'s VAPID key (setVapidKey)');
      if (v.k !== vapidKey) throw new Error(`VAPID k ${v.k} is not the server's public key ${vapidKey}`);
      record.verified = true;
    } catch (err) {
      record.error = err.message;
    }
    const response = record.verified ? script.answer(record) : { status: refusal || 400, body: record.error };
    record.status = response.status;
    rec.push(record);
    n += 1;
    answer(res, response, response.status === 201 ? { location: `${origin}/message/${n}` } : {});
  });
  const port = await listen(server);
  origin = `https://127.0.0.1:${port}`;
  return {
    origin,
    caFile: certs.caFile,
    ca: certs.ca,
    /** The VAPID public key (base64url) every push must carry as `k`. */
    setVapidKey(k) { vapidKey = k; },
    /**
     * A new browser-like subscription: `{id, endpoint, keys: {p256dh, auth}, ecdh, authSecret,
     * json()}`; `json()` is the PushSubscription JSON a browser posts.
     */
    subscribe() {
      const sid = randomUUID();
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const s = {
        id: sid,
        endpoint: `${origin}/push/${sid}`,
        keys: { p256dh: b64url(ecdh.getPublicKey()), auth: b64url(authSecret) },
        ecdh,
        authSecret,
        json() { return { endpoint: s.endpoint, keys: { ...s.keys } }; },
      };
      subscriptions.set(sid, s);
      return s;
    },
    /** Every push received, in arrival order. */
    pushes: () => rec.records,
    /** The verified pushes satisfying `pred`. */
    verified: (pred = () => true) => rec.records.filter((r) => r.verified && pred(r)),
    /** Every push (verified or not) to this subscription. */
    to: (sub) => rec.records.filter((r) => r.subscriptionId === sub.id),
    script: (match, responses) => script.add(match, responses),
    waitFor: rec.waitFor,
    waitForCount: rec.waitForCount,
    async close() {
      await closeServer(server);
      certs.remove();
    },
  };
}
