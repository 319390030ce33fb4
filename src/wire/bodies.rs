//! The JSON bodies clients send, as the OpenAPI document describes them. They are parsed by
//! hand in `service::requests` and `service::upserts` (so every rejection says what was wrong);
//! these types are that parser's description, checked against it by the schemathesis run of
//! the test command, which sends bodies built from them and expects them accepted.
//! Never constructed: only their schemas are used.
#![allow(dead_code)]

use utoipa::ToSchema;

/// The contract's id rule (§1): 1–64 characters from `[A-Za-z0-9._:@-]`.
pub const ID_PATTERN: &str = r"^[A-Za-z0-9._:@-]{1,64}$";

/// `POST /orders/{orderId}/messages` (the `send-message` payload; the path's order wins).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendBody {
    /// Ignored over REST: the path names the order.
    #[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: Option<String>,
    /// Plain text, at most 4,000 characters after trimming, no control characters but line
    /// breaks and tabs. Empty only when `imageUrl` or `attachmentIds` is given.
    #[schema(
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    message: Option<String>,
    /// An `https:` URL (`http:` on loopback only), or one of this server's attachment links.
    #[schema(max_length = 2048)]
    image_url: Option<String>,
    /// Uploads of the sender's to this order (§12), not yet on a message.
    #[schema(max_items = 10, inline)]
    attachment_ids: Option<Vec<IdString>>,
    /// A retry with the same id stores nothing new and answers the original message.
    #[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    client_message_id: Option<String>,
    /// A message of the same order, not deleted.
    #[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    reply_to_id: Option<String>,
}

/// An id following the contract's rule.
#[derive(ToSchema)]
#[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
pub struct IdString(String);

/// `PATCH …/messages/{messageId}`: the new text (rules of sending).
#[derive(ToSchema)]
pub struct EditBody {
    #[schema(max_length = 4000)]
    message: String,
}

/// `POST /read/{orderId}` and `POST /orders/{orderId}/read`: optional; without `upToSeq`
/// everything is marked read.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkReadBody {
    #[schema(minimum = 0)]
    up_to_seq: Option<i64>,
}

// Names: no control characters (Unicode Cc), and one character that trimming keeps. Rust trims
// Unicode White_Space: JavaScript's `\s` has U+FEFF, which Rust keeps (U+0085, which `\s`
// lacks, is a control character).

/// A person named by an order: created or updated in the directory.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonBody {
    #[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    id: String,
    /// 1–200 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*(?:[^\s\u0000-\u001F\u007F-\u009F]|\uFEFF)[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    name: String,
    #[schema(max_length = 2048, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    display_image: Option<String>,
}

/// `PUT /api/v0/internal/orders/{orderId}`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderBody {
    /// Left out: the stored one is kept. Must not belong to another order.
    #[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_number: Option<String>,
    /// A lowercase word; `completed` and `cancelled` make the chat read-only.
    #[schema(pattern = r"^[a-z_-]{1,32}$")]
    status: String,
    customer: PersonBody,
    #[schema(max_items = 50)]
    agents: Option<Vec<PersonBody>>,
}

/// The roles the directory holds (`system` is the server's own).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryUserType {
    Customer,
    Agent,
    Admin,
}

/// `PUT /api/v0/internal/users/{userId}`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*(?:[^\s\u0000-\u001F\u007F-\u009F]|\uFEFF)[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    name: String,
    #[serde(rename = "type")]
    user_type: DirectoryUserType,
    #[schema(max_length = 2048, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    display_image: Option<String>,
    /// Left out: the stored value is kept. Blocking disconnects the user's sockets.
    blocked: Option<bool>,
}

/// `POST /push/subscriptions`: a browser's `PushSubscription.toJSON()`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionBody {
    /// An `https` URL on a host of `PUSH_ENDPOINT_HOSTS` (the browsers' push services).
    #[schema(min_length = 1, max_length = 1024, pattern = r"^https://")]
    endpoint: String,
    keys: PushKeysBody,
    /// Ignored.
    expiration_time: Option<f64>,
}

#[derive(ToSchema)]
pub struct PushKeysBody {
    /// base64url of the browser's 65-byte uncompressed P-256 public key.
    #[schema(pattern = r"^[A-Za-z0-9_-]{87}=?$")]
    p256dh: String,
    /// base64url of 16 bytes.
    #[schema(pattern = r"^[A-Za-z0-9_-]{22}(==)?$")]
    auth: String,
}

/// `DELETE /push/subscriptions`.
#[derive(ToSchema)]
pub struct PushEndpointBody {
    #[schema(min_length = 1, max_length = 1024)]
    endpoint: String,
}

/// `PUT /orders/{orderId}/notifications`.
#[derive(ToSchema)]
pub struct MuteBody {
    muted: bool,
}
