//! Read positions.

use super::{Millis, UserId};

/// A user's read position in an order: they have read every message with `seq <= last_read_seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadMarker {
    pub user_id: UserId,
    pub last_read_seq: i64,
    pub read_at: Millis,
}
