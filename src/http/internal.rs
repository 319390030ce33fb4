//! The internal API (`/api/v0/internal`): the main backend feeds orders and users.
//! Authorized by `Authorization: Bearer <INTERNAL_API_KEY>`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::envelope::{ApiResult, Success, success};
use super::openapi::{InternalErrors, OrderPath, UserPath};
use super::rest::json_body;
use crate::auth::strip_bearer;
use crate::error::{AuthFailure, ChatError};
use crate::service::{OrderUpsert, UserUpsert};
use crate::wire;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_order))
        .routes(routes!(put_user))
}

/// Compare in time independent of where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_key(state: &AppState, headers: &HeaderMap) -> Result<(), ChatError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(strip_bearer)
        .ok_or(ChatError::Unauthorized(AuthFailure::Missing))?;
    if same_secret(given.as_bytes(), state.internal_api_key.as_bytes()) {
        Ok(())
    } else {
        Err(ChatError::Unauthorized(AuthFailure::Invalid))
    }
}

/// Create or update an order and the users it names. A change of agents or status writes a
/// `system` message and emits `order-updated`; a removed participant is evicted first.
#[utoipa::path(
    put, path = "/orders/{orderId}", tag = "internal", security(("internalKey" = [])),
    params(OrderPath),
    request_body(content = wire::OrderBody),
    responses((status = 200, description = "The order as stored", body = Success<wire::OrderUpdated>), InternalErrors)
)]
async fn put_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    check_key(&state, &headers)?;
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let order = state
        .service
        .put_order(OrderUpsert::parse(&order_id, &body)?)
        .await?;
    Ok(success("Order saved", order))
}

/// Create or update a user. Blocking disconnects the user's live sockets.
#[utoipa::path(
    put, path = "/users/{userId}", tag = "internal", security(("internalKey" = [])),
    params(UserPath),
    request_body(content = wire::UserBody),
    responses((status = 200, description = "The user as stored", body = Success<wire::UserSaved>), InternalErrors)
)]
async fn put_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    check_key(&state, &headers)?;
    let body = json_body(body, true)?.unwrap_or(Value::Null);
    let user = state
        .service
        .put_user(UserUpsert::parse(&user_id, &body)?)
        .await?;
    Ok(success("User saved", user))
}
