//! How stored messages become wire messages (sender profiles, read receipts), the participant
//! list.

use std::collections::HashMap;

use super::ChatService;
use crate::domain::{Order, ReadMarker, StoredMessage, User, UserId, UserType};

use crate::error::ChatResult;
use crate::wire::{self, Sender};

impl ChatService {
    /// Markers that count as read receipts: the order's participants' (not admins').
    pub(super) async fn receipt_markers(&self, order: &Order) -> ChatResult<Vec<ReadMarker>> {
        let mut markers = self.store.read_markers(&order.id).await?;
        markers.retain(|m| order.role_of(&m.user_id).is_some());
        Ok(markers)
    }

    /// Messages as the wire shows them: sender profiles and read state filled in.
    pub(super) async fn render(
        &self,
        order: &Order,
        messages: Vec<StoredMessage>,
    ) -> ChatResult<Vec<wire::Message>> {
        let markers = self.receipt_markers(order).await?;
        let mut ids: Vec<UserId> = messages
            .iter()
            .filter(|m| m.sender_type != UserType::System)
            .filter_map(|m| UserId::parse(&m.sender_id).ok())
            .collect();
        ids.sort();
        ids.dedup();
        let users: HashMap<String, User> = self
            .store
            .get_users(&ids)
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u))
            .collect();
        Ok(messages
            .into_iter()
            .map(|m| {
                let sender = match users.get(&m.sender_id) {
                    _ if m.sender_type == UserType::System => Sender::system(),
                    Some(u) => Sender {
                        user_type: m.sender_type,
                        ..Sender::from_user(u)
                    },
                    None => Sender {
                        id: m.sender_id.clone(),
                        name: m.sender_id.clone(),
                        display_image: None,
                        user_type: m.sender_type,
                    },
                };
                wire::Message::build(m, sender, &markers)
            })
            .collect())
    }

    pub(super) async fn participants(&self, order: &Order) -> ChatResult<Vec<wire::Participant>> {
        let ids: Vec<UserId> = order.participant_ids().cloned().collect();
        let users: HashMap<UserId, User> = self
            .store
            .get_users(&ids)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let online = self.realtime.user_sockets_in_order(&order.id, &id).await > 0;
            let role = order.role_of(&id).unwrap_or(UserType::Customer);
            out.push(wire::Participant {
                name: users
                    .get(&id)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| id.to_string()),
                id: id.to_string(),
                user_type: role,
                online,
            });
        }
        Ok(out)
    }
}
