//! The client events: each one parses its payload and makes one call of the chat service.
//! The rules (access, validation, limits) are the service's; rendering is `dispatch`'s.

use serde_json::Value;
use socketioxide::adapter::Adapter;

use super::dispatch::{Ctx, emit_to};
use crate::error::ChatResult;
use crate::service::requests::{
    DeleteRequest, EditRequest, JoinRequest, MarkReadRequest, ReactionRequest, SendRequest,
    TypingRequest, parse_leave,
};
use crate::wire::{self, ServerEvent};

/// `join-order-chat`: the history also goes out as `previous-messages`, before the ack.
pub async fn join<A: Adapter>(c: Ctx<A>, v: Value) -> ChatResult<wire::Joined> {
    let joined = c
        .svc
        .join(&c.me, &c.rooms(), JoinRequest::parse(&v)?)
        .await?;
    emit_to(&c.socket, ServerEvent::PreviousMessages(&joined.messages));
    Ok(joined)
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
