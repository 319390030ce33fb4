/*
 * The full-size view of a photo: a modal dialog over the chat with the image, its name and a
 * close button. Esc, the close button or a click beside the image close it; focus goes back to
 * the thumbnail that opened it. One per page, built on first use.
 */
import { el } from './dom.js';

export class Lightbox {
  constructor(doc = document) {
    this.doc = doc;
    this.root = null;
    this.opener = null;
    this.onKey = (e) => { if (e.key === 'Escape') { e.preventDefault(); this.close(); } };
  }

  build() {
    const root = el('div', 'lightbox');
    root.id = 'lightbox';
    root.hidden = true;
    root.setAttribute('role', 'dialog');
    root.setAttribute('aria-modal', 'true');
    root.setAttribute('aria-label', 'Photo');
    const close = el('button', 'lightbox__close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close the photo');
    close.addEventListener('click', () => this.close());
    const img = el('img', 'lightbox__img');
    img.referrerPolicy = 'no-referrer';
    const caption = el('p', 'lightbox__caption');
    root.append(close, img, caption);
    root.addEventListener('click', (e) => { if (e.target === root) this.close(); });
    this.doc.body.appendChild(root);
    this.root = root;
    return root;
  }

  get isOpen() { return !!this.root && !this.root.hidden; }

  /** Show `url` full size; `opener` gets the focus back on close. */
  open(url, name, opener) {
    const root = this.root || this.build();
    const img = root.querySelector('.lightbox__img');
    img.alt = name || 'Photo';
    img.src = url;
    root.querySelector('.lightbox__caption').textContent = name || '';
    root.setAttribute('aria-label', name ? `Photo ${name}` : 'Photo');
    root.hidden = false;
    this.opener = opener || null;
    this.doc.addEventListener('keydown', this.onKey);
    root.querySelector('.lightbox__close').focus();
  }

  close() {
    if (!this.isOpen) return;
    this.root.hidden = true;
    this.root.querySelector('.lightbox__img').removeAttribute('src');
    this.doc.removeEventListener('keydown', this.onKey);
    if (this.opener && this.opener.isConnected) this.opener.focus();
    this.opener = null;
  }
}
