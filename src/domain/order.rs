//! Orders: the chat-relevant state of an errand, as the main backend tells it.

use serde::Serialize;
use std::fmt;

use super::{IdError, OrderId, UserId, UserType};

/// An order's status: a lowercase word (`pending`, `shopping`, `delivery`, `completed`, …).
/// The main backend owns the list; the chat only knows which ones close it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OrderStatus(String);

impl OrderStatus {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError(
                "status is required: a lowercase word such as pending, shopping, delivery, completed, cancelled",
            ))
        }
    }

    /// For values read back from our own database, which only ever stored parsed statuses.
    pub(crate) fn from_trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// After these statuses the chat is read-only.
    pub fn is_closed(&self) -> bool {
        matches!(self.0.as_str(), "completed" | "cancelled")
    }
}

impl PartialEq<&str> for OrderStatus {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An order's chat-relevant state.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub number: Option<String>,
    pub status: OrderStatus,
    pub customer_id: UserId,
    pub agent_ids: Vec<UserId>,
}

impl Order {
    /// The participant's role in this order, if they are one.
    pub fn role_of(&self, user: &UserId) -> Option<UserType> {
        if &self.customer_id == user {
            Some(UserType::Customer)
        } else if self.agent_ids.contains(user) {
            Some(UserType::Agent)
        } else {
            None
        }
    }

    pub fn participant_ids(&self) -> impl Iterator<Item = &UserId> {
        std::iter::once(&self.customer_id).chain(self.agent_ids.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_and_cancelled_close_the_chat() {
        assert!(OrderStatus::parse("completed").unwrap().is_closed());
        assert!(OrderStatus::parse("cancelled").unwrap().is_closed());
        assert!(!OrderStatus::parse("shopping").unwrap().is_closed());
        assert!(OrderStatus::parse("Shopping").is_err());
        assert!(OrderStatus::parse("").is_err());
    }
}
