//! Prometheus metrics: connections, events, messages stored, errors by code, request latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabel {
    pub event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabel {
    pub channel: String,
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    /// Notification attempts (§14), by channel and outcome (delivered, retry, dead, gone).
    pub deliveries: Family<DeliveryLabel, Counter>,
    /// Outbox rows not yet delivered nor given up (read by the delivery loop each second).
    pub outbox_pending: Gauge,
    pub connections: Gauge,
    pub connections_total: Counter,
    pub events: Family<EventLabel, Counter>,
    pub messages_stored: Counter,
    /// Sends limited by this node alone because the shared (Redis) budget was unreachable.
    pub rate_limit_local_fallbacks: Counter,
    pub errors: Family<CodeLabel, Counter>,
    pub http_latency: Family<RouteLabel, Histogram>,
    /// Joins whose page came from the page cache (`service/pages.rs`), and those that read it.
    pub page_cache_hits: Counter,
    pub page_cache_misses: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("order_chat");
        let connections = Gauge::default();
        let connections_total = Counter::default();
        let events = Family::<EventLabel, Counter>::default();
        let messages_stored = Counter::default();
        let rate_limit_local_fallbacks = Counter::default();
        let errors = Family::<CodeLabel, Counter>::default();
        let deliveries = Family::<DeliveryLabel, Counter>::default();
        registry.register(
            "notification_attempts",
            "Webhook and Web Push attempts, by channel and outcome",
            deliveries.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "notification_outbox_pending",
            "Webhook and Web Push deliveries waiting in the outbox (a growing backlog: the receiver is failing)",
            outbox_pending.clone(),
        );
        let http_latency = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "socket_connections",
            "Socket.IO connections open now",
            connections.clone(),
        );
        registry.register(
            "socket_connections_accepted",
            "Socket.IO connections accepted",
            connections_total.clone(),
        );
        registry.register(
            "socket_events",
            "Client events received, by event name",
            events.clone(),
        );
        registry.register(
            "messages_stored",
            "Chat messages stored",
            messages_stored.clone(),
        );
        registry.register(
            "rate_limit_local_fallbacks",
            "Sends rate-limited by this node alone (the shared limit in Redis was unreachable)",
            rate_limit_local_fallbacks.clone(),
        );
        registry.register(
            "errors",
            "Errors returned to clients, by code",
            errors.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_latency.clone(),
        );
        let page_cache_hits = Counter::default();
        let page_cache_misses = Counter::default();
        registry.register(
            "join_page_cache_hits",
            "Joins served the order's latest page from memory (the order had not changed)",
            page_cache_hits.clone(),
        );
        registry.register(
            "join_page_cache_misses",
            "Joins that read the order's latest page from the database",
            page_cache_misses.clone(),
        );
        Self {
            registry,
            deliveries,
            outbox_pending,
            connections,
            connections_total,
            events,
            messages_stored,
            rate_limit_local_fallbacks,
            errors,
            http_latency,
            page_cache_hits,
            page_cache_misses,
        }
    }
}

impl Metrics {
    pub fn event(&self, event: &str) {
        self.events
            .get_or_create(&EventLabel {
                event: event.to_owned(),
            })
            .inc();
    }

    pub fn page_cache(&self, hit: bool) {
        if hit {
            self.page_cache_hits.inc();
        } else {
            self.page_cache_misses.inc();
        }
    }

    pub fn error(&self, code: &str) {
        self.errors
            .get_or_create(&CodeLabel {
                code: code.to_owned(),
            })
            .inc();
    }

    pub fn delivery(&self, channel: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabel {
                channel: channel.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
