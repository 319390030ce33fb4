//! `TestApp`: the whole app (router and service) on a fresh SQLite database with the usual
//! orders seeded, and typed request helpers, so a test reads as the user story it checks.
//! `TestService`: the chat service alone over a `Recorder`, a `Realtime` that records every
//! event with the users it reached, so a test can assert who receives what.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use order_chat::app::Built;
use order_chat::auth::Verifier;
use order_chat::domain::{OrderId, UserId};
use order_chat::metrics::Metrics;
use order_chat::realtime::{Membership, Realtime};
use order_chat::service::{Caller, ChatService};
use order_chat::wire::ServerEvent;
use serde_json::{Value, json};

use super::{ADMIN_SECRET, SECRET, TestDb, app, call, open_store, seed, sqlite_db, token};

pub struct TestApp {
    pub built: Built,
    _db: TestDb,
}

impl TestApp {
    /// A fresh app with orders `o1` (cust, agent) and `o2` (cust2, agent2).
    pub async fn spawn() -> Self {
        let db = sqlite_db();
        let built = app(&db).await;
        seed(&built).await;
        TestApp { built, _db: db }
    }

    pub fn service(&self) -> &Arc<ChatService> {
        &self.built.service
    }

    pub async fn caller(&self, user: &str) -> Caller {
        self.service()
            .authenticate(Some(&token(user)))
            .await
            .expect("valid token")
    }

    /// `GET path` as `user`: (status, body).
    pub async fn get(&self, user: &str, path: &str) -> (u16, Value) {
        call(&self.built, "GET", path, Some(&token(user)), None).await
    }

    /// `POST path` as `user` with a JSON body: (status, body).
    pub async fn post(&self, user: &str, path: &str, body: Value) -> (u16, Value) {
        call(&self.built, "POST", path, Some(&token(user)), Some(body)).await
    }

    /// `user` sends `text` to `order` over REST; the stored message as the API returns it.
    pub async fn send(&self, user: &str, order: &str, text: &str) -> Value {
        let path = format!("/api/v0/chat/orders/{order}/messages");
        let (status, body) = self.post(user, &path, json!({ "message": text })).await;
        assert_eq!(status, 201, "send as {user}: {body}");
        body["data"].clone()
    }
}

/// One event as the service emitted it, and the users whose sockets were in the room then.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub order: String,
    pub name: &'static str,
    pub payload: Value,
    pub to: BTreeSet<String>,
}

/// A `Realtime` that records. Presence follows the `RecordedSocket`s in each order.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Recorded>>,
    /// (order, user) → sockets of that user in the order's room.
    sockets: Mutex<HashMap<(String, String), usize>>,
    online: Mutex<BTreeSet<(String, String)>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<Recorded> {
        self.events.lock().unwrap().clone()
    }

    /// The events with this name, in order.
    pub fn named(&self, name: &str) -> Vec<Recorded> {
        self.events()
            .into_iter()
            .filter(|e| e.name == name)
            .collect()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
    }

    fn count(&self, order: &OrderId, user: &UserId) -> usize {
        let key = (order.to_string(), user.to_string());
        self.sockets.lock().unwrap().get(&key).copied().unwrap_or(0)
    }
}

#[async_trait]
impl Realtime for Recorder {
    async fn emit_to_order(
        &self,
        order: &OrderId,
        except_user: Option<&UserId>,
        event: &ServerEvent<'_>,
    ) {
        let to = self
            .sockets
            .lock()
            .unwrap()
            .iter()
            .filter(|((o, u), n)| {
                o == order.as_str()
                    && **n > 0
                    && Some(u.as_str()) != except_user.map(|x| x.as_str())
            })
            .map(|((_, u), _)| u.clone())
            .collect();
        self.events.lock().unwrap().push(Recorded {
            order: order.to_string(),
            name: event.name(),
            payload: serde_json::to_value(event).expect("events serialize"),
            to,
        });
    }
    async fn user_sockets_in_order(&self, order: &OrderId, user: &UserId) -> usize {
        self.count(order, user)
    }
    async fn settle_presence(&self, order: &OrderId, user: &UserId) -> Option<bool> {
        let now = self.count(order, user) > 0;
        let mut online = self.online.lock().unwrap();
        let key = (order.to_string(), user.to_string());
        let was = online.contains(&key);
        if now == was {
            return None;
        }
        if now {
            online.insert(key);
        } else {
            online.remove(&key);
        }
        Some(now)
    }
    async fn announced_online(&self, order: &OrderId, user: &UserId) -> bool {
        let key = (order.to_string(), user.to_string());
        self.online.lock().unwrap().contains(&key)
    }
    async fn user_socket_count(&self, _user: &UserId) -> usize {
        0
    }
    async fn emit_to_user(&self, user: &UserId, event: &ServerEvent<'_>) {
        self.events.lock().unwrap().push(Recorded {
            order: String::new(),
            name: event.name(),
            payload: serde_json::to_value(event).expect("events serialize"),
            to: [user.to_string()].into(),
        });
    }
    async fn evict(&self, order: &OrderId, user: &UserId) {
        let key = (order.to_string(), user.to_string());
        self.sockets.lock().unwrap().remove(&key);
    }
    async fn disconnect_user(&self, _user: &UserId) {}
    async fn close(&self) {}
}

/// One socket of a user, whose room membership the `Recorder` sees.
pub struct RecordedSocket {
    recorder: Arc<Recorder>,
    joined: Mutex<BTreeSet<OrderId>>,
}

#[async_trait]
impl Membership for RecordedSocket {
    async fn enter(&self, order: &OrderId, user: &UserId) {
        if self.joined.lock().unwrap().insert(order.clone()) {
            let key = (order.to_string(), user.to_string());
            *self
                .recorder
                .sockets
                .lock()
                .unwrap()
                .entry(key)
                .or_default() += 1;
        }
    }
    async fn exit(&self, order: &OrderId, user: &UserId) {
        if self.joined.lock().unwrap().remove(order) {
            let key = (order.to_string(), user.to_string());
            if let Some(n) = self.recorder.sockets.lock().unwrap().get_mut(&key) {
                *n -= 1;
            }
        }
    }
    fn is_in(&self, order: &OrderId) -> bool {
        self.joined.lock().unwrap().contains(order)
    }
    fn joined_orders(&self) -> Vec<OrderId> {
        self.joined.lock().unwrap().iter().cloned().collect()
    }
}

/// The chat service over a `Recorder`, on a fresh SQLite database with the usual orders.
pub struct TestService {
    pub service: Arc<ChatService>,
    pub events: Arc<Recorder>,
    _db: TestDb,
}

impl TestService {
    pub async fn spawn() -> Self {
        let db = sqlite_db();
        // The app seeds through the real internal API path; then the recording service opens
        // the same database.
        seed(&app(&db).await).await;
        let events = Arc::new(Recorder::default());
        let service = Arc::new(ChatService::new(
            open_store(&db).await,
            events.clone(),
            Verifier::hmac(SECRET.as_bytes(), Some(ADMIN_SECRET.as_bytes())),
            Arc::new(Metrics::default()),
            // user-left at once (the grace has its own test).
            order_chat::service::Limits {
                presence_grace: std::time::Duration::ZERO,
                ..Default::default()
            },
        ));
        TestService {
            service,
            events,
            _db: db,
        }
    }

    pub async fn caller(&self, user: &str) -> Caller {
        self.service
            .authenticate(Some(&token(user)))
            .await
            .expect("valid token")
    }

    /// A new socket whose joins and leaves the recorder counts.
    pub fn socket(&self) -> RecordedSocket {
        RecordedSocket {
            recorder: self.events.clone(),
            joined: Mutex::default(),
        }
    }
}
