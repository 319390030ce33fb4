// A small typed client over web/order-chat.d.ts: every client event with its ack, every server
// event with its payload. Compiled by `tsc --noEmit --strict` in the test command
// (types/types.test.mjs); never run. Each use below must type-check exactly as a real app would
// write it.
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  ErrorCode,
  Joined,
  Message,
  ServerToClientEvents,
} from '../../../web/order-chat';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function connect(url: string, token: () => string): ChatSocket {
  return io(url, { auth: (cb) => cb({ token: token() }), transports: ['websocket'] });
}

/** The ack's data, or a thrown error with the code. */
function unwrap<T>(res: Ack<T>): T {
  if (res.ok) return res.data;
  const code: ErrorCode = res.error.code;
  throw new Error(`${code}: ${res.error.message}${res.error.retryAfterMs ? ` (retry in ${res.error.retryAfterMs} ms)` : ''}`);
}

export function listen(socket: ChatSocket, log: (line: string) => void): void {
  socket.on('connection-status', (s) => log(`${s.status} as ${s.userId} (${s.userType})`));
  socket.on('previous-messages', (messages) => log(`history: ${messages.map((m) => m.seq).join(',')}`));
  socket.on('new-message', (m) => log(`${m.sender.name}: ${m.message} [${m.attachments.length} files]`));
  socket.on('message-updated', (m) => log(`edited ${m.id} at ${m.editedAt ?? '?'} rev ${m.rev}`));
  socket.on('message-deleted', (m) => log(`deleted ${m.id} by ${m.deletedBy ?? '?'} (${m.deleted === true})`));
  socket.on('reaction-updated', (r) =>
    log(`${r.userId} ${r.added ? 'added' : 'removed'} ${r.emoji}: ${r.reactions.map((x) => `${x.emoji}×${x.count}`).join(' ')}`));
  socket.on('user-typing', (t) => log(`${t.user.name} ${t.isTyping ? 'is' : 'stopped'} typing in ${t.orderId}`));
  socket.on('user-joined', (p) => log(`${p.name} (${p.type}) joined ${p.orderId} at ${p.timestamp}`));
  socket.on('user-left', (p) => log(`${p.userId} left ${p.orderId}`));
  socket.on('messages-read', (r) => log(`${r.userId} read up to ${r.lastReadSeq} (${r.lastReadMessageId ?? 'none'}) at ${r.readAt}`));
  socket.on('order-updated', (o) => log(`${o.orderNumber ?? o.orderId} is ${o.status}: ${o.customerId} + ${o.agentIds.join(',')}`));
  socket.on('removed-from-order', (r) => log(`removed from ${r.orderId}`));
  socket.on('session-expiring', (s) => log(`session ends at ${s.expiresAt}`));
  socket.on('error', (e) => log(`error ${e.code} on ${e.event ?? '?'} (${e.orderId ?? '-'}): ${e.message}`));
}

/** Every client event once, with its ack typed from the declarations. */
export async function session(socket: ChatSocket, orderId: string, freshToken: string): Promise<void> {
  const joined: Joined = unwrap(await socket.emitWithAck('join-order-chat', { orderId, sinceRev: 0, limit: 50 }));
  const reads: number = joined.reads[joined.participants[0]?.id ?? ''] ?? 0;
  unwrap(await socket.emitWithAck('join-order-chat', orderId));

  const sent: Message = unwrap(
    await socket.emitWithAck('send-message', {
      orderId,
      message: 'Please get the ripe plantains',
      clientMessageId: 'c-1',
      attachmentIds: [],
      replyToId: joined.messages.at(-1)?.id ?? null,
    }),
  );
  socket.emit('send-message', { orderId, message: 'with a callback' }, (res) => {
    if (!res.ok && res.error.code === 'RATE_LIMITED') console.log(res.error.retryAfterMs);
  });

  const typing = unwrap(await socket.emitWithAck('typing', { orderId, isTyping: true }));
  const throttled: boolean = typing.throttled ?? false;

  const read = unwrap(await socket.emitWithAck('mark-messages-read', { orderId, upToSeq: sent.seq }));
  const readAt: string | null = read.readAt;
  socket.emit('mark-messages-read', orderId, (res) => {
    if (res.ok) console.log(res.data.marked);
  });

  const edited = unwrap(await socket.emitWithAck('edit-message', { orderId, messageId: sent.id, message: 'Ripe ones, please' }));
  const reacted = unwrap(await socket.emitWithAck('add-reaction', { orderId, messageId: edited.id, emoji: '👍' }));
  const counts: number[] = reacted.reactions.map((r) => r.count);
  unwrap(await socket.emitWithAck('remove-reaction', { orderId, messageId: edited.id, emoji: '👍' }));
  const tombstone = unwrap(await socket.emitWithAck('delete-message', { orderId, messageId: edited.id }));
  const gone: boolean = tombstone.deleted === true;

  const refreshed = unwrap(await socket.emitWithAck('refresh-token', { token: freshToken }));
  unwrap(await socket.emitWithAck('refresh-token', `Bearer ${freshToken}`));
  const left = unwrap(await socket.emitWithAck('leave-order-chat', { orderId }));
  console.log(reads, throttled, readAt, counts, gone, refreshed.expiresAt, left.orderId);
}
