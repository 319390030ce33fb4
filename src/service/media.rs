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
    /// One permit per upload whose body is being received or processed (twice the decoders):
    /// a body is held in memory whole until it is stored, so without this N concurrent uploads
    /// would hold N × `MAX_UPLOAD_BYTES`. Others wait before their first byte is read (TCP holds
    /// the rest of their body), which bounds the memory of uploads whatever their number.
    pub(super) receiving: Arc<Semaphore>,
}

/// How many uploads may be received or processed at once for `decoders` decoders.
pub fn uploads_in_flight(decoders: usize) -> usize {
    decoders.max(1) * 2
}

impl Media {
    pub fn new(blobs: Arc<dyn BlobStore>, links: Links, settings: MediaSettings) -> Self {
        let decoding = Arc::new(Semaphore::new(settings.decoders.max(1)));
        let receiving = Arc::new(Semaphore::new(uploads_in_flight(settings.decoders)));
        Self {
            blobs,
            links,
            settings,
            decoding,
            receiving,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Uploads beyond twice the decoders wait for a turn before their body is read, and get it
    /// as soon as one finishes.
    #[tokio::test]
    async fn uploads_in_flight_are_bounded() {
        let settings = MediaSettings {
            decoders: 1,
            ..MediaSettings::default()
        };
        let media = Media::new(blobs::open("memory:").unwrap(), Links::random(), settings);
        let first = media.receiving.clone().acquire_owned().await.unwrap();
        let _second = media.receiving.clone().acquire_owned().await.unwrap();
        let third = media.receiving.clone().acquire_owned();
        tokio::pin!(third);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut third)
                .await
                .is_err(),
            "a third upload waits while two are in flight"
        );
        drop(first);
        let _third = tokio::time::timeout(Duration::from_secs(1), third)
            .await
            .expect("the turn is given when one finishes")
            .unwrap();
    }
}
