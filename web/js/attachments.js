/*
 * Attaching files (PROTOCOL §12): the attach button, drag-and-drop onto the chat and pasted
 * images put files in a tray above the input, each uploaded at once with its progress (a
 * preview for photos); refused files say why (too big, wrong type, what the server said) and
 * can be removed. The composer then sends the uploaded ones with the message
 * (`attachmentIds`). Clicking a photo in a bubble opens it full size (lightbox.js); voice notes
 * are recorded by voice.js into the same tray.
 */
import { el } from './dom.js';
import { Lightbox } from './lightbox.js';
import { ACCEPT, MAX_FILES, checkFile, formatSize, isPreviewableImage, uploadRefusal } from './attachment-model.js';

let nextKey = 1;

export class AttachmentTray {
  /**
   * @param {import('./chat.js').ChatClient} chat
   * @param {{form, input, container}} ui the composer's form and input, the message list
   */
  constructor(chat, ui, doc = document) {
    this.chat = chat;
    this.ui = ui;
    this.doc = doc;
    this.items = [];
    this.lightbox = new Lightbox(doc);
    this.build();
    this.bind();
  }

  build() {
    const { form, input } = this.ui;
    this.fileInput = el('input', 'visually-hidden');
    this.fileInput.type = 'file';
    this.fileInput.id = 'file-input';
    this.fileInput.multiple = true;
    this.fileInput.accept = ACCEPT;
    this.fileInput.tabIndex = -1;
    this.fileInput.setAttribute('aria-hidden', 'true');
    this.button = el('button', 'composer__attach');
    this.button.type = 'button';
    this.button.id = 'attach-button';
    this.button.title = 'Attach a photo or file';
    this.button.setAttribute('aria-label', 'Attach a photo or file');
    this.button.textContent = '📎';
    this.tray = el('ul', 'attach-tray');
    this.tray.id = 'attachment-tray';
    this.tray.hidden = true;
    this.tray.setAttribute('aria-label', 'Files to send');
    this.tray.setAttribute('aria-live', 'polite');
    form.insertBefore(this.tray, form.firstChild);
    form.insertBefore(this.button, input);
    form.appendChild(this.fileInput);
  }

  bind() {
    this.button.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = '';
    });
    this.ui.input.addEventListener('paste', (e) => {
      const files = [...((e.clipboardData && e.clipboardData.files) || [])];
      if (files.length) { e.preventDefault(); this.addFiles(files); }
    });
    const zone = this.ui.dropZone || this.ui.container;
    zone.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      zone.classList.add('is-drop-target');
    });
    zone.addEventListener('dragleave', (e) => { if (e.target === zone) zone.classList.remove('is-drop-target'); });
    zone.addEventListener('drop', (e) => {
      zone.classList.remove('is-drop-target');
      if (!hasFiles(e)) return;
      e.preventDefault();
      this.addFiles([...e.dataTransfer.files]);
    });
    // A photo in a bubble opens full size.
    this.ui.container.addEventListener('click', (e) => {
      const thumb = e.target.closest && e.target.closest('[data-action="open-image"]');
      if (!thumb) return;
      e.preventDefault();
      this.lightbox.open(thumb.dataset.full, thumb.dataset.name, thumb);
    });
  }

  /** Put files in the tray and upload each (refused ones stay, saying why). */
  addFiles(files) {
    const blocked = this.chat.cannotSendReason();
    if (blocked) { this.chat.fail(blocked.text, { soft: true }); return; }
    for (const file of files) {
      if (this.items.length >= MAX_FILES) {
        this.chat.fail(`At most ${MAX_FILES} files can go with one message.`, { soft: true });
        break;
      }
      const item = { key: nextKey++, file, state: 'uploading', progress: 0, attachment: null, error: null };
      this.items.push(item);
      item.node = this.itemNode(item);
      this.tray.appendChild(item.node);
      const refusal = checkFile(file);
      if (refusal) this.setError(item, refusal);
      else this.upload(item);
    }
    this.refresh();
  }

  itemNode(item) {
    const li = el('li', 'attach-item');
    li.dataset.state = item.state;
    if (isPreviewableImage(item.file) && typeof URL.createObjectURL === 'function') {
      const img = el('img', 'attach-item__preview');
      img.alt = '';
      item.preview = URL.createObjectURL(item.file);
      // Not a picture after all (the server will say so): an icon instead of a broken image.
      img.addEventListener('error', () => img.replaceWith(el('span', 'attach-item__icon', '📄')));
      img.src = item.preview;
      li.appendChild(img);
    } else {
      li.appendChild(el('span', 'attach-item__icon', item.file.type && item.file.type.startsWith('audio/') ? '🎤' : '📄'));
    }
    const text = el('div', 'attach-item__text');
    text.append(el('span', 'attach-item__name', item.file.name || 'file'),
      el('span', 'attach-item__meta', formatSize(item.file.size)));
    const bar = el('progress', 'attach-item__progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', `Uploading ${item.file.name || 'file'}`);
    text.appendChild(bar);
    const error = el('p', 'attach-item__error');
    error.setAttribute('role', 'alert');
    error.hidden = true;
    text.appendChild(error);
    const remove = el('button', 'attach-item__remove', '×');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Remove ${item.file.name || 'file'}`);
    remove.addEventListener('click', () => this.remove(item));
    li.append(text, remove);
    return li;
  }

  upload(item) {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open('POST', `/api/v0/chat/orders/${encodeURIComponent(this.chat.orderId)}/attachments`);
    const token = this.chat.currentToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${String(token).replace(/^Bearer\s+/i, '')}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      item.progress = Math.round((e.loaded / e.total) * 100);
      item.node.querySelector('.attach-item__progress').value = item.progress;
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 201 && body && body.data) {
        item.attachment = body.data;
        item.state = 'ready';
        item.node.dataset.state = 'ready';
        item.node.querySelector('.attach-item__progress').value = 100;
        item.node.querySelector('.attach-item__meta').textContent = formatSize(body.data.size) + ' · ready';
      } else {
        this.setError(item, uploadRefusal(item.file.name || 'The file', xhr.status, body));
      }
      this.refresh();
    });
    xhr.addEventListener('error', () => { this.setError(item, uploadRefusal(item.file.name || 'The file', 0, null)); this.refresh(); });
    const form = new FormData();
    form.append('file', item.file, item.file.name || 'file');
    xhr.send(form);
  }

  setError(item, text) {
    item.state = 'error';
    item.error = text;
    item.node.dataset.state = 'error';
    const p = item.node.querySelector('.attach-item__error');
    p.textContent = text;
    p.hidden = false;
    item.node.querySelector('.attach-item__progress').hidden = true;
  }

  remove(item) {
    if (item.xhr && item.state === 'uploading') item.xhr.abort();
    if (item.preview) URL.revokeObjectURL(item.preview);
    item.node.remove();
    this.items = this.items.filter((i) => i !== item);
    this.refresh();
  }

  refresh() {
    this.tray.hidden = this.items.length === 0;
    this.chat.composer.updateSendState && this.chat.composer.updateSendState();
  }

  /** Uploaded files wait to be sent. */
  hasReady() { return this.items.some((i) => i.state === 'ready'); }

  get uploading() { return this.items.some((i) => i.state === 'uploading'); }

  /** May the message go now? Not while files still upload (the reason is said). */
  readyToSend() {
    if (!this.uploading) return true;
    this.chat.fail('Wait until your files have uploaded, then send.', { soft: true });
    return false;
  }

  /** The uploaded attachments for the message being sent, taken out of the tray (refused ones
   * stay until removed). */
  take() {
    const ready = this.items.filter((i) => i.state === 'ready');
    for (const i of ready) this.remove(i);
    return ready.map((i) => i.attachment);
  }
}

function hasFiles(e) {
  const types = e.dataTransfer && e.dataTransfer.types;
  return !!types && [...types].includes('Files');
}
