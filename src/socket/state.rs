//! What one socket remembers: the order chats it joined, and the turn order of its events.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use socketioxide::adapter::Adapter;
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use tokio::sync::Notify;

use crate::domain::OrderId;

/// Per-socket state, kept in the socket's extensions from connect to disconnect.
#[derive(Default)]
pub struct SocketState {
    /// The order chats this socket is in. Kept here rather than read back from the adapter's
    /// rooms: on a transport close socketioxide may empty the rooms before the disconnect
    /// handler runs, and presence must still know what to leave.
    pub joined: Mutex<BTreeSet<OrderId>>,
    turns: Turnstile,
    /// When the socket's token expires (ms; 0: never), moved on by `refresh-token`.
    pub expires_at: AtomicI64,
    /// Wakes the session watcher: the expiry moved, or the socket closed.
    pub session_changed: Notify,
    pub closed: AtomicBool,
}

/// Events of one socket are handled in the order they arrived: socketioxide spawns one task
/// per event, so without this two quick sends could be stored in the opposite order.
#[derive(Default)]
struct Turnstile {
    next_ticket: AtomicU64,
    serving: AtomicU64,
    advanced: Notify,
}

/// An event's place in its socket's queue. Taken synchronously when the packet is decoded
/// (extractors run in arrival order, before the handler task is spawned), so it must be the
/// handler's LAST extractor: every extractor before it has then succeeded and the handler runs.
pub struct Turn {
    state: Option<Arc<SocketState>>,
    ticket: u64,
}

impl<A: Adapter> FromMessageParts<A> for Turn {
    type Error = std::convert::Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        _: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        let state = s.extensions.get::<Arc<SocketState>>();
        let ticket = state
            .as_ref()
            .map_or(0, |st| st.turns.next_ticket.fetch_add(1, Ordering::AcqRel));
        Ok(Turn { state, ticket })
    }
}

impl Turn {
    /// Wait until every earlier event of this socket is done.
    pub async fn wait(&self) {
        let Some(state) = &self.state else { return };
        loop {
            let advanced = state.turns.advanced.notified();
            if state.turns.serving.load(Ordering::Acquire) == self.ticket {
                return;
            }
            advanced.await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(state) = &self.state {
            state.turns.serving.fetch_add(1, Ordering::AcqRel);
            state.turns.advanced.notify_waiters();
        }
    }
}
