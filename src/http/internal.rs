//! The internal API (`/api/v0/internal`): the main backend feeds orders and users.
//! Authorized by `Authorization: Bearer <INTERNAL_API_KEY>`.

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::routing::put;
use bytes::Bytes;
use serde_json::Value;

use super::AppState;
use super::envelope::{ApiResult, success};
use super::rest::json_body;
use crate::auth::strip_bearer;
use crate::error::{AuthFailure, ChatError};
use crate::service::{OrderUpsert, UserUpsert};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/{order_id}", put(put_order))
        .route("/users/{user_id}", put(put_user))
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
