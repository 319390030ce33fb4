//! Client requests, parsed from JSON (a Socket.IO payload or a REST body) into values that are
//! valid by construction. Every rejection is a `VALIDATION` error that says what was wrong.

use serde_json::{Map, Value};

use super::links::Links;
use crate::domain::{ClientMessageId, MessageId, OrderRef, Page, Variant, own_attachment_id};
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
    /// Catch-up by change counter (§10): every message changed after it.
    pub since_rev: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    pub order: OrderRef,
    pub message: String,
    pub image_url: Option<String>,
    pub attachment_ids: Vec<String>,
    pub client_message_id: Option<ClientMessageId>,
    /// The message this one answers (same order, not deleted: the service checks).
    pub reply_to_id: Option<MessageId>,
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

pub(super) fn object<'a>(v: &'a Value, what: &str) -> ChatResult<&'a Map<String, Value>> {
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

pub(super) fn order_field(o: &Map<String, Value>) -> ChatResult<OrderRef> {
    match o.get("orderId") {
        Some(Value::String(s)) => Ok(OrderRef::parse(s)?),
        None | Some(Value::Null) => Err(ChatError::validation("orderId is required")),
        Some(_) => Err(ChatError::validation("orderId must be a string")),
    }
}

/// A JSON number that is an integer. JSON has one number type: `5.0` is the integer 5 (as in
/// JavaScript and JSON Schema), though serde reads it as a float.
fn integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        // Beyond 2^53 a float no longer names one integer.
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
    })
}

/// An optional non-negative integer field (`seq` cursors).
pub fn seq_field(o: &Map<String, Value>, name: &str) -> ChatResult<Option<i64>> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match integer(v) {
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
        let (since, since_rev, limit) = match v {
            Value::Object(o) => {
                let limit = match o.get("limit") {
                    None | Some(Value::Null) => None,
                    Some(l) => Some(integer(l).ok_or_else(|| {
                        ChatError::validation(format!(
                            "limit must be an integer from 1 to {MAX_HISTORY_LIMIT}"
                        ))
                    })?),
                };
                let (since, since_rev) = (seq_field(o, "since")?, seq_field(o, "sinceRev")?);
                if since.is_some() && since_rev.is_some() {
                    return Err(ChatError::validation(
                        "use either since or sinceRev, not both",
                    ));
                }
                (since, since_rev, limit_value(limit)?)
            }
            _ => (None, None, DEFAULT_HISTORY_LIMIT),
        };
        Ok(JoinRequest {
            order,
            since,
            since_rev,
            limit,
        })
    }

    /// The page of history the join returns.
    pub fn page(&self) -> Page {
        match (self.since, self.since_rev) {
            (_, Some(rev)) => Page::Changed {
                rev,
                limit: self.limit,
            },
            (Some(seq), None) => Page::After {
                seq,
                limit: self.limit,
            },
            (None, None) => Page::Latest { limit: self.limit },
        }
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
        let message = message_text(o)?;
        let mut image_url = match o.get("imageUrl") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) if own_attachment_id(s.trim()).is_some() => {
                Some(s.trim().to_owned())
            }
            Some(Value::String(s)) => Some(check_image_url(s.trim())?),
            Some(_) => return Err(ChatError::validation("imageUrl must be a string")),
        };
        let mut attachment_ids = match o.get("attachmentIds") {
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
        // An `imageUrl` that is one of our own attachment links (the compatibility upload's
        // answer) attaches that upload, and is kept as its bare path: every rendering signs
        // it afresh.
        if let Some(url) = image_url.take() {
            image_url = Some(match own_attachment_id(&url) {
                Some(id) => {
                    let id = ClientMessageId::parse(id)
                        .map_err(|_| ChatError::validation("imageUrl names no attachment"))?;
                    if !attachment_ids.iter().any(|a| a == id.as_str()) {
                        attachment_ids.push(id.as_str().to_owned());
                    }
                    Links::path(id.as_str(), Variant::Original)
                }
                None => url,
            });
        }
        if attachment_ids.len() > MAX_ATTACHMENTS {
            return Err(ChatError::validation(format!(
                "at most {MAX_ATTACHMENTS} attachmentIds"
            )));
        }
        if let Some((_, twice)) = attachment_ids
            .iter()
            .enumerate()
            .find(|(i, a)| attachment_ids[..*i].contains(a))
        {
            return Err(ChatError::validation(format!(
                "attachmentIds names {twice} twice"
            )));
        }
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
            reply_to_id: message_id_field(o, "replyToId", false)?,
        })
    }
}

/// The `message` text: trimmed, at most 4,000 characters, no control characters but line
/// breaks and tabs. Absent is empty (a message may be only an image or attachments).
pub(super) fn message_text(o: &Map<String, Value>) -> ChatResult<String> {
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
    Ok(message)
}

/// A message id field (`messageId`, `replyToId`), required or optional.
pub(super) fn message_id_field(
    o: &Map<String, Value>,
    name: &str,
    required: bool,
) -> ChatResult<Option<MessageId>> {
    match o.get(name) {
        None | Some(Value::Null) if required => {
            Err(ChatError::validation(format!("{name} is required")))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => MessageId::parse(s)
            .map(Some)
            .map_err(|_| ChatError::validation(format!("{name} must be a message id"))),
        Some(_) => Err(ChatError::validation(format!("{name} must be a string"))),
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

mod lifecycle;
mod notifications;
mod search;
mod session;

pub use lifecycle::{DeleteRequest, EditRequest, ReactionRequest, Target};
pub use notifications::{SubscribeRequest, UnsubscribeRequest, parse_muted};
pub use search::SearchRequest;
pub use session::RefreshRequest;

#[cfg(test)]
mod tests;
