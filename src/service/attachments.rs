//! Attachments (§12): uploads (access first, then the pipeline off the runtime behind the
//! decode gate, then the bytes, then the row), the ownership rule of a send, the attachment
//! objects of every rendering, and removal with the message. Downloads: `downloads.rs`.

use std::collections::HashMap;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::requests::SendRequest;
use super::{Access, Caller, ChatService};
use crate::blobs::BlobError;
use crate::domain::{
    Attachment, BlobInfo, MessageId, Order, OrderRef, StoredMessage, Variant, clean_file_name,
    now_millis, own_attachment_id,
};
use crate::error::{ChatError, ChatResult};
use crate::media::{self, Refusal};
use crate::wire;

/// An order the caller may upload to: access was checked before any byte was read.
pub struct UploadTarget {
    order: Order,
}

/// What a send's `attachmentIds` turned out to be.
pub(super) enum Checked {
    /// The sender's own unattached uploads of this order, in the request's order.
    Fresh(Vec<Attachment>),
    /// A repeated `clientMessageId`: the original message already holds them.
    Repeat(Box<StoredMessage>),
}

pub(super) fn now_secs() -> i64 {
    now_millis() / 1000
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn blob_error(e: BlobError) -> ChatError {
    match e {
        BlobError::NotFound => ChatError::NotFound("Attachment not found".into()),
        other => ChatError::Internal(Box::new(other)),
    }
}

pub(super) fn not_found() -> ChatError {
    ChatError::NotFound("Attachment not found".into())
}

impl ChatService {
    /// The largest file an upload may carry (`MAX_UPLOAD_BYTES`).
    pub fn max_upload_bytes(&self) -> usize {
        self.media.settings.max_upload_bytes
    }

    /// A turn to receive an upload's body: held until the upload is stored (or refused), so at
    /// most `uploads_in_flight` bodies are in memory; waits while that many are.
    pub async fn upload_turn(&self) -> ChatResult<tokio::sync::OwnedSemaphorePermit> {
        self.media
            .receiving
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ChatError::Internal(Box::new(e)))
    }

    /// May the caller upload to this order? Only someone who may send to it.
    pub async fn upload_target(
        &self,
        caller: &Caller,
        order: &OrderRef,
    ) -> ChatResult<UploadTarget> {
        let Access { order, .. } = self.access(caller, order).await?;
        if order.status.is_closed() {
            return Err(ChatError::OrderClosed);
        }
        Ok(UploadTarget { order })
    }

    /// Store an upload: sniff and process it (images decode on a blocking thread, at most
    /// `decoders` at once), write its bytes, then its row. Answers the attachment object.
    #[tracing::instrument(level = "debug", skip_all, fields(order = %target.order.id, user = %caller.user_id, size = bytes.len()))]
    pub async fn upload(
        &self,
        caller: &Caller,
        target: UploadTarget,
        file_name: &str,
        bytes: Bytes,
    ) -> ChatResult<wire::Attachment> {
        self.throttles.message(&caller.user_id)?;
        let limits = self.media.settings.limits;
        let permit = self
            .media
            .decoding
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ChatError::Internal(Box::new(e)))?;
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            media::process(bytes, &limits).map(|p| {
                let digests = (
                    sha256_hex(&p.original),
                    p.thumbnail.as_ref().map(|t| sha256_hex(&t.bytes)),
                );
                (p, digests)
            })
        })
        .await
        .map_err(|e| ChatError::Internal(Box::new(e)))?;
        let (p, (sha, thumb_sha)) = processed.map_err(|r| match r {
            Refusal::Unsupported(m) => ChatError::UnsupportedMediaType(m),
            Refusal::Invalid(m) => ChatError::Validation(m),
        })?;
        let id = uuid::Uuid::now_v7().to_string();
        let thumbnail = match (&p.thumbnail, thumb_sha) {
            (Some(t), Some(sha256)) => {
                let key = Variant::Thumbnail.key(&id);
                self.media
                    .blobs
                    .put(&key, t.bytes.clone())
                    .await
                    .map_err(blob_error)?;
                Some(BlobInfo {
                    content_type: t.content_type.into(),
                    size: t.bytes.len() as i64,
                    sha256,
                })
            }
            _ => None,
        };
        let size = p.original.len() as i64;
        let original_key = Variant::Original.key(&id);
        self.media
            .blobs
            .put(&original_key, p.original)
            .await
            .map_err(blob_error)?;
        let attachment = Attachment {
            id,
            order_id: target.order.id.clone(),
            uploader_id: caller.user_id.clone(),
            message_id: None,
            name: clean_file_name(file_name),
            kind: p.format.kind(),
            original: BlobInfo {
                content_type: p.format.content_type().into(),
                size,
                sha256: sha,
            },
            thumbnail,
            width: p.width.map(i64::from),
            height: p.height.map(i64::from),
            duration_ms: p.duration_ms.and_then(|d| i64::try_from(d).ok()),
            created_at: now_millis(),
            removed_at: None,
        };
        // The row last: a crash before it leaves bytes no row names, never a row without bytes.
        self.store.put_attachment(&attachment).await?;
        Ok(self.attachment_object(&attachment, now_secs()))
    }

    /// The attachment object with fresh signed links.
    pub(super) fn attachment_object(&self, a: &Attachment, now: i64) -> wire::Attachment {
        let links = &self.media.links;
        wire::Attachment {
            id: a.id.clone(),
            name: a.name.clone(),
            content_type: a.original.content_type.clone(),
            size: a.original.size,
            kind: a.kind,
            url: links.signed(&a.id, Variant::Original, now),
            thumbnail_url: a
                .thumbnail
                .as_ref()
                .map(|_| links.signed(&a.id, Variant::Thumbnail, now)),
            width: a.width,
            height: a.height,
            duration_ms: a.duration_ms,
        }
    }

    /// Every attachment the live messages of a page name, in one query.
    pub(super) async fn attachments_of(
        &self,
        messages: &[StoredMessage],
    ) -> ChatResult<HashMap<String, Attachment>> {
        let mut ids: Vec<String> = messages
            .iter()
            .filter(|m| !m.is_deleted())
            .flat_map(|m| m.attachment_ids.iter().cloned())
            .collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        ids.sort();
        ids.dedup();
        Ok(self
            .store
            .attachments_by_id(&ids)
            .await?
            .into_iter()
            .filter(|a| a.removed_at.is_none())
            .map(|a| (a.id.clone(), a))
            .collect())
    }

    /// A message's attachment objects and its `imageUrl` as rendered: an `imageUrl` naming
    /// one of our attachments gets that attachment's fresh signed link.
    pub(super) fn rendered_attachments(
        &self,
        m: &StoredMessage,
        found: &HashMap<String, Attachment>,
    ) -> (Vec<wire::Attachment>, Option<String>) {
        let now = now_secs();
        let objects = m
            .attachment_ids
            .iter()
            .filter_map(|id| found.get(id))
            .map(|a| self.attachment_object(a, now))
            .collect();
        let image_url = match m.image_url.as_deref() {
            Some(url) => match own_attachment_id(url) {
                Some(id) => found
                    .get(id)
                    .map(|a| self.media.links.signed(&a.id, Variant::Original, now)),
                None => Some(url.to_owned()),
            },
            None => None,
        };
        (objects, image_url)
    }

    /// The ownership rule of a send: each id uploaded by the sender to this order, not
    /// removed, not on another message. A retry of a send that already stored its message
    /// (same sender and `clientMessageId`) finds that message.
    pub(super) async fn check_attachments(
        &self,
        caller: &Caller,
        order: &Order,
        req: &SendRequest,
    ) -> ChatResult<Checked> {
        if req.attachment_ids.is_empty() {
            return Ok(Checked::Fresh(Vec::new()));
        }
        let found: HashMap<String, Attachment> = self
            .store
            .attachments_by_id(&req.attachment_ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut out = Vec::with_capacity(req.attachment_ids.len());
        for id in &req.attachment_ids {
            let bad = |why: &str| Err(ChatError::validation(format!("attachment {id} {why}")));
            let Some(a) = found.get(id) else {
                return bad("does not exist");
            };
            if a.order_id != order.id || a.uploader_id != caller.user_id {
                return bad("was not uploaded by you to this order");
            }
            if a.removed_at.is_some() {
                return bad("was removed (uploads not sent within 24 hours expire)");
            }
            if let Some(holder) = &a.message_id {
                if let Some(m) = self.repeat_holding(caller, order, req, holder).await? {
                    return Ok(Checked::Repeat(Box::new(m)));
                }
                return bad("is already on another message");
            }
            out.push(a.clone());
        }
        Ok(Checked::Fresh(out))
    }

    /// The message holding an attachment, when it is this very send stored before.
    async fn repeat_holding(
        &self,
        caller: &Caller,
        order: &Order,
        req: &SendRequest,
        holder: &str,
    ) -> ChatResult<Option<StoredMessage>> {
        let (Some(cid), Ok(holder)) = (&req.client_message_id, MessageId::parse(holder)) else {
            return Ok(None);
        };
        let held = self.store.messages_by_id(&order.id, &[holder]).await?.pop();
        Ok(held.filter(|m| {
            m.sender_id == caller.user_id.as_str()
                && m.client_message_id.as_deref() == Some(cid.as_str())
        }))
    }

    /// Take the checked attachments for the message about to be stored, in one statement;
    /// if another send took one first, give back what was taken.
    pub(super) async fn claim(
        &self,
        caller: &Caller,
        order: &Order,
        message_id: &str,
        attachments: &[Attachment],
    ) -> ChatResult<()> {
        if attachments.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = attachments.iter().map(|a| a.id.clone()).collect();
        let taken = self
            .store
            .claim_attachments(&ids, &order.id, &caller.user_id, message_id)
            .await?;
        if taken.len() == ids.len() {
            return Ok(());
        }
        self.store.release_attachments(message_id).await?;
        let lost = ids
            .iter()
            .find(|id| !taken.contains(id))
            .cloned()
            .unwrap_or_default();
        Err(ChatError::validation(format!(
            "attachment {lost} is already on another message"
        )))
    }

    /// Give back the claims of a message that was not stored (or was a repeat).
    pub(super) async fn unclaim(&self, message_id: &str) {
        if let Err(e) = self.store.release_attachments(message_id).await {
            tracing::warn!(error = %e, "cannot release attachment claims (the sweep will)");
        }
    }

    /// A deleted message's files: no longer served from now on (the row says so at once),
    /// and their bytes removed (now, and by the sweep if that fails).
    pub(super) async fn discard_attachments_of(&self, message_id: &str) -> ChatResult<()> {
        let removed = self
            .store
            .remove_attachments_of(message_id, now_millis())
            .await?;
        if !removed.is_empty() {
            self.purge(removed).await;
        }
        Ok(())
    }
}
