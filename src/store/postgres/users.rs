//! Users on PostgreSQL: the shared queries.

use async_trait::async_trait;

use super::PgStore;
use crate::domain::{ProfileSource, User, UserId};
use crate::store::{StoreResult, UserStore};

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %id))]
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.pools.get_user(id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = ids.len()))]
    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        self.pools.get_users(ids).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user.id))]
    async fn put_user(
        &self,
        user: &User,
        source: ProfileSource,
        blocked: Option<bool>,
    ) -> StoreResult<()> {
        self.pools.put_user(user, source, blocked).await
    }
}
