//! Client requests, parsed from JSON (a Socket.IO payload or a REST body) into values that are
//! valid by construction. Every rejection is a `VALIDATION` error that says what was wrong.

use serde_json::{Map, Value};

use crate::domain::{ClientMessageId, OrderRef};
use crate::error::{ChatError, ChatResult};

/// Message text: at most this many characters after trimming.
pub const MAX_MESSAGE_CHARS: usize = 4000;
pub const MAX_IMAGE_URL_LEN: usize = 2048;
pub const MAX_ATTACHMENTS: usize = 10;
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
pub const MAX_HISTORY_LIMIT: u32 = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    pub order: OrderRef,
    pub since: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    pub order: OrderRef,
    pub message: String,
    pub image_url: Option<String>,
    pub attachment_ids: Vec<String>,
    pub client_message_id: Option<ClientMessageId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypingRequest {
    pub order: OrderRef,
    pub is_typing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MarkReadRequest {
    pub order: OrderRef,
    pub up_to_seq: Option<i64>,
}

fn object<'a>(v: &'a Value, what: &str) -> ChatResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| ChatError::validation(format!("{what} must be a JSON object")))
}

/// `orderId` as a bare string or as the `orderId` field of an object.
fn order_of(v: &Value) -> ChatResult<OrderRef> {
    match v {
        Value::String(s) => Ok(OrderRef::parse(s)?),
        Value::Object(o) => order_field(o),
        _ => Err(ChatError::validation(
            "expected an orderId string or an object with orderId",
        )),
    }
}

fn order_field(o: &Map<String, Value>) -> ChatResult<OrderRef> {
    match o.get("orderId") {
        Some(Value::String(s)) => Ok(OrderRef::parse(s)?),
        None | Some(Value::Null) => Err(ChatError::validation("orderId is required")),
        Some(_) => Err(ChatError::validation("orderId must be a string")),
    }
}

/// An optional non-negative integer field (`seq` cursors).
pub fn seq_field(o: &Map<String, Value>, name: &str) -> ChatResult<Option<i64>> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Some(n)),
            _ => Err(ChatError::validation(format!(
                "{name} must be a non-negative integer"
            ))),
        },
    }
}

/// The history page size: 1–200, 50 when absent.
pub fn limit_value(v: Option<i64>) -> ChatResult<u32> {
    match v {
        None => Ok(DEFAULT_HISTORY_LIMIT),
        Some(n) if (1..=i64::from(MAX_HISTORY_LIMIT)).contains(&n) => Ok(n as u32),
        Some(_) => Err(ChatError::validation(format!(
            "limit must be an integer from 1 to {MAX_HISTORY_LIMIT}"
        ))),
    }
}

impl JoinRequest {
    pub fn parse(v: &Value) -> ChatResult<Self> {
        let order = order_of(v)?;
        let (since, limit) = match v {
            Value::Object(o) => {
                let limit = match o.get("limit") {
                    None | Some(Value::Null) => None,
                    Some(l) => Some(l.as_i64().ok_or_else(|| {
                        ChatError::validation(format!(
                            "limit must be an integer from 1 to {MAX_HISTORY_LIMIT}"
                        ))
                    })?),
                };
                (seq_field(o, "since")?, limit_value(limit)?)
            }
            _ => (None, DEFAULT_HISTORY_LIMIT),
        };
        Ok(JoinRequest {
            order,
            since,
            limit,
        })
    }
}

impl SendRequest {
    /// `path_order` is the order named by a REST path; it wins over a body `orderId`.
    pub fn parse(v: &Value, path_order: Option<&str>) -> ChatResult<Self> {
        let o = object(v, "send-message payload")?;
        let order = match path_order {
            Some(p) => OrderRef::parse(p)?,
            None => order_field(o)?,
        };
        let message = match o.get("message") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(_) => return Err(ChatError::validation("message must be a string")),
        };
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ChatError::validation(format!(
                "message is longer than {MAX_MESSAGE_CHARS} characters"
            )));
        }
        if message
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ChatError::validation("message contains control characters"));
        }
        let image_url = match o.get("imageUrl") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(check_image_url(s.trim())?),
            Some(_) => return Err(ChatError::validation("imageUrl must be a string")),
        };
        let attachment_ids = match o.get("attachmentIds") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > MAX_ATTACHMENTS {
                    return Err(ChatError::validation(format!(
                        "at most {MAX_ATTACHMENTS} attachmentIds"
                    )));
                }
                items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => ClientMessageId::parse(s)
                            .map(|id| id.as_str().to_owned())
                            .map_err(|_| ChatError::validation("attachmentIds must be ids")),
                        _ => Err(ChatError::validation("attachmentIds must be strings")),
                    })
                    .collect::<ChatResult<Vec<_>>>()?
            }
            Some(_) => {
                return Err(ChatError::validation(
                    "attachmentIds must be an array of strings",
                ));
            }
        };
        let client_message_id = match o.get("clientMessageId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(ClientMessageId::parse(s)?),
            Some(_) => return Err(ChatError::validation("clientMessageId must be a string")),
        };
        if message.is_empty() && image_url.is_none() && attachment_ids.is_empty() {
            return Err(ChatError::validation("message must not be empty"));
        }
        Ok(SendRequest {
            order,
            message,
            image_url,
            attachment_ids,
            client_message_id,
        })
    }
}

/// `https:` URLs, or `http:` on loopback (local development), of at most 2,048 characters.
fn check_image_url(url: &str) -> ChatResult<String> {
    let bad = || {
        ChatError::validation(
            "imageUrl must be an https: URL (http: only on localhost) of at most 2048 characters",
        )
    };
    if url.len() > MAX_IMAGE_URL_LEN || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let lower = url.to_ascii_lowercase();
    let (rest, loopback_only) = if let Some(r) = lower.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = lower.strip_prefix("http://") {
        (r, true)
    } else {
        return Err(bad());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(bad());
    }
    if loopback_only && !(host == "localhost" || host == "::1" || host.starts_with("127.")) {
        return Err(bad());
    }
    Ok(url.to_owned())
}

impl TypingRequest {
    pub fn parse(v: &Value) -> ChatResult<Self> {
        let o = object(v, "typing payload")?;
        let order = order_field(o)?;
        let is_typing = match o.get("isTyping") {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => return Err(ChatError::validation("isTyping is required")),
            Some(_) => return Err(ChatError::validation("isTyping must be true or false")),
        };
        Ok(TypingRequest { order, is_typing })
    }
}

impl MarkReadRequest {
    pub fn parse(v: &Value) -> ChatResult<Self> {
        let order = order_of(v)?;
        let up_to_seq = match v {
            Value::Object(o) => seq_field(o, "upToSeq")?,
            _ => None,
        };
        Ok(MarkReadRequest { order, up_to_seq })
    }

    /// A REST body `{upToSeq}` (optional, may be empty) for the order in the path.
    pub fn parse_body(order: &str, body: Option<&Value>) -> ChatResult<Self> {
        let order = OrderRef::parse(order)?;
        let up_to_seq = match body {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => seq_field(o, "upToSeq")?,
            Some(_) => return Err(ChatError::validation("body must be a JSON object")),
        };
        Ok(MarkReadRequest { order, up_to_seq })
    }
}

/// `leave-order-chat`: an orderId string or `{orderId}`.
pub fn parse_leave(v: &Value) -> ChatResult<OrderRef> {
    order_of(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_of(r: ChatResult<impl std::fmt::Debug>) -> &'static str {
        r.expect_err("should be rejected").code()
    }

    #[test]
    fn join_accepts_a_string_or_an_object() {
        let j = JoinRequest::parse(&json!("o-1")).unwrap();
        assert_eq!((j.order.as_str(), j.since, j.limit), ("o-1", None, 50));
        let j = JoinRequest::parse(&json!({"orderId":"o-1","since":4,"limit":10})).unwrap();
        assert_eq!((j.since, j.limit), (Some(4), 10));
        assert_eq!(
            code_of(JoinRequest::parse(&json!({"orderId":"o-1","limit":0}))),
            "VALIDATION"
        );
        assert_eq!(
            code_of(JoinRequest::parse(&json!({"orderId":"o-1","limit":201}))),
            "VALIDATION"
        );
        assert_eq!(
            code_of(JoinRequest::parse(&json!({"orderId":"o-1","since":-1}))),
            "VALIDATION"
        );
        assert_eq!(
            code_of(JoinRequest::parse(&json!({"orderId":["x"]}))),
            "VALIDATION"
        );
        assert_eq!(code_of(JoinRequest::parse(&json!(true))), "VALIDATION");
    }

    #[test]
    fn send_validates_every_field() {
        let ok = SendRequest::parse(
            &json!({"orderId":"o","message":"  hi  ","clientMessageId":"c-1"}),
            None,
        )
        .unwrap();
        assert_eq!(ok.message, "hi");
        assert_eq!(ok.client_message_id.unwrap().as_str(), "c-1");
        let max = "é".repeat(MAX_MESSAGE_CHARS);
        assert!(SendRequest::parse(&json!({"orderId":"o","message":max}), None).is_ok());
        let over = "a".repeat(MAX_MESSAGE_CHARS + 1);
        for bad in [
            json!({"orderId":"o","message":over}),
            json!({"orderId":"o","message":"   "}),
            json!({"orderId":"o"}),
            json!({"orderId":"o","message":5}),
            json!({"orderId":"o","message":"a\u{0}b"}),
            json!({"orderId":"o","message":"x","imageUrl":"javascript:alert(1)"}),
            json!({"orderId":"o","message":"x","imageUrl":"http://example.com/a.png"}),
            json!({"orderId":"o","message":"x","clientMessageId":{"a":1}}),
            json!({"orderId":"o","message":"x","attachmentIds":"a"}),
            json!({"message":"x"}),
            json!("o"),
        ] {
            assert_eq!(
                code_of(SendRequest::parse(&bad, None)),
                "VALIDATION",
                "{bad}"
            );
        }
        let img = SendRequest::parse(
            &json!({"orderId":"o","imageUrl":"https://cdn.example/p.jpg"}),
            None,
        )
        .unwrap();
        assert_eq!(img.message, "");
        assert!(
            SendRequest::parse(
                &json!({"orderId":"o","message":"x","imageUrl":"http://127.0.0.1:8090/a.png"}),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn typing_needs_a_boolean() {
        assert!(
            TypingRequest::parse(&json!({"orderId":"o","isTyping":true}))
                .unwrap()
                .is_typing
        );
        assert_eq!(
            code_of(TypingRequest::parse(
                &json!({"orderId":"o","isTyping":"yes"})
            )),
            "VALIDATION"
        );
        assert_eq!(
            code_of(TypingRequest::parse(&json!({"orderId":"o"}))),
            "VALIDATION"
        );
    }

    #[test]
    fn mark_read_takes_an_optional_seq() {
        assert_eq!(MarkReadRequest::parse(&json!("o")).unwrap().up_to_seq, None);
        assert_eq!(
            MarkReadRequest::parse(&json!({"orderId":"o","upToSeq":3}))
                .unwrap()
                .up_to_seq,
            Some(3)
        );
        assert_eq!(
            code_of(MarkReadRequest::parse(
                &json!({"orderId":"o","upToSeq":"3"})
            )),
            "VALIDATION"
        );
    }
}
