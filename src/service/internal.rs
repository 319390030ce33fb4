//! What the main backend tells us through the internal API: orders (with their customer and
//! agents) and users. Changes of agents or status are written into the chat as system
//! messages and announced with `order-updated`.

use serde_json::{Map, Value};

use super::ChatService;
use crate::domain::{
    NewMessage, Order, OrderId, OrderStatus, ProfileSource, User, UserId, UserType, now_millis,
};
use crate::error::{ChatError, ChatResult};
use crate::wire::{self, SYSTEM_SENDER, event};

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

fn text(o: &Map<String, Value>, key: &str, what: &str) -> ChatResult<String> {
    match o.get(key) {
        Some(Value::String(s))
            if !s.trim().is_empty() && s.trim().chars().count() <= MAX_NAME_CHARS =>
        {
            Ok(s.trim().to_owned())
        }
        _ => Err(ChatError::validation(format!(
            "{what} must be a non-empty string of at most {MAX_NAME_CHARS} characters"
        ))),
    }
}

fn optional_text(o: &Map<String, Value>, key: &str) -> ChatResult<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= 2048 => {
            Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
        }
        _ => Err(ChatError::validation(format!(
            "{key} must be a string of at most 2048 characters"
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

impl ChatService {
    /// `PUT /internal/orders/{id}`: create or update an order and the users it names.
    pub async fn put_order(&self, up: OrderUpsert) -> ChatResult<wire::OrderUpdated> {
        let before = self.store.get_order(&up.id).await?;
        for u in std::iter::once(&up.customer).chain(up.agents.iter()) {
            self.store
                .put_user(u, ProfileSource::Directory, None)
                .await?;
        }
        let mut agent_ids: Vec<UserId> = Vec::new();
        for a in &up.agents {
            if !agent_ids.contains(&a.id) && a.id != up.customer.id {
                agent_ids.push(a.id.clone());
            }
        }
        let order = Order {
            id: up.id.clone(),
            number: up
                .number
                .clone()
                .or_else(|| before.as_ref().and_then(|b| b.number.clone())),
            status: up.status.clone(),
            customer_id: up.customer.id.clone(),
            agent_ids,
        };
        self.store.put_order(&order).await?;
        self.orders.clear();

        let updated = wire::OrderUpdated {
            order_id: order.id.to_string(),
            order_number: order.number.clone(),
            status: order.status.to_string(),
            customer_id: order.customer_id.to_string(),
            agent_ids: order.agent_ids.iter().map(ToString::to_string).collect(),
        };
        let Some(before) = before else {
            return Ok(updated);
        };
        let name_of = |id: &UserId| {
            up.agents
                .iter()
                .find(|a| &a.id == id)
                .map(|a| a.name.clone())
        };
        let mut notes = Vec::new();
        for a in order
            .agent_ids
            .iter()
            .filter(|a| !before.agent_ids.contains(a))
        {
            notes.push(format!(
                "Agent {} joined the order",
                name_of(a).unwrap_or_else(|| a.to_string())
            ));
        }
        for a in before
            .agent_ids
            .iter()
            .filter(|a| !order.agent_ids.contains(a))
        {
            let name = self
                .store
                .get_user(a)
                .await?
                .map_or_else(|| a.to_string(), |u| u.name);
            notes.push(format!("Agent {name} left the order"));
        }
        if before.status != order.status {
            notes.push(format!("Order status changed to {}", order.status));
        }
        let changed = !notes.is_empty()
            || before.customer_id != order.customer_id
            || before.number != order.number;
        for note in notes {
            self.system_message(&order, note).await?;
        }
        if changed {
            self.emit(&order.id, None, event::ORDER_UPDATED, &updated)
                .await;
        }
        Ok(updated)
    }

    async fn system_message(&self, order: &Order, text: String) -> ChatResult<()> {
        let inserted = self
            .store
            .insert_message(NewMessage {
                id: uuid::Uuid::now_v7().to_string(),
                order_id: order.id.clone(),
                sender_id: SYSTEM_SENDER.into(),
                sender_type: UserType::System,
                body: text,
                image_url: None,
                attachment_ids: Vec::new(),
                client_message_id: None,
                created_at: now_millis(),
            })
            .await?;
        self.metrics.messages_stored.inc();
        let message = wire::Message::build(inserted.message, wire::Sender::system(), &[]);
        self.emit(&order.id, None, event::NEW_MESSAGE, &message)
            .await;
        Ok(())
    }

    /// `PUT /internal/users/{id}`: create or update a user; blocking disconnects them.
    pub async fn put_user(&self, up: UserUpsert) -> ChatResult<Value> {
        self.store
            .put_user(&up.user, ProfileSource::Directory, up.blocked)
            .await?;
        if up.blocked == Some(true) {
            self.realtime.disconnect_user(&up.user.id).await;
        }
        let user = self
            .store
            .get_user(&up.user.id)
            .await?
            .ok_or_else(|| ChatError::internal("user vanished after upsert"))?;
        Ok(serde_json::json!({
            "id": user.id, "name": user.name, "type": user.user_type,
            "displayImage": user.display_image, "blocked": user.blocked,
        }))
    }
}
