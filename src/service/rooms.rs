//! Rooms and presence: joining and leaving an order's chat (with its history), the typing
//! indicator, and the `user-joined` / `user-left` announcements.

use std::collections::BTreeMap;

use super::requests::{JoinRequest, TypingRequest};
use super::{Access, Caller, ChatService};
use crate::domain::{OrderId, OrderRef, UserId, UserType, now_millis, rfc3339};
use crate::error::{ChatError, ChatResult};
use crate::realtime::Membership;

use crate::wire::{self, ServerEvent};

impl ChatService {
    /// `join-order-chat`: check access, put the socket in the room, announce the user to the
    /// others if this is their first socket there, and return the history.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn join(
        &self,
        caller: &Caller,
        socket: &dyn Membership,
        req: JoinRequest,
    ) -> ChatResult<wire::Joined> {
        let Access { order, role } = self.access(caller, &req.order).await?;
        let already_in = socket.is_in(&order.id);
        let max_rooms = self.throttles.limits.rooms_per_socket;
        if !already_in && socket.joined_orders().len() >= max_rooms {
            return Err(ChatError::LimitExceeded(format!(
                "A connection may be in at most {max_rooms} order chats: leave one first"
            )));
        }
        socket.enter(&order.id, &caller.user_id).await;
        if !already_in
            && self
                .realtime
                .settle_presence(&order.id, &caller.user_id)
                .await
                == Some(true)
        {
            self.announce(caller, role, &order.id, true).await;
        }
        let page = self.page_data(&order, req.page()).await?;
        let history = &page.history;
        // One read of the markers serves the receipts and the ack's `reads`.
        let markers = self.store.read_markers(&order.id).await?;
        let also: Vec<UserId> = order.participant_ids().cloned().collect();
        let (messages, users) = self
            .render_with(
                &order,
                history.messages.clone(),
                &page.extras,
                &markers,
                &also,
            )
            .await?;
        let reads: BTreeMap<String, i64> = markers
            .into_iter()
            .map(|m| (m.user_id.to_string(), m.last_read_seq))
            .collect();
        Ok(wire::Joined {
            order_id: order.id.to_string(),
            messages,
            has_more: history.has_more,
            participants: self.participants(&order, &users).await?,
            reads,
            rev: history.rev,
        })
    }

    /// `leave-order-chat`.
    #[tracing::instrument(level = "debug", skip_all, fields(order = order.as_str(), user = %caller.user_id))]
    pub async fn leave(
        &self,
        caller: &Caller,
        socket: &dyn Membership,
        order: &OrderRef,
    ) -> ChatResult<wire::Left> {
        let Access { order, role } = self.access(caller, order).await?;
        self.leave_room(caller, role, socket, &order.id).await;
        Ok(wire::Left {
            order_id: order.id.to_string(),
        })
    }

    /// A socket went away: it leaves every room it was in.
    pub async fn disconnected(&self, caller: &Caller, socket: &dyn Membership) {
        for order_id in socket.joined_orders() {
            let role = match self.store.get_order(&order_id).await {
                Ok(Some(o)) => o.role_of(&caller.user_id).unwrap_or(UserType::Admin),
                _ => caller.user_type,
            };
            self.leave_room(caller, role, socket, &order_id).await;
        }
    }

    async fn leave_room(
        &self,
        caller: &Caller,
        role: UserType,
        socket: &dyn Membership,
        order: &OrderId,
    ) {
        if !socket.is_in(order) {
            return;
        }
        socket.exit(order, &caller.user_id).await;
        let grace = self.throttles.limits.presence_grace;
        if grace.is_zero() || self.flights.stopping() {
            if self.realtime.settle_presence(order, &caller.user_id).await == Some(false) {
                self.announce(caller, role, order, false).await;
            }
            return;
        }
        // Decide after the grace: if a socket of theirs is back in the chat by then, the
        // record is unchanged and nothing is announced (nor a second user-joined on return).
        let (realtime, order, caller) = (self.realtime.clone(), order.clone(), caller.clone());
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if realtime.settle_presence(&order, &caller.user_id).await == Some(false) {
                let payload = presence(&caller, role, &order);
                realtime
                    .emit_to_order(
                        &order,
                        Some(&caller.user_id),
                        &ServerEvent::UserLeft(&payload),
                    )
                    .await;
            }
        });
    }

    /// `user-joined` (or `user-left`) to the order's other users.
    pub(super) async fn announce(
        &self,
        caller: &Caller,
        role: UserType,
        order: &OrderId,
        joined: bool,
    ) {
        let payload = presence(caller, role, order);
        let event = if joined {
            ServerEvent::UserJoined(&payload)
        } else {
            ServerEvent::UserLeft(&payload)
        };
        self.publish(order, Some(&caller.user_id), event).await;
    }

    /// `typing`: tell the room's other users. Only from a socket that joined the chat.
    #[tracing::instrument(level = "debug", skip_all, fields(order = req.order.as_str(), user = %caller.user_id))]
    pub async fn typing(
        &self,
        caller: &Caller,
        socket: &dyn Membership,
        req: TypingRequest,
    ) -> ChatResult<wire::TypingResult> {
        let Access { order, .. } = self.access(caller, &req.order).await?;
        if !socket.is_in(&order.id) {
            return Err(ChatError::NotJoined);
        }
        // Only "started typing" is throttled: a "stopped" must always reach the others.
        let result = |throttled| wire::TypingResult {
            order_id: order.id.to_string(),
            is_typing: req.is_typing,
            throttled,
        };
        if req.is_typing && !self.throttles.typing(&order.id, &caller.user_id) {
            return Ok(result(true));
        }
        let payload = wire::UserTyping {
            order_id: order.id.to_string(),
            is_typing: req.is_typing,
            user: wire::TypingUser {
                id: caller.user_id.to_string(),
                name: caller.name.clone(),
            },
        };
        self.publish(
            &order.id,
            Some(&caller.user_id),
            ServerEvent::UserTyping(&payload),
        )
        .await;
        Ok(result(false))
    }
}

/// The `user-joined` / `user-left` payload, stamped now.
fn presence(caller: &Caller, role: UserType, order: &OrderId) -> wire::Presence {
    wire::Presence {
        order_id: order.to_string(),
        user_id: caller.user_id.to_string(),
        id: caller.user_id.to_string(),
        name: caller.name.clone(),
        user_type: role,
        timestamp: rfc3339(now_millis()),
    }
}
