//! Row shapes (the derive is generic over the database) and how they become domain values.

use std::collections::HashMap;

use crate::domain::{
    ChatSummary, Emoji, History, HistoryWithExtras, MessageId, Order, OrderId, OrderStatus, Page,
    PageExtras, Reaction, ReadMarker, Revision, StoredMessage, User, UserId, UserType,
};
use crate::store::{StoreError, StoreResult};

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: String,
    order_id: String,
    seq: i64,
    sender_id: String,
    sender_type: String,
    body: String,
    image_url: Option<String>,
    attachments: String,
    client_message_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    rev: i64,
    reply_to_id: Option<String>,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    deleted_by: Option<String>,
}

/// The column list every message query selects, in `MessageRow`'s order.
pub(crate) const MESSAGE_COLUMNS: &str = super::message_columns!();

impl From<MessageRow> for StoredMessage {
    fn from(r: MessageRow) -> Self {
        StoredMessage {
            id: r.id,
            order_id: OrderId::from_trusted(r.order_id),
            seq: r.seq,
            sender_id: r.sender_id,
            sender_type: UserType::parse(&r.sender_type).unwrap_or(UserType::System),
            body: r.body,
            image_url: r.image_url,
            attachment_ids: serde_json::from_str(&r.attachments).unwrap_or_default(),
            client_message_id: r.client_message_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            rev: r.rev,
            reply_to_id: r.reply_to_id,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
            deleted_by: r.deleted_by,
        }
    }
}

/// A row of a page-with-extras statement (`sql::page_with_extras!`): a message of the page,
/// the order's rev, the message it replies to and its reactions (both as JSON).
#[derive(sqlx::FromRow)]
pub(crate) struct PageRow {
    #[sqlx(flatten)]
    message: MessageRow,
    order_rev: Option<i64>,
    original: Option<String>,
    reactions: Option<String>,
}

impl PageRow {
    pub(crate) fn order_rev(&self) -> i64 {
        self.order_rev.unwrap_or(0)
    }
}

/// A message's `message_columns!` as a JSON array, in their order.
type MessageJson = (
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

impl From<MessageJson> for MessageRow {
    fn from(j: MessageJson) -> Self {
        MessageRow {
            id: j.0,
            order_id: j.1,
            seq: j.2,
            sender_id: j.3,
            sender_type: j.4,
            body: j.5,
            image_url: j.6,
            attachments: j.7,
            client_message_id: j.8,
            created_at: j.9,
            updated_at: j.10,
            rev: j.11,
            reply_to_id: j.12,
            edited_at: j.13,
            deleted_at: j.14,
            deleted_by: j.15,
        }
    }
}

/// A JSON column of our own statements, read (a failure is the database's answer, not ours).
fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))
}

/// What a reaction change must know of a message's reactions: how many distinct emoji, how
/// many of them the user has, whether the user has this one, whether anyone has this one.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub(crate) struct ReactionCounts {
    pub n_distinct: i64,
    pub n_of_user: i64,
    pub n_has_it: i64,
    pub n_anyone: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReactionRow {
    pub message_id: String,
    pub emoji: String,
    pub user_id: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct RevisionRow {
    pub body: String,
    pub attachments: String,
    pub edited_by: String,
    pub edited_at: i64,
}

impl From<RevisionRow> for Revision {
    fn from(r: RevisionRow) -> Self {
        Revision {
            body: r.body,
            attachment_ids: serde_json::from_str(&r.attachments).unwrap_or_default(),
            edited_by: r.edited_by,
            edited_at: r.edited_at,
        }
    }
}

/// Group reaction rows (ordered by message, then by the rev that added each) per message:
/// emoji in the order of their first reaction, users in the order they reacted.
pub(crate) fn group_reactions(rows: Vec<ReactionRow>) -> HashMap<MessageId, Vec<Reaction>> {
    let mut out: HashMap<MessageId, Vec<Reaction>> = HashMap::new();
    for r in rows {
        let list = out
            .entry(MessageId::from_trusted(r.message_id))
            .or_default();
        let user = UserId::from_trusted(r.user_id);
        match list.iter_mut().find(|x| x.emoji.as_str() == r.emoji) {
            Some(x) => x.user_ids.push(user),
            None => list.push(Reaction {
                emoji: Emoji::from_trusted(r.emoji),
                user_ids: vec![user],
            }),
        }
    }
    out
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    name: String,
    user_type: String,
    display_image: Option<String>,
    blocked: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::from_trusted(r.id),
            name: r.name,
            user_type: UserType::parse(&r.user_type).unwrap_or(UserType::Customer),
            display_image: r.display_image,
            blocked: r.blocked,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MarkerRow {
    user_id: String,
    last_read_seq: i64,
    read_at: i64,
}

impl From<MarkerRow> for ReadMarker {
    fn from(r: MarkerRow) -> Self {
        ReadMarker {
            user_id: UserId::from_trusted(r.user_id),
            last_read_seq: r.last_read_seq,
            read_at: r.read_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    pub id: String,
    pub order_number: Option<String>,
    pub status: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ParticipantRow {
    pub order_id: String,
    pub user_id: String,
    pub role: String,
}

/// Assemble an order from its row and its participants (ordered by position).
pub(crate) fn order_from_rows(row: OrderRow, parts: Vec<ParticipantRow>) -> Order {
    let mut customer = None;
    let mut agents = Vec::new();
    for p in parts {
        if p.role == "customer" {
            customer = Some(UserId::from_trusted(p.user_id));
        } else {
            agents.push(UserId::from_trusted(p.user_id));
        }
    }
    Order {
        id: OrderId::from_trusted(row.id),
        number: row.order_number,
        status: OrderStatus::from_trusted(row.status),
        customer_id: customer.unwrap_or_else(|| UserId::from_trusted(String::new())),
        agent_ids: agents,
    }
}

/// Map a unique-index violation to the domain's error where the query runs (no check-then-write).
pub(crate) trait OnUnique<T> {
    fn on_unique(self, err: StoreError) -> StoreResult<T>;
}

impl<T> OnUnique<T> for Result<T, sqlx::Error> {
    fn on_unique(self, err: StoreError) -> StoreResult<T> {
        self.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => err,
            other => StoreError::Database(other),
        })
    }
}

/// Sort a user's chats newest activity first (last message, else nothing: those go last).
pub(crate) fn sort_by_activity(chats: &mut [ChatSummary]) {
    chats.sort_by_key(|c| {
        std::cmp::Reverse(c.last_message.as_ref().map(|m| m.created_at).unwrap_or(0))
    });
}

/// `page_of` for the rows of a page-with-extras statement, with the originals and reactions of
/// the page's messages (those of the row beyond the page are left out, as its message is).
pub(crate) fn page_with_extras_of(
    rows: Vec<PageRow>,
    page: Page,
    rev: i64,
) -> StoreResult<HistoryWithExtras> {
    let limit = page.limit() as usize;
    let mut originals = HashMap::new();
    let mut reactions = Vec::new();
    let mut messages = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        if i < limit {
            if let Some(json) = row.original.as_deref() {
                let original =
                    StoredMessage::from(MessageRow::from(from_json::<MessageJson>(json)?));
                originals.insert(original.id.clone(), original);
            }
            if let Some(json) = row.reactions.as_deref() {
                let pairs: Vec<(String, String)> = from_json(json)?;
                reactions.extend(pairs.into_iter().map(|(emoji, user_id)| ReactionRow {
                    message_id: row.message.id.clone(),
                    emoji,
                    user_id,
                }));
            }
        }
        messages.push(row.message);
    }
    Ok(HistoryWithExtras {
        history: page_of(messages, page, rev),
        extras: PageExtras {
            originals,
            reactions: group_reactions(reactions),
        },
    })
}

/// Turn `limit + 1` fetched rows into a page: oldest first (by `rev` for a `Changed` page),
/// and whether more lie beyond. `rev` is the order's, read before the rows.
pub(crate) fn page_of(rows: Vec<MessageRow>, page: Page, rev: i64) -> History {
    let limit = page.limit() as usize;
    let has_more = rows.len() > limit;
    let mut messages: Vec<StoredMessage> = rows.into_iter().take(limit).map(Into::into).collect();
    if !matches!(page, Page::After { .. } | Page::Changed { .. }) {
        messages.reverse();
    }
    History {
        messages,
        has_more,
        rev,
    }
}
