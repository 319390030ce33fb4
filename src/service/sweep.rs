//! The attachment sweep: uploads no message took within 24 h are removed, and the bytes of
//! removed attachments (expired, or of a deleted message) are deleted, then their rows. The
//! work is a loop over the table (rows stay until their bytes are gone), so it survives a
//! crash or restart; a lease in the database lets one node of a cluster run it at a time.

use std::sync::Arc;

use super::ChatService;
use crate::domain::{Attachment, Millis, Variant, now_millis};
use crate::error::ChatResult;

const LEASE: &str = "attachment-sweep";
/// Removed attachments handled per round.
const BATCH: i64 = 200;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Uploads that expired unattached in this sweep.
    pub expired: u64,
    /// Attachments whose bytes and rows were deleted.
    pub purged: usize,
}

impl ChatService {
    /// One sweep at `now`: expire old unattached uploads, then purge every removed one.
    pub async fn sweep_attachments(&self, now: Millis) -> ChatResult<SweepReport> {
        let ttl = self.media.settings.unattached_ttl.as_millis() as Millis;
        let expired = self.store.expire_unattached(now - ttl, now).await?;
        let mut purged = 0;
        loop {
            let batch = self.store.removed_attachments(BATCH).await?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len();
            let done = self.purge(batch).await;
            purged += done;
            // Bytes that could not be deleted keep their rows: the next sweep retries.
            if done < n {
                break;
            }
        }
        Ok(SweepReport { expired, purged })
    }

    /// Delete the bytes of removed attachments, then the rows of those whose bytes are gone.
    /// Returns how many were purged.
    pub(super) async fn purge(&self, removed: Vec<Attachment>) -> usize {
        let mut gone = Vec::with_capacity(removed.len());
        for a in removed {
            let mut ok = true;
            for variant in [Variant::Original, Variant::Thumbnail] {
                if let Err(e) = self.media.blobs.delete(&variant.key(&a.id)).await {
                    tracing::warn!(attachment = %a.id, error = %e, "cannot delete attachment bytes");
                    ok = false;
                }
            }
            if ok {
                gone.push(a.id);
            }
        }
        if let Err(e) = self.store.forget_attachments(&gone).await {
            tracing::warn!(error = %e, "cannot forget purged attachments (the sweep retries)");
            return 0;
        }
        gone.len()
    }

    /// Run the sweep every `sweep_every` for as long as the service lives, on whichever node
    /// holds the lease (`holder` names this process).
    pub fn spawn_sweeper(self: &Arc<Self>, holder: String) -> tokio::task::JoinHandle<()> {
        let every = self.media.settings.sweep_every;
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(svc) = weak.upgrade() else { return };
                let now = now_millis();
                let until = now + every.as_millis() as Millis;
                match svc.store.take_lease(LEASE, &holder, now, until).await {
                    Ok(true) => match svc.sweep_attachments(now).await {
                        Ok(r) if r.expired > 0 || r.purged > 0 => {
                            tracing::info!(
                                expired = r.expired,
                                purged = r.purged,
                                "attachment sweep"
                            );
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "attachment sweep failed"),
                    },
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot take the sweep lease"),
                }
            }
        })
    }
}
