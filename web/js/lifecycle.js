/*
 * The message lifecycle's words and small rules (PROTOCOL §10-11), without the DOM: reply
 * previews, the common reactions, whether a typed reaction is one emoji, who reacted in words,
 * and what an action's error means to the user. Node imports it too (tests/js/web/).
 */

/** The characters of a reply's preview (the server cuts exactly there, no ellipsis). */
export const PREVIEW_CHARS = 140;

/** The reactions the picker offers first; any other emoji can be typed. */
export const COMMON_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** The most bytes the server accepts for one emoji. */
export const MAX_EMOJI_BYTES = 32;

/** What the server puts in `replyTo.preview`: the first 140 characters (code points). */
export function previewOf(text) {
  return Array.from(String(text == null ? '' : text)).slice(0, PREVIEW_CHARS).join('');
}

/** The `replyTo` a reply shows once its original `m` is in this state (PROTOCOL §11). */
export function replyToOf(m, senderName) {
  const r = {
    id: String(m.id),
    seq: m.seq,
    senderId: String(m.senderId),
    senderName: senderName || (m.sender && m.sender.name) || String(m.senderId),
  };
  if (m.deleted) r.deleted = true;
  else { r.preview = previewOf(m.message); r.deleted = false; }
  return r;
}

const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** `text`, trimmed, when it is one emoji grapheme the server can take; else null. */
export function singleEmoji(text) {
  const s = String(text == null ? '' : text).trim();
  if (!s || new TextEncoder().encode(s).length > MAX_EMOJI_BYTES) return null;
  if (!PICTOGRAPHIC.test(s)) return null;
  if (typeof Intl !== 'undefined' && Intl.Segmenter) {
    const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)];
    if (graphemes.length !== 1) return null;
  }
  return s;
}

/** "Ada", "Ada and Tunde", "Ada, Tunde and Bola", "Ada, Tunde and 3 others". */
export function listNames(names, max = 8) {
  const list = names.slice(0, max);
  const rest = names.length - list.length;
  if (rest > 0) return `${list.join(', ')} and ${rest === 1 ? '1 other' : `${rest} others`}`;
  if (list.length <= 1) return list[0] || '';
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
}

/**
 * What a reaction chip says about itself: "Tunde Bello and you reacted with 👍". `names` lists the
 * reactors, "You" for the signed-in user.
 */
export function reactionSummary(emoji, names) {
  const shown = names.map((n, i) => (i > 0 && n === 'You' ? 'you' : n));
  return `${listNames(shown) || 'Someone'} reacted with ${emoji}`;
}

/** The sentence for an action's error (`action`: edit, delete, react, reply). */
export function actionErrorText(action, code, message) {
  switch (code) {
    case 'EDIT_WINDOW_PASSED':
      return 'This message can no longer be edited: the time for editing it has passed.';
    case 'DELETE_WINDOW_PASSED':
      return 'This message can no longer be deleted: the time for deleting it has passed.';
    case 'MESSAGE_NOT_FOUND':
      return 'This message no longer exists.';
    case 'FORBIDDEN':
      if (action === 'edit') return 'You can only edit your own messages.';
      if (action === 'delete') return 'You can only delete your own messages.';
      return 'You are not allowed to do that in this chat.';
    case 'LIMIT_EXCEEDED':
      return (message ? message.replace(/\.?$/, '. ') : '') + 'Remove one of the reactions first.';
    case 'VALIDATION':
      if (action === 'react') return 'That reaction was not accepted' + (message ? ': ' + message : '') + '.';
      if (action === 'edit') return 'The edit was not accepted' + (message ? ': ' + message : '') + '.';
      return 'That was not accepted' + (message ? ': ' + message : '') + '.';
    case 'ORDER_CLOSED':
      return 'This order is closed: its messages can no longer be changed.';
    case 'OFFLINE':
      return 'You are offline. Try again once the chat has reconnected.';
    case 'TIMEOUT':
      return 'The chat server did not answer in time. Please try again.';
    case 'RATE_LIMITED':
      return 'You are doing that too quickly. Please wait a moment and try again.';
    default:
      return message || 'Something went wrong. Please try again.';
  }
}

/** What to call the sender of a quoted message: "You" for the signed-in user. */
export function quoteName(replyTo, userId) {
  return userId != null && String(replyTo.senderId) === String(userId) ? 'You' : (replyTo.senderName || 'Someone');
}

/**
 * How the page draws `m` (render.js / bubble.js): own or not, its receipt, the quote's sender and
 * the reaction chips in words. `t` is the timeline.
 */
export function messageOptions(t, m) {
  const own = t.isOwn(m);
  return {
    own,
    receipt: own ? t.receipt(m) : null,
    quoteName: m.replyTo ? quoteName(m.replyTo, t.userId) : null,
    reactions: (m.reactions || []).map((r) => ({
      emoji: r.emoji,
      count: r.count,
      mine: t.hasReacted(m, r.emoji),
      label: reactionSummary(r.emoji, t.reactorNames(r)),
    })),
  };
}
