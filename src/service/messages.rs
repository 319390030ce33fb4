//! Messages: sending (durable first, then broadcast) and reading history.

use super::requests::SendRequest;
use super::{Access, Caller, ChatService};
use crate::domain::{NewMessage, OrderRef, Page, now_millis};
use crate::error::{ChatError, ChatResult};

use crate::wire::{self, Sender, ServerEvent};

impl ChatService {
    /// `send-message` and `POST …/messages`: store durably, then broadcast to the room.
    /// A repeated `clientMessageId` stores nothing new and returns the original.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn send(&self, caller: &Caller, req: SendRequest) -> ChatResult<wire::Message> {
        let _flight = self.flights.enter()?;
        self.throttles.message(&caller.user_id)?;
        let Access { order, role } = self.access(caller, &req.order).await?;
        if order.status.is_closed() {
            return Err(ChatError::OrderClosed);
        }
        let inserted = self
            .store
            .insert_message(NewMessage {
                id: uuid::Uuid::now_v7().to_string(),
                order_id: order.id.clone(),
                sender_id: caller.user_id.to_string(),
                sender_type: role,
                body: req.message,
                image_url: req.image_url,
                attachment_ids: req.attachment_ids,
                client_message_id: req.client_message_id,
                created_at: now_millis(),
            })
            .await?;
        if !inserted.created {
            let mut rendered = self.render(&order, vec![inserted.message]).await?;
            return rendered
                .pop()
                .ok_or_else(|| ChatError::internal("render lost a message"));
        }
        self.metrics.messages_stored.inc();
        let message = wire::Message::build(
            inserted.message,
            Sender {
                user_type: role,
                ..caller.sender()
            },
            &[],
        );
        self.publish(&order.id, None, ServerEvent::NewMessage(&message))
            .await;
        Ok(message)
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
        let history = self.store.history(&order.id, page).await?;
        Ok(wire::HistoryPage {
            messages: self.render(&order, history.messages).await?,
            has_more: history.has_more,
        })
    }
}
