/*
 * What the chat does with what the connection reports: the socket's lifecycle (banner texts,
 * re-joining) and the server's events (PROTOCOL §4, §11). Each handler checks the payload is for
 * this order, updates the timeline and asks the page to redraw.
 */
import { describeError } from './format.js';

const TYPING_SHOWN_MS = 3000; // someone else's indicator disappears after this without news

/** @param {import('./chat.js').ChatClient} chat */
export function connectionHooks(chat) {
  const again = () => chat.everJoined;
  return {
    wanted: () => !chat.left && !chat.destroyed && !chat.session.ended && !chat.isFinal(),
    connected: () => {
      chat.reached();
      chat.setBanner(again() ? 'reconnecting' : 'connecting', again() ? 'Reconnected. Catching up…' : 'Connected. Opening the conversation…');
      chat.join();
    },
    disconnected: (reason, byServer) => {
      chat.joined = false;
      chat.typers.clear();
      chat.composer.forgetTyping();
      for (const entry of chat.timeline.requeue()) chat.sender.show(entry);
      chat.renderHeader(); // nobody's presence is known while we are away
      if (chat.left || chat.destroyed || chat.session.ended || chat.isFinal()) return;
      chat.watchReachability();
      if (chat.unreachable) return; // the banner already says the server cannot be reached
      chat.setBanner('reconnecting', byServer ? 'Disconnected by the server. Reconnecting…' : undefined);
    },
    // The token was refused: a final state (chat.js), unless the app has a fresh token.
    refused: (_text, message) => { chat.refusedBy(message); },
    unavailable: (text) => { if (!chat.unreachable) chat.setBanner('error', text, 'Try again'); },
    trying: () => {
      if (chat.unreachable) return;
      chat.setBanner(again() ? 'reconnecting' : 'connecting', again() ? 'Connection lost. Reconnecting…' : 'Trying to reach the chat server…');
    },
    attempt: (n) => {
      if (chat.fatal || chat.unreachable) return;
      chat.setBanner('reconnecting', n > 1 ? `Connection lost. Reconnecting (attempt ${n})…` : undefined);
    },
    events: serverEvents(chat),
  };
}

/** Server event name -> handler. */
function serverEvents(chat) {
  const forOther = (p) => !!(p && p.orderId && String(p.orderId) !== chat.orderId);
  return {
    'connection-status': (p) => {
      if (!p || typeof p !== 'object') return;
      if (p.userId) {
        if (chat.userId && chat.userId !== String(p.userId)) {
          console.warn(`order-chat: the page was opened for ${chat.userId} but the token is ${p.userId}'s`);
        }
        chat.userId = String(p.userId);
      }
      if (p.userType) chat.userType = p.userType;
    },
    // The join's messages again (the ack has them too): after a re-join with sinceRev they are
    // changes, and old ones not loaded yet must not be put below the loaded range.
    'previous-messages': (list) => { if (Array.isArray(list)) chat.show(chat.timeline.ingest(list, { changes: true })); },
    'new-message': (m) => {
      if (!m || typeof m !== 'object' || forOther(m)) return;
      if (m.senderId != null) chat.typers.remove(String(m.senderId));
      const gap = chat.everJoined && chat.timeline.isGap(m);
      const revBefore = chat.timeline.rev; // what was missed lies between it and this message
      chat.ingest([m]);
      if (gap) chat.history.catchUp(revBefore);
      chat.markRead();
    },
    // An edit or a delete: the whole message in its new state, applied by rev (PROTOCOL §10).
    'message-updated': (m) => { if (m && typeof m === 'object' && !forOther(m)) chat.applyChanges([m]); },
    'message-deleted': (m) => { if (m && typeof m === 'object' && !forOther(m)) chat.applyChanges([m]); },
    'reaction-updated': (p) => { if (p && typeof p === 'object' && !forOther(p)) chat.applyReaction(p); },
    'user-typing': (p) => {
      if (!p || !p.user || p.user.id == null || forOther(p)) return;
      chat.typers.update(String(p.user.id), p.user.name, !!p.isTyping);
    },
    'user-joined': (p) => presence(chat, p, true),
    'user-left': (p) => presence(chat, p, false),
    'messages-read': (p) => {
      if (!p || forOther(p) || p.userId == null) return;
      chat.timeline.setRead(p.userId, p.lastReadSeq);
      if (String(p.userId) !== chat.userId) chat.refreshReceipts();
      else chat.reader.updateTitle(); // read in another tab
    },
    'order-updated': (p) => {
      if (!p || forOther(p)) return;
      if (p.orderNumber) chat.orderNumber = p.orderNumber;
      if (p.status) chat.setOrderStatus(p.status);
      const me = chat.userId;
      const member = !me || chat.userType === 'admin' || p.customerId === me ||
        (Array.isArray(p.agentIds) && p.agentIds.includes(me));
      if (p.customerId !== undefined && !member) {
        chat.setFatal('FORBIDDEN');
      } else if (chat.joined) {
        chat.join(); // refresh the participants (an agent may have been added)
      }
      chat.renderHeader();
    },
    // The session (PROTOCOL §15, session-keeper.js).
    'session-expiring': (p) => { chat.session.expiring(p); },
    'removed-from-order': (p) => { if (p && p.orderId != null && !forOther(p)) chat.session.removed(); },
    error: (p) => {
      if (!p || typeof p !== 'object' || forOther(p)) return;
      if (p.code === 'TOKEN_EXPIRED') { chat.session.expired(); return; }
      if (p.code === 'ORDER_CLOSED') { chat.markClosed(); return; }
      if (p.event === 'typing') return; // not worth bothering the user
      chat.fail(describeError(p.code, p.message), { soft: true });
    },
  };
}

function presence(chat, p, online) {
  if (!p || (p.orderId && String(p.orderId) !== chat.orderId)) return;
  const who = chat.timeline.presence(p, online);
  if (!who) return;
  if (!online) chat.typers.remove(who.id);
  chat.addNotice(online ? `${who.name} joined the chat` : `${who.name} left the chat`, online ? 'joined' : 'left', who.id, p.timestamp);
  chat.renderHeader();
}

/** Who else is typing: the timeline keeps the names, this the timers that expire them. */
export class Typers {
  constructor(chat) {
    this.chat = chat;
    this.timers = new Map(); // userId -> timer that hides their indicator
  }

  update(id, name, isTyping) {
    if (id === this.chat.userId) return;
    if (!isTyping) { this.remove(id); return; }
    clearTimeout(this.timers.get(id));
    this.timers.set(id, setTimeout(() => this.remove(id), TYPING_SHOWN_MS));
    this.chat.timeline.setTyping(id, name, true);
    this.render();
  }

  remove(id) {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.chat.timeline.setTyping(id, null, false);
    this.render();
  }

  clear() {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.chat.timeline.clearTyping();
    this.render();
  }

  render() {
    const text = this.chat.timeline.typingText();
    this.chat.view.renderTyping(text);
    // Said in words once per change ("Ada is typing…"), not at every refresh of it.
    if (text && text !== this.said) this.chat.announcer.say(text);
    this.said = text;
  }
}
