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

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::domain::{Inserted, NewMessage, StoredMessage};
use crate::store::shared::{
    ClientKey, LeadCell, MessageRow, answers, client_key, message_columns, new_rows, number,
    stored_key,
};
use crate::store::{StoreError, StoreResult};

/// Most messages one commit carries.
const MAX_BATCH: usize = 512;

/// Writer tasks per node: each holds at most one pool connection.
pub(super) const SHARDS: usize = 4;

struct Job {
    msg: NewMessage,
    reply: oneshot::Sender<StoreResult<Inserted>>,
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
        let mut h = std::collections::hash_map::DefaultHasher::new();
        msg.order_id.as_str().hash(&mut h);
        let shard = &self.shards[(h.finish() % self.shards.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Batch("the message writer has stopped".into());
        shard
            .send(Job { msg, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn group_commit(pool: PgPool, leads: Arc<LeadCell>, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
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
