//! The notification routes (§14) under `/api/v0/chat`: push subscriptions and mutes, thin
//! handlers over the chat service.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{ApiResult, Success, success, success_with};
use super::openapi::{Authed as AuthedErrors, OrderErrors, OrderPath, TooLarge};
use super::rest::{Authed, json_body};
use crate::domain::{OrderRef, PushSubscription};
use crate::service::ChatService;
use crate::service::requests::{SubscribeRequest, UnsubscribeRequest, parse_muted};
use crate::wire;

pub fn routes() -> OpenApiRouter<Arc<ChatService>> {
    OpenApiRouter::new()
        .routes(routes!(public_key))
        .routes(routes!(subscribe, unsubscribe))
        .routes(routes!(get_muted, put_muted))
}

/// The VAPID public key browsers subscribe with.
#[utoipa::path(
    get, path = "/push/public-key", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "The key", body = Success<wire::PushPublicKey>), AuthedErrors)
)]
async fn public_key(State(svc): State<Arc<ChatService>>, Authed(me): Authed) -> ApiResult {
    let public_key = svc.push_public_key(&me)?;
    Ok(success(
        "Push public key",
        wire::PushPublicKey { public_key },
    ))
}

fn shown(sub: PushSubscription) -> wire::PushSubscriptionOut {
    wire::PushSubscriptionOut {
        endpoint: sub.endpoint,
        keys: wire::PushKeys {
            p256dh: sub.p256dh,
            auth: sub.auth,
        },
    }
}

/// Subscribe this browser to Web Push (201 new, 200 replaced).
#[utoipa::path(
    post, path = "/push/subscriptions", tag = "notifications", security(("bearer" = [])),
    request_body(content = wire::PushSubscriptionBody, description = "`PushSubscription.toJSON()`"),
    responses(
        (status = 201, description = "Subscribed", body = Success<wire::PushSubscriptionOut>),
        (status = 200, description = "The same endpoint again: replaced", body = Success<wire::PushSubscriptionOut>),
        OrderErrors, TooLarge
    )
)]
async fn subscribe(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let (sub, created) = svc
        .subscribe_push(&me, SubscribeRequest::parse(&body)?)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(success_with(
        status,
        "Subscribed to push notifications",
        shown(sub),
    ))
}

/// Unsubscribe a browser.
#[utoipa::path(
    delete, path = "/push/subscriptions", tag = "notifications", security(("bearer" = [])),
    request_body(content = wire::PushEndpointBody, description = "The subscription's endpoint"),
    responses((status = 200, description = "Whether it was the caller's", body = Success<wire::PushRemoved>), OrderErrors, TooLarge)
)]
async fn unsubscribe(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let removed = svc
        .unsubscribe_push(&me, UnsubscribeRequest::parse(&body)?)
        .await?;
    Ok(success("Unsubscribed", wire::PushRemoved { removed }))
}

/// Whether the caller muted this order's notifications.
#[utoipa::path(
    get, path = "/orders/{orderId}/notifications", tag = "notifications", security(("bearer" = [])),
    params(OrderPath),
    responses((status = 200, description = "The caller's state", body = Success<wire::MuteState>), OrderErrors)
)]
async fn get_muted(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(order): Path<String>,
) -> ApiResult {
    let (order_id, muted) = svc.muted(&me, &OrderRef::parse(&order)?).await?;
    Ok(success(
        "Notification settings",
        wire::MuteState { order_id, muted },
    ))
}

/// Mute or unmute this order's notifications for the caller.
#[utoipa::path(
    put, path = "/orders/{orderId}/notifications", tag = "notifications", security(("bearer" = [])),
    params(OrderPath),
    request_body(content = wire::MuteBody, description = "`muted`"),
    responses((status = 200, description = "The caller's new state", body = Success<wire::MuteState>), OrderErrors, TooLarge)
)]
async fn put_muted(
    State(svc): State<Arc<ChatService>>,
    Authed(me): Authed,
    Path(order): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let muted = parse_muted(&body)?;
    let (order_id, muted) = svc.set_muted(&me, &OrderRef::parse(&order)?, muted).await?;
    Ok(success(
        "Notification settings saved",
        wire::MuteState { order_id, muted },
    ))
}
