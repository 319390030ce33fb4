//! What the chat service needs for attachments: the blob store, the link signer, the upload
//! limits, and the gate that bounds how many images decode at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::links::Links;
use crate::blobs::{self, BlobStore};
use crate::domain::UNATTACHED_TTL_MS;
use crate::media::MediaLimits;

/// The default `MAX_UPLOAD_BYTES`: 10 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// The largest file accepted (`MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: usize,
    /// How long an upload waits for a message before it is removed.
    pub unattached_ttl: Duration,
    /// How often the sweep runs (on one node of a cluster at a time).
    pub sweep_every: Duration,
    /// How many images may decode at once (each can take up to `max_decoded_bytes`).
    pub decoders: usize,
    pub limits: MediaLimits,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            unattached_ttl: Duration::from_millis(UNATTACHED_TTL_MS as u64),
            sweep_every: Duration::from_secs(600),
            decoders: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            limits: MediaLimits::default(),
        }
    }
}

pub struct Media {
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) links: Links,
    pub(super) settings: MediaSettings,
    /// One permit per decode in flight: memory stays bounded whatever the number of uploads.
    pub(super) decoding: Arc<Semaphore>,
}

impl Media {
    pub fn new(blobs: Arc<dyn BlobStore>, links: Links, settings: MediaSettings) -> Self {
        let decoding = Arc::new(Semaphore::new(settings.decoders.max(1)));
        Self {
            blobs,
            links,
            settings,
            decoding,
        }
    }

    /// Blobs in memory and a random link key: a service built without settings (tests).
    pub fn in_memory() -> Self {
        let blobs = blobs::open("memory:").expect("the memory store always opens");
        Self::new(blobs, Links::random(), MediaSettings::default())
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }
}
