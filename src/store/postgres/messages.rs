//! Messages on PostgreSQL. Inserts go to the group-commit writer (`writer.rs`), which row-locks
//! their orders; a change row-locks its order in its own transaction. Reads are the shared
//! queries.

use async_trait::async_trait;

use super::PgStore;
use std::collections::HashMap;

use sqlx::Postgres;

use crate::domain::{
    Applied, Change, History, HistoryWithExtras, Inserted, MessageId, NewMessage, OrderId, Page,
    Reaction, Refusal, Revision, StoredMessage,
};
use crate::store::shared::{ChangePlan, plan, read_change, write_change};
use crate::store::{MessageStore, ReactionStore, StoreResult};

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
        self.writers.insert(msg).await
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

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn history_with_extras(
        &self,
        order: &OrderId,
        page: Page,
    ) -> StoreResult<HistoryWithExtras> {
        self.pools.history_with_extras(order, page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, seq = seq))]
    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>> {
        self.pools.message_at(order, seq).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        self.pools.last_seq(order).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn last_rev(&self, order: &OrderId) -> StoreResult<i64> {
        self.pools.last_rev(order).await
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
