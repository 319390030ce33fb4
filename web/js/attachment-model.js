/*
 * Attachments on the page (PROTOCOL §12), the part with no DOM: what a file is before it is
 * sent (a quick check of size and type, so a refusal is said at once; the server decides from
 * the bytes anyway), how sizes and durations read, and what a refusal from the server means in
 * words. `node --test` checks it (tests/js/web/).
 */

/** The server's default MAX_UPLOAD_BYTES; a larger file is refused before it is sent. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Files sent with one message (PROTOCOL §12: at most 10 attachmentIds). */
export const MAX_FILES = 10;

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const AUDIO_TYPES = ['audio/ogg', 'audio/webm', 'audio/mp4', 'audio/x-m4a', 'audio/m4a', 'audio/mpeg', 'audio/mp3', 'video/webm'];
const FILE_TYPES = [
  'application/pdf', 'application/msword', 'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.oasis.opendocument.text', 'application/vnd.oasis.opendocument.spreadsheet',
];
const EXTENSIONS = ['jpg', 'jpeg', 'png', 'gif', 'webp', 'ogg', 'oga', 'opus', 'webm', 'm4a', 'mp4', 'mp3',
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'odt', 'ods'];

/** What the file input offers (the server still checks the bytes). */
export const ACCEPT = [...IMAGE_TYPES, ...AUDIO_TYPES, ...FILE_TYPES, ...EXTENSIONS.map((e) => '.' + e)].join(',');

export const ACCEPTED_WORDS = 'photos (JPEG, PNG, GIF, WebP), voice notes and audio (Ogg, WebM, M4A, MP3), PDF, Word, Excel and OpenDocument files';

/** "1.4 MB", "820 KB", "12 bytes". */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  const mb = n / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

/** "0:07", "2:31", "1:02:03". */
export function formatDuration(ms) {
  const total = Math.max(0, Math.round((Number(ms) || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A short word for a file's type, for its card: "PDF", "Word", "Excel", "Audio"… */
export function typeLabel(contentType, name = '') {
  const t = String(contentType || '').toLowerCase();
  const ext = String(name).split('.').pop().toLowerCase();
  if (t === 'application/pdf' || ext === 'pdf') return 'PDF';
  if (t.includes('wordprocessingml') || t === 'application/msword' || ['doc', 'docx'].includes(ext)) return 'Word document';
  if (t.includes('spreadsheetml') || t === 'application/vnd.ms-excel' || ['xls', 'xlsx'].includes(ext)) return 'Excel spreadsheet';
  if (t.includes('opendocument.text') || ext === 'odt') return 'OpenDocument text';
  if (t.includes('opendocument.spreadsheet') || ext === 'ods') return 'OpenDocument spreadsheet';
  if (t.startsWith('audio/')) return 'Audio';
  if (t.startsWith('image/')) return 'Image';
  return 'File';
}

/** Is this (browser-reported) file an image the page can preview before upload? */
export const isPreviewableImage = (file) => IMAGE_TYPES.includes(String(file && file.type).toLowerCase());

/**
 * Refuse at once what the server would refuse: too big, or a type it never accepts. Returns
 * null (fine, upload it) or the refusal in words. An unknown browser type with an accepted
 * extension goes to the server, which reads the bytes.
 */
export function checkFile(file, maxBytes = MAX_UPLOAD_BYTES) {
  const name = String((file && file.name) || 'This file');
  const size = Number(file && file.size) || 0;
  if (size === 0) return `${name} is empty.`;
  if (size > maxBytes) return `${name} is too big (${formatSize(size)}): files can be at most ${formatSize(maxBytes)}.`;
  const type = String((file && file.type) || '').toLowerCase();
  const ext = name.includes('.') ? name.split('.').pop().toLowerCase() : '';
  const known = IMAGE_TYPES.includes(type) || AUDIO_TYPES.includes(type) || FILE_TYPES.includes(type);
  if (type && !known && !EXTENSIONS.includes(ext)) {
    return `${name} cannot be sent: only ${ACCEPTED_WORDS} can.`;
  }
  if (!type && ext && !EXTENSIONS.includes(ext)) {
    return `${name} cannot be sent: only ${ACCEPTED_WORDS} can.`;
  }
  return null;
}

/** The words for an upload the server refused (its status, and its envelope when it sent one). */
export function uploadRefusal(name, status, body) {
  const code = body && body.code;
  const said = body && typeof body.message === 'string' ? body.message : '';
  if (status === 413 || code === 'PAYLOAD_TOO_LARGE') return `${name} is too big to send. ${said}`.trim();
  if (status === 415 || code === 'UNSUPPORTED_MEDIA_TYPE') return `${name} cannot be sent: this type of file is not accepted. Only ${ACCEPTED_WORDS} can.`;
  if (code === 'VALIDATION') return `${name} could not be used: ${said || 'the file is damaged or too large.'}`;
  if (code === 'ORDER_CLOSED') return 'This order is closed: no more files can be sent.';
  if (code === 'RATE_LIMITED') return `${name} was not sent: too many uploads at once. Try again in a moment.`;
  if (status === 401) return 'Your session has ended: sign in again to send files.';
  if (status === 403) return 'You cannot send files to this chat.';
  if (status === 0) return `${name} was not sent: the connection was lost. Try again.`;
  return `${name} was not sent (${said || 'something went wrong'}). Try again.`;
}

/** Does this `imageUrl` point at one of the message's own attachments (the compatibility path)? */
export function isOwnAttachmentUrl(url) {
  return typeof url === 'string' && /(^|\/\/[^/]+)\/api\/v0\/chat\/attachments\//.test(url);
}

/** A message's attachments split for display: images (as thumbnails), audio, other files. */
export function groupAttachments(list) {
  const out = { images: [], audio: [], files: [] };
  for (const a of Array.isArray(list) ? list : []) {
    if (!a || typeof a.url !== 'string') continue;
    if (a.kind === 'image') out.images.push(a);
    else if (a.kind === 'audio') out.audio.push(a);
    else out.files.push(a);
  }
  return out;
}
