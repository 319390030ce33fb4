//! The HTTP side: REST API, internal API, operations endpoints, middleware.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ChatError;
use crate::metrics::RouteLabel;
use crate::service::ChatService;

mod assets;
mod attachments;
mod download;
pub mod envelope;
mod internal;
mod notifications;
pub mod openapi;
pub mod ops;
pub mod rest;

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<ChatService>,
    pub internal_api_key: Arc<str>,
    pub redis_check: Option<Arc<dyn ops::RedisCheck>>,
}

/// REST body limit: a message is at most 4,000 characters (16 KB of UTF-8) plus its fields.
/// Only the upload routes raise it (`attachments::routes`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every HTTP route of the server, without the Socket.IO layer and CORS (see `with_cors`).
/// Each is registered with its OpenAPI operation (`routes!`), and the document is served at
/// `openapi::PATH`.
pub fn router(state: AppState) -> Router {
    openapi::mount(api_routes(&state))
        .fallback(not_found)
        .with_state(state.clone())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state, observe))
}

/// The complete HTTP service: the page's assets first (the Socket.IO layer would otherwise
/// take `/socket.io/socket.io.js` as a transport request), then everything behind Socket.IO,
/// and CORS outside it all (the polling transport is HTTP too).
pub fn finish(socket_router: Router, cors_origins: &[String]) -> Router {
    let router = assets::routes().fallback_service(socket_router);
    match cors(cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// Gives a Socket.IO request's head its own memory before socketioxide keeps it.
///
/// hyper parses a request without copying: its header values and URI are slices of the
/// connection's 8 KB read buffer. engineioxide keeps the handshake request's head (`req_parts`)
/// for the whole life of the connection, which keeps that whole buffer alive: 8 KB per idle
/// connection for a few hundred bytes of headers. Copying the head out frees it.
pub async fn own_socket_head(mut req: Request) -> Request {
    if !req.uri().path().starts_with(SOCKET_PATH) {
        return req;
    }
    let headers = std::mem::take(req.headers_mut());
    let mut owned = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in &headers {
        // A value hyper accepted is a valid value: copying it cannot fail, but keep the
        // original (still correct, only not freed) rather than assume so.
        let mut copy =
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    *req.headers_mut() = owned;
    if let Ok(uri) = req.uri().to_string().parse::<http::Uri>() {
        *req.uri_mut() = uri;
    }
    req
}

/// Where the Socket.IO layer answers (socketioxide's default path).
const SOCKET_PATH: &str = "/socket.io/";

/// The routes and their OpenAPI operations, before the document is added.
fn api_routes(state: &AppState) -> OpenApiRouter<AppState> {
    let chat = rest::routes()
        .merge(attachments::routes(state.service.max_upload_bytes()))
        .merge(notifications::routes())
        .with_state(state.service.clone());
    OpenApiRouter::new()
        .nest("/api/v0/chat", chat)
        .nest(
            "/api/v0/internal",
            internal::routes().with_state(state.clone()),
        )
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

async fn not_found() -> Response {
    envelope::ApiError(ChatError::NotFound("No such endpoint".into())).into_response()
}

/// Request latency and error codes for `/metrics`.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let metrics = state.service.metrics();
    if let Some(code) = res.extensions().get::<envelope::ErrorCode>() {
        metrics.error(code.0);
    }
    metrics
        .http_latency
        .get_or_create(&RouteLabel {
            method,
            route,
            status: res.status().as_u16(),
        })
        .observe(start.elapsed().as_secs_f64());
    res
}

/// CORS for the listed origins only (never a wildcard: browsers send credentials).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<_> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .filter_map(|o| o.parse::<axum::http::HeaderValue>().ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::PUT,
            ])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
            ]),
    )
}
