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

/// `$2` is 0: every seq is above it.
pub(super) const HISTORY_LATEST: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3"
);
pub(super) const HISTORY_BEFORE: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
);
pub(super) const HISTORY_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3"
);

/// Every message changed after `$2` (its latest change's rev), earliest change first.
pub(super) const HISTORY_CHANGED: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE order_id = $1 AND rev > $2 ORDER BY rev ASC LIMIT $3"
);

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
