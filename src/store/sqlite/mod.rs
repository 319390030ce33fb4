//! The embedded default: SQLite in WAL mode.
//!
//! Writes go through a pool of exactly one connection: SQLite allows one writer at a time, and
//! queueing in-process is cheaper and fairer than letting connections fight over the lock
//! (SQLITE_BUSY). Reads use their own pool and never wait for the writer (WAL).
//!
//! `synchronous = FULL`: a send is acknowledged only after its commit is on disk. In WAL mode
//! NORMAL could lose the last commits on power loss; an acked message must survive that.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use super::rows::{
    MESSAGE_COLUMNS, MarkerRow, MessageRow, OnUnique, OrderRow, ParticipantRow, UserRow,
    order_from_rows, sort_by_activity,
};
use super::*;
use crate::domain::{
    ChatSummary, History, Inserted, NewMessage, Order, Page, ProfileSource, ReadMarker,
    StoredMessage, User,
};

mod writer;

use crate::domain::now_millis;
use writer::{InsertJob, MAX_BATCH, group_commit};

pub struct SqliteStore {
    pools: Arc<PoolCell>,
    inserts: mpsc::Sender<InsertJob>,
}

/// The writer (one connection) and the readers.
struct Pools {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Pools {
    async fn open(opts: &SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts.clone())
            .await?;
        Ok(Self { writer, reader })
    }
}

/// The current pools, replaced as a whole when the database turns out to be read-only.
///
/// SQLite shares one open file (and one WAL index) per database among all the connections of a
/// process; a file opened while it was read-only therefore stays read-only for every new
/// connection as long as any old one is open. Once the file is writable again, closing them all
/// and opening new pools is what lets the server recover without a restart.
struct PoolCell {
    opts: SqliteConnectOptions,
    current: std::sync::RwLock<Arc<Pools>>,
    reopening: tokio::sync::Mutex<std::time::Instant>,
}

impl PoolCell {
    fn get(&self) -> Arc<Pools> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Close every connection and open new pools (at most once a second).
    async fn reopen(&self) {
        let mut last = self.reopening.lock().await;
        if last.elapsed() < Duration::from_secs(1) {
            return;
        }
        *last = std::time::Instant::now();
        let old = self.get();
        old.writer.close().await;
        old.reader.close().await;
        match Pools::open(&self.opts).await {
            Ok(new) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
                tracing::warn!("database was read-only: reopened it");
            }
            Err(e) => tracing::error!(error = %e, "cannot reopen the database"),
        }
    }
}

fn is_read_only_error(e: &StoreError) -> bool {
    match e {
        StoreError::ReadOnly => true,
        StoreError::Database(sqlx::Error::Database(d)) => {
            // SQLITE_READONLY and its extended codes (8, 264, 520, …).
            d.code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 8)
        }
        _ => false,
    }
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Checkpoint the WAL every ~40 MB rather than every 4 MB: a page written by many
            // commits in between is copied into the database once, and the database file is
            // synced less often. The WAL is reset at each checkpoint.
            .pragma("wal_autocheckpoint", "10000");
        let pools = Pools::open(&opts).await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pools.writer)
            .await?;
        let cell = Arc::new(PoolCell {
            opts,
            current: std::sync::RwLock::new(Arc::new(pools)),
            reopening: tokio::sync::Mutex::new(std::time::Instant::now() - Duration::from_secs(2)),
        });
        let (inserts, jobs) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(group_commit(cell.clone(), jobs));
        Ok(Self {
            pools: cell,
            inserts,
        })
    }

    async fn load_order(&self, row: OrderRow) -> StoreResult<Order> {
        let parts: Vec<ParticipantRow> = sqlx::query_as(
            "SELECT user_id, role FROM order_participants WHERE order_id = ? ORDER BY position",
        )
        .bind(&row.id)
        .fetch_all(&self.pools.get().reader)
        .await?;
        Ok(order_from_rows(row, parts))
    }
}

#[async_trait]
impl Store for SqliteStore {
    /// Readable, and writable.
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pools.get().reader)
            .await?;
        let mut conn = self.pools.get().writer.acquire().await?;
        if is_read_only(&mut conn).await? {
            drop(conn);
            self.pools.reopen().await;
            return Err(StoreError::ReadOnly);
        }
        Ok(())
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, name, user_type, display_image, blocked FROM users WHERE id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pools.get().reader)
        .await?;
        Ok(row.map(User::from))
    }

    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(u) = self.get_user(id).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    async fn put_user(
        &self,
        user: &User,
        source: ProfileSource,
        blocked: Option<bool>,
    ) -> StoreResult<()> {
        let directory = source == ProfileSource::Directory;
        // A claims write only inserts or refreshes a claims-made profile; a directory write wins.
        sqlx::query(
            "INSERT INTO users (id, name, user_type, display_image, blocked, directory, updated_at)
             VALUES (?1, ?2, ?3, ?4, COALESCE(?5, 0), ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET
               name = excluded.name, user_type = excluded.user_type,
               display_image = excluded.display_image,
               blocked = COALESCE(?5, users.blocked),
               directory = MAX(users.directory, excluded.directory),
               updated_at = excluded.updated_at
             WHERE excluded.directory = 1 OR users.directory = 0",
        )
        .bind(user.id.as_str())
        .bind(&user.name)
        .bind(user.user_type.as_str())
        .bind(&user.display_image)
        .bind(blocked)
        .bind(directory)
        .bind(now_millis())
        .execute(&self.pools.get().writer)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn get_order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        let row: Option<OrderRow> =
            sqlx::query_as("SELECT id, order_number, status FROM orders WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(&self.pools.get().reader)
                .await?;
        match row {
            Some(r) => Ok(Some(self.load_order(r).await?)),
            None => Ok(None),
        }
    }

    async fn find_order(&self, id_or_number: &str) -> StoreResult<Option<Order>> {
        let row: Option<OrderRow> = sqlx::query_as(
            "SELECT id, order_number, status FROM orders WHERE id = ?1 OR order_number = ?1
             ORDER BY id = ?1 DESC LIMIT 1",
        )
        .bind(id_or_number)
        .fetch_optional(&self.pools.get().reader)
        .await?;
        match row {
            Some(r) => Ok(Some(self.load_order(r).await?)),
            None => Ok(None),
        }
    }

    async fn put_order(&self, order: &Order) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.pools.get().writer.begin().await?;
        sqlx::query(
            "INSERT INTO orders (id, order_number, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(id) DO UPDATE SET order_number = COALESCE(excluded.order_number, orders.order_number),
               status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(order.id.as_str())
        .bind(&order.number)
        .bind(order.status.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .on_unique(StoreError::OrderNumberTaken)?;
        sqlx::query("DELETE FROM order_participants WHERE order_id = ?")
            .bind(order.id.as_str())
            .execute(&mut *tx)
            .await?;
        let roles = std::iter::once((&order.customer_id, "customer"))
            .chain(order.agent_ids.iter().map(|a| (a, "agent")));
        for (position, (user, role)) in roles.enumerate() {
            sqlx::query(
                "INSERT INTO order_participants (order_id, user_id, role, position) VALUES (?, ?, ?, ?)
                 ON CONFLICT(order_id, user_id) DO NOTHING",
            )
            .bind(order.id.as_str())
            .bind(user.as_str())
            .bind(role)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn orders_of_user(&self, user: &UserId) -> StoreResult<Vec<ChatSummary>> {
        let rows: Vec<OrderRow> = sqlx::query_as(
            "SELECT o.id, o.order_number, o.status FROM orders o
             JOIN order_participants p ON p.order_id = o.id WHERE p.user_id = ?",
        )
        .bind(user.as_str())
        .fetch_all(&self.pools.get().reader)
        .await?;
        let unread: std::collections::HashMap<OrderId, i64> =
            self.unread_by_order(user).await?.into_iter().collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let order = self.load_order(row).await?;
            let last_message = self
                .history(&order.id, Page::Latest { limit: 1 })
                .await?
                .messages
                .pop();
            let unread = unread.get(&order.id).copied().unwrap_or(0);
            out.push(ChatSummary {
                order,
                last_message,
                unread,
            });
        }
        sort_by_activity(&mut out);
        Ok(out)
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted> {
        let (reply, answer) = oneshot::channel();
        self.inserts
            .send(InsertJob { msg, reply })
            .await
            .map_err(|_| StoreError::Batch("the message writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Batch("the message writer has stopped".into()))?
    }

    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History> {
        let fetch = i64::from(page.limit()) + 1;
        let (sql, cursor) = match page {
            Page::Latest { .. } => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?"
                ),
                0,
            ),
            Page::Before { seq, .. } => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
                ),
                seq,
            ),
            Page::After { seq, .. } => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?"
                ),
                seq,
            ),
        };
        let rows: Vec<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(order.as_str())
            .bind(cursor)
            .bind(fetch)
            .fetch_all(&self.pools.get().reader)
            .await?;
        Ok(page_of(rows, page))
    }

    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>> {
        let row: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = ? AND seq = ?"
        )))
        .bind(order.as_str())
        .bind(seq)
        .fetch_optional(&self.pools.get().reader)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM orders WHERE id = ?")
            .bind(order.as_str())
            .fetch_optional(&self.pools.get().reader)
            .await?;
        Ok(seq.unwrap_or(0))
    }
}

#[async_trait]
impl ReadStore for SqliteStore {
    async fn read_markers(&self, order: &OrderId) -> StoreResult<Vec<ReadMarker>> {
        let rows: Vec<MarkerRow> = sqlx::query_as(
            "SELECT user_id, last_read_seq, read_at FROM read_markers WHERE order_id = ? ORDER BY user_id",
        )
        .bind(order.as_str())
        .fetch_all(&self.pools.get().reader)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn advance_read_marker(
        &self,
        order: &OrderId,
        user: &UserId,
        seq: i64,
        at: Millis,
    ) -> StoreResult<Option<ReadMarker>> {
        // The WHERE makes the marker monotonic even with concurrent calls.
        let row: Option<MarkerRow> = sqlx::query_as(
            "INSERT INTO read_markers (order_id, user_id, last_read_seq, read_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(order_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, read_at = excluded.read_at
             WHERE excluded.last_read_seq > read_markers.last_read_seq
             RETURNING user_id, last_read_seq, read_at",
        )
        .bind(order.as_str())
        .bind(user.as_str())
        .bind(seq)
        .bind(at)
        .fetch_optional(&self.pools.get().writer)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn unread_by_order(&self, user: &UserId) -> StoreResult<Vec<(OrderId, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.order_id, COUNT(*) FROM order_participants p
             JOIN messages m ON m.order_id = p.order_id
             LEFT JOIN read_markers r ON r.order_id = p.order_id AND r.user_id = p.user_id
             WHERE p.user_id = ?1 AND m.sender_id <> ?1 AND m.seq > COALESCE(r.last_read_seq, 0)
             GROUP BY m.order_id ORDER BY m.order_id",
        )
        .bind(user.as_str())
        .fetch_all(&self.pools.get().reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(o, n)| (OrderId::from_trusted(o), n))
            .collect())
    }
}

/// Was this connection opened read-only (the file or its folder not writable at the time)?
async fn is_read_only(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the live handle of this connection, locked for the duration of the call;
    // sqlite3_db_readonly only reads its state. It returns 1 (read-only), 0, or -1 (no "main").
    let read_only = unsafe { libsqlite3_sys::sqlite3_db_readonly(db, c"main".as_ptr()) };
    Ok(read_only == 1)
}

/// Turn `limit + 1` fetched rows into a page: oldest first, and whether more lie beyond.
pub(super) fn page_of(rows: Vec<MessageRow>, page: Page) -> History {
    let limit = page.limit() as usize;
    let has_more = rows.len() > limit;
    let mut messages: Vec<StoredMessage> = rows.into_iter().take(limit).map(Into::into).collect();
    if !matches!(page, Page::After { .. }) {
        messages.reverse();
    }
    History { messages, has_more }
}
