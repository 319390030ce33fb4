//! The internal API's requests: an order (with its customer and agents) and a user, as the
//! main backend sends them, parsed into values that are valid by construction.

use serde_json::{Map, Value};

use crate::domain::{OrderId, OrderStatus, User, UserId, UserType};
use crate::error::{ChatError, ChatResult};

const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct OrderUpsert {
    pub id: OrderId,
    pub number: Option<String>,
    pub status: OrderStatus,
    pub customer: User,
    pub agents: Vec<User>,
}

#[derive(Debug, Clone)]
pub struct UserUpsert {
    pub user: User,
    pub blocked: Option<bool>,
}

/// Names and image links are shown to people and stored as text: no control characters (and
/// PostgreSQL cannot store a NUL in text at all).
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn text(o: &Map<String, Value>, key: &str, what: &str) -> ChatResult<String> {
    match o.get(key) {
        Some(Value::String(s))
            if !s.trim().is_empty()
                && s.trim().chars().count() <= MAX_NAME_CHARS
                && !has_control(s) =>
        {
            Ok(s.trim().to_owned())
        }
        _ => Err(ChatError::validation(format!(
            "{what} must be a non-empty string of at most {MAX_NAME_CHARS} characters, \
             without control characters"
        ))),
    }
}

fn optional_text(o: &Map<String, Value>, key: &str) -> ChatResult<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= 2048 && !has_control(s) => {
            Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
        }
        _ => Err(ChatError::validation(format!(
            "{key} must be a string of at most 2048 characters, without control characters"
        ))),
    }
}

fn person(v: &Value, user_type: UserType, what: &str) -> ChatResult<User> {
    let o = v.as_object().ok_or_else(|| {
        ChatError::validation(format!("{what} must be an object with id and name"))
    })?;
    let id = match o.get("id") {
        Some(Value::String(s)) => UserId::parse(s)?,
        _ => return Err(ChatError::validation(format!("{what}.id is required"))),
    };
    Ok(User {
        id,
        name: text(o, "name", &format!("{what}.name"))?,
        user_type,
        display_image: optional_text(o, "displayImage")?,
        blocked: false,
    })
}

impl OrderUpsert {
    pub fn parse(order_id: &str, body: &Value) -> ChatResult<Self> {
        let id = OrderId::parse(order_id)?;
        let o = body
            .as_object()
            .ok_or_else(|| ChatError::validation("body must be a JSON object"))?;
        let number = match o.get("orderNumber") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(crate::domain::OrderRef::parse(s)?.as_str().to_owned()),
            Some(_) => return Err(ChatError::validation("orderNumber must be a string")),
        };
        let status = match o.get("status") {
            Some(Value::String(s)) => OrderStatus::parse(s)?,
            _ => OrderStatus::parse("")?,
        };
        let customer = person(
            o.get("customer").unwrap_or(&Value::Null),
            UserType::Customer,
            "customer",
        )?;
        let agents = match o.get("agents") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() <= 50 => items
                .iter()
                .map(|a| person(a, UserType::Agent, "agents[]"))
                .collect::<ChatResult<Vec<_>>>()?,
            Some(_) => {
                return Err(ChatError::validation(
                    "agents must be an array of at most 50 agents",
                ));
            }
        };
        Ok(OrderUpsert {
            id,
            number,
            status,
            customer,
            agents,
        })
    }
}

impl UserUpsert {
    pub fn parse(user_id: &str, body: &Value) -> ChatResult<Self> {
        let id = UserId::parse(user_id)?;
        let o = body
            .as_object()
            .ok_or_else(|| ChatError::validation("body must be a JSON object"))?;
        let user_type = match o
            .get("type")
            .and_then(Value::as_str)
            .and_then(UserType::parse)
        {
            Some(t @ (UserType::Customer | UserType::Agent | UserType::Admin)) => t,
            _ => {
                return Err(ChatError::validation(
                    "type must be customer, agent or admin",
                ));
            }
        };
        let blocked = match o.get("blocked") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(ChatError::validation("blocked must be true or false")),
        };
        Ok(UserUpsert {
            user: User {
                id,
                name: text(o, "name", "name")?,
                user_type,
                display_image: optional_text(o, "displayImage")?,
                blocked: false,
            },
            blocked,
        })
    }
}
