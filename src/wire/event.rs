//! Server → client events: one enum, so every emit names its event and payload type together.

use serde::Serialize;

use super::*;

/// An event the server sends, borrowing its payload (one payload serves every recipient).
/// Serialized as the payload alone; `name()` is the Socket.IO event name.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum ServerEvent<'a> {
    ConnectionStatus(&'a ConnectionStatus),
    /// A join's page, already encoded (its ack carries the same JSON).
    PreviousMessages(&'a serde_json::value::RawValue),
    NewMessage(&'a Message),
    MessageUpdated(&'a Message),
    MessageDeleted(&'a Message),
    ReactionUpdated(&'a ReactionUpdated),
    UserTyping(&'a UserTyping),
    UserJoined(&'a Presence),
    UserLeft(&'a Presence),
    MessagesRead(&'a MessagesRead),
    OrderUpdated(&'a OrderUpdated),
    RemovedFromOrder(&'a RemovedFromOrder),
    SessionExpiring(&'a SessionExpiring),
    Error(&'a ErrorEvent),
}

impl ServerEvent<'_> {
    /// A message stored, changed or deleted (what the change stream records).
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            ServerEvent::NewMessage(_)
                | ServerEvent::MessageUpdated(_)
                | ServerEvent::MessageDeleted(_)
                | ServerEvent::ReactionUpdated(_)
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::ConnectionStatus(_) => "connection-status",
            ServerEvent::PreviousMessages(_) => "previous-messages",
            ServerEvent::NewMessage(_) => "new-message",
            ServerEvent::MessageUpdated(_) => "message-updated",
            ServerEvent::MessageDeleted(_) => "message-deleted",
            ServerEvent::ReactionUpdated(_) => "reaction-updated",
            ServerEvent::UserTyping(_) => "user-typing",
            ServerEvent::UserJoined(_) => "user-joined",
            ServerEvent::UserLeft(_) => "user-left",
            ServerEvent::MessagesRead(_) => "messages-read",
            ServerEvent::OrderUpdated(_) => "order-updated",
            ServerEvent::RemovedFromOrder(_) => "removed-from-order",
            ServerEvent::SessionExpiring(_) => "session-expiring",
            ServerEvent::Error(_) => "error",
        }
    }
}
