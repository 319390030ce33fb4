//! Notifications (§14): who is told about new messages, and the deliveries that tell them.
//!
//! The decision is made from the database alone (messages, read markers, marks, mutes), so it
//! survives a crash: an order with something to decide carries `notify_at`, written in the
//! transaction that stored the message. Each decision writes its deliveries (one webhook event,
//! one push per subscription) as outbox rows with a stable id before any attempt.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::{Millis, OrderId, UserId};

/// At most this many push subscriptions per user; an extra one replaces the oldest.
pub const MAX_PUSH_SUBSCRIPTIONS_PER_USER: usize = 10;

/// When the store should mark an order for the notifier, relative to a change's time:
/// `on_message` for a new message (`NOTIFY_DELAY`, or 0 with a webhook for `message.*`),
/// `on_change` for an edit, delete or reaction (0 with such a webhook, else never).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyLeads {
    pub on_message: Option<Millis>,
    pub on_change: Option<Millis>,
}

/// An order whose `notify_at` has come, and its `rev` when it was read: the scan's result is
/// stored only as final if nothing changed in the order meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueOrder {
    pub order_id: OrderId,
    pub last_seq: i64,
    pub last_rev: i64,
}

/// What the notifier knows of an order's participants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyState {
    /// The order's change stream up to here has become `message.*` events.
    pub hook_rev: i64,
    /// Messages up to this seq were announced (`message.created`) already.
    pub hook_seq: i64,
    /// The highest seq each user was decided about.
    pub marks: HashMap<UserId, i64>,
    /// Each user's read marker.
    pub reads: HashMap<UserId, i64>,
    pub muted: HashSet<UserId>,
}

/// The messages from others a user has neither read nor been decided about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unnotified {
    pub count: i64,
    /// When the oldest of them was sent.
    pub first_at: Millis,
    /// The newest one's seq.
    pub last_seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Webhook,
    Push,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Push => "push",
        }
    }

    pub(crate) fn from_trusted(s: &str) -> Self {
        if s == "push" {
            Channel::Push
        } else {
            Channel::Webhook
        }
    }
}

/// A delivery to record: a webhook event, or one push to the subscription at `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub channel: Channel,
    pub target: Option<String>,
    pub event_type: String,
    pub payload: String,
    pub created_at: Millis,
}

impl NewDelivery {
    /// The stable id of a delivery about `parts` (`msg_` + 32 hex, a valid `webhook-id`): the
    /// same decision made twice (two nodes, a retried scan) gives the same id, stored once.
    pub fn id_of(parts: &[&str]) -> String {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        let digest = h.finalize();
        let mut id = String::with_capacity(36);
        id.push_str("msg_");
        for b in &digest[..16] {
            id.push_str(&format!("{b:02x}"));
        }
        id
    }
}

/// A delivery claimed by this node for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub channel: Channel,
    pub target: Option<String>,
    pub event_type: String,
    pub payload: String,
    pub created_at: Millis,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Try again at this time.
    Retry {
        at: Millis,
        error: String,
    },
    /// Given up.
    Dead {
        error: String,
    },
}

/// What one scan of an order decided, stored in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanRecord {
    /// The order's rev when the scan read it.
    pub seen_rev: i64,
    pub hook_rev: i64,
    pub hook_seq: i64,
    /// Users now decided up to this seq.
    pub marks: Vec<(UserId, i64)>,
    pub deliveries: Vec<NewDelivery>,
    /// When to look again (a message not yet due); `None`: nothing pending.
    pub next_at: Option<Millis>,
    /// The scan's time: if the order changed meanwhile, it is looked at again from now.
    pub now: Millis,
}

/// A browser's Web Push subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    pub endpoint: String,
    pub user_id: UserId,
    /// The browser's P-256 public key and auth secret, base64url as the browser gave them.
    pub p256dh: String,
    pub auth: String,
    pub created_at: Millis,
}
