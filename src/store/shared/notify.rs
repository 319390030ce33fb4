//! Notifications (§14) for both backends: what is due, the outbox, subscriptions and mutes.
//! Only the claim differs (PostgreSQL adds `FOR UPDATE SKIP LOCKED`, so that several nodes
//! claim at once without sharing a row); the backend passes its text.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};

use super::Pools;
use crate::domain::{
    Attempt, Channel, Delivery, DueOrder, Millis, NotifyLeads, NotifyState, OrderId,
    PushSubscription, ScanRecord, Unnotified, UserId,
};
use crate::store::StoreResult;

/// The leads of `NotifyLeads`, readable by the writer without a lock (`NONE`: unset).
#[derive(Debug)]
pub(crate) struct LeadCell {
    on_message: AtomicI64,
    on_change: AtomicI64,
}

const NONE: i64 = i64::MIN;

impl Default for LeadCell {
    fn default() -> Self {
        Self {
            on_message: AtomicI64::new(NONE),
            on_change: AtomicI64::new(NONE),
        }
    }
}

impl LeadCell {
    pub(crate) fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub(crate) fn set(&self, leads: NotifyLeads) {
        self.on_message
            .store(leads.on_message.unwrap_or(NONE), Ordering::Relaxed);
        self.on_change
            .store(leads.on_change.unwrap_or(NONE), Ordering::Relaxed);
    }

    /// When a message stored at `at` makes its order due (`None`: it does not).
    pub(crate) fn for_message(&self, at: Millis) -> Option<Millis> {
        lead(&self.on_message, at)
    }

    /// When a change made at `at` makes its order due.
    pub(crate) fn for_change(&self, at: Millis) -> Option<Millis> {
        lead(&self.on_change, at)
    }
}

fn lead(cell: &AtomicI64, at: Millis) -> Option<Millis> {
    match cell.load(Ordering::Relaxed) {
        NONE => None,
        lead => Some(at.saturating_add(lead)),
    }
}

const DUE_ORDERS: &str = "SELECT id, last_seq, last_rev FROM orders
     WHERE notify_at IS NOT NULL AND notify_at <= $1 ORDER BY notify_at LIMIT $2";

const HOOK_REV: &str = "SELECT hook_rev, hook_seq FROM orders WHERE id = $1";
const MARKS: &str = "SELECT user_id, seq FROM notify_marks WHERE order_id = $1";
const READS: &str = "SELECT user_id, last_read_seq FROM read_markers WHERE order_id = $1";
const MUTES: &str = "SELECT user_id FROM notification_mutes WHERE order_id = $1";

const UNNOTIFIED: &str = "SELECT COUNT(*), MIN(created_at), MAX(seq) FROM messages
     WHERE order_id = $1 AND seq > $2 AND sender_id <> $3 AND sender_type <> 'system'
       AND deleted_at IS NULL";

const INSERT_DELIVERY: &str =
    "INSERT INTO outbox (id, channel, target, event_type, payload, created_at, next_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT(id) DO NOTHING";

/// A mark never goes down (two scans of one order on two nodes).
const PUT_MARK: &str = "INSERT INTO notify_marks (order_id, user_id, seq) VALUES ($1, $2, $3)
     ON CONFLICT(order_id, user_id) DO UPDATE SET seq = excluded.seq
     WHERE excluded.seq > notify_marks.seq";

/// `$3` the rev the scan saw, `$4` the next time (or NULL), `$5` now: an order that changed
/// meanwhile is looked at again at once.
const AFTER_SCAN: &str = "UPDATE orders SET
       hook_rev = CASE WHEN hook_rev > $2 THEN hook_rev ELSE $2 END,
       hook_seq = CASE WHEN hook_seq > $6 THEN hook_seq ELSE $6 END,
       notify_at = CASE WHEN last_rev = $3 THEN $4
                        WHEN $4 IS NOT NULL AND $4 < $5 THEN $4 ELSE $5 END
     WHERE id = $1";

/// PostgreSQL: a new subscription of a user waits for any other of the same user (a transaction
/// lock on the user id), so that two at once cannot both keep 10 and leave 11. SQLite's one
/// writer connection serializes them already.
pub(crate) const LOCK_USER_PUSH_POSTGRES: &str =
    "SELECT pg_advisory_xact_lock(1886745448, hashtext($1))";

/// SQLite's claim: its one writer connection serializes claims already.
pub(crate) const CLAIM_SQLITE: &str = "UPDATE outbox SET locked_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $1
                    AND (locked_until IS NULL OR locked_until <= $1)
                  ORDER BY next_at LIMIT $3)
     RETURNING id, channel, target, event_type, payload, created_at, attempts";

/// PostgreSQL's: rows another node is claiming right now are skipped, not waited for.
pub(crate) const CLAIM_POSTGRES: &str =
    "UPDATE outbox SET locked_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $1
                    AND (locked_until IS NULL OR locked_until <= $1)
                  ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, channel, target, event_type, payload, created_at, attempts";

const DELIVERED: &str =
    "UPDATE outbox SET state = 'delivered', done_at = $2, locked_until = NULL WHERE id = $1";
const RETRY: &str =
    "UPDATE outbox SET next_at = $2, last_error = $3, locked_until = NULL WHERE id = $1";
const DEAD: &str = "UPDATE outbox SET state = 'dead', done_at = $2, last_error = $3,
       locked_until = NULL WHERE id = $1";
/// A webhook that failed and then answered: what waits for a retry of it is due now.
const HASTEN_WEBHOOKS: &str = "UPDATE outbox SET next_at = $1
     WHERE state = 'pending' AND channel = 'webhook' AND attempts > 0 AND next_at > $1";
const PRUNE: &str = "DELETE FROM outbox
     WHERE (state = 'delivered' AND done_at < $1) OR (state = 'dead' AND done_at < $2)
     RETURNING id";
const PENDING: &str = "SELECT COUNT(*) FROM outbox WHERE state = 'pending'";

const PUSH_COLUMNS: &str = "endpoint, user_id, p256dh, auth, created_at";
const PUSH_EXISTS: &str = "SELECT COUNT(*) FROM push_subscriptions WHERE endpoint = $1";
const PUT_PUSH: &str =
    "INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT(endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh,
       auth = excluded.auth, created_at = excluded.created_at";
/// Keeps the user's newest `$2`.
const TRIM_PUSH: &str = "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint NOT IN (
       SELECT endpoint FROM push_subscriptions WHERE user_id = $1
       ORDER BY created_at DESC, endpoint DESC LIMIT $2)";
const DELETE_PUSH: &str =
    "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2 RETURNING endpoint";
const FORGET_PUSH: &str = "DELETE FROM push_subscriptions WHERE endpoint = $1";
const PUSH_OF_USER: &str = "SELECT endpoint, user_id, p256dh, auth, created_at
     FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at, endpoint";

const MUTE: &str =
    "INSERT INTO notification_mutes (order_id, user_id, muted_at) VALUES ($1, $2, $3)
     ON CONFLICT(order_id, user_id) DO NOTHING";
const UNMUTE: &str = "DELETE FROM notification_mutes WHERE order_id = $1 AND user_id = $2";
const IS_MUTED: &str =
    "SELECT COUNT(*) FROM notification_mutes WHERE order_id = $1 AND user_id = $2";

const PUT_SETTING: &str =
    "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT(name) DO NOTHING";
const GET_SETTING: &str = "SELECT value FROM server_settings WHERE name = $1";

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: String,
    channel: String,
    target: Option<String>,
    event_type: String,
    payload: String,
    created_at: i64,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct PushRow {
    endpoint: String,
    user_id: String,
    p256dh: String,
    auth: String,
    created_at: i64,
}

impl From<PushRow> for PushSubscription {
    fn from(r: PushRow) -> Self {
        PushSubscription {
            endpoint: r.endpoint,
            user_id: UserId::from_trusted(r.user_id),
            p256dh: r.p256dh,
            auth: r.auth,
            created_at: r.created_at,
        }
    }
}

/// Most endpoints one statement binds.
const ENDPOINTS_PER_STATEMENT: usize = 500;

impl<DB> Pools<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> (i64, i64): FromRow<'r, DB::Row>,
    for<'r> (String, i64, i64): FromRow<'r, DB::Row>,
    for<'r> (i64, Option<i64>, Option<i64>): FromRow<'r, DB::Row>,
    for<'r> DeliveryRow: FromRow<'r, DB::Row>,
    for<'r> PushRow: FromRow<'r, DB::Row>,
{
    pub(crate) async fn due_orders(&self, now: Millis, limit: i64) -> StoreResult<Vec<DueOrder>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(DUE_ORDERS)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, last_seq, last_rev)| DueOrder {
                order_id: OrderId::from_trusted(id),
                last_seq,
                last_rev,
            })
            .collect())
    }

    /// Read from the writer: the scan must see what the last transactions stored.
    pub(crate) async fn notify_state(&self, order: &OrderId) -> StoreResult<NotifyState> {
        let hook: Option<(i64, i64)> = sqlx::query_as(HOOK_REV)
            .bind(order.as_str())
            .fetch_optional(&self.writer)
            .await?;
        let pairs = |sql: &'static str| async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(sql)
                .bind(order.as_str())
                .fetch_all(&self.writer)
                .await?;
            StoreResult::Ok(
                rows.into_iter()
                    .map(|(u, s)| (UserId::from_trusted(u), s))
                    .collect(),
            )
        };
        let marks = pairs(MARKS).await?;
        let reads = pairs(READS).await?;
        let muted: Vec<(String,)> = sqlx::query_as(MUTES)
            .bind(order.as_str())
            .fetch_all(&self.writer)
            .await?;
        Ok(NotifyState {
            hook_rev: hook.map_or(0, |(r, _)| r),
            hook_seq: hook.map_or(0, |(_, s)| s),
            marks,
            reads,
            muted: muted
                .into_iter()
                .map(|(u,)| UserId::from_trusted(u))
                .collect(),
        })
    }

    pub(crate) async fn unnotified(
        &self,
        order: &OrderId,
        user: &UserId,
        after: i64,
    ) -> StoreResult<Option<Unnotified>> {
        let (count, first_at, last_seq): (i64, Option<i64>, Option<i64>) =
            sqlx::query_as(UNNOTIFIED)
                .bind(order.as_str())
                .bind(after)
                .bind(user.as_str())
                .fetch_one(&self.writer)
                .await?;
        Ok(match (first_at, last_seq) {
            (Some(first_at), Some(last_seq)) if count > 0 => Some(Unnotified {
                count,
                first_at,
                last_seq,
            }),
            _ => None,
        })
    }

    pub(crate) async fn record_scans(&self, scans: &[(OrderId, ScanRecord)]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for (order, scan) in scans {
            for d in &scan.deliveries {
                sqlx::query(INSERT_DELIVERY)
                    .bind(d.id.as_str())
                    .bind(d.channel.as_str())
                    .bind(d.target.as_deref())
                    .bind(d.event_type.as_str())
                    .bind(d.payload.as_str())
                    .bind(d.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            for (user, seq) in &scan.marks {
                sqlx::query(PUT_MARK)
                    .bind(order.as_str())
                    .bind(user.as_str())
                    .bind(*seq)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(AFTER_SCAN)
                .bind(order.as_str())
                .bind(scan.hook_rev)
                .bind(scan.seen_rev)
                .bind(scan.next_at)
                .bind(scan.now)
                .bind(scan.hook_seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn claim_deliveries(
        &self,
        sql: &'static str,
        now: Millis,
        lock_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(sql)
            .bind(now)
            .bind(lock_until)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        let mut out: Vec<Delivery> = rows
            .into_iter()
            .map(|r| Delivery {
                id: r.id,
                channel: Channel::from_trusted(&r.channel),
                target: r.target,
                event_type: r.event_type,
                payload: r.payload,
                created_at: r.created_at,
                attempts: (r.attempts - 1).max(0),
            })
            .collect();
        // RETURNING gives no order: oldest first, so events of one order go out in order.
        out.sort_by_key(|d| d.created_at);
        Ok(out)
    }

    pub(crate) async fn finish_deliveries(
        &self,
        done: &[(String, Attempt)],
        hasten_webhooks: bool,
        now: Millis,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for (id, attempt) in done {
            let q = match attempt {
                Attempt::Delivered => sqlx::query(DELIVERED).bind(id.as_str()).bind(now),
                Attempt::Retry { at, error } => sqlx::query(RETRY)
                    .bind(id.as_str())
                    .bind(*at)
                    .bind(error.as_str()),
                Attempt::Dead { error } => sqlx::query(DEAD)
                    .bind(id.as_str())
                    .bind(now)
                    .bind(error.as_str()),
            };
            q.execute(&mut *tx).await?;
        }
        if hasten_webhooks {
            sqlx::query(HASTEN_WEBHOOKS)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn prune_deliveries(
        &self,
        delivered_before: Millis,
        dead_before: Millis,
    ) -> StoreResult<u64> {
        let gone: Vec<(String,)> = sqlx::query_as(PRUNE)
            .bind(delivered_before)
            .bind(dead_before)
            .fetch_all(&self.writer)
            .await?;
        Ok(gone.len() as u64)
    }

    pub(crate) async fn pending_deliveries(&self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as(PENDING).fetch_one(&self.reader).await?;
        Ok(n)
    }

    pub(crate) async fn put_push_subscription(
        &self,
        sub: &PushSubscription,
        max_per_user: usize,
        lock_user: Option<&'static str>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if let Some(lock) = lock_user {
            sqlx::query(lock)
                .bind(sub.user_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let (existing,): (i64,) = sqlx::query_as(PUSH_EXISTS)
            .bind(sub.endpoint.as_str())
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(PUT_PUSH)
            .bind(sub.endpoint.as_str())
            .bind(sub.user_id.as_str())
            .bind(sub.p256dh.as_str())
            .bind(sub.auth.as_str())
            .bind(sub.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(TRIM_PUSH)
            .bind(sub.user_id.as_str())
            .bind(max_per_user as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(existing == 0)
    }

    pub(crate) async fn delete_push_subscription(
        &self,
        user: &UserId,
        endpoint: &str,
    ) -> StoreResult<bool> {
        let gone: Option<(String,)> = sqlx::query_as(DELETE_PUSH)
            .bind(user.as_str())
            .bind(endpoint)
            .fetch_optional(&self.writer)
            .await?;
        Ok(gone.is_some())
    }

    pub(crate) async fn forget_push_endpoint(&self, endpoint: &str) -> StoreResult<()> {
        sqlx::query(FORGET_PUSH)
            .bind(endpoint)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn push_subscriptions_of(
        &self,
        user: &UserId,
    ) -> StoreResult<Vec<PushSubscription>> {
        let rows: Vec<PushRow> = sqlx::query_as(PUSH_OF_USER)
            .bind(user.as_str())
            .fetch_all(&self.writer)
            .await?;
        Ok(rows.into_iter().map(PushSubscription::from).collect())
    }

    pub(crate) async fn push_subscriptions(
        &self,
        endpoints: &[String],
    ) -> StoreResult<Vec<PushSubscription>> {
        let mut out = Vec::with_capacity(endpoints.len());
        for chunk in endpoints.chunks(ENDPOINTS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(format!(
                "SELECT {PUSH_COLUMNS} FROM push_subscriptions WHERE endpoint IN ("
            ));
            let mut list = q.separated(", ");
            for e in chunk {
                list.push_bind(e.as_str());
            }
            q.push(")");
            let rows: Vec<PushRow> = q.build_query_as().fetch_all(&self.writer).await?;
            out.extend(rows.into_iter().map(PushSubscription::from));
        }
        Ok(out)
    }

    pub(crate) async fn set_muted(
        &self,
        order: &OrderId,
        user: &UserId,
        muted: bool,
        at: Millis,
    ) -> StoreResult<()> {
        if muted {
            sqlx::query(MUTE)
                .bind(order.as_str())
                .bind(user.as_str())
                .bind(at)
                .execute(&self.writer)
                .await?;
        } else {
            sqlx::query(UNMUTE)
                .bind(order.as_str())
                .bind(user.as_str())
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn is_muted(&self, order: &OrderId, user: &UserId) -> StoreResult<bool> {
        let (n,): (i64,) = sqlx::query_as(IS_MUTED)
            .bind(order.as_str())
            .bind(user.as_str())
            .fetch_one(&self.writer)
            .await?;
        Ok(n > 0)
    }

    /// The stored value of `name`, storing `value` first when there is none. A value already
    /// there is read without a write, so a server starts on a database it may not write.
    pub(crate) async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        let found: Option<(String,)> = sqlx::query_as(GET_SETTING)
            .bind(name)
            .fetch_optional(&self.writer)
            .await?;
        if let Some((stored,)) = found {
            return Ok(stored);
        }
        sqlx::query(PUT_SETTING)
            .bind(name)
            .bind(value)
            .execute(&self.writer)
            .await?;
        let (stored,): (String,) = sqlx::query_as(GET_SETTING)
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        Ok(stored)
    }
}
