//! The REST envelope and the one mapping of `ChatError` to HTTP.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::{AuthFailure, ChatError, error_chain};

/// `{"status":"success","message":…,"data":…}`
pub fn success<T: Serialize>(message: &str, data: T) -> Response {
    success_with(StatusCode::OK, message, data)
}

pub fn success_with<T: Serialize>(status: StatusCode, message: &str, data: T) -> Response {
    (
        status,
        Json(json!({ "status": "success", "message": message, "data": data })),
    )
        .into_response()
}

/// A `ChatError` on its way out of a REST handler.
pub struct ApiError(pub ChatError);

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        ApiError(e)
    }
}

impl From<crate::domain::IdError> for ApiError {
    fn from(e: crate::domain::IdError) -> Self {
        ApiError(e.into())
    }
}

fn status_of(e: &ChatError) -> StatusCode {
    match e {
        ChatError::Validation(_) => StatusCode::BAD_REQUEST,
        ChatError::Unauthorized(AuthFailure::Blocked) => StatusCode::FORBIDDEN,
        ChatError::Unauthorized(_) | ChatError::TokenExpired => StatusCode::UNAUTHORIZED,
        ChatError::Forbidden(_) => StatusCode::FORBIDDEN,
        ChatError::OrderNotFound | ChatError::NotFound(_) | ChatError::MessageNotFound => {
            StatusCode::NOT_FOUND
        }
        ChatError::OrderClosed
        | ChatError::NotJoined
        | ChatError::EditWindowPassed
        | ChatError::DeleteWindowPassed => StatusCode::CONFLICT,
        ChatError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ChatError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ChatError::RateLimited { .. } | ChatError::LimitExceeded(_) => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ChatError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        ChatError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        if let ChatError::Internal(_) = &e {
            tracing::error!(error = %error_chain(&e), "request failed");
        }
        let status = status_of(&e);
        let mut body = json!({
            "status": "error",
            "error": true,
            "code": e.code(),
            "message": e.public_message(),
        });
        if let Some(wait) = e.retry_after() {
            body["retryAfterMs"] = json!(wait.as_millis() as u64);
        }
        let mut res = (status, Json(body)).into_response();
        match &e {
            ChatError::Unauthorized(f) if *f != AuthFailure::Blocked => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ if e.retry_after().is_some() => {
                let wait = e.retry_after().unwrap_or_default();
                let secs = wait.as_secs_f64().ceil().max(1.0).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        res.extensions_mut().insert(ErrorCode(e.code()));
        res
    }
}

/// Lets the metrics layer count errors by code.
#[derive(Clone, Copy)]
pub struct ErrorCode(pub &'static str);

pub type ApiResult = Result<Response, ApiError>;
