//! The production backend: PostgreSQL.
//!
//! Several nodes share one database. The per-order `seq` stays gapless because the insert
//! bumps `orders.last_seq` with an UPDATE, which row-locks the order until commit: senders on
//! every node take turns per order, and a repeated `clientMessageId` is checked under that lock.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::rows::{
    MESSAGE_COLUMNS, MarkerRow, MessageRow, OnUnique, OrderRow, ParticipantRow, UserRow,
    order_from_rows, sort_by_activity,
};
use super::sqlite::page_of;
use super::*;
use crate::domain::now_millis;
use crate::domain::{
    ChatSummary, History, Inserted, NewMessage, Order, Page, ProfileSource, ReadMarker,
    StoredMessage, User,
};

pub struct PgStore {
    writer: PgPool,
    reader: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A database that is down answers in seconds, not after sqlx's default 30 s.
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        // One pool: PostgreSQL has no single-writer rule; the names keep the code shared in shape.
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
        })
    }

    async fn load_order(&self, row: OrderRow) -> StoreResult<Order> {
        let parts: Vec<ParticipantRow> = sqlx::query_as(
            "SELECT user_id, role FROM order_participants WHERE order_id = $1 ORDER BY position",
        )
        .bind(&row.id)
        .fetch_all(&self.reader)
        .await?;
        Ok(order_from_rows(row, parts))
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, name, user_type, display_image, blocked FROM users WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.reader)
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
             VALUES ($1, $2, $3, $4, COALESCE($5, FALSE), $6, $7)
             ON CONFLICT(id) DO UPDATE SET
               name = excluded.name, user_type = excluded.user_type,
               display_image = excluded.display_image,
               blocked = COALESCE($5, users.blocked),
               directory = users.directory OR excluded.directory,
               updated_at = excluded.updated_at
             WHERE excluded.directory OR NOT users.directory",
        )
        .bind(user.id.as_str())
        .bind(&user.name)
        .bind(user.user_type.as_str())
        .bind(&user.display_image)
        .bind(blocked)
        .bind(directory)
        .bind(now_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl OrderStore for PgStore {
    async fn get_order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        let row: Option<OrderRow> =
            sqlx::query_as("SELECT id, order_number, status FROM orders WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.reader)
                .await?;
        match row {
            Some(r) => Ok(Some(self.load_order(r).await?)),
            None => Ok(None),
        }
    }

    async fn find_order(&self, id_or_number: &str) -> StoreResult<Option<Order>> {
        let row: Option<OrderRow> = sqlx::query_as(
            "SELECT id, order_number, status FROM orders WHERE id = $1 OR order_number = $1
             ORDER BY (id = $1) DESC LIMIT 1",
        )
        .bind(id_or_number)
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(r) => Ok(Some(self.load_order(r).await?)),
            None => Ok(None),
        }
    }

    async fn put_order(&self, order: &Order) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO orders (id, order_number, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
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
        sqlx::query("DELETE FROM order_participants WHERE order_id = $1")
            .bind(order.id.as_str())
            .execute(&mut *tx)
            .await?;
        let roles = std::iter::once((&order.customer_id, "customer"))
            .chain(order.agent_ids.iter().map(|a| (a, "agent")));
        for (position, (user, role)) in roles.enumerate() {
            sqlx::query(
                "INSERT INTO order_participants (order_id, user_id, role, position) VALUES ($1, $2, $3, $4)
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
             JOIN order_participants p ON p.order_id = o.id WHERE p.user_id = $1",
        )
        .bind(user.as_str())
        .fetch_all(&self.reader)
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
impl MessageStore for PgStore {
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted> {
        let mut tx = self.writer.begin().await?;
        // Lock the order row first: a concurrent send of the same clientMessageId (on any node)
        // then waits here and finds the first one's row below instead of violating the index.
        let locked: Option<i64> =
            sqlx::query_scalar("SELECT last_seq FROM orders WHERE id = $1 FOR UPDATE")
                .bind(msg.order_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if locked.is_none() {
            return Err(StoreError::MissingOrder(msg.order_id.to_string()));
        }
        if let Some(cid) = &msg.client_message_id {
            let existing: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE order_id = $1 AND sender_id = $2 AND client_message_id = $3"
            )))
            .bind(msg.order_id.as_str())
            .bind(&msg.sender_id)
            .bind(cid.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                tx.commit().await?;
                return Ok(Inserted {
                    message: row.into(),
                    created: false,
                });
            }
        }
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE orders SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .bind(msg.order_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else {
            return Err(StoreError::MissingOrder(msg.order_id.to_string()));
        };
        let attachments =
            serde_json::to_string(&msg.attachment_ids).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO messages (id, order_id, seq, sender_id, sender_type, body, image_url,
               attachments, client_message_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&msg.id)
        .bind(msg.order_id.as_str())
        .bind(seq)
        .bind(&msg.sender_id)
        .bind(msg.sender_type.as_str())
        .bind(&msg.body)
        .bind(&msg.image_url)
        .bind(&attachments)
        .bind(msg.client_message_id.as_ref().map(|c| c.as_str()))
        .bind(msg.created_at)
        .bind(msg.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Inserted {
            message: msg.stored(seq),
            created: true,
        })
    }

    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History> {
        let fetch = i64::from(page.limit()) + 1;
        let (sql, cursor) = match page {
            Page::Latest { .. } => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3"
                ),
                0,
            ),
            Page::Before { seq, .. } => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
                ),
                seq,
            ),
            Page::After { seq, .. } => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3"
                ),
                seq,
            ),
        };
        let rows: Vec<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(order.as_str())
            .bind(cursor)
            .bind(fetch)
            .fetch_all(&self.reader)
            .await?;
        Ok(page_of(rows, page))
    }

    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>> {
        let row: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = $1 AND seq = $2"
        )))
        .bind(order.as_str())
        .bind(seq)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM orders WHERE id = $1")
            .bind(order.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(seq.unwrap_or(0))
    }
}

#[async_trait]
impl ReadStore for PgStore {
    async fn read_markers(&self, order: &OrderId) -> StoreResult<Vec<ReadMarker>> {
        let rows: Vec<MarkerRow> = sqlx::query_as(
            "SELECT user_id, last_read_seq, read_at FROM read_markers WHERE order_id = $1 ORDER BY user_id",
        )
        .bind(order.as_str())
        .fetch_all(&self.reader)
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
            "INSERT INTO read_markers (order_id, user_id, last_read_seq, read_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT(order_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, read_at = excluded.read_at
             WHERE excluded.last_read_seq > read_markers.last_read_seq
             RETURNING user_id, last_read_seq, read_at",
        )
        .bind(order.as_str())
        .bind(user.as_str())
        .bind(seq)
        .bind(at)
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn unread_by_order(&self, user: &UserId) -> StoreResult<Vec<(OrderId, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.order_id, COUNT(*) FROM order_participants p
             JOIN messages m ON m.order_id = p.order_id
             LEFT JOIN read_markers r ON r.order_id = p.order_id AND r.user_id = p.user_id
             WHERE p.user_id = $1 AND m.sender_id <> $1 AND m.seq > COALESCE(r.last_read_seq, 0)
             GROUP BY m.order_id ORDER BY m.order_id",
        )
        .bind(user.as_str())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(o, n)| (OrderId::from_trusted(o), n))
            .collect())
    }
}
