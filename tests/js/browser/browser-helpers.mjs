// Helpers for the real-browser tests of the bundled chat page (web/chat.html): Debian's Chromium
// driven by playwright-core, against the real `order-chat` binary (see ../lib/server.mjs).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, '..', 'artifacts');

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run'];

function needChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
}

/** `o.env`: more environment variables for the browser process (e.g. DBUS_SESSION_BUS_ADDRESS). */
export async function launchBrowser(o = {}) {
  needChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, ...(o.env || {}) } });
}

/**
 * Chromium with an on-disk profile (a new temporary one): Playwright's persistent context,
 * the browser's regular profile rather than the off-the-record ones of `browser.newContext()`.
 * `o.env`: more environment variables for the browser process (e.g. DBUS_SESSION_BUS_ADDRESS).
 */
export async function launchProfile(o = {}) {
  needChromium();
  const dir = mkdtempSync(join(tmpdir(), 'order-chat-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: o.viewport || { width: 1000, height: 720 },
    env: { ...process.env, ...(o.env || {}) },
  });
  context.on('close', () => { rm(dir, { recursive: true, force: true, maxRetries: 5 }).catch(() => {}); });
  return context;
}

/** A path under tests/js/artifacts/ (created on first use). */
export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function chatUrl(server, order, user, token = server.token(user.id, { name: user.name })) {
  const q = new URLSearchParams({ orderId: order.id, userId: user.id });
  if (token !== null) q.set('token', token);
  return `${server.url}/chat.html?${q}`;
}

/**
 * Open the chat page for `user` in a new browser context (its own localStorage, like another
 * device). Records dialogs, page errors and console errors. Waits until the page has joined,
 * unless `waitJoined` is false. `o.before(context, page)` runs before the page is loaded.
 */
export async function openChat(browser, server, order, user, o = {}) {
  const context = await browser.newContext({
    viewport: o.viewport || { width: 1000, height: 720 },
    deviceScaleFactor: o.deviceScaleFactor || 1,
    isMobile: !!o.isMobile,
    hasTouch: !!o.isMobile,
    colorScheme: o.colorScheme || 'light',
  });
  const page = await context.newPage();
  const side = { context, page, user, dialogs: [], pageErrors: [], consoleErrors: [] };
  page.on('dialog', (d) => { side.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => side.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') side.consoleErrors.push(m.text()); });
  if (o.before) await o.before(context, page); // e.g. an init script that sets the app's hooks
  const url = o.url || chatUrl(server, order, user, o.token);
  await page.goto(url);
  if (o.waitJoined !== false) {
    try {
      await waitJoined(page);
    } catch (e) {
      throw new Error(`the page of ${user.id} did not join: ${JSON.stringify(await pageState(side))}`, { cause: e });
    }
  }
  return side;
}

/** What the page shows and knows, for failure messages. */
export async function pageState(side) {
  const state = await side.page.evaluate(() => ({
    banner: document.getElementById('connection-banner')?.dataset.state,
    bannerText: document.getElementById('connection-banner')?.innerText,
    error: document.getElementById('chat-error')?.hidden ? null : document.getElementById('chat-error')?.innerText,
    socket: window.chatClient?.socket ? { connected: window.chatClient.socket.connected, id: window.chatClient.socket.id } : null,
    joined: window.chatClient?.joined,
  })).catch((e) => ({ evaluateFailed: String(e) }));
  return { ...state, pageErrors: side.pageErrors, consoleErrors: side.consoleErrors };
}

/** The page joined the order's chat (banner says connected). */
export async function waitJoined(page, timeout = 10000) {
  await page.waitForSelector('#connection-banner[data-state="connected"]', { state: 'attached', timeout });
}

export async function bannerState(page) {
  return page.getAttribute('#connection-banner', 'data-state');
}

export async function waitBanner(page, state, timeout = 15000) {
  await page.waitForSelector(`#connection-banner[data-state="${state}"]`, { state: 'attached', timeout });
}

/** Type into the input like a user and press Enter. */
export async function typeAndSend(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

/** Wait until a stored (seq-numbered) message with exactly this text is in the list. */
export async function waitForMessage(page, text, timeout = 10000) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#message-container .msg[data-seq]')]
      .some((m) => (m.querySelector('.msg__text, .msg__system-text')?.textContent ?? '') === t),
    text, { timeout, polling: 'raf' },
  );
}

/** The stored messages shown, top to bottom. */
export async function shownMessages(page) {
  return page.$$eval('#message-container .msg[data-seq]', (els) => els.map((m) => ({
    seq: Number(m.dataset.seq),
    id: m.dataset.id,
    own: m.classList.contains('msg--own'),
    system: m.classList.contains('msg--system'),
    status: m.dataset.status || null,
    sender: m.querySelector('.msg__sender')?.textContent ?? null,
    text: m.querySelector('.msg__text, .msg__system-text')?.textContent ?? '',
  })));
}

/** The bubble (locator) of the stored message with this text. */
export function bubble(page, text) {
  return page.locator('#message-container .msg[data-seq]').filter({
    has: page.locator('.msg__text', { hasText: text }),
  });
}

/** Poll `fn` until it returns a truthy value (or throw its last error / a timeout). */
export async function eventually(fn, { timeout = 10000, interval = 50, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw last || new Error(`timed out waiting for ${message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Console errors that mean the page broke its content security policy. */
export function cspViolations(side) {
  return side.consoleErrors.filter((t) => /Content Security Policy/i.test(t));
}

const AXE_SOURCE = join(here, '..', 'node_modules', 'axe-core', 'axe.min.js');

/**
 * Run axe-core (npm, tests/js/node_modules) in the page against WCAG 2.0-2.2 A and AA and the
 * best practices; resolves with the violations of impact serious or critical, each as
 * `{id, impact, help, nodes: [selector :: why]}` (an empty list passes). axe is evaluated through
 * the DevTools protocol, so the page's content security policy (script-src 'self') stays as it is.
 * `o.include`: a selector to check instead of the whole document.
 */
export async function axeViolations(page, o = {}) {
  const source = readFileSync(AXE_SOURCE, 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(source);
  const all = await page.evaluate(async (include) => {
    const r = await window.axe.run(include ? { include: [include] } : document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')} :: ${n.failureSummary}`),
    }));
  }, o.include || null);
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// A desktop's notification server, for Chromium's real notification clicks.
//
// Chromium on Linux shows web notifications through the desktop's notification service
// (org.freedesktop.Notifications on the D-Bus session bus, the Desktop Notifications
// Specification) when it finds one on $DBUS_SESSION_BUS_ADDRESS, headless too, and turns the
// service's `ActionInvoked(id, "default")` signal into a click on that notification: the
// service worker gets a trusted `notificationclick`, with the allowance to open and focus
// windows that a user's click gives. The DevTools protocol has no command that clicks a
// notification, so this is the way to click one for real. What follows is a private
// `dbus-daemon` and a minimal server of that interface on it, speaking the D-Bus wire protocol
// itself (no dependency).

const DBUS_DAEMON = '/usr/bin/dbus-daemon';
const ALIGN = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1, v: 1, a: 4, '(': 8, '{': 8 };

/** The complete types of a D-Bus signature: 'susa{sv}' → ['s', 'u', 's', 'a{sv}']. */
function splitSig(sig) {
  const out = [];
  let i = 0;
  while (i < sig.length) {
    const start = i;
    while (sig[i] === 'a') i++;
    if (sig[i] === '(' || sig[i] === '{') {
      let depth = 0;
      do {
        if (sig[i] === '(' || sig[i] === '{') depth++;
        else if (sig[i] === ')' || sig[i] === '}') depth--;
        i++;
      } while (depth > 0);
    } else i++;
    out.push(sig.slice(start, i));
  }
  return out;
}

/** D-Bus marshalling, little-endian, of the types this server sends. */
class DbusWriter {
  constructor() { this.chunks = []; this.len = 0; }
  raw(buf) { this.chunks.push(buf); this.len += buf.length; }
  pad(n) { const p = (n - (this.len % n)) % n; if (p) this.raw(Buffer.alloc(p)); }
  u32(v) { this.pad(4); const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.raw(b); }
  put(type, v) {
    switch (type[0]) {
      case 'y': this.raw(Buffer.from([v])); break;
      case 'b': this.u32(v ? 1 : 0); break;
      case 'u': this.u32(v); break;
      case 'i': this.u32(v | 0); break;
      case 's': case 'o': { const s = Buffer.from(v, 'utf8'); this.u32(s.length); this.raw(s); this.raw(Buffer.alloc(1)); break; }
      case 'g': { const s = Buffer.from(v, 'utf8'); this.raw(Buffer.from([s.length])); this.raw(s); this.raw(Buffer.alloc(1)); break; }
      case 'v': this.put('g', v[0]); this.put(v[0], v[1]); break; // [signature, value]
      case 'a': {
        const elem = type.slice(1);
        this.u32(0);
        const length = this.chunks[this.chunks.length - 1];
        this.pad(ALIGN[elem[0]]);
        const start = this.len;
        for (const e of v) this.put(elem, e);
        length.writeUInt32LE(this.len - start);
        break;
      }
      case '(': case '{': this.pad(8); splitSig(type.slice(1, -1)).forEach((t, k) => this.put(t, v[k])); break;
      default: throw new Error('d-bus: cannot write type ' + type);
    }
  }
  putAll(sig, values) { splitSig(sig).forEach((t, k) => this.put(t, values[k])); return this; }
  buffer() { return Buffer.concat(this.chunks); }
}

/** D-Bus unmarshalling, in the message's own byte order. */
class DbusReader {
  constructor(buf, le, pos = 0) { Object.assign(this, { buf, le, pos }); }
  align(n) { this.pos += (n - (this.pos % n)) % n; }
  u32() { this.align(4); const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }
  get(type) {
    const b = this.buf;
    switch (type[0]) {
      case 'y': return b[this.pos++];
      case 'b': return this.u32() !== 0;
      case 'n': case 'q': { this.align(2); const v = this.le ? b.readUInt16LE(this.pos) : b.readUInt16BE(this.pos); this.pos += 2; return v; }
      case 'u': case 'h': return this.u32();
      case 'i': return this.u32() | 0;
      case 'x': case 't': case 'd': this.align(8); this.pos += 8; return null; // not used by this server
      case 's': case 'o': { const n = this.u32(); const s = b.toString('utf8', this.pos, this.pos + n); this.pos += n + 1; return s; }
      case 'g': { const n = b[this.pos++]; const s = b.toString('utf8', this.pos, this.pos + n); this.pos += n + 1; return s; }
      case 'v': { const sig = this.get('g'); return [sig, this.get(sig)]; }
      case 'a': {
        const elem = type.slice(1);
        const n = this.u32();
        this.align(ALIGN[elem[0]]);
        const end = this.pos + n;
        if (elem === 'y') { const v = b.subarray(this.pos, end); this.pos = end; return v; }
        const out = [];
        while (this.pos < end) out.push(this.get(elem));
        return out;
      }
      case '(': case '{': this.align(8); return splitSig(type.slice(1, -1)).map((t) => this.get(t));
      default: throw new Error('d-bus: cannot read type ' + type);
    }
  }
  getAll(sig) { return splitSig(sig).map((t) => this.get(t)); }
}

const DBUS_FIELD = { path: [1, 'o'], interface: [2, 's'], member: [3, 's'], errorName: [4, 's'], replySerial: [5, 'u'], destination: [6, 's'], sender: [7, 's'], signature: [8, 'g'] };
const DBUS_FIELD_NAME = Object.fromEntries(Object.entries(DBUS_FIELD).map(([k, [code]]) => [code, k]));
const DBUS = { call: 1, return: 2, error: 3, signal: 4, noReplyExpected: 1 };

function encodeDbusMessage(type, serial, fields, sig = '', body = []) {
  const b = new DbusWriter().putAll(sig, body).buffer();
  const f = Object.entries({ ...fields, ...(sig ? { signature: sig } : {}) })
    .map(([k, v]) => [DBUS_FIELD[k][0], [DBUS_FIELD[k][1], v]]);
  const h = new DbusWriter().putAll('yyyyuua(yv)', [0x6c /* 'l' */, type, 0, 1, b.length, serial, f]);
  h.pad(8);
  return Buffer.concat([h.buffer(), b]);
}

/** The first whole message in `buf` as `{msg, size}`, or null while it is incomplete. */
function decodeDbusMessage(buf) {
  if (buf.length < 16) return null;
  const le = buf[0] === 0x6c;
  const r = new DbusReader(buf, le, 4);
  const bodyLen = r.u32();
  r.u32();
  const fieldsLen = r.u32();
  const bodyAt = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  if (buf.length < bodyAt + bodyLen) return null;
  const [, type, flags, , , serial, fields] = new DbusReader(buf, le).getAll('yyyyuua(yv)');
  const msg = { type, flags, serial };
  for (const [code, [, v]] of fields) if (DBUS_FIELD_NAME[code]) msg[DBUS_FIELD_NAME[code]] = v;
  try {
    msg.body = new DbusReader(buf.subarray(bodyAt, bodyAt + bodyLen), le).getAll(msg.signature || '');
  } catch (_) {
    msg.body = null;
  }
  return { msg, size: bodyAt + bodyLen };
}

/**
 * A private D-Bus session bus with a stand-in desktop notification server on it. Give the
 * browser `DBUS_SESSION_BUS_ADDRESS: desktop.address`. Resolves with `{address, shown,
 * waitFor(pred, timeout), click(id), stop()}`; `shown` holds the notifications the browser
 * showed, `{id, appName, summary, body, actions, closed}`, in order (Chromium puts the origin
 * before the body: `127.0.0.1:port\n\nbody`). `click(id)` is what the desktop reports when the
 * user clicks a notification. Resolves null when dbus-daemon is not installed (apt-get install
 * dbus-daemon).
 */
export async function startNotificationDesktop() {
  if (!existsSync(DBUS_DAEMON)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'order-chat-dbus-'));
  const socketPath = join(dir, 'bus');
  const address = `unix:path=${socketPath}`;
  const daemon = spawn(DBUS_DAEMON, ['--session', '--nofork', '--nopidfile', `--address=${address}`, '--print-address=1'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const killDaemon = () => { if (daemon.exitCode === null) daemon.kill('SIGTERM'); };
  process.once('exit', killDaemon);
  let daemonErr = '';
  daemon.stderr.on('data', (d) => { daemonErr += d; });
  await new Promise((resolve, reject) => {
    daemon.stdout.on('data', (d) => { if (String(d).includes('\n')) resolve(); });
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}): ${daemonErr}`)));
  });

  const sock = netConnect(socketPath);
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  // SASL EXTERNAL: the daemon checks the uid against the socket's credentials.
  const authLine = new Promise((resolve) => {
    let got = '';
    const on = (d) => { got += d.toString('latin1'); if (got.includes('\r\n')) { sock.off('data', on); resolve(got.trim()); } };
    sock.on('data', on);
  });
  sock.write(Buffer.concat([Buffer.alloc(1), Buffer.from(`AUTH EXTERNAL ${Buffer.from(String(process.getuid())).toString('hex')}\r\n`)]));
  const auth = await authLine;
  if (!auth.startsWith('OK ')) throw new Error('d-bus authentication refused: ' + auth);
  sock.write('BEGIN\r\n');

  const PATH = '/org/freedesktop/Notifications';
  const IFACE = 'org.freedesktop.Notifications';
  let serial = 0;
  const pending = new Map();
  const shown = [];
  const waiters = new Set();
  const send = (type, fields, sig, body) => { const s = ++serial; sock.write(encodeDbusMessage(type, s, fields, sig, body)); return s; };
  const callBus = (member, sig = '', body = []) => new Promise((resolve, reject) => {
    pending.set(send(DBUS.call, { path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member, destination: 'org.freedesktop.DBus' }, sig, body), { resolve, reject });
  });
  const signal = (member, sig, body) => send(DBUS.signal, { path: PATH, interface: IFACE, member }, sig, body);
  const changed = () => { for (const w of [...waiters]) w(); };
  const methods = {
    GetCapabilities: () => ['as', [['actions', 'body', 'persistence']]],
    GetServerInformation: () => ['ssss', ['order-chat tests', 'order-chat', '1', '1.2']],
    Notify: ([appName, replacesId, , summary, body, actions]) => {
      let n = replacesId ? shown.find((x) => x.id === replacesId) : null;
      if (n) Object.assign(n, { summary, body, actions, closed: false });
      else shown.push(n = { id: shown.length + 1, appName, summary, body, actions, closed: false });
      changed();
      return ['u', [n.id]];
    },
    CloseNotification: ([id]) => {
      const n = shown.find((x) => x.id === id);
      if (n && !n.closed) {
        n.closed = true;
        changed();
        signal('NotificationClosed', 'uu', [id, 3]); // 3: closed by CloseNotification
      }
      return ['', []];
    },
  };
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (let got = decodeDbusMessage(buf); got; got = decodeDbusMessage(buf)) {
      buf = buf.subarray(got.size);
      const m = got.msg;
      if (m.type === DBUS.return || m.type === DBUS.error) {
        const p = pending.get(m.replySerial);
        pending.delete(m.replySerial);
        if (p && m.type === DBUS.return) p.resolve(m.body);
        else if (p) p.reject(new Error(`${m.errorName}: ${m.body?.[0]}`));
      } else if (m.type === DBUS.call && !(m.flags & DBUS.noReplyExpected)) {
        const method = (m.interface === IFACE || !m.interface) && m.path === PATH && m.body ? methods[m.member] : null;
        if (method) {
          send(DBUS.return, { replySerial: m.serial, destination: m.sender }, ...method(m.body));
        } else if (m.interface === 'org.freedesktop.DBus.Peer' && m.member === 'Ping') {
          send(DBUS.return, { replySerial: m.serial, destination: m.sender });
        } else {
          send(DBUS.error, { replySerial: m.serial, destination: m.sender, errorName: 'org.freedesktop.DBus.Error.UnknownMethod' },
            's', [`no method ${m.interface}.${m.member} at ${m.path}`]);
        }
      }
    }
  });
  await callBus('Hello');
  const [owner] = await callBus('RequestName', 'su', [IFACE, 4]); // 4: do not queue
  if (owner !== 1) throw new Error(`could not own ${IFACE} (RequestName: ${owner})`);

  return {
    address,
    shown,
    /** The first notification shown for which `pred` holds, now or once it is shown. */
    waitFor(pred, timeout = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const n = shown.find(pred);
          if (!n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(n);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such notification within ${timeout} ms; shown: ${JSON.stringify(shown)}`));
        }, timeout);
        waiters.add(check);
        check();
      });
    },
    /** The user clicks the notification (its body: the "default" action). */
    click(id) { signal('ActionInvoked', 'us', [id, 'default']); },
    async stop() {
      sock.destroy();
      if (daemon.exitCode === null) {
        const gone = new Promise((r) => daemon.once('exit', r));
        killDaemon();
        await gone;
      }
      process.off('exit', killDaemon);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
