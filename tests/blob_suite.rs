//! The blob port's one suite, on both backends: a local folder and S3 (moto on loopback).

mod common;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use order_chat::blobs::{self, BlobError, BlobStore, read_all};

async fn read_range(store: &dyn BlobStore, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let mut read = store
        .get(key, Some(range.clone()))
        .await
        .expect("range read");
    assert_eq!(read.range, range);
    let mut out = Vec::new();
    while let Some(chunk) = read.stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

async fn round_trip(store: Arc<dyn BlobStore>) {
    store
        .put("a/1/original", Bytes::from_static(b"hello blob"))
        .await
        .unwrap();
    assert_eq!(
        read_all(&*store, "a/1/original").await.unwrap().as_ref(),
        b"hello blob"
    );
    let read = store.get("a/1/original", None).await.unwrap();
    assert_eq!((read.size, read.range), (10, 0..10));
    // Written again: the new bytes.
    store
        .put("a/1/original", Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(
        read_all(&*store, "a/1/original").await.unwrap().as_ref(),
        b"second"
    );
}

async fn ranges(store: Arc<dyn BlobStore>) {
    let data: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024 + 17).collect();
    store.put("big", Bytes::from(data.clone())).await.unwrap();
    assert_eq!(read_range(&*store, "big", 0..10).await, &data[..10]);
    let end = data.len() as u64;
    assert_eq!(
        read_range(&*store, "big", end - 5..end).await,
        &data[data.len() - 5..]
    );
    assert_eq!(
        read_range(&*store, "big", 1000..2_000_000).await,
        &data[1000..2_000_000]
    );
    let whole = read_all(&*store, "big").await.unwrap();
    assert_eq!(whole.len(), data.len());
    assert!(whole.as_ref() == data.as_slice());
}

async fn missing_and_delete(store: Arc<dyn BlobStore>) {
    assert!(matches!(
        store.get("nope", None).await.err(),
        Some(BlobError::NotFound)
    ));
    store.put("gone", Bytes::from_static(b"x")).await.unwrap();
    store.delete("gone").await.unwrap();
    assert!(matches!(
        store.get("gone", None).await.err(),
        Some(BlobError::NotFound)
    ));
    // Deleting again (a sweep repeating after a crash) is no error.
    store.delete("gone").await.unwrap();
    store.delete("never-was").await.unwrap();
}

async fn keys_are_separate(store: Arc<dyn BlobStore>) {
    store
        .put("attachments/x/original", Bytes::from_static(b"o"))
        .await
        .unwrap();
    store
        .put("attachments/x/thumbnail", Bytes::from_static(b"t"))
        .await
        .unwrap();
    store.delete("attachments/x/original").await.unwrap();
    assert_eq!(
        read_all(&*store, "attachments/x/thumbnail")
            .await
            .unwrap()
            .as_ref(),
        b"t"
    );
}

macro_rules! blob_suite {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("file://{}/files", dir.path().display());
                    super::$name(super::blobs::open(&url).unwrap()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = super::common::s3_storage_url().await else { return };
                    super::$name(super::blobs::open(&url).unwrap()).await;
                }
            )*
        }
    };
}

blob_suite!(round_trip, ranges, missing_and_delete, keys_are_separate);

#[test]
fn unknown_schemes_are_refused() {
    assert!(matches!(
        blobs::open("ftp://x").err(),
        Some(BlobError::UnsupportedUrl(_))
    ));
    assert!(matches!(
        blobs::open("s3://").err(),
        Some(BlobError::UnsupportedUrl(_))
    ));
}
