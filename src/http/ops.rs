//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "ops", security(()),
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(Health { status: "ok" })).into_response()
}

/// Ready when the database answers (and Redis, when configured).
#[utoipa::path(
    get, path = "/readyz", tag = "ops", security(()),
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: the database or Redis is unreachable", body = Readiness)
    )
)]
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
    let body = Readiness {
        status: if status == StatusCode::OK {
            "ready"
        } else {
            "unavailable"
        },
        database: match &db {
            Ok(()) => "ok",
            Err(crate::store::StoreError::ReadOnly) => "read-only",
            Err(_) => "unreachable",
        },
        redis: match &redis {
            None => "not configured",
            Some(Ok(())) => "ok",
            Some(Err(_)) => "unreachable",
        },
        limits: state.service.limits_scope(),
    };
    (status, axum::Json(body)).into_response()
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get, path = "/metrics", tag = "ops", security(()),
    responses((status = 200, description = "The metrics", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"))
)]
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

/// `/healthz`'s answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// `/readyz`'s answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(pattern = "^(ready|unavailable)$")]
    status: &'static str,
    /// `ok`, `read-only` or `unreachable`.
    #[schema(pattern = "^(ok|read-only|unreachable)$")]
    database: &'static str,
    /// `ok`, `unreachable` or `not configured`.
    #[schema(pattern = "^(ok|unreachable|not configured)$")]
    redis: &'static str,
    /// Where the per-user limits are counted: `local` (one node), `shared` (Redis) or
    /// `local-fallback` (Redis unreachable).
    #[schema(pattern = "^(local|shared|local-fallback)$")]
    limits: &'static str,
}

/// Something that can say whether Redis is reachable (set when `REDIS_URL` is).
#[async_trait::async_trait]
pub trait RedisCheck: Send + Sync {
    async fn ping(&self) -> Result<(), String>;
}
