//! The production backend: PostgreSQL.
//!
//! Several nodes share one database. The per-order `seq` stays gapless because every write of
//! messages row-locks its orders until commit (`writer.rs` batches the sends of a node into one
//! transaction, locking their orders in id order): writers on every node take turns per order,
//! and a repeated `clientMessageId` is checked under that lock.

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
mod writer;

/// Connections per node: one per writer task, the rest for reads, changes and the notifier.
const POOL_SIZE: u32 = 16;

pub struct PgStore {
    pools: super::shared::Pools<Postgres>,
    /// When a message or change marks its order for the notifier.
    leads: std::sync::Arc<super::shared::LeadCell>,
    /// The group-commit writer tasks that store messages.
    writers: writer::Writers,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            // A database that is down answers in seconds, not after sqlx's default 30 s.
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        // One pool: PostgreSQL has no single-writer rule.
        let leads = super::shared::LeadCell::shared();
        Ok(Self {
            writers: writer::Writers::start(pool.clone(), leads.clone()),
            pools: super::shared::Pools {
                writer: pool.clone(),
                reader: pool,
            },
            leads,
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
