//! The JSON shapes of the contract's events and responses (PROTOCOL.md sections 3–5), field by
//! field, other than the message itself (`message.rs`).

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::{AttachmentRef, Message, ReactionCount};
use crate::domain::UserType;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    pub status: &'static str,
    pub user_id: String,
    pub user_type: UserType,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    pub online: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    pub order_id: String,
    pub messages: Vec<Message>,
    pub has_more: bool,
    pub participants: Vec<Participant>,
    pub reads: BTreeMap<String, i64>,
    /// The order's change counter: re-join with `sinceRev` set to the highest seen.
    pub rev: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    pub has_more: bool,
    pub rev: i64,
}

/// The `add-reaction` / `remove-reaction` result.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reactions {
    pub order_id: String,
    pub message_id: String,
    pub rev: i64,
    pub reactions: Vec<ReactionCount>,
}

/// `reaction-updated`: one user's reaction added or removed, and the message's new list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionUpdated {
    pub order_id: String,
    pub message_id: String,
    pub seq: i64,
    pub rev: i64,
    pub emoji: String,
    pub user_id: String,
    pub added: bool,
    pub reactions: Vec<ReactionCount>,
}

/// One earlier state of a message (the audit trail, admins only).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionEntry {
    pub message: String,
    pub attachments: Vec<AttachmentRef>,
    pub edited_by: String,
    #[schema(format = DateTime)]
    pub edited_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revisions {
    pub revisions: Vec<RevisionEntry>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypingUser {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTyping {
    pub order_id: String,
    pub is_typing: bool,
    pub user: TypingUser,
}

/// `user-joined` and `user-left`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    pub order_id: String,
    pub user_id: String,
    /// Repeats `userId` for older clients.
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagesRead {
    pub order_id: String,
    pub user_id: String,
    pub last_read_seq: i64,
    #[schema(required)]
    pub last_read_message_id: Option<String>,
    #[schema(format = DateTime)]
    pub read_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadResult {
    pub order_id: String,
    pub user_id: String,
    pub last_read_seq: i64,
    #[schema(required, format = DateTime)]
    pub read_at: Option<String>,
    pub marked: bool,
}

/// The `leave-order-chat` result.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Left {
    pub order_id: String,
}

/// The `typing` result; `throttled` when the event was dropped (a start sent too often).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypingResult {
    pub order_id: String,
    pub is_typing: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub throttled: bool,
}

/// A user as the internal API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSaved {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    #[schema(required)]
    pub display_image: Option<String>,
    pub blocked: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdated {
    pub order_id: String,
    #[schema(required)]
    pub order_number: Option<String>,
    pub status: String,
    pub customer_id: String,
    pub agent_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unread {
    pub count: i64,
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_order: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatListEntry {
    pub order_id: String,
    #[schema(required)]
    pub order_number: Option<String>,
    pub status: String,
    #[schema(required)]
    pub last_message: Option<Message>,
    pub unread: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatList {
    pub orders: Vec<ChatListEntry>,
}

/// The `error` event's payload (when a failing event had no ack callback).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEvent {
    pub message: String,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// One search match: the message, and a plain-text snippet with the matched words' offsets
/// (`[start, end)` in JavaScript string indices).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub order_id: String,
    #[schema(required)]
    pub order_number: Option<String>,
    pub message: Message,
    pub snippet: String,
    pub highlights: Vec<[usize; 2]>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    pub results: Vec<SearchResult>,
    /// `before` for the next page; null on the last one.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

/// `session-expiring`: the token runs out at `expiresAt`; answer with `refresh-token`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionExpiring {
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// The `refresh-token` result: the socket now lives until `expiresAt`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionRefreshed {
    #[schema(required, format = DateTime)]
    pub expires_at: Option<String>,
}

/// `removed-from-order`: the backend took this user off the order; nothing of it reaches them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemovedFromOrder {
    pub order_id: String,
}

/// `GET /push/public-key` (§14): the VAPID key for `pushManager.subscribe`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushPublicKey {
    /// The uncompressed P-256 public key, base64url (`applicationServerKey`).
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A stored push subscription.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PushSubscriptionOut {
    pub endpoint: String,
    pub keys: PushKeys,
}

/// `DELETE /push/subscriptions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PushRemoved {
    /// False when the caller had no subscription with that endpoint.
    pub removed: bool,
}

/// `GET`/`PUT /orders/{orderId}/notifications`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MuteState {
    pub order_id: String,
    pub muted: bool,
}
