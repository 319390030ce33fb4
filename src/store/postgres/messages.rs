//! Messages on PostgreSQL. Inserts and changes go to the group-commit writer (`writer.rs`),
//! which row-locks their orders. Reads are the shared queries.

use async_trait::async_trait;

use super::PgStore;
use std::collections::HashMap;

use crate::domain::{
    Applied, Change, History, HistoryWithExtras, Inserted, MessageId, NewMessage, OrderId, Page,
    Reaction, Revision, StoredMessage,
};
use crate::store::{MessageStore, ReactionStore, StoreResult};

#[async_trait]
impl MessageStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %msg.order_id, user = %msg.sender_id))]
    async fn insert_message(&self, msg: NewMessage) -> StoreResult<Inserted> {
        self.writers.insert(msg).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, message = %change.message_id()))]
    async fn apply_change(&self, order: &OrderId, change: Change) -> StoreResult<Applied> {
        self.writers.change(order, change).await
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
