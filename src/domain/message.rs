//! Messages and the pages of history they are read in.

use std::collections::HashMap;

use super::{ClientMessageId, MessageId, Millis, Order, OrderId, Reaction, UserType};

/// A message as stored. `seq` is assigned by the store in the insert's transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: String,
    pub order_id: OrderId,
    pub seq: i64,
    pub sender_id: String,
    pub sender_type: UserType,
    pub body: String,
    pub image_url: Option<String>,
    pub attachment_ids: Vec<String>,
    pub client_message_id: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The order's change counter at this message's latest change (§10).
    pub rev: i64,
    /// The message this one answers.
    pub reply_to_id: Option<String>,
    pub edited_at: Option<Millis>,
    /// Set once the message is a tombstone.
    pub deleted_at: Option<Millis>,
    pub deleted_by: Option<String>,
}

impl StoredMessage {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A message to store; the store gives it its `seq`.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: String,
    pub order_id: OrderId,
    pub sender_id: String,
    pub sender_type: UserType,
    pub body: String,
    pub image_url: Option<String>,
    pub attachment_ids: Vec<String>,
    pub client_message_id: Option<ClientMessageId>,
    pub created_at: Millis,
    pub reply_to_id: Option<MessageId>,
}

impl NewMessage {
    /// The stored form of this message once it has its `seq` and `rev`.
    pub fn stored(self, seq: i64, rev: i64) -> StoredMessage {
        StoredMessage {
            id: self.id,
            order_id: self.order_id,
            seq,
            sender_id: self.sender_id,
            sender_type: self.sender_type,
            body: self.body,
            image_url: self.image_url,
            attachment_ids: self.attachment_ids,
            client_message_id: self.client_message_id.map(|c| c.as_str().to_owned()),
            created_at: self.created_at,
            updated_at: self.created_at,
            rev,
            reply_to_id: self.reply_to_id.map(|r| r.as_str().to_owned()),
            edited_at: None,
            deleted_at: None,
            deleted_by: None,
        }
    }
}

/// The result of an idempotent insert: `created` is false when the same sender had already
/// stored a message with this `clientMessageId` on this order, which is returned instead.
#[derive(Debug, Clone)]
pub struct Inserted {
    pub message: StoredMessage,
    pub created: bool,
}

/// Which slice of an order's history to read. Results are always oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest `limit` messages.
    Latest { limit: u32 },
    /// Messages with `seq > after`, the oldest `limit` of them.
    After { seq: i64, limit: u32 },
    /// Messages with `seq < before`, the newest `limit` of them.
    Before { seq: i64, limit: u32 },
    /// Messages changed after `rev` (new, edited, deleted, reacted to), the `limit` earliest
    /// changes, ordered by `rev`.
    Changed { rev: i64, limit: u32 },
}

impl Page {
    pub fn limit(self) -> u32 {
        match self {
            Page::Latest { limit }
            | Page::After { limit, .. }
            | Page::Before { limit, .. }
            | Page::Changed { limit, .. } => limit,
        }
    }
}

/// A page of history: oldest first (by `rev` for `Changed`), whether more lie beyond it in
/// the page's direction, and the order's `rev` when the page was read.
#[derive(Debug, Clone)]
pub struct History {
    pub messages: Vec<StoredMessage>,
    pub has_more: bool,
    pub rev: i64,
}

/// What rendering a page takes from its messages' store besides profiles and read state: the
/// messages its live messages reply to (of the same order, by id; tombstones included) and the
/// reactions of its live messages (none listed for a message without any).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageExtras {
    pub originals: HashMap<String, StoredMessage>,
    pub reactions: HashMap<MessageId, Vec<Reaction>>,
}

/// A page of history with its extras, read together.
#[derive(Debug, Clone)]
pub struct HistoryWithExtras {
    pub history: History,
    pub extras: PageExtras,
}

/// One entry of a user's chat list.
#[derive(Debug, Clone)]
pub struct ChatSummary {
    pub order: Order,
    pub last_message: Option<StoredMessage>,
    pub unread: i64,
}
