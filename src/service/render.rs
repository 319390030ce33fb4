//! How stored messages become wire messages (sender profiles, read receipts, replies,
//! reactions), and the participant list.

use std::collections::HashMap;

use super::ChatService;
use crate::domain::{
    MessageId, Order, PageExtras, ReadMarker, StoredMessage, User, UserId, UserType,
};
use crate::error::{ChatError, ChatResult};
use crate::wire::{self, Sender};

impl ChatService {
    /// Messages as the wire shows them: sender profiles, read state, the messages they reply
    /// to, their reactions and attachments. A fixed number of queries whatever the page's
    /// size: markers, reply targets, reactions, users, attachments.
    pub(super) async fn render(
        &self,
        order: &Order,
        messages: Vec<StoredMessage>,
    ) -> ChatResult<Vec<wire::Message>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let markers = self.store.read_markers(&order.id).await?;
        let extras = self.extras(order, &messages).await?;
        Ok(self
            .render_with(order, messages, &extras, &markers, &[])
            .await?
            .0)
    }

    /// `render` with the page's extras and the order's read markers already read (a join
    /// reuses its page's extras and needs the markers twice); the profiles it read come back
    /// too, with those of `also` (a join's participants), so that one query of users serves
    /// the whole join.
    pub(super) async fn render_with(
        &self,
        order: &Order,
        messages: Vec<StoredMessage>,
        extras: &PageExtras,
        all_markers: &[ReadMarker],
        also: &[UserId],
    ) -> ChatResult<(Vec<wire::Message>, Profiles)> {
        if messages.is_empty() {
            return Ok((Vec::new(), self.users_of(std::iter::empty(), also).await?));
        }
        // Read receipts count the order's participants' markers (not admins').
        let markers: Vec<ReadMarker> = all_markers
            .iter()
            .filter(|m| order.role_of(&m.user_id).is_some())
            .cloned()
            .collect();
        let originals = &extras.originals;
        let users = self
            .users_of(messages.iter().chain(originals.values()), also)
            .await?;
        let files = self.attachments_of(&messages).await?;
        let rendered = messages
            .into_iter()
            .map(|m| {
                let reply = m
                    .reply_to_id
                    .as_ref()
                    .and_then(|id| originals.get(id))
                    .map(|o| wire::ReplyTo::of(o, sender_of(o, &users).name));
                let mine = MessageId::parse(&m.id)
                    .ok()
                    .and_then(|id| extras.reactions.get(&id))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let sender = sender_of(&m, &users);
                let (attachments, image_url) = self.rendered_attachments(&m, &files);
                wire::Message::build(m, sender, &markers)
                    .with(reply, mine)
                    .with_attachments(attachments, image_url)
            })
            .collect();
        Ok((rendered, users))
    }

    /// One message, rendered (after a change: its reply target, reactions and receipts).
    pub(super) async fn render_one(
        &self,
        order: &Order,
        message: StoredMessage,
    ) -> ChatResult<wire::Message> {
        self.render(order, vec![message])
            .await?
            .pop()
            .ok_or_else(|| ChatError::internal("render lost a message"))
    }

    /// The name a message's sender goes by.
    pub(super) async fn sender_name(&self, m: &StoredMessage) -> ChatResult<String> {
        Ok(sender_of(m, &self.users_of(std::iter::once(m), &[]).await?).name)
    }

    /// The directory's profiles of these messages' senders and of `also`, in one query.
    async fn users_of(
        &self,
        messages: impl Iterator<Item = &StoredMessage>,
        also: &[UserId],
    ) -> ChatResult<Profiles> {
        let mut ids: Vec<UserId> = messages
            .filter(|m| m.sender_type != UserType::System)
            .filter_map(|m| UserId::parse(&m.sender_id).ok())
            .chain(also.iter().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        Ok(self
            .store
            .get_users(&ids)
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u))
            .collect())
    }

    /// The order's participants, named from `users` (which holds their profiles).
    pub(super) async fn participants(
        &self,
        order: &Order,
        users: &Profiles,
    ) -> ChatResult<Vec<wire::Participant>> {
        let ids: Vec<UserId> = order.participant_ids().cloned().collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let online = self.realtime.announced_online(&order.id, &id).await;
            let role = order.role_of(&id).unwrap_or(UserType::Customer);
            out.push(wire::Participant {
                name: users
                    .get(id.as_str())
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

/// Users' profiles by id.
pub(super) type Profiles = HashMap<String, User>;

/// A message's sender as the wire shows it: the directory's profile, else the bare id.
fn sender_of(m: &StoredMessage, users: &HashMap<String, User>) -> Sender {
    match users.get(&m.sender_id) {
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
    }
}
