//! The chat service: the one place that holds the rules (access, validation, closed orders,
//! `seq`, read markers, idempotent send, presence). Socket.IO handlers, REST handlers and the
//! internal API are thin adapters that parse a request, call one method here and render the
//! result or the `ChatError`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::auth::Verifier;
use crate::domain::{
    NewMessage, Order, OrderId, OrderRef, Page, ProfileSource, User, UserId, UserType, now_millis,
    rfc3339,
};
use crate::error::{AuthFailure, ChatError, ChatResult};
use crate::metrics::Metrics;
use crate::realtime::{Membership, Realtime};
use crate::store::Store;
use crate::wire::{self, Sender, event};

mod cache;
mod internal;
mod limits;
mod render;
pub mod requests;

pub use limits::Limits;
use limits::{Flights, Throttles};

pub use internal::{OrderUpsert, UserUpsert};
use requests::{JoinRequest, MarkReadRequest, SendRequest, TypingRequest};

/// Who is calling: a verified token, checked against the directory.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub is_admin: bool,
    pub name: String,
    pub user_type: UserType,
    pub display_image: Option<String>,
}

impl Caller {
    fn sender(&self) -> Sender {
        Sender {
            id: self.user_id.to_string(),
            name: self.name.clone(),
            display_image: self.display_image.clone(),
            user_type: self.user_type,
        }
    }
}

/// An order the caller may use, and the caller's role in it.
struct Access {
    order: Order,
    role: UserType,
}

pub struct ChatService {
    store: Arc<dyn Store>,
    realtime: Arc<dyn Realtime>,
    verifier: Verifier,
    metrics: Arc<Metrics>,
    throttles: Throttles,
    flights: Flights,
    orders: cache::OrderCache,
}

impl ChatService {
    pub fn new(
        store: Arc<dyn Store>,
        realtime: Arc<dyn Realtime>,
        verifier: Verifier,
        metrics: Arc<Metrics>,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            realtime,
            verifier,
            metrics,
            throttles: Throttles::new(limits),
            flights: Flights::default(),
            orders: cache::OrderCache::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Shutdown: refuse new sends, let those in flight finish (stored and acknowledged), then
    /// close every connection of this node; clients see a transport close and reconnect
    /// (to another node, or to this one once it is back) and catch up with `since`.
    pub async fn shutdown(&self, max_wait: std::time::Duration) {
        let left = self.flights.drain(max_wait).await;
        if left > 0 {
            tracing::warn!(left, "sends still in flight at shutdown");
        }
        self.realtime.close().await;
    }

    /// May this user open one more socket on this node?
    pub async fn admit_socket(&self, caller: &Caller) -> ChatResult<()> {
        let open = self.realtime.user_socket_count(&caller.user_id).await;
        if open >= self.throttles.limits.sockets_per_user {
            return Err(ChatError::LimitExceeded(format!(
                "Too many connections: at most {} per user",
                self.throttles.limits.sockets_per_user
            )));
        }
        Ok(())
    }

    // ---- identity -------------------------------------------------------------------------

    /// Verify a token and check the user against the directory (blocked users are refused).
    /// A user the directory does not know yet is recorded from the token's claims.
    pub async fn authenticate(&self, token: Option<&str>) -> ChatResult<Caller> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or(ChatError::Unauthorized(AuthFailure::Missing))?;
        let subject = self
            .verifier
            .verify(token)
            .map_err(ChatError::Unauthorized)?;
        let user = match self.store.get_user(&subject.user_id).await? {
            Some(u) => u,
            None => {
                let u = User {
                    id: subject.user_id.clone(),
                    name: subject
                        .name
                        .clone()
                        .unwrap_or_else(|| subject.user_id.to_string()),
                    user_type: subject.user_type.unwrap_or(UserType::Customer),
                    display_image: subject.display_image.clone(),
                    blocked: false,
                };
                self.store
                    .put_user(&u, ProfileSource::TokenClaims, None)
                    .await?;
                u
            }
        };
        if user.blocked {
            return Err(ChatError::Unauthorized(AuthFailure::Blocked));
        }
        Ok(Caller {
            user_type: if subject.is_admin {
                UserType::Admin
            } else {
                user.user_type
            },
            user_id: user.id,
            is_admin: subject.is_admin,
            name: user.name,
            display_image: user.display_image,
        })
    }

    /// The one access rule: an order's customer, its agents and admins; everyone else is
    /// `FORBIDDEN`. An unknown order is `ORDER_NOT_FOUND`.
    async fn access(&self, caller: &Caller, order: &OrderRef) -> ChatResult<Access> {
        let order = match self.orders.get(order.as_str()) {
            Some(o) => o,
            None => {
                let o = self
                    .store
                    .find_order(order.as_str())
                    .await?
                    .ok_or(ChatError::OrderNotFound)?;
                self.orders.put(&o);
                o
            }
        };
        let role = match order.role_of(&caller.user_id) {
            Some(role) => role,
            None if caller.is_admin => UserType::Admin,
            None => return Err(ChatError::not_participant()),
        };
        Ok(Access { order, role })
    }

    // ---- chat use cases -------------------------------------------------------------------

    /// `join-order-chat`: check access, put the socket in the room, announce the user to the
    /// others if this is their first socket there, and return the history.
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
            self.announce(caller, role, &order.id, event::USER_JOINED)
                .await;
        }
        let page = match req.since {
            Some(seq) => Page::After {
                seq,
                limit: req.limit,
            },
            None => Page::Latest { limit: req.limit },
        };
        let history = self.store.history(&order.id, page).await?;
        let messages = self.render(&order, history.messages).await?;
        let reads: BTreeMap<String, i64> = self
            .store
            .read_markers(&order.id)
            .await?
            .into_iter()
            .map(|m| (m.user_id.to_string(), m.last_read_seq))
            .collect();
        Ok(wire::Joined {
            order_id: order.id.to_string(),
            messages,
            has_more: history.has_more,
            participants: self.participants(&order).await?,
            reads,
        })
    }

    /// `leave-order-chat`.
    pub async fn leave(
        &self,
        caller: &Caller,
        socket: &dyn Membership,
        order: &OrderRef,
    ) -> ChatResult<Value> {
        let Access { order, role } = self.access(caller, order).await?;
        self.leave_room(caller, role, socket, &order.id).await;
        Ok(serde_json::json!({ "orderId": order.id }))
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
        if self.realtime.settle_presence(order, &caller.user_id).await == Some(false) {
            self.announce(caller, role, order, event::USER_LEFT).await;
        }
    }

    async fn announce(&self, caller: &Caller, role: UserType, order: &OrderId, ev: &'static str) {
        let payload = wire::Presence {
            order_id: order.to_string(),
            user_id: caller.user_id.to_string(),
            id: caller.user_id.to_string(),
            name: caller.name.clone(),
            user_type: role,
            timestamp: rfc3339(now_millis()),
        };
        self.emit(order, Some(&caller.user_id), ev, payload).await;
    }

    /// `send-message` and `POST …/messages`: store durably, then broadcast to the room.
    /// A repeated `clientMessageId` stores nothing new and returns the original.
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
        self.emit(&order.id, None, event::NEW_MESSAGE, &message)
            .await;
        Ok(message)
    }

    /// `typing`: tell the room's other users. Only from a socket that joined the chat.
    pub async fn typing(
        &self,
        caller: &Caller,
        socket: &dyn Membership,
        req: TypingRequest,
    ) -> ChatResult<Value> {
        let Access { order, .. } = self.access(caller, &req.order).await?;
        if !socket.is_in(&order.id) {
            return Err(ChatError::NotJoined);
        }
        // Only "started typing" is throttled: a "stopped" must always reach the others.
        if req.is_typing && !self.throttles.typing(&order.id, &caller.user_id) {
            return Ok(
                serde_json::json!({ "orderId": order.id, "isTyping": req.is_typing, "throttled": true }),
            );
        }
        let payload = wire::UserTyping {
            order_id: order.id.to_string(),
            is_typing: req.is_typing,
            user: wire::TypingUser {
                id: caller.user_id.to_string(),
                name: caller.name.clone(),
            },
        };
        self.emit(
            &order.id,
            Some(&caller.user_id),
            event::USER_TYPING,
            payload,
        )
        .await;
        Ok(serde_json::json!({ "orderId": order.id, "isTyping": req.is_typing }))
    }

    /// `mark-messages-read` and `POST …/read`: move the caller's marker forward (never back)
    /// to `upToSeq` or the latest message; announce it to the room if it moved.
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
            self.emit(&order.id, None, event::MESSAGES_READ, payload)
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

    /// A page of history (REST). Does not mark anything read.
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

    /// Unread messages for the caller: by others, above the caller's marker, in the caller's
    /// own orders only. With an order, that order's count alone.
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
