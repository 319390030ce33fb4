/*
 * DOM building blocks of the chat and the inbox. Everything a user typed is put into the page
 * with textContent / DOM nodes, never as HTML.
 */
import { initials, hue, safeImageUrl } from './format.js';

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** Text with its http(s) links made clickable; built from text nodes and <a>, never HTML. */
export function renderText(container, text) {
  const re = /\bhttps?:\/\/[^\s<>"']+/gi;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    let url = m[0];
    const trail = /[.,;:!?)\]}]+$/.exec(url);
    if (trail) url = url.slice(0, url.length - trail[0].length);
    if (!url) continue;
    if (m.index > last) container.appendChild(document.createTextNode(text.slice(last, m.index)));
    const a = el('a', 'msg__link', url);
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    container.appendChild(a);
    last = m.index + url.length;
    re.lastIndex = last;
  }
  if (last < text.length) container.appendChild(document.createTextNode(text.slice(last)));
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayTimeFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** A <time>: the hour today, the day and hour before; the full date as its title. */
export function timeElement(iso, className = 'msg__time') {
  const t = el('time', className);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return t;
  t.dateTime = d.toISOString();
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  t.textContent = (sameDay ? timeFmt : dayTimeFmt).format(d);
  t.title = fullFmt.format(d);
  return t;
}

/** Only images this page may show (see format.js safeImageUrl). */
export function imageUrl(raw) {
  return safeImageUrl(raw, window.location.href);
}

/** Initials on a colour, with the user's picture over them when it loads. */
export function avatar(sender) {
  const node = el('div', 'avatar avatar--c' + hue(sender.id || sender.name));
  node.setAttribute('aria-hidden', 'true');
  node.textContent = initials(sender.name);
  const src = imageUrl(sender.displayImage);
  if (src) {
    const img = el('img', 'avatar__img');
    img.alt = '';
    img.referrerPolicy = 'no-referrer';
    img.addEventListener('error', () => img.remove());
    img.src = src;
    node.appendChild(img);
  }
  return node;
}
