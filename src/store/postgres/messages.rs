//! Messages on PostgreSQL. The insert is this backend's own: several nodes write, so each
//! insert row-locks its order (SQLite instead numbers messages in its one writer task). Reads
//! are the shared queries.

use async_trait::async_trait;

use super::PgStore;
use std::collections::HashMap;

use sqlx::Postgres;

use crate::domain::{
    Applied, Change, History, Inserted, MessageId, NewMessage, OrderId, Page, Reaction, Refusal,
    Revision, StoredMessage,
};
use crate::store::shared::{
    ChangePlan, MessageRow, message_columns, plan, read_change, write_change,
};
use crate::store::{MessageStore, ReactionStore, StoreError, StoreResult};

// The insert path is PostgreSQL's own: SQLite has no `FOR UPDATE` row locks, and its writer
// task numbers messages in memory and inserts them in multi-row statements instead.
const LOCK_ORDER: &str = "SELECT last_seq FROM orders WHERE id = $1 FOR UPDATE";

const SAME_CLIENT_MESSAGE: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = $1 AND sender_id = $2 AND client_message_id = $3"
);

/// `$2`: when this message makes the order due for the notifier (NULL: it does not), never
/// later than a time already set.
const NEXT_SEQ: &str = "UPDATE orders SET last_seq = last_seq + 1, last_rev = last_rev + 1,
       notify_at = CASE WHEN $2::BIGINT IS NULL THEN notify_at
                        WHEN notify_at IS NULL OR notify_at > $2 THEN $2 ELSE notify_at END
     WHERE id = $1 RETURNING last_seq, last_rev";

const INSERT_MESSAGE: &str =
    "INSERT INTO messages (id, order_id, seq, sender_id, sender_type, body, image_url,
       attachments, client_message_id, created_at, updated_at, rev, reply_to_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// A change holds the order's row lock from here to its commit: changes (and sends) of one
/// order take turns on every node, and revs commit in the order they were taken.
const LOCK_ORDER_REV: &str = "SELECT last_rev FROM orders WHERE id = $1 FOR UPDATE";

const NEXT_REV: &str = "UPDATE orders SET last_rev = last_rev + 1,
       notify_at = CASE WHEN $2::BIGINT IS NULL THEN notify_at
                        WHEN notify_at IS NULL OR notify_at > $2 THEN $2 ELSE notify_at END
     WHERE id = $1 RETURNING last_rev";

#[async_trait]
impl MessageStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %msg.order_id, user = %msg.sender_id))]
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted> {
        let mut tx = self.pools.writer.begin().await?;
        // Lock the order row first: a concurrent send of the same clientMessageId (on any node)
        // then waits here and finds the first one's row below instead of violating the index.
        let locked: Option<i64> = sqlx::query_scalar(LOCK_ORDER)
            .bind(msg.order_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if locked.is_none() {
            return Err(StoreError::MissingOrder(msg.order_id.to_string()));
        }
        if let Some(cid) = &msg.client_message_id {
            let existing: Option<MessageRow> = sqlx::query_as(SAME_CLIENT_MESSAGE)
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
        let numbers: Option<(i64, i64)> = sqlx::query_as(NEXT_SEQ)
            .bind(msg.order_id.as_str())
            .bind(self.leads.for_message(msg.created_at))
            .fetch_optional(&mut *tx)
            .await?;
        let Some((seq, rev)) = numbers else {
            return Err(StoreError::MissingOrder(msg.order_id.to_string()));
        };
        let attachments =
            serde_json::to_string(&msg.attachment_ids).unwrap_or_else(|_| "[]".into());
        sqlx::query(INSERT_MESSAGE)
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
            .bind(rev)
            .bind(msg.reply_to_id.as_ref().map(|r| r.as_str()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Inserted {
            message: msg.stored(seq, rev),
            created: true,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, message = %change.message_id()))]
    async fn apply_change(&self, order: &OrderId, change: Change) -> StoreResult<Applied> {
        let mut tx = self.pools.writer.begin().await?;
        let locked: Option<i64> = sqlx::query_scalar(LOCK_ORDER_REV)
            .bind(order.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if locked.is_none() {
            return Ok(Applied::Refused(Refusal::NotFound));
        }
        let (current, counts) = read_change::<Postgres>(&mut tx, order, &change).await?;
        let applied = match plan(&change, current, counts) {
            ChangePlan::Done(applied) => applied,
            ChangePlan::Write(m) => {
                let rev: i64 = sqlx::query_scalar(NEXT_REV)
                    .bind(order.as_str())
                    .bind(self.leads.for_change(crate::domain::now_millis()))
                    .fetch_one(&mut *tx)
                    .await?;
                Applied::Changed(write_change::<Postgres>(&mut tx, &change, m, rev).await?)
            }
        };
        tx.commit().await?;
        Ok(applied)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn messages_by_id(
        &self,
        order: &OrderId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<StoredMessage>> {
        self.pools.messages_by_id(order, ids).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, message = %message))]
    async fn revisions(&self, order: &OrderId, message: &MessageId) -> StoreResult<Vec<Revision>> {
        self.pools.revisions(order, message).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History> {
        self.pools.history(order, page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, seq = seq))]
    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>> {
        self.pools.message_at(order, seq).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        self.pools.last_seq(order).await
    }
}

#[async_trait]
impl ReactionStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn reactions(
        &self,
        order: &OrderId,
        messages: &[MessageId],
    ) -> StoreResult<HashMap<MessageId, Vec<Reaction>>> {
        self.pools.reactions(messages).await
    }
}
