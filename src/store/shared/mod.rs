//! What both backends share: the row shapes, the SQL text both databases accept, and the code
//! that binds and fetches it, generic over the sqlx driver. Only what truly differs (connecting,
//! SQLite's read-only recovery, how a message gets its `seq`) lives in a backend's own folder.

use sqlx::{Database, Pool};

/// The columns every message query selects, in `MessageRow`'s order (a macro, so that the SQL
/// texts can `concat!` it into constants).
macro_rules! message_columns {
    () => {
        "id, order_id, seq, sender_id, sender_type, body, image_url, attachments, \
         client_message_id, created_at, updated_at, rev, reply_to_id, edited_at, deleted_at, \
         deleted_by"
    };
}
pub(crate) use message_columns;

/// `message_columns!` of the page's rows, aliased `m` in a page-with-extras statement.
macro_rules! page_columns {
    () => {
        "m.id, m.order_id, m.seq, m.sender_id, m.sender_type, m.body, m.image_url, \
         m.attachments, m.client_message_id, m.created_at, m.updated_at, m.rev, m.reply_to_id, \
         m.edited_at, m.deleted_at, m.deleted_by"
    };
}

/// The columns of the message a page's row replies to (`o`), named as `OriginalRow`'s fields.
macro_rules! original_columns {
    () => {
        "o.id AS o_id, o.order_id AS o_order_id, o.seq AS o_seq, o.sender_id AS o_sender_id, \
         o.sender_type AS o_sender_type, o.body AS o_body, o.image_url AS o_image_url, \
         o.attachments AS o_attachments, o.client_message_id AS o_client_message_id, \
         o.created_at AS o_created_at, o.updated_at AS o_updated_at, o.rev AS o_rev, \
         o.reply_to_id AS o_reply_to_id, o.edited_at AS o_edited_at, \
         o.deleted_at AS o_deleted_at, o.deleted_by AS o_deleted_by"
    };
}

mod attachments;
mod batch;
mod changes;
mod notify;
mod queries;
mod rows;
mod search;
mod sql;

pub(crate) use batch::{ClientKey, answers, client_key, new_rows, number, stored_key};
pub(crate) use changes::{ChangePlan, plan, read as read_change, write as write_change};
pub(crate) use notify::{CLAIM_POSTGRES, CLAIM_SQLITE, LeadCell};
pub(crate) use rows::{MESSAGE_COLUMNS, MessageRow, ReactionCounts};
pub(crate) use search::{Matcher, search};

/// A backend's connection pools: `reader` for queries, `writer` for writes. SQLite keeps a
/// single writer connection; on PostgreSQL both are the same pool. The queries both backends
/// run alike are methods of this type (`queries.rs`).
pub(crate) struct Pools<DB: Database> {
    pub(crate) writer: Pool<DB>,
    pub(crate) reader: Pool<DB>,
}
