//! The one path every client event takes: wait for the socket's turn, count it, parse the
//! payload, call the service once, and answer on the ack (or with an `error` event when the
//! client passed no callback). A handler is only its parse and its service call.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, Extension, SocketRef, State, TryData};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;

use super::rooms::SocketRooms;
use super::state::Turn;
use crate::error::{ChatError, ChatResult, error_chain};
use crate::service::{Caller, ChatService};
use crate::wire::{self, ServerEvent};

type Svc = State<Arc<ChatService>>;
type Me = Extension<Arc<Caller>>;

/// What a handler works with: the service, the caller and this socket.
pub struct Ctx<A: Adapter> {
    pub svc: Arc<ChatService>,
    pub me: Arc<Caller>,
    pub socket: SocketRef<A>,
}

impl<A: Adapter> Ctx<A> {
    /// This socket's room membership, as the service sees it.
    pub fn rooms(&self) -> SocketRooms<A> {
        SocketRooms(self.socket.clone())
    }
}

/// Register client event `name`: `handle` gets the decoded payload and returns the ack's data.
pub fn on<A, F, Fut, T>(s: &SocketRef<A>, name: &'static str, handle: F)
where
    A: Adapter,
    F: Fn(Ctx<A>, Value) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ChatResult<T>> + Send + 'static,
    T: Serialize + Send + 'static,
{
    s.on(
        name,
        // `Turn` is taken when the packet is decoded, so it must stay the last extractor.
        move |s: SocketRef<A>,
              TryData(data): TryData<Value>,
              ack: AckSender<A>,
              WantsAck(wants): WantsAck,
              State(svc): Svc,
              Extension(me): Me,
              turn: Turn| {
            let handle = handle.clone();
            async move {
                turn.wait().await;
                svc.metrics().event(name);
                let hint = order_hint(&data);
                let ctx = Ctx {
                    svc: svc.clone(),
                    me,
                    socket: s.clone(),
                };
                let result = match payload(data) {
                    Ok(v) => handle(ctx, v).await,
                    Err(e) => Err(e),
                };
                reply(&s, &svc, ack, wants, name, hint, result);
            }
        },
    );
}

/// Any event the server does not know: a `VALIDATION` error naming it.
pub async fn on_unknown<A: Adapter>(
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

/// Send one event to this socket alone.
pub fn emit_to<A: Adapter>(s: &SocketRef<A>, event: ServerEvent<'_>) {
    if let Err(e) = s.emit(event.name(), &event) {
        tracing::debug!(event = event.name(), error = %e, "emit to socket failed");
    }
}

/// Whether the client passed an acknowledgement callback (then replies go there, not to `error`).
pub struct WantsAck(bool);

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

/// A successful ack: `{ "ok": true, "data": … }`.
#[derive(Serialize)]
struct Success<T> {
    ok: bool,
    data: T,
}

/// A payload that failed to decode is answered as a validation error, never silently dropped.
fn payload(data: Result<Value, socketioxide::ParserError>) -> ChatResult<Value> {
    data.map_err(|_| ChatError::validation("payload is missing or is not valid JSON"))
}

/// The order an event was about, for the `error` event (when the payload names one).
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
    let e = match result {
        Ok(data) => {
            if wants_ack {
                // Encoded straight from `data`: `json!` would first build a tree of values (an
                // allocation per string and per field of, say, a join's 50 messages).
                let _ = ack.send(&Success { ok: true, data });
            }
            return;
        }
        Err(e) => e,
    };
    svc.metrics().error(e.code());
    if let ChatError::Internal(_) = &e {
        tracing::error!(event = ev, error = %error_chain(&e), "event failed");
    }
    let retry_after_ms = e.retry_after().map(|d| d.as_millis() as u64);
    if wants_ack {
        let mut error = json!({ "code": e.code(), "message": e.public_message() });
        if let Some(wait) = retry_after_ms {
            error["retryAfterMs"] = json!(wait);
        }
        let _ = ack.send(&json!({ "ok": false, "error": error }));
    } else {
        let payload = wire::ErrorEvent {
            message: e.public_message(),
            code: e.code(),
            event: Some(ev.to_owned()),
            order_id: order,
            retry_after_ms,
        };
        emit_to(s, ServerEvent::Error(&payload));
    }
}
