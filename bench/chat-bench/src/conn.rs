//! One Socket.IO client connection over a raw WebSocket: handshake, authentication, pings,
//! events with acks. A reader task answers pings and routes acks and events; a writer task owns
//! the socket's sending half.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};

use crate::proto::{self, Incoming};

/// What receives the server's events (the JSON array text `["name", …]`).
pub trait EventSink: Send + Sync + 'static {
    fn event(&self, json: &str);
}

/// Ignores every event.
pub struct Discard;

impl EventSink for Discard {
    fn event(&self, _: &str) {}
}

/// Why a connection could not be set up; the code is what the report counts.
#[derive(Debug)]
pub struct ConnectError {
    pub code: String,
    pub detail: String,
}

impl ConnectError {
    fn new(code: &str, detail: impl ToString) -> Self {
        Self {
            code: code.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// The outcome of an event sent with an ack.
#[derive(Debug)]
pub enum AckOutcome {
    /// The ack's first argument.
    Reply(Value),
    /// No ack within the timeout.
    Timeout,
    /// The connection closed before the ack.
    Closed,
}

type Pending = Mutex<HashMap<u64, oneshot::Sender<Value>>>;

struct Shared {
    pending: Pending,
    closed: AtomicBool,
}

pub struct Conn {
    out: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
    next_ack: AtomicU64,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host_header: String,
    pub timeout: Duration,
}

type Ws = WebSocketStream<TcpStream>;

impl Conn {
    /// TCP from `source` (a loopback address), WebSocket upgrade, Engine.IO open, Socket.IO
    /// connect with `{"token": …}`; returns once the server accepted the namespace connect.
    pub async fn connect(
        target: &Target,
        source: Ipv4Addr,
        token: &str,
        sink: Arc<dyn EventSink>,
    ) -> Result<Conn, ConnectError> {
        match tokio::time::timeout(target.timeout, Self::handshake(target, source, token)).await {
            Ok(Ok(ws)) => Ok(Self::start(ws, sink)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ConnectError::new("CONNECT_TIMEOUT", "handshake timed out")),
        }
    }

    async fn handshake(target: &Target, source: Ipv4Addr, token: &str) -> Result<Ws, ConnectError> {
        let sock = TcpSocket::new_v4().map_err(|e| ConnectError::new("SOCKET", e))?;
        sock.bind(SocketAddr::from((source, 0)))
            .map_err(|e| ConnectError::new("BIND", e))?;
        let stream = sock
            .connect(target.addr)
            .await
            .map_err(|e| ConnectError::new("TCP_CONNECT", e))?;
        let _ = stream.set_nodelay(true);
        let url = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            target.host_header
        );
        let (mut ws, _) = client_async(url, stream)
            .await
            .map_err(|e| ConnectError::new("WS_HANDSHAKE", e))?;
        // Engine.IO open.
        match next_text(&mut ws).await? {
            t if t.starts_with('0') => {}
            t => return Err(ConnectError::new("EIO_OPEN", format!("unexpected {t:.80}"))),
        }
        ws.send(Message::text(proto::connect(&json!({ "token": token }))))
            .await
            .map_err(|e| ConnectError::new("WS_SEND", e))?;
        loop {
            let t = next_text(&mut ws).await?;
            match proto::parse(&t) {
                Incoming::Connected => return Ok(ws),
                Incoming::ConnectError(m) => {
                    return Err(ConnectError::new(&refusal_code(&m), m));
                }
                Incoming::Ping => {
                    ws.send(Message::text(proto::PONG))
                        .await
                        .map_err(|e| ConnectError::new("WS_SEND", e))?;
                }
                Incoming::Close => return Err(ConnectError::new("CLOSED", "closed by server")),
                _ => {}
            }
        }
    }

    fn start(ws: Ws, sink: Arc<dyn EventSink>) -> Conn {
        let (mut tx, mut rx) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        });
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if tx.feed(m).await.is_err() {
                    return;
                }
                // Batch whatever is already queued into one flush.
                while let Ok(m) = out_rx.try_recv() {
                    if tx.feed(m).await.is_err() {
                        return;
                    }
                }
                if tx.flush().await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Message::Close(None)).await;
        });
        let reader = {
            let shared = shared.clone();
            let out = out.clone();
            tokio::spawn(async move {
                while let Some(frame) = rx.next().await {
                    let text = match frame {
                        Ok(Message::Text(t)) => t,
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(_) => continue,
                    };
                    match proto::parse(text.as_str()) {
                        Incoming::Ping => {
                            let _ = out.send(Message::text(proto::PONG));
                        }
                        Incoming::Ack { id, json } => {
                            let waiter = shared.pending.lock().unwrap().remove(&id);
                            if let Some(w) = waiter {
                                let first = serde_json::from_str::<Value>(json)
                                    .ok()
                                    .and_then(|v| match v {
                                        Value::Array(mut a) if !a.is_empty() => {
                                            Some(a.swap_remove(0))
                                        }
                                        _ => None,
                                    })
                                    .unwrap_or(Value::Null);
                                let _ = w.send(first);
                            }
                        }
                        Incoming::Event { json, .. } => sink.event(json),
                        Incoming::Close => break,
                        _ => {}
                    }
                }
                shared.closed.store(true, Ordering::SeqCst);
                // Dropping the waiters tells every caller still waiting for an ack.
                shared.pending.lock().unwrap().clear();
            })
        };
        Conn {
            out,
            shared,
            next_ack: AtomicU64::new(1),
            reader,
            writer,
        }
    }

    pub fn is_open(&self) -> bool {
        !self.shared.closed.load(Ordering::SeqCst) && !self.reader.is_finished()
    }

    /// Send an event with an ack; the returned future resolves with the ack's first argument.
    pub fn emit_ack(
        &self,
        name: &str,
        payload: &Value,
        timeout: Duration,
    ) -> impl std::future::Future<Output = AckOutcome> + Send + use<> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (w, r) = oneshot::channel();
        let sent = if self.shared.closed.load(Ordering::SeqCst) {
            false
        } else {
            self.shared.pending.lock().unwrap().insert(id, w);
            self.out
                .send(Message::text(proto::event(Some(id), name, payload)))
                .is_ok()
        };
        let shared = self.shared.clone();
        async move {
            if !sent {
                return AckOutcome::Closed;
            }
            match tokio::time::timeout(timeout, r).await {
                Ok(Ok(v)) => AckOutcome::Reply(v),
                Ok(Err(_)) => AckOutcome::Closed,
                Err(_) => {
                    shared.pending.lock().unwrap().remove(&id);
                    AckOutcome::Timeout
                }
            }
        }
    }

    /// Close the WebSocket (the server sees a transport close) and stop both tasks.
    pub async fn close(self) {
        let Conn {
            out,
            reader,
            writer,
            ..
        } = self;
        // The reader holds a sender (for pongs): stop it first so the writer sees the channel
        // close, sends the close frame and ends.
        reader.abort();
        let _ = reader.await;
        drop(out);
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, ConnectError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => {
                return Err(ConnectError::new("CLOSED", "closed during handshake"));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(ConnectError::new("WS_READ", e)),
        }
    }
}

/// A short code for a refused Socket.IO connect (its message is in the report's detail).
fn refusal_code(message: &str) -> String {
    if message.starts_with("Authentication error") {
        "AUTH_REFUSED".into()
    } else if message.contains("blocked") {
        "BLOCKED".into()
    } else if message.contains("unavailable") {
        "UNAVAILABLE".into()
    } else {
        "CONNECT_REFUSED".into()
    }
}

/// `{ok:true,data}` → Ok(data); `{ok:false,error:{code}}` → Err(code).
pub fn ack_result(v: Value) -> Result<Value, String> {
    match v {
        Value::Object(mut o) => {
            if o.get("ok").and_then(Value::as_bool) == Some(true) {
                Ok(o.remove("data").unwrap_or(Value::Null))
            } else {
                Err(o
                    .get("error")
                    .and_then(|e| e.get("code"))
                    .and_then(Value::as_str)
                    .unwrap_or("ACK_NOT_OK")
                    .to_owned())
            }
        }
        _ => Err("ACK_MALFORMED".into()),
    }
}
