//! The storage port: what the chat service needs from a database, and nothing more, one trait
//! per aggregate. Two backends implement them all (SQLite, PostgreSQL) and both pass the one
//! suite in `tests/store_suite.rs`.

use async_trait::async_trait;

use std::collections::HashMap;

use crate::domain::{
    Applied, Attachment, Attempt, Change, ChatSummary, Delivery, DueOrder, History,
    HistoryWithExtras, Inserted, MessageId, Millis, NewMessage, NotifyLeads, NotifyState, Order,
    OrderId, Page, ProfileSource, PushSubscription, Reaction, ReadMarker, Revision, ScanRecord,
    SearchHit, SearchQuery, StoredAttachment, StoredMessage, Unnotified, User, UserId,
};

pub mod postgres;
mod shared;
pub mod sqlite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration error")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported DATABASE_URL (expected sqlite: or postgres:): {0}")]
    UnsupportedUrl(String),
    #[error("order {0} does not exist")]
    MissingOrder(String),
    #[error("the order number already belongs to another order")]
    OrderNumberTaken,
    #[error("message batch failed: {0}")]
    Batch(String),
    #[error("the database is read-only")]
    ReadOnly,
    /// An operation this backend or this request cannot do; the text says why.
    #[error("{0}")]
    Refused(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The whole storage: every aggregate's port, and a health check.
#[async_trait]
pub trait Store:
    UserStore
    + OrderStore
    + MessageStore
    + ReactionStore
    + ReadStore
    + SearchIndex
    + AttachmentStore
    + NotificationStore
    + Send
    + Sync
    + 'static
{
    /// Is the database reachable (and, where that can change, writable)?
    async fn ping(&self) -> StoreResult<()>;
}

/// The directory's users, as the main backend (or a token's claims) describe them.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// The users with these ids that exist, in one query.
    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>>;
    /// Create or update a user. `blocked: None` keeps the stored flag. A `TokenClaims` write
    /// never overwrites a profile that the directory wrote.
    async fn put_user(
        &self,
        user: &User,
        source: ProfileSource,
        blocked: Option<bool>,
    ) -> StoreResult<()>;
}

/// Orders and their participants.
#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn get_order(&self, id: &OrderId) -> StoreResult<Option<Order>>;
    /// Find an order by id, or failing that by order number.
    async fn find_order(&self, id_or_number: &str) -> StoreResult<Option<Order>>;
    /// Create or replace an order and its participants. An order number that another order
    /// holds is `OrderNumberTaken` (the unique index decides, not a read before the write).
    async fn put_order(&self, order: &Order) -> StoreResult<()>;
    /// Every order where the user is the customer or an agent, newest activity first.
    async fn orders_of_user(&self, user: &UserId) -> StoreResult<Vec<ChatSummary>>;
}

/// The messages of each order, numbered by `seq`, and their changes, numbered by `rev`.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Store a message with the next `seq` and `rev` of its order, in one transaction;
    /// idempotent on (order, sender, clientMessageId). Safe with concurrent writers, also on
    /// other nodes.
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted>;
    /// Edit, delete or react, with the order's next `rev`, in one transaction that also keeps
    /// the audit revision (edits, deletes) and enforces the reaction limits.
    async fn apply_change(&self, order: &OrderId, change: Change) -> StoreResult<Applied>;
    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History>;
    /// `history` together with what rendering it takes besides profiles and read state: the
    /// originals its live messages reply to and its live messages' reactions, exactly as
    /// `messages_by_id` and `reactions` give them. One statement, whatever the page's size,
    /// with the order's `rev` read in the same snapshot as the rows.
    async fn history_with_extras(
        &self,
        order: &OrderId,
        page: Page,
    ) -> StoreResult<HistoryWithExtras>;
    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>>;
    /// The messages of this order with these ids (any order; unknown ids are left out).
    async fn messages_by_id(
        &self,
        order: &OrderId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<StoredMessage>>;
    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64>;
    /// The order's latest `rev` (0 for an order without changes or unknown).
    async fn last_rev(&self, order: &OrderId) -> StoreResult<i64>;
    /// The earlier states of a message, oldest first.
    async fn revisions(&self, order: &OrderId, message: &MessageId) -> StoreResult<Vec<Revision>>;
}

/// Who reacted to what.
#[async_trait]
pub trait ReactionStore: Send + Sync {
    /// The reactions of these messages of one order, per message id: emoji in the order of
    /// their first reaction, users in the order they reacted.
    async fn reactions(
        &self,
        order: &OrderId,
        messages: &[MessageId],
    ) -> StoreResult<HashMap<MessageId, Vec<Reaction>>>;
}

/// The full-text index of message text.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Messages whose words start with every term, not deleted, in the query's orders,
    /// newest first, at most `limit`, each with the cursor of the page after it.
    async fn search(&self, query: SearchQuery<'_>) -> StoreResult<Vec<SearchHit>>;
}

/// Uploaded files (their bytes are in the blob store), who may take them, and their removal;
/// and the leases that let one node at a time run background work.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    async fn put_attachment(&self, attachment: &Attachment) -> StoreResult<()>;
    /// These attachments, whatever their state (unknown ids are left out; any order).
    async fn attachments_by_id(&self, ids: &[String]) -> StoreResult<Vec<Attachment>>;
    /// One attachment with the state of the message that took it (a download's question).
    async fn attachment(&self, id: &str) -> StoreResult<Option<StoredAttachment>>;
    /// Give `message_id` those of `ids` that `uploader` uploaded to `order` and that no
    /// message has taken and are not removed, in one statement; returns the ids it took.
    async fn claim_attachments(
        &self,
        ids: &[String],
        order: &OrderId,
        uploader: &UserId,
        message_id: &str,
    ) -> StoreResult<Vec<String>>;
    /// Undo the claims of a message that was not stored.
    async fn release_attachments(&self, message_id: &str) -> StoreResult<()>;
    /// Mark the attachments of a (deleted) message removed; returns those it marked.
    async fn remove_attachments_of(
        &self,
        message_id: &str,
        at: Millis,
    ) -> StoreResult<Vec<Attachment>>;
    /// Mark removed every upload created before `before` that no stored message holds;
    /// returns how many.
    async fn expire_unattached(&self, before: Millis, at: Millis) -> StoreResult<u64>;
    /// Removed attachments whose bytes may still exist, oldest removal first.
    async fn removed_attachments(&self, limit: i64) -> StoreResult<Vec<Attachment>>;
    /// Delete the rows of removed attachments (after their bytes).
    async fn forget_attachments(&self, ids: &[String]) -> StoreResult<()>;
    /// Take (or renew) the lease `name` for `holder` until `until`, if it is free or expired
    /// at `now`. Exactly one caller wins while it is held.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> StoreResult<bool>;
}

/// Notifications (§14): what is due, the durable outbox, push subscriptions, mutes.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// From now on, stored messages and changes mark their order for the notifier this long
    /// after their time (`None`: they do not).
    fn set_notify_leads(&self, leads: NotifyLeads);
    /// Orders whose `notify_at` is at or before `now`, earliest first.
    async fn due_orders(&self, now: Millis, limit: i64) -> StoreResult<Vec<DueOrder>>;
    async fn notify_state(&self, order: &OrderId) -> StoreResult<NotifyState>;
    /// The messages of the order from others than `user`, not system, not deleted, with a
    /// seq above `after`; `None` when there are none.
    async fn unnotified(
        &self,
        order: &OrderId,
        user: &UserId,
        after: i64,
    ) -> StoreResult<Option<Unnotified>>;
    /// Store scans' decisions in one transaction: per order the deliveries (each id once), the
    /// marks (never lowered), the hook rev, and the next `notify_at` (from `now` instead if the
    /// order's rev moved past `seen_rev`).
    async fn record_scans(&self, scans: &[(OrderId, ScanRecord)]) -> StoreResult<()>;
    /// `record_scans` of one order.
    async fn record_scan(&self, order: &OrderId, scan: ScanRecord) -> StoreResult<()> {
        self.record_scans(&[(order.clone(), scan)]).await
    }
    /// Take up to `limit` pending deliveries due at `now` that no node holds, holding them
    /// until `lock_until`; on PostgreSQL several nodes claim at once without sharing a row.
    async fn claim_deliveries(
        &self,
        now: Millis,
        lock_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// Record the outcomes of claimed deliveries in one transaction. `hasten_webhooks`: a
    /// webhook answered after failing, so every webhook delivery waiting for a retry is due at
    /// `now` (the receiver is back; its backlog need not sit out each row's backoff).
    async fn finish_deliveries(
        &self,
        done: &[(String, Attempt)],
        hasten_webhooks: bool,
        now: Millis,
    ) -> StoreResult<()>;
    /// Delete delivered rows finished before `delivered_before` and dead ones before
    /// `dead_before`; returns how many.
    async fn prune_deliveries(
        &self,
        delivered_before: Millis,
        dead_before: Millis,
    ) -> StoreResult<u64>;
    /// Pending deliveries (a gauge).
    async fn pending_deliveries(&self) -> StoreResult<i64>;
    /// Store a subscription (replacing one with the same endpoint, whoever had it), keeping
    /// at most `max_per_user` of that user's (the oldest go). True when it is new.
    async fn put_push_subscription(
        &self,
        sub: &PushSubscription,
        max_per_user: usize,
    ) -> StoreResult<bool>;
    /// Remove the user's subscription with this endpoint; true when there was one.
    async fn delete_push_subscription(&self, user: &UserId, endpoint: &str) -> StoreResult<bool>;
    /// Remove a subscription whoever has it (its push service said it is gone).
    async fn forget_push_endpoint(&self, endpoint: &str) -> StoreResult<()>;
    async fn push_subscriptions_of(&self, user: &UserId) -> StoreResult<Vec<PushSubscription>>;
    /// The subscriptions with these endpoints (unknown ones left out).
    async fn push_subscriptions(&self, endpoints: &[String]) -> StoreResult<Vec<PushSubscription>>;
    async fn set_muted(
        &self,
        order: &OrderId,
        user: &UserId,
        muted: bool,
        at: Millis,
    ) -> StoreResult<()>;
    async fn is_muted(&self, order: &OrderId, user: &UserId) -> StoreResult<bool>;
    /// The stored value of a server setting, storing `value` first if there is none: the
    /// first node to ask decides, every node gets the same.
    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String>;
}

/// Each user's read position per order.
#[async_trait]
pub trait ReadStore: Send + Sync {
    async fn read_markers(&self, order: &OrderId) -> StoreResult<Vec<ReadMarker>>;
    /// Move the user's marker forward to `seq`; never back. Returns the new marker if it moved.
    async fn advance_read_marker(
        &self,
        order: &OrderId,
        user: &UserId,
        seq: i64,
        at: Millis,
    ) -> StoreResult<Option<ReadMarker>>;
    /// Per order where the user participates: messages by others above the user's marker,
    /// deleted ones not counted. Orders with nothing unread are left out.
    async fn unread_by_order(&self, user: &UserId) -> StoreResult<Vec<(OrderId, i64)>>;
}

/// A consistent copy of a live embedded database into `dest` (which must not exist yet), taken
/// while the server keeps running: SQLite's `VACUUM INTO` reads one snapshot (WAL), so the copy
/// holds every message committed before it began. PostgreSQL has its own tools (`pg_dump`).
pub async fn backup(url: &str, dest: &std::path::Path) -> StoreResult<()> {
    if url.starts_with("sqlite:") {
        sqlite::backup(url, dest).await
    } else {
        Err(StoreError::Refused(
            "backup copies the embedded SQLite database; for PostgreSQL use pg_dump".into(),
        ))
    }
}

/// Open the backend named by the URL's scheme and run its migrations.
pub async fn connect(url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(
            url.split(':').next().unwrap_or_default().to_owned(),
        ))
    }
}
