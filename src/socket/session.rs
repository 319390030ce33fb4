//! A socket lives no longer than its token (§15): 60 s before it expires the socket hears
//! `session-expiring`; a `refresh-token` moves the end; at the end it gets `error`
//! `TOKEN_EXPIRED` and is disconnected. One small task per socket, woken by a refresh or the
//! disconnect.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::dispatch::emit_to;
use super::state::SocketState;
use crate::domain::{now_millis, rfc3339};
use crate::error::ChatError;
use crate::wire::{self, ServerEvent};

/// How long before the token's end the socket is warned.
pub const WARN_BEFORE_MS: i64 = 60_000;

/// When a socket with a token expiring at `expires_at` must end (0: never): at `exp` plus
/// the leeway that verification allows (a token is accepted until then).
pub fn end_of(expires_at: Option<crate::domain::Millis>) -> i64 {
    expires_at.map_or(0, |e| e + crate::auth::LEEWAY_SECS as i64 * 1000)
}

pub fn watch<A: Adapter>(s: SocketRef<A>, state: Arc<SocketState>) {
    if state.expires_at.load(Ordering::Acquire) == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut warned_for = 0;
        loop {
            if state.closed.load(Ordering::Acquire) {
                return;
            }
            let end = state.expires_at.load(Ordering::Acquire);
            let now = now_millis();
            if warned_for != end && now < end - WARN_BEFORE_MS {
                if woken(&state, end - WARN_BEFORE_MS - now).await {
                    continue;
                }
            } else if now < end {
                if warned_for != end {
                    warned_for = end;
                    let notice = wire::SessionExpiring {
                        expires_at: rfc3339(end),
                    };
                    emit_to(&s, ServerEvent::SessionExpiring(&notice));
                }
                if woken(&state, end - now).await {
                    continue;
                }
            } else {
                let e = ChatError::TokenExpired;
                let payload = wire::ErrorEvent {
                    message: e.public_message(),
                    code: e.code(),
                    event: None,
                    order_id: None,
                    retry_after_ms: None,
                };
                emit_to(&s, ServerEvent::Error(&payload));
                let _ = s.clone().disconnect();
                return;
            }
        }
    });
}

/// Sleep `ms`, or less if the session changed meanwhile (true then).
async fn woken(state: &SocketState, ms: i64) -> bool {
    let sleep = tokio::time::sleep(Duration::from_millis(ms.max(0) as u64));
    tokio::select! {
        () = sleep => false,
        () = state.session_changed.notified() => true,
    }
}
