/*
 * Voice notes (PROTOCOL §12): hold nothing, tap the microphone to record (the browser's
 * MediaRecorder), tap again to stop; the recording goes into the attachment tray like any file
 * (uploaded at once, sent with the next message, played in the bubble with its duration).
 * Hidden where the browser cannot record.
 */
import { el } from './dom.js';
import { formatDuration } from './attachment-model.js';

/** Containers the server accepts, in the order browsers record them best. */
const TYPES = [
  ['audio/webm;codecs=opus', 'webm'],
  ['audio/ogg;codecs=opus', 'ogg'],
  ['audio/mp4', 'm4a'],
  ['audio/webm', 'webm'],
];

/** The first type this browser records, or null. */
export function recordingType(MR = globalThis.MediaRecorder) {
  if (!MR || typeof MR.isTypeSupported !== 'function') return null;
  const found = TYPES.find(([t]) => MR.isTypeSupported(t));
  return found ? { mimeType: found[0], ext: found[1] } : null;
}

export class VoiceRecorder {
  constructor(chat, tray) {
    this.chat = chat;
    this.tray = tray;
    this.recorder = null;
    this.type = recordingType();
    if (!this.type || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    const b = el('button', 'composer__record');
    b.type = 'button';
    b.id = 'record-button';
    b.textContent = '🎤';
    b.title = 'Record a voice note';
    b.setAttribute('aria-label', 'Record a voice note');
    b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', () => (this.recorder ? this.stop() : this.start()));
    this.timer = el('span', 'composer__recording');
    this.timer.hidden = true;
    this.timer.setAttribute('aria-live', 'polite');
    tray.button.after(b, this.timer);
    this.button = b;
  }

  async start() {
    const blocked = this.chat.cannotSendReason();
    if (blocked) { this.chat.fail(blocked.text, { soft: true }); return; }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (_) {
      this.chat.fail('The microphone is not available: allow it in the browser to record a voice note.', { soft: true });
      return;
    }
    const chunks = [];
    const rec = new MediaRecorder(stream, { mimeType: this.type.mimeType });
    rec.addEventListener('dataavailable', (e) => { if (e.data && e.data.size) chunks.push(e.data); });
    rec.addEventListener('stop', () => {
      for (const t of stream.getTracks()) t.stop();
      const blob = new Blob(chunks, { type: this.type.mimeType.split(';')[0] });
      if (blob.size) {
        const name = `voice-note-${new Date().toISOString().slice(11, 19).replace(/:/g, '')}.${this.type.ext}`;
        this.tray.addFiles([new File([blob], name, { type: blob.type })]);
      }
    });
    this.startedAt = Date.now();
    rec.start(250);
    this.recorder = rec;
    this.button.classList.add('is-recording');
    this.button.setAttribute('aria-pressed', 'true');
    this.button.setAttribute('aria-label', 'Stop recording');
    this.timer.hidden = false;
    this.tick = setInterval(() => { this.timer.textContent = `Recording ${formatDuration(Date.now() - this.startedAt)}`; }, 250);
    this.timer.textContent = 'Recording 0:00';
  }

  stop() {
    const rec = this.recorder;
    if (!rec) return;
    this.recorder = null;
    clearInterval(this.tick);
    this.timer.hidden = true;
    this.button.classList.remove('is-recording');
    this.button.setAttribute('aria-pressed', 'false');
    this.button.setAttribute('aria-label', 'Record a voice note');
    if (rec.state !== 'inactive') rec.stop();
  }
}
