/**
 * The Socket.IO events of order-chat, for typed `socket.io-client` sockets:
 *
 *   import { io, Socket } from 'socket.io-client';
 *   import type { ServerToClientEvents, ClientToServerEvents } from './order-chat';
 *   const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { auth: { token } });
 *
 * Served at /order-chat.d.ts. The contract is docs/PROTOCOL.md (sections 2–4, 9–13, 15); the
 * payloads are the server's `src/wire/` types, field by field. The REST and internal APIs are
 * described by the OpenAPI document at /api/v0/openapi.json.
 */

/** 1–64 characters of `[A-Za-z0-9._:@-]` (user, order, message and attachment ids). */
export type Id = string;
/** UTC RFC 3339 with milliseconds, e.g. `2026-11-24T10:15:02.123Z`. */
export type Timestamp = string;

export type UserType = 'customer' | 'agent' | 'admin' | 'system';

export type ErrorCode =
  | 'VALIDATION'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'ORDER_NOT_FOUND'
  | 'ORDER_CLOSED'
  | 'NOT_JOINED'
  | 'MESSAGE_NOT_FOUND'
  | 'EDIT_WINDOW_PASSED'
  | 'DELETE_WINDOW_PASSED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'LIMIT_EXCEEDED'
  | 'SHUTTING_DOWN'
  | 'TOKEN_EXPIRED'
  | 'INTERNAL';

// ---- what the server sends ---------------------------------------------------------------

export interface Sender {
  id: Id;
  name: string;
  displayImage: string | null;
  type: UserType;
}

/** An attachment (§12); `url`/`thumbnailUrl` are signed, time-limited links. */
export interface Attachment {
  id: Id;
  name: string;
  contentType: string;
  size: number;
  kind: 'image' | 'audio' | 'file';
  url: string;
  thumbnailUrl?: string;
  width?: number;
  height?: number;
  durationMs?: number;
}

/** The message a reply answers, as it is now. */
export interface ReplyTo {
  id: Id;
  seq: number;
  senderId: Id;
  senderName: string;
  /** The first 140 characters of its current text; absent once it is deleted. */
  preview?: string;
  deleted: boolean;
}

export interface ReactionCount {
  emoji: string;
  count: number;
  userIds: Id[];
}

/** A message (§4, §10, §11). Optional keys are left out when empty. */
export interface Message {
  id: Id;
  orderId: Id;
  seq: number;
  senderId: Id;
  senderType: UserType;
  sender: Sender;
  message: string;
  imageUrl?: string;
  attachments: Attachment[];
  clientMessageId?: Id;
  isRead: boolean;
  readBy: Id[];
  createdAt: Timestamp;
  updatedAt: Timestamp;
  /** The order's `rev` at this message's latest change. */
  rev: number;
  replyTo?: ReplyTo;
  editedAt?: Timestamp;
  /** Present (and true) only on tombstones. */
  deleted?: true;
  deletedAt?: Timestamp;
  deletedBy?: Id;
  reactions?: ReactionCount[];
}

export interface ConnectionStatus {
  status: 'connected';
  userId: Id;
  userType: UserType;
}

export interface Participant {
  id: Id;
  name: string;
  type: UserType;
  online: boolean;
}

/** The `join-order-chat` ack's data. */
export interface Joined {
  orderId: Id;
  messages: Message[];
  hasMore: boolean;
  participants: Participant[];
  /** userId → lastReadSeq, every marker of the order. */
  reads: Record<Id, number>;
  /** The order's change counter: re-join with `sinceRev` set to the highest seen. */
  rev: number;
}

export interface TypingResult {
  orderId: Id;
  isTyping: boolean;
  /** Present when a start was sent too often and not broadcast. */
  throttled?: true;
}

export interface Left {
  orderId: Id;
}

export interface ReadResult {
  orderId: Id;
  userId: Id;
  lastReadSeq: number;
  readAt: Timestamp | null;
  /** True exactly when the caller's marker moved. */
  marked: boolean;
}

/** The `add-reaction` / `remove-reaction` ack's data. */
export interface Reactions {
  orderId: Id;
  messageId: Id;
  rev: number;
  reactions: ReactionCount[];
}

/** The `refresh-token` ack's data: the socket now lives until `expiresAt`. */
export interface SessionRefreshed {
  expiresAt: Timestamp | null;
}

export interface UserTyping {
  orderId: Id;
  isTyping: boolean;
  user: { id: Id; name: string };
}

/** `user-joined` and `user-left`. */
export interface Presence {
  orderId: Id;
  userId: Id;
  /** Repeats `userId` for older clients. */
  id: Id;
  name: string;
  type: UserType;
  timestamp: Timestamp;
}

export interface MessagesRead {
  orderId: Id;
  userId: Id;
  lastReadSeq: number;
  lastReadMessageId: Id | null;
  readAt: Timestamp;
}

export interface ReactionUpdated {
  orderId: Id;
  messageId: Id;
  seq: number;
  rev: number;
  emoji: string;
  userId: Id;
  added: boolean;
  reactions: ReactionCount[];
}

export interface OrderUpdated {
  orderId: Id;
  orderNumber: string | null;
  status: string;
  customerId: Id;
  agentIds: Id[];
}

export interface RemovedFromOrder {
  orderId: Id;
}

export interface SessionExpiring {
  /** When the socket ends (the token's `exp` plus the verification leeway). */
  expiresAt: Timestamp;
}

/** The `error` event: a failing event sent without an ack callback, or the session's end. */
export interface ErrorEvent {
  message: string;
  code: ErrorCode;
  event?: string;
  orderId?: Id;
  retryAfterMs?: number;
}

/** Every acknowledgement: `{ok: true, data}` or `{ok: false, error}`. */
export type Ack<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: ErrorCode; message: string; retryAfterMs?: number } };

export interface ServerToClientEvents {
  'connection-status': (status: ConnectionStatus) => void;
  /** The join's history, oldest first (the same list as the ack's `messages`). */
  'previous-messages': (messages: Message[]) => void;
  'new-message': (message: Message) => void;
  'message-updated': (message: Message) => void;
  /** The tombstone. */
  'message-deleted': (message: Message) => void;
  'reaction-updated': (update: ReactionUpdated) => void;
  'user-typing': (typing: UserTyping) => void;
  'user-joined': (presence: Presence) => void;
  'user-left': (presence: Presence) => void;
  'messages-read': (read: MessagesRead) => void;
  'order-updated': (order: OrderUpdated) => void;
  'removed-from-order': (removed: RemovedFromOrder) => void;
  'session-expiring': (session: SessionExpiring) => void;
  error: (error: ErrorEvent) => void;
}

// ---- what the client sends ---------------------------------------------------------------

/** An order by id or by order number (e.g. `B2S-7F3KQ`). */
export type OrderRef = string;

export type JoinPayload =
  | OrderRef
  | {
      orderId: OrderRef;
      /** Every message with `seq > since` (not with `sinceRev`). */
      since?: number;
      /** Every message changed after this `rev` (not with `since`). */
      sinceRev?: number;
      /** 1–200, default 50. */
      limit?: number;
    };

export interface SendPayload {
  orderId: OrderRef;
  /** 1–4,000 characters after trimming; may be empty with `imageUrl` or `attachmentIds`. */
  message?: string;
  imageUrl?: string | null;
  /** At most 10 uploads of the sender's to this order. */
  attachmentIds?: Id[] | null;
  clientMessageId?: Id | null;
  replyToId?: Id | null;
}

export interface TypingPayload {
  orderId: OrderRef;
  isTyping: boolean;
}

export type LeavePayload = OrderRef | { orderId: OrderRef };

export type MarkReadPayload = OrderRef | { orderId: OrderRef; upToSeq?: number | null };

export interface EditPayload {
  orderId: OrderRef;
  messageId: Id;
  message: string;
}

export interface DeletePayload {
  orderId: OrderRef;
  messageId: Id;
}

export interface ReactionPayload {
  orderId: OrderRef;
  messageId: Id;
  /** One emoji (at most 32 bytes). */
  emoji: string;
}

/** A fresh access token of the same user (`Bearer <jwt>` or the bare JWT). */
export type RefreshPayload = string | { token: string };

/**
 * Every client event with its acknowledgement. The server accepts an event without an ack
 * callback too (a failure then arrives as the `error` event), but the declarations require one:
 * `socket.io-client` types `emitWithAck`'s answer only when the ack is a required parameter.
 */
export interface ClientToServerEvents {
  'join-order-chat': (payload: JoinPayload, ack: (res: Ack<Joined>) => void) => void;
  'send-message': (payload: SendPayload, ack: (res: Ack<Message>) => void) => void;
  typing: (payload: TypingPayload, ack: (res: Ack<TypingResult>) => void) => void;
  'leave-order-chat': (payload: LeavePayload, ack: (res: Ack<Left>) => void) => void;
  'mark-messages-read': (payload: MarkReadPayload, ack: (res: Ack<ReadResult>) => void) => void;
  'edit-message': (payload: EditPayload, ack: (res: Ack<Message>) => void) => void;
  /** The ack's data is the tombstone. */
  'delete-message': (payload: DeletePayload, ack: (res: Ack<Message>) => void) => void;
  'add-reaction': (payload: ReactionPayload, ack: (res: Ack<Reactions>) => void) => void;
  'remove-reaction': (payload: ReactionPayload, ack: (res: Ack<Reactions>) => void) => void;
  'refresh-token': (payload: RefreshPayload, ack: (res: Ack<SessionRefreshed>) => void) => void;
}
