//! The production backend: PostgreSQL.
//!
//! Several nodes share one database. The per-order `seq` stays gapless because the insert
//! bumps `orders.last_seq` with an UPDATE, which row-locks the order until commit: senders on
//! every node take turns per order, and a repeated `clientMessageId` is checked under that lock.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{Store, StoreResult};

mod attachments;
mod messages;
mod notify;
mod orders;
mod reads;
mod search;
mod users;

pub struct PgStore {
    pools: super::shared::Pools<Postgres>,
    /// When a message or change marks its order for the notifier.
    leads: std::sync::Arc<super::shared::LeadCell>,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A database that is down answers in seconds, not after sqlx's default 30 s.
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        // One pool: PostgreSQL has no single-writer rule.
        Ok(Self {
            pools: super::shared::Pools {
                writer: pool.clone(),
                reader: pool,
            },
            leads: super::shared::LeadCell::shared(),
        })
    }
}

#[async_trait]
impl Store for PgStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        self.pools.ping().await
    }
}
