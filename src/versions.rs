//! How every node learns at once that the main backend changed an order: a counter that the
//! internal API bumps before it acknowledges the change, and that every access check reads.
//! A node's cached order is used only while the counter is what it was when it was cached, so
//! an access change is enforced on every node's next check (no TTL lag between nodes).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::cluster::Breaker;

#[async_trait]
pub trait OrderVersions: Send + Sync + 'static {
    /// The current counter; `None` when it cannot be known (then nothing cached is trusted).
    async fn current(&self) -> Option<u64>;
    /// Count one change (called before the change is acknowledged).
    async fn bump(&self);
}

/// One node: a counter in memory.
#[derive(Default)]
pub struct LocalVersions(AtomicU64);

#[async_trait]
impl OrderVersions for LocalVersions {
    async fn current(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Acquire))
    }
    async fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// A cluster: the counter lives in Redis. While Redis is unreachable the counter is unknown,
/// so every access check reads the database (correct, only slower).
pub struct RedisVersions {
    conn: redis::aio::ConnectionManager,
    breaker: Arc<Breaker>,
}

const KEY: &str = "order-chat:orders:version";

impl RedisVersions {
    pub async fn connect(client: redis::Client, breaker: Arc<Breaker>) -> redis::RedisResult<Self> {
        let conn = crate::cluster::connection(client).await?;
        Ok(Self { conn, breaker })
    }
}

#[async_trait]
impl OrderVersions for RedisVersions {
    async fn current(&self) -> Option<u64> {
        if !self.breaker.allows() {
            return None;
        }
        let mut conn = self.conn.clone();
        let got: redis::RedisResult<Option<u64>> =
            redis::cmd("GET").arg(KEY).query_async(&mut conn).await;
        self.breaker.record(&got);
        got.ok().map(|v| v.unwrap_or(0))
    }

    async fn bump(&self) {
        let mut conn = self.conn.clone();
        let done: redis::RedisResult<u64> =
            redis::cmd("INCR").arg(KEY).query_async(&mut conn).await;
        self.breaker.record(&done);
        if let Err(e) = done {
            // Other nodes cannot read the counter either while Redis fails: they do not trust
            // their caches then, so the change is still enforced.
            tracing::warn!(error = %e, "cannot count an order change in Redis");
        }
    }
}
