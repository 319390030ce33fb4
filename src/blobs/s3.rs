//! Blobs on S3-compatible object storage (`STORAGE_URL=s3://bucket/prefix`), for several nodes
//! that must all see the same files. Endpoint, region and keys come from the usual `AWS_*`
//! variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_ALLOW_HTTP`), or from the URL's query (`?endpoint=http://127.0.0.1:9000&region=…&
//! allow_http=true`), which wins. Requests are path-style (`endpoint/bucket/key`) unless
//! `virtual_hosted_style_request=true`: what MinIO, moto and most S3-compatible servers expect.
//!
//! TLS is rustls with the `ring` provider (no cmake or C toolchain beyond `cc`).

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

use super::{BlobError, BlobResult, Objects};

pub(super) fn open(url: &str) -> BlobResult<Objects> {
    // reqwest's rustls is built without a provider: install ring's once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (location, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = location.trim_start_matches("s3://");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(BlobError::UnsupportedUrl("s3:// without a bucket".into()));
    }
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let key: AmazonS3ConfigKey = key
            .parse()
            .map_err(|_| BlobError::UnsupportedUrl(format!("unknown S3 option {key}")))?;
        builder = builder.with_config(key, value);
    }
    let s3 = builder.build()?;
    Ok(Objects::new(
        Arc::new(s3),
        prefix,
        format!("s3 bucket {bucket} prefix /{prefix}"),
    ))
}
