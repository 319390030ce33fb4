/*
 * The reaction picker (PROTOCOL §11 `add-reaction` / `remove-reaction`): a small popup next to a
 * message's react button with the common emoji and a box for any other one. Keyboard: it takes
 * the focus, arrow keys move between the emoji, Esc closes it and gives the focus back. Picking
 * an emoji the user already put on the message takes it away again, like tapping its chip.
 */
import { el } from './dom.js';
import { COMMON_EMOJI, singleEmoji } from './lifecycle.js';

export class ReactionPicker {
  /** @param {import('./actions.js').MessageActions} actions */
  constructor(actions) {
    this.actions = actions;
    this.chat = actions.chat;
    this.node = null;
    this.target = null; // {id, seq} of the message
    this.onOutside = (e) => { if (this.node && !this.node.contains(e.target) && !this.isTrigger(e.target)) this.close(false); };
    this.onMove = () => this.position();
  }

  get isOpen() { return !!(this.node && !this.node.hidden); }

  build() {
    const box = el('div', 'picker');
    box.id = 'reaction-picker';
    box.hidden = true;
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-label', 'Add a reaction');
    const row = el('div', 'picker__common');
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', 'Common reactions');
    for (const emoji of COMMON_EMOJI) {
      const b = el('button', 'picker__emoji', emoji);
      b.type = 'button';
      b.dataset.emoji = emoji;
      row.appendChild(b);
    }
    const form = el('form', 'picker__other');
    form.noValidate = true;
    const input = el('input', 'picker__input');
    input.id = 'reaction-input';
    input.type = 'text';
    input.autocomplete = 'off';
    input.maxLength = 16;
    input.placeholder = 'Any emoji';
    input.enterKeyHint = 'send';
    const label = el('label', 'visually-hidden', 'Another emoji');
    label.htmlFor = input.id;
    const add = el('button', 'picker__add', 'Add');
    add.type = 'submit';
    form.append(label, input, add);
    const error = el('p', 'picker__error');
    error.setAttribute('role', 'alert');
    error.hidden = true;
    box.append(row, form, error);

    row.addEventListener('click', (e) => {
      const b = e.target.closest('[data-emoji]');
      if (b) this.choose(b.dataset.emoji);
    });
    row.addEventListener('keydown', (e) => this.arrows(e, row));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const emoji = singleEmoji(input.value);
      if (!emoji) {
        error.textContent = 'Type or paste one emoji, like 🎉';
        error.hidden = false;
        input.focus();
        return;
      }
      this.choose(emoji);
    });
    input.addEventListener('input', () => { error.hidden = true; });
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); this.close(true); }
    });
    document.body.appendChild(box);
    this.node = box;
    this.input = input;
    this.error = error;
    return box;
  }

  /** Left/Right/Home/End between the common emoji. */
  arrows(e, row) {
    const buttons = [...row.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    buttons[(to + buttons.length) % buttons.length].focus();
  }

  open(trigger, m) {
    if (this.isOpen && this.target && this.target.id === String(m.id)) { this.close(true); return; }
    if (this.isOpen) this.close(false);
    const box = this.node || this.build();
    this.target = { id: String(m.id), seq: m.seq };
    for (const b of box.querySelectorAll('.picker__emoji')) {
      const mine = this.chat.timeline.hasReacted(m, b.dataset.emoji);
      b.setAttribute('aria-pressed', mine ? 'true' : 'false');
      b.setAttribute('aria-label', mine ? `Remove your ${b.dataset.emoji}` : `React with ${b.dataset.emoji}`);
      b.title = b.getAttribute('aria-label');
    }
    this.input.value = '';
    this.error.hidden = true;
    box.hidden = false;
    trigger.setAttribute('aria-expanded', 'true');
    this.position();
    box.querySelector('.picker__emoji').focus();
    document.addEventListener('pointerdown', this.onOutside, true);
    this.chat.ui.container.addEventListener('scroll', this.onMove, { passive: true });
    window.addEventListener('resize', this.onMove);
  }

  /** The react button of the target message (it is a new element after each redraw). */
  trigger() {
    const node = this.target && this.chat.view.nodes.get(this.target.seq);
    return node ? node.querySelector('[data-action="react"]') : null;
  }

  isTrigger(target) {
    const t = this.trigger();
    return !!(t && t.contains(target));
  }

  /** Above the react button when there is room, else below; always on screen. */
  position() {
    if (!this.isOpen) return;
    const t = this.trigger();
    if (!t) { this.close(false); return; }
    const r = t.getBoundingClientRect();
    const box = this.node;
    const w = box.offsetWidth;
    const h = box.offsetHeight;
    const margin = 8;
    let top = r.top - h - 6;
    if (top < margin) top = r.bottom + 6;
    top = Math.max(margin, Math.min(top, window.innerHeight - h - margin));
    let left = r.left + r.width / 2 - w / 2;
    left = Math.max(margin, Math.min(left, window.innerWidth - w - margin));
    box.style.top = `${Math.round(top)}px`;
    box.style.left = `${Math.round(left)}px`;
  }

  /** The message changed: a tombstone takes no reactions; otherwise stay where its button is. */
  redrawn(m) {
    if (!this.isOpen || !this.target || this.target.id !== String(m.id)) return;
    if (m.deleted) { this.close(false); return; }
    const t = this.trigger();
    if (t) t.setAttribute('aria-expanded', 'true');
    this.position();
  }

  choose(emoji) {
    const m = this.target && this.chat.timeline.get(this.target.id);
    this.close(true);
    if (m) this.actions.toggleReaction(m, emoji);
  }

  close(returnFocus) {
    if (!this.node) return;
    const t = this.trigger();
    this.node.hidden = true;
    this.target = null;
    document.removeEventListener('pointerdown', this.onOutside, true);
    this.chat.ui.container.removeEventListener('scroll', this.onMove);
    window.removeEventListener('resize', this.onMove);
    if (t) {
      t.setAttribute('aria-expanded', 'false');
      if (returnFocus) t.focus();
    }
  }
}
