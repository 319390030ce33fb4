//! Read state: read markers (and their receipts), unread counts, and the caller's chat list.

use super::requests::MarkReadRequest;
use super::{Access, Caller, ChatService};
use crate::domain::{OrderRef, now_millis, rfc3339};
use crate::error::ChatResult;

use crate::wire::{self, ServerEvent};

impl ChatService {
    /// `mark-messages-read` and `POST …/read`: move the caller's marker forward (never back)
    /// to `upToSeq` or the latest message; announce it to the room if it moved.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn mark_read(
        &self,
        caller: &Caller,
        req: MarkReadRequest,
    ) -> ChatResult<wire::ReadResult> {
        let Access { order, .. } = self.access(caller, &req.order).await?;
        let last = self.store.last_seq(&order.id).await?;
        let target = req.up_to_seq.map_or(last, |s| s.min(last));
        let moved = if target > 0 {
            self.store
                .advance_read_marker(&order.id, &caller.user_id, target, now_millis())
                .await?
        } else {
            None
        };
        if let Some(marker) = &moved {
            let message_id = self
                .store
                .message_at(&order.id, marker.last_read_seq)
                .await?
                .map(|m| m.id);
            let payload = wire::MessagesRead {
                order_id: order.id.to_string(),
                user_id: caller.user_id.to_string(),
                last_read_seq: marker.last_read_seq,
                last_read_message_id: message_id,
                read_at: rfc3339(marker.read_at),
            };
            self.publish(&order.id, None, ServerEvent::MessagesRead(&payload))
                .await;
        }
        let marked = moved.is_some();
        let current = match moved {
            Some(m) => Some(m),
            None => self
                .store
                .read_markers(&order.id)
                .await?
                .into_iter()
                .find(|m| m.user_id == caller.user_id),
        };
        Ok(wire::ReadResult {
            order_id: order.id.to_string(),
            user_id: caller.user_id.to_string(),
            last_read_seq: current.as_ref().map_or(0, |m| m.last_read_seq),
            read_at: current.as_ref().map(|m| rfc3339(m.read_at)),
            marked,
        })
    }

    /// Unread messages for the caller: by others, above the caller's marker, in the caller's
    /// own orders only. With an order, that order's count alone.
    #[tracing::instrument(level = "debug", skip_all, fields(user = %caller.user_id))]
    pub async fn unread(
        &self,
        caller: &Caller,
        order: Option<&OrderRef>,
    ) -> ChatResult<wire::Unread> {
        let counts = self.store.unread_by_order(&caller.user_id).await?;
        match order {
            Some(r) => {
                let Access { order, .. } = self.access(caller, r).await?;
                let count = counts
                    .iter()
                    .find(|(id, _)| *id == order.id)
                    .map_or(0, |(_, n)| *n);
                Ok(wire::Unread {
                    count,
                    total: count,
                    by_order: None,
                })
            }
            None => {
                let count = counts.iter().map(|(_, n)| n).sum();
                let by_order = counts
                    .into_iter()
                    .map(|(id, n)| (id.to_string(), n))
                    .collect();
                Ok(wire::Unread {
                    count,
                    total: count,
                    by_order: Some(by_order),
                })
            }
        }
    }

    /// The caller's chats, newest activity first.
    #[tracing::instrument(level = "debug", skip_all, fields(user = %caller.user_id))]
    pub async fn chats(&self, caller: &Caller) -> ChatResult<wire::ChatList> {
        let summaries = self.store.orders_of_user(&caller.user_id).await?;
        let mut orders = Vec::with_capacity(summaries.len());
        for s in summaries {
            let last_message = match s.last_message {
                Some(m) => self.render(&s.order, vec![m]).await?.pop(),
                None => None,
            };
            orders.push(wire::ChatListEntry {
                order_id: s.order.id.to_string(),
                order_number: s.order.number,
                status: s.order.status.to_string(),
                last_message,
                unread: s.unread,
            });
        }
        Ok(wire::ChatList { orders })
    }
}
