//! The client events: each one parses its payload and makes one call of the chat service.
//! The rules (access, validation, limits) are the service's; rendering is `dispatch`'s.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use socketioxide::adapter::Adapter;

use super::dispatch::{Ctx, emit_to};
use super::state::SocketState;
use crate::domain::rfc3339;
use crate::error::{ChatError, ChatResult};
use crate::service::requests::{
    DeleteRequest, EditRequest, JoinRequest, MarkReadRequest, ReactionRequest, RefreshRequest,
    SendRequest, TypingRequest, parse_leave,
};
use crate::wire::{self, ServerEvent};

/// `join-order-chat`: the history also goes out as `previous-messages`, before the ack. The
/// page is encoded once for both (it is most of a join's JSON).
pub async fn join<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<JoinAck> {
    let joined = c
        .svc
        .join(&c.me, &c.rooms(), JoinRequest::parse(&v)?)
        .await?;
    let page = serde_json::value::to_raw_value(&joined.messages)
        .map_err(|e| ChatError::internal(format!("encoding a join's page: {e}")))?;
    emit_to(&c.socket, ServerEvent::PreviousMessages(&page));
    Ok(JoinAck { joined, page })
}

/// `wire::Joined` with its `messages` as already encoded.
pub struct JoinAck {
    joined: wire::Joined,
    page: Box<RawValue>,
}

impl Serialize for JoinAck {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Every field named, so that a field added to `Joined` does not compile until it is here.
        let wire::Joined {
            order_id,
            messages: _,
            has_more,
            participants,
            reads,
            rev,
        } = &self.joined;
        let mut out = s.serialize_struct("Joined", 6)?;
        out.serialize_field("orderId", order_id)?;
        out.serialize_field("messages", &self.page)?;
        out.serialize_field("hasMore", has_more)?;
        out.serialize_field("participants", participants)?;
        out.serialize_field("reads", reads)?;
        out.serialize_field("rev", rev)?;
        out.end()
    }
}

pub async fn send<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Message> {
    c.svc.send(&c.me, SendRequest::parse(&v, None)?).await
}

pub async fn typing<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::TypingResult> {
    c.svc
        .typing(&c.me, &c.rooms(), TypingRequest::parse(&v)?)
        .await
}

pub async fn leave<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Left> {
    c.svc.leave(&c.me, &c.rooms(), &parse_leave(&v)?).await
}

pub async fn mark_read<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::ReadResult> {
    c.svc.mark_read(&c.me, MarkReadRequest::parse(&v)?).await
}

pub async fn edit<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Message> {
    c.svc.edit(&c.me, EditRequest::parse(&v, None)?).await
}

pub async fn delete<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Message> {
    c.svc.delete(&c.me, DeleteRequest::parse(&v, None)?).await
}

pub async fn add_reaction<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Reactions> {
    let req = ReactionRequest::parse(&v, None, None)?;
    c.svc.react(&c.me, req, true).await
}

pub async fn remove_reaction<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Reactions> {
    let req = ReactionRequest::parse(&v, None, None)?;
    c.svc.react(&c.me, req, false).await
}

/// `refresh-token`: the service checks the token; the socket's session watcher moves its end.
pub async fn refresh_token<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::SessionRefreshed> {
    let req = RefreshRequest::parse(&v)?;
    let fresh = c.svc.refresh(&c.me, Some(&req.token)).await?;
    if let Some(state) = c.socket.extensions.get::<Arc<SocketState>>() {
        state
            .expires_at
            .store(super::session::end_of(fresh.expires_at), Ordering::Release);
        state.session_changed.notify_one();
    }
    Ok(wire::SessionRefreshed {
        expires_at: fresh.expires_at.map(rfc3339),
    })
}
