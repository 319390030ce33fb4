//! Changes to a message after it was sent (§11): the change stream's entries besides new
//! messages. Each one takes the order's next `rev` in the transaction that stores it.

use super::{Emoji, MessageId, Millis, StoredMessage, UserId};

/// The most distinct emoji one message may carry, and one user may put on one message.
pub const MAX_EMOJI_PER_MESSAGE: usize = 20;
pub const MAX_EMOJI_PER_USER: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// New text (the earlier text is kept as a revision).
    Edit {
        message_id: MessageId,
        body: String,
        by: UserId,
        at: Millis,
    },
    /// The message becomes a tombstone (text, attachments and reactions go; a revision keeps them).
    Delete {
        message_id: MessageId,
        by: UserId,
        at: Millis,
    },
    /// One user's reaction added or taken back.
    React {
        message_id: MessageId,
        user: UserId,
        emoji: Emoji,
        add: bool,
        at: Millis,
    },
}

impl Change {
    pub fn message_id(&self) -> &MessageId {
        match self {
            Change::Edit { message_id, .. }
            | Change::Delete { message_id, .. }
            | Change::React { message_id, .. } => message_id,
        }
    }
}

/// What became of a change, decided inside its transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Stored: the message in its new state, with its new `rev`.
    Changed(StoredMessage),
    /// Nothing to do (same text, already deleted, reaction already there or not there):
    /// no `rev` taken. The message as it is.
    Unchanged(StoredMessage),
    /// The change cannot be made.
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such message in this order.
    NotFound,
    /// The message was deleted (edits and reactions).
    Deleted,
    /// `MAX_EMOJI_PER_MESSAGE` distinct emoji already.
    TooManyEmoji,
    /// The user already has `MAX_EMOJI_PER_USER` on this message.
    TooManyOfUser,
}

/// The reactions of one message for one emoji: who, in the order they reacted.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub emoji: Emoji,
    pub user_ids: Vec<UserId>,
}

/// An earlier state of a message, kept by an edit or a delete (the audit trail).
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub body: String,
    pub attachment_ids: Vec<String>,
    pub edited_by: String,
    pub edited_at: Millis,
}
