//! Downloads (§12): by a signed link from a rendering, or by `Authorization: Bearer` for the
//! order's participants and admins. Anyone else gets 403 or 404, never the bytes; a removed
//! attachment, or one whose message is deleted, is 404 at once.

use std::ops::Range;

use super::attachments::{blob_error, not_found, now_secs};
use super::links::LinkRefusal;
use super::{Caller, ChatService};
use crate::blobs::BlobRead;
use crate::domain::{Attachment, BlobInfo, MessageId, OrderRef, StoredAttachment, Variant};
use crate::error::{ChatError, ChatResult};

/// How a download proves it may have the bytes.
pub enum Credential {
    /// `Authorization: Bearer`: the caller must be a participant (or admin).
    Bearer(Caller),
    /// A signed link from a rendering.
    Link { exp: i64, sig: String },
}

/// An attachment variant that may be served, and what its bytes are.
pub struct Servable {
    pub attachment: Attachment,
    pub variant: Variant,
    pub info: BlobInfo,
}

impl ChatService {
    /// May this credential have this variant of this attachment? Anyone else gets 403 or
    /// 404, never the bytes.
    pub async fn open_attachment(
        &self,
        credential: &Credential,
        id: &str,
        variant: Variant,
    ) -> ChatResult<Servable> {
        let id = MessageId::parse(id).map_err(|_| not_found())?;
        if let Credential::Link { exp, sig } = credential {
            self.media
                .links
                .verify(id.as_str(), variant, *exp, sig, now_secs())
                .map_err(|r| match r {
                    LinkRefusal::Invalid => ChatError::Forbidden("This link is not valid".into()),
                    LinkRefusal::Expired => ChatError::Forbidden("This link has expired".into()),
                })?;
        }
        let stored = self
            .store
            .attachment(id.as_str())
            .await?
            .ok_or_else(not_found)?;
        if let Credential::Bearer(caller) = credential {
            self.may_see(caller, &stored).await?;
        }
        if !stored.servable() {
            return Err(not_found());
        }
        let attachment = stored.attachment;
        let info = match variant {
            Variant::Original => attachment.original.clone(),
            Variant::Thumbnail => attachment.thumbnail.clone().ok_or_else(not_found)?,
        };
        Ok(Servable {
            attachment,
            variant,
            info,
        })
    }

    /// Participants and admins see attached files; an upload no message holds yet is its
    /// uploader's (and admins') only.
    async fn may_see(&self, caller: &Caller, stored: &StoredAttachment) -> ChatResult<()> {
        let a = &stored.attachment;
        self.access(caller, &OrderRef::from(&a.order_id)).await?;
        if !stored.is_attached() && !caller.is_admin && a.uploader_id != caller.user_id {
            return Err(ChatError::Forbidden(
                "This upload has not been sent to the chat yet".into(),
            ));
        }
        Ok(())
    }

    /// The bytes (or a range of them) of a servable attachment.
    pub async fn read_attachment(
        &self,
        s: &Servable,
        range: Option<Range<u64>>,
    ) -> ChatResult<BlobRead> {
        self.media
            .blobs
            .get(&s.variant.key(&s.attachment.id), range)
            .await
            .map_err(blob_error)
    }
}
