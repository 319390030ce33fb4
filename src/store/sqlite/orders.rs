//! Orders on SQLite: the shared queries (writes go through the one writer connection).

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::{ChatSummary, Order, OrderId, UserId};
use crate::store::{OrderStore, StoreResult};

#[async_trait]
impl OrderStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %id))]
    async fn get_order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        self.pools.get().get_order(id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %id_or_number))]
    async fn find_order(&self, id_or_number: &str) -> StoreResult<Option<Order>> {
        self.pools.get().find_order(id_or_number).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order.id))]
    async fn put_order(&self, order: &Order) -> StoreResult<()> {
        self.pools.get().put_order(order).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn orders_of_user(&self, user: &UserId) -> StoreResult<Vec<ChatSummary>> {
        self.pools.get().orders_of_user(user).await
    }
}
