/*
 * The notification bell without the DOM (PROTOCOL §14): what the browser can do, what the
 * server says (muted per order), and what the bell shows and says. No `window`, so Node can
 * test it (tests/js/web/notify-model.test.mjs).
 *
 * States: `unsupported` (no service worker / PushManager / Notification, or not a secure
 * context), `blocked` (the browser's permission is denied), `muted` (the server has this chat
 * muted), `off` (not muted, but this browser is not subscribed), `on` (not muted and
 * subscribed), `unavailable` (not muted, but the browser's push service refused or did not
 * answer), `checking` (the first answers are not in yet).
 */

/** What the browser offers: `{ok, reason}`; `env` has the facts (see `browserFacts` in notify.js). */
export function pushSupport(env) {
  if (!env.secure) return { ok: false, reason: 'Notifications need a secure (HTTPS) connection, and this page is not served over one.' };
  if (!env.serviceWorker || !env.pushManager || !env.notification) {
    return { ok: false, reason: 'This browser cannot show notifications from web pages.' };
  }
  return { ok: true, reason: null };
}

/** The VAPID key (base64url, as the server gives it) as the bytes `subscribe` takes. */
export function keyBytes(base64url) {
  const s = String(base64url || '').trim().replace(/-/g, '+').replace(/_/g, '/');
  if (!s || /[^A-Za-z0-9+/=]/.test(s)) throw new Error('not a base64url key');
  const padded = s + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = typeof atob === 'function' ? atob(padded) : Buffer.from(padded, 'base64').toString('binary');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether an existing subscription was made with this key (an ArrayBuffer or null). */
export function sameKey(buffer, base64url) {
  if (!buffer) return true; // the browser does not say: keep it
  const a = new Uint8Array(buffer);
  let b;
  try { b = keyBytes(base64url); } catch (_) { return true; }
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const SITE_SETTINGS = 'To allow them, open this site’s settings (the icon beside the address) and set Notifications to Allow, then reload the page.';
export const PUSH_UNAVAILABLE = 'Push is not available in this browser';

/**
 * A failed `pushManager.subscribe` in words. Chromium says `AbortError` both when it has no push
 * service (headless, some builds, private windows) and when the push service refused.
 */
export function subscribeErrorText(e) {
  const name = e && e.name;
  if (name === 'NotAllowedError') return 'Notifications are blocked for this site. ' + SITE_SETTINGS;
  if (name === 'TIMEOUT') return PUSH_UNAVAILABLE + ': its push service did not answer. This browser will not show notifications of this chat.';
  return PUSH_UNAVAILABLE + ' (' + (name || 'Error') + (e && e.message ? ': ' + e.message : '') + '), so it will not show notifications of this chat.';
}

/** A REST error (session.js `api`: `code`, `message`) in words: the server's message. */
export function restErrorText(e, doing) {
  const code = e && e.code;
  if (code === 'NETWORK') return `Could not ${doing}: the chat server could not be reached.`;
  const msg = e && e.message ? String(e.message) : 'Something went wrong';
  return `Could not ${doing}: ${msg.replace(/\.$/, '')}.`;
}

export class NotifyState {
  /** @param {{ok: boolean, reason: string|null}} support */
  constructor(support) {
    this.support = support;
    this.permission = 'default'; // Notification.permission
    this.subscribed = false; // this browser has a push subscription
    this.muted = null; // the server's word for this order (null: not known yet)
    this.loaded = false;
    this.busy = false;
    this.pushError = null; // why this browser could not subscribe (a sentence)
    this.error = null; // the last failure to say (a sentence)
  }

  /** The state's name (see the top of this file). */
  get kind() {
    if (!this.support.ok) return 'unsupported';
    if (this.permission === 'denied') return 'blocked';
    if (!this.loaded) return 'checking';
    if (this.muted === true) return 'muted';
    if (this.pushError && this.muted === false) return 'unavailable';
    if (this.muted === false && this.subscribed && this.permission === 'granted') return 'on';
    return 'off';
  }

  /** What a press does now: 'on' (subscribe and unmute), 'off' (mute), 'explain' or null. */
  get action() {
    switch (this.kind) {
      case 'unsupported': case 'blocked': return 'explain';
      case 'checking': return null;
      case 'on': case 'unavailable': return 'off';
      default: return 'on';
    }
  }

  /** aria-pressed: the chat's notifications are on (the server does not mute it, for this user). */
  get pressed() {
    const k = this.kind;
    return k === 'on' || k === 'unavailable';
  }

  /** The state in one sentence (the button's description and the note under the header). */
  get sentence() {
    switch (this.kind) {
      case 'unsupported': return this.support.reason;
      case 'blocked': return 'Notifications are blocked for this site. ' + SITE_SETTINGS;
      case 'checking': return 'Checking notifications…';
      case 'muted': return 'Notifications of this chat are off.';
      case 'unavailable': return this.pushError;
      case 'on': return 'Notifications of this chat are on: this browser tells you of new messages while you are away.';
      default: return 'Notifications of this chat are off in this browser.';
    }
  }

  /** Whether the note under the header is shown (a state that needs the reader's attention). */
  get attention() {
    return !!this.error || this.kind === 'unavailable';
  }

  /** The note's text: the failure if there is one, else the state. */
  get note() {
    return this.error || this.sentence;
  }

  /** The button's tooltip (the state, short). */
  get title() {
    switch (this.kind) {
      case 'unsupported': return 'Notifications are not supported here';
      case 'blocked': return 'Notifications are blocked by the browser';
      case 'checking': return 'Notifications: checking…';
      case 'muted': return 'Notifications of this chat are off';
      case 'unavailable': return 'Push is not available in this browser';
      case 'on': return 'Notifications of this chat are on';
      default: return 'Notifications of this chat are off in this browser';
    }
  }
}
