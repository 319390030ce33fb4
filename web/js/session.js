/*
 * The signed-in user's access token (PROTOCOL §7) and REST calls with it.
 *
 * A `token` query parameter is stored (localStorage.accessToken, plus a per-tab copy in
 * sessionStorage) and stripped from the address bar; otherwise the stored token is used.
 * localStorage wins unless it holds another user's token and this tab has its own (two users'
 * links open in one browser, as in `order-chat demo`).
 */
import { chatError, jwtPayload, tokenUser, tokenFresh } from './format.js';

export const API = '/api/v0/chat';

function storageGet(area, key) {
  try { return window[area].getItem(key); } catch (_) { return null; }
}
function storageSet(area, key, value) {
  try { window[area].setItem(key, value); } catch (_) { /* storage disabled: keep it in memory */ }
}

/** The token of this page load: from the address (stored, then removed from it) or storage. */
export function resolveToken(userId) {
  let fromUrl = null;
  try {
    const url = new URL(window.location.href);
    if (url.searchParams.has('token')) {
      fromUrl = url.searchParams.get('token') || null;
      url.searchParams.delete('token');
      window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    }
  } catch (_) { /* keep going with the stored token */ }
  if (fromUrl) {
    storageSet('localStorage', 'accessToken', fromUrl);
    storageSet('sessionStorage', 'accessToken', fromUrl);
    return fromUrl;
  }
  return storedToken(userId);
}

/** The best stored token for `userId` (its own and unexpired first), or any stored one. */
export function storedToken(userId) {
  const local = storageGet('localStorage', 'accessToken');
  const session = storageGet('sessionStorage', 'accessToken');
  const candidates = [local, session].filter(Boolean);
  if (!userId) return candidates[0] || null;
  const score = (t) => {
    const p = jwtPayload(t);
    return (tokenUser(p) === userId ? 2 : 0) + (tokenFresh(p) ? 1 : 0);
  };
  let best = null;
  for (const t of candidates) if (best === null || score(t) > score(best)) best = t;
  return best;
}

/** Keep a (refreshed) token for REST calls, reconnects and the next page load. */
export function storeToken(token) {
  storageSet('localStorage', 'accessToken', token);
  storageSet('sessionStorage', 'accessToken', token);
}

/** How long the embedding app's hook may take to give a fresh token. */
const HOOK_TIMEOUT_MS = 15000;

/**
 * A fresh token from the embedding app: `window.orderChatRefreshToken` (see chat.js), an
 * (async) function returning the new access token. Null when there is no hook, it failed, it
 * took too long, or it gave no token. Not stored here: the caller stores it once it is accepted.
 */
export async function tokenFromApp() {
  const hook = typeof window !== 'undefined' ? window.orderChatRefreshToken : null;
  if (typeof hook !== 'function') return null;
  let timer;
  try {
    const token = await Promise.race([
      Promise.resolve().then(() => hook()),
      new Promise((resolve) => { timer = setTimeout(() => resolve(null), HOOK_TIMEOUT_MS); }),
    ]);
    if (typeof token !== 'string') return null;
    const bare = token.trim().replace(/^Bearer\s+/i, '');
    return bare || null;
  } catch (e) {
    console.warn('order-chat: window.orderChatRefreshToken failed', e);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** The user a token names (unverified; the server decides), or null. */
export function userOfToken(token) {
  return token ? tokenUser(jwtPayload(token)) : null;
}

/**
 * REST call under /api/v0/chat with the bearer token; resolves with `data`, rejects with an
 * Error whose `code` is the server's code (or NETWORK, HTTP_<status>).
 */
export async function api(path, token, init = {}) {
  const headers = Object.assign({ Accept: 'application/json' }, init.headers || {});
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(API + path, Object.assign({}, init, { headers, cache: 'no-store', credentials: 'same-origin' }));
  } catch (e) {
    throw chatError('NETWORK', e && e.message);
  }
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok || !body || body.status !== 'success') {
    const err = chatError((body && body.code) || (res.status === 401 ? 'UNAUTHORIZED' : 'HTTP_' + res.status),
      (body && body.message) || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body.data;
}
