//! The edits, deletes and reactions of one writer batch, applied set-wise.
//!
//! Each change used to cost 3–4 statements of its own (read the message, count its reactions,
//! write, bump its `rev`), each a round trip to SQLite's worker thread, while the single writer
//! held up every send of the batch. Here a batch's changes cost a fixed number of statements
//! whatever their number: one SELECT of their messages, one of those messages' reactions, then
//! the changes are decided in memory one by one in arrival order with the same rules as before
//! (`plan`, on the state the earlier changes of the batch left), and the net result is written
//! with multi-row statements: the revisions, the new text of edited and deleted messages, the
//! new `rev` of the others, the reactions that went and those that came.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::jobs::ChangeJob;
use crate::domain::{Applied, Change, OrderId, Refusal, StoredMessage};
use crate::store::StoreResult;
use crate::store::shared::{ChangePlan, MESSAGE_COLUMNS, MessageRow, ReactionCounts, plan};

/// Most rows one statement carries (at most 9 parameters each; SQLite allows 32,766).
const ROWS_PER_STATEMENT: usize = 500;

/// One reaction as stored: (emoji, user, rev), a message's in `rev` order.
type ReactionEntry = (String, String, i64);

/// (message, emoji, user): the key of a stored reaction.
type ReactionKey = (String, String, String);

/// An earlier state kept by an edit or a delete: (message, rev, body, attachments, by, at).
type RevisionRow = (String, i64, String, String, String, i64);

/// Apply `changes` in arrival order; `take_rev` gives the next `rev` of an order (`None` if the
/// order is unknown). The results are in the changes' order.
pub(super) async fn apply(
    tx: &mut SqliteConnection,
    changes: &[&ChangeJob],
    mut take_rev: impl FnMut(&OrderId) -> Option<i64>,
) -> StoreResult<Vec<Applied>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<&str> = changes
        .iter()
        .map(|j| j.change.message_id().as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut messages = messages_by_id(tx, &ids).await?;
    let found: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| messages.contains_key(*id))
        .collect();
    let mut reactions = reactions_of(tx, &found).await?;
    let before: HashSet<(ReactionKey, i64)> = reactions
        .iter()
        .flat_map(|(m, list)| {
            list.iter()
                .map(|(e, u, rev)| ((m.clone(), e.clone(), u.clone()), *rev))
        })
        .collect();

    let mut revisions: Vec<RevisionRow> = Vec::new();
    // Messages whose text changed (edits, deletes), and those whose `rev` alone did.
    let mut rewritten: HashSet<String> = HashSet::new();
    let mut touched: HashSet<String> = HashSet::new();
    let mut applied = Vec::with_capacity(changes.len());
    for job in changes {
        let id = job.change.message_id().as_str();
        let current = messages
            .get(id)
            .filter(|m| m.order_id == job.order)
            .cloned();
        let list = reactions.entry(id.to_owned()).or_default();
        let counts = match &job.change {
            Change::React { user, emoji, .. } => counts_of(list, user.as_str(), emoji.as_str()),
            _ => ReactionCounts::default(),
        };
        let mut m = match plan(&job.change, current, counts) {
            ChangePlan::Done(a) => {
                applied.push(a);
                continue;
            }
            ChangePlan::Write(m) => m,
        };
        let Some(rev) = take_rev(&job.order) else {
            applied.push(Applied::Refused(Refusal::NotFound));
            continue;
        };
        match &job.change {
            Change::Edit { body, by, at, .. } => {
                revisions.push(revision_of(&m, rev, by.as_str(), *at));
                m.body = body.clone();
                m.edited_at = Some(*at);
                m.updated_at = *at;
                rewritten.insert(m.id.clone());
            }
            Change::Delete { by, at, .. } => {
                revisions.push(revision_of(&m, rev, by.as_str(), *at));
                m.body.clear();
                m.attachment_ids.clear();
                m.image_url = None;
                m.deleted_at = Some(*at);
                m.deleted_by = Some(by.to_string());
                m.updated_at = *at;
                list.clear();
                rewritten.insert(m.id.clone());
            }
            Change::React {
                user, emoji, add, ..
            } => {
                if *add {
                    list.push((emoji.to_string(), user.to_string(), rev));
                } else {
                    list.retain(|(e, u, _)| e != emoji.as_str() || u != user.as_str());
                }
                touched.insert(m.id.clone());
            }
        }
        m.rev = rev;
        messages.insert(m.id.clone(), m.clone());
        applied.push(Applied::Changed(m));
    }

    insert_revisions(tx, &revisions).await?;
    let new_text: Vec<&StoredMessage> =
        rewritten.iter().filter_map(|id| messages.get(id)).collect();
    rewrite_messages(tx, &new_text).await?;
    let touched: Vec<(&str, i64)> = touched
        .iter()
        .filter(|id| !rewritten.contains(*id))
        .filter_map(|id| messages.get(id).map(|m| (id.as_str(), m.rev)))
        .collect();
    set_revs(tx, &touched).await?;

    // The reactions' net change: keys that went, and entries that came (or came back with a
    // new `rev`, which the upsert writes).
    let after: HashSet<(ReactionKey, i64)> = reactions
        .iter()
        .flat_map(|(m, list)| {
            list.iter()
                .map(|(e, u, rev)| ((m.clone(), e.clone(), u.clone()), *rev))
        })
        .collect();
    let after_keys: HashSet<&ReactionKey> = after.iter().map(|(k, _)| k).collect();
    let gone: Vec<&ReactionKey> = before
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !after_keys.contains(k))
        .collect();
    let mut came: Vec<&(ReactionKey, i64)> = after.difference(&before).collect();
    came.sort_by_key(|(_, rev)| *rev);
    delete_reactions(tx, &gone).await?;
    upsert_reactions(tx, &came).await?;
    Ok(applied)
}

/// What `plan` must know of a message's reactions, counted from its entries.
fn counts_of(list: &[ReactionEntry], user: &str, emoji: &str) -> ReactionCounts {
    let distinct: HashSet<&str> = list.iter().map(|(e, _, _)| e.as_str()).collect();
    let count = |f: &dyn Fn(&ReactionEntry) -> bool| list.iter().filter(|r| f(r)).count() as i64;
    ReactionCounts {
        n_distinct: distinct.len() as i64,
        n_of_user: count(&|(_, u, _)| u == user),
        n_has_it: count(&|(e, u, _)| u == user && e == emoji),
        n_anyone: count(&|(e, _, _)| e == emoji),
    }
}

/// The state an edit or a delete replaces, kept under its `rev`.
fn revision_of(m: &StoredMessage, rev: i64, by: &str, at: i64) -> RevisionRow {
    let attachments = serde_json::to_string(&m.attachment_ids).unwrap_or_else(|_| "[]".into());
    (
        m.id.clone(),
        rev,
        m.body.clone(),
        attachments,
        by.to_owned(),
        at,
    )
}

async fn messages_by_id(
    tx: &mut SqliteConnection,
    ids: &[&str],
) -> StoreResult<HashMap<String, StoredMessage>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ("
        ));
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<MessageRow> = q.build_query_as().fetch_all(&mut *tx).await?;
        for row in rows {
            let m = StoredMessage::from(row);
            out.insert(m.id.clone(), m);
        }
    }
    Ok(out)
}

/// The reactions of these messages, each message's in `rev` order.
async fn reactions_of(
    tx: &mut SqliteConnection,
    ids: &[&str],
) -> StoreResult<HashMap<String, Vec<ReactionEntry>>> {
    let mut out: HashMap<String, Vec<ReactionEntry>> = HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT message_id, emoji, user_id, rev FROM reactions WHERE message_id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(") ORDER BY message_id, rev");
        let rows: Vec<(String, String, String, i64)> =
            q.build_query_as().fetch_all(&mut *tx).await?;
        for (m, emoji, user, rev) in rows {
            out.entry(m).or_default().push((emoji, user, rev));
        }
    }
    Ok(out)
}

async fn insert_revisions(tx: &mut SqliteConnection, rows: &[RevisionRow]) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO message_revisions \
             (message_id, rev, body, attachments, edited_by, edited_at) ",
        );
        q.push_values(chunk, |mut row, (id, rev, body, attachments, by, at)| {
            row.push_bind(id.as_str())
                .push_bind(*rev)
                .push_bind(body.as_str())
                .push_bind(attachments.as_str())
                .push_bind(by.as_str())
                .push_bind(*at);
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Edited and deleted messages, in their new state. Only these set `body`, so only these
/// update the search index (its trigger fires on `UPDATE OF body`).
async fn rewrite_messages(tx: &mut SqliteConnection, ms: &[&StoredMessage]) -> StoreResult<()> {
    for chunk in ms.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE messages SET body = v.column2, ");
        q.push(
            "attachments = v.column3, image_url = v.column4, edited_at = v.column5, \
             deleted_at = v.column6, deleted_by = v.column7, updated_at = v.column8, \
             rev = v.column9 FROM (",
        );
        q.push_values(chunk, |mut row, m| {
            let attachments =
                serde_json::to_string(&m.attachment_ids).unwrap_or_else(|_| "[]".into());
            row.push_bind(m.id.as_str())
                .push_bind(m.body.as_str())
                .push_bind(attachments)
                .push_bind(m.image_url.as_deref())
                .push_bind(m.edited_at)
                .push_bind(m.deleted_at)
                .push_bind(m.deleted_by.as_deref())
                .push_bind(m.updated_at)
                .push_bind(m.rev);
        });
        q.push(") AS v WHERE messages.id = v.column1");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Messages whose reactions changed: their new `rev`.
async fn set_revs(tx: &mut SqliteConnection, revs: &[(&str, i64)]) -> StoreResult<()> {
    for chunk in revs.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE messages SET rev = v.column2 FROM (");
        q.push_values(chunk, |mut row, (id, rev)| {
            row.push_bind(*id).push_bind(*rev);
        });
        q.push(") AS v WHERE messages.id = v.column1");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn delete_reactions(tx: &mut SqliteConnection, keys: &[&ReactionKey]) -> StoreResult<()> {
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        // Driven from the list (CROSS JOIN keeps that order): one primary-key lookup per key.
        let mut q = QueryBuilder::<Sqlite>::new(
            "DELETE FROM reactions WHERE rowid IN (SELECT r.rowid FROM (",
        );
        q.push_values(chunk, |mut row, (m, emoji, user)| {
            row.push_bind(m.as_str())
                .push_bind(emoji.as_str())
                .push_bind(user.as_str());
        });
        q.push(
            ") AS k CROSS JOIN reactions r ON r.message_id = k.column1 \
             AND r.emoji = k.column2 AND r.user_id = k.column3)",
        );
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn upsert_reactions(
    tx: &mut SqliteConnection,
    rows: &[&(ReactionKey, i64)],
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO reactions (message_id, emoji, user_id, rev) ");
        q.push_values(chunk, |mut row, ((m, emoji, user), rev)| {
            row.push_bind(m.as_str())
                .push_bind(emoji.as_str())
                .push_bind(user.as_str())
                .push_bind(*rev);
        });
        q.push(" ON CONFLICT (message_id, emoji, user_id) DO UPDATE SET rev = excluded.rev");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}
