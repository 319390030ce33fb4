//! The REST API under `/api/v0/chat`: thin handlers over the chat service.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, patch, post, put};
use axum::{Router, http::header};
use bytes::Bytes;
use serde_json::Value;

use super::envelope::{ApiError, ApiResult, success, success_with};
use crate::domain::MessageId;
use crate::domain::OrderRef;
use crate::domain::Page;
use crate::error::{AuthFailure, ChatError};
use crate::service::requests::{
    DeleteRequest, EditRequest, MarkReadRequest, ReactionRequest, SearchRequest, SendRequest,
    Target, limit_value,
};
use crate::service::{Caller, ChatService};

pub fn routes() -> Router<Arc<ChatService>> {
    Router::new()
        // The original service's first paths…
        .route("/messages/{order_id}", get(history))
        .route("/unread", get(unread))
        .route("/read/{order_id}", post(mark_read))
        // …and its later ones.
        .route("/orders", get(chats))
        .route("/orders/{order_id}/messages", get(history).post(send))
        .route("/orders/{order_id}/read", post(mark_read))
        .route("/unread-count", get(unread))
        .route("/search", get(search))
        // The message lifecycle (§11).
        .route(
            "/orders/{order_id}/messages/{message_id}",
            patch(edit).delete(delete),
        )
        .route(
            "/orders/{order_id}/messages/{message_id}/reactions/{emoji}",
            put(add_reaction).delete(remove_reaction),
        )
        .route(
            "/orders/{order_id}/messages/{message_id}/revisions",
            get(revisions),
        )
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

async fn unread(State(svc): State<Arc<ChatService>>, Authed(me): Authed, q: Params) -> ApiResult {
    let q = query(q)?;
    let order = match q.get("orderId") {
        Some(o) => Some(OrderRef::parse(o)?),
        None => None,
    };
    let unread = svc.unread(&me, order.as_ref()).await?;
    Ok(success("Unread count retrieved", unread))
}

async fn chats(State(svc): State<Arc<ChatService>>, Authed(me): Authed) -> ApiResult {
    Ok(success("Chats retrieved", svc.chats(&me).await?))
}

type MessagePath = Path<(String, String)>;

fn target((order, message): &(String, String)) -> Target<'_> {
    Target { order, message }
}

async fn edit(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): MessagePath,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let req = EditRequest::parse(&body, Some(target(&ids)))?;
    Ok(success("Message edited", svc.edit(&me, req).await?))
}

async fn delete(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): MessagePath,
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

async fn add_reaction(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult {
    react(&svc, &me, ids, true).await
}

async fn remove_reaction(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult {
    react(&svc, &me, ids, false).await
}

async fn revisions(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path((order, message)): MessagePath,
) -> ApiResult {
    let order = OrderRef::parse(&order)?;
    let message = MessageId::parse(&message)?;
    Ok(success(
        "Revisions retrieved",
        svc.revisions(&me, &order, &message).await?,
    ))
}

async fn search(State(svc): State<Arc<ChatService>>, Authed(me): Authed, q: Params) -> ApiResult {
    let req = SearchRequest::parse(&query(q)?)?;
    Ok(success("Search results", svc.search(&me, req).await?))
}
