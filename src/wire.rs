//! The JSON shapes of the contract (PROTOCOL.md sections 3–5), field by field.
//! Built once per event and shared by every recipient and by the REST responses.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::domain::{ReadMarker, StoredMessage, User, UserType, rfc3339};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    pub id: String,
    pub name: String,
    pub display_image: Option<String>,
    #[serde(rename = "type")]
    pub user_type: UserType,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attachment {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub order_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub sender_type: UserType,
    pub sender: Sender,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    pub attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    pub is_read: bool,
    pub read_by: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Message {
    /// `readers` are the markers that count for read receipts (the order's participants);
    /// the sender's own marker never does.
    pub fn build(m: StoredMessage, sender: Sender, readers: &[ReadMarker]) -> Self {
        let read_by: Vec<String> = readers
            .iter()
            .filter(|r| r.last_read_seq >= m.seq && r.user_id.as_str() != m.sender_id)
            .map(|r| r.user_id.to_string())
            .collect();
        Message {
            id: m.id,
            order_id: m.order_id.to_string(),
            seq: m.seq,
            sender_id: m.sender_id,
            sender_type: m.sender_type,
            sender,
            message: m.body,
            image_url: m.image_url,
            attachments: m
                .attachment_ids
                .into_iter()
                .map(|id| Attachment { id })
                .collect(),
            client_message_id: m.client_message_id,
            is_read: !read_by.is_empty(),
            read_by,
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

impl Sender {
    pub fn from_user(u: &User) -> Self {
        Sender {
            id: u.id.to_string(),
            name: u.name.clone(),
            display_image: u.display_image.clone(),
            user_type: u.user_type,
        }
    }

    pub fn system() -> Self {
        Sender {
            id: SYSTEM_SENDER.into(),
            name: "System".into(),
            display_image: None,
            user_type: UserType::System,
        }
    }
}

/// The sender id of messages the server writes itself.
pub const SYSTEM_SENDER: &str = "system";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    pub status: &'static str,
    pub user_id: String,
    pub user_type: UserType,
}

#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    pub online: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    pub order_id: String,
    pub messages: Vec<Message>,
    pub has_more: bool,
    pub participants: Vec<Participant>,
    pub reads: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingUser {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTyping {
    pub order_id: String,
    pub is_typing: bool,
    pub user: TypingUser,
}

/// `user-joined` and `user-left`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    pub order_id: String,
    pub user_id: String,
    /// Repeats `userId` for older clients.
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    pub timestamp: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesRead {
    pub order_id: String,
    pub user_id: String,
    pub last_read_seq: i64,
    pub last_read_message_id: Option<String>,
    pub read_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadResult {
    pub order_id: String,
    pub user_id: String,
    pub last_read_seq: i64,
    pub read_at: Option<String>,
    pub marked: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdated {
    pub order_id: String,
    pub order_number: Option<String>,
    pub status: String,
    pub customer_id: String,
    pub agent_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unread {
    pub count: i64,
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_order: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatListEntry {
    pub order_id: String,
    pub order_number: Option<String>,
    pub status: String,
    pub last_message: Option<Message>,
    pub unread: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatList {
    pub orders: Vec<ChatListEntry>,
}

/// The `error` event's payload (when a failing event had no ack callback).
#[derive(Debug, Clone, Serialize)]
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

/// Server → client event names.
pub mod event {
    pub const CONNECTION_STATUS: &str = "connection-status";
    pub const PREVIOUS_MESSAGES: &str = "previous-messages";
    pub const NEW_MESSAGE: &str = "new-message";
    pub const USER_TYPING: &str = "user-typing";
    pub const USER_JOINED: &str = "user-joined";
    pub const USER_LEFT: &str = "user-left";
    pub const MESSAGES_READ: &str = "messages-read";
    pub const ORDER_UPDATED: &str = "order-updated";
    pub const ERROR: &str = "error";
}
