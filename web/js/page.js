/*
 * The chat page's own events: scrolling (older history, the "new messages" button), the header
 * and banner buttons, the search box, the draft kept over a reload, and leaving when the page
 * goes away; and starting the page (the chat or the inbox).
 */
import { startInbox } from './inbox.js';
import { parseJump } from './search-model.js';
import { SearchBox } from './search.js';
import { draftToKeep } from './availability.js';
import { NotifyBell } from './notify.js';

/** @param {import('./chat.js').ChatClient} chat */
export function bindChatPage(chat) {
  const { input, container, loadOlder, jump, leave, bannerAction, errorClose } = chat.ui;
  const view = chat.view;
  container.addEventListener('scroll', () => {
    view.stick = view.isAtBottom();
    if (view.stick && jump) jump.hidden = true;
    if (container.scrollTop < 80) chat.history.loadOlder();
  }, { passive: true });
  if (loadOlder) loadOlder.addEventListener('click', () => chat.history.loadOlder());
  if (jump) jump.addEventListener('click', () => { view.scrollToBottom(); input.focus(); });
  if (leave) leave.addEventListener('click', () => chat.leaveDialog.open(() => chat.leaveChat()));
  if (bannerAction) bannerAction.addEventListener('click', () => {
    if (chat.session.wantsReload()) { window.location.reload(); return; }
    if (chat.left) { chat.rejoin(); return; }
    if (chat.socket && !chat.socket.connected) { chat.setBanner('connecting'); chat.connection.reconnect(); }
  });
  if (errorClose) errorClose.addEventListener('click', () => chat.clearError());
  // Read markers follow the tab's visibility and focus in reader.js.
  document.addEventListener('visibilitychange', () => { if (document.visibilityState !== 'visible') chat.composer.stopTyping(); });
  keepDraft(chat);
  const onUnload = () => chat.destroy();
  window.addEventListener('beforeunload', onUnload);
  window.addEventListener('pagehide', onUnload);
  // Back/forward cache: the connection was closed on pagehide, so start afresh.
  window.addEventListener('pageshow', (e) => { if (e.persisted && chat.destroyed) window.location.reload(); });
  chat.search = chatSearch(chat);
  chat.bell = chatBell(chat);
}

/** The notification bell (notify.js) in the chat's header, before Leave; none without an order. */
export function chatBell(chat) {
  const header = document.querySelector('#chat-view .chat-header');
  if (!header || !chat.orderId.trim()) return null;
  return new NotifyBell({
    header,
    before: chat.ui.leave,
    orderId: () => chat.orderId,
    api: (path, init) => chat.api(path, init),
    say: (text) => chat.announcer.say(text),
  });
}

/**
 * The header's way back to the inbox: /chat.html without an order, naming the user so that the
 * inbox picks this user's stored token when two users' chats are open in one browser.
 */
export function inboxHref(userId) {
  return '/chat.html' + (userId ? '?' + new URLSearchParams({ userId }) : '');
}

/**
 * What is typed but not sent survives a reload of this tab (sessionStorage, per order): the
 * way out of an expired session is a reload.
 */
function keepDraft(chat) {
  const key = 'order-chat-draft:' + chat.orderId;
  const input = chat.ui.input;
  try {
    const draft = window.sessionStorage.getItem(key);
    if (draft && !input.value) input.value = draft;
    window.sessionStorage.removeItem(key);
  } catch (_) { /* storage disabled */ }
  window.addEventListener('pagehide', () => {
    // The composer's text and every send that never went out (or failed): nothing typed is lost.
    const keep = draftToKeep(input.value, chat.timeline.pending.values());
    try { if (keep) window.sessionStorage.setItem(key, keep); } catch (_) { /* no storage */ }
  });
}

/**
 * chat.html starts the client for the order in its address (or, without one, the inbox); other
 * pages create their own.
 */
export function bootPage(ChatClient) {
  const boot = () => {
    if (!document.body || !document.body.hasAttribute('data-chat-autostart')) return;
    const params = new URLSearchParams(window.location.search);
    if (!params.get('orderId') && document.getElementById('inbox')) {
      window.chatInbox = startInbox(params.get('userId'));
      return;
    }
    window.chatClient = new ChatClient(params.get('orderId'), params.get('userId'));
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
}

/**
 * The search box in the chat's header (search.js): this chat by default; a result of this chat
 * scrolls to its message (loading older pages as needed), one of another chat opens that chat.
 */
export function chatSearch(chat) {
  const header = document.querySelector('#chat-view .chat-header') || (chat.ui.title && chat.ui.title.closest('header'));
  if (!header) return null;
  const box = new SearchBox({
    mode: 'chat',
    header,
    toggleBefore: chat.ui.leave,
    api: (path) => chat.api(path),
    userId: () => chat.userId,
    orderId: () => chat.orderId,
    choose: (row, e) => {
      if (row.orderId !== chat.orderId || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // the link opens it
      e.preventDefault();
      box.close(false);
      chat.actions.jumpTo(row.seq, row.messageId, { notFound: 'This message is no longer in this chat.' });
    },
  });
  return box;
}

/**
 * After the first join: scroll to the message the address names (`#seq=…&message=…`), once.
 * Returns whether it did.
 */
export function openAddressedMessage(chat) {
  const target = parseJump(window.location.hash);
  if (!target) return false;
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  chat.actions.jumpTo(target.seq, target.id, { notFound: 'The message this link points to is no longer in this chat.' });
  return true;
}
