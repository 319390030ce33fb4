/*
 * What a screen reader is told as it happens, in words (WCAG 4.1.3): new messages from others
 * ("Tunde Bello: The plantains are ripe"), receipts ("Read by Tunde Bello"), who is typing. One
 * polite live region (#chat-announcer in chat.html, visually hidden); each announcement is a
 * new line in it, the oldest lines are dropped. The message list itself is not live: its
 * bubbles carry avatars, times and buttons that would be read out with every message.
 */
const KEPT = 4; // lines kept in the region (older ones were read already)

export class Announcer {
  /** @param {HTMLElement|null} region the live region (nothing is said without one) */
  constructor(region) {
    this.region = region;
  }

  /** Say `text` (politely: after what the reader is reading now). */
  say(text) {
    if (!this.region || !text) return;
    const line = document.createElement('p');
    line.textContent = text;
    this.region.appendChild(line);
    while (this.region.childElementCount > KEPT) this.region.firstElementChild.remove();
  }
}
