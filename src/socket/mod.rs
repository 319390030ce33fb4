//! The Socket.IO adapter: authenticate the handshake, then turn each client event into one call
//! of the chat service and its result into an ack (or an `error` event when there is no ack).

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, Extension, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{DisconnectReason, Socket};

use crate::auth::strip_bearer;
use crate::domain::{OrderId, UserId};
use crate::error::{AuthFailure, ChatError, ChatResult, error_chain};
use crate::realtime::{Membership, order_room, presence_room, user_room};
use crate::service::requests::{
    JoinRequest, MarkReadRequest, SendRequest, TypingRequest, parse_leave,
};
use crate::service::{Caller, ChatService};
use crate::wire::{self, event};

mod state;

use state::{SocketState, Turn};

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
    s.extensions.insert(Arc::new(caller));
    s.extensions.insert(Arc::new(SocketState::default()));
    s.on("join-order-chat", on_join::<A>);
    s.on("send-message", on_send::<A>);
    s.on("typing", on_typing::<A>);
    s.on("leave-order-chat", on_leave::<A>);
    s.on("mark-messages-read", on_mark_read::<A>);
    s.on_fallback(on_unknown::<A>);
    s.on_disconnect(on_disconnect::<A>);
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, Extension(me): Me) {
    let status = wire::ConnectionStatus {
        status: "connected",
        user_id: me.user_id.to_string(),
        user_type: me.user_type,
    };
    let _ = s.emit(event::CONNECTION_STATUS, &status);
}

/// Whether the client passed an acknowledgement callback (then replies go there, not to `error`).
struct WantsAck(bool);

impl<A: Adapter> FromMessageParts<A> for WantsAck {
    type Error = std::convert::Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        Ok(WantsAck(ack_id.is_some()))
    }
}

/// A payload that failed to decode is answered as a validation error, never silently dropped.
fn payload(data: Result<Value, socketioxide::ParserError>) -> ChatResult<Value> {
    data.map_err(|_| ChatError::validation("payload is missing or is not valid JSON"))
}

fn order_hint(v: &Result<Value, socketioxide::ParserError>) -> Option<String> {
    match v.as_ref().ok()? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("orderId").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
    .filter(|s| s.len() <= 64)
}

/// Answer one event: `{ok:true,data}` or `{ok:false,error}` on the ack, or the `error` event.
fn reply<A: Adapter, T: Serialize>(
    s: &SocketRef<A>,
    svc: &ChatService,
    ack: AckSender<A>,
    wants_ack: bool,
    ev: &str,
    order: Option<String>,
    result: ChatResult<T>,
) {
    match result {
        Ok(data) => {
            if wants_ack {
                let _ = ack.send(&json!({ "ok": true, "data": data }));
            }
        }
        Err(e) => {
            svc.metrics().error(e.code());
            if let ChatError::Internal(_) = &e {
                tracing::error!(event = ev, error = %error_chain(&e), "event failed");
            }
            let mut error = json!({ "code": e.code(), "message": e.public_message() });
            if let Some(wait) = e.retry_after() {
                error["retryAfterMs"] = json!(wait.as_millis() as u64);
            }
            if wants_ack {
                let _ = ack.send(&json!({ "ok": false, "error": error }));
            } else {
                let _ = s.emit(
                    event::ERROR,
                    &wire::ErrorEvent {
                        message: e.public_message(),
                        code: e.code(),
                        event: Some(ev.to_owned()),
                        order_id: order,
                        retry_after_ms: e.retry_after().map(|d| d.as_millis() as u64),
                    },
                );
            }
        }
    }
}

/// This socket's room membership, as the service sees it.
struct SocketRooms<A: Adapter>(SocketRef<A>);

impl<A: Adapter> SocketRooms<A> {
    fn state(&self) -> Option<Arc<SocketState>> {
        self.0.extensions.get::<Arc<SocketState>>()
    }

    fn with_joined<T>(
        &self,
        f: impl FnOnce(&mut std::collections::BTreeSet<OrderId>) -> T,
    ) -> Option<T> {
        let state = self.state()?;
        let mut joined = state.joined.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut joined))
    }
}

#[async_trait]
impl<A: Adapter> Membership for SocketRooms<A> {
    async fn enter(&self, order: &OrderId, user: &UserId) {
        self.with_joined(|j| j.insert(order.clone()));
        self.0.join([order_room(order), presence_room(order, user)]);
    }
    async fn exit(&self, order: &OrderId, user: &UserId) {
        self.with_joined(|j| j.remove(order));
        self.0
            .leave([order_room(order), presence_room(order, user)]);
    }
    fn is_in(&self, order: &OrderId) -> bool {
        self.with_joined(|j| j.contains(order)).unwrap_or(false)
    }
    fn joined_orders(&self) -> Vec<OrderId> {
        self.with_joined(|j| j.iter().cloned().collect())
            .unwrap_or_default()
    }
}

async fn on_join<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    WantsAck(wants): WantsAck,
    State(svc): Svc,
    Extension(me): Me,
    turn: Turn,
) {
    turn.wait().await;
    svc.metrics().event("join-order-chat");
    let hint = order_hint(&data);
    let result = async {
        let req = JoinRequest::parse(&payload(data)?)?;
        svc.join(&me, &SocketRooms(s.clone()), req).await
    }
    .await;
    if let Ok(joined) = &result {
        let _ = s.emit(event::PREVIOUS_MESSAGES, &joined.messages);
    }
    reply(&s, &svc, ack, wants, "join-order-chat", hint, result);
}

async fn on_send<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    WantsAck(wants): WantsAck,
    State(svc): Svc,
    Extension(me): Me,
    turn: Turn,
) {
    turn.wait().await;
    svc.metrics().event("send-message");
    let hint = order_hint(&data);
    let result = async {
        let req = SendRequest::parse(&payload(data)?, None)?;
        svc.send(&me, req).await
    }
    .await;
    reply(&s, &svc, ack, wants, "send-message", hint, result);
}

async fn on_typing<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    WantsAck(wants): WantsAck,
    State(svc): Svc,
    Extension(me): Me,
    turn: Turn,
) {
    turn.wait().await;
    svc.metrics().event("typing");
    let hint = order_hint(&data);
    let result = async {
        let req = TypingRequest::parse(&payload(data)?)?;
        svc.typing(&me, &SocketRooms(s.clone()), req).await
    }
    .await;
    reply(&s, &svc, ack, wants, "typing", hint, result);
}

async fn on_leave<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    WantsAck(wants): WantsAck,
    State(svc): Svc,
    Extension(me): Me,
    turn: Turn,
) {
    turn.wait().await;
    svc.metrics().event("leave-order-chat");
    let hint = order_hint(&data);
    let result = async {
        let order = parse_leave(&payload(data)?)?;
        svc.leave(&me, &SocketRooms(s.clone()), &order).await
    }
    .await;
    reply(&s, &svc, ack, wants, "leave-order-chat", hint, result);
}

async fn on_mark_read<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    WantsAck(wants): WantsAck,
    State(svc): Svc,
    Extension(me): Me,
    turn: Turn,
) {
    turn.wait().await;
    svc.metrics().event("mark-messages-read");
    let hint = order_hint(&data);
    let result = async {
        let req = MarkReadRequest::parse(&payload(data)?)?;
        svc.mark_read(&me, req).await
    }
    .await;
    reply(&s, &svc, ack, wants, "mark-messages-read", hint, result);
}

async fn on_unknown<A: Adapter>(
    s: SocketRef<A>,
    Event(name): Event,
    ack: AckSender<A>,
    WantsAck(wants): WantsAck,
    State(svc): Svc,
) {
    svc.metrics().event("unknown");
    let shown: String = name.chars().take(64).collect();
    let result: ChatResult<()> = Err(ChatError::validation(format!("Unknown event: {shown}")));
    reply(&s, &svc, ack, wants, &shown, None, result);
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    _reason: DisconnectReason,
    State(svc): Svc,
    Extension(me): Me,
) {
    svc.metrics().connections.dec();
    svc.disconnected(&me, &SocketRooms(s.clone())).await;
}
