//! A message's life after it was sent (§11): edits, deletes, reactions, and the audit trail.
//! The rules are checked here on the message as read; the store applies the change in one
//! transaction with the order's next `rev` and re-checks what a concurrent change could break
//! (a delete in between, the reaction limits).

use super::pages::Moved;
use super::requests::{DeleteRequest, EditRequest, ReactionRequest};
use super::{Access, Caller, ChatService};
use crate::domain::{
    Applied, Change, MessageId, Order, OrderRef, Refusal, StoredMessage, UserType, now_millis,
    rfc3339,
};
use crate::error::{ChatError, ChatResult};
use crate::wire::{self, ServerEvent};

impl ChatService {
    /// `edit-message` and `PATCH …/messages/{id}`: the sender's new text, within the window.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn edit(&self, caller: &Caller, req: EditRequest) -> ChatResult<wire::Message> {
        let Access { order, .. } = self.access(caller, &req.order).await?;
        let current = self.message_of(&order, &req.message_id).await?;
        if current.sender_id != caller.user_id.as_str() || current.sender_type == UserType::System {
            return Err(ChatError::Forbidden(
                "Only the sender may edit a message".into(),
            ));
        }
        if order.status.is_closed() {
            return Err(ChatError::OrderClosed);
        }
        if current.is_deleted() {
            return Err(ChatError::validation("A deleted message cannot be edited"));
        }
        if self.passed(&current, self.throttles.limits.edit_window) {
            return Err(ChatError::EditWindowPassed);
        }
        if req.message.is_empty()
            && current.attachment_ids.is_empty()
            && current.image_url.is_none()
        {
            return Err(ChatError::validation("message must not be empty"));
        }
        if req.message == current.body {
            return self.render_one(&order, current).await;
        }
        let change = Change::Edit {
            message_id: req.message_id,
            body: req.message,
            by: caller.user_id.clone(),
            at: now_millis(),
        };
        let message = self.apply(&order, change).await?;
        self.publish(&order.id, None, ServerEvent::MessageUpdated(&message))
            .await;
        Ok(message)
    }

    /// `delete-message` and `DELETE …/messages/{id}`: the sender within the window, or an
    /// admin at any time. The message becomes a tombstone.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn delete(&self, caller: &Caller, req: DeleteRequest) -> ChatResult<wire::Message> {
        let Access { order, .. } = self.access(caller, &req.order).await?;
        let current = self.message_of(&order, &req.message_id).await?;
        if current.is_deleted() {
            return self.render_one(&order, current).await;
        }
        if !caller.is_admin {
            if current.sender_id != caller.user_id.as_str() {
                return Err(ChatError::Forbidden(
                    "Only the sender or an admin may delete a message".into(),
                ));
            }
            if order.status.is_closed() {
                return Err(ChatError::OrderClosed);
            }
            if self.passed(&current, self.throttles.limits.delete_window) {
                return Err(ChatError::DeleteWindowPassed);
            }
        }
        let change = Change::Delete {
            message_id: req.message_id.clone(),
            by: caller.user_id.clone(),
            at: now_millis(),
        };
        let tombstone = self.apply(&order, change).await?;
        // Its files stop being served at once (downloads also check the message) and go.
        self.discard_attachments_of(req.message_id.as_str()).await?;
        self.publish(&order.id, None, ServerEvent::MessageDeleted(&tombstone))
            .await;
        Ok(tombstone)
    }

    /// `add-reaction` / `remove-reaction` and `PUT`/`DELETE …/reactions/{emoji}`.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn react(
        &self,
        caller: &Caller,
        req: ReactionRequest,
        add: bool,
    ) -> ChatResult<wire::Reactions> {
        let Access { order, .. } = self.access(caller, &req.order).await?;
        if order.status.is_closed() {
            return Err(ChatError::OrderClosed);
        }
        let current = self.message_of(&order, &req.message_id).await?;
        if current.sender_type == UserType::System {
            return Err(ChatError::validation("System messages take no reactions"));
        }
        let change = Change::React {
            message_id: req.message_id,
            user: caller.user_id.clone(),
            emoji: req.emoji.clone(),
            add,
            at: now_millis(),
        };
        let (message, changed) = match self.store.apply_change(&order.id, change).await? {
            Applied::Changed(m) => (m, true),
            Applied::Unchanged(m) => (m, false),
            Applied::Refused(r) => return Err(refused(r)),
        };
        // Only the reactions are sent back: one query, not a whole rendering of the message.
        let id = MessageId::from_trusted(message.id.clone());
        let reactions = self
            .store
            .reactions(&order.id, std::slice::from_ref(&id))
            .await?
            .remove(&id)
            .unwrap_or_default();
        if changed {
            self.pages.moved(&order.id, message.rev, || {
                Moved::Reacted(message.clone(), reactions.clone())
            });
        }
        let reactions = wire::ReactionCount::list(&reactions);
        if changed {
            let event = wire::ReactionUpdated {
                order_id: order.id.to_string(),
                message_id: message.id.clone(),
                seq: message.seq,
                rev: message.rev,
                emoji: req.emoji.to_string(),
                user_id: caller.user_id.to_string(),
                added: add,
                reactions: reactions.clone(),
            };
            self.publish(&order.id, None, ServerEvent::ReactionUpdated(&event))
                .await;
        }
        Ok(wire::Reactions {
            order_id: order.id.to_string(),
            message_id: message.id,
            rev: message.rev,
            reactions,
        })
    }

    /// The audit trail of one message, oldest first: admins only.
    #[tracing::instrument(level = "debug", skip_all, fields(order = order.as_str(), user = %caller.user_id))]
    pub async fn revisions(
        &self,
        caller: &Caller,
        order: &OrderRef,
        message: &MessageId,
    ) -> ChatResult<wire::Revisions> {
        let Access { order, .. } = self.access(caller, order).await?;
        if !caller.is_admin {
            return Err(ChatError::Forbidden(
                "Only admins may read a message's earlier versions".into(),
            ));
        }
        self.message_of(&order, message).await?;
        let revisions = self.store.revisions(&order.id, message).await?;
        Ok(wire::Revisions {
            revisions: revisions
                .into_iter()
                .map(|r| wire::RevisionEntry {
                    message: r.body,
                    attachments: r
                        .attachment_ids
                        .into_iter()
                        .map(|id| wire::AttachmentRef { id })
                        .collect(),
                    edited_by: r.edited_by,
                    edited_at: rfc3339(r.edited_at),
                })
                .collect(),
        })
    }

    async fn message_of(&self, order: &Order, id: &MessageId) -> ChatResult<StoredMessage> {
        self.store
            .messages_by_id(&order.id, std::slice::from_ref(id))
            .await?
            .pop()
            .ok_or(ChatError::MessageNotFound)
    }

    /// Has `window` passed since the message was sent?
    fn passed(&self, m: &StoredMessage, window: std::time::Duration) -> bool {
        now_millis().saturating_sub(m.created_at) >= window.as_millis() as i64
    }

    /// Store an edit or a delete; the message as it is now, rendered.
    async fn apply(&self, order: &Order, change: Change) -> ChatResult<wire::Message> {
        match self.store.apply_change(&order.id, change).await? {
            Applied::Changed(m) => {
                self.pages
                    .moved(&order.id, m.rev, || Moved::Changed(m.clone()));
                self.render_one(order, m).await
            }
            Applied::Unchanged(m) => self.render_one(order, m).await,
            Applied::Refused(r) => Err(refused(r)),
        }
    }
}

/// A change the store refused, as the client hears it.
fn refused(r: Refusal) -> ChatError {
    match r {
        Refusal::NotFound => ChatError::MessageNotFound,
        Refusal::Deleted => ChatError::validation("This message was deleted"),
        Refusal::TooManyEmoji => ChatError::LimitExceeded(format!(
            "A message may carry at most {} different emoji",
            crate::domain::MAX_EMOJI_PER_MESSAGE
        )),
        Refusal::TooManyOfUser => ChatError::LimitExceeded(format!(
            "You may put at most {} emoji on one message",
            crate::domain::MAX_EMOJI_PER_USER
        )),
    }
}
