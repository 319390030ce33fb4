//! Attachments and leases on PostgreSQL: the shared queries.

use async_trait::async_trait;

use super::PgStore;
use crate::domain::{Attachment, Millis, OrderId, StoredAttachment, UserId};
use crate::store::{AttachmentStore, StoreResult};

#[async_trait]
impl AttachmentStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(order = %a.order_id, attachment = %a.id))]
    async fn put_attachment(&self, a: &Attachment) -> StoreResult<()> {
        self.pools.put_attachment(a).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = ids.len()))]
    async fn attachments_by_id(&self, ids: &[String]) -> StoreResult<Vec<Attachment>> {
        self.pools.attachments_by_id(ids).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(attachment = %id))]
    async fn attachment(&self, id: &str) -> StoreResult<Option<StoredAttachment>> {
        self.pools.attachment(id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order = %order, message = %message_id))]
    async fn claim_attachments(
        &self,
        ids: &[String],
        order: &OrderId,
        uploader: &UserId,
        message_id: &str,
    ) -> StoreResult<Vec<String>> {
        let pools = &self.pools;
        pools
            .claim_attachments(ids, order, uploader, message_id)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(message = %message_id))]
    async fn release_attachments(&self, message_id: &str) -> StoreResult<()> {
        self.pools.release_attachments(message_id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(message = %message_id))]
    async fn remove_attachments_of(
        &self,
        message_id: &str,
        at: Millis,
    ) -> StoreResult<Vec<Attachment>> {
        self.pools.remove_attachments_of(message_id, at).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn expire_unattached(&self, before: Millis, at: Millis) -> StoreResult<u64> {
        self.pools.expire_unattached(before, at).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn removed_attachments(&self, limit: i64) -> StoreResult<Vec<Attachment>> {
        self.pools.removed_attachments(limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = ids.len()))]
    async fn forget_attachments(&self, ids: &[String]) -> StoreResult<()> {
        self.pools.forget_attachments(ids).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(lease = %name))]
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> StoreResult<bool> {
        self.pools.take_lease(name, holder, now, until).await
    }
}
