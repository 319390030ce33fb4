/*
 * Leave asks first: a modal <dialog> (#leave-dialog in chat.html) says what leaving does; "Stay"
 * has the focus, Esc or Stay closes it, "Leave chat" leaves. Focus returns to the Leave button
 * (or, after leaving, to the banner's Rejoin button).
 */
export class LeaveDialog {
  /**
   * @param {{leave, leaveDialog, bannerAction}} ui
   * @param {() => void} leave what "Leave chat" does
   */
  constructor(ui, leave) {
    this.ui = ui;
    this.dialog = ui.leaveDialog || null;
    if (!this.dialog) return;
    this.dialog.addEventListener('close', () => {
      if (this.dialog.returnValue === 'leave') {
        leave();
        if (ui.bannerAction && !ui.bannerAction.hidden) ui.bannerAction.focus();
      } else if (ui.leave && !ui.leave.hidden) {
        ui.leave.focus();
      }
    });
  }

  /** Ask; without the dialog in the page, leave at once (pages that embed the chat). */
  open(leave) {
    if (!this.dialog || typeof this.dialog.showModal !== 'function') { leave(); return; }
    if (this.dialog.open) return;
    this.dialog.returnValue = '';
    this.dialog.showModal();
    const stay = this.dialog.querySelector('[value="stay"]');
    if (stay) stay.focus();
  }

  close() {
    if (this.dialog && this.dialog.open) this.dialog.close('stay');
  }
}
