//! What both backends' group commit share: how a batch of sends is numbered and answered.

use std::collections::HashMap;

use crate::domain::{Inserted, NewMessage, OrderId, StoredMessage};
use crate::store::{StoreError, StoreResult};

/// The idempotency key of a send: (order, sender, clientMessageId).
pub(crate) type ClientKey = (OrderId, String, String);

pub(crate) fn client_key(msg: &NewMessage) -> Option<ClientKey> {
    let cid = msg.client_message_id.as_ref()?;
    Some((
        msg.order_id.clone(),
        msg.sender_id.clone(),
        cid.as_str().to_owned(),
    ))
}

/// The key of a stored message that has a clientMessageId.
pub(crate) fn stored_key(m: &StoredMessage) -> Option<ClientKey> {
    Some((
        m.order_id.clone(),
        m.sender_id.clone(),
        m.client_message_id.clone()?,
    ))
}

/// What became of one message of a batch.
pub(crate) enum Outcome {
    New {
        seq: i64,
        rev: i64,
    },
    Existing(Box<StoredMessage>),
    /// A repeat, within this batch, of the message at that index.
    SameAs(usize),
    Failed(StoreError),
}

/// Decide each message of a batch in arrival order: a repeat of a stored message (`existing`,
/// by key) or of an earlier one of the batch, else new with the next `(seq, rev)` of its order
/// from `next` (None: the order is unknown).
pub(crate) fn number<'a>(
    batch: impl Iterator<Item = &'a NewMessage>,
    existing: &HashMap<ClientKey, StoredMessage>,
    mut next: impl FnMut(&OrderId) -> Option<(i64, i64)>,
) -> Vec<Outcome> {
    let mut first_of: HashMap<ClientKey, usize> = HashMap::new();
    batch
        .enumerate()
        .map(|(i, msg)| {
            let key = client_key(msg);
            if let Some(k) = &key {
                if let Some(m) = existing.get(k) {
                    return Outcome::Existing(Box::new(m.clone()));
                }
                if let Some(&first) = first_of.get(k) {
                    return Outcome::SameAs(first);
                }
            }
            let Some((seq, rev)) = next(&msg.order_id) else {
                return Outcome::Failed(StoreError::MissingOrder(msg.order_id.to_string()));
            };
            if let Some(k) = key {
                first_of.insert(k, i);
            }
            Outcome::New { seq, rev }
        })
        .collect()
}

/// The new messages of a batch with their numbers, for the INSERT.
pub(crate) fn new_rows<'a>(
    batch: impl Iterator<Item = &'a NewMessage>,
    outcomes: &[Outcome],
) -> Vec<(&'a NewMessage, i64, i64)> {
    batch
        .zip(outcomes)
        .filter_map(|(m, o)| match o {
            Outcome::New { seq, rev } => Some((m, *seq, *rev)),
            _ => None,
        })
        .collect()
}

/// Each sender's answer once the batch committed, in the batch's order.
pub(crate) fn answers<'a>(
    batch: impl Iterator<Item = &'a NewMessage>,
    outcomes: Vec<Outcome>,
) -> Vec<StoreResult<Inserted>> {
    let mut results: Vec<StoreResult<Inserted>> = Vec::with_capacity(outcomes.len());
    for (msg, outcome) in batch.zip(outcomes) {
        let result = match outcome {
            Outcome::New { seq, rev } => Ok(Inserted {
                message: msg.clone().stored(seq, rev),
                created: true,
            }),
            Outcome::Existing(m) => Ok(Inserted {
                message: *m,
                created: false,
            }),
            Outcome::SameAs(first) => match &results[first] {
                Ok(original) => Ok(Inserted {
                    message: original.message.clone(),
                    created: false,
                }),
                Err(e) => Err(StoreError::Batch(e.to_string())),
            },
            Outcome::Failed(e) => Err(e),
        };
        results.push(result);
    }
    results
}
