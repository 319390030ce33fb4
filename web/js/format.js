/*
 * Words and small pure helpers shared by the chat and the inbox: what an error code means to a
 * user, token payloads, ids, names. No DOM and no `window`, so Node can import it too.
 */

export const CLOSED_STATUSES = ['completed', 'cancelled'];
export const MAX_CHARS = 4000;

/** The connect_error messages of the contract, said in words. */
export const AUTH_ERRORS = {
  'Authentication error: Token not provided':
    'You are not signed in: this link has no access token. Open the chat again from the app.',
  'Authentication error: Invalid token':
    'Your access token is not valid. Please sign in again and reopen the chat.',
  'Authentication error: Token expired':
    'Your session has expired. Please sign in again and reopen the chat.',
  'Your account has been blocked. Please contact support':
    'Your account has been blocked. Please contact support.',
};

export const ROLE_LABELS = { customer: 'Customer', agent: 'Agent', admin: 'Admin', system: 'System' };

export function chatError(code, message) {
  const e = new Error(message || code);
  e.code = code;
  return e;
}

/** An ack or REST error (code + server message) as a sentence for the user. */
export function describeError(code, message) {
  switch (code) {
    case 'FORBIDDEN':
      return 'You are not a participant of this order, so you cannot read or send messages in this chat.';
    case 'ORDER_NOT_FOUND':
      return 'This order was not found. Please check that the chat link is complete.';
    case 'ORDER_CLOSED':
      return 'This order is closed. You can still read the conversation, but no new messages can be sent.';
    case 'VALIDATION':
      return 'The message was not accepted' + (message ? ': ' + message : '') + '.';
    case 'RATE_LIMITED':
      return 'You are sending messages too quickly. Please wait a moment and try again.';
    case 'PAYLOAD_TOO_LARGE':
      return 'The message is too large to send.';
    case 'UNAUTHORIZED':
      return AUTH_ERRORS[authErrorKind(message)];
    case 'INTERNAL':
      return 'Something went wrong on the chat server. Please try again.';
    case 'TIMEOUT':
      return 'The chat server did not answer in time. Please try again.';
    case 'NETWORK':
      return 'The chat server could not be reached. Please check your connection.';
    default:
      return message || 'Something went wrong. Please try again.';
  }
}

/** Which of the handshake refusals a REST 401 message corresponds to. */
function authErrorKind(message) {
  const m = String(message || '').toLowerCase();
  if (m.includes('expired')) return 'Authentication error: Token expired';
  if (m.includes('not provided') || m.includes('missing')) return 'Authentication error: Token not provided';
  return 'Authentication error: Invalid token';
}

/** The payload of a JWT (not verified: only to pick the right stored token), or null. */
export function jwtPayload(token) {
  try {
    const part = String(token).split('.')[1];
    const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === 'object' ? payload : null;
  } catch (_) {
    return null;
  }
}

/** The user a token payload names (PROTOCOL §1: user.id, an admin's authKey, or sub). */
export function tokenUser(payload) {
  if (!payload) return null;
  if (payload.user && payload.user.id != null) return String(payload.user.id);
  if (payload.authKey != null) return String(payload.authKey);
  if (payload.sub != null) return String(payload.sub);
  return null;
}

export function tokenFresh(payload, now = Date.now()) {
  return !payload || typeof payload.exp !== 'number' || payload.exp * 1000 > now - 30000;
}

/** The counter near the composer shows from this many characters left. */
export const COUNTER_FROM = 500;

/**
 * The composer's state for `text`: `blank` (nothing to send), `chars` (characters after
 * trimming, as the server counts them), `over` (above MAX_CHARS) and the counter's words
 * (`counter`: '' while far from the limit, "120 characters left", "15 characters too many").
 */
export function composerState(text) {
  const body = String(text == null ? '' : text).trim();
  const chars = [...body].length;
  const left = MAX_CHARS - chars;
  let counter = '';
  if (left < 0) counter = -left === 1 ? '1 character too many' : `${(-left).toLocaleString('en-US')} characters too many`;
  else if (left <= COUNTER_FROM) counter = left === 1 ? '1 character left' : `${left.toLocaleString('en-US')} characters left`;
  return { blank: chars === 0, chars, over: left < 0, counter };
}

/** A client message id: 1–64 characters of [A-Za-z0-9._:@-]. */
export function newClientMessageId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return 'c-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Only https: images, http: ones on loopback, and this page's own URLs are shown; `page` is the
 * page's address (relative URLs resolve against it).
 */
export function safeImageUrl(raw, page) {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2048) return null;
  let url;
  let base;
  try {
    base = new URL(page);
    url = new URL(raw, base);
  } catch (_) {
    return null;
  }
  if (url.protocol === 'https:') return url.href;
  if (url.origin === base.origin && /^https?:$/.test(url.protocol)) return url.href;
  if (url.protocol === 'http:') {
    const h = url.hostname;
    if (h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return url.href;
  }
  return null;
}

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

/** One of six avatar colours, stable for an id. */
export function hue(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % 6;
}

export function firstName(name) {
  return String(name || 'Someone').trim().split(/\s+/)[0] || 'Someone';
}

/** "Shopping", "Out for delivery": an order status as a label. */
export function statusLabel(status) {
  const s = String(status || '');
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ');
}

/** The words of a message for a screen reader: its text, or what it carries. */
export function messageWords(m) {
  if (m.deleted) return 'a deleted message';
  const text = String(m.message || '').trim();
  const files = Array.isArray(m.attachments) ? m.attachments.length : 0;
  const extra = files ? (files === 1 ? 'an attachment' : `${files} attachments`) : (m.imageUrl ? 'an image' : '');
  if (text && extra) return `${text} (with ${extra})`;
  return text || (extra ? `sent ${extra}` : 'an empty message');
}

/**
 * What a polite live region says when others' messages arrive: "Tunde Bello: Hello" for one,
 * each of up to three on its own line, "5 new messages" for more (a catch-up); '' for none.
 * System messages say "System: …". `nameOf(m)` names the sender.
 */
export function arrivals(list, nameOf) {
  const ms = (list || []).filter(Boolean);
  if (!ms.length) return '';
  if (ms.length > 3) return `${ms.length} new messages`;
  return ms.map((m) => `${nameOf(m)}: ${messageWords(m)}`).join('\n');
}
