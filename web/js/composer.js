/*
 * The message input: Enter sends (Shift+Enter is a new line), the box grows with its text, and
 * keystrokes become typing notifications (isTyping:true at most every 2 s while typing, false
 * after 3 s without a keystroke, on blur and when sending). Above it, the quote of the message
 * being replied to (× or Esc cancels); Arrow-up in the empty box edits the last own message.
 */
import { el } from './dom.js';
import { composerState } from './format.js';

const TYPING_IDLE_MS = 3000; // we send isTyping:false after this long without a keystroke
const TYPING_REFRESH_MS = 2000; // while typing we repeat isTyping:true this often

export class Composer {
  /**
   * @param {{input, send, form}} ui
   * @param {{submit(text), canSend(): boolean, mayType(): boolean, emitTyping(isTyping),
   *   editLast?(): boolean, cancelReply?()}} hooks
   *   `submit` sends the text (when `canSend`); `mayType` says whether typing may be announced
   *   now; `emitTyping` tells the room; `editLast` opens the editor on the last own message
   *   (Arrow-up in the empty box; true when it did); `cancelReply` drops the reply quote.
   */
  constructor(ui, hooks) {
    this.ui = ui;
    this.hooks = hooks;
    this.typingSent = false;
    this.typingSentAt = 0;
    this.idleTimer = null;
    this.replyBar = null;
    this.counter = null; // "120 characters left" near the limit
    this.note = null; // "Not sent: …" under a disabled composer with a draft
    this.enabled = true;
    this.bind();
  }

  bind() {
    const { input, form, send } = this.ui;
    if (form) form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    else if (send) send.addEventListener('click', (e) => { e.preventDefault(); this.submit(); });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      } else if (e.key === 'ArrowUp' && input.value === '' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
        if (this.hooks.editLast && this.hooks.editLast()) e.preventDefault();
      } else if (e.key === 'Escape' && this.replyBar && !this.replyBar.hidden && this.hooks.cancelReply) {
        e.preventDefault();
        this.hooks.cancelReply();
      }
    });
    input.addEventListener('input', () => {
      this.autoGrow();
      this.updateSendState();
      this.noteTyping();
    });
    input.addEventListener('blur', () => this.stopTyping());
  }

  submit() {
    const input = this.ui.input;
    const text = input.value;
    const state = composerState(text);
    // Files ready in the tray may go without text (PROTOCOL §12); `takeFiles` refuses while
    // some still upload, before the text is taken.
    const files = this.hooks.hasFiles ? this.hooks.hasFiles() : false;
    if ((state.blank && !files) || !this.hooks.canSend()) return;
    if (this.hooks.filesReady && !this.hooks.filesReady()) return;
    if (state.over) { this.showCounter(state); input.focus(); return; } // the counter says why; the text stays
    input.value = '';
    this.autoGrow();
    this.updateSendState();
    this.hooks.submit(text);
    input.focus();
  }

  /**
   * Show the quote of the message being replied to above the input (`quote`: its `replyTo`,
   * `name`: its sender as shown), or hide it (null).
   */
  setReply(quote, name) {
    if (!quote) {
      if (this.replyBar) this.replyBar.hidden = true;
      return;
    }
    const bar = this.replyBar || this.buildReplyBar();
    bar.querySelector('.reply-preview__name').textContent = name || quote.senderName || 'Someone';
    bar.querySelector('.reply-preview__text').textContent = quote.deleted ? 'This message was deleted' : (quote.preview || '');
    bar.hidden = false;
  }

  buildReplyBar() {
    const bar = el('div', 'reply-preview');
    bar.id = 'reply-preview';
    bar.setAttribute('role', 'status');
    const quote = el('div', 'reply-preview__quote');
    const label = el('span', 'reply-preview__label', 'Replying to ');
    label.appendChild(el('span', 'reply-preview__name'));
    quote.append(label, el('span', 'reply-preview__text'));
    const cancel = el('button', 'reply-preview__cancel', '×');
    cancel.type = 'button';
    cancel.id = 'reply-cancel';
    cancel.title = 'Cancel the reply';
    cancel.setAttribute('aria-label', 'Cancel the reply');
    cancel.addEventListener('click', () => { if (this.hooks.cancelReply) this.hooks.cancelReply(); this.ui.input.focus(); });
    bar.append(quote, cancel);
    const { form, input } = this.ui;
    (form || input.parentNode).insertBefore(bar, form ? form.firstChild : input);
    this.replyBar = bar;
    return bar;
  }

  /** Called on every keystroke in the input. */
  noteTyping() {
    if (!this.hooks.mayType()) return;
    if (this.ui.input.value.trim() === '') { this.stopTyping(); return; }
    const now = Date.now();
    if (!this.typingSent || now - this.typingSentAt >= TYPING_REFRESH_MS) {
      this.hooks.emitTyping(true);
      this.typingSent = true;
      this.typingSentAt = now;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.typingSent) return;
    this.typingSent = false;
    this.hooks.emitTyping(false);
  }

  /** The connection dropped: the server forgot our typing state, and so do we. */
  forgetTyping() {
    this.typingSent = false;
    clearTimeout(this.idleTimer);
  }

  /**
   * The line under the composer about its text (availability.js draftNote: a draft left in a
   * disabled composer was not sent), or hidden for ''.
   */
  setNote(text) {
    if (!this.note) {
      if (!text) return;
      const n = el('p', 'composer__note');
      n.id = 'composer-note';
      n.setAttribute('role', 'status');
      const { form, input } = this.ui;
      (form || input.parentNode).appendChild(n);
      input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), n.id].filter(Boolean).join(' '));
      this.note = n;
    }
    this.note.hidden = !text;
    if (this.note.textContent !== text) this.note.textContent = text;
  }

  /** Enable or disable the input; `placeholder` says why it is disabled (or invites typing). */
  setEnabled(enabled, placeholder) {
    const { input, send, form } = this.ui;
    this.enabled = !!enabled;
    input.disabled = !enabled;
    input.placeholder = placeholder;
    if (form) form.classList.toggle('composer--disabled', !enabled);
    this.updateSendState();
  }

  /** The send button: disabled for blank text, too long a text, or a disabled composer. */
  updateSendState() {
    const { send, input } = this.ui;
    const s = composerState(input.value);
    if (send) {
      const files = this.hooks.hasFiles ? this.hooks.hasFiles() : false;
      send.classList.toggle('composer__send--idle', s.blank && !files);
      send.disabled = !this.enabled || (s.blank && !files) || s.over;
    }
    this.showCounter(s);
  }

  /** The characters left (or too many) once the limit nears; hidden otherwise. */
  showCounter(s) {
    if (!this.counter) {
      if (!s.counter) return;
      const c = el('p', 'composer__counter');
      c.id = 'composer-counter';
      c.setAttribute('aria-live', 'polite');
      const { form, input } = this.ui;
      (form || input.parentNode).appendChild(c);
      input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), c.id].filter(Boolean).join(' '));
      this.counter = c;
    }
    const c = this.counter;
    c.hidden = !s.counter;
    if (c.textContent !== s.counter) c.textContent = s.counter;
    c.classList.toggle('composer__counter--over', s.over);
    this.ui.input.setAttribute('aria-invalid', s.over ? 'true' : 'false');
  }

  autoGrow() {
    const input = this.ui.input;
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 160) + 'px';
  }
}
