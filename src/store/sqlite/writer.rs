//! The message writer: group commit of every message waiting, with in-memory `seq` counters.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::QueryBuilder;
use tokio::sync::mpsc;

use super::jobs::{ChangeJob, InsertJob, Job, Results, lost};
use super::{PoolCell, is_read_only_error};

use crate::domain::{Applied, OrderId, StoredMessage};
use crate::store::shared::LeadCell;
use crate::store::shared::{
    ClientKey, MESSAGE_COLUMNS, MessageRow, answers, client_key, new_rows, number, stored_key,
};
use crate::store::{StoreError, StoreResult};

/// Most messages one commit carries.
pub(super) const MAX_BATCH: usize = 512;

/// Group commit: every message waiting when the writer is free goes into one transaction, so
/// one fsync (synchronous = FULL) covers them all. Replies go out only after the commit: an ack
/// always means "on disk".
///
/// This task is the only writer of messages (SQLite serves one node), so it keeps each order's
/// last `seq` in memory: a message costs one INSERT, and each order touched by a batch one
/// UPDATE of `orders.last_seq` at its end. If anything in a batch fails, the whole batch rolls
/// back, the cached counters of its orders are forgotten (re-read next time), and every message
/// of it is answered with the error: no gap, no half-written batch.
pub(super) async fn group_commit(
    pools: Arc<PoolCell>,
    mut jobs: mpsc::Receiver<Job>,
    leads: Arc<LeadCell>,
) {
    let mut writer = Writer {
        pools,
        leads,
        seqs: HashMap::new(),
        revs: HashMap::new(),
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = std::time::Instant::now();
        let outcome = writer.insert_batch(&batch).await;
        tracing::trace!(
            size = batch.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "message batch"
        );
        match outcome {
            Ok(results) => {
                let mut inserts = results.inserts.into_iter();
                let mut changes = results.changes.into_iter();
                for job in batch.drain(..) {
                    match job {
                        Job::Insert(j) => {
                            let r = inserts.next().unwrap_or_else(|| Err(lost()));
                            let _ = j.reply.send(r);
                        }
                        Job::Change(j) => {
                            let _ = j.reply.send(changes.next().ok_or_else(lost));
                        }
                    }
                }
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(error = %reason, size = batch.len(), "message batch failed");
                for job in batch.drain(..) {
                    writer.seqs.remove(job.order());
                    writer.revs.remove(job.order());
                    job.fail(StoreError::Batch(reason.clone()));
                }
            }
        }
    }
}

/// Counters beyond this many orders are dropped (and re-read when needed).
const MAX_CACHED_ORDERS: usize = 100_000;

struct Writer {
    pools: Arc<PoolCell>,
    /// When a batch's messages and changes mark their orders for the notifier.
    leads: Arc<LeadCell>,
    /// Last `seq` and `rev` per order, as committed.
    seqs: HashMap<OrderId, i64>,
    revs: HashMap<OrderId, i64>,
}

/// Most rows one INSERT statement carries (13 parameters each; SQLite allows 32,766).
const ROWS_PER_INSERT: usize = 500;

impl Writer {
    /// A batch costs a handful of statements whatever its size: one lookup of repeated
    /// `clientMessageId`s, one of unknown orders' counters, multi-row INSERTs, one UPDATE.
    async fn insert_batch(&mut self, batch: &[Job]) -> StoreResult<Results> {
        // Optimistic: a repeated clientMessageId of an earlier batch is rare (a client retrying
        // after a lost ack), and the unique index refuses it anyway. Only then is the batch
        // done again, looking every key up first.
        let pool = self.pools.get().writer.clone();
        let mut conn = pool.acquire().await?;
        let result = match self.attempt(&mut conn, batch, false).await {
            Err(StoreError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                self.attempt(&mut conn, batch, true).await
            }
            other => other,
        };
        if let Err(e) = &result
            && is_read_only_error(e)
        {
            drop(conn);
            self.pools.reopen().await;
        }
        result
    }

    async fn attempt(
        &mut self,
        conn: &mut sqlx::SqliteConnection,
        jobs: &[Job],
        look_up_repeats: bool,
    ) -> StoreResult<Results> {
        let batch: Vec<&InsertJob> = jobs
            .iter()
            .filter_map(|j| match j {
                Job::Insert(i) => Some(i),
                Job::Change(_) => None,
            })
            .collect();
        let changes: Vec<&ChangeJob> = jobs
            .iter()
            .filter_map(|j| match j {
                Job::Change(c) => Some(c),
                Job::Insert(_) => None,
            })
            .collect();
        let mut tx = sqlx::Connection::begin(conn).await?;

        // Messages already stored under the same (order, sender, clientMessageId).
        let keyed: Vec<ClientKey> = if look_up_repeats {
            batch.iter().filter_map(|j| client_key(&j.msg)).collect()
        } else {
            Vec::new()
        };
        let mut existing: HashMap<ClientKey, StoredMessage> = HashMap::new();
        for chunk in keyed.chunks(ROWS_PER_INSERT) {
            // Driven from the list (CROSS JOIN keeps that order), each key is one index
            // lookup; a row-value IN list would scan the whole index instead.
            let columns = MESSAGE_COLUMNS
                .split(", ")
                .map(|c| format!("m.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = QueryBuilder::new(format!("SELECT {columns} FROM ("));
            q.push_values(chunk, |mut row, (order, sender, cid)| {
                row.push_bind(order.as_str())
                    .push_bind(sender)
                    .push_bind(cid);
            });
            q.push(
                ") AS k CROSS JOIN messages m ON m.order_id = k.column1 \
                 AND m.sender_id = k.column2 AND m.client_message_id = k.column3",
            );
            let rows: Vec<MessageRow> = q.build_query_as().fetch_all(&mut *tx).await?;
            for row in rows {
                let m: StoredMessage = row.into();
                if let Some(k) = stored_key(&m) {
                    existing.insert(k, m);
                }
            }
        }

        // Counters of the orders this writer has not seen yet.
        let mut unknown: Vec<&str> = jobs
            .iter()
            .map(Job::order)
            .filter(|o| !self.seqs.contains_key(*o) || !self.revs.contains_key(*o))
            .map(OrderId::as_str)
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for chunk in unknown.chunks(ROWS_PER_INSERT) {
            let mut q =
                QueryBuilder::new("SELECT id, last_seq, last_rev FROM orders WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            let rows: Vec<(String, i64, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
            for (id, seq, rev) in rows {
                self.seqs.insert(OrderId::from_trusted(id.clone()), seq);
                self.revs.insert(OrderId::from_trusted(id), rev);
            }
        }
        let mut next_rev: HashMap<OrderId, i64> = HashMap::new();
        let mut take_rev = |order: &OrderId, revs: &HashMap<OrderId, i64>| {
            let rev = next_rev.get(order).or_else(|| revs.get(order)).copied()? + 1;
            next_rev.insert(order.clone(), rev);
            Some(rev)
        };

        // Number the new messages, in arrival order per order.
        let mut next: HashMap<OrderId, i64> = HashMap::new();
        let outcomes = number(batch.iter().map(|j| &j.msg), &existing, |order| {
            let current = next.get(order).or_else(|| self.seqs.get(order)).copied()?;
            let rev = take_rev(order, &self.revs)?;
            next.insert(order.clone(), current + 1);
            Some((current + 1, rev))
        });
        let new = new_rows(batch.iter().map(|j| &j.msg), &outcomes);
        for chunk in new.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::new(
                "INSERT INTO messages (id, order_id, seq, sender_id, sender_type, body, image_url, \
                 attachments, client_message_id, created_at, updated_at, rev, reply_to_id) ",
            );
            q.push_values(chunk, |mut row, (msg, seq, rev)| {
                let attachments =
                    serde_json::to_string(&msg.attachment_ids).unwrap_or_else(|_| "[]".into());
                row.push_bind(msg.id.as_str())
                    .push_bind(msg.order_id.as_str())
                    .push_bind(*seq)
                    .push_bind(msg.sender_id.as_str())
                    .push_bind(msg.sender_type.as_str())
                    .push_bind(msg.body.as_str())
                    .push_bind(msg.image_url.as_deref())
                    .push_bind(attachments)
                    .push_bind(msg.client_message_id.as_ref().map(|c| c.as_str()))
                    .push_bind(msg.created_at)
                    .push_bind(msg.created_at)
                    .push_bind(*rev)
                    .push_bind(msg.reply_to_id.as_ref().map(|r| r.as_str()));
            });
            q.build().execute(&mut *tx).await?;
        }

        // Then the edits, deletes and reactions, in arrival order, each with the next rev.
        let applied =
            super::changes::apply(&mut tx, &changes, |order| take_rev(order, &self.revs)).await?;

        // Each order's counters: the highest seq and rev its messages now carry (every change
        // writes its rev on the message it changed); and, for the notifier, the earliest time
        // one of the batch's messages or changes makes an order due (one time for the batch:
        // earlier than needed is harmless, the notifier looks again when the time comes).
        let touched: Vec<&OrderId> = next.keys().chain(next_rev.keys()).collect();
        if !touched.is_empty() {
            let first_message = new.iter().map(|(m, _, _)| m.created_at).min();
            let changed = applied.iter().any(|a| matches!(a, Applied::Changed(_)));
            let due = [
                first_message.and_then(|at| self.leads.for_message(at)),
                changed
                    .then(|| self.leads.for_change(crate::domain::now_millis()))
                    .flatten(),
            ]
            .into_iter()
            .flatten()
            .min();
            let mut q = QueryBuilder::new(
                "UPDATE orders SET \
                 last_seq = (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE messages.order_id = orders.id), \
                 last_rev = (SELECT COALESCE(MAX(rev), 0) FROM messages WHERE messages.order_id = orders.id)",
            );
            if let Some(due) = due {
                q.push(", notify_at = CASE WHEN notify_at IS NULL OR notify_at > ")
                    .push_bind(due)
                    .push(" THEN ")
                    .push_bind(due)
                    .push(" ELSE notify_at END");
            }
            q.push(" WHERE id IN (");
            let mut list = q.separated(", ");
            for order in touched {
                list.push_bind(order.as_str());
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;

        if self.seqs.len() > MAX_CACHED_ORDERS {
            self.seqs.clear();
            self.revs.clear();
        }
        self.seqs.extend(next);
        self.revs.extend(next_rev);
        let results = answers(batch.iter().map(|j| &j.msg), outcomes);
        Ok(Results {
            inserts: results,
            changes: applied,
        })
    }
}
