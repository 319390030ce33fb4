//! `refresh-token {token}`: a new token for a live socket (§15).

use serde_json::Value;

use crate::error::{ChatError, ChatResult};

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRequest {
    pub token: String,
}

impl RefreshRequest {
    pub fn parse(v: &Value) -> ChatResult<Self> {
        let token = match v {
            Value::String(s) => s,
            Value::Object(o) => match o.get("token") {
                Some(Value::String(s)) => s,
                None | Some(Value::Null) => return Err(ChatError::validation("token is required")),
                Some(_) => return Err(ChatError::validation("token must be a string")),
            },
            _ => return Err(ChatError::validation("expected {token}")),
        };
        if token.len() > 8192 {
            return Err(ChatError::validation("token is longer than 8192 bytes"));
        }
        Ok(RefreshRequest {
            token: token.clone(),
        })
    }
}
