//! The per-user message rate across every node (§15): one GCRA bucket per user in Redis, so a
//! user spread over N nodes gets the single-node budget, not N times it. Without Redis (one
//! node) the service's in-process limiter is the whole story; when Redis fails, each node falls
//! back to its own limiter and says so (metrics, /readyz).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::cluster::Breaker;
use crate::domain::UserId;

#[async_trait]
pub trait SharedRate: Send + Sync + 'static {
    /// Take one message from the user's budget: `Some(Ok)` allowed, `Some(Err(wait))` over the
    /// rate (retry after `wait`), `None` when the shared budget cannot be reached.
    async fn take(
        &self,
        user: &UserId,
        per_second: u32,
        burst: u32,
    ) -> Option<Result<(), Duration>>;
    /// Whether the last attempts reached the shared budget (false: local fallback).
    fn shared(&self) -> bool;
}

/// GCRA: the key holds the theoretical arrival time (ms, Redis's own clock, so nodes' clocks do
/// not matter). A message is allowed when the new arrival time is within `burst` intervals.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local over = new_tat - now - interval * burst
if over > 0 then return over end
redis.call('SET', KEYS[1], new_tat, 'PX', interval * burst + 1000)
return 0
";

pub struct RedisRate {
    conn: redis::aio::ConnectionManager,
    breaker: Arc<Breaker>,
    script: redis::Script,
}

impl RedisRate {
    pub async fn connect(client: redis::Client, breaker: Arc<Breaker>) -> redis::RedisResult<Self> {
        let conn = crate::cluster::connection(client).await?;
        Ok(Self {
            conn,
            breaker,
            script: redis::Script::new(GCRA),
        })
    }
}

#[async_trait]
impl SharedRate for RedisRate {
    async fn take(
        &self,
        user: &UserId,
        per_second: u32,
        burst: u32,
    ) -> Option<Result<(), Duration>> {
        if !self.breaker.allows() {
            return None;
        }
        let interval_ms = (1000 / per_second.max(1)).max(1);
        let mut conn = self.conn.clone();
        let over: redis::RedisResult<i64> = self
            .script
            .key(format!("order-chat:rate:{user}"))
            .arg(interval_ms)
            .arg(burst.max(1))
            .invoke_async(&mut conn)
            .await;
        self.breaker.record(&over);
        match over {
            Ok(0) => Some(Ok(())),
            Ok(ms) => Some(Err(Duration::from_millis(ms.max(1) as u64))),
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unreachable; this node's own limit applies");
                None
            }
        }
    }

    fn shared(&self) -> bool {
        self.breaker.allows()
    }
}
