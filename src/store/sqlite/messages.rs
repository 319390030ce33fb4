//! Messages on SQLite: inserts are queued for the group-commit writer (`writer.rs`), which
//! numbers them; reads are the shared queries.

use async_trait::async_trait;
use tokio::sync::oneshot;

use std::collections::HashMap;

use super::SqliteStore;
use super::jobs::{ChangeJob, InsertJob, Job};
use crate::domain::{
    Applied, Change, History, HistoryWithExtras, Inserted, MessageId, NewMessage, OrderId, Page,
    Reaction, Revision, StoredMessage,
};
use crate::store::{MessageStore, ReactionStore, StoreError, StoreResult};

impl SqliteStore {
    /// Queue a write for the group-commit writer and wait for its commit.
    async fn write<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<T> {
        let stopped = || StoreError::Batch("the message writer has stopped".into());
        self.writes.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %msg.order_id, user = %msg.sender_id))]
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted> {
        let (reply, answer) = oneshot::channel();
        self.write(Job::Insert(InsertJob { msg, reply }), answer)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, message = %change.message_id()))]
    async fn apply_change(&self, order: &OrderId, change: Change) -> StoreResult<Applied> {
        let (reply, answer) = oneshot::channel();
        let job = ChangeJob {
            order: order.clone(),
            change,
            reply,
        };
        self.write(Job::Change(job), answer).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn messages_by_id(
        &self,
        order: &OrderId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<StoredMessage>> {
        self.pools.get().messages_by_id(order, ids).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, message = %message))]
    async fn revisions(&self, order: &OrderId, message: &MessageId) -> StoreResult<Vec<Revision>> {
        self.pools.get().revisions(order, message).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History> {
        self.pools.get().history(order, page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn history_with_extras(
        &self,
        order: &OrderId,
        page: Page,
    ) -> StoreResult<HistoryWithExtras> {
        self.pools.get().history_with_extras(order, page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, seq = seq))]
    async fn message_at(&self, order: &OrderId, seq: i64) -> StoreResult<Option<StoredMessage>> {
        self.pools.get().message_at(order, seq).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        self.pools.get().last_seq(order).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn last_rev(&self, order: &OrderId) -> StoreResult<i64> {
        self.pools.get().last_rev(order).await
    }
}

#[async_trait]
impl ReactionStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn reactions(
        &self,
        order: &OrderId,
        messages: &[MessageId],
    ) -> StoreResult<HashMap<MessageId, Vec<Reaction>>> {
        self.pools.get().reactions(messages).await
    }
}
