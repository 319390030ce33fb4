//! Attachments (§12): a file a participant uploaded to an order, described by what its bytes
//! are (never by the client's header or the file name), and owned by its uploader and order
//! until a message takes it.

use super::{Millis, OrderId, UserId};

/// What an attachment is, for rendering: a picture, a sound, or a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Image,
    Audio,
    File,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Audio => "audio",
            AttachmentKind::File => "file",
        }
    }

    /// For values read back from our own database.
    pub fn from_trusted(s: &str) -> Self {
        match s {
            "image" => AttachmentKind::Image,
            "audio" => AttachmentKind::Audio,
            _ => AttachmentKind::File,
        }
    }
}

/// A stored variant's bytes: their type, length and digest (the ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub content_type: String,
    pub size: i64,
    /// Hex SHA-256 of the bytes as served.
    pub sha256: String,
}

/// An uploaded file. `message_id` is set once a message takes it; `removed_at` once it may no
/// longer be served (its message was deleted, or it was never attached in time) and its bytes
/// are on their way out.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: String,
    pub order_id: OrderId,
    pub uploader_id: UserId,
    pub message_id: Option<String>,
    /// For display and download, cleaned (`clean_file_name`).
    pub name: String,
    pub kind: AttachmentKind,
    pub original: BlobInfo,
    pub thumbnail: Option<BlobInfo>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub created_at: Millis,
    pub removed_at: Option<Millis>,
}

/// An attachment as a download finds it: with whether the message that holds it is deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAttachment {
    pub attachment: Attachment,
    /// The message named by `message_id` exists (a claim whose send never finished does not).
    pub message_exists: bool,
    pub message_deleted: bool,
}

impl StoredAttachment {
    /// May it be served at all? Not once removed, nor once its message is deleted.
    pub fn servable(&self) -> bool {
        self.attachment.removed_at.is_none() && !self.message_deleted
    }

    /// Attached to a message that exists (else only its uploader sees it).
    pub fn is_attached(&self) -> bool {
        self.attachment.message_id.is_some() && self.message_exists
    }
}

/// Which bytes of an attachment: the file itself or its thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Thumbnail => "thumbnail",
        }
    }

    /// The blob key of this variant of an attachment.
    pub fn key(self, attachment_id: &str) -> String {
        format!("attachments/{attachment_id}/{}", self.as_str())
    }
}

/// Where this server serves attachments; `{id}` and `{id}/thumbnail` follow.
pub const ATTACHMENTS_PATH: &str = "/api/v0/chat/attachments/";

/// The attachment id an `imageUrl` names when it is one of this server's own attachment links
/// (absolute or root-relative, signed or not); `None` for any other URL.
pub fn own_attachment_id(url: &str) -> Option<&str> {
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            &rest[rest.find('/')?..]
        }
        None => url,
    };
    let id = path.strip_prefix(ATTACHMENTS_PATH)?;
    let id = id.split(['/', '?', '#']).next()?;
    (!id.is_empty()).then_some(id)
}

/// The longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// A file name fit for display and `Content-Disposition`: the last path component, without
/// control characters, trimmed, at most 200 characters; `file` when nothing is left.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let name: String = trimmed.chars().take(MAX_FILE_NAME_CHARS).collect();
    if name.is_empty() { "file".into() } else { name }
}

/// How long an upload waits for a message to take it before it is removed (24 h).
pub const UNATTACHED_TTL_MS: Millis = 24 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_links_are_recognised() {
        assert_eq!(
            own_attachment_id("/api/v0/chat/attachments/a1?exp=1&sig=x"),
            Some("a1")
        );
        assert_eq!(
            own_attachment_id("https://chat.example.com/api/v0/chat/attachments/a1/thumbnail"),
            Some("a1")
        );
        assert_eq!(own_attachment_id("https://cdn.example.com/a1.jpg"), None);
        assert_eq!(own_attachment_id("/api/v0/chat/attachments/"), None);
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_file_name("C:\\Users\\ada\\receipt.jpg"),
            "receipt.jpg"
        );
        assert_eq!(clean_file_name("a\u{0}b\nc.pdf"), "abc.pdf");
        assert_eq!(clean_file_name("evil\u{202e}gpj.exe"), "evilgpj.exe");
        assert_eq!(clean_file_name(""), "file");
        assert_eq!(clean_file_name("..."), "file");
        assert_eq!(clean_file_name(&"é".repeat(300)).chars().count(), 200);
    }
}
