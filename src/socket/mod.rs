//! The Socket.IO adapter: authenticate the handshake, then turn each client event into one call
//! of the chat service (`events`), through the one dispatch path (`dispatch`) that renders the
//! result as an ack or an `error` event.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;

use crate::auth::strip_bearer;
use crate::error::{AuthFailure, ChatError, error_chain};
use crate::service::{Caller, ChatService};
use crate::wire::{self, ServerEvent};

mod dispatch;
mod events;
pub mod realtime;
mod rooms;
mod session;
mod state;

use dispatch::{emit_to, on};
use realtime::user_room;
use rooms::SocketRooms;
use state::SocketState;

type Svc = State<Arc<ChatService>>;
type Me = Extension<Arc<Caller>>;

/// Register the `/` namespace's handlers. Generic over the adapter so one code path serves a
/// single node (local adapter) and a cluster (Redis adapter).
pub fn handler<A: Adapter>() -> impl ConnectHandler<A, (SocketRef<A>, Me)> {
    on_connect::<A>.with(authenticate::<A>)
}

/// Why a handshake was refused: the Display text is the `connect_error` message.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("{0}")]
    Auth(AuthFailure),
    #[error("Service unavailable: please retry")]
    Unavailable,
    #[error("{0}")]
    Limit(String),
}

/// The token, from (in order) `auth.token`, the `Authorization` header, the `token` query parameter.
fn handshake_token(auth: Option<&Value>, parts: &http::request::Parts) -> Option<String> {
    if let Some(t) = auth.and_then(|a| a.get("token")).and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    if let Some(h) = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
    {
        return Some(strip_bearer(h).to_owned());
    }
    parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    })
}

async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Value>,
    State(svc): Svc,
) -> Result<(), Refusal> {
    let token = handshake_token(auth.as_ref().ok(), s.req_parts());
    let admitted = match svc.authenticate(token.as_deref()).await {
        Ok(caller) => svc.admit_socket(&caller).await.map(|()| caller),
        Err(e) => Err(e),
    };
    match admitted {
        Ok(caller) => {
            prepare(&s, &svc, caller);
            Ok(())
        }
        Err(ChatError::LimitExceeded(m)) => {
            svc.metrics().error("LIMIT_EXCEEDED");
            Err(Refusal::Limit(m))
        }
        Err(ChatError::Unauthorized(f)) => {
            svc.metrics().error(ChatError::Unauthorized(f).code());
            Err(Refusal::Auth(f))
        }
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "handshake failed");
            svc.metrics().error(e.code());
            Err(Refusal::Unavailable)
        }
    }
}

/// Ready an admitted socket. This runs in the connect middleware, before socketioxide sends
/// the CONNECT acknowledgement: a client may emit its first event the moment it is connected,
/// and the handlers must exist by then (the connect handler itself runs later, in a task).
fn prepare<A: Adapter>(s: &SocketRef<A>, svc: &ChatService, caller: Caller) {
    svc.metrics().connections.inc();
    svc.metrics().connections_total.inc();
    s.join(user_room(&caller.user_id));
    let state = SocketState::default();
    state
        .expires_at
        .store(session::end_of(caller.expires_at), Ordering::Release);
    s.extensions.insert(Arc::new(caller));
    s.extensions.insert(Arc::new(state));
    // One line per client event: its name and its handler (parse + one service call).
    on(s, "join-order-chat", events::join::<A>);
    on(s, "send-message", events::send::<A>);
    on(s, "typing", events::typing::<A>);
    on(s, "leave-order-chat", events::leave::<A>);
    on(s, "mark-messages-read", events::mark_read::<A>);
    on(s, "edit-message", events::edit::<A>);
    on(s, "delete-message", events::delete::<A>);
    on(s, "add-reaction", events::add_reaction::<A>);
    on(s, "remove-reaction", events::remove_reaction::<A>);
    on(s, "refresh-token", events::refresh_token::<A>);
    s.on_fallback(dispatch::on_unknown::<A>);
    s.on_disconnect(on_disconnect::<A>);
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, Extension(me): Me) {
    let status = wire::ConnectionStatus {
        status: "connected",
        user_id: me.user_id.to_string(),
        user_type: me.user_type,
    };
    emit_to(&s, ServerEvent::ConnectionStatus(&status));
    if let Some(state) = s.extensions.get::<Arc<SocketState>>() {
        session::watch(s.clone(), state);
    }
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    _reason: DisconnectReason,
    State(svc): Svc,
    Extension(me): Me,
) {
    svc.metrics().connections.dec();
    if let Some(state) = s.extensions.get::<Arc<SocketState>>() {
        state.closed.store(true, Ordering::Release);
        state.session_changed.notify_one();
    }
    svc.disconnected(&me, &SocketRooms(s.clone())).await;
}
