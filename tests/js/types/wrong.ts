// Usages the declarations must refuse: `tsc --noEmit --strict` over this file has to fail, with
// one error on each line marked `// refused` (types/types.test.mjs checks both), so a loosened
// declaration (an `any`, a missing event) fails the test command.
import type { ChatSocket } from './client';

export function wrong(socket: ChatSocket): void {
  socket.emit('send-mesage', { orderId: 'o', message: 'typo in the event name' }); // refused
  void socket.emitWithAck('send-message', { message: 'no orderId' }); // refused
  void socket.emitWithAck('typing', { orderId: 'o', isTyping: 'yes' }); // refused
  void socket.emitWithAck('join-order-chat', { orderId: 'o', since: '4' }); // refused
  void socket.emitWithAck('add-reaction', { orderId: 'o', messageId: 'm' }); // refused
  socket.on('new-message', (m) => m.text); // refused
  socket.on('user-typing', (t) => t.user.avatar); // refused
  socket.on('messages-read', (r) => r.readAt.toFixed()); // refused
  socket.on('no-such-event', () => {}); // refused
  socket.emit('edit-message', { orderId: 'o', messageId: 'm', message: 'x' }, (res) => res.data); // refused
  socket.emitWithAck('typing', { orderId: 'o', isTyping: true }).then((res) => res.data); // refused
  socket.emitWithAck('send-message', { orderId: 'o' }).then((res) => res.ok && res.data.text); // refused
}
