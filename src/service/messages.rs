//! Messages: sending (durable first, then broadcast) and reading history.

use super::attachments::Checked;
use super::requests::SendRequest;
use super::{Access, Caller, ChatService};
use crate::domain::{MessageId, NewMessage, Order, OrderRef, Page, StoredMessage, now_millis};
use crate::error::{ChatError, ChatResult};

use crate::wire::{self, Sender, ServerEvent};

impl ChatService {
    /// `send-message` and `POST …/messages`: store durably, then broadcast to the room.
    /// A repeated `clientMessageId` stores nothing new and returns the original.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn send(&self, caller: &Caller, req: SendRequest) -> ChatResult<wire::Message> {
        let _flight = self.flights.enter()?;
        self.take_message_budget(&caller.user_id).await?;
        let Access { order, role } = self.access(caller, &req.order).await?;
        if order.status.is_closed() {
            return Err(ChatError::OrderClosed);
        }
        let original = match &req.reply_to_id {
            Some(id) => Some(self.reply_target(&order, id).await?),
            None => None,
        };
        let files = match self.check_attachments(caller, &order, &req).await? {
            Checked::Fresh(files) => files,
            Checked::Repeat(m) => return self.render_one(&order, *m).await,
        };
        let id = uuid::Uuid::now_v7().to_string();
        self.claim(caller, &order, &id, &files).await?;
        let stored = self
            .store
            .insert_message(NewMessage {
                id: id.clone(),
                order_id: order.id.clone(),
                sender_id: caller.user_id.to_string(),
                sender_type: role,
                body: req.message,
                image_url: req.image_url,
                attachment_ids: req.attachment_ids,
                client_message_id: req.client_message_id,
                created_at: now_millis(),
                reply_to_id: req.reply_to_id,
            })
            .await;
        let inserted = match stored {
            Ok(i) => i,
            Err(e) => {
                self.unclaim(&id).await;
                return Err(e.into());
            }
        };
        if !inserted.created {
            self.unclaim(&id).await;
            return self.render_one(&order, inserted.message).await;
        }
        self.page_sent(&inserted.message).await;
        let found = files.into_iter().map(|a| (a.id.clone(), a)).collect();
        let (attachments, image_url) = self.rendered_attachments(&inserted.message, &found);
        self.metrics.messages_stored.inc();
        let message = wire::Message::build(
            inserted.message,
            Sender {
                user_type: role,
                ..caller.sender()
            },
            &[],
        )
        .with_attachments(attachments, image_url);
        let message = match original {
            // A new message has no reactions; only its reply target needs a name.
            Some(o) => {
                let name = self.sender_name(&o).await?;
                message.with(Some(wire::ReplyTo::of(&o, name)), &[])
            }
            None => message,
        };
        self.publish(&order.id, None, ServerEvent::NewMessage(&message))
            .await;
        Ok(message)
    }

    /// The message a reply answers: of this order, not deleted.
    async fn reply_target(&self, order: &Order, id: &MessageId) -> ChatResult<StoredMessage> {
        self.store
            .messages_by_id(&order.id, std::slice::from_ref(id))
            .await?
            .pop()
            .filter(|m| !m.is_deleted())
            .ok_or_else(|| {
                ChatError::validation(
                    "replyToId must name a message of this order that is not deleted",
                )
            })
    }

    /// A page of history (REST). Does not mark anything read.
    #[tracing::instrument(level = "debug", skip_all, fields(order = order.as_str(), user = %caller.user_id))]
    pub async fn history(
        &self,
        caller: &Caller,
        order: &OrderRef,
        page: Page,
    ) -> ChatResult<wire::HistoryPage> {
        let Access { order, .. } = self.access(caller, order).await?;
        let page = self.read_page(&order, page).await?;
        let messages = if page.history.messages.is_empty() {
            Vec::new()
        } else {
            let markers = self.store.read_markers(&order.id).await?;
            self.render_with(&order, page.history.messages, &page.extras, &markers, &[])
                .await?
                .0
        };
        Ok(wire::HistoryPage {
            messages,
            has_more: page.history.has_more,
            rev: page.history.rev,
        })
    }
}
