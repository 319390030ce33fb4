//! The queries both backends run the same way: one SQL text (`sql.rs`), one binding, one
//! fetch, for any sqlx driver that has what the `where` clause lists (SQLite and PostgreSQL
//! both do). The backends' trait impls call these and add their spans.

use std::collections::HashMap;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};

use super::rows::{
    MarkerRow, MessageRow, OnUnique, OrderRow, PageRow, ParticipantRow, ReactionRow, RevisionRow,
    UserRow, group_reactions, order_from_rows, page_of, page_with_extras_of, sort_by_activity,
};
use super::sql::{Dialect, PageTexts};
use super::{Pools, sql};
use crate::domain::{
    ChatSummary, History, HistoryWithExtras, MessageId, Millis, Order, OrderId, Page,
    ProfileSource, Reaction, ReadMarker, Revision, StoredMessage, User, UserId, now_millis,
};
use crate::store::{StoreError, StoreResult};

/// Most values one statement binds as a list: far below SQLite's 32,766 parameters (and
/// PostgreSQL's 65,535), so that a list of any length is a few statements.
const VALUES_PER_STATEMENT: usize = 1000;

/// Participant rows per INSERT (4 parameters each).
const PARTICIPANTS_PER_INSERT: usize = VALUES_PER_STATEMENT / 4;

// The bounds are sqlx's own (what `query_as`, `bind` and `fetch_*` ask of a driver), said once
// for every query below; they hold for `Sqlite` and `Postgres`.
impl<DB> Pools<DB>
where
    DB: Database + Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Option<bool>: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> OrderRow: FromRow<'r, DB::Row>,
    for<'r> ParticipantRow: FromRow<'r, DB::Row>,
    for<'r> MessageRow: FromRow<'r, DB::Row>,
    for<'r> PageRow: FromRow<'r, DB::Row>,
    for<'r> MarkerRow: FromRow<'r, DB::Row>,
    for<'r> ReactionRow: FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
{
    pub(crate) async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    // Users.

    pub(crate) async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(sql::USER_BY_ID)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(User::from))
    }

    /// One `IN (…)` query per `VALUES_PER_STATEMENT` distinct ids; the users come back in the
    /// order of `ids`, unknown ids left out.
    pub(crate) async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let mut distinct: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut found: HashMap<UserId, User> = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(VALUES_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(sql::USERS_BY_IDS);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            let rows: Vec<UserRow> = q.build_query_as().fetch_all(&self.reader).await?;
            found.extend(rows.into_iter().map(User::from).map(|u| (u.id.clone(), u)));
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    /// `sql::PUT_USER`: `blocked: None` keeps the stored flag; claims never overwrite the
    /// directory's profile.
    pub(crate) async fn put_user(
        &self,
        user: &User,
        source: ProfileSource,
        blocked: Option<bool>,
    ) -> StoreResult<()> {
        sqlx::query(sql::PUT_USER)
            .bind(user.id.as_str())
            .bind(user.name.as_str())
            .bind(user.user_type.as_str())
            .bind(user.display_image.as_deref())
            .bind(blocked)
            .bind(source == ProfileSource::Directory)
            .bind(now_millis())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // Orders.

    pub(crate) async fn get_order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        let row: Option<OrderRow> = sqlx::query_as(sql::ORDER_BY_ID)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        self.with_participants(row).await
    }

    pub(crate) async fn find_order(&self, id_or_number: &str) -> StoreResult<Option<Order>> {
        let row: Option<OrderRow> = sqlx::query_as(sql::ORDER_BY_ID_OR_NUMBER)
            .bind(id_or_number)
            .fetch_optional(&self.reader)
            .await?;
        self.with_participants(row).await
    }

    async fn with_participants(&self, row: Option<OrderRow>) -> StoreResult<Option<Order>> {
        let Some(row) = row else { return Ok(None) };
        let parts: Vec<ParticipantRow> = sqlx::query_as(sql::PARTICIPANTS_OF_ORDER)
            .bind(row.id.as_str())
            .fetch_all(&self.reader)
            .await?;
        Ok(Some(order_from_rows(row, parts)))
    }

    /// The order row, then its participants replaced, in one transaction. A number another
    /// order holds fails the first statement (`OrderNumberTaken`) and nothing is written.
    pub(crate) async fn put_order(&self, order: &Order) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(sql::UPSERT_ORDER)
            .bind(order.id.as_str())
            .bind(order.number.as_deref())
            .bind(order.status.as_str())
            .bind(now_millis())
            .execute(&mut *tx)
            .await
            .on_unique(StoreError::OrderNumberTaken)?;
        sqlx::query(sql::DELETE_PARTICIPANTS)
            .bind(order.id.as_str())
            .execute(&mut *tx)
            .await?;
        let roles: Vec<(i64, &UserId, &str)> = std::iter::once((&order.customer_id, "customer"))
            .chain(order.agent_ids.iter().map(|a| (a, "agent")))
            .enumerate()
            .map(|(position, (user, role))| (position as i64, user, role))
            .collect();
        for chunk in roles.chunks(PARTICIPANTS_PER_INSERT) {
            let mut q = QueryBuilder::<DB>::new(sql::INSERT_PARTICIPANTS);
            q.push_values(chunk, |mut row, (position, user, role)| {
                row.push_bind(order.id.as_str())
                    .push_bind(user.as_str())
                    .push_bind(*role)
                    .push_bind(*position);
            });
            q.push(sql::PARTICIPANTS_END);
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Four queries whatever the number of orders: the orders, all their participants, each
    /// one's last message, the unread counts.
    pub(crate) async fn orders_of_user(&self, user: &UserId) -> StoreResult<Vec<ChatSummary>> {
        let rows: Vec<OrderRow> = sqlx::query_as(sql::ORDERS_OF_USER)
            .bind(user.as_str())
            .fetch_all(&self.reader)
            .await?;
        let mut parts: HashMap<String, Vec<ParticipantRow>> = HashMap::new();
        let part_rows: Vec<ParticipantRow> = sqlx::query_as(sql::PARTICIPANTS_OF_USERS_ORDERS)
            .bind(user.as_str())
            .fetch_all(&self.reader)
            .await?;
        for p in part_rows {
            parts.entry(p.order_id.clone()).or_default().push(p);
        }
        let last_rows: Vec<MessageRow> = sqlx::query_as(sql::LAST_MESSAGES_OF_USERS_ORDERS)
            .bind(user.as_str())
            .fetch_all(&self.reader)
            .await?;
        let mut last: HashMap<OrderId, StoredMessage> = last_rows
            .into_iter()
            .map(StoredMessage::from)
            .map(|m| (m.order_id.clone(), m))
            .collect();
        let unread: HashMap<OrderId, i64> = self.unread_by_order(user).await?.into_iter().collect();
        let mut out: Vec<ChatSummary> = rows
            .into_iter()
            .map(|row| {
                let order_parts = parts.remove(&row.id).unwrap_or_default();
                let order = order_from_rows(row, order_parts);
                ChatSummary {
                    last_message: last.remove(&order.id),
                    unread: unread.get(&order.id).copied().unwrap_or(0),
                    order,
                }
            })
            .collect();
        sort_by_activity(&mut out);
        Ok(out)
    }

    // Messages (the insert is each backend's own).

    /// A page of history, and the order's `rev` read BEFORE it: a change committed between
    /// the two reads has a higher rev, so a client that catches up from this rev gets it.
    pub(crate) async fn history(&self, order: &OrderId, page: Page) -> StoreResult<History> {
        let rev: Option<i64> = sqlx::query_scalar(sql::LAST_REV)
            .bind(order.as_str())
            .fetch_optional(&self.reader)
            .await?;
        let (texts, cursor) = page_texts(page);
        let rows: Vec<MessageRow> = sqlx::query_as(texts.plain)
            .bind(order.as_str())
            .bind(cursor)
            .bind(i64::from(page.limit()) + 1)
            .fetch_all(&self.reader)
            .await?;
        Ok(page_of(rows, page, rev.unwrap_or(0)))
    }

    /// `history` with its extras (the originals and reactions `messages_by_id` and `reactions`
    /// would give for the page's live messages) in one statement, which also reads the order's
    /// rev: the rev of exactly the state the page shows. An empty page has no row to carry the
    /// rev: then the rev is read first and the page again (it may have gained messages since;
    /// the rev read before them is the safe one, as in `history`).
    pub(crate) async fn history_with_extras(
        &self,
        order: &OrderId,
        page: Page,
    ) -> StoreResult<HistoryWithExtras> {
        let (texts, cursor) = page_texts(page);
        let fetch = || {
            sqlx::query_as::<DB, PageRow>(DB::page_with_extras(texts))
                .bind(order.as_str())
                .bind(cursor)
                .bind(i64::from(page.limit()) + 1)
                .fetch_all(&self.reader)
        };
        let rows = fetch().await?;
        let (rows, rev) = match rows.first().map(PageRow::order_rev) {
            Some(rev) => (rows, rev),
            None => {
                // No row to carry the rev: read it first, then the page again. Rows found now
                // carry their own snapshot's rev; none means the order has no message in the
                // page's range at a moment after that rev was read.
                let rev = self.last_rev(order).await?;
                let rows = fetch().await?;
                let rev = rows.first().map_or(rev, PageRow::order_rev);
                (rows, rev)
            }
        };
        page_with_extras_of(rows, page, rev)
    }

    /// The order's messages with these ids, one `IN (…)` query per `VALUES_PER_STATEMENT`.
    pub(crate) async fn messages_by_id(
        &self,
        order: &OrderId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<StoredMessage>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(VALUES_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(sql::MESSAGES_OF_ORDER);
            q.push_bind(order.as_str()).push(sql::AND_ID_IN);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            q.push(")");
            let rows: Vec<MessageRow> = q.build_query_as().fetch_all(&self.reader).await?;
            out.extend(rows.into_iter().map(StoredMessage::from));
        }
        Ok(out)
    }

    /// The reactions of these messages, per message (see `group_reactions`).
    pub(crate) async fn reactions(
        &self,
        ids: &[MessageId],
    ) -> StoreResult<HashMap<MessageId, Vec<Reaction>>> {
        let mut rows: Vec<ReactionRow> = Vec::new();
        for chunk in ids.chunks(VALUES_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(sql::REACTIONS_OF);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            q.push(sql::REACTIONS_END);
            rows.extend(
                q.build_query_as::<ReactionRow>()
                    .fetch_all(&self.reader)
                    .await?,
            );
        }
        Ok(group_reactions(rows))
    }

    pub(crate) async fn revisions(
        &self,
        order: &OrderId,
        message: &MessageId,
    ) -> StoreResult<Vec<Revision>> {
        let rows: Vec<RevisionRow> = sqlx::query_as(sql::REVISIONS_OF)
            .bind(order.as_str())
            .bind(message.as_str())
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.into_iter().map(Revision::from).collect())
    }

    pub(crate) async fn message_at(
        &self,
        order: &OrderId,
        seq: i64,
    ) -> StoreResult<Option<StoredMessage>> {
        let row: Option<MessageRow> = sqlx::query_as(sql::MESSAGE_AT)
            .bind(order.as_str())
            .bind(seq)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(Into::into))
    }

    pub(crate) async fn last_seq(&self, order: &OrderId) -> StoreResult<i64> {
        let seq: Option<i64> = sqlx::query_scalar(sql::LAST_SEQ)
            .bind(order.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    pub(crate) async fn last_rev(&self, order: &OrderId) -> StoreResult<i64> {
        let rev: Option<i64> = sqlx::query_scalar(sql::LAST_REV)
            .bind(order.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(rev.unwrap_or(0))
    }

    // Read markers.

    pub(crate) async fn read_markers(&self, order: &OrderId) -> StoreResult<Vec<ReadMarker>> {
        let rows: Vec<MarkerRow> = sqlx::query_as(sql::READ_MARKERS)
            .bind(order.as_str())
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn advance_read_marker(
        &self,
        order: &OrderId,
        user: &UserId,
        seq: i64,
        at: Millis,
    ) -> StoreResult<Option<ReadMarker>> {
        let row: Option<MarkerRow> = sqlx::query_as(sql::ADVANCE_READ_MARKER)
            .bind(order.as_str())
            .bind(user.as_str())
            .bind(seq)
            .bind(at)
            .fetch_optional(&self.writer)
            .await?;
        Ok(row.map(Into::into))
    }

    pub(crate) async fn unread_by_order(&self, user: &UserId) -> StoreResult<Vec<(OrderId, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(sql::UNREAD_BY_ORDER)
            .bind(user.as_str())
            .fetch_all(&self.reader)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(o, n)| (OrderId::from_trusted(o), n))
            .collect())
    }
}

/// The statements of this kind of page, and its cursor (`$2`).
fn page_texts(page: Page) -> (&'static PageTexts, i64) {
    match page {
        Page::Latest { .. } => (&sql::LATEST, 0),
        Page::Before { seq, .. } => (&sql::BEFORE, seq),
        Page::After { seq, .. } => (&sql::AFTER, seq),
        Page::Changed { rev, .. } => (&sql::CHANGED, rev),
    }
}
