/*
 * The element of one stored message: avatar, sender, bubble (text, image, time, receipt) and the
 * lifecycle's parts (PROTOCOL §11): the quote of the message a reply answers, "This message was
 * deleted", the "edited" marker, the reaction chips and the message's action buttons. Built from
 * text nodes and buttons, never HTML; the buttons carry `data-action`, and actions.js handles
 * their clicks for the whole list at once. render.js places the elements.
 */
import { el, renderText, timeElement, imageUrl, avatar } from './dom.js';
import { ROLE_LABELS } from './format.js';
import { attachmentsNode } from './attachment-view.js';
import { isOwnAttachmentUrl } from './attachment-model.js';

const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * The quote above a reply's bubble: who wrote the original and the start of its text. A button:
 * it scrolls to the original (`data-action="jump"`).
 * @param {{id, seq, senderName, preview?, deleted?}} r the message's `replyTo`
 * @param {string} name what to call the original's sender ("You" for the signed-in user)
 */
export function quoteNode(r, name) {
  const q = el('button', 'msg__quote' + (r.deleted ? ' msg__quote--deleted' : ''));
  q.type = 'button';
  q.dataset.action = 'jump';
  q.dataset.targetId = String(r.id);
  q.dataset.targetSeq = String(r.seq);
  const who = el('span', 'msg__quote-name', name || r.senderName || 'Someone');
  const text = el('span', 'msg__quote-text', r.deleted ? 'This message was deleted' : (r.preview || ''));
  q.append(who, text);
  const said = r.deleted ? 'a deleted message' : `"${r.preview || ''}"`;
  q.setAttribute('aria-label', `Reply to ${name || r.senderName || 'someone'}: ${said}. Show the original message`);
  q.title = 'Show the original message';
  return q;
}

/** The body of a tombstone. */
export function deletedNode() {
  const p = el('p', 'msg__deleted');
  p.append(el('span', 'msg__deleted-icon', '⊘'), ' ', 'This message was deleted');
  p.firstChild.setAttribute('aria-hidden', 'true');
  return p;
}

/** "edited" in the footer, with when as its title. */
export function editedNode(editedAt) {
  const s = el('span', 'msg__edited', 'edited');
  const d = new Date(editedAt);
  if (!Number.isNaN(d.getTime())) s.title = 'Edited ' + fullFmt.format(d);
  return s;
}

/**
 * The chips under the bubble: emoji and count, pressed when the signed-in user is among them.
 * Tapping one toggles the user's own reaction (`data-action="toggle-reaction"`).
 * @param {{emoji, count, mine, label}[]} chips `label` says who reacted
 */
export function reactionsNode(chips) {
  const row = el('div', 'msg__reactions');
  row.setAttribute('role', 'group');
  row.setAttribute('aria-label', 'Reactions');
  for (const c of chips) {
    const b = el('button', 'reaction' + (c.mine ? ' reaction--mine' : ''));
    b.type = 'button';
    b.dataset.action = 'toggle-reaction';
    b.dataset.emoji = c.emoji;
    b.setAttribute('aria-pressed', c.mine ? 'true' : 'false');
    const hint = c.mine ? ' (press to remove yours)' : ' (press to add yours)';
    b.title = c.label;
    b.setAttribute('aria-label', `${c.emoji} ${c.count}: ${c.label}${hint}`);
    b.append(el('span', 'reaction__emoji', c.emoji), el('span', 'reaction__count', String(c.count)));
    row.appendChild(b);
  }
  return row;
}

const ACTIONS = [
  { action: 'reply', icon: '↩', label: 'Reply' },
  { action: 'react', icon: '☺', label: 'Add a reaction' },
  { action: 'edit', icon: '✎', label: 'Edit', own: true },
  { action: 'delete', icon: '🗑', label: 'Delete', own: true },
];

/** The buttons of a message: reply and react for all, edit and delete for one's own. */
export function actionsNode(own) {
  const bar = el('div', 'msg__actions');
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', 'Message actions');
  for (const a of ACTIONS) {
    if (a.own && !own) continue;
    const b = el('button', 'msg__action msg__action--' + a.action);
    b.type = 'button';
    b.dataset.action = a.action;
    b.title = a.label;
    b.setAttribute('aria-label', a.label);
    if (a.action === 'react') b.setAttribute('aria-haspopup', 'dialog');
    const icon = el('span', 'msg__action-icon', a.icon);
    icon.setAttribute('aria-hidden', 'true');
    b.appendChild(icon);
    bar.appendChild(b);
  }
  return bar;
}

/**
 * @param {{own: boolean, receipt?: {state, readers}, canAct?: boolean, quoteName?: string,
 *   reactions?: {emoji, count, mine, label}[]}} o `canAct`: show the action buttons;
 *   `quoteName`: the quoted sender as shown; `reactions`: the chips, already worded
 */
export function messageNode(m, o) {
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

  const own = o.own;
  const node = el('article', 'msg ' + (own ? 'msg--own' : 'msg--other') + ' msg--' + senderType);
  node.dataset.seq = String(m.seq);
  node.dataset.id = String(m.id);
  node.dataset.senderId = String(m.senderId);
  node.dataset.senderType = senderType;
  if (!Number.isNaN(time)) node.dataset.time = String(time);
  if (typeof m.rev === 'number') node.dataset.rev = String(m.rev);
  if (m.deleted) { node.dataset.deleted = 'true'; node.classList.add('msg--deleted'); }
  if (m.editedAt && !m.deleted) node.dataset.edited = 'true';

  if (!own) node.appendChild(avatar(m.sender || { id: m.senderId, name }));

  const body = el('div', 'msg__body');
  const meta = el('div', 'msg__meta');
  meta.appendChild(el('span', 'msg__sender', own ? 'You' : name));
  if (!own && ROLE_LABELS[senderType]) meta.appendChild(el('span', 'msg__role msg__role--' + senderType, ROLE_LABELS[senderType]));
  body.appendChild(meta);
  if (m.replyTo && !m.deleted) body.appendChild(quoteNode(m.replyTo, o.quoteName));

  const bubble = el('div', 'msg__bubble');
  const text = String(m.message || '');
  if (m.deleted) {
    bubble.appendChild(deletedNode());
  } else if (text) {
    const p = el('p', 'msg__text');
    renderText(p, text);
    bubble.appendChild(p);
  }
  const files = m.deleted ? null : attachmentsNode(m.attachments, { onImageLoad: o.onImageLoad });
  if (files) bubble.appendChild(files); // §12: thumbnails, voice notes, file cards
  // An imageUrl that is one of the message's own attachments is shown once, as the attachment.
  const ownFile = files && isOwnAttachmentUrl(m.imageUrl);
  const src = m.deleted || ownFile ? null : imageUrl(m.imageUrl);
  if (src) {
    bubble.appendChild(imageNode(src, own ? 'you' : name, o.onImageLoad));
  } else if (m.imageUrl && !m.deleted && !ownFile) {
    bubble.appendChild(el('p', 'msg__note', 'An image was attached but it cannot be shown here.'));
  }
  const footer = el('div', 'msg__footer');
  if (m.editedAt && !m.deleted) footer.appendChild(editedNode(m.editedAt));
  footer.appendChild(timeElement(m.createdAt));
  if (own) footer.appendChild(el('span', 'msg__status'));
  bubble.appendChild(footer);
  body.appendChild(bubble);
  if (!m.deleted && o.reactions && o.reactions.length) body.appendChild(reactionsNode(o.reactions));
  if (!m.deleted && o.canAct !== false) body.appendChild(actionsNode(own));
  node.appendChild(body);
  if (own) setReceipt(node, o.receipt || { state: 'sent', readers: [] });
  return node;
}

function imageNode(src, from, onLoad) {
  const link = el('a', 'msg__image');
  link.href = src;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  const img = el('img');
  img.alt = `Image from ${from}`;
  img.loading = 'lazy';
  img.decoding = 'async';
  img.referrerPolicy = 'no-referrer';
  if (onLoad) img.addEventListener('load', onLoad);
  img.addEventListener('error', () => { link.classList.add('msg__image--broken'); img.alt = 'Image could not be loaded'; });
  img.src = src;
  link.appendChild(img);
  return link;
}

/** The words of a receipt: "Read by Tunde Bello", "Read", "Sent". */
export function receiptWords({ state, readers }) {
  if (state !== 'read') return 'Sent';
  return readers && readers.length ? 'Read by ' + readers.join(', ') : 'Read';
}

/**
 * ✓ or ✓✓ for the eye (aria-hidden), and the same in words for assistive technology (a
 * visually hidden span: an aria-label on a span without a role is not read out).
 */
export function setReceipt(node, receipt) {
  node.dataset.status = receipt.state;
  const status = node.querySelector('.msg__status');
  if (!status) return;
  status.dataset.status = receipt.state;
  const words = receiptWords(receipt);
  status.title = words;
  status.textContent = '';
  const icon = el('span', 'msg__status-icon', receipt.state === 'read' ? '✓✓' : '✓');
  icon.setAttribute('aria-hidden', 'true');
  status.append(icon, el('span', 'visually-hidden', words));
}
