//! The Redis driver of the cluster adapter, over `redis`'s `ConnectionManager`: when Redis goes
//! away and comes back, it reconnects and re-subscribes by itself, so a node rejoins the
//! cluster without a restart. (socketioxide-redis's own driver keeps one connection for life.)

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, FromRedisValue, PushInfo, PushKind, RedisResult};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// After a Redis call fails, calls fail at once for a second instead of each waiting for its
/// timeout: while Redis is down a node keeps answering its own sockets without delay, and
/// tries Redis again every second until it is back.
#[derive(Default)]
pub struct Breaker {
    failed_at_ms: AtomicU64,
}

const BREAKER_OPEN_MS: u64 = 1000;

fn since_start_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + BREAKER_OPEN_MS + 1
}

impl Breaker {
    /// May Redis be tried now?
    pub fn allows(&self) -> bool {
        since_start_ms().saturating_sub(self.failed_at_ms.load(Ordering::Relaxed)) > BREAKER_OPEN_MS
    }

    pub fn record<T, E>(&self, result: &Result<T, E>) {
        if result.is_err() {
            self.trip();
        }
    }

    pub fn trip(&self) {
        self.failed_at_ms.store(since_start_ms(), Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub struct ResilientRedisDriver {
    handlers: Handlers,
    conn: ConnectionManager,
    breaker: Arc<Breaker>,
}

fn deliver(msg: PushInfo, handlers: &Handlers) {
    if !matches!(msg.kind, PushKind::Message | PushKind::SMessage) || msg.data.len() < 2 {
        return;
    }
    let mut data = msg.data.into_iter();
    let (Some(chan), Some(payload)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(chan), Ok(payload)) = (
        String::from_redis_value(chan),
        Vec::<u8>::from_redis_value(payload),
    ) else {
        return;
    };
    let handlers = handlers.read().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = handlers.get(&chan)
        && let Err(e) = tx.try_send((chan, payload))
    {
        tracing::warn!(error = %e, "cluster message dropped: channel full");
    }
}

impl ResilientRedisDriver {
    pub async fn connect(client: redis::Client, breaker: Arc<Breaker>) -> RedisResult<Self> {
        let handlers: Handlers = Arc::default();
        let sink = handlers.clone();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(move |msg: PushInfo| {
                deliver(msg, &sink);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            handlers,
            conn,
            breaker,
        })
    }

    fn check(&self) -> Result<(), DriverError> {
        if self.breaker.allows() {
            Ok(())
        } else {
            Err(DriverError::Unavailable)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("Redis is unavailable (a call failed less than a second ago)")]
    Unavailable,
}

impl Driver for ResilientRedisDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        self.check()?;
        let result = self
            .conn
            .clone()
            .publish::<_, _, redis::Value>(chan, val)
            .await;
        self.breaker.record(&result);
        result?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        self.handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chan.clone(), tx);
        self.conn.clone().subscribe(chan.as_str()).await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&chan);
        self.conn.clone().unsubscribe(chan).await?;
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        self.check()?;
        let mut conn = self.conn.clone();
        let result: RedisResult<(String, u16)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await;
        self.breaker.record(&result);
        Ok(result?.1)
    }
}

/// A Redis connection for the cluster's own records (presence, limits, the order counter):
/// reconnecting, and failing fast (1 s) so a Redis outage trips the breaker instead of
/// stalling the callers.
pub async fn connection(client: redis::Client) -> RedisResult<redis::aio::ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(1);
    redis::aio::ConnectionManager::new_with_config(client, config).await
}

#[cfg(test)]
mod tests {
    use super::Breaker;

    #[test]
    fn the_breaker_opens_after_a_failure() {
        let b = Breaker::default();
        assert!(b.allows(), "closed at start");
        b.record(&Ok::<(), ()>(()));
        assert!(b.allows(), "a success keeps it closed");
        b.record(&Err::<(), ()>(()));
        assert!(!b.allows(), "open right after a failure");
    }
}
