//! Messages on SQLite: inserts are queued for the group-commit writer (`writer.rs`), which
//! numbers them; reads are the shared queries.

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::SqliteStore;
use super::writer::InsertJob;
use crate::domain::{History, Inserted, NewMessage, OrderId, Page, StoredMessage};
use crate::store::{MessageStore, StoreError, StoreResult};

#[async_trait]
impl MessageStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %msg.order_id, user = %msg.sender_id))]
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

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History> {
        self.pools.get().history(order, page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, seq = seq))]
    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>> {
        self.pools.get().message_at(order, seq).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        self.pools.get().last_seq(order).await
    }
}
