//! Domain values. Each is built by `parse`, so an invalid id or role cannot exist past the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::ChatError;

/// The contract's id rule: 1–64 characters from `[A-Za-z0-9._:@-]`.
fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'-'))
}

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ChatError> {
                if valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(ChatError::validation(concat!(
                        $what,
                        " must be 1-64 characters of letters, digits and . _ : @ -"
                    )))
                }
            }
            /// For values read back from our own database, which only ever stored parsed ids.
            #[allow(dead_code)] // not every id kind is read back
            pub(crate) fn from_trusted(s: String) -> Self {
                Self(s)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(UserId, "user id");
id_type!(OrderId, "order id");
id_type!(ClientMessageId, "clientMessageId");

/// How a client names an order: its id or its order number (e.g. `B2S-7F3KQ`).
/// Both follow the id rule; the store resolves a number to the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef(String);

impl OrderRef {
    pub fn parse(s: &str) -> Result<Self, ChatError> {
        if valid_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ChatError::validation(
                "orderId must be 1-64 characters of letters, digits and . _ : @ -",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's kind in the directory and in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Customer,
    Agent,
    Admin,
    System,
}

impl UserType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "agent" => Some(Self::Agent),
            "admin" => Some(Self::Admin),
            "system" => Some(Self::System),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Admin => "admin",
            Self::System => "system",
        }
    }
}

/// The order statuses after which the chat is read-only.
pub fn is_closed_status(status: &str) -> bool {
    matches!(status, "completed" | "cancelled")
}

/// Milliseconds since the Unix epoch: how every time is stored.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// UTC RFC 3339 with milliseconds, as the contract wants (`2026-11-24T10:15:02.123Z`).
pub fn rfc3339(ms: Millis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract() {
        assert!(UserId::parse("u-123").is_ok());
        assert!(UserId::parse("ops@busy2shop.com").is_ok());
        assert!(UserId::parse(&"a".repeat(64)).is_ok());
        assert!(UserId::parse(&"a".repeat(65)).is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a b").is_err());
        assert!(OrderRef::parse("x'; DROP TABLE messages;--").is_err());
    }

    #[test]
    fn times_are_rfc3339_millis() {
        assert_eq!(rfc3339(1_795_861_502_123), "2026-11-28T10:25:02.123Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
