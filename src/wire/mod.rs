//! The wire: every JSON shape of the contract, and the one typed list of server events.
//! Built once per event and shared by every recipient and by the REST responses.

mod bodies;
mod event;
mod message;
mod payloads;

pub use bodies::*;
pub use event::ServerEvent;
pub use message::{
    Attachment, AttachmentRef, Message, PREVIEW_CHARS, ReactionCount, ReplyTo, SYSTEM_SENDER,
    Sender,
};
pub use payloads::*;
