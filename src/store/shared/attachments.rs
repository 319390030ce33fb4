//! Attachments and leases: the SQL both databases accept, and its binding, generic over the
//! driver like `queries.rs`. Claims, removals and leases are single conditional statements
//! (`UPDATE … WHERE … RETURNING`), so two senders, two deletes or two nodes never both win.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};

use super::Pools;
use crate::domain::{
    Attachment, AttachmentKind, BlobInfo, Millis, OrderId, StoredAttachment, UserId,
};
use crate::store::StoreResult;

macro_rules! attachment_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "order_id, ",
            $p,
            "uploader_id, ",
            $p,
            "message_id, ",
            $p,
            "name, ",
            $p,
            "kind, ",
            $p,
            "content_type, ",
            $p,
            "size, ",
            $p,
            "sha256, ",
            $p,
            "thumb_content_type, ",
            $p,
            "thumb_size, ",
            $p,
            "thumb_sha256, ",
            $p,
            "width, ",
            $p,
            "height, ",
            $p,
            "duration_ms, ",
            $p,
            "created_at, ",
            $p,
            "removed_at"
        )
    };
}

const INSERT: &str = concat!(
    "INSERT INTO attachments (",
    attachment_columns!(""),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
);

/// Followed by the ids, each bound, and `)`.
const BY_IDS: &str = concat!(
    "SELECT ",
    attachment_columns!(""),
    " FROM attachments WHERE id IN ("
);

/// With whether the message that took it exists and is deleted (a download's one query).
const WITH_MESSAGE: &str = concat!(
    "SELECT ",
    attachment_columns!("a."),
    ", m.id IS NOT NULL AS message_exists, m.deleted_at IS NOT NULL AS message_deleted
     FROM attachments a LEFT JOIN messages m ON m.id = a.message_id WHERE a.id = $1"
);

/// The claim, in parts between its bound values (the builder numbers the placeholders): only
/// the uploader's own, unremoved, unattached uploads of this order are taken.
const CLAIM: [&str; 4] = [
    "UPDATE attachments SET message_id = ",
    " WHERE order_id = ",
    " AND uploader_id = ",
    " AND message_id IS NULL AND removed_at IS NULL AND id IN (",
];
const CLAIM_END: &str = ") RETURNING id";

const RELEASE: &str = "UPDATE attachments SET message_id = NULL WHERE message_id = $1";

const REMOVE_OF_MESSAGE: &str = concat!(
    "UPDATE attachments SET removed_at = $2 WHERE message_id = $1 AND removed_at IS NULL
     RETURNING ",
    attachment_columns!("")
);

/// Unattached (or claimed by a send that never stored its message) and older than `$1`.
const EXPIRE_UNATTACHED: &str = "UPDATE attachments SET removed_at = $2
     WHERE removed_at IS NULL AND created_at < $1
       AND (message_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = attachments.message_id))
     RETURNING id";

const REMOVED: &str = concat!(
    "SELECT ",
    attachment_columns!(""),
    " FROM attachments WHERE removed_at IS NOT NULL ORDER BY removed_at LIMIT $1"
);

/// Followed by the ids, each bound, and `)`.
const FORGET: &str = "DELETE FROM attachments WHERE removed_at IS NOT NULL AND id IN (";

/// Taken when free or expired: one statement, so exactly one node gets it.
const TAKE_LEASE: &str = "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
     ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until
     WHERE leases.until <= $4 OR leases.holder = excluded.holder
     RETURNING holder";

#[derive(sqlx::FromRow)]
pub(crate) struct AttachmentRow {
    id: String,
    order_id: String,
    uploader_id: String,
    message_id: Option<String>,
    name: String,
    kind: String,
    content_type: String,
    size: i64,
    sha256: String,
    thumb_content_type: Option<String>,
    thumb_size: Option<i64>,
    thumb_sha256: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    duration_ms: Option<i64>,
    created_at: i64,
    removed_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttachmentWithMessageRow {
    #[sqlx(flatten)]
    row: AttachmentRow,
    message_exists: bool,
    message_deleted: bool,
}

impl From<AttachmentRow> for Attachment {
    fn from(r: AttachmentRow) -> Self {
        let thumbnail = match (r.thumb_content_type, r.thumb_size, r.thumb_sha256) {
            (Some(content_type), Some(size), Some(sha256)) => Some(BlobInfo {
                content_type,
                size,
                sha256,
            }),
            _ => None,
        };
        Attachment {
            id: r.id,
            order_id: OrderId::from_trusted(r.order_id),
            uploader_id: UserId::from_trusted(r.uploader_id),
            message_id: r.message_id,
            name: r.name,
            kind: AttachmentKind::from_trusted(&r.kind),
            original: BlobInfo {
                content_type: r.content_type,
                size: r.size,
                sha256: r.sha256,
            },
            thumbnail,
            width: r.width,
            height: r.height,
            duration_ms: r.duration_ms,
            created_at: r.created_at,
            removed_at: r.removed_at,
        }
    }
}

/// Most ids one statement binds.
const IDS_PER_STATEMENT: usize = 1000;

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
    for<'r> AttachmentRow: FromRow<'r, DB::Row>,
    for<'r> AttachmentWithMessageRow: FromRow<'r, DB::Row>,
{
    pub(crate) async fn put_attachment(&self, a: &Attachment) -> StoreResult<()> {
        let thumb = a.thumbnail.as_ref();
        sqlx::query(INSERT)
            .bind(a.id.as_str())
            .bind(a.order_id.as_str())
            .bind(a.uploader_id.as_str())
            .bind(a.message_id.as_deref())
            .bind(a.name.as_str())
            .bind(a.kind.as_str())
            .bind(a.original.content_type.as_str())
            .bind(a.original.size)
            .bind(a.original.sha256.as_str())
            .bind(thumb.map(|t| t.content_type.as_str()))
            .bind(thumb.map(|t| t.size))
            .bind(thumb.map(|t| t.sha256.as_str()))
            .bind(a.width)
            .bind(a.height)
            .bind(a.duration_ms)
            .bind(a.created_at)
            .bind(a.removed_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn attachments_by_id(&self, ids: &[String]) -> StoreResult<Vec<Attachment>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(BY_IDS);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            q.push(")");
            let rows: Vec<AttachmentRow> = q.build_query_as().fetch_all(&self.reader).await?;
            out.extend(rows.into_iter().map(Attachment::from));
        }
        Ok(out)
    }

    pub(crate) async fn attachment(&self, id: &str) -> StoreResult<Option<StoredAttachment>> {
        let row: Option<AttachmentWithMessageRow> = sqlx::query_as(WITH_MESSAGE)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| StoredAttachment {
            attachment: r.row.into(),
            message_exists: r.message_exists,
            message_deleted: r.message_deleted,
        }))
    }

    pub(crate) async fn claim_attachments(
        &self,
        ids: &[String],
        order: &OrderId,
        uploader: &UserId,
        message_id: &str,
    ) -> StoreResult<Vec<String>> {
        let mut claimed = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(CLAIM[0]);
            q.push_bind(message_id)
                .push(CLAIM[1])
                .push_bind(order.as_str())
                .push(CLAIM[2])
                .push_bind(uploader.as_str())
                .push(CLAIM[3]);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            q.push(CLAIM_END);
            let rows: Vec<(String,)> = q.build_query_as().fetch_all(&self.writer).await?;
            claimed.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(claimed)
    }

    pub(crate) async fn release_attachments(&self, message_id: &str) -> StoreResult<()> {
        sqlx::query(RELEASE)
            .bind(message_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn remove_attachments_of(
        &self,
        message_id: &str,
        at: Millis,
    ) -> StoreResult<Vec<Attachment>> {
        let rows: Vec<AttachmentRow> = sqlx::query_as(REMOVE_OF_MESSAGE)
            .bind(message_id)
            .bind(at)
            .fetch_all(&self.writer)
            .await?;
        Ok(rows.into_iter().map(Attachment::from).collect())
    }

    pub(crate) async fn expire_unattached(&self, before: Millis, at: Millis) -> StoreResult<u64> {
        let rows: Vec<(String,)> = sqlx::query_as(EXPIRE_UNATTACHED)
            .bind(before)
            .bind(at)
            .fetch_all(&self.writer)
            .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn removed_attachments(&self, limit: i64) -> StoreResult<Vec<Attachment>> {
        let rows: Vec<AttachmentRow> = sqlx::query_as(REMOVED)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.into_iter().map(Attachment::from).collect())
    }

    pub(crate) async fn forget_attachments(&self, ids: &[String]) -> StoreResult<()> {
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(FORGET);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            q.push(")");
            q.build().execute(&self.writer).await?;
        }
        Ok(())
    }

    pub(crate) async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> StoreResult<bool> {
        let row: Option<(String,)> = sqlx::query_as(TAKE_LEASE)
            .bind(name)
            .bind(holder)
            .bind(until)
            .bind(now)
            .fetch_optional(&self.writer)
            .await?;
        Ok(row.is_some())
    }
}
