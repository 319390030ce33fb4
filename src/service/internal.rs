//! What the main backend tells us through the internal API: orders (with their customer and
//! agents) and users. Changes of agents or status are written into the chat as system
//! messages and announced with `order-updated`.

use super::{ChatService, OrderUpsert, UserUpsert};
use crate::domain::{NewMessage, Order, ProfileSource, UserId, UserType, now_millis};
use crate::error::{ChatError, ChatResult};

use crate::wire::{self, SYSTEM_SENDER, ServerEvent};

impl ChatService {
    /// `PUT /internal/orders/{id}`: create or update an order and the users it names.
    #[tracing::instrument(level = "debug", skip_all, fields(order = %up.id))]
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
        self.versions.bump().await;
        if let Some(before) = &before {
            self.evict_removed(before, &order).await;
        }

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
            self.publish(&order.id, None, ServerEvent::OrderUpdated(&updated))
                .await;
        }
        Ok(updated)
    }

    /// Users the change took off the order (agents removed, a replaced customer): their
    /// sockets leave the order's room on every node before the change is acknowledged, and are
    /// told so with `removed-from-order`.
    async fn evict_removed(&self, before: &Order, after: &Order) {
        let removed: Vec<&UserId> = before
            .participant_ids()
            .filter(|u| after.role_of(u).is_none())
            .collect();
        let notice = wire::RemovedFromOrder {
            order_id: after.id.to_string(),
        };
        for user in removed {
            self.realtime.evict(&after.id, user).await;
            self.realtime
                .emit_to_user(user, &ServerEvent::RemovedFromOrder(&notice))
                .await;
            // Their presence in the order ends with it.
            if self.realtime.settle_presence(&after.id, user).await == Some(false) {
                let role = before.role_of(user).unwrap_or(UserType::Agent);
                let name = match self.store.get_user(user).await {
                    Ok(Some(u)) => u.name,
                    _ => user.to_string(),
                };
                let gone = super::Caller {
                    user_id: user.clone(),
                    is_admin: false,
                    name,
                    user_type: role,
                    display_image: None,
                    expires_at: None,
                };
                self.announce(&gone, role, &after.id, false).await;
            }
        }
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
                reply_to_id: None,
            })
            .await?;
        self.metrics.messages_stored.inc();
        if inserted.created {
            self.page_sent(&inserted.message).await;
        }
        let message = wire::Message::build(inserted.message, wire::Sender::system(), &[]);
        self.publish(&order.id, None, ServerEvent::NewMessage(&message))
            .await;
        Ok(())
    }

    /// `PUT /internal/users/{id}`: create or update a user; blocking disconnects them.
    #[tracing::instrument(level = "debug", skip_all, fields(user = %up.user.id))]
    pub async fn put_user(&self, up: UserUpsert) -> ChatResult<wire::UserSaved> {
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
        Ok(wire::UserSaved {
            id: user.id.to_string(),
            name: user.name,
            user_type: user.user_type,
            display_image: user.display_image,
            blocked: user.blocked,
        })
    }
}
