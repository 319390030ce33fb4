//! What the message writer is asked to do: store a message, or apply a change to one. Both
//! kinds share its batches, so every write of messages takes the one path.

use tokio::sync::oneshot;

use crate::domain::{Applied, Change, Inserted, NewMessage, OrderId};
use crate::store::{StoreError, StoreResult};

/// One message waiting for the group commit.
pub(crate) struct InsertJob {
    pub(crate) msg: NewMessage,
    pub(crate) reply: oneshot::Sender<StoreResult<Inserted>>,
}

/// One edit, delete or reaction waiting for the group commit.
pub(crate) struct ChangeJob {
    pub(crate) order: OrderId,
    pub(crate) change: Change,
    pub(crate) reply: oneshot::Sender<StoreResult<Applied>>,
}

/// Every write of messages goes through the one writer: sends and changes share its batches.
pub(crate) enum Job {
    Insert(InsertJob),
    Change(ChangeJob),
}

impl Job {
    pub(crate) fn order(&self) -> &OrderId {
        match self {
            Job::Insert(j) => &j.msg.order_id,
            Job::Change(j) => &j.order,
        }
    }

    pub(crate) fn fail(self, e: StoreError) {
        match self {
            Job::Insert(j) => drop(j.reply.send(Err(e))),
            Job::Change(j) => drop(j.reply.send(Err(e))),
        }
    }
}

/// The results of one batch: the inserts' in their order, then the changes' in theirs.
pub(crate) struct Results {
    pub(crate) inserts: Vec<StoreResult<Inserted>>,
    pub(crate) changes: Vec<Applied>,
}

pub(crate) fn lost() -> StoreError {
    StoreError::Batch("the writer lost a result".into())
}
