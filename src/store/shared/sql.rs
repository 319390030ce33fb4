//! The SQL both databases accept, written once.
//!
//! Placeholders are `$N`: PostgreSQL's own, and SQLite binds `$N` to the N-th argument as well
//! (sqlx reads the number). Booleans are written with `TRUE`/`FALSE`, `OR` and `NOT`, which
//! SQLite (3.23+) evaluates on its stored 0/1 exactly as PostgreSQL does on `BOOLEAN`.
//! Lists of values are bound by `QueryBuilder`, which writes each driver's own placeholders.

// Users.

pub(super) const USER_BY_ID: &str =
    "SELECT id, name, user_type, display_image, blocked FROM users WHERE id = $1";

/// Followed by the ids, each bound, and `)`.
pub(super) const USERS_BY_IDS: &str =
    "SELECT id, name, user_type, display_image, blocked FROM users WHERE id IN (";

/// A claims write only inserts or refreshes a claims-made profile; a directory write wins.
/// `$5` (blocked) is NULL to keep the stored flag.
pub(super) const PUT_USER: &str =
    "INSERT INTO users (id, name, user_type, display_image, blocked, directory, updated_at)
     VALUES ($1, $2, $3, $4, COALESCE($5, FALSE), $6, $7)
     ON CONFLICT(id) DO UPDATE SET
       name = excluded.name, user_type = excluded.user_type,
       display_image = excluded.display_image,
       blocked = COALESCE($5, users.blocked),
       directory = users.directory OR excluded.directory,
       updated_at = excluded.updated_at
     WHERE excluded.directory OR NOT users.directory";

// Orders.

pub(super) const ORDER_BY_ID: &str = "SELECT id, order_number, status FROM orders WHERE id = $1";

/// The order with this id, else the one with this number.
pub(super) const ORDER_BY_ID_OR_NUMBER: &str =
    "SELECT id, order_number, status FROM orders WHERE id = $1 OR order_number = $1
     ORDER BY (id = $1) DESC LIMIT 1";

pub(super) const PARTICIPANTS_OF_ORDER: &str =
    "SELECT order_id, user_id, role FROM order_participants WHERE order_id = $1 ORDER BY position";

/// The unique index on `order_number` refuses a number another order holds.
pub(super) const UPSERT_ORDER: &str = "INSERT INTO orders (id, order_number, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT(id) DO UPDATE SET order_number = COALESCE(excluded.order_number, orders.order_number),
       status = excluded.status, updated_at = excluded.updated_at";

pub(super) const DELETE_PARTICIPANTS: &str = "DELETE FROM order_participants WHERE order_id = $1";

/// Followed by `VALUES` rows of (order_id, user_id, role, position), then `PARTICIPANTS_END`.
pub(super) const INSERT_PARTICIPANTS: &str =
    "INSERT INTO order_participants (order_id, user_id, role, position) ";
pub(super) const PARTICIPANTS_END: &str = " ON CONFLICT(order_id, user_id) DO NOTHING";

/// The user's orders; the next two queries cover the same orders.
pub(super) const ORDERS_OF_USER: &str = "SELECT o.id, o.order_number, o.status FROM orders o
     JOIN order_participants p ON p.order_id = o.id WHERE p.user_id = $1";

/// Every participant of every order of the user, each order's in position order.
pub(super) const PARTICIPANTS_OF_USERS_ORDERS: &str =
    "SELECT q.order_id, q.user_id, q.role FROM order_participants p
     JOIN order_participants q ON q.order_id = p.order_id
     WHERE p.user_id = $1 ORDER BY q.order_id, q.position";

/// The newest message of every order of the user: the one at `orders.last_seq`, which both
/// backends bump in the transaction that stores the message (one index lookup per order).
pub(super) const LAST_MESSAGES_OF_USERS_ORDERS: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE (order_id, seq) IN (
       SELECT o.id, o.last_seq FROM order_participants p JOIN orders o ON o.id = p.order_id
       WHERE p.user_id = $1)"
);

// Messages.

/// The statements that read one kind of page: the page alone (`plain`), and the page with its
/// extras on each database (`page_with_extras!`).
pub(crate) struct PageTexts {
    pub plain: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Which of a page's statements a database runs.
pub(crate) trait Dialect {
    fn page_with_extras(texts: &PageTexts) -> &'static str;
}

impl Dialect for sqlx::Sqlite {
    fn page_with_extras(texts: &PageTexts) -> &'static str {
        texts.sqlite
    }
}

impl Dialect for sqlx::Postgres {
    fn page_with_extras(texts: &PageTexts) -> &'static str {
        texts.postgres
    }
}

/// A page of an order's messages: `$1` the order, `$2` the cursor, `$3` the rows to fetch; the
/// condition on the cursor and the page's order.
macro_rules! page_texts {
    ($cursor:literal, $order:literal) => {
        PageTexts {
            plain: concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE order_id = $1 AND ",
                $cursor,
                " ORDER BY ",
                $order,
                " LIMIT $3"
            ),
            sqlite: page_with_extras!($cursor, $order, original_json_sqlite, reactions_json_sqlite),
            postgres: page_with_extras!(
                $cursor,
                $order,
                original_json_postgres,
                reactions_json_postgres
            ),
        }
    };
}

/// A page and what renders it besides profiles and read state, in one statement, so in one
/// snapshot on both databases: each of the page's rows (`m`) with the order's rev, the message
/// it replies to as a JSON array of its `message_columns!` (NULL when it is a tombstone,
/// replies to nothing, or to a message of another order) and its reactions as a JSON array of
/// `[emoji, user]` in rev order (NULL for a tombstone or a message without reactions). Rows in
/// the page's order.
///
/// JSON, not columns: what costs in a page read is per value (sqlx copies each value of each
/// row out of SQLite), and the original's 16 columns would be 16 values on every row, NULL
/// on most. The EXISTS spares the aggregate (a sorter for its ORDER BY, on SQLite) on the
/// messages without reactions.
macro_rules! page_with_extras {
    ($cursor:literal, $order:literal, $original:ident, $reactions:ident) => {
        concat!(
            "SELECT ",
            message_columns!("m."),
            ", (SELECT last_rev FROM orders WHERE id = $1) AS order_rev",
            ", CASE WHEN o.id IS NOT NULL THEN ",
            $original!(),
            " END AS original",
            ", CASE WHEN m.deleted_at IS NULL",
            " AND EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id)",
            " THEN (SELECT ",
            $reactions!(),
            " FROM reactions r WHERE r.message_id = m.id) END AS reactions",
            " FROM (SELECT ",
            message_columns!(),
            " FROM messages WHERE order_id = $1 AND ",
            $cursor,
            " ORDER BY ",
            $order,
            " LIMIT $3) m",
            " LEFT JOIN messages o ON o.id = m.reply_to_id AND o.order_id = m.order_id",
            " AND m.deleted_at IS NULL",
            " ORDER BY m.",
            $order
        )
    };
}

/// The parts the databases spell differently: the replied-to message (`o`) as a JSON array,
/// and a message's reactions as one, both as text (PostgreSQL's `json`, which sqlx will not
/// read as a string, is cast).
macro_rules! original_json_sqlite {
    () => {
        concat!("json_array(", message_columns!("o."), ")")
    };
}
macro_rules! original_json_postgres {
    () => {
        concat!(
            "CAST(json_build_array(",
            message_columns!("o."),
            ") AS TEXT)"
        )
    };
}
macro_rules! reactions_json_sqlite {
    () => {
        "json_group_array(json_array(r.emoji, r.user_id) ORDER BY r.rev)"
    };
}
macro_rules! reactions_json_postgres {
    () => {
        "CAST(json_agg(json_build_array(r.emoji, r.user_id) ORDER BY r.rev) AS TEXT)"
    };
}

/// `$2` is 0: every seq is above it.
pub(super) const LATEST: PageTexts = page_texts!("seq > $2", "seq DESC");
pub(super) const BEFORE: PageTexts = page_texts!("seq < $2", "seq DESC");
pub(super) const AFTER: PageTexts = page_texts!("seq > $2", "seq ASC");
/// Every message changed after `$2` (its latest change's rev), earliest change first.
pub(super) const CHANGED: PageTexts = page_texts!("rev > $2", "rev ASC");

pub(super) const LAST_REV: &str = "SELECT last_rev FROM orders WHERE id = $1";

/// Followed by the order id (bound), `AND_ID_IN`, the ids (each bound) and `)`.
pub(super) const MESSAGES_OF_ORDER: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = "
);
pub(super) const AND_ID_IN: &str = " AND id IN (";

/// Followed by the message ids, each bound, and `)` + `REACTIONS_END`.
pub(super) const REACTIONS_OF: &str =
    "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN (";
pub(super) const REACTIONS_END: &str = ") ORDER BY message_id, rev";

pub(super) const REVISIONS_OF: &str = "SELECT r.body, r.attachments, r.edited_by, r.edited_at
     FROM message_revisions r JOIN messages m ON m.id = r.message_id
     WHERE m.order_id = $1 AND r.message_id = $2 ORDER BY r.rev";

pub(super) const MESSAGE_AT: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = $1 AND seq = $2"
);

pub(super) const LAST_SEQ: &str = "SELECT last_seq FROM orders WHERE id = $1";

// Read markers.

pub(super) const READ_MARKERS: &str =
    "SELECT user_id, last_read_seq, read_at FROM read_markers WHERE order_id = $1 ORDER BY user_id";

/// The WHERE makes the marker monotonic even with concurrent calls.
pub(super) const ADVANCE_READ_MARKER: &str = "INSERT INTO read_markers (order_id, user_id, last_read_seq, read_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT(order_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, read_at = excluded.read_at
     WHERE excluded.last_read_seq > read_markers.last_read_seq
     RETURNING user_id, last_read_seq, read_at";

pub(super) const UNREAD_BY_ORDER: &str = "SELECT m.order_id, COUNT(*) FROM order_participants p
     JOIN messages m ON m.order_id = p.order_id
     LEFT JOIN read_markers r ON r.order_id = p.order_id AND r.user_id = p.user_id
     WHERE p.user_id = $1 AND m.sender_id <> $1 AND m.seq > COALESCE(r.last_read_seq, 0)
       AND m.deleted_at IS NULL
     GROUP BY m.order_id ORDER BY m.order_id";
