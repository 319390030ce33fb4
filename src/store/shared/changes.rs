//! Edits, deletes and reactions, for both backends: what a change finds in its transaction
//! (`read`), what it then does (`plan`, no I/O), and the statements that store it (`write`).
//! Where the `rev` comes from is the backend's: PostgreSQL bumps `orders.last_rev` under the
//! order's row lock, SQLite's writer task counts in memory.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::{MessageRow, ReactionCounts};
use crate::domain::{
    Applied, Change, MAX_EMOJI_PER_MESSAGE, MAX_EMOJI_PER_USER, OrderId, Refusal, StoredMessage,
};
use crate::store::StoreResult;

const MESSAGE_BY_ID: &str = concat!(
    "SELECT ",
    super::message_columns!(),
    " FROM messages WHERE order_id = $1 AND id = $2"
);

/// `COUNT` is never NULL, also over no rows.
const REACTION_COUNTS: &str = "SELECT COUNT(DISTINCT emoji) AS n_distinct,
       COUNT(CASE WHEN user_id = $2 THEN 1 END) AS n_of_user,
       COUNT(CASE WHEN user_id = $2 AND emoji = $3 THEN 1 END) AS n_has_it,
       COUNT(CASE WHEN emoji = $3 THEN 1 END) AS n_anyone
     FROM reactions WHERE message_id = $1";

const INSERT_REVISION: &str = "INSERT INTO message_revisions
       (message_id, rev, body, attachments, edited_by, edited_at) VALUES ($1, $2, $3, $4, $5, $6)";

const EDIT: &str =
    "UPDATE messages SET body = $2, edited_at = $3, updated_at = $3, rev = $4 WHERE id = $1";

const DELETE: &str = "UPDATE messages SET body = '', attachments = '[]', image_url = NULL,
       deleted_at = $2, deleted_by = $3, updated_at = $2, rev = $4 WHERE id = $1";

const DELETE_REACTIONS: &str = "DELETE FROM reactions WHERE message_id = $1";

const ADD_REACTION: &str =
    "INSERT INTO reactions (message_id, emoji, user_id, rev) VALUES ($1, $2, $3, $4)";

const REMOVE_REACTION: &str =
    "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3";

const TOUCH: &str = "UPDATE messages SET rev = $2 WHERE id = $1";

/// What to do with a change, given the message as its transaction sees it.
pub(crate) enum ChangePlan {
    /// Decided without writing (no-op or refusal): no `rev` is taken.
    Done(Applied),
    /// Store it with the next `rev`.
    Write(StoredMessage),
}

/// The rules the store enforces itself, because a concurrent change could break them between
/// the service's read and this transaction: a delete in between, and the reaction limits.
pub(crate) fn plan(
    change: &Change,
    current: Option<StoredMessage>,
    counts: ReactionCounts,
) -> ChangePlan {
    let Some(m) = current else {
        return ChangePlan::Done(Applied::Refused(Refusal::NotFound));
    };
    let done = ChangePlan::Done;
    match change {
        Change::Edit { .. } | Change::React { .. } if m.is_deleted() => {
            done(Applied::Refused(Refusal::Deleted))
        }
        Change::Edit { body, .. } if *body == m.body => done(Applied::Unchanged(m)),
        Change::Delete { .. } if m.is_deleted() => done(Applied::Unchanged(m)),
        Change::React { add: true, .. } if counts.n_has_it > 0 => done(Applied::Unchanged(m)),
        Change::React { add: false, .. } if counts.n_has_it == 0 => done(Applied::Unchanged(m)),
        Change::React { add: true, .. }
            if counts.n_anyone == 0 && counts.n_distinct >= MAX_EMOJI_PER_MESSAGE as i64 =>
        {
            done(Applied::Refused(Refusal::TooManyEmoji))
        }
        Change::React { add: true, .. } if counts.n_of_user >= MAX_EMOJI_PER_USER as i64 => {
            done(Applied::Refused(Refusal::TooManyOfUser))
        }
        _ => ChangePlan::Write(m),
    }
}

/// The message a change is about, and (for reactions) its counts, inside the transaction.
pub(crate) async fn read<DB>(
    conn: &mut DB::Connection,
    order: &OrderId,
    change: &Change,
) -> StoreResult<(Option<StoredMessage>, ReactionCounts)>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> MessageRow: FromRow<'r, DB::Row>,
    for<'r> ReactionCounts: FromRow<'r, DB::Row>,
{
    let id = change.message_id().as_str();
    let row: Option<MessageRow> = sqlx::query_as(MESSAGE_BY_ID)
        .bind(order.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let counts = match change {
        Change::React { user, emoji, .. } if row.is_some() => {
            sqlx::query_as(REACTION_COUNTS)
                .bind(id)
                .bind(user.as_str())
                .bind(emoji.as_str())
                .fetch_one(&mut *conn)
                .await?
        }
        _ => ReactionCounts::default(),
    };
    Ok((row.map(StoredMessage::from), counts))
}

/// Store a planned change with its `rev`; the message as it is now.
pub(crate) async fn write<DB>(
    conn: &mut DB::Connection,
    change: &Change,
    mut m: StoredMessage,
    rev: i64,
) -> StoreResult<StoredMessage>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let id = m.id.clone();
    match change {
        Change::Edit { by, at, .. } | Change::Delete { by, at, .. } => {
            // Keep the state this edit or delete replaces.
            let attachments =
                serde_json::to_string(&m.attachment_ids).unwrap_or_else(|_| "[]".into());
            sqlx::query(INSERT_REVISION)
                .bind(id.as_str())
                .bind(rev)
                .bind(m.body.as_str())
                .bind(attachments.as_str())
                .bind(by.as_str())
                .bind(*at)
                .execute(&mut *conn)
                .await?;
        }
        Change::React { .. } => {}
    }
    match change {
        Change::Edit { body, at, .. } => {
            sqlx::query(EDIT)
                .bind(id.as_str())
                .bind(body.as_str())
                .bind(*at)
                .bind(rev)
                .execute(&mut *conn)
                .await?;
            m.body = body.clone();
            m.edited_at = Some(*at);
            m.updated_at = *at;
        }
        Change::Delete { by, at, .. } => {
            sqlx::query(DELETE)
                .bind(id.as_str())
                .bind(*at)
                .bind(by.as_str())
                .bind(rev)
                .execute(&mut *conn)
                .await?;
            sqlx::query(DELETE_REACTIONS)
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
            m.body.clear();
            m.attachment_ids.clear();
            m.image_url = None;
            m.deleted_at = Some(*at);
            m.deleted_by = Some(by.to_string());
            m.updated_at = *at;
        }
        Change::React {
            user, emoji, add, ..
        } => {
            let q = if *add {
                sqlx::query(ADD_REACTION)
                    .bind(id.as_str())
                    .bind(emoji.as_str())
                    .bind(user.as_str())
                    .bind(rev)
            } else {
                sqlx::query(REMOVE_REACTION)
                    .bind(id.as_str())
                    .bind(emoji.as_str())
                    .bind(user.as_str())
            };
            q.execute(&mut *conn).await?;
            sqlx::query(TOUCH)
                .bind(id.as_str())
                .bind(rev)
                .execute(&mut *conn)
                .await?;
        }
    }
    m.rev = rev;
    Ok(m)
}
