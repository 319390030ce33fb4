/*
 * Whether the chat can be used now and, when it cannot, what the page says: no DOM and no
 * `window`, so Node imports it too (tests/js/web/availability.test.mjs).
 *
 * Every state in which nothing can be sent is worded the same way: a short line in the banner,
 * one sentence saying what happened and what to do (the alert under the header), the composer
 * disabled with a placeholder that says why, and the header's subtitle instead of "Loading
 * conversation…". Final states (a refused token, no order, an unknown order, not a participant)
 * offer no "Try again" that would fail the same way; a server that stays unreachable is not
 * final (the page keeps trying and sends what waited once it is back) but says so after a while.
 *
 * Nothing typed is lost silently: messages that could not go out are marked "Not sent", a draft
 * left in the disabled composer is said to be unsent, and both are kept over a reload
 * (`draftToKeep`).
 */
import { describeError } from './format.js';

/** After this long without a connection the page says the server cannot be reached. */
export const UNREACHABLE_AFTER_MS = 20000;

/** The handshake refusals (connect_error messages of PROTOCOL §2) as page states. */
const REFUSALS = {
  'Authentication error: Token not provided': {
    code: 'NO_TOKEN', text: 'You are not signed in, as this link has no access token: open the chat again from the app.', banner: 'Not signed in.', subtitle: 'Not signed in', placeholder: 'You are not signed in',
  },
  'Authentication error: Invalid token': {
    code: 'INVALID_TOKEN', text: 'Your access token is not valid: sign in again and reopen the chat from the app.', banner: 'Not signed in.', subtitle: 'Not signed in', placeholder: 'You are not signed in',
  },
  'Authentication error: Token expired': {
    code: 'TOKEN_EXPIRED', text: 'Your session has expired: sign in again and reopen the chat from the app.', banner: 'Session expired.', subtitle: 'Session expired', placeholder: 'Your session has expired',
  },
  'Your account has been blocked. Please contact support': {
    code: 'BLOCKED', text: 'Your account has been blocked: please contact support.', banner: 'Account blocked.', subtitle: 'Account blocked', placeholder: 'Your account is blocked',
  },
};

/** Whether a connect_error message is a refusal that asking again with the same token will not change. */
export function isRefusal(message) {
  return Object.prototype.hasOwnProperty.call(REFUSALS, String(message));
}

const NOT_AVAILABLE = 'This chat is not available.';

/** Join refusals (the ack's error code) that asking again will not change. */
export const FINAL_JOIN_ERRORS = ['FORBIDDEN', 'ORDER_NOT_FOUND', 'VALIDATION', 'UNAUTHORIZED'];

/** The sentence for a join (or a send) refused for good. */
export function joinRefusalText(code, message) {
  if (code === 'VALIDATION') return 'This chat link is not valid, as its order id is malformed: open the chat again from the app.';
  if (code === 'ORDER_NOT_FOUND') return 'This order was not found: check that the chat link is complete, or open the chat again from the app.';
  if (code === 'UNAUTHORIZED') return REFUSALS[authRefusal(message)].text;
  return describeError(code, message);
}

/** Which handshake refusal a REST or ack UNAUTHORIZED message corresponds to. */
function authRefusal(message) {
  const m = String(message || '').toLowerCase();
  if (m.includes('expired')) return 'Authentication error: Token expired';
  if (m.includes('not provided') || m.includes('missing')) return 'Authentication error: Token not provided';
  return 'Authentication error: Invalid token';
}

/**
 * What keeps the chat from being used, most important first, or null when it can be used.
 *
 * @param {object} s
 * @param {boolean} [s.noOrder] the address names no order
 * @param {string|null} [s.refused] the handshake's refusal (a connect_error message)
 * @param {string|null} [s.fatal] a join (or send) refused for good: its error code
 * @param {string|null} [s.fatalMessage] the server's message with it
 * @param {{code, text}|null} [s.session] the session ended (session-keeper.js says it itself)
 * @param {boolean} [s.unreachable] no connection for UNREACHABLE_AFTER_MS
 * @param {boolean} [s.closed] the order is closed
 * @param {boolean} [s.left] the user left the chat
 * @param {boolean} [s.everJoined] the chat was open before
 * @returns {null | {code, text, banner, placeholder, subtitle, final, retry, soft, own}}
 *   `text` the one sentence; `banner` the banner's short line; `final` nothing the page does
 *   will change it; `retry` the page keeps trying (a "Try now" button); `soft` the alert can
 *   be dismissed (the conversation is still there to read); `own` another module shows it
 *   (the session keeper), only the composer follows it here
 */
export function blockedState(s) {
  if (s.noOrder) {
    return state('NO_ORDER', 'This chat link has no order in it: open the chat again from the app.',
      'No order to open.', 'There is no chat to write in', 'Not available', { final: true });
  }
  if (s.refused) {
    const r = REFUSALS[s.refused] || REFUSALS['Authentication error: Invalid token'];
    return state(r.code, r.text, r.banner, r.placeholder, r.subtitle, { final: true });
  }
  if (s.fatal) {
    const forbidden = s.fatal === 'FORBIDDEN';
    return state(s.fatal, joinRefusalText(s.fatal, s.fatalMessage), NOT_AVAILABLE,
      forbidden ? 'You are not a participant of this order' : 'This chat is not available',
      forbidden ? 'You are not a participant' : 'Not available', { final: true });
  }
  if (s.session) {
    return { ...state(s.session.code, s.session.text, null, s.session.placeholder || null, null, { final: true }), own: true };
  }
  if (s.unreachable) {
    return state('UNREACHABLE',
      'The chat server cannot be reached: check your internet connection; the chat keeps trying and sends your waiting messages once it is back.',
      'Cannot reach the chat server. Still trying…', 'Waiting for the chat server…',
      s.everJoined ? null : 'Not connected', { retry: true });
  }
  if (s.closed) {
    return state('ORDER_CLOSED', describeError('ORDER_CLOSED'), null, 'This order is closed', null, { soft: true });
  }
  if (s.left) {
    return state('LEFT', 'You left this chat. Rejoin it to send messages.', null, 'You left this chat', null, { soft: true });
  }
  return null;
}

function state(code, text, banner, placeholder, subtitle, o = {}) {
  return { code, text, banner, placeholder, subtitle, final: !!o.final, retry: !!o.retry, soft: !!o.soft, own: false };
}

/**
 * The words under a send that has no ack (render.js): failed ones say so (with the reason the
 * sender noted), and in a final state every waiting send is "Not sent" instead of waiting for a
 * connection that will not come.
 * @param {{state, note?}} entry a pending send (timeline.js)
 * @param {{online: boolean, blocked: object|null}} o
 */
export function pendingLabel(entry, { online, blocked }) {
  if (entry.state === 'failed') return { failed: true, text: entry.note || 'Not sent' };
  if (blocked && blocked.final) return { failed: true, text: 'Not sent' };
  if (entry.state === 'queued' && !online) return { failed: false, text: 'Waiting for connection…' };
  return { failed: false, text: 'Sending…' };
}

/** The line under a disabled composer that still holds text: it was not sent and stays. */
export function draftNote(blocked, draft) {
  if (!blocked || !String(draft || '').trim()) return '';
  if (blocked.retry) return 'Not sent yet: your text stays here until the chat is back.';
  return 'Not sent: your text stays here (also after a reload).';
}

/**
 * What to keep over a reload (sessionStorage, page.js): the text of every send that never
 * went out or failed, oldest first, then what is in the composer; '' when there is nothing.
 * Sends that went out and wait for their ack are left out: the server may have stored them.
 * @param {string} draft the composer's text
 * @param {Iterable<{text, state, emitted?}>} pending the sends without an ack (timeline.js)
 */
export function draftToKeep(draft, pending) {
  const parts = [];
  for (const e of pending || []) {
    const text = String(e.text || '').trim();
    if (text && (e.state === 'failed' || !e.emitted)) parts.push(text);
  }
  const typed = String(draft || '').trim();
  if (typed) parts.push(typed);
  return parts.join('\n\n');
}
