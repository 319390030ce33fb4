//! The search query both backends run: their own full-text match, then the same filters
//! (access inside the query, never deleted messages, newest first, keyset cursor).

use std::sync::LazyLock;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use super::rows::MessageRow;
use crate::domain::{SearchQuery, StoredMessage};
use crate::store::StoreResult;

/// The message columns, each prefixed with `m.` (the full-text table has a `body` too).
static COLUMNS: LazyLock<String> = LazyLock::new(|| {
    super::MESSAGE_COLUMNS
        .split(", ")
        .map(|c| format!("m.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
});

/// How a backend matches: the FROM clause (with `m` for messages), the condition before the
/// bound expression, and after it.
pub(crate) struct Matcher {
    pub from: &'static str,
    pub before: &'static str,
    pub after: &'static str,
}

pub(crate) async fn search<DB>(
    pool: &Pool<DB>,
    matcher: &Matcher,
    expression: String,
    q: &SearchQuery<'_>,
) -> StoreResult<Vec<StoredMessage>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> MessageRow: FromRow<'r, DB::Row>,
{
    let mut b =
        QueryBuilder::<DB>::new(format!("SELECT {} FROM {} WHERE ", *COLUMNS, matcher.from));
    b.push(matcher.before)
        .push_bind(expression)
        .push(matcher.after)
        .push(" AND m.deleted_at IS NULL");
    if let Some(user) = q.participant {
        b.push(" AND m.order_id IN (SELECT order_id FROM order_participants WHERE user_id = ")
            .push_bind(user.as_str())
            .push(")");
    }
    if let Some(order) = q.order {
        b.push(" AND m.order_id = ").push_bind(order.as_str());
    }
    if let Some(c) = q.before {
        b.push(" AND (m.created_at < ")
            .push_bind(c.created_at)
            .push(" OR (m.created_at = ")
            .push_bind(c.created_at)
            .push(" AND m.id < ")
            .push_bind(c.id.as_str())
            .push("))");
    }
    b.push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ")
        .push_bind(i64::from(q.limit));
    let rows: Vec<MessageRow> = b.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(StoredMessage::from).collect())
}
