//! Read markers on SQLite: the shared queries.

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::{Millis, OrderId, ReadMarker, UserId};
use crate::store::{ReadStore, StoreResult};

#[async_trait]
impl ReadStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn read_markers(&self, order: &OrderId) -> StoreResult<Vec<ReadMarker>> {
        self.pools.get().read_markers(order).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, user = %user, seq = seq))]
    async fn advance_read_marker(
        &self,
        order: &OrderId,
        user: &UserId,
        seq: i64,
        at: Millis,
    ) -> StoreResult<Option<ReadMarker>> {
        self.pools
            .get()
            .advance_read_marker(order, user, seq, at)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn unread_by_order(&self, user: &UserId) -> StoreResult<Vec<(OrderId, i64)>> {
        self.pools.get().unread_by_order(user).await
    }
}
