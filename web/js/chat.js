/*
 * Order chat: the bundled web page's client (PROTOCOL.md section 7).
 *
 * Plain browser JavaScript, no build step, no dependency but the Socket.IO client that the server
 * serves at /socket.io/socket.io.js. Defines the global `ChatClient`:
 *
 *   const chat = new ChatClient(orderId, userId);   // connects, joins, renders into the page
 *   chat.sendMessage('Hello');                       // resolves with the stored message
 *   chat.leaveChat();                                // leaves the room and disconnects
 *
 * It uses the elements #message-container, #message-input, #send-button and #typing-indicator
 * (and, when present, the other ids of chat.html: banner, header, error line, buttons).
 *
 * Everything a user typed is put into the page with textContent / DOM nodes, never as HTML.
 */
(function () {
  'use strict';

  const API = '/api/v0/chat';
  const PAGE_SIZE = 50; // history page when scrolling up
  const CATCH_UP_LIMIT = 200; // messages per request when catching up after a reconnect
  const ACK_TIMEOUT_MS = 10000;
  const JOIN_TIMEOUT_MS = 5000; // a join without an answer is simply asked again (it is idempotent)
  const TYPING_SHOWN_MS = 3000; // someone else's indicator disappears after this without news
  const TYPING_IDLE_MS = 3000; // we send isTyping:false after this long without a keystroke
  const TYPING_REFRESH_MS = 2000; // while typing we repeat isTyping:true this often
  const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages of one sender are grouped
  const MAX_CHARS = 4000;
  const CLOSED_STATUSES = ['completed', 'cancelled'];

  /** The connect_error messages of the contract, said in words. */
  const AUTH_ERRORS = {
    'Authentication error: Token not provided':
      'You are not signed in: this link has no access token. Open the chat again from the app.',
    'Authentication error: Invalid token':
      'Your access token is not valid. Please sign in again and reopen the chat.',
    'Authentication error: Token expired':
      'Your session has expired. Please sign in again and reopen the chat.',
    'Your account has been blocked. Please contact support':
      'Your account has been blocked. Please contact support.',
  };

  const ROLE_LABELS = { customer: 'Customer', agent: 'Agent', admin: 'Admin', system: 'System' };

  // ---- small helpers ---------------------------------------------------------------------------

  function storageGet(area, key) {
    try { return window[area].getItem(key); } catch (_) { return null; }
  }
  function storageSet(area, key, value) {
    try { window[area].setItem(key, value); } catch (_) { /* storage disabled: keep it in memory */ }
  }

  /** The payload of a JWT (not verified: only to pick the right stored token), or null. */
  function jwtPayload(token) {
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

  function tokenUser(payload) {
    if (!payload) return null;
    if (payload.user && payload.user.id != null) return String(payload.user.id);
    if (payload.authKey != null) return String(payload.authKey);
    if (payload.sub != null) return String(payload.sub);
    return null;
  }

  function tokenFresh(payload) {
    return !payload || typeof payload.exp !== 'number' || payload.exp * 1000 > Date.now() - 30000;
  }

  /** A client message id: 1–64 characters of [A-Za-z0-9._:@-]. */
  function newClientMessageId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'c-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** Only https: images, http: ones on loopback, and this server's own URLs are shown. */
  function safeImageUrl(raw) {
    if (typeof raw !== 'string' || raw === '' || raw.length > 2048) return null;
    let url;
    try { url = new URL(raw, window.location.href); } catch (_) { return null; }
    if (url.protocol === 'https:') return url.href;
    if (url.origin === window.location.origin && /^https?:$/.test(url.protocol)) return url.href;
    if (url.protocol === 'http:') {
      const h = url.hostname;
      if (h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return url.href;
    }
    return null;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  /** Text with its http(s) links made clickable; built from text nodes and <a>, never HTML. */
  function renderText(container, text) {
    const re = /\bhttps?:\/\/[^\s<>"']+/gi;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      let url = m[0];
      const trail = /[.,;:!?)\]}]+$/.exec(url);
      if (trail) url = url.slice(0, url.length - trail[0].length);
      if (!url) continue;
      if (m.index > last) container.appendChild(document.createTextNode(text.slice(last, m.index)));
      const a = el('a', 'msg__link', url);
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      container.appendChild(a);
      last = m.index + url.length;
      re.lastIndex = last;
    }
    if (last < text.length) container.appendChild(document.createTextNode(text.slice(last)));
  }

  function initials(name) {
    const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
    const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
    return letters.toUpperCase();
  }

  function hue(id) {
    let h = 0;
    for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return h % 6;
  }

  function firstName(name) {
    return String(name || 'Someone').trim().split(/\s+/)[0] || 'Someone';
  }

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const dayTimeFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

  function timeElement(iso) {
    const t = el('time', 'msg__time');
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return t;
    t.dateTime = d.toISOString();
    const today = new Date();
    const sameDay = d.toDateString() === today.toDateString();
    t.textContent = (sameDay ? timeFmt : dayTimeFmt).format(d);
    t.title = fullFmt.format(d);
    return t;
  }

  function chatError(code, message) {
    const e = new Error(message || code);
    e.code = code;
    return e;
  }

  /** An ack or REST error (code + server message) as a sentence for the user. */
  function describeError(code, message) {
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
      case 'UNAUTHORIZED': {
        const m = String(message || '').toLowerCase();
        if (m.includes('expired')) return AUTH_ERRORS['Authentication error: Token expired'];
        if (m.includes('not provided') || m.includes('missing')) return AUTH_ERRORS['Authentication error: Token not provided'];
        return AUTH_ERRORS['Authentication error: Invalid token'];
      }
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

  // ---- the client ------------------------------------------------------------------------------

  class ChatClient {
    /**
     * @param {string} orderId the order's id (or order number)
     * @param {string} userId the signed-in user (the token's user; used to tell own messages apart)
     */
    constructor(orderId, userId) {
      this.orderId = orderId == null ? '' : String(orderId);
      this.userId = userId ? String(userId) : null;
      this.userType = null;

      this.ui = {
        container: document.getElementById('message-container'),
        input: document.getElementById('message-input'),
        send: document.getElementById('send-button'),
        typing: document.getElementById('typing-indicator'),
        typingText: document.getElementById('typing-text'),
        form: document.getElementById('composer'),
        banner: document.getElementById('connection-banner'),
        bannerText: document.getElementById('connection-text'),
        bannerAction: document.getElementById('connection-action'),
        error: document.getElementById('chat-error'),
        errorText: document.getElementById('chat-error-text'),
        errorClose: document.getElementById('chat-error-close'),
        title: document.getElementById('chat-title'),
        subtitle: document.getElementById('chat-subtitle'),
        status: document.getElementById('order-status'),
        leave: document.getElementById('leave-button'),
        loadOlder: document.getElementById('load-older'),
        historyTop: document.getElementById('history-top'),
        historyStatus: document.getElementById('history-status'),
        empty: document.getElementById('empty-state'),
        jump: document.getElementById('jump-latest'),
      };
      if (!this.ui.container || !this.ui.input) {
        throw new Error('ChatClient needs the elements #message-container and #message-input');
      }

      this.messages = new Map(); // id -> message
      this.seqs = []; // seqs shown, ascending
      this.bySeq = new Map(); // seq -> element
      this.pending = new Map(); // clientMessageId -> outgoing entry
      this.reads = new Map(); // userId -> lastReadSeq
      this.participants = new Map(); // userId -> {id, name, type, online}
      this.typers = new Map(); // userId -> {name, timer}
      this.highestSeq = 0;
      this.highestOtherSeq = 0; // newest message written by someone else
      this.hasMoreOlder = false;
      this.loadingOlder = false;
      this.catchingUp = false;
      this.joined = false;
      this.everJoined = false;
      this.left = false;
      this.closed = false;
      this.fatal = null;
      this.destroyed = false;
      this.myReadSeq = 0;
      this.readSent = 0;
      this.typingSent = false;
      this.typingSentAt = 0;
      this.typingIdleTimer = null;
      this.orderNumber = null;
      this.orderStatus = null;
      this.stick = true;

      this.token = ChatClient.resolveToken(this.userId);
      this.bindUi();
      this.updateComposer();

      if (!this.orderId) {
        this.fail('This chat link has no order: the orderId parameter is missing.');
        this.setBanner('error', 'No order to open.');
        return;
      }
      if (typeof window.io !== 'function') {
        this.setBanner('error', 'The chat could not start: the Socket.IO client did not load. Please reload the page.');
        return;
      }
      this.connect();
      this.loadOrderInfo();
    }

    /**
     * The access token: a `token` query parameter is stored (localStorage.accessToken, plus a
     * per-tab copy in sessionStorage) and stripped from the address bar; otherwise the stored
     * token. localStorage wins unless it holds another user's token and this tab has its own
     * (two users' links open in one browser, as in `order-chat demo`).
     */
    static resolveToken(userId) {
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
      return ChatClient.storedToken(userId);
    }

    static storedToken(userId) {
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

    /** The token to use now (re-read on every reconnect, so a refreshed token is picked up). */
    currentToken() {
      const stored = ChatClient.storedToken(this.userId);
      if (stored) this.token = stored;
      return this.token;
    }

    // ---- connection ----------------------------------------------------------------------------

    connect() {
      this.setBanner('connecting');
      const socket = window.io({
        auth: (cb) => cb({ token: this.currentToken() || undefined }),
        transports: ['websocket', 'polling'],
        reconnection: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 4000,
        timeout: 10000,
      });
      this.socket = socket;

      socket.on('connect', () => this.onConnect());
      socket.on('disconnect', (reason) => this.onDisconnect(reason));
      socket.on('connect_error', (err) => this.onConnectError(err));
      socket.io.on('reconnect_attempt', (n) => {
        if (!this.left && !this.fatal) this.setBanner('reconnecting', n > 1 ? `Connection lost. Reconnecting (attempt ${n})…` : undefined);
      });

      socket.on('connection-status', (p) => {
        if (!p || typeof p !== 'object') return;
        if (p.userId) {
          if (this.userId && this.userId !== String(p.userId)) {
            console.warn(`order-chat: the page was opened for ${this.userId} but the token is ${p.userId}'s`);
          }
          this.userId = String(p.userId);
        }
        if (p.userType) this.userType = p.userType;
      });
      socket.on('previous-messages', (list) => {
        if (Array.isArray(list)) this.ingest(list);
      });
      socket.on('new-message', (m) => this.onNewMessage(m));
      socket.on('user-typing', (p) => this.onUserTyping(p));
      socket.on('user-joined', (p) => this.onPresence(p, true));
      socket.on('user-left', (p) => this.onPresence(p, false));
      socket.on('messages-read', (p) => this.onMessagesRead(p));
      socket.on('order-updated', (p) => this.onOrderUpdated(p));
      socket.on('error', (p) => this.onServerError(p));
    }

    onConnect() {
      if (this.left) return;
      this.setBanner(this.everJoined ? 'reconnecting' : 'connecting', this.everJoined ? 'Reconnected. Catching up…' : 'Connected. Opening the conversation…');
      this.join();
    }

    onDisconnect(reason) {
      this.joined = false;
      this.clearTypers();
      this.typingSent = false;
      clearTimeout(this.typingIdleTimer);
      for (const entry of this.pending.values()) if (entry.state === 'sending') this.setPendingState(entry, 'queued');
      if (this.left || this.destroyed) return;
      if (reason === 'io server disconnect') {
        // The server closed this session (for example a blocked account): ask again; a refusal
        // comes back as a connect_error that says why.
        this.setBanner('reconnecting', 'Disconnected by the server. Reconnecting…');
        setTimeout(() => { if (!this.left && !this.destroyed && !this.socket.connected) this.socket.connect(); }, 1000);
        return;
      }
      this.setBanner('reconnecting');
    }

    onConnectError(err) {
      const message = err && err.message;
      if (AUTH_ERRORS[message]) {
        // Refused by the server: Socket.IO does not retry this on its own, and asking again
        // with the same token would not help; the button re-reads the stored token.
        this.setBanner('error', AUTH_ERRORS[message], 'Try again');
        return;
      }
      if (!this.socket.active) {
        // Another refusal (server busy or unavailable): say so and ask again in a while.
        this.setBanner('error', describeError(null, message) + ' Retrying shortly…', 'Try again');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          if (!this.left && !this.destroyed && !this.socket.connected && !this.socket.active) this.socket.connect();
        }, 5000);
        return;
      }
      this.setBanner(this.everJoined ? 'reconnecting' : 'connecting',
        this.everJoined ? 'Connection lost. Reconnecting…' : 'Trying to reach the chat server…');
    }

    /** Join (or re-join) the order's room; after a reconnect ask only for what came since. */
    join() {
      const payload = { orderId: this.orderId };
      const resuming = this.highestSeq > 0;
      if (resuming) {
        payload.since = this.highestSeq;
        payload.limit = CATCH_UP_LIMIT;
      }
      const socket = this.socket;
      socket.timeout(JOIN_TIMEOUT_MS).emit('join-order-chat', payload, (err, ack) => {
        if (socket !== this.socket || !socket.connected || this.left) return;
        if (err) {
          if (!this.joined) {
            this.setBanner(this.everJoined ? 'reconnecting' : 'connecting', 'The chat server is slow to answer. Retrying…');
            this.join();
          }
          return;
        }
        if (!ack || !ack.ok) {
          const code = ack && ack.error && ack.error.code;
          const text = describeError(code, ack && ack.error && ack.error.message);
          if (!['FORBIDDEN', 'ORDER_NOT_FOUND', 'VALIDATION', 'UNAUTHORIZED'].includes(code)) {
            // Passing trouble (rate limit, server error): say so and ask again.
            this.fail(text, { soft: true });
            setTimeout(() => { if (socket === this.socket && socket.connected && !this.joined && !this.left) this.join(); }, 3000);
            return;
          }
          this.fatal = code || 'JOIN_FAILED';
          this.fail(text);
          this.setBanner('error', 'This chat is not available.');
          if (this.ui.subtitle) this.ui.subtitle.textContent = code === 'FORBIDDEN' ? 'You are not a participant' : 'Not available';
          this.updateComposer();
          this.showHistoryState();
          return;
        }
        this.onJoined(ack.data || {}, resuming);
      });
    }

    onJoined(data, resuming) {
      if (data.orderId) this.orderId = String(data.orderId);
      this.fatal = null;
      if (Array.isArray(data.participants)) {
        this.participants.clear();
        for (const p of data.participants) if (p && p.id != null) this.participants.set(String(p.id), p);
      }
      if (data.reads && typeof data.reads === 'object') {
        for (const [user, seq] of Object.entries(data.reads)) this.setRead(user, seq);
      }
      this.readSent = this.myReadSeq;
      const first = !this.everJoined;
      const wasJoined = this.joined;
      this.joined = true;
      this.everJoined = true;
      if (!resuming) this.hasMoreOlder = !!data.hasMore;
      this.ingest(Array.isArray(data.messages) ? data.messages : [], { initial: first });
      if (resuming && data.hasMore) this.catchUp();
      this.refreshReceipts();
      this.renderHeader();
      this.showHistoryState();
      this.updateComposer();
      if (!wasJoined) this.setBanner('connected');
      this.flushOutbox();
      this.markRead();
      if (first) {
        this.scrollToBottom();
        this.fillViewport();
      }
    }

    /** Fetch every message after the highest seq seen (a reconnect after a long gap). */
    async catchUp() {
      if (this.catchingUp) return;
      this.catchingUp = true;
      try {
        for (let i = 0; i < 100; i++) {
          const data = await this.api(`/messages/${encodeURIComponent(this.orderId)}?after=${this.highestSeq}&limit=${CATCH_UP_LIMIT}`);
          const before = this.highestSeq;
          this.ingest(data.messages || []);
          if (!data.hasMore || this.highestSeq === before) break;
        }
        this.markRead();
      } catch (e) {
        console.warn('order-chat: catching up failed', e);
      } finally {
        this.catchingUp = false;
      }
    }

    /** REST call under /api/v0/chat with the bearer token; resolves with `data`. */
    async api(path, init = {}) {
      const token = this.currentToken();
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
        throw chatError((body && body.code) || (res.status === 401 ? 'UNAUTHORIZED' : 'HTTP_' + res.status),
          (body && body.message) || `HTTP ${res.status}`);
      }
      return body.data;
    }

    /** The order number and status for the header (best effort). */
    async loadOrderInfo() {
      try {
        const data = await this.api('/orders');
        const list = (data && data.orders) || [];
        const mine = list.find((o) => o && (o.orderId === this.orderId || o.orderNumber === this.orderId));
        if (mine) {
          this.orderNumber = mine.orderNumber || this.orderNumber;
          this.setOrderStatus(mine.status);
          this.renderHeader();
        }
      } catch (_) { /* the header keeps the id */ }
    }

    // ---- incoming ------------------------------------------------------------------------------

    onNewMessage(m) {
      if (!m || typeof m !== 'object') return;
      if (m.orderId && String(m.orderId) !== this.orderId) return;
      const typer = m.senderId != null && this.typers.get(String(m.senderId));
      if (typer) this.removeTyper(String(m.senderId));
      const gap = this.everJoined && this.highestSeq > 0 && m.seq > this.highestSeq + 1;
      this.ingest([m]);
      if (gap) this.catchUp();
      this.markRead();
    }

    /**
     * Put messages into the list in seq order, each once (by id and by seq). Own messages that
     * answer a pending send replace its placeholder.
     */
    ingest(list, opts = {}) {
      const atBottom = this.isAtBottom();
      let addedOthers = false;
      let addedOwn = false;
      let added = 0;
      for (const m of list) {
        if (!m || typeof m !== 'object' || typeof m.seq !== 'number' || m.id == null) continue;
        const own = this.isOwn(m);
        if (own && m.clientMessageId && this.pending.has(m.clientMessageId)) {
          const entry = this.pending.get(m.clientMessageId);
          this.pending.delete(m.clientMessageId);
          entry.el.remove();
          if (entry.resolve) entry.resolve(m);
        }
        if (this.messages.has(String(m.id)) || this.bySeq.has(m.seq)) continue;
        this.messages.set(String(m.id), m);
        const node = this.renderMessage(m);
        this.insertBySeq(m.seq, node);
        added++;
        if (own) addedOwn = true; else addedOthers = true;
        if (m.seq > this.highestSeq) this.highestSeq = m.seq;
        if (!own && m.seq > this.highestOtherSeq) this.highestOtherSeq = m.seq;
      }
      if (!added) return;
      this.showHistoryState();
      if (opts.prepend) return;
      if (opts.initial || atBottom || addedOwn) this.scrollToBottom();
      else if (addedOthers && this.ui.jump) this.ui.jump.hidden = false;
    }

    isOwn(m) {
      return this.userId != null && String(m.senderId) === this.userId && m.senderType !== 'system';
    }

    insertBySeq(seq, node) {
      // binary search for the first shown seq above this one
      let lo = 0;
      let hi = this.seqs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.seqs[mid] < seq) lo = mid + 1; else hi = mid;
      }
      const nextSeq = this.seqs[lo];
      this.seqs.splice(lo, 0, seq);
      this.bySeq.set(seq, node);
      const before = nextSeq !== undefined ? this.bySeq.get(nextSeq) : this.firstPendingNode();
      this.ui.container.insertBefore(node, before || null);
      this.regroup(node);
      if (node.nextElementSibling) this.regroup(node.nextElementSibling);
    }

    firstPendingNode() {
      return this.ui.container.querySelector('.msg--pending');
    }

    /** Consecutive messages of one sender within a few minutes share the name and avatar. */
    regroup(node) {
      if (!node.classList || !node.classList.contains('msg') || node.classList.contains('msg--system')) return;
      const prev = node.previousElementSibling;
      const same = prev && prev.classList.contains('msg') && !prev.classList.contains('msg--system') &&
        prev.dataset.senderId === node.dataset.senderId &&
        Math.abs(Number(node.dataset.time || 0) - Number(prev.dataset.time || 0)) < GROUP_WINDOW_MS;
      node.classList.toggle('msg--cont', !!same);
    }

    renderMessage(m) {
      const senderType = m.senderType || (m.sender && m.sender.type) || 'customer';
      const name = (m.sender && m.sender.name) || (senderType === 'system' ? 'System' : 'Unknown user');
      const time = Date.parse(m.createdAt);

      if (senderType === 'system') {
        const node = el('div', 'msg msg--system');
        node.dataset.seq = String(m.seq);
        node.dataset.id = String(m.id);
        node.dataset.senderType = 'system';
        const pill = el('p', 'msg__system');
        const label = el('span', 'visually-hidden', 'System message: ');
        const text = el('span', 'msg__system-text');
        renderText(text, String(m.message || ''));
        pill.append(label, text, ' ', timeElement(m.createdAt));
        node.appendChild(pill);
        return node;
      }

      const own = this.isOwn(m);
      const node = el('article', 'msg ' + (own ? 'msg--own' : 'msg--other') + ' msg--' + senderType);
      node.dataset.seq = String(m.seq);
      node.dataset.id = String(m.id);
      node.dataset.senderId = String(m.senderId);
      node.dataset.senderType = senderType;
      if (!Number.isNaN(time)) node.dataset.time = String(time);

      if (!own) node.appendChild(this.renderAvatar(m.sender || { id: m.senderId, name }));

      const body = el('div', 'msg__body');
      const meta = el('div', 'msg__meta');
      meta.appendChild(el('span', 'msg__sender', own ? 'You' : name));
      if (!own && ROLE_LABELS[senderType]) meta.appendChild(el('span', 'msg__role msg__role--' + senderType, ROLE_LABELS[senderType]));
      body.appendChild(meta);

      const bubble = el('div', 'msg__bubble');
      const text = String(m.message || '');
      if (text) {
        const p = el('p', 'msg__text');
        renderText(p, text);
        bubble.appendChild(p);
      }
      const src = safeImageUrl(m.imageUrl);
      if (src) {
        const link = el('a', 'msg__image');
        link.href = src;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        const img = el('img');
        img.alt = `Image from ${own ? 'you' : name}`;
        img.loading = 'lazy';
        img.decoding = 'async';
        img.referrerPolicy = 'no-referrer';
        img.addEventListener('load', () => { if (this.stick) this.scrollToBottom(); });
        img.addEventListener('error', () => { link.classList.add('msg__image--broken'); img.alt = 'Image could not be loaded'; });
        img.src = src;
        link.appendChild(img);
        bubble.appendChild(link);
      } else if (m.imageUrl) {
        bubble.appendChild(el('p', 'msg__note', 'An image was attached but it cannot be shown here.'));
      }
      const footer = el('div', 'msg__footer');
      footer.appendChild(timeElement(m.createdAt));
      if (own) {
        const status = el('span', 'msg__status');
        footer.appendChild(status);
        bubble.appendChild(footer);
        body.appendChild(bubble);
        node.appendChild(body);
        this.setReceipt(node, this.isReadByOthers(m) ? 'read' : 'sent');
        return node;
      }
      bubble.appendChild(footer);
      body.appendChild(bubble);
      node.appendChild(body);
      return node;
    }

    renderAvatar(sender) {
      const avatar = el('div', 'avatar avatar--c' + hue(sender.id || sender.name));
      avatar.setAttribute('aria-hidden', 'true');
      avatar.textContent = initials(sender.name);
      const src = safeImageUrl(sender.displayImage);
      if (src) {
        const img = el('img', 'avatar__img');
        img.alt = '';
        img.referrerPolicy = 'no-referrer';
        img.addEventListener('error', () => img.remove());
        img.src = src;
        avatar.appendChild(img);
      }
      return avatar;
    }

    // ---- read receipts -------------------------------------------------------------------------

    setRead(userId, seq) {
      const n = Number(seq);
      if (!Number.isFinite(n)) return;
      const key = String(userId);
      if ((this.reads.get(key) || 0) < n) this.reads.set(key, n);
      if (key === this.userId && n > this.myReadSeq) this.myReadSeq = n;
    }

    isReadByOthers(m) {
      if (m.isRead) return true;
      for (const [user, seq] of this.reads) if (user !== this.userId && seq >= m.seq) return true;
      return false;
    }

    readersOf(seq) {
      const names = [];
      for (const [user, s] of this.reads) {
        if (user === this.userId || s < seq) continue;
        const p = this.participants.get(user);
        names.push(p && p.name ? p.name : user);
      }
      return names;
    }

    setReceipt(node, state) {
      node.dataset.status = state;
      const status = node.querySelector('.msg__status');
      if (!status) return;
      status.dataset.status = state;
      if (state === 'read') {
        status.textContent = '✓✓';
        const who = this.readersOf(Number(node.dataset.seq));
        status.title = who.length ? 'Read by ' + who.join(', ') : 'Read';
        status.setAttribute('aria-label', status.title);
      } else {
        status.textContent = '✓';
        status.title = 'Sent';
        status.setAttribute('aria-label', 'Sent');
      }
    }

    refreshReceipts() {
      for (const node of this.ui.container.querySelectorAll('.msg--own[data-seq]')) {
        const m = this.messages.get(node.dataset.id);
        if (!m) continue;
        const state = this.isReadByOthers(m) ? 'read' : 'sent';
        if (node.dataset.status !== state || state === 'read') this.setReceipt(node, state);
      }
    }

    onMessagesRead(p) {
      if (!p || (p.orderId && String(p.orderId) !== this.orderId) || p.userId == null) return;
      this.setRead(p.userId, p.lastReadSeq);
      if (String(p.userId) !== this.userId) this.refreshReceipts();
    }

    /** Tell the server we have seen everything shown, while the page is visible. */
    markRead() {
      if (!this.joined || !this.socket || document.visibilityState !== 'visible') return;
      // Only when someone else wrote something we have not marked yet; then up to the newest.
      const upTo = this.highestSeq;
      const mark = Math.max(this.myReadSeq, this.readSent);
      if (this.highestOtherSeq <= mark || upTo <= mark) return;
      this.readSent = upTo;
      const socket = this.socket;
      socket.timeout(ACK_TIMEOUT_MS).emit('mark-messages-read', { orderId: this.orderId, upToSeq: upTo }, (err, ack) => {
        if (!err && ack && ack.ok) {
          const seq = ack.data && typeof ack.data.lastReadSeq === 'number' ? ack.data.lastReadSeq : upTo;
          if (this.userId) this.setRead(this.userId, seq);
          else this.myReadSeq = Math.max(this.myReadSeq, seq);
        } else if (this.readSent === upTo) {
          this.readSent = this.myReadSeq; // try again on the next occasion
        }
      });
    }

    // ---- typing --------------------------------------------------------------------------------

    onUserTyping(p) {
      if (!p || !p.user || p.user.id == null) return;
      if (p.orderId && String(p.orderId) !== this.orderId) return;
      const id = String(p.user.id);
      if (id === this.userId) return;
      if (!p.isTyping) { this.removeTyper(id); return; }
      const old = this.typers.get(id);
      if (old) clearTimeout(old.timer);
      const timer = setTimeout(() => this.removeTyper(id), TYPING_SHOWN_MS);
      this.typers.set(id, { name: p.user.name || (this.participants.get(id) || {}).name || 'Someone', timer });
      this.renderTyping();
    }

    removeTyper(id) {
      const t = this.typers.get(id);
      if (!t) return;
      clearTimeout(t.timer);
      this.typers.delete(id);
      this.renderTyping();
    }

    clearTypers() {
      for (const t of this.typers.values()) clearTimeout(t.timer);
      this.typers.clear();
      this.renderTyping();
    }

    renderTyping() {
      const box = this.ui.typing;
      if (!box) return;
      const names = [...this.typers.values()].map((t) => t.name);
      const firsts = names.map(firstName);
      const shown = new Set(firsts).size === firsts.length ? firsts : names;
      let text = '';
      if (shown.length === 1) text = `${shown[0]} is typing…`;
      else if (shown.length === 2) text = `${shown[0]} and ${shown[1]} are typing…`;
      else if (shown.length > 2) text = `${shown.length} people are typing…`;
      (this.ui.typingText || box).textContent = text;
      box.hidden = shown.length === 0;
      box.classList.toggle('typing--visible', shown.length > 0);
    }

    /** Called on every keystroke in the input. */
    noteTyping() {
      if (!this.joined || this.closed || this.left) return;
      if (this.ui.input.value.trim() === '') { this.stopTyping(); return; }
      const now = Date.now();
      if (!this.typingSent || now - this.typingSentAt >= TYPING_REFRESH_MS) {
        this.socket.emit('typing', { orderId: this.orderId, isTyping: true });
        this.typingSent = true;
        this.typingSentAt = now;
      }
      clearTimeout(this.typingIdleTimer);
      this.typingIdleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    }

    stopTyping() {
      clearTimeout(this.typingIdleTimer);
      this.typingIdleTimer = null;
      if (!this.typingSent) return;
      this.typingSent = false;
      if (this.socket && this.socket.connected && this.joined) {
        this.socket.emit('typing', { orderId: this.orderId, isTyping: false });
      }
    }

    // ---- presence, order, errors ---------------------------------------------------------------

    onPresence(p, joined) {
      if (!p || (p.orderId && String(p.orderId) !== this.orderId)) return;
      const id = String(p.userId != null ? p.userId : p.id);
      if (id === this.userId) return;
      const known = this.participants.get(id) || { id, name: p.name, type: p.type };
      known.online = joined;
      if (p.name) known.name = p.name;
      this.participants.set(id, known);
      if (!joined) this.removeTyper(id);
      const name = p.name || known.name || 'Someone';
      this.addNotice(joined ? `${name} joined the chat` : `${name} left the chat`, joined ? 'joined' : 'left', id, p.timestamp);
      this.renderHeader();
    }

    addNotice(text, kind, userId, timestamp) {
      const atBottom = this.isAtBottom();
      const node = el('div', 'notice notice--' + kind);
      node.dataset.kind = kind;
      if (userId) node.dataset.userId = userId;
      const p = el('p', 'notice__text', text);
      if (timestamp || kind) {
        p.append(' · ');
        p.appendChild(timeElement(timestamp || new Date().toISOString()));
      }
      node.appendChild(p);
      this.ui.container.insertBefore(node, this.firstPendingNode());
      const next = node.nextElementSibling;
      if (next) this.regroup(next);
      if (atBottom) this.scrollToBottom();
      this.showHistoryState();
    }

    onOrderUpdated(p) {
      if (!p || (p.orderId && String(p.orderId) !== this.orderId)) return;
      if (p.orderNumber) this.orderNumber = p.orderNumber;
      if (p.status) this.setOrderStatus(p.status);
      const me = this.userId;
      const member = !me || this.userType === 'admin' || p.customerId === me ||
        (Array.isArray(p.agentIds) && p.agentIds.includes(me));
      if (p.customerId !== undefined && !member) {
        this.fatal = 'FORBIDDEN';
        this.fail(describeError('FORBIDDEN'));
        this.updateComposer();
      } else if (this.joined) {
        this.join(); // refresh the participants (an agent may have been added)
      }
      this.renderHeader();
    }

    setOrderStatus(status) {
      this.orderStatus = status || null;
      const closed = CLOSED_STATUSES.includes(String(status));
      if (closed && !this.closed) {
        this.closed = true;
        this.stopTyping();
        this.fail(describeError('ORDER_CLOSED'), { soft: true });
      } else if (!closed && this.closed) {
        this.closed = false;
        this.clearError();
      }
      this.updateComposer();
    }

    onServerError(p) {
      if (!p || typeof p !== 'object') return;
      if (p.orderId && String(p.orderId) !== this.orderId) return;
      if (p.code === 'ORDER_CLOSED') { this.setOrderStatus(this.orderStatus && CLOSED_STATUSES.includes(this.orderStatus) ? this.orderStatus : 'completed'); return; }
      if (p.event === 'typing') return; // not worth bothering the user
      this.fail(describeError(p.code, p.message), { soft: true });
    }

    // ---- sending -------------------------------------------------------------------------------

    /**
     * Send a text message. Resolves with the stored message (once the server acknowledged it),
     * rejects with an Error whose `code` is the server's error code.
     */
    sendMessage(text) {
      const body = String(text == null ? '' : text).trim();
      if (!body) return Promise.resolve(null);
      if ([...body].length > MAX_CHARS) {
        const msg = `A message can have at most 4,000 characters; this one has ${[...body].length}.`;
        this.fail(msg, { soft: true });
        return Promise.reject(chatError('VALIDATION', msg));
      }
      const blocked = this.cannotSendReason();
      if (blocked) {
        this.fail(blocked.text, { soft: true });
        return Promise.reject(chatError(blocked.code, blocked.text));
      }
      const entry = { cid: newClientMessageId(), text: body, state: 'queued' };
      const promise = new Promise((resolve, reject) => { entry.resolve = resolve; entry.reject = reject; });
      promise.catch(() => { /* the bubble shows it; callers may still await */ });
      entry.el = this.renderPending(entry);
      this.pending.set(entry.cid, entry);
      this.ui.container.appendChild(entry.el);
      this.showHistoryState();
      this.scrollToBottom();
      this.stopTyping();
      this.transmit(entry);
      return promise;
    }

    cannotSendReason() {
      if (this.fatal) return { code: this.fatal, text: describeError(this.fatal) };
      if (this.closed) return { code: 'ORDER_CLOSED', text: describeError('ORDER_CLOSED') };
      if (this.left) return { code: 'LEFT', text: 'You left this chat. Rejoin it to send messages.' };
      return null;
    }

    renderPending(entry) {
      const node = el('article', 'msg msg--own msg--pending');
      node.dataset.clientMessageId = entry.cid;
      node.dataset.senderId = this.userId || '';
      node.dataset.status = 'pending';
      node.dataset.time = String(Date.now());
      const body = el('div', 'msg__body');
      const meta = el('div', 'msg__meta');
      meta.appendChild(el('span', 'msg__sender', 'You'));
      body.appendChild(meta);
      const bubble = el('div', 'msg__bubble');
      const p = el('p', 'msg__text');
      renderText(p, entry.text);
      bubble.appendChild(p);
      const footer = el('div', 'msg__footer');
      const status = el('span', 'msg__status msg__status--pending', 'Sending…');
      status.dataset.status = 'pending';
      footer.appendChild(status);
      bubble.appendChild(footer);
      body.appendChild(bubble);
      node.appendChild(body);
      return node;
    }

    setPendingState(entry, state, note) {
      entry.state = state;
      const node = entry.el;
      node.dataset.status = state === 'failed' ? 'failed' : 'pending';
      node.classList.toggle('msg--failed', state === 'failed');
      const footer = node.querySelector('.msg__footer');
      footer.textContent = '';
      if (state === 'failed') {
        footer.appendChild(el('span', 'msg__status msg__status--failed', note || 'Not sent'));
        const retry = el('button', 'msg__retry', 'Retry');
        retry.type = 'button';
        retry.addEventListener('click', () => {
          const blocked = this.cannotSendReason();
          if (blocked) { this.fail(blocked.text, { soft: true }); return; }
          this.setPendingState(entry, 'queued');
          this.transmit(entry);
        });
        const discard = el('button', 'msg__retry', 'Delete');
        discard.type = 'button';
        discard.addEventListener('click', () => {
          this.pending.delete(entry.cid);
          node.remove();
          this.showHistoryState();
          if (entry.reject) entry.reject(chatError('CANCELLED', 'The message was deleted before it was sent'));
        });
        footer.append(retry, discard);
      } else {
        const s = el('span', 'msg__status msg__status--pending', state === 'queued' && !this.joined ? 'Waiting for connection…' : 'Sending…');
        s.dataset.status = 'pending';
        footer.appendChild(s);
      }
    }

    /** Send one pending message now if joined; otherwise it goes out after the next join. */
    transmit(entry) {
      if (!this.joined || !this.socket || !this.socket.connected) {
        this.setPendingState(entry, 'queued');
        return;
      }
      this.setPendingState(entry, 'sending');
      const socket = this.socket;
      const payload = { orderId: this.orderId, message: entry.text, clientMessageId: entry.cid };
      socket.timeout(ACK_TIMEOUT_MS).emit('send-message', payload, (err, ack) => {
        if (!this.pending.has(entry.cid)) return; // already shown via new-message
        if (err) {
          // No answer: send again with the same clientMessageId (the server stores it once).
          this.setPendingState(entry, 'queued');
          if (this.joined && socket === this.socket && socket.connected) setTimeout(() => this.transmit(entry), 1000);
          return;
        }
        if (ack && ack.ok && ack.data) {
          this.ingest([ack.data]);
          if (this.pending.has(entry.cid)) { // ack without our clientMessageId: replace anyway
            this.pending.delete(entry.cid);
            entry.el.remove();
            if (entry.resolve) entry.resolve(ack.data);
          }
          this.markRead();
          return;
        }
        const code = (ack && ack.error && ack.error.code) || 'INTERNAL';
        const text = describeError(code, ack && ack.error && ack.error.message);
        if (code === 'ORDER_CLOSED') this.setOrderStatus(this.orderStatus && CLOSED_STATUSES.includes(this.orderStatus) ? this.orderStatus : 'completed');
        if (code === 'FORBIDDEN' || code === 'ORDER_NOT_FOUND') { this.fatal = code; this.updateComposer(); }
        this.fail(text, { soft: code !== 'FORBIDDEN' && code !== 'ORDER_NOT_FOUND' });
        this.setPendingState(entry, 'failed', code === 'RATE_LIMITED' ? 'Not sent (too fast)' : 'Not sent');
        if (entry.reject) entry.reject(chatError(code, text));
        entry.reject = null;
        entry.resolve = null;
      });
    }

    flushOutbox() {
      for (const entry of this.pending.values()) if (entry.state === 'queued') this.transmit(entry);
    }

    // ---- leaving -------------------------------------------------------------------------------

    /** Leave the order's chat and disconnect. Resolves once the server was told (or gave up). */
    leaveChat() {
      if (this.left) return Promise.resolve();
      this.left = true;
      this.stopTyping();
      this.clearTypers();
      const socket = this.socket;
      const wasJoined = this.joined;
      this.joined = false;
      this.setBanner('left');
      this.addNotice('You left the chat', 'self-left', this.userId || undefined);
      this.updateComposer();
      return new Promise((resolve) => {
        if (socket && socket.connected && wasJoined) {
          socket.timeout(2000).emit('leave-order-chat', this.orderId, () => resolve());
        } else {
          resolve();
        }
      }).then(() => {
        if (socket && this.left) socket.disconnect();
      });
    }

    /** Join again after leaveChat(). */
    rejoin() {
      if (!this.left || this.destroyed) return;
      this.left = false;
      this.clearError();
      this.updateComposer();
      this.setBanner('connecting');
      if (this.socket.connected) this.join(); else this.socket.connect();
    }

    /** Page unload: leave and close the connection right away. */
    destroy() {
      if (this.destroyed) return;
      this.destroyed = true;
      this.stopTyping();
      if (this.socket) {
        if (this.socket.connected && this.joined) this.socket.emit('leave-order-chat', this.orderId);
        this.socket.disconnect();
      }
      this.joined = false;
    }

    // ---- older history -------------------------------------------------------------------------

    async loadOlder() {
      if (this.loadingOlder || !this.hasMoreOlder || this.seqs.length === 0) return;
      this.loadingOlder = true;
      this.showHistoryState();
      const container = this.ui.container;
      try {
        const lowest = this.seqs[0];
        const data = await this.api(`/messages/${encodeURIComponent(this.orderId)}?before=${lowest}&limit=${PAGE_SIZE}`);
        const fromBottom = container.scrollHeight - container.scrollTop;
        this.ingest(data.messages || [], { prepend: true });
        this.hasMoreOlder = !!data.hasMore && (data.messages || []).length > 0;
        container.scrollTop = container.scrollHeight - fromBottom;
        this.refreshReceipts();
      } catch (e) {
        this.fail('Older messages could not be loaded. ' + describeError(e.code, e.message), { soft: true });
      } finally {
        this.loadingOlder = false;
        this.showHistoryState();
      }
      this.fillViewport();
    }

    /** When the list does not fill the screen yet, there is no scrolling: load older right away. */
    fillViewport() {
      const c = this.ui.container;
      if (this.hasMoreOlder && !this.loadingOlder && c.scrollHeight <= c.clientHeight + 8) this.loadOlder();
    }

    showHistoryState() {
      const { loadOlder, historyStatus, empty } = this.ui;
      const hasContent = this.seqs.length > 0 || this.pending.size > 0;
      if (loadOlder) loadOlder.hidden = !this.hasMoreOlder || this.loadingOlder;
      if (historyStatus) {
        let text = '';
        if (this.loadingOlder) text = 'Loading older messages…';
        else if (this.everJoined && !this.hasMoreOlder && this.seqs.length > 0) text = 'This is the beginning of the conversation.';
        historyStatus.textContent = text;
      }
      if (empty) empty.hidden = hasContent || !this.everJoined || !!this.fatal;
    }

    // ---- page ----------------------------------------------------------------------------------

    isAtBottom() {
      const c = this.ui.container;
      return c.scrollHeight - c.scrollTop - c.clientHeight < 48;
    }

    scrollToBottom() {
      const c = this.ui.container;
      c.scrollTop = c.scrollHeight;
      this.stick = true;
      if (this.ui.jump) this.ui.jump.hidden = true;
    }

    setBanner(state, text, action) {
      const { banner, bannerText, bannerAction } = this.ui;
      if (!banner) return;
      const defaults = {
        connecting: 'Connecting…',
        reconnecting: 'Connection lost. Reconnecting…',
        connected: 'Connected',
        left: 'You left the chat.',
        error: 'Cannot connect.',
      };
      banner.dataset.state = state;
      (bannerText || banner).textContent = text || defaults[state] || '';
      banner.classList.remove('banner--hidden');
      clearTimeout(this.bannerTimer);
      if (state === 'connected') {
        this.bannerTimer = setTimeout(() => banner.classList.add('banner--hidden'), 2500);
      }
      if (bannerAction) {
        const label = state === 'left' ? 'Rejoin' : action;
        bannerAction.hidden = !label;
        if (label) bannerAction.textContent = label;
      }
    }

    fail(text, opts = {}) {
      const { error, errorText, errorClose } = this.ui;
      if (!error) { console.warn('order-chat:', text); return; }
      (errorText || error).textContent = text;
      error.hidden = false;
      error.classList.toggle('alert--soft', !!opts.soft);
      if (errorClose) errorClose.hidden = !opts.soft;
    }

    clearError() {
      if (this.ui.error) this.ui.error.hidden = true;
    }

    updateComposer() {
      const { input, send } = this.ui;
      const reason = this.cannotSendReason();
      const disabled = !!reason;
      input.disabled = disabled;
      if (send) send.disabled = disabled;
      if (this.fatal === 'FORBIDDEN') input.placeholder = 'You are not a participant of this order';
      else if (this.fatal) input.placeholder = 'This chat is not available';
      else if (this.closed) input.placeholder = 'This order is closed';
      else if (this.left) input.placeholder = 'You left this chat';
      else input.placeholder = 'Type a message…';
      if (this.ui.leave) this.ui.leave.hidden = this.left || !!this.fatal;
      if (this.ui.form) this.ui.form.classList.toggle('composer--disabled', disabled);
      this.updateSendState();
    }

    updateSendState() {
      if (this.ui.send) this.ui.send.classList.toggle('composer__send--idle', this.ui.input.value.trim() === '');
    }

    renderHeader() {
      const { title, subtitle, status } = this.ui;
      if (title) title.textContent = this.orderNumber ? `Order ${this.orderNumber}` : 'Order chat';
      document.title = (this.orderNumber ? `Order ${this.orderNumber}` : 'Order chat') + ' · Chat';
      if (status) {
        status.hidden = !this.orderStatus;
        if (this.orderStatus) {
          const s = String(this.orderStatus);
          status.textContent = s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ');
          status.dataset.status = s;
        }
      }
      if (subtitle) {
        subtitle.textContent = '';
        const others = [...this.participants.values()].filter((p) => String(p.id) !== this.userId);
        if (!others.length) {
          subtitle.textContent = this.everJoined ? 'No one else is in this chat yet' : 'Loading conversation…';
          return;
        }
        others.forEach((p, i) => {
          if (i > 0) subtitle.append(', ');
          const span = el('span', 'person' + (p.online ? ' person--online' : ''));
          span.appendChild(el('span', 'person__dot'));
          span.append(p.name || p.id);
          if (ROLE_LABELS[p.type]) span.appendChild(el('span', 'visually-hidden', `, ${ROLE_LABELS[p.type].toLowerCase()}`));
          span.appendChild(el('span', 'person__state', p.online ? ' · online' : ' · offline'));
          subtitle.appendChild(span);
        });
      }
    }

    bindUi() {
      const { input, form, send, container, loadOlder, jump, leave, bannerAction, errorClose } = this.ui;
      const submit = () => {
        const text = input.value;
        if (!text.trim() || this.cannotSendReason()) return;
        input.value = '';
        this.autoGrow();
        this.updateSendState();
        this.sendMessage(text);
        input.focus();
      };
      if (form) form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
      else if (send) send.addEventListener('click', (e) => { e.preventDefault(); submit(); });
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
          e.preventDefault();
          submit();
        }
      });
      input.addEventListener('input', () => {
        this.autoGrow();
        this.updateSendState();
        this.noteTyping();
      });
      input.addEventListener('blur', () => this.stopTyping());
      container.addEventListener('scroll', () => {
        this.stick = this.isAtBottom();
        if (this.stick && jump) jump.hidden = true;
        if (container.scrollTop < 80) this.loadOlder();
      }, { passive: true });
      if (loadOlder) loadOlder.addEventListener('click', () => this.loadOlder());
      if (jump) jump.addEventListener('click', () => { this.scrollToBottom(); input.focus(); });
      if (leave) leave.addEventListener('click', () => this.leaveChat());
      if (bannerAction) bannerAction.addEventListener('click', () => {
        if (this.left) { this.rejoin(); return; }
        if (this.socket && !this.socket.connected) { this.setBanner('connecting'); this.socket.connect(); }
      });
      if (errorClose) errorClose.addEventListener('click', () => this.clearError());
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') this.markRead(); else this.stopTyping();
      });
      window.addEventListener('focus', () => this.markRead());
      this.onUnload = () => this.destroy();
      window.addEventListener('beforeunload', this.onUnload);
      window.addEventListener('pagehide', this.onUnload);
      // Back/forward cache: the connection was closed on pagehide, so start afresh.
      window.addEventListener('pageshow', (e) => { if (e.persisted && this.destroyed) window.location.reload(); });
    }

    autoGrow() {
      const input = this.ui.input;
      input.style.height = 'auto';
      input.style.height = Math.min(input.scrollHeight + 2, 160) + 'px';
    }
  }

  window.ChatClient = ChatClient;

  // chat.html starts the client for the order in its address; other pages create their own.
  function boot() {
    if (!document.body || !document.body.hasAttribute('data-chat-autostart')) return;
    const params = new URLSearchParams(window.location.search);
    window.chatClient = new ChatClient(params.get('orderId'), params.get('userId'));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
