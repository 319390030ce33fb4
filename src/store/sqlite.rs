//! The embedded default: SQLite in WAL mode.
//!
//! Writes go through a pool of exactly one connection: SQLite allows one writer at a time, and
//! queueing in-process is cheaper and fairer than letting connections fight over the lock
//! (SQLITE_BUSY). Reads use their own pool and never wait for the writer (WAL).
//!
//! `synchronous = FULL`: a send is acknowledged only after its commit is on disk. In WAL mode
//! NORMAL could lose the last commits on power loss; an acked message must survive that.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::QueryBuilder;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use super::rows::{
    MESSAGE_COLUMNS, MarkerRow, MessageRow, OrderRow, ParticipantRow, UserRow, order_from_rows,
    sort_by_activity,
};
use super::*;
use crate::domain::now_millis;

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
        .bind(&order.status)
        .bind(now)
        .execute(&mut *tx)
        .await?;
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

/// One message waiting for the group commit.
struct InsertJob {
    msg: NewMessage,
    reply: oneshot::Sender<StoreResult<Inserted>>,
}

/// Most messages one commit carries.
const MAX_BATCH: usize = 512;

/// Group commit: every message waiting when the writer is free goes into one transaction, so
/// one fsync (synchronous = FULL) covers them all. Replies go out only after the commit: an ack
/// always means "on disk".
///
/// This task is the only writer of messages (SQLite serves one node), so it keeps each order's
/// last `seq` in memory: a message costs one INSERT, and each order touched by a batch one
/// UPDATE of `orders.last_seq` at its end. If anything in a batch fails, the whole batch rolls
/// back, the cached counters of its orders are forgotten (re-read next time), and every message
/// of it is answered with the error: no gap, no half-written batch.
async fn group_commit(pools: Arc<PoolCell>, mut jobs: mpsc::Receiver<InsertJob>) {
    let mut writer = Writer {
        pools,
        seqs: HashMap::new(),
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = std::time::Instant::now();
        let outcome = writer.insert_batch(&batch).await;
        tracing::trace!(
            size = batch.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "message batch"
        );
        match outcome {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(error = %reason, size = batch.len(), "message batch failed");
                for job in batch.drain(..) {
                    writer.seqs.remove(&job.msg.order_id);
                    let _ = job.reply.send(Err(StoreError::Batch(reason.clone())));
                }
            }
        }
    }
}

/// Counters beyond this many orders are dropped (and re-read when needed).
const MAX_CACHED_ORDERS: usize = 100_000;

struct Writer {
    pools: Arc<PoolCell>,
    /// Last `seq` per order, as committed.
    seqs: HashMap<OrderId, i64>,
}

/// Most rows one INSERT statement carries (11 parameters each; SQLite allows 32,766).
const ROWS_PER_INSERT: usize = 500;

type ClientKey = (OrderId, String, String);

fn client_key(msg: &NewMessage) -> Option<ClientKey> {
    msg.client_message_id.as_ref().map(|c| {
        (
            msg.order_id.clone(),
            msg.sender_id.clone(),
            c.as_str().to_owned(),
        )
    })
}

/// What became of one message of a batch.
enum Outcome {
    New(i64),
    Existing(StoredMessage),
    /// A repeat, within this batch, of the message at that index.
    SameAs(usize),
    Failed(StoreError),
}

impl Writer {
    /// A batch costs a handful of statements whatever its size: one lookup of repeated
    /// `clientMessageId`s, one of unknown orders' counters, multi-row INSERTs, one UPDATE.
    async fn insert_batch(
        &mut self,
        batch: &[InsertJob],
    ) -> StoreResult<Vec<StoreResult<Inserted>>> {
        // Optimistic: a repeated clientMessageId of an earlier batch is rare (a client retrying
        // after a lost ack), and the unique index refuses it anyway. Only then is the batch
        // done again, looking every key up first.
        let pool = self.pools.get().writer.clone();
        let mut conn = pool.acquire().await?;
        let result = match self.attempt(&mut conn, batch, false).await {
            Err(StoreError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                self.attempt(&mut conn, batch, true).await
            }
            other => other,
        };
        if let Err(e) = &result
            && is_read_only_error(e)
        {
            drop(conn);
            self.pools.reopen().await;
        }
        result
    }

    async fn attempt(
        &mut self,
        conn: &mut sqlx::SqliteConnection,
        batch: &[InsertJob],
        look_up_repeats: bool,
    ) -> StoreResult<Vec<StoreResult<Inserted>>> {
        let mut tx = sqlx::Connection::begin(conn).await?;

        // Messages already stored under the same (order, sender, clientMessageId).
        let keyed: Vec<ClientKey> = if look_up_repeats {
            batch.iter().filter_map(|j| client_key(&j.msg)).collect()
        } else {
            Vec::new()
        };
        let mut existing: HashMap<ClientKey, StoredMessage> = HashMap::new();
        for chunk in keyed.chunks(ROWS_PER_INSERT) {
            // Driven from the list (CROSS JOIN keeps that order), each key is one index
            // lookup; a row-value IN list would scan the whole index instead.
            let columns = MESSAGE_COLUMNS
                .split(", ")
                .map(|c| format!("m.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = QueryBuilder::new(format!("SELECT {columns} FROM ("));
            q.push_values(chunk, |mut row, (order, sender, cid)| {
                row.push_bind(order.as_str())
                    .push_bind(sender)
                    .push_bind(cid);
            });
            q.push(
                ") AS k CROSS JOIN messages m ON m.order_id = k.column1 \
                 AND m.sender_id = k.column2 AND m.client_message_id = k.column3",
            );
            let rows: Vec<MessageRow> = q.build_query_as().fetch_all(&mut *tx).await?;
            for row in rows {
                let m: StoredMessage = row.into();
                if let Some(cid) = m.client_message_id.clone() {
                    existing.insert((m.order_id.clone(), m.sender_id.clone(), cid), m);
                }
            }
        }

        // Counters of the orders this writer has not seen yet.
        let mut unknown: Vec<&str> = batch
            .iter()
            .filter(|j| !self.seqs.contains_key(&j.msg.order_id))
            .map(|j| j.msg.order_id.as_str())
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for chunk in unknown.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::new("SELECT id, last_seq FROM orders WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
            for (id, seq) in rows {
                self.seqs.insert(OrderId::from_trusted(id), seq);
            }
        }

        // Number the new messages, in arrival order per order.
        let mut next: HashMap<OrderId, i64> = HashMap::new();
        let mut first_of: HashMap<ClientKey, usize> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, job) in batch.iter().enumerate() {
            let key = client_key(&job.msg);
            if let Some(k) = &key {
                if let Some(m) = existing.get(k) {
                    outcomes.push(Outcome::Existing(m.clone()));
                    continue;
                }
                if let Some(&first) = first_of.get(k) {
                    outcomes.push(Outcome::SameAs(first));
                    continue;
                }
            }
            let order = &job.msg.order_id;
            let Some(current) = next.get(order).or_else(|| self.seqs.get(order)).copied() else {
                outcomes.push(Outcome::Failed(StoreError::MissingOrder(order.to_string())));
                continue;
            };
            next.insert(order.clone(), current + 1);
            if let Some(k) = key {
                first_of.insert(k, i);
            }
            outcomes.push(Outcome::New(current + 1));
        }

        let new: Vec<(&NewMessage, i64)> = batch
            .iter()
            .zip(&outcomes)
            .filter_map(|(j, o)| match o {
                Outcome::New(seq) => Some((&j.msg, *seq)),
                _ => None,
            })
            .collect();
        for chunk in new.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::new(
                "INSERT INTO messages (id, order_id, seq, sender_id, sender_type, body, image_url, \
                 attachments, client_message_id, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut row, (msg, seq)| {
                let attachments =
                    serde_json::to_string(&msg.attachment_ids).unwrap_or_else(|_| "[]".into());
                row.push_bind(msg.id.as_str())
                    .push_bind(msg.order_id.as_str())
                    .push_bind(*seq)
                    .push_bind(msg.sender_id.as_str())
                    .push_bind(msg.sender_type.as_str())
                    .push_bind(msg.body.as_str())
                    .push_bind(msg.image_url.as_deref())
                    .push_bind(attachments)
                    .push_bind(msg.client_message_id.as_ref().map(|c| c.as_str()))
                    .push_bind(msg.created_at)
                    .push_bind(msg.created_at);
            });
            q.build().execute(&mut *tx).await?;
        }
        if !next.is_empty() {
            let mut q = QueryBuilder::new(
                "UPDATE orders SET last_seq = (SELECT MAX(seq) FROM messages \
                 WHERE messages.order_id = orders.id) WHERE id IN (",
            );
            let mut list = q.separated(", ");
            for order in next.keys() {
                list.push_bind(order.as_str());
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;

        if self.seqs.len() > MAX_CACHED_ORDERS {
            self.seqs.clear();
        }
        self.seqs.extend(next);
        let mut results: Vec<StoreResult<Inserted>> = Vec::with_capacity(batch.len());
        for (job, outcome) in batch.iter().zip(outcomes) {
            let result = match outcome {
                Outcome::New(seq) => Ok(Inserted {
                    message: stored(job.msg.clone(), seq),
                    created: true,
                }),
                Outcome::Existing(m) => Ok(Inserted {
                    message: m,
                    created: false,
                }),
                Outcome::SameAs(first) => match &results[first] {
                    Ok(original) => Ok(Inserted {
                        message: original.message.clone(),
                        created: false,
                    }),
                    Err(e) => Err(StoreError::Batch(e.to_string())),
                },
                Outcome::Failed(e) => Err(e),
            };
            results.push(result);
        }
        Ok(results)
    }
}

/// The stored form of a message just inserted.
pub(super) fn stored(msg: NewMessage, seq: i64) -> StoredMessage {
    StoredMessage {
        id: msg.id,
        order_id: msg.order_id,
        seq,
        sender_id: msg.sender_id,
        sender_type: msg.sender_type,
        body: msg.body,
        image_url: msg.image_url,
        attachment_ids: msg.attachment_ids,
        client_message_id: msg.client_message_id.map(|c| c.as_str().to_owned()),
        created_at: msg.created_at,
        updated_at: msg.created_at,
    }
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
