/*
 * The chat page's own events: scrolling (older history, the "new messages" button), the header
 * and banner buttons, tab visibility (read markers move only while the tab is visible), and
 * leaving when the page goes away.
 */

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
  if (leave) leave.addEventListener('click', () => chat.leaveChat());
  if (bannerAction) bannerAction.addEventListener('click', () => {
    if (chat.left) { chat.rejoin(); return; }
    if (chat.socket && !chat.socket.connected) { chat.setBanner('connecting'); chat.connection.reconnect(); }
  });
  if (errorClose) errorClose.addEventListener('click', () => chat.clearError());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') chat.markRead(); else chat.composer.stopTyping();
  });
  window.addEventListener('focus', () => chat.markRead());
  const onUnload = () => chat.destroy();
  window.addEventListener('beforeunload', onUnload);
  window.addEventListener('pagehide', onUnload);
  // Back/forward cache: the connection was closed on pagehide, so start afresh.
  window.addEventListener('pageshow', (e) => { if (e.persisted && chat.destroyed) window.location.reload(); });
}

/**
 * The header's way back to the inbox: /chat.html without an order, naming the user so that the
 * inbox picks this user's stored token when two users' chats are open in one browser.
 */
export function inboxHref(userId) {
  return '/chat.html' + (userId ? '?' + new URLSearchParams({ userId }) : '');
}
