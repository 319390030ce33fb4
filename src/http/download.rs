//! The response of a download: the true type, `nosniff`, a sandboxing CSP, the disposition
//! with the file name, an ETag (304 on a match), `Cache-Control: private`, and byte ranges
//! (206, or 416 for a range outside the file).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::TryStreamExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::domain::{AttachmentKind, Variant};
use crate::error::ChatError;
use crate::service::{ChatService, Servable};

/// The headers every answer of a download route carries, the errors' included.
pub(super) fn protect(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ranged {
    Whole,
    Part(std::ops::Range<u64>),
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-n`); several ranges or another unit get the whole file,
/// as RFC 9110 allows.
pub(super) fn parse_range(value: &str, size: u64) -> Ranged {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => start..(end + 1).min(size),
        (Ok(_), Ok(_)) => return Ranged::Whole,
        (Ok(start), Err(_)) if b.is_empty() => start..size,
        (Err(_), Ok(n)) if a.is_empty() => size.saturating_sub(n)..size,
        _ => return Ranged::Whole,
    };
    if range.start >= size || range.is_empty() {
        Ranged::Unsatisfiable
    } else {
        Ranged::Part(range)
    }
}

/// `inline` for images, audio and PDF (the browser shows them, sandboxed); `attachment`
/// otherwise. The name twice: a plain ASCII fallback and the exact UTF-8 one (RFC 6266).
fn disposition(s: &Servable) -> String {
    let a = &s.attachment;
    let inline = matches!(a.kind, AttachmentKind::Image | AttachmentKind::Audio)
        || a.original.content_type == "application/pdf"
        || s.variant == Variant::Thumbnail;
    let ascii: String = a
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(&a.name, NON_ALPHANUMERIC);
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

fn header_value(v: &str) -> Result<HeaderValue, ChatError> {
    HeaderValue::from_str(v).map_err(|e| ChatError::Internal(Box::new(e)))
}

pub(super) async fn respond(
    svc: &ChatService,
    s: &Servable,
    req: &HeaderMap,
) -> Result<Response, ChatError> {
    let size = u64::try_from(s.info.size).unwrap_or(0);
    let etag = format!("\"{}\"", &s.info.sha256[..s.info.sha256.len().min(32)]);
    let mut res = Response::builder();
    let h = res
        .headers_mut()
        .ok_or_else(|| ChatError::internal("response builder"))?;
    protect(h);
    h.insert(header::CONTENT_TYPE, header_value(&s.info.content_type)?);
    h.insert(header::CONTENT_DISPOSITION, header_value(&disposition(s))?);
    h.insert(header::ETAG, header_value(&etag)?);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let matches = |name| {
        req.get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    };
    if matches(header::IF_NONE_MATCH) {
        return res
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| ChatError::Internal(Box::new(e)));
    }
    // A range of another version of the file is no use: `If-Range` then gets it all.
    let if_range_ok = req
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let ranged = match req.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) if if_range_ok => parse_range(r, size),
        _ => Ranged::Whole,
    };
    let (status, range) = match ranged {
        Ranged::Whole => (StatusCode::OK, None),
        Ranged::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        Ranged::Unsatisfiable => {
            let h = res
                .headers_mut()
                .ok_or_else(|| ChatError::internal("response builder"))?;
            h.insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}"))?,
            );
            return res
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .body(Body::empty())
                .map_err(|e| ChatError::Internal(Box::new(e)));
        }
    };
    let read = svc.read_attachment(s, range.clone()).await?;
    let h = res
        .headers_mut()
        .ok_or_else(|| ChatError::internal("response builder"))?;
    let length = read.range.end - read.range.start;
    h.insert(header::CONTENT_LENGTH, header_value(&length.to_string())?);
    if range.is_some() {
        let r = &read.range;
        let value = format!("bytes {}-{}/{}", r.start, r.end - 1, read.size);
        h.insert(header::CONTENT_RANGE, header_value(&value)?);
    }
    let body = Body::from_stream(read.stream.map_err(std::io::Error::other));
    res.status(status)
        .body(body)
        .map_err(|e| ChatError::Internal(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ranged::Part(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Ranged::Part(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Ranged::Part(90..100));
        assert_eq!(parse_range("bytes=95-200", 100), Ranged::Part(95..100));
        assert_eq!(parse_range("bytes=100-", 100), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ranged::Whole);
        assert_eq!(parse_range("items=0-1", 100), Ranged::Whole);
        assert_eq!(parse_range("bytes=9-1", 100), Ranged::Whole);
    }
}
