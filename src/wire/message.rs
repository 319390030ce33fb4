//! A message as the wire shows it (PROTOCOL.md section 4), with its sender and read state.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{AttachmentKind, Reaction, ReadMarker, StoredMessage, User, UserType, rfc3339};

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    pub id: String,
    pub name: String,
    #[schema(required)]
    pub display_image: Option<String>,
    #[serde(rename = "type")]
    pub user_type: UserType,
}

/// An attachment as every rendering shows it (§12): what it is, and signed links to it.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub kind: AttachmentKind,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// An attachment named by id only (the audit trail's earlier states).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct AttachmentRef {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub order_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub sender_type: UserType,
    pub sender: Sender,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    pub attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    pub is_read: bool,
    pub read_by: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The order's `rev` at this message's latest change (§10).
    pub rev: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub edited_at: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub deleted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionCount>,
}

/// The message a reply answers, as it is now.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyTo {
    pub id: String,
    pub seq: i64,
    pub sender_id: String,
    pub sender_name: String,
    /// The first 140 characters of its current text; none once it is deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    pub deleted: bool,
}

/// The characters of a reply's preview.
pub const PREVIEW_CHARS: usize = 140;

impl ReplyTo {
    pub fn of(original: &StoredMessage, sender_name: String) -> Self {
        ReplyTo {
            id: original.id.clone(),
            seq: original.seq,
            sender_id: original.sender_id.clone(),
            sender_name,
            preview: (!original.is_deleted())
                .then(|| original.body.chars().take(PREVIEW_CHARS).collect()),
            deleted: original.is_deleted(),
        }
    }
}

/// One emoji on a message: how many reacted with it, and who (in the order they did).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionCount {
    pub emoji: String,
    pub count: usize,
    pub user_ids: Vec<String>,
}

impl ReactionCount {
    pub fn list(reactions: &[Reaction]) -> Vec<Self> {
        reactions
            .iter()
            .map(|r| ReactionCount {
                emoji: r.emoji.to_string(),
                count: r.user_ids.len(),
                user_ids: r.user_ids.iter().map(ToString::to_string).collect(),
            })
            .collect()
    }
}

impl Message {
    /// `readers` are the markers that count for read receipts (the order's participants);
    /// the sender's own marker never does.
    pub fn build(m: StoredMessage, sender: Sender, readers: &[ReadMarker]) -> Self {
        let read_by: Vec<String> = readers
            .iter()
            .filter(|r| r.last_read_seq >= m.seq && r.user_id.as_str() != m.sender_id)
            .map(|r| r.user_id.to_string())
            .collect();
        Message {
            id: m.id,
            order_id: m.order_id.to_string(),
            seq: m.seq,
            sender_id: m.sender_id,
            sender_type: m.sender_type,
            sender,
            message: m.body,
            image_url: m.image_url,
            // Filled by the service, which signs the links (`with_attachments`).
            attachments: Vec::new(),
            client_message_id: m.client_message_id,
            is_read: !read_by.is_empty(),
            read_by,
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
            rev: m.rev,
            reply_to: None,
            edited_at: m.edited_at.map(rfc3339),
            deleted: m.deleted_at.is_some(),
            deleted_at: m.deleted_at.map(rfc3339),
            deleted_by: m.deleted_by,
            reactions: Vec::new(),
        }
    }

    /// With its attachment objects and its `imageUrl` as rendered (a tombstone has neither).
    pub fn with_attachments(
        mut self,
        attachments: Vec<Attachment>,
        image_url: Option<String>,
    ) -> Self {
        if !self.deleted {
            self.attachments = attachments;
            self.image_url = image_url;
        }
        self
    }

    /// With the message it answers and its reactions (a tombstone shows neither).
    pub fn with(mut self, reply_to: Option<ReplyTo>, reactions: &[Reaction]) -> Self {
        if !self.deleted {
            self.reply_to = reply_to;
            self.reactions = ReactionCount::list(reactions);
        }
        self
    }
}

impl Sender {
    pub fn from_user(u: &User) -> Self {
        Sender {
            id: u.id.to_string(),
            name: u.name.clone(),
            display_image: u.display_image.clone(),
            user_type: u.user_type,
        }
    }

    pub fn system() -> Self {
        Sender {
            id: SYSTEM_SENDER.into(),
            name: "System".into(),
            display_image: None,
            user_type: UserType::System,
        }
    }
}

/// The sender id of messages the server writes itself.
pub const SYSTEM_SENDER: &str = "system";
