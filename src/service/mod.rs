//! The chat service: the one place that holds the rules (access, validation, closed orders,
//! `seq`, read markers, idempotent send, presence). Socket.IO handlers, REST handlers and the
//! internal API are thin adapters that parse a request, call one method here and render the
//! result or the `ChatError`. One file per use case:
//!
//! - `access`: who is calling, the access rule, the socket limit;
//! - `rooms`: join, leave, typing, presence;
//! - `messages`: send, history;
//! - `reads`: read markers, unread counts, the chat list;
//! - `internal`: what the main backend tells us (orders, users);
//! - `attachments`: uploads, the ownership rule of a send, downloads (`links`: signed links;
//!   `media`: the blob store and limits; `sweep`: removal of what is no longer needed);
//! - `render`: stored values as the wire shows them (`pages`: a join's page, reused while
//!   its order is unchanged).
//!
//! Every event leaves through `publish`, the one exit to the live connections.

use std::sync::Arc;

use crate::auth::Verifier;
use crate::domain::{Order, OrderId, UserId, UserType};
use crate::metrics::Metrics;
use crate::rates::SharedRate;
use crate::realtime::Realtime;
use crate::store::Store;
use crate::versions::{LocalVersions, OrderVersions};
use crate::wire::{Sender, ServerEvent};

mod access;
mod attachments;
mod cache;
mod deliver;
mod downloads;
mod internal;
mod lifecycle;
mod limits;
mod links;
mod media;
mod messages;
mod notify;
mod pages;
mod reads;
mod render;
pub mod requests;
mod rooms;
mod search;
mod sweep;
mod upserts;

pub use attachments::UploadTarget;
pub use downloads::{Credential, Servable};
pub use limits::Limits;
use limits::{Flights, Throttles};
pub use links::Links;
pub use media::{DEFAULT_MAX_UPLOAD_BYTES, Media, MediaSettings};
pub use sweep::SweepReport;

pub use upserts::{OrderUpsert, UserUpsert};

/// Who is calling: a verified token, checked against the directory.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub is_admin: bool,
    pub name: String,
    pub user_type: UserType,
    pub display_image: Option<String>,
    /// The token's expiry (ms): a socket is closed then unless it refreshed its token.
    pub expires_at: Option<crate::domain::Millis>,
}

impl Caller {
    fn sender(&self) -> Sender {
        Sender {
            id: self.user_id.to_string(),
            name: self.name.clone(),
            display_image: self.display_image.clone(),
            user_type: self.user_type,
        }
    }
}

/// An order the caller may use, and the caller's role in it.
struct Access {
    order: Order,
    role: UserType,
}

pub struct ChatService {
    store: Arc<dyn Store>,
    realtime: Arc<dyn Realtime>,
    verifier: Verifier,
    metrics: Arc<Metrics>,
    throttles: Throttles,
    flights: Flights,
    orders: cache::OrderCache,
    pages: pages::PageCache,
    versions: Arc<dyn OrderVersions>,
    shared_rate: Option<Arc<dyn SharedRate>>,
    media: Media,
    notifier: Option<Arc<notify::Notifier>>,
}

impl ChatService {
    pub fn new(
        store: Arc<dyn Store>,
        realtime: Arc<dyn Realtime>,
        verifier: Verifier,
        metrics: Arc<Metrics>,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            realtime,
            verifier,
            metrics,
            throttles: Throttles::new(limits),
            flights: Flights::default(),
            orders: cache::OrderCache::default(),
            pages: pages::PageCache::default(),
            versions: Arc::new(LocalVersions::default()),
            shared_rate: None,
            media: Media::in_memory(),
            notifier: None,
        }
    }

    /// Where attachments live and how their links are signed (without it: in memory).
    pub fn with_media(mut self, media: Media) -> Self {
        self.media = media;
        self
    }

    pub fn media(&self) -> &Media {
        &self.media
    }

    /// Count each user's messages against one budget on every node (through Redis).
    pub fn with_shared_rate(mut self, rate: Arc<dyn SharedRate>) -> Self {
        self.shared_rate = Some(rate);
        self
    }

    /// Where the per-user limits are counted now: `shared` (every node), `local` (one node),
    /// or `local-fallback` (a cluster whose Redis is unreachable: each node counts alone).
    pub fn limits_scope(&self) -> &'static str {
        match &self.shared_rate {
            None => "local",
            Some(r) if r.shared() => "shared",
            Some(_) => "local-fallback",
        }
    }

    /// Share the order counter with other nodes (through Redis), so that every node's access
    /// check sees a change at once.
    pub fn with_versions(mut self, versions: Arc<dyn OrderVersions>) -> Self {
        self.versions = versions;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Shutdown: refuse new sends, let those in flight finish (stored and acknowledged), then
    /// close every connection of this node; clients see a transport close and reconnect
    /// (to another node, or to this one once it is back) and catch up with `since`.
    pub async fn shutdown(&self, max_wait: std::time::Duration) {
        let left = self.flights.drain(max_wait).await;
        if left > 0 {
            tracing::warn!(left, "sends still in flight at shutdown");
        }
        self.realtime.close().await;
    }

    /// The one exit of every server event to the live connections: the order's room, except
    /// (optionally) one user's sockets. A stored change also wakes the notifier when it has
    /// no delay to wait (a webhook, or `NOTIFY_DELAY=0`).
    pub(super) async fn publish(
        &self,
        order: &OrderId,
        except: Option<&UserId>,
        event: ServerEvent<'_>,
    ) {
        self.realtime.emit_to_order(order, except, &event).await;
        if let Some(n) = &self.notifier
            && event.is_change()
        {
            n.changed();
        }
    }
}
