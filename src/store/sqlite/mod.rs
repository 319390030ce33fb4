//! The embedded default: SQLite in WAL mode.
//!
//! Writes go through a pool of exactly one connection: SQLite allows one writer at a time, and
//! queueing in-process is cheaper and fairer than letting connections fight over the lock
//! (SQLITE_BUSY). Reads use their own pool and never wait for the writer (WAL).
//!
//! `synchronous = FULL`: a send is acknowledged only after its commit is on disk. In WAL mode
//! NORMAL could lose the last commits on power loss; an acked message must survive that.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::mpsc;

use super::{Store, StoreError, StoreResult};

mod attachments;
mod changes;
mod jobs;
mod messages;
mod notify;
mod orders;
mod reads;
mod search;
mod users;
mod writer;

use jobs::Job;
use writer::{MAX_BATCH, group_commit};

pub struct SqliteStore {
    pools: Arc<PoolCell>,
    writes: mpsc::Sender<Job>,
    /// When a message or change marks its order for the notifier (the writer reads it).
    leads: Arc<super::shared::LeadCell>,
}

/// The writer (one connection) and the readers.
type Pools = super::shared::Pools<Sqlite>;

/// Pages each reader connection keeps in its cache (SQLite's default is ~2 MB): a join reads
/// the last page of an order's messages, the replies' originals and the reactions, scattered
/// over the file; with 2 MB per connection most of them came from the OS again each time.
const READER_CACHE_KIB: i64 = 32 * 1024;

async fn open_pools(opts: &SqliteConnectOptions) -> Result<Pools, sqlx::Error> {
    // No ping before each acquire (sqlx's default): an in-process SQLite connection does not
    // go stale, and the ping is a round trip to the connection's worker thread per query.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| Box::pin(plans_ignore_bound_values(conn)))
        .connect_with(opts.clone())
        .await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(4)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| Box::pin(plans_ignore_bound_values(conn)))
        .connect_with(
            opts.clone()
                .pragma("cache_size", format!("-{READER_CACHE_KIB}")),
        )
        .await?;
    Ok(Pools { writer, reader })
}

/// Opening the database at start: a first connection that is not ready within the pool's
/// acquire timeout (a fresh file's WAL set-up waits on fsync, which a machine busy writing can
/// hold for seconds) is tried again a few times before the start fails.
async fn open_patiently(opts: &SqliteConnectOptions) -> Result<Pools, sqlx::Error> {
    const ATTEMPTS: u32 = 4;
    let mut attempt = 1;
    loop {
        match open_pools(opts).await {
            Err(sqlx::Error::PoolTimedOut) if attempt < ATTEMPTS => {
                tracing::warn!(attempt, "opening the database timed out; trying again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The current pools, replaced as a whole when the database turns out to be read-only.
///
/// SQLite shares one open file (and one WAL index) per database among all the connections of a
/// process; a file opened while it was read-only therefore stays read-only for every new
/// connection as long as any old one is open. Once the file is writable again, closing them all
/// and opening new pools is what lets the server recover without a restart.
struct PoolCell {
    opts: SqliteConnectOptions,
    current: std::sync::RwLock<Arc<Pools>>,
    reopening: tokio::sync::Mutex<std::time::Instant>,
}

impl PoolCell {
    fn get(&self) -> Arc<Pools> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Close every connection and open new pools (at most once a second).
    async fn reopen(&self) {
        let mut last = self.reopening.lock().await;
        if last.elapsed() < Duration::from_secs(1) {
            return;
        }
        *last = std::time::Instant::now();
        let old = self.get();
        old.writer.close().await;
        old.reader.close().await;
        match open_pools(&self.opts).await {
            Ok(new) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
                tracing::warn!("database was read-only: reopened it");
            }
            Err(e) => tracing::error!(error = %e, "cannot reopen the database"),
        }
    }
}

fn is_read_only_error(e: &StoreError) -> bool {
    match e {
        StoreError::ReadOnly => true,
        StoreError::Database(sqlx::Error::Database(d)) => {
            // SQLITE_READONLY and its extended codes (8, 264, 520, …).
            d.code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 8)
        }
        _ => false,
    }
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Checkpoint the WAL every ~40 MB rather than every 4 MB: a page written by many
            // commits in between is copied into the database once, and the database file is
            // synced less often. The WAL is reset at each checkpoint.
            .pragma("wal_autocheckpoint", "10000");
        let pools = open_patiently(&opts).await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pools.writer)
            .await?;
        let cell = Arc::new(PoolCell {
            opts,
            current: std::sync::RwLock::new(Arc::new(pools)),
            reopening: tokio::sync::Mutex::new(std::time::Instant::now() - Duration::from_secs(2)),
        });
        let (writes, jobs) = mpsc::channel(4 * MAX_BATCH);
        let leads = super::shared::LeadCell::shared();
        tokio::spawn(group_commit(cell.clone(), jobs, leads.clone()));
        Ok(Self {
            pools: cell,
            writes,
            leads,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    /// Readable, and writable.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        self.pools.get().ping().await?;
        let mut conn = self.pools.get().writer.acquire().await?;
        if is_read_only(&mut conn).await? {
            drop(conn);
            self.pools.reopen().await;
            return Err(StoreError::ReadOnly);
        }
        Ok(())
    }
}

/// Turn on SQLite's query planner stability guarantee (QPSG) for this connection: a plan never
/// depends on the values bound to it.
///
/// Without it SQLite (3.51 here) plans `LIMIT $n` with the bound value and marks the prepared
/// statement to be re-prepared whenever `$n` is bound again — sqlx binds every argument on
/// every execution, so every history page (and every other statement with a bound `LIMIT`)
/// was parsed and planned anew each time despite sqlx's statement cache: measured with `perf`
/// in a join round, `sqlite3Reprepare` was 10–13 % of the time of SQLite's threads. Our
/// statements gain nothing from value-dependent plans (no LIKE, no ANALYZE statistics).
async fn plans_ignore_bound_values(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut now_on: std::ffi::c_int = 0;
    // SAFETY: `db` is the live handle of this connection, locked for the duration of the call.
    // SQLITE_DBCONFIG_ENABLE_QPSG takes an int (1: on) and a pointer to an int that receives
    // the new setting, which `now_on` outlives.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            &mut now_on as *mut std::ffi::c_int,
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK || now_on != 1 {
        return Err(sqlx::Error::Configuration(
            format!("cannot enable SQLite's query planner stability guarantee (rc {rc})").into(),
        ));
    }
    Ok(())
}

/// Was this connection opened read-only (the file or its folder not writable at the time)?
async fn is_read_only(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the live handle of this connection, locked for the duration of the call;
    // sqlite3_db_readonly only reads its state. It returns 1 (read-only), 0, or -1 (no "main").
    let read_only = unsafe { libsqlite3_sys::sqlite3_db_readonly(db, c"main".as_ptr()) };
    Ok(read_only == 1)
}

/// `VACUUM INTO` on a connection of its own (the server's writer is not disturbed).
pub(crate) async fn backup(url: &str, dest: &std::path::Path) -> StoreResult<()> {
    use sqlx::ConnectOptions;
    if dest.exists() {
        return Err(StoreError::Refused(format!(
            "{} exists already: choose a new file",
            dest.display()
        )));
    }
    let mut conn = SqliteConnectOptions::from_str(url)?
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await?;
    sqlx::query("VACUUM INTO $1")
        .bind(dest.to_string_lossy().as_ref())
        .execute(&mut conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;

    /// How often one prepared `SELECT … LIMIT ?` is re-prepared when it runs with a new bound
    /// limit, on this connection (raw SQLite calls: sqlx hides its statements).
    async fn reprepares_of_a_bound_limit(conn: &mut sqlx::SqliteConnection) -> i32 {
        use libsqlite3_sys as ffi;
        let mut handle = conn.lock_handle().await.unwrap();
        let db = handle.as_raw_handle().as_ptr();
        let sql = c"SELECT value FROM json_each('[1,2,3,4,5]') LIMIT ?1";
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `db` is this connection's live handle, locked here; `stmt` is finalized
        // before the lock is released; every call gets the statement it prepared.
        unsafe {
            let rc =
                ffi::sqlite3_prepare_v3(db, sql.as_ptr(), -1, 0, &mut stmt, std::ptr::null_mut());
            assert_eq!(rc, ffi::SQLITE_OK);
            for limit in [2, 3, 4] {
                ffi::sqlite3_reset(stmt);
                ffi::sqlite3_bind_int(stmt, 1, limit);
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {}
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            n
        }
    }

    #[tokio::test]
    async fn a_bound_limit_does_not_re_prepare_a_statement() {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
        let mut plain = opts.connect().await.unwrap();
        // Why the setting exists: without it SQLite re-prepares at each new limit.
        assert!(reprepares_of_a_bound_limit(&mut plain).await >= 2);
        let mut ours = opts.connect().await.unwrap();
        plans_ignore_bound_values(&mut ours).await.unwrap();
        assert_eq!(reprepares_of_a_bound_limit(&mut ours).await, 0);
    }
}
