//! Group commit on PostgreSQL: the messages sent at the same time share one transaction.
//!
//! A node runs a few writer tasks ("shards"); an order always goes to the same one, so two
//! batches of one node never wait on each other's order locks, while the shards' commits overlap
//! (PostgreSQL flushes concurrent commits together). A batch:
//!
//! 1. locks its orders' rows, sorted by id, so two nodes' batches cannot deadlock (and a single
//!    send or change, which locks one order, cannot form a cycle with them);
//! 2. looks up the `clientMessageId`s it carries among stored messages — under those locks, so
//!    no other node can store the same key meanwhile: idempotency stays exact;
//! 3. numbers its messages from the locked counters in arrival order (`seq` and `rev` stay
//!    gapless per order), inserts them with one statement and moves the counters with another;
//! 4. commits, then answers every sender: an ack still means "committed".
//!
//! If the batch fails for any reason (a row the database refuses, a deadlock with another
//! writer, a lost connection), nothing of it is kept and each of its messages is stored again
//! on its own, so one bad row fails only itself.
//!
//! Edits, deletes and reactions queue on the same writer (their order's shard) and the changes
//! waiting together share one transaction too: their orders locked sorted by id, each change
//! read, planned and written in arrival order with the next `rev` of its order, one commit.
//! A failed change batch is likewise applied again change by change.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::domain::{Applied, Change, Inserted, NewMessage, OrderId, Refusal, StoredMessage};
use crate::store::shared::{
    ChangePlan, ClientKey, LeadCell, MessageRow, answers, client_key, message_columns, new_rows,
    number, plan, read_change, stored_key, write_change,
};
use crate::store::{StoreError, StoreResult};

/// Most messages one commit carries.
const MAX_BATCH: usize = 512;

/// Writer tasks per node: each holds at most one pool connection.
pub(super) const SHARDS: usize = 4;

enum Job {
    Insert(InsertJob),
    Change(ChangeJob),
}

struct InsertJob {
    msg: NewMessage,
    reply: oneshot::Sender<StoreResult<Inserted>>,
}

struct ChangeJob {
    order: OrderId,
    change: Change,
    reply: oneshot::Sender<StoreResult<Applied>>,
}

/// The queues of this node's writer tasks.
pub(super) struct Writers {
    shards: Vec<mpsc::Sender<Job>>,
}

impl Writers {
    pub(super) fn start(pool: PgPool, leads: Arc<LeadCell>) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
                tokio::spawn(group_commit(pool.clone(), leads.clone(), rx));
                tx
            })
            .collect();
        Self { shards }
    }

    /// Queue a message for its order's writer and wait for the commit.
    pub(super) async fn insert(&self, msg: NewMessage) -> StoreResult<Inserted> {
        let (reply, answer) = oneshot::channel();
        let shard = self.shard(&msg.order_id);
        shard
            .send(Job::Insert(InsertJob { msg, reply }))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queue an edit, delete or reaction for its order's writer and wait for the commit.
    pub(super) async fn change(&self, order: &OrderId, change: Change) -> StoreResult<Applied> {
        let (reply, answer) = oneshot::channel();
        let job = ChangeJob {
            order: order.clone(),
            change,
            reply,
        };
        self.shard(order)
            .send(Job::Change(job))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// An order always goes to the same writer.
    fn shard(&self, order: &OrderId) -> &mpsc::Sender<Job> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        order.as_str().hash(&mut h);
        &self.shards[(h.finish() % self.shards.len() as u64) as usize]
    }
}

fn stopped() -> StoreError {
    StoreError::Batch("the message writer has stopped".into())
}

async fn group_commit(pool: PgPool, leads: Arc<LeadCell>, mut jobs: mpsc::Receiver<Job>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut changes = Vec::new();
    while jobs.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        for job in waiting.drain(..) {
            match job {
                Job::Insert(j) => batch.push(j),
                Job::Change(j) => changes.push(j),
            }
        }
        if !changes.is_empty() {
            commit_changes(&pool, &leads, std::mem::take(&mut changes)).await;
        }
        if batch.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let msgs: Vec<&NewMessage> = batch.iter().map(|j| &j.msg).collect();
        let outcome = insert_batch(&pool, &leads, &msgs).await;
        tracing::trace!(
            size = batch.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "message batch"
        );
        match outcome {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            // The database refused something in it: each message on its own, so that only
            // the one at fault fails.
            Err(StoreError::Database(sqlx::Error::Database(e))) if batch.len() > 1 => {
                tracing::warn!(error = %e, size = batch.len(), "message batch refused; storing its messages one by one");
                for job in batch.drain(..) {
                    let result = insert_batch(&pool, &leads, &[&job.msg]).await;
                    let result = result.and_then(|mut r| r.pop().unwrap_or_else(|| Err(lost())));
                    let _ = job.reply.send(result);
                }
            }
            // The database is out of reach (or the one message was refused): every sender hears why.
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(error = %reason, size = batch.len(), "message batch failed");
                if batch.len() == 1 {
                    if let Some(job) = batch.pop() {
                        let _ = job.reply.send(Err(e));
                    }
                } else {
                    for job in batch.drain(..) {
                        let _ = job.reply.send(Err(StoreError::Batch(reason.clone())));
                    }
                }
            }
        }
    }
}

fn lost() -> StoreError {
    StoreError::Batch("the writer lost a result".into())
}

/// The changes waiting together, in one transaction; if the database refuses it, each again on
/// its own, so that only the one at fault fails.
async fn commit_changes(pool: &PgPool, leads: &LeadCell, jobs: Vec<ChangeJob>) {
    let started = std::time::Instant::now();
    let outcome = change_batch(pool, leads, &jobs).await;
    tracing::trace!(
        size = jobs.len(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "change batch"
    );
    match outcome {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(StoreError::Database(sqlx::Error::Database(e))) if jobs.len() > 1 => {
            tracing::warn!(error = %e, size = jobs.len(), "change batch refused; applying its changes one by one");
            for job in jobs {
                let result = change_batch(pool, leads, std::slice::from_ref(&job)).await;
                let result = result.and_then(|mut r| r.pop().unwrap_or_else(|| Err(lost())));
                let _ = job.reply.send(result);
            }
        }
        // Out of reach (or the one change was refused): every caller hears why.
        Err(e) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(e));
            }
        }
        Err(e) => {
            let reason = e.to_string();
            tracing::error!(error = %reason, size = jobs.len(), "change batch failed");
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Batch(reason.clone())));
            }
        }
    }
}

const LOCK_CHANGED_ORDERS: &str = "SELECT id FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE";

/// Moves the order's `rev` for one change (and when the change makes it due).
const NEXT_REV: &str = "UPDATE orders SET last_rev = last_rev + 1,
       notify_at = CASE WHEN $2::BIGINT IS NULL THEN notify_at
                        WHEN notify_at IS NULL OR notify_at > $2 THEN $2 ELSE notify_at END
     WHERE id = $1 RETURNING last_rev";

/// One transaction for these changes; the results in their order. An `Err` means nothing was
/// written.
async fn change_batch(
    pool: &PgPool,
    leads: &LeadCell,
    jobs: &[ChangeJob],
) -> StoreResult<Vec<StoreResult<Applied>>> {
    let mut tx = pool.begin().await?;
    let mut orders: Vec<&str> = jobs.iter().map(|j| j.order.as_str()).collect();
    orders.sort_unstable();
    orders.dedup();
    let locked: Vec<(String,)> = sqlx::query_as(LOCK_CHANGED_ORDERS)
        .bind(&orders)
        .fetch_all(&mut *tx)
        .await?;
    let known: HashSet<String> = locked.into_iter().map(|(id,)| id).collect();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        if !known.contains(job.order.as_str()) {
            results.push(Ok(Applied::Refused(Refusal::NotFound)));
            continue;
        }
        let (current, counts) = read_change::<Postgres>(&mut tx, &job.order, &job.change).await?;
        let applied = match plan(&job.change, current, counts) {
            ChangePlan::Done(applied) => applied,
            ChangePlan::Write(m) => {
                let rev: i64 = sqlx::query_scalar(NEXT_REV)
                    .bind(job.order.as_str())
                    .bind(leads.for_change(crate::domain::now_millis()))
                    .fetch_one(&mut *tx)
                    .await?;
                Applied::Changed(write_change::<Postgres>(&mut tx, &job.change, m, rev).await?)
            }
        };
        results.push(Ok(applied));
    }
    tx.commit().await?;
    Ok(results)
}

const LOCK_ORDERS: &str =
    "SELECT id, last_seq, last_rev FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE";

const SAME_CLIENT_MESSAGES: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE (order_id, sender_id, client_message_id) IN
       (SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[]))"
);

const INSERT_MESSAGES: &str =
    "INSERT INTO messages (id, order_id, seq, sender_id, sender_type, body, image_url,
       attachments, client_message_id, created_at, updated_at, rev, reply_to_id)
     SELECT id, order_id, seq, sender_id, sender_type, body, image_url, attachments,
            client_message_id, created_at, created_at, rev, reply_to_id
       FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                   $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::BIGINT[], $11::BIGINT[], $12::TEXT[])
         AS m(id, order_id, seq, sender_id, sender_type, body, image_url, attachments,
              client_message_id, created_at, rev, reply_to_id)";

/// `due`: when the order's new messages make it due for the notifier (NULL: they do not),
/// never later than a time already set.
const MOVE_COUNTERS: &str = "UPDATE orders SET last_seq = u.seq, last_rev = u.rev,
       notify_at = CASE WHEN u.due IS NULL THEN notify_at
                        WHEN notify_at IS NULL OR notify_at > u.due THEN u.due ELSE notify_at END
     FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) AS u(id, seq, rev, due)
     WHERE orders.id = u.id";

/// One transaction for the whole batch; the results come in the batch's order. An `Err` means
/// nothing was written.
async fn insert_batch(
    pool: &PgPool,
    leads: &LeadCell,
    batch: &[&NewMessage],
) -> StoreResult<Vec<StoreResult<Inserted>>> {
    let mut tx = pool.begin().await?;
    let mut orders: Vec<&str> = batch.iter().map(|m| m.order_id.as_str()).collect();
    orders.sort_unstable();
    orders.dedup();
    let locked: Vec<(String, i64, i64)> = sqlx::query_as(LOCK_ORDERS)
        .bind(&orders)
        .fetch_all(&mut *tx)
        .await?;
    let mut counters: HashMap<String, (i64, i64)> = locked
        .into_iter()
        .map(|(id, seq, rev)| (id, (seq, rev)))
        .collect();
    let existing = same_client_messages(&mut tx, batch).await?;
    let outcomes = number(batch.iter().copied(), &existing, |order| {
        let (seq, rev) = counters.get_mut(order.as_str())?;
        *seq += 1;
        *rev += 1;
        Some((*seq, *rev))
    });
    let new = new_rows(batch.iter().copied(), &outcomes);
    if !new.is_empty() {
        insert_rows(&mut tx, &new).await?;
        move_counters(&mut tx, leads, &new, &counters).await?;
    }
    tx.commit().await?;
    Ok(answers(batch.iter().copied(), outcomes))
}

/// Stored messages with the same (order, sender, clientMessageId) as one of the batch's.
async fn same_client_messages(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[&NewMessage],
) -> StoreResult<HashMap<ClientKey, StoredMessage>> {
    let keys: Vec<ClientKey> = batch.iter().filter_map(|m| client_key(m)).collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (orders, senders, cids): (Vec<_>, Vec<_>, Vec<_>) = keys.into_iter().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut o, mut s, mut c), (order, sender, cid)| {
            o.push(order.to_string());
            s.push(sender);
            c.push(cid);
            (o, s, c)
        },
    );
    let rows: Vec<MessageRow> = sqlx::query_as(SAME_CLIENT_MESSAGES)
        .bind(orders)
        .bind(senders)
        .bind(cids)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(StoredMessage::from)
        .filter_map(|m| Some((stored_key(&m)?, m)))
        .collect())
}

async fn insert_rows(
    tx: &mut Transaction<'_, Postgres>,
    new: &[(&NewMessage, i64, i64)],
) -> StoreResult<()> {
    let n = new.len();
    let mut ids = Vec::with_capacity(n);
    let mut orders = Vec::with_capacity(n);
    let mut seqs = Vec::with_capacity(n);
    let mut senders = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut images = Vec::with_capacity(n);
    let mut attachments = Vec::with_capacity(n);
    let mut cids = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    let mut revs = Vec::with_capacity(n);
    let mut replies = Vec::with_capacity(n);
    for (m, seq, rev) in new {
        ids.push(m.id.as_str());
        orders.push(m.order_id.as_str());
        seqs.push(*seq);
        senders.push(m.sender_id.as_str());
        types.push(m.sender_type.as_str());
        bodies.push(m.body.as_str());
        images.push(m.image_url.as_deref());
        attachments.push(serde_json::to_string(&m.attachment_ids).unwrap_or_else(|_| "[]".into()));
        cids.push(m.client_message_id.as_ref().map(|c| c.as_str()));
        created.push(m.created_at);
        revs.push(*rev);
        replies.push(m.reply_to_id.as_ref().map(|r| r.as_str()));
    }
    sqlx::query(INSERT_MESSAGES)
        .bind(ids)
        .bind(orders)
        .bind(seqs)
        .bind(senders)
        .bind(types)
        .bind(bodies)
        .bind(images)
        .bind(attachments)
        .bind(cids)
        .bind(created)
        .bind(revs)
        .bind(replies)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Each touched order's counters to the highest numbers its new messages took.
async fn move_counters(
    tx: &mut Transaction<'_, Postgres>,
    leads: &LeadCell,
    new: &[(&NewMessage, i64, i64)],
    counters: &HashMap<String, (i64, i64)>,
) -> StoreResult<()> {
    let mut first_at: HashMap<&str, i64> = HashMap::new();
    for (m, _, _) in new {
        let at = first_at.entry(m.order_id.as_str()).or_insert(m.created_at);
        *at = (*at).min(m.created_at);
    }
    let mut ids = Vec::with_capacity(first_at.len());
    let mut seqs = Vec::with_capacity(first_at.len());
    let mut revs = Vec::with_capacity(first_at.len());
    let mut dues = Vec::with_capacity(first_at.len());
    for (id, at) in first_at {
        let Some((seq, rev)) = counters.get(id) else {
            continue;
        };
        ids.push(id);
        seqs.push(*seq);
        revs.push(*rev);
        dues.push(leads.for_message(at));
    }
    sqlx::query(MOVE_COUNTERS)
        .bind(ids)
        .bind(seqs)
        .bind(revs)
        .bind(dues)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
