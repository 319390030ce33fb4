//! The REST API under `/api/v0/chat`: thin handlers over the chat service.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{ApiError, ApiResult, Success, success, success_with};
use super::openapi::{
    Authed as AuthedErrors, Conflict, HistoryQuery, Limited, MessagePath, OrderErrors, OrderPath,
    ReactionPath, SearchQuery, TooLarge, Unavailable, UnreadQuery,
};
use crate::domain::MessageId;
use crate::domain::OrderRef;
use crate::domain::Page;
use crate::error::{AuthFailure, ChatError};
use crate::service::requests::{
    DeleteRequest, EditRequest, MarkReadRequest, ReactionRequest, SearchRequest, SendRequest,
    Target, limit_value,
};
use crate::service::{Caller, ChatService};
use crate::wire;

/// Each route and its OpenAPI operation come from the handler's `#[utoipa::path]`.
pub fn routes() -> OpenApiRouter<Arc<ChatService>> {
    OpenApiRouter::new()
        // The original service's first paths…
        .routes(routes!(history_first_path))
        .routes(routes!(unread_first_path))
        .routes(routes!(mark_read_first_path))
        // …and its later ones.
        .routes(routes!(chats))
        .routes(routes!(history, send))
        .routes(routes!(mark_read))
        .routes(routes!(unread))
        .routes(routes!(search))
        // The message lifecycle (§11).
        .routes(routes!(edit, delete))
        .routes(routes!(add_reaction, remove_reaction))
        .routes(routes!(revisions))
}

/// The authenticated caller of a REST request (`Authorization: Bearer <jwt>`).
pub struct Authed(pub Caller);

impl FromRequestParts<Arc<ChatService>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        svc: &Arc<ChatService>,
    ) -> Result<Self, ApiError> {
        let token = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(h) => Some(
                h.to_str()
                    .map_err(|_| ChatError::Unauthorized(AuthFailure::Invalid))?,
            ),
        };
        Ok(Authed(svc.authenticate(token).await?))
    }
}

/// A JSON body, or the clear error for a missing, oversized or malformed one.
pub fn json_body(
    body: Result<Bytes, BytesRejection>,
    required: bool,
) -> Result<Option<Value>, ChatError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ChatError::PayloadTooLarge("Request body is too large".into())
        } else {
            ChatError::validation(format!("Cannot read the request body: {e}"))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ChatError::validation("A JSON body is required"))
        } else {
            Ok(None)
        };
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ChatError::validation(format!("Malformed JSON: {e}")))
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn query(q: Params) -> Result<HashMap<String, String>, ChatError> {
    q.map(|Query(m)| m)
        .map_err(|e| ChatError::validation(format!("Bad query string: {e}")))
}

fn int_param(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ChatError> {
    match q.get(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0 || name == "limit")
            .map(Some)
            .ok_or_else(|| ChatError::validation(format!("{name} must be a non-negative integer"))),
    }
}

/// A page of an order's history, oldest first (the original service's path).
#[utoipa::path(
    get, path = "/messages/{orderId}", tag = "chat", security(("bearer" = [])),
    params(OrderPath, HistoryQuery),
    responses((status = 200, description = "A page of history", body = Success<wire::HistoryPage>), OrderErrors)
)]
async fn history_first_path(
    svc: State<Arc<ChatService>>,
    me: Authed,
    order_id: Path<String>,
    q: Params,
) -> ApiResult {
    history(svc, me, order_id, q).await
}

/// A page of an order's history, oldest first. Does not mark anything read.
#[utoipa::path(
    get, path = "/orders/{orderId}/messages", tag = "chat", security(("bearer" = [])),
    params(OrderPath, HistoryQuery),
    responses((status = 200, description = "A page of history", body = Success<wire::HistoryPage>), OrderErrors)
)]
async fn history(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(order_id): Path<String>,
    q: Params,
) -> ApiResult {
    let q = query(q)?;
    let order = OrderRef::parse(&order_id)?;
    let limit = limit_value(int_param(&q, "limit")?)?;
    let cursors = (
        int_param(&q, "before")?,
        int_param(&q, "after")?,
        int_param(&q, "sinceRev")?,
    );
    let page = match cursors {
        (None, None, Some(rev)) => Page::Changed { rev, limit },
        (_, _, Some(_)) => {
            return Err(
                ChatError::validation("sinceRev cannot be combined with before or after").into(),
            );
        }
        (Some(_), Some(_), None) => {
            return Err(ChatError::validation("use either before or after, not both").into());
        }
        (Some(seq), None, None) => Page::Before { seq, limit },
        (None, Some(seq), None) => Page::After { seq, limit },
        (None, None, None) => Page::Latest { limit },
    };
    let page = svc.history(&me, &order, page).await?;
    Ok(success("Messages retrieved", page))
}

/// Send a message (as `send-message`): stored, then `new-message` to the order's room.
#[utoipa::path(
    post, path = "/orders/{orderId}/messages", tag = "chat", security(("bearer" = [])),
    params(OrderPath),
    request_body(content = wire::SendBody, description = "The message; the path's order wins over a body `orderId`"),
    responses(
        (status = 201, description = "The stored message (or the original one, for a repeated `clientMessageId`)", body = Success<wire::Message>),
        OrderErrors, Conflict, TooLarge, Limited, Unavailable
    )
)]
async fn send(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(order_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let req = SendRequest::parse(&body, Some(&order_id))?;
    let message = svc.send(&me, req).await?;
    Ok(success_with(StatusCode::CREATED, "Message sent", message))
}

/// Mark read (the original service's path).
#[utoipa::path(
    post, path = "/read/{orderId}", tag = "chat", security(("bearer" = [])),
    params(OrderPath),
    request_body(content = Option<wire::MarkReadBody>, description = "Optional: without `upToSeq`, everything"),
    responses((status = 200, description = "The caller's read marker", body = Success<wire::ReadResult>), OrderErrors, TooLarge)
)]
async fn mark_read_first_path(
    svc: State<Arc<ChatService>>,
    me: Authed,
    order_id: Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    mark_read(svc, me, order_id, body).await
}

/// Move the caller's read marker forward (never back); `messages-read` when it moved.
#[utoipa::path(
    post, path = "/orders/{orderId}/read", tag = "chat", security(("bearer" = [])),
    params(OrderPath),
    request_body(content = Option<wire::MarkReadBody>, description = "Optional: without `upToSeq`, everything"),
    responses((status = 200, description = "The caller's read marker", body = Success<wire::ReadResult>), OrderErrors, TooLarge)
)]
async fn mark_read(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(order_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, false)?;
    let req = MarkReadRequest::parse_body(&order_id, body.as_ref())?;
    let result = svc.mark_read(&me, req).await?;
    Ok(success("Messages marked as read", result))
}

/// Unread messages (the original service's path).
#[utoipa::path(
    get, path = "/unread", tag = "chat", security(("bearer" = [])),
    params(UnreadQuery),
    responses((status = 200, description = "Unread counts", body = Success<wire::Unread>), OrderErrors)
)]
async fn unread_first_path(svc: State<Arc<ChatService>>, me: Authed, q: Params) -> ApiResult {
    unread(svc, me, q).await
}

/// Unread messages for the caller: of one order, or of all of theirs (with `byOrder`).
#[utoipa::path(
    get, path = "/unread-count", tag = "chat", security(("bearer" = [])),
    params(UnreadQuery),
    responses((status = 200, description = "Unread counts", body = Success<wire::Unread>), OrderErrors)
)]
async fn unread(State(svc): State<Arc<ChatService>>, Authed(me): Authed, q: Params) -> ApiResult {
    let q = query(q)?;
    let order = match q.get("orderId") {
        Some(o) => Some(OrderRef::parse(o)?),
        None => None,
    };
    let unread = svc.unread(&me, order.as_ref()).await?;
    Ok(success("Unread count retrieved", unread))
}

/// The caller's chats, newest activity first.
#[utoipa::path(
    get, path = "/orders", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The caller's chats", body = Success<wire::ChatList>), AuthedErrors)
)]
async fn chats(State(svc): State<Arc<ChatService>>, Authed(me): Authed) -> ApiResult {
    Ok(success("Chats retrieved", svc.chats(&me).await?))
}

type MessageIds = Path<(String, String)>;

fn target((order, message): &(String, String)) -> Target<'_> {
    Target { order, message }
}

/// Edit one's own message (as `edit-message`).
#[utoipa::path(
    patch, path = "/orders/{orderId}/messages/{messageId}", tag = "chat", security(("bearer" = [])),
    params(MessagePath),
    request_body(content = wire::EditBody, description = "The new text"),
    responses((status = 200, description = "The edited message", body = Success<wire::Message>), OrderErrors, Conflict, TooLarge)
)]
async fn edit(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): MessageIds,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let req = EditRequest::parse(&body, Some(target(&ids)))?;
    Ok(success("Message edited", svc.edit(&me, req).await?))
}

/// Delete a message (as `delete-message`): it becomes a tombstone.
#[utoipa::path(
    delete, path = "/orders/{orderId}/messages/{messageId}", tag = "chat", security(("bearer" = [])),
    params(MessagePath),
    responses((status = 200, description = "The tombstone", body = Success<wire::Message>), OrderErrors, Conflict)
)]
async fn delete(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): MessageIds,
) -> ApiResult {
    let req = DeleteRequest::parse(&Value::Null, Some(target(&ids)))?;
    Ok(success("Message deleted", svc.delete(&me, req).await?))
}

async fn react(
    svc: &ChatService,
    me: &Caller,
    (order, message, emoji): (String, String, String),
    add: bool,
) -> ApiResult {
    let path = Target {
        order: &order,
        message: &message,
    };
    let req = ReactionRequest::parse(&Value::Null, Some(path), Some(&emoji))?;
    Ok(success("Reactions updated", svc.react(me, req, add).await?))
}

/// Add one's reaction (as `add-reaction`).
#[utoipa::path(
    put, path = "/orders/{orderId}/messages/{messageId}/reactions/{emoji}", tag = "chat", security(("bearer" = [])),
    params(ReactionPath),
    responses((status = 200, description = "The message's reactions", body = Success<wire::Reactions>), OrderErrors, Conflict, Limited)
)]
async fn add_reaction(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult {
    react(&svc, &me, ids, true).await
}

/// Remove one's reaction (as `remove-reaction`).
#[utoipa::path(
    delete, path = "/orders/{orderId}/messages/{messageId}/reactions/{emoji}", tag = "chat", security(("bearer" = [])),
    params(ReactionPath),
    responses((status = 200, description = "The message's reactions", body = Success<wire::Reactions>), OrderErrors, Conflict)
)]
async fn remove_reaction(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult {
    react(&svc, &me, ids, false).await
}

/// A message's earlier states (the audit trail): admins only.
#[utoipa::path(
    get, path = "/orders/{orderId}/messages/{messageId}/revisions", tag = "chat", security(("bearer" = [])),
    params(MessagePath),
    responses((status = 200, description = "The earlier states, oldest first", body = Success<wire::Revisions>), OrderErrors)
)]
async fn revisions(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path((order, message)): MessageIds,
) -> ApiResult {
    let order = OrderRef::parse(&order)?;
    let message = MessageId::parse(&message)?;
    Ok(success(
        "Revisions retrieved",
        svc.revisions(&me, &order, &message).await?,
    ))
}

/// Search the caller's orders' messages, newest first (§13).
#[utoipa::path(
    get, path = "/search", tag = "chat", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, description = "A page of results", body = Success<wire::SearchPage>), OrderErrors)
)]
async fn search(State(svc): State<Arc<ChatService>>, Authed(me): Authed, q: Params) -> ApiResult {
    let req = SearchRequest::parse(&query(q)?)?;
    Ok(success("Search results", svc.search(&me, req).await?))
}
