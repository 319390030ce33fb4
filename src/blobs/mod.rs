//! The blob port: where attachment bytes live. One small trait, two real backends behind
//! `object_store` (the well-kept crate of the field): a local folder (`local.rs`, the default,
//! beside the SQLite file) and S3-compatible object storage (`s3.rs`, for several nodes, which
//! must all see the same files). `STORAGE_URL` picks one by its scheme. Both pass the one
//! suite in `tests/blob_suite.rs`.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};

mod local;
mod s3;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    #[error("the requested range is outside the blob")]
    BadRange,
    #[error("unsupported STORAGE_URL (expected file:// or s3://): {0}")]
    UnsupportedUrl(String),
    #[error("blob storage error")]
    Storage(#[source] object_store::Error),
    #[error("cannot prepare the storage folder")]
    Io(#[from] std::io::Error),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound,
            other => BlobError::Storage(other),
        }
    }
}

pub type BlobResult<T> = Result<T, BlobError>;

/// Some bytes of a blob, as a stream, with where they lie in the whole.
pub struct BlobRead {
    /// The whole blob's length.
    pub size: u64,
    /// The bytes this read returns (all of them unless a range was asked).
    pub range: Range<u64>,
    pub stream: BoxStream<'static, BlobResult<Bytes>>,
}

/// What attachments need of a blob store: write once, read (a range of) it, remove it.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn put(&self, key: &str, bytes: Bytes) -> BlobResult<()>;
    /// `range` must lie within the blob (`BadRange` otherwise); `None` reads it all.
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> BlobResult<BlobRead>;
    /// Removing a blob that is not there is no error (sweeps repeat after a crash).
    async fn delete(&self, key: &str) -> BlobResult<()>;
    /// What the logs may say of it (never a secret).
    fn describe(&self) -> String;
}

/// Open the store named by `STORAGE_URL`: `file:///path/to/folder` or `s3://bucket/prefix`
/// (with `AWS_*` variables, or `?endpoint=…&region=…&allow_http=true` in the URL).
pub fn open(url: &str) -> BlobResult<Arc<dyn BlobStore>> {
    if let Some(path) = url.strip_prefix("file://") {
        Ok(Arc::new(local::open(path)?))
    } else if url.starts_with("s3://") {
        Ok(Arc::new(s3::open(url)?))
    } else if url == "memory:" {
        Ok(Arc::new(Objects::new(
            Arc::new(object_store::memory::InMemory::new()),
            "",
            "memory".into(),
        )))
    } else {
        Err(BlobError::UnsupportedUrl(
            url.split(':').next().unwrap_or_default().to_owned(),
        ))
    }
}

/// Any `object_store` backend under a key prefix.
pub(crate) struct Objects {
    inner: Arc<dyn ObjectStore>,
    prefix: String,
    describe: String,
}

impl Objects {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, prefix: &str, describe: String) -> Self {
        let prefix = prefix.trim_matches('/').to_owned();
        Self {
            inner,
            prefix,
            describe,
        }
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }
}

#[async_trait]
impl BlobStore for Objects {
    async fn put(&self, key: &str, bytes: Bytes) -> BlobResult<()> {
        self.inner
            .put(&self.path(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> BlobResult<BlobRead> {
        if range.as_ref().is_some_and(|r| r.start >= r.end) {
            return Err(BlobError::BadRange);
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let got = self.inner.get_opts(&self.path(key), options).await?;
        let size = got.meta.size;
        let range = got.range.clone();
        let stream = got
            .into_stream()
            .map(|r| r.map_err(BlobError::from))
            .boxed();
        Ok(BlobRead {
            size,
            range,
            stream,
        })
    }

    async fn delete(&self, key: &str) -> BlobResult<()> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

/// Read a whole blob into memory (tests, small blobs).
pub async fn read_all(store: &dyn BlobStore, key: &str) -> BlobResult<Bytes> {
    let mut read = store.get(key, None).await?;
    let mut out = Vec::with_capacity(usize::try_from(read.size).unwrap_or(0));
    while let Some(chunk) = read.stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(Bytes::from(out))
}
