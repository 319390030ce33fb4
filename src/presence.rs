//! Presence as a recorded state per (order, user): announced online or not. A transition is
//! decided under a lock for that pair — on this node (one node), or in Redis (a cluster) — by
//! counting the user's sockets in the order on every node and comparing with the record. So two
//! tabs joining (or leaving) at the same moment, even on two nodes, announce once.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::Mutex;

use crate::cluster::Breaker;

use crate::domain::{OrderId, UserId};

/// Where the announced presence is recorded, and how transitions are serialized.
#[async_trait]
pub trait PresenceLedger: Send + Sync + 'static {
    /// Hold the (order, user) lock while `count` runs, then record `count > 0` as the state.
    /// Returns `Some(online)` when the recorded state changed.
    async fn settle(
        &self,
        order: &OrderId,
        user: &UserId,
        count: &(dyn Fn() -> futures_util::future::BoxFuture<'static, usize> + Send + Sync),
    ) -> Option<bool>;
    /// The recorded state (announced online or not); `None` when it cannot be read.
    async fn is_online(&self, order: &OrderId, user: &UserId) -> Option<bool>;
}

const STRIPES: usize = 64;

/// One node: striped in-process locks and an in-memory record.
pub struct LocalLedger {
    stripes: Vec<Mutex<HashSet<(OrderId, UserId)>>>,
}

impl Default for LocalLedger {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(HashSet::new())).collect(),
        }
    }
}

fn stripe_of(order: &OrderId, user: &UserId) -> usize {
    let mut h = DefaultHasher::new();
    (order, user).hash(&mut h);
    (h.finish() as usize) % STRIPES
}

#[async_trait]
impl PresenceLedger for LocalLedger {
    async fn settle(
        &self,
        order: &OrderId,
        user: &UserId,
        count: &(dyn Fn() -> futures_util::future::BoxFuture<'static, usize> + Send + Sync),
    ) -> Option<bool> {
        let mut online = self.stripes[stripe_of(order, user)].lock().await;
        let now = count().await > 0;
        let key = (order.clone(), user.clone());
        let changed = if now {
            online.insert(key)
        } else {
            online.remove(&key)
        };
        changed.then_some(now)
    }

    async fn is_online(&self, order: &OrderId, user: &UserId) -> Option<bool> {
        let online = self.stripes[stripe_of(order, user)].lock().await;
        Some(online.contains(&(order.clone(), user.clone())))
    }
}

/// A cluster: the lock and the record live in Redis, shared by every node. If Redis fails,
/// this node falls back to its own view (as the broadcasts do).
pub struct RedisLedger {
    conn: redis::aio::ConnectionManager,
    fallback: LocalLedger,
    breaker: Arc<Breaker>,
}

const LOCK_TTL_MS: u64 = 3000;
/// A record outlives any chat session; it only bounds what a crashed node could leave behind.
const RECORD_TTL_SECS: u64 = 24 * 3600;

impl RedisLedger {
    pub async fn connect(client: redis::Client, breaker: Arc<Breaker>) -> redis::RedisResult<Self> {
        let conn = crate::cluster::connection(client).await?;
        Ok(Self {
            conn,
            fallback: LocalLedger::default(),
            breaker,
        })
    }

    async fn lock(&self, key: &str, token: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(LOCK_TTL_MS);
        loop {
            let got: Option<String> = redis::cmd("SET")
                .arg(key)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(LOCK_TTL_MS)
                .query_async(&mut conn)
                .await?;
            // A holder that died frees the lock when it expires; waiting longer than that
            // would only mean the holder is stuck, so go ahead then.
            if got.is_some() || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn record(&self, key: &str, online: bool) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let previous: Option<String> = if online {
            redis::cmd("SET")
                .arg(key)
                .arg("1")
                .arg("GET")
                .arg("EX")
                .arg(RECORD_TTL_SECS)
                .query_async(&mut conn)
                .await?
        } else {
            redis::cmd("GETDEL").arg(key).query_async(&mut conn).await?
        };
        Ok(previous.is_some() != online)
    }

    async fn unlock(&self, key: &str, token: &str) {
        let mut conn = self.conn.clone();
        // Delete only our own lock (it may have expired and been taken by another node).
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        );
        let _: redis::RedisResult<i64> = script.key(key).arg(token).invoke_async(&mut conn).await;
    }
}

#[async_trait]
impl PresenceLedger for RedisLedger {
    async fn settle(
        &self,
        order: &OrderId,
        user: &UserId,
        count: &(dyn Fn() -> futures_util::future::BoxFuture<'static, usize> + Send + Sync),
    ) -> Option<bool> {
        let record_key = format!("order-chat:presence:{order}|{user}");
        let lock_key = format!("{record_key}:lock");
        let token = uuid::Uuid::new_v4().to_string();
        if !self.breaker.allows() {
            return self.fallback.settle(order, user, count).await;
        }
        let locked = self.lock(&lock_key, &token).await;
        self.breaker.record(&locked);
        if let Err(e) = locked {
            tracing::warn!(error = %e, "presence lock unavailable; using this node's view");
            return self.fallback.settle(order, user, count).await;
        }
        let now = count().await > 0;
        let changed = match self.record(&record_key, now).await {
            Ok(changed) => changed,
            Err(e) => {
                self.breaker.trip();
                tracing::warn!(error = %e, "presence record unavailable; using this node's view");
                self.unlock(&lock_key, &token).await;
                return self.fallback.settle(order, user, count).await;
            }
        };
        self.unlock(&lock_key, &token).await;
        changed.then_some(now)
    }

    async fn is_online(&self, order: &OrderId, user: &UserId) -> Option<bool> {
        if !self.breaker.allows() {
            return self.fallback.is_online(order, user).await;
        }
        let mut conn = self.conn.clone();
        let key = format!("order-chat:presence:{order}|{user}");
        let found: redis::RedisResult<i64> =
            redis::cmd("EXISTS").arg(key).query_async(&mut conn).await;
        self.breaker.record(&found);
        found.ok().map(|n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ids() -> (OrderId, UserId) {
        (OrderId::parse("o1").unwrap(), UserId::parse("u1").unwrap())
    }

    #[tokio::test]
    async fn a_transition_is_reported_once() {
        let ledger = LocalLedger::default();
        let (o, u) = ids();
        let sockets = Arc::new(AtomicUsize::new(0));
        let counter = sockets.clone();
        let count = move || -> futures_util::future::BoxFuture<'static, usize> {
            let n = counter.load(Ordering::SeqCst);
            Box::pin(async move { n })
        };
        sockets.store(1, Ordering::SeqCst);
        assert_eq!(
            ledger.settle(&o, &u, &count).await,
            Some(true),
            "first socket: joined"
        );
        sockets.store(2, Ordering::SeqCst);
        assert_eq!(
            ledger.settle(&o, &u, &count).await,
            None,
            "second tab: no news"
        );
        sockets.store(1, Ordering::SeqCst);
        assert_eq!(
            ledger.settle(&o, &u, &count).await,
            None,
            "one tab left: still online"
        );
        sockets.store(0, Ordering::SeqCst);
        assert_eq!(
            ledger.settle(&o, &u, &count).await,
            Some(false),
            "last socket: left"
        );
        assert_eq!(
            ledger.settle(&o, &u, &count).await,
            None,
            "a second leave: no news"
        );
    }

    #[tokio::test]
    async fn concurrent_settles_announce_once() {
        let ledger = Arc::new(LocalLedger::default());
        let (o, u) = ids();
        let count = || -> futures_util::future::BoxFuture<'static, usize> {
            Box::pin(async {
                tokio::task::yield_now().await;
                2
            })
        };
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (ledger, o, u) = (ledger.clone(), o.clone(), u.clone());
            tasks.push(tokio::spawn(
                async move { ledger.settle(&o, &u, &count).await },
            ));
        }
        let mut joined = 0;
        for t in tasks {
            joined += usize::from(t.await.unwrap() == Some(true));
        }
        assert_eq!(joined, 1);
    }
}
