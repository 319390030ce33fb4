//! The REST envelope and the one mapping of `ChatError` to HTTP.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AuthFailure, ChatError, error_chain};

/// `"success"`: the only value of a success envelope's `status`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SuccessStatus {
    Success,
}

/// `{"status":"success","message":…,"data":…}`: every 2xx JSON answer of the REST and
/// internal APIs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Success<T> {
    pub status: SuccessStatus,
    /// Words for people; clients switch on the status and `data`, never on this.
    pub message: String,
    pub data: T,
}

/// `"error"`: the only value of an error envelope's `status`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorStatus {
    Error,
}

/// `{"status":"error","error":true,"code":…,"message":…}`: every error answer of the REST and
/// internal APIs (`code` is one of those the status allows: see `error_codes_by_status`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status: ErrorStatus,
    /// Always `true`.
    pub error: bool,
    /// The stable machine-readable code clients switch on.
    pub code: String,
    /// Words for people (never an internal detail).
    pub message: String,
    /// `RATE_LIMITED` and `SHUTTING_DOWN`: how long to wait (also `Retry-After`, in seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub retry_after_ms: Option<u64>,
}

/// `{"status":"success","message":…,"data":…}`
pub fn success<T: Serialize>(message: &str, data: T) -> Response {
    success_with(StatusCode::OK, message, data)
}

pub fn success_with<T: Serialize>(status: StatusCode, message: &str, data: T) -> Response {
    let body = Success {
        status: SuccessStatus::Success,
        message: message.to_owned(),
        data,
    };
    (status, Json(body)).into_response()
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

pub(super) fn status_of(e: &ChatError) -> StatusCode {
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
        let body = ErrorBody {
            status: ErrorStatus::Error,
            error: true,
            code: e.code().to_owned(),
            message: e.public_message(),
            retry_after_ms: e.retry_after().map(|wait| wait.as_millis() as u64),
        };
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

/// Every error code the HTTP side can answer, grouped by the status it goes with (from the one
/// mapping above), for the OpenAPI document's error responses.
pub fn error_codes_by_status() -> std::collections::BTreeMap<u16, Vec<&'static str>> {
    let mut by_status = std::collections::BTreeMap::<u16, Vec<&'static str>>::new();
    for e in ChatError::one_of_each() {
        let codes = by_status.entry(status_of(&e).as_u16()).or_default();
        if !codes.contains(&e.code()) {
            codes.push(e.code());
        }
    }
    by_status
}
