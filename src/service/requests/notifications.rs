//! Push subscriptions and mutes (§14), parsed. The endpoint's host and the keys' bytes are
//! checked by the service (it knows the allow-list).

use serde_json::Value;

use super::object;
use crate::error::{ChatError, ChatResult};

/// A browser's `PushSubscription.toJSON()`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeRequest {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnsubscribeRequest {
    pub endpoint: String,
}

fn string(o: &serde_json::Map<String, Value>, key: &str, name: &str) -> ChatResult<String> {
    match o.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ChatError::validation(format!("{name} is required")))
        }
        Some(_) => Err(ChatError::validation(format!("{name} must be a string"))),
    }
}

impl SubscribeRequest {
    pub fn parse(v: &Value) -> ChatResult<Self> {
        let o = object(v, "The subscription")?;
        let endpoint = string(o, "endpoint", "endpoint")?;
        let keys = match o.get("keys") {
            Some(k @ Value::Object(_)) => object(k, "keys")?,
            None | Some(Value::Null) => return Err(ChatError::validation("keys is required")),
            Some(_) => {
                return Err(ChatError::validation(
                    "keys must be an object with p256dh and auth",
                ));
            }
        };
        Ok(Self {
            endpoint,
            p256dh: string(keys, "p256dh", "keys.p256dh")?,
            auth: string(keys, "auth", "keys.auth")?,
        })
    }
}

impl UnsubscribeRequest {
    pub fn parse(v: &Value) -> ChatResult<Self> {
        let o = object(v, "The body")?;
        let endpoint = string(o, "endpoint", "endpoint")?;
        if endpoint.len() > crate::outbound::hosts::MAX_ENDPOINT_LEN {
            return Err(ChatError::validation(format!(
                "endpoint must be at most {} characters",
                crate::outbound::hosts::MAX_ENDPOINT_LEN
            )));
        }
        Ok(Self { endpoint })
    }
}

/// `{muted: true|false}`.
pub fn parse_muted(v: &Value) -> ChatResult<bool> {
    let o = object(v, "The body")?;
    match o.get("muted") {
        Some(Value::Bool(b)) => Ok(*b),
        None | Some(Value::Null) => Err(ChatError::validation("muted is required")),
        Some(_) => Err(ChatError::validation("muted must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscriptions_name_the_wrong_field() {
        let ok = json!({"endpoint": "https://x", "keys": {"p256dh": "a", "auth": "b"}});
        assert_eq!(SubscribeRequest::parse(&ok).unwrap().auth, "b");
        let msg = |v: Value| SubscribeRequest::parse(&v).unwrap_err().to_string();
        assert!(msg(json!({"keys": {}})).contains("endpoint"));
        assert!(msg(json!({"endpoint": 3, "keys": {}})).contains("endpoint"));
        assert!(msg(json!({"endpoint": "https://x"})).contains("keys"));
        assert!(msg(json!({"endpoint": "https://x", "keys": []})).contains("keys"));
        assert!(
            msg(json!({"endpoint": "https://x", "keys": {"auth": "b"}})).contains("keys.p256dh")
        );
        assert!(
            msg(json!({"endpoint": "https://x", "keys": {"p256dh": "a", "auth": 1}}))
                .contains("keys.auth")
        );
        assert!(msg(json!([])).contains("object"));
    }

    #[test]
    fn unsubscribing_checks_the_endpoint() {
        assert!(UnsubscribeRequest::parse(&json!({"endpoint": "https://x"})).is_ok());
        assert!(UnsubscribeRequest::parse(&json!({"endpoint": ""})).is_err());
        let long = "a".repeat(1025);
        assert!(UnsubscribeRequest::parse(&json!({ "endpoint": long })).is_err());
    }

    #[test]
    fn muted_is_a_boolean() {
        assert!(parse_muted(&json!({"muted": true})).unwrap());
        assert!(!parse_muted(&json!({"muted": false})).unwrap());
        assert!(parse_muted(&json!({"muted": "yes"})).is_err());
        assert!(parse_muted(&json!({})).is_err());
    }
}
