/*
 * The notification bell in the chat's header (PROTOCOL §14): per chat, on or off. The state
 * and its words are in notify-model.js; this file asks the browser and the server, and draws.
 *
 * On: register /sw.js, ask the permission, GET /push/public-key, `pushManager.subscribe`, POST
 * /push/subscriptions, PUT /orders/{id}/notifications {muted:false}. The server's mute is
 * turned off even when this browser cannot subscribe (the app may notify by other ways: the
 * webhook); the note then says that push is not available here.
 * Off: PUT {muted:true}; the browser's subscription stays (other chats may want it).
 */
import { el } from './dom.js';
import { NotifyState, pushSupport, keyBytes, sameKey, subscribeErrorText, restErrorText } from './notify-model.js';

const BELL = 'M12 2a1 1 0 0 1 1 1v.7A7 7 0 0 1 19 10.6v3.9l1.7 2.8a1 1 0 0 1-.86 1.5H4.16a1 1 0 0 1-.86-1.5L5 14.5v-3.9A7 7 0 0 1 11 3.7V3a1 1 0 0 1 1-1Zm-2.45 18h4.9a2.5 2.5 0 0 1-4.9 0Z';
const SLASH = 'M3.3 2.3a1 1 0 0 1 1.4 0l16 16a1 1 0 0 1-1.4 1.4l-16-16a1 1 0 0 1 0-1.4Z';
const SUBSCRIBE_TIMEOUT_MS = 20000;

function bellIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of [['viewBox', '0 0 24 24'], ['width', '20'], ['height', '20'], ['aria-hidden', 'true'], ['focusable', 'false']]) svg.setAttribute(k, v);
  for (const [d, cls] of [[BELL, 'bell__body'], [SLASH, 'bell__slash']]) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('fill', 'currentColor');
    p.setAttribute('d', d);
    p.setAttribute('class', cls);
    svg.appendChild(p);
  }
  return svg;
}

/** What this browser offers, as facts for pushSupport(). */
export function browserFacts() {
  return {
    secure: !!window.isSecureContext,
    serviceWorker: 'serviceWorker' in navigator,
    pushManager: 'PushManager' in window,
    notification: 'Notification' in window,
  };
}

export class NotifyBell {
  /**
   * @param {object} o `header` (the chat header), `before` (the element the bell goes before),
   *   `orderId()`, `api(path, init)` (REST under /api/v0/chat, session.js), `say(text)` (the
   *   polite live region)
   */
  constructor(o) {
    this.o = o;
    this.state = new NotifyState(pushSupport(browserFacts()));
    this.build();
    this.render();
    this.load();
  }

  build() {
    const row = this.o.header.querySelector('.chat-header__row') || this.o.header;
    const button = el('button', 'button button--ghost button--bell');
    button.type = 'button';
    button.id = 'notify-toggle';
    button.setAttribute('aria-label', 'Notify me of new messages in this chat');
    button.setAttribute('aria-describedby', 'notify-note');
    button.appendChild(bellIcon());
    row.insertBefore(button, this.o.before && this.o.before.parentNode === row ? this.o.before : null);
    const note = el('p', 'notify-note');
    note.id = 'notify-note';
    this.o.header.insertBefore(note, row.nextSibling);
    button.addEventListener('click', () => this.press());
    Object.assign(this, { button, note });
  }

  render() {
    const s = this.state;
    const b = this.button;
    b.dataset.state = s.kind;
    b.setAttribute('aria-pressed', String(s.pressed));
    b.setAttribute('aria-disabled', String(s.busy || s.kind === 'checking'));
    b.title = s.title;
    this.note.textContent = s.note;
    this.note.classList.toggle('notify-note--shown', s.attention || this.explained);
    this.note.classList.toggle('visually-hidden', !(s.attention || this.explained));
  }

  /** The first state: the server's mute, the browser's permission and subscription. */
  async load() {
    const s = this.state;
    if (!s.support.ok) { s.loaded = true; this.render(); return; }
    s.permission = Notification.permission;
    try {
      const reg = await navigator.serviceWorker.getRegistration('/');
      const sub = reg && reg.pushManager ? await reg.pushManager.getSubscription() : null;
      s.subscribed = !!sub;
    } catch (_) { s.subscribed = false; }
    try {
      const data = await this.o.api(`/orders/${encodeURIComponent(this.o.orderId())}/notifications`);
      s.muted = !!(data && data.muted);
    } catch (e) {
      if (['FORBIDDEN', 'ORDER_NOT_FOUND', 'VALIDATION'].includes(e && e.code)) { this.button.hidden = true; }
      s.error = restErrorText(e, 'read the notification setting of this chat');
    }
    s.loaded = true;
    this.render();
  }

  async press() {
    const s = this.state;
    if (s.busy) return;
    const action = s.action;
    if (!action) return;
    if (action === 'explain') {
      if (s.support.ok) s.permission = Notification.permission; // changed in the site settings?
      if (s.kind === 'blocked' || s.kind === 'unsupported') {
        this.explained = true;
        this.render();
        this.o.say(s.sentence);
        return;
      }
    }
    s.busy = true;
    s.error = null;
    this.explained = false;
    this.render();
    try {
      if (s.action === 'off') await this.turnOff(); else await this.turnOn();
    } finally {
      s.busy = false;
      this.render();
      this.o.say(s.note);
    }
  }

  async setMuted(muted) {
    const data = await this.o.api(`/orders/${encodeURIComponent(this.o.orderId())}/notifications`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ muted }),
    });
    this.state.muted = data && typeof data.muted === 'boolean' ? data.muted : muted;
  }

  async turnOff() {
    try { await this.setMuted(true); } catch (e) { this.state.error = restErrorText(e, 'turn notifications off'); }
  }

  async turnOn() {
    const s = this.state;
    let reg;
    try {
      reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    } catch (e) {
      s.error = 'Could not turn notifications on: the notification worker did not start (' + (e && e.message) + ').';
      return;
    }
    s.permission = await Notification.requestPermission();
    if (s.permission !== 'granted') { this.explained = true; return; } // blocked, or asked again later
    s.pushError = null;
    try {
      const { publicKey } = await this.o.api('/push/public-key');
      await navigator.serviceWorker.ready;
      const sub = await this.subscribe(reg, publicKey);
      if (sub) {
        await this.o.api('/push/subscriptions', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sub.toJSON()),
        });
        s.subscribed = true;
      }
    } catch (e) {
      s.error = restErrorText(e, 'turn notifications on');
      return;
    }
    try { await this.setMuted(false); } catch (e) { s.error = restErrorText(e, 'turn notifications on'); }
  }

  /** The browser's subscription with the server's key (a new one if the key changed), or null. */
  async subscribe(reg, publicKey) {
    const s = this.state;
    let sub = await reg.pushManager.getSubscription();
    if (sub && !sameKey(sub.options && sub.options.applicationServerKey, publicKey)) {
      await sub.unsubscribe().catch(() => {});
      sub = null;
    }
    if (sub) return sub;
    let timer;
    try {
      return await Promise.race([
        reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }),
        new Promise((_, reject) => { timer = setTimeout(() => reject(Object.assign(new Error('no answer'), { name: 'TIMEOUT' })), SUBSCRIBE_TIMEOUT_MS); }),
      ]);
    } catch (e) {
      s.subscribed = false;
      s.pushError = subscribeErrorText(e);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
