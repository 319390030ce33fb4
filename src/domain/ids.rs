//! Identifiers. Each is built by `parse`, so an invalid id cannot exist past the edge.

use serde::Serialize;
use std::fmt;

/// A value that breaks its rule; the text says which rule, for the person who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub &'static str);

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
            pub fn parse(s: &str) -> Result<Self, IdError> {
                if valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError(concat!(
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
id_type!(MessageId, "messageId");

/// How a client names an order: its id or its order number (e.g. `B2S-7F3KQ`).
/// Both follow the id rule; the store resolves a number to the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef(String);

impl From<&OrderId> for OrderRef {
    fn from(id: &OrderId) -> Self {
        OrderRef(id.as_str().to_owned())
    }
}

impl OrderRef {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if valid_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError(
                "orderId must be 1-64 characters of letters, digits and . _ : @ -",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
}
