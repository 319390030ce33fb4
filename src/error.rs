//! The one error type of the chat service. Every adapter maps it to the wire exactly once:
//! REST in `http::envelope`, Socket.IO in `socket::reply`.

use std::time::Duration;

/// Why a token was refused. The Display texts are the contract's `connect_error` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("Authentication error: Token not provided")]
    Missing,
    #[error("Authentication error: Invalid token")]
    Invalid,
    #[error("Authentication error: Token expired")]
    Expired,
    #[error("Your account has been blocked. Please contact support")]
    Blocked,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unauthorized(AuthFailure),
    #[error("{0}")]
    Forbidden(String),
    #[error("Order not found")]
    OrderNotFound,
    #[error("This order is closed: its chat is read-only")]
    OrderClosed,
    #[error("Join the order chat first (join-order-chat)")]
    NotJoined,
    #[error("Message not found in this order")]
    MessageNotFound,
    #[error("This message can no longer be edited (the edit window has passed)")]
    EditWindowPassed,
    #[error("This message can no longer be deleted (the delete window has passed)")]
    DeleteWindowPassed,
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A file whose bytes are not of a type we accept (§12).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Too many requests: retry in {} ms", .retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("The server is restarting: please retry")]
    ShuttingDown,
    #[error("Your session has expired: sign in again")]
    TokenExpired,
    /// The cause is for the log only (see `error_chain`); the wire says "Something went wrong".
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ChatError {
    pub fn validation(msg: impl Into<String>) -> Self {
        ChatError::Validation(msg.into())
    }

    /// An internal failure described in words (a broken invariant, not a client's mistake).
    pub fn internal(what: impl Into<String>) -> Self {
        ChatError::Internal(what.into().into())
    }

    pub fn not_participant() -> Self {
        ChatError::Forbidden("You are not a participant of this order".into())
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::Validation(_) => "VALIDATION",
            ChatError::Unauthorized(AuthFailure::Blocked) => "FORBIDDEN",
            ChatError::Unauthorized(_) => "UNAUTHORIZED",
            ChatError::Forbidden(_) => "FORBIDDEN",
            ChatError::OrderNotFound => "ORDER_NOT_FOUND",
            ChatError::OrderClosed => "ORDER_CLOSED",
            ChatError::NotJoined => "NOT_JOINED",
            ChatError::MessageNotFound => "MESSAGE_NOT_FOUND",
            ChatError::EditWindowPassed => "EDIT_WINDOW_PASSED",
            ChatError::DeleteWindowPassed => "DELETE_WINDOW_PASSED",
            ChatError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ChatError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ChatError::RateLimited { .. } => "RATE_LIMITED",
            ChatError::NotFound(_) => "NOT_FOUND",
            ChatError::LimitExceeded(_) => "LIMIT_EXCEEDED",
            ChatError::ShuttingDown => "SHUTTING_DOWN",
            ChatError::TokenExpired => "TOKEN_EXPIRED",
            ChatError::Internal(_) => "INTERNAL",
        }
    }

    /// How long to wait before retrying, when that is known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ChatError::RateLimited { retry_after } => Some(*retry_after),
            ChatError::ShuttingDown => Some(Duration::from_secs(1)),
            _ => None,
        }
    }

    /// One error of every kind (every variant, and every `AuthFailure`), so the OpenAPI
    /// document lists every code with its status. A new variant fails to compile in `_every`
    /// until it is added here too.
    pub fn one_of_each() -> Vec<ChatError> {
        fn _every(e: &ChatError) {
            match e {
                ChatError::Validation(_)
                | ChatError::Unauthorized(_)
                | ChatError::Forbidden(_)
                | ChatError::OrderNotFound
                | ChatError::OrderClosed
                | ChatError::NotJoined
                | ChatError::MessageNotFound
                | ChatError::EditWindowPassed
                | ChatError::DeleteWindowPassed
                | ChatError::PayloadTooLarge(_)
                | ChatError::UnsupportedMediaType(_)
                | ChatError::RateLimited { .. }
                | ChatError::NotFound(_)
                | ChatError::LimitExceeded(_)
                | ChatError::ShuttingDown
                | ChatError::TokenExpired
                | ChatError::Internal(_) => {}
            }
        }
        let text = String::new;
        vec![
            ChatError::Validation(text()),
            ChatError::Unauthorized(AuthFailure::Missing),
            ChatError::Unauthorized(AuthFailure::Invalid),
            ChatError::Unauthorized(AuthFailure::Expired),
            ChatError::Unauthorized(AuthFailure::Blocked),
            ChatError::Forbidden(text()),
            ChatError::OrderNotFound,
            ChatError::OrderClosed,
            ChatError::NotJoined,
            ChatError::MessageNotFound,
            ChatError::EditWindowPassed,
            ChatError::DeleteWindowPassed,
            ChatError::PayloadTooLarge(text()),
            ChatError::UnsupportedMediaType(text()),
            ChatError::RateLimited {
                retry_after: Duration::ZERO,
            },
            ChatError::NotFound(text()),
            ChatError::LimitExceeded(text()),
            ChatError::ShuttingDown,
            ChatError::TokenExpired,
            ChatError::internal("example"),
        ]
    }

    /// The human-readable message sent to clients (never an internal detail).
    pub fn public_message(&self) -> String {
        match self {
            ChatError::Internal(_) => "Something went wrong".into(),
            other => other.to_string(),
        }
    }
}

impl From<crate::domain::IdError> for ChatError {
    fn from(e: crate::domain::IdError) -> Self {
        ChatError::Validation(e.0.to_owned())
    }
}

impl From<crate::store::StoreError> for ChatError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::OrderNumberTaken => {
                ChatError::validation("orderNumber already belongs to another order")
            }
            other => ChatError::Internal(Box::new(other)),
        }
    }
}

/// An error and every cause under it, `outer: inner: …`, for the log.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

pub type ChatResult<T> = Result<T, ChatError>;
