//! Requests that change a message after it was sent: edits, deletes and reactions (§11).
//! Each parses a Socket.IO payload, or a REST body with the ids from the path.

use serde_json::Value;

use super::{message_id_field, message_text, object, order_field};
use crate::domain::{Emoji, MessageId, OrderRef};
use crate::error::{ChatError, ChatResult};

/// The order and the message a request is about: from the path (REST) or the payload.
pub struct Target<'a> {
    pub order: &'a str,
    pub message: &'a str,
}

fn target(v: &Value, what: &str, path: Option<Target<'_>>) -> ChatResult<(OrderRef, MessageId)> {
    match path {
        Some(t) => Ok((
            OrderRef::parse(t.order)?,
            MessageId::parse(t.message)
                .map_err(|_| ChatError::validation("messageId must be a message id"))?,
        )),
        None => {
            let o = object(v, what)?;
            let order = order_field(o)?;
            let message = message_id_field(o, "messageId", true)?
                .ok_or_else(|| ChatError::validation("messageId is required"))?;
            Ok((order, message))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditRequest {
    pub order: OrderRef,
    pub message_id: MessageId,
    /// The new text, by the same rules as a sent message's (may be empty only when the
    /// message has attachments: the service knows).
    pub message: String,
}

impl EditRequest {
    pub fn parse(v: &Value, path: Option<Target<'_>>) -> ChatResult<Self> {
        let (order, message_id) = target(v, "edit-message payload", path)?;
        let o = object(v, "edit-message payload")?;
        if !o.contains_key("message") {
            return Err(ChatError::validation("message is required"));
        }
        Ok(EditRequest {
            order,
            message_id,
            message: message_text(o)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteRequest {
    pub order: OrderRef,
    pub message_id: MessageId,
}

impl DeleteRequest {
    pub fn parse(v: &Value, path: Option<Target<'_>>) -> ChatResult<Self> {
        let (order, message_id) = target(v, "delete-message payload", path)?;
        Ok(DeleteRequest { order, message_id })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReactionRequest {
    pub order: OrderRef,
    pub message_id: MessageId,
    pub emoji: Emoji,
}

impl ReactionRequest {
    /// `path_emoji` is the (already percent-decoded) emoji of a REST path.
    pub fn parse(
        v: &Value,
        path: Option<Target<'_>>,
        path_emoji: Option<&str>,
    ) -> ChatResult<Self> {
        let (order, message_id) = target(v, "reaction payload", path)?;
        let emoji = match path_emoji {
            Some(e) => Emoji::parse(e)?,
            None => match object(v, "reaction payload")?.get("emoji") {
                Some(Value::String(s)) => Emoji::parse(s)?,
                None | Some(Value::Null) => return Err(ChatError::validation("emoji is required")),
                Some(_) => return Err(ChatError::validation("emoji must be a string")),
            },
        };
        Ok(ReactionRequest {
            order,
            message_id,
            emoji,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: ChatResult<impl std::fmt::Debug>) -> &'static str {
        r.expect_err("should be rejected").code()
    }

    #[test]
    fn edits_name_the_message_and_the_text() {
        let e = EditRequest::parse(
            &json!({"orderId": "o", "messageId": "m-1", "message": "  fixed  "}),
            None,
        )
        .unwrap();
        assert_eq!(
            (e.message_id.as_str(), e.message.as_str()),
            ("m-1", "fixed")
        );
        for bad in [
            json!({"orderId": "o", "message": "x"}),
            json!({"orderId": "o", "messageId": 5, "message": "x"}),
            json!({"orderId": "o", "messageId": "m"}),
            json!({"orderId": "o", "messageId": "m", "message": 3}),
            json!({"orderId": "o", "messageId": "a b", "message": "x"}),
            json!({"messageId": "m", "message": "x"}),
            json!("o"),
        ] {
            assert_eq!(code(EditRequest::parse(&bad, None)), "VALIDATION", "{bad}");
        }
        let rest = EditRequest::parse(
            &json!({"message": "x"}),
            Some(Target {
                order: "o",
                message: "m",
            }),
        )
        .unwrap();
        assert_eq!(rest.order.as_str(), "o");
    }

    #[test]
    fn reactions_take_one_emoji() {
        let r = ReactionRequest::parse(
            &json!({"orderId": "o", "messageId": "m", "emoji": "👍"}),
            None,
            None,
        )
        .unwrap();
        assert_eq!(r.emoji.as_str(), "👍");
        for bad in [
            json!({"orderId": "o", "messageId": "m", "emoji": "yes"}),
            json!({"orderId": "o", "messageId": "m", "emoji": ["👍"]}),
            json!({"orderId": "o", "messageId": "m"}),
            json!({"orderId": "o", "emoji": "👍"}),
        ] {
            assert_eq!(
                code(ReactionRequest::parse(&bad, None, None)),
                "VALIDATION",
                "{bad}"
            );
        }
        assert_eq!(
            code(DeleteRequest::parse(&json!({"orderId": "o"}), None)),
            "VALIDATION"
        );
    }
}
