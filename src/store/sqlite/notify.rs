//! Notifications on SQLite: the shared queries (shared/notify.rs); writes on the one writer connection.

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::{
    Attempt, Delivery, DueOrder, Millis, NotifyLeads, NotifyState, OrderId, PushSubscription,
    ScanRecord, Unnotified, UserId,
};
use crate::store::shared::CLAIM_SQLITE as CLAIM;
use crate::store::{NotificationStore, StoreResult};

#[async_trait]
impl NotificationStore for SqliteStore {
    fn set_notify_leads(&self, leads: NotifyLeads) {
        self.leads.set(leads);
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn due_orders(&self, now: Millis, limit: i64) -> StoreResult<Vec<DueOrder>> {
        self.pools.get().due_orders(now, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order))]
    async fn notify_state(&self, order: &OrderId) -> StoreResult<NotifyState> {
        self.pools.get().notify_state(order).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, user = %user))]
    async fn unnotified(
        &self,
        order: &OrderId,
        user: &UserId,
        after: i64,
    ) -> StoreResult<Option<Unnotified>> {
        self.pools.get().unnotified(order, user, after).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(orders = scans.len()))]
    async fn record_scans(&self, scans: &[(OrderId, ScanRecord)]) -> StoreResult<()> {
        self.pools.get().record_scans(scans).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_deliveries(
        &self,
        now: Millis,
        lock_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        self.pools
            .get()
            .claim_deliveries(CLAIM, now, lock_until, limit)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(deliveries = done.len()))]
    async fn finish_deliveries(
        &self,
        done: &[(String, Attempt)],
        hasten_webhooks: bool,
        now: Millis,
    ) -> StoreResult<()> {
        self.pools
            .get()
            .finish_deliveries(done, hasten_webhooks, now)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn prune_deliveries(
        &self,
        delivered_before: Millis,
        dead_before: Millis,
    ) -> StoreResult<u64> {
        self.pools
            .get()
            .prune_deliveries(delivered_before, dead_before)
            .await
    }

    async fn pending_deliveries(&self) -> StoreResult<i64> {
        self.pools.get().pending_deliveries().await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %sub.user_id))]
    async fn put_push_subscription(
        &self,
        sub: &PushSubscription,
        max_per_user: usize,
    ) -> StoreResult<bool> {
        self.pools
            .get()
            .put_push_subscription(sub, max_per_user, None)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn delete_push_subscription(&self, user: &UserId, endpoint: &str) -> StoreResult<bool> {
        self.pools
            .get()
            .delete_push_subscription(user, endpoint)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn forget_push_endpoint(&self, endpoint: &str) -> StoreResult<()> {
        self.pools.get().forget_push_endpoint(endpoint).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn push_subscriptions_of(&self, user: &UserId) -> StoreResult<Vec<PushSubscription>> {
        self.pools.get().push_subscriptions_of(user).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = endpoints.len()))]
    async fn push_subscriptions(&self, endpoints: &[String]) -> StoreResult<Vec<PushSubscription>> {
        self.pools.get().push_subscriptions(endpoints).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, user = %user))]
    async fn set_muted(
        &self,
        order: &OrderId,
        user: &UserId,
        muted: bool,
        at: Millis,
    ) -> StoreResult<()> {
        self.pools.get().set_muted(order, user, muted, at).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, user = %user))]
    async fn is_muted(&self, order: &OrderId, user: &UserId) -> StoreResult<bool> {
        self.pools.get().is_muted(order, user).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(setting = %name))]
    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        self.pools.get().setting_or_insert(name, value).await
    }
}
