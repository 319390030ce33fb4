//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

pub async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" }))).into_response()
}

/// Ready when the database answers (and Redis, when configured).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.service.store().ping().await;
    let redis = match &state.redis_check {
        Some(check) => Some(check.ping().await),
        None => None,
    };
    let db_ok = db.is_ok();
    let redis_ok = redis.as_ref().is_none_or(|r| r.is_ok());
    if let Err(e) = &db {
        tracing::warn!(error = %e, "readiness: database unreachable");
    }
    let status = if db_ok && redis_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ready" } else { "unavailable" },
        "database": match &db {
            Ok(()) => "ok",
            Err(crate::store::StoreError::ReadOnly) => "read-only",
            Err(_) => "unreachable",
        },
        "redis": match &redis { None => "not configured", Some(Ok(())) => "ok", Some(Err(_)) => "unreachable" },
        "limits": state.service.limits_scope(),
    });
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.service.metrics().render(),
    )
        .into_response()
}

/// Something that can say whether Redis is reachable (set when `REDIS_URL` is).
#[async_trait::async_trait]
pub trait RedisCheck: Send + Sync {
    async fn ping(&self) -> Result<(), String>;
}
