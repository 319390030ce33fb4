//! What both backends share: the row shapes, the SQL text both databases accept, and the code
//! that binds and fetches it, generic over the sqlx driver. Only what truly differs (connecting,
//! SQLite's read-only recovery, how a message gets its `seq`) lives in a backend's own folder.

use sqlx::{Database, Pool};

/// The columns every message query selects, in `MessageRow`'s order (a macro, so that the SQL
/// texts can `concat!` it into constants); with a table alias, each column prefixed by it.
macro_rules! message_columns {
    () => {
        message_columns!("")
    };
    ($t:literal) => {
        concat!(
            $t,
            "id, ",
            $t,
            "order_id, ",
            $t,
            "seq, ",
            $t,
            "sender_id, ",
            $t,
            "sender_type, ",
            $t,
            "body, ",
            $t,
            "image_url, ",
            $t,
            "attachments, ",
            $t,
            "client_message_id, ",
            $t,
            "created_at, ",
            $t,
            "updated_at, ",
            $t,
            "rev, ",
            $t,
            "reply_to_id, ",
            $t,
            "edited_at, ",
            $t,
            "deleted_at, ",
            $t,
            "deleted_by"
        )
    };
}
pub(crate) use message_columns;

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
pub(crate) use notify::{CLAIM_POSTGRES, CLAIM_SQLITE, LOCK_USER_PUSH_POSTGRES, LeadCell};
pub(crate) use rows::{MESSAGE_COLUMNS, MessageRow, ReactionCounts};
pub(crate) use search::{Matcher, search};

/// A backend's connection pools: `reader` for queries, `writer` for writes. SQLite keeps a
/// single writer connection; on PostgreSQL both are the same pool. The queries both backends
/// run alike are methods of this type (`queries.rs`).
pub(crate) struct Pools<DB: Database> {
    pub(crate) writer: Pool<DB>,
    pub(crate) reader: Pool<DB>,
}
