//! The storage port: what the chat service needs from a database, and nothing more.
//! Two backends implement it (SQLite, PostgreSQL) and both pass the one suite in `tests/store_suite.rs`.

use async_trait::async_trait;

use crate::domain::{ClientMessageId, Millis, OrderId, UserId, UserType};

pub mod postgres;
mod rows;
pub mod sqlite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported DATABASE_URL (expected sqlite: or postgres:): {0}")]
    UnsupportedUrl(String),
    #[error("order {0} does not exist")]
    MissingOrder(String),
    #[error("message batch failed: {0}")]
    Batch(String),
    #[error("the database is read-only")]
    ReadOnly,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A user as the directory knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub user_type: UserType,
    pub display_image: Option<String>,
    pub blocked: bool,
}

/// Who may write a user's profile. The main backend's word (the directory) always wins over
/// a token's optional claims, which only fill a profile the directory does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    Directory,
    TokenClaims,
}

/// An order's chat-relevant state.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub number: Option<String>,
    pub status: String,
    pub customer_id: UserId,
    pub agent_ids: Vec<UserId>,
}

impl Order {
    /// The participant's role in this order, if they are one.
    pub fn role_of(&self, user: &UserId) -> Option<UserType> {
        if &self.customer_id == user {
            Some(UserType::Customer)
        } else if self.agent_ids.contains(user) {
            Some(UserType::Agent)
        } else {
            None
        }
    }

    pub fn participant_ids(&self) -> impl Iterator<Item = &UserId> {
        std::iter::once(&self.customer_id).chain(self.agent_ids.iter())
    }
}

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
}

/// The result of an idempotent insert: `created` is false when the same sender had already
/// stored a message with this `clientMessageId` on this order, which is returned instead.
#[derive(Debug, Clone)]
pub struct Inserted {
    pub message: StoredMessage,
    pub created: bool,
}

/// A user's read position in an order: they have read every message with `seq <= last_read_seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadMarker {
    pub user_id: UserId,
    pub last_read_seq: i64,
    pub read_at: Millis,
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
}

impl Page {
    pub fn limit(self) -> u32 {
        match self {
            Page::Latest { limit } | Page::After { limit, .. } | Page::Before { limit, .. } => {
                limit
            }
        }
    }
}

/// A page of history: oldest first, and whether more lie beyond it in the page's direction.
#[derive(Debug, Clone)]
pub struct History {
    pub messages: Vec<StoredMessage>,
    pub has_more: bool,
}

#[derive(Debug, Clone)]
pub struct ChatSummary {
    pub order: Order,
    pub last_message: Option<StoredMessage>,
    pub unread: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Is the database reachable?
    async fn ping(&self) -> StoreResult<()>;

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>>;
    /// Create or update a user. `blocked: None` keeps the stored flag. A `TokenClaims` write
    /// never overwrites a profile that the directory wrote.
    async fn put_user(
        &self,
        user: &User,
        source: ProfileSource,
        blocked: Option<bool>,
    ) -> StoreResult<()>;

    async fn get_order(&self, id: &OrderId) -> StoreResult<Option<Order>>;
    /// Find an order by id, or failing that by order number.
    async fn find_order(&self, id_or_number: &str) -> StoreResult<Option<Order>>;
    /// Create or replace an order and its participants.
    async fn put_order(&self, order: &Order) -> StoreResult<()>;
    /// Every order where the user is the customer or an agent.
    async fn orders_of_user(&self, user: &UserId) -> StoreResult<Vec<ChatSummary>>;

    /// Store a message with the next `seq` of its order, in one transaction; idempotent on
    /// (order, sender, clientMessageId). Safe with concurrent writers, also on other nodes.
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted>;
    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History>;
    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>>;
    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64>;

    async fn read_markers(&self, order: &OrderId) -> StoreResult<Vec<ReadMarker>>;
    /// Move the user's marker forward to `seq`; never back. Returns the new marker if it moved.
    async fn advance_read_marker(
        &self,
        order: &OrderId,
        user: &UserId,
        seq: i64,
        at: Millis,
    ) -> StoreResult<Option<ReadMarker>>;
    /// Per order where the user participates: messages by others above the user's marker.
    /// Orders with nothing unread are left out.
    async fn unread_by_order(&self, user: &UserId) -> StoreResult<Vec<(OrderId, i64)>>;
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
