//! The domain: the values and entities of an order chat. Everything else depends on this module;
//! it depends on nothing of ours. Values are built by `parse`, so an invalid id, role or status
//! cannot exist past the edge.

mod attachment;
mod change;
mod emoji;
mod ids;
mod message;
mod notification;
mod order;
mod read;
mod search;
mod time;
mod user;

pub use attachment::{
    ATTACHMENTS_PATH, Attachment, AttachmentKind, BlobInfo, MAX_FILE_NAME_CHARS, StoredAttachment,
    UNATTACHED_TTL_MS, Variant, clean_file_name, own_attachment_id,
};
pub use change::{
    Applied, Change, MAX_EMOJI_PER_MESSAGE, MAX_EMOJI_PER_USER, Reaction, Refusal, Revision,
};
pub use emoji::Emoji;
pub use ids::{ClientMessageId, IdError, MessageId, OrderId, OrderRef, UserId};
pub use message::{
    ChatSummary, History, HistoryWithExtras, Inserted, NewMessage, Page, PageExtras, StoredMessage,
};
pub use notification::{
    Attempt, Channel, Delivery, DueOrder, MAX_PUSH_SUBSCRIPTIONS_PER_USER, NewDelivery,
    NotifyLeads, NotifyState, PushSubscription, ScanRecord, Unnotified,
};
pub use order::{Order, OrderStatus};
pub use read::ReadMarker;
pub use search::{
    MAX_QUERY_CHARS, SearchCursor, SearchHit, SearchQuery, SearchTerms, Snippet, fold, snippet,
};
pub use time::{Millis, now_millis, rfc3339};
pub use user::{ProfileSource, User, UserType};
