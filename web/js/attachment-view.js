/*
 * A message's attachments in its bubble (PROTOCOL §12): image thumbnails that open full size in
 * the lightbox (`data-action="open-image"`), audio players with their duration (voice notes),
 * and file cards with name, type and size that open or download the file. Links are the
 * server's signed ones, used as they are; everything is built from elements and text, never HTML.
 */
import { el } from './dom.js';
import { formatDuration, formatSize, groupAttachments, typeLabel } from './attachment-model.js';

/** The attachments block of one message, or null when it has none. */
export function attachmentsNode(attachments, o = {}) {
  const { images, audio, files } = groupAttachments(attachments);
  if (!images.length && !audio.length && !files.length) return null;
  const box = el('div', 'msg__attachments');
  if (images.length) {
    const grid = el('div', 'att-grid att-grid--' + Math.min(images.length, 3));
    for (const a of images) grid.appendChild(thumbNode(a, o.onImageLoad));
    box.appendChild(grid);
  }
  for (const a of audio) box.appendChild(audioNode(a));
  for (const a of files) box.appendChild(fileCard(a));
  return box;
}

function thumbNode(a, onLoad) {
  const b = el('button', 'att-thumb');
  b.type = 'button';
  b.dataset.action = 'open-image';
  b.dataset.full = a.url;
  b.dataset.name = a.name || 'Photo';
  if (a.width && a.height) b.style.aspectRatio = `${a.width} / ${a.height}`;
  b.setAttribute('aria-label', `Open the photo ${a.name || ''} full size`.trim());
  const img = el('img', 'att-thumb__img');
  img.alt = a.name || 'Photo';
  img.loading = 'lazy';
  img.decoding = 'async';
  img.referrerPolicy = 'no-referrer';
  if (onLoad) img.addEventListener('load', onLoad);
  img.addEventListener('error', () => { b.classList.add('att-thumb--broken'); img.alt = 'The photo could not be loaded'; });
  img.src = a.thumbnailUrl || a.url;
  b.appendChild(img);
  return b;
}

function audioNode(a) {
  const wrap = el('div', 'att-audio');
  const player = el('audio', 'att-audio__player');
  player.controls = true;
  player.preload = 'metadata';
  player.src = a.url;
  player.setAttribute('aria-label', `Voice note ${a.name || ''}`.trim());
  wrap.appendChild(player);
  const meta = el('span', 'att-audio__meta');
  meta.textContent = a.durationMs ? `Voice note · ${formatDuration(a.durationMs)}` : `Audio · ${formatSize(a.size)}`;
  wrap.appendChild(meta);
  return wrap;
}

function fileCard(a) {
  const card = el('a', 'att-file');
  card.href = a.url;
  card.target = '_blank';
  card.rel = 'noopener noreferrer';
  const icon = el('span', 'att-file__icon', typeLabel(a.contentType, a.name) === 'PDF' ? 'PDF' : 'DOC');
  icon.setAttribute('aria-hidden', 'true');
  const text = el('span', 'att-file__text');
  text.append(el('span', 'att-file__name', a.name || 'File'),
    el('span', 'att-file__meta', `${typeLabel(a.contentType, a.name)} · ${formatSize(a.size)}`));
  card.append(icon, text);
  card.setAttribute('aria-label', `${a.name || 'File'}, ${typeLabel(a.contentType, a.name)}, ${formatSize(a.size)}: open`);
  return card;
}
