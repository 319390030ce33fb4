/*
 * Editing one's own message in place (PROTOCOL §11 `edit-message`): the bubble's text becomes a
 * text box; Enter saves, Shift+Enter is a new line, Esc cancels. The server's refusal (the edit
 * window passed, the order closed…) is shown in the editor and on the error line. The editor
 * survives the message being drawn again (a reaction arriving meanwhile) and closes when the
 * message is deleted.
 */
import { el } from './dom.js';
import { MAX_CHARS } from './format.js';

export class InlineEditor {
  /** @param {import('./actions.js').MessageActions} actions */
  constructor(actions) {
    this.actions = actions;
    this.chat = actions.chat;
    this.current = null; // {id, seq, original, box, input, error, save}
  }

  get openId() { return this.current ? this.current.id : null; }

  open(m) {
    if (this.current) {
      if (this.current.id === String(m.id)) { this.current.input.focus(); return; }
      this.close();
    }
    const node = this.chat.view.nodes.get(m.seq);
    if (!node || m.deleted) return;
    const box = el('div', 'msg__editor');
    const input = el('textarea', 'msg__edit-input');
    input.id = `edit-${m.seq}`;
    input.rows = 1;
    input.maxLength = MAX_CHARS;
    input.value = String(m.message || '');
    input.enterKeyHint = 'done';
    const label = el('label', 'visually-hidden', 'Edit your message');
    label.htmlFor = input.id;
    const hint = el('p', 'msg__edit-hint', 'Enter to save · Shift+Enter for a new line · Esc to cancel');
    hint.id = `edit-hint-${m.seq}`;
    input.setAttribute('aria-describedby', hint.id);
    const error = el('p', 'msg__edit-error');
    error.setAttribute('role', 'alert');
    error.hidden = true;
    const buttons = el('div', 'msg__edit-buttons');
    const cancel = el('button', 'msg__edit-button', 'Cancel');
    cancel.type = 'button';
    const save = el('button', 'msg__edit-button msg__edit-button--save', 'Save');
    save.type = 'button';
    buttons.append(cancel, save);
    box.append(label, input, error, hint, buttons);

    const c = {
      id: String(m.id), seq: m.seq, original: String(m.message || ''), box, input, error, save, saving: false,
      fromComposer: document.activeElement === this.chat.ui.input, // Arrow-up: Esc goes back there
    };
    this.current = c;
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); this.save(); }
      else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); this.cancel(); }
    });
    input.addEventListener('input', () => { this.grow(); error.hidden = true; });
    cancel.addEventListener('click', () => this.cancel());
    save.addEventListener('click', () => this.save());

    this.attach(node);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    this.grow();
  }

  /** Put the editor into the message's bubble, over its text. */
  attach(node) {
    const bubble = node.querySelector('.msg__bubble');
    if (!bubble) return;
    node.classList.add('msg--editing');
    bubble.insertBefore(this.current.box, bubble.querySelector('.msg__footer'));
  }

  grow() {
    const input = this.current && this.current.input;
    if (!input) return;
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 240) + 'px';
  }

  /** The message was drawn again: move the editor into the new element, or close it. */
  redrawn(m, node) {
    const c = this.current;
    if (!c || c.id !== String(m.id)) return;
    if (m.deleted) {
      this.close();
      this.chat.fail('This message was deleted while you were editing it.', { soft: true });
      return;
    }
    const focused = document.activeElement === c.input;
    const [start, end] = [c.input.selectionStart, c.input.selectionEnd];
    this.attach(node);
    if (focused) { c.input.focus(); c.input.setSelectionRange(start, end); }
  }

  showError(text) {
    const c = this.current;
    if (!c) return;
    c.error.textContent = text;
    c.error.hidden = false;
  }

  async save() {
    const c = this.current;
    if (!c || c.saving) return;
    const text = c.input.value.trim();
    if (text === c.original.trim()) { this.cancel(); return; }
    if (!text) { this.showError('A message cannot be empty. To remove it, delete it instead.'); return; }
    if ([...text].length > MAX_CHARS) { this.showError(`A message can have at most 4,000 characters; this one has ${[...text].length}.`); return; }
    c.saving = true;
    c.save.disabled = true;
    c.save.textContent = 'Saving…';
    try {
      const m = await this.actions.request('edit-message', { messageId: c.id, message: text }, 'edit');
      if (this.current === c) this.close();
      this.chat.applyChanges([m]);
      this.chat.ui.input.focus();
    } catch (e) {
      if (this.current === c) {
        c.saving = false;
        c.save.disabled = false;
        c.save.textContent = 'Save';
        this.showError(e.message);
        c.input.focus();
      }
      this.actions.report(e);
    }
  }

  /** Esc or Cancel: the text stays as it was; the focus goes back where the edit started. */
  cancel() {
    const c = this.current;
    if (!c) return;
    this.close();
    const node = this.chat.view.nodes.get(c.seq);
    const edit = node && node.querySelector('[data-action="edit"]');
    (c.fromComposer || !edit ? this.chat.ui.input : edit).focus();
  }

  close() {
    const c = this.current;
    if (!c) return;
    this.current = null;
    c.box.remove();
    const node = this.chat.view.nodes.get(c.seq);
    if (node) node.classList.remove('msg--editing');
  }
}
