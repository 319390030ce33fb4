//! Attachments over HTTP (§12): the upload (multipart, streamed under `MAX_UPLOAD_BYTES`: the
//! only routes whose body limit is raised), the compatibility upload, and downloads with every
//! header the contract names and `Range`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::download;
use super::envelope::{ApiError, ApiResult, Success, success_with};
use super::openapi::{
    AttachmentPath, Conflict, DownloadErrors, DownloadHeaders, Limited, OrderErrors, OrderPath,
    TooLarge, Unsupported,
};
use super::rest::Authed;
use crate::domain::{OrderRef, Variant};
use crate::error::{AuthFailure, ChatError};
use crate::service::{ChatService, Credential, UploadTarget};
use crate::wire;

/// What a multipart body may carry beyond the file: boundaries, part headers, `orderId`.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

pub fn routes(max_upload: usize) -> OpenApiRouter<Arc<ChatService>> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(upload_image))
        .layer(DefaultBodyLimit::max(max_upload + MULTIPART_OVERHEAD))
        .layer(axum::middleware::map_response(close_after));
    OpenApiRouter::new()
        .routes(routes!(original))
        .routes(routes!(thumbnail))
        .merge(uploads)
}

/// A multipart upload: the `file` part is the file (its `filename` is kept for display).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described only: the body is read part by part
struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The compatibility upload: `file` and `orderId`, in either order.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // described only: the body is read part by part
struct UploadImageForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The order's id or its order number.
    #[schema(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: String,
}

/// The compatibility upload's answer: sending `imageUrl` attaches the upload.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UploadedImage {
    image_url: String,
    attachment: wire::Attachment,
}

fn too_large(max: usize) -> ChatError {
    ChatError::PayloadTooLarge(format!(
        "The file is larger than the limit of {} MiB",
        max as f64 / (1024.0 * 1024.0)
    ))
}

/// Refuse at once a body whose declared length is already over the limit.
fn check_declared_length(headers: &HeaderMap, max: usize) -> Result<(), ChatError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > max + MULTIPART_OVERHEAD => Err(too_large(max)),
        _ => Ok(()),
    }
}

fn multipart_error(e: MultipartError, max: usize) -> ChatError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ChatError::validation(format!("Cannot read the multipart body: {}", e.body_text()))
    }
}

fn multipart(m: Result<Multipart, MultipartRejection>) -> Result<Multipart, ChatError> {
    m.map_err(|e| {
        ChatError::validation(format!(
            "Expected a multipart/form-data body with a file part: {}",
            e.body_text()
        ))
    })
}

/// One part's bytes as they arrive, refused the moment they pass `max`.
async fn read_part(field: &mut Field<'_>, max: usize) -> Result<Bytes, ChatError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        if buf.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// An upload's connection is not reused: the multipart parser stops at the closing boundary
/// and a refusal may come before the body was read (401, 403) or past the drain limit (413),
/// so hyper closes the connection after the answer. Saying so keeps the client from sending
/// its next request on a connection that is going away (EPIPE).
async fn close_after(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Upload a file to an order (§12); send it with `attachmentIds`. The type is decided from the
/// bytes. The answer carries `Connection: close`.
#[utoipa::path(
    post, path = "/orders/{orderId}/attachments", tag = "attachments", security(("bearer" = [])),
    params(OrderPath),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The attachment", body = Success<wire::Attachment>),
        OrderErrors, Conflict, TooLarge, Unsupported, Limited
    )
)]
async fn upload(
    State(svc): State<Arc<ChatService>>,
    me: Result<Authed, ApiError>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    upload_to(&svc, me, &order_id, &headers, body)
        .await
        .into_response()
}

async fn upload_to(
    svc: &ChatService,
    me: Result<Authed, ApiError>,
    order_id: &str,
    headers: &HeaderMap,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult {
    let max = svc.max_upload_bytes();
    let mut body = multipart(body)?;
    // Access before a single byte of the file is kept.
    let allowed = async {
        let Authed(me) = me.map_err(|e| e.0)?;
        let target = svc.upload_target(&me, &OrderRef::parse(order_id)?).await?;
        Ok::<_, ChatError>((me, target))
    };
    let (me, target) = match allowed.await {
        Ok(v) => v,
        Err(e) => return Err(after_draining(&mut body, e).await.into()),
    };
    let me = &me;
    refuse_declared_length(&mut body, headers, max).await?;
    let _turn = svc.upload_turn().await?;
    let mut file = None;
    let read = async {
        while let Some(mut field) = body
            .next_field()
            .await
            .map_err(|e| multipart_error(e, max))?
        {
            // The whole body is read (other parts skipped), so the connection stays usable.
            if field.name() == Some("file") && file.is_none() {
                let name = field.file_name().unwrap_or("file").to_owned();
                file = Some((name, read_part(&mut field, max).await?));
            }
        }
        Ok::<_, ChatError>(())
    };
    if let Err(e) = read.await {
        return Err(after_draining(&mut body, e).await.into());
    }
    let (name, bytes) =
        file.ok_or_else(|| ChatError::validation("The multipart body has no file part"))?;
    let attachment = svc.upload(me, target, &name, bytes).await?;
    Ok(success_with(
        StatusCode::CREATED,
        "File uploaded",
        attachment,
    ))
}

/// A body declared longer than the limit is refused before any of it is kept.
async fn refuse_declared_length(
    body: &mut Multipart,
    headers: &HeaderMap,
    max: usize,
) -> Result<(), ChatError> {
    match check_declared_length(headers, max) {
        Ok(()) => Ok(()),
        Err(e) => Err(after_draining(body, e).await),
    }
}

/// Read and drop what is left of a refused body (never more than the route's body limit,
/// `MAX_UPLOAD_BYTES` + 64 KiB, after which the connection is closed), so that an HTTP client
/// still sending its body reads the refusal instead of a reset connection. Nothing is kept.
async fn after_draining(body: &mut Multipart, e: ChatError) -> ChatError {
    while let Ok(Some(mut field)) = body.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
    e
}

/// `POST /upload-image` (the original service's path): multipart `file` and `orderId`, in
/// either order. Answers `{imageUrl, attachment}`; sending that `imageUrl` attaches it.
/// Upload an image (the original service's path); sending the answer's `imageUrl` attaches it.
#[utoipa::path(
    post, path = "/upload-image", tag = "attachments", security(("bearer" = [])),
    request_body(content = inline(UploadImageForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The upload and its link", body = Success<UploadedImage>),
        OrderErrors, Conflict, TooLarge, Unsupported, Limited
    )
)]
async fn upload_image(
    State(svc): State<Arc<ChatService>>,
    me: Result<Authed, ApiError>,
    headers: HeaderMap,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    upload_compat(&svc, me, &headers, body)
        .await
        .into_response()
}

async fn upload_compat(
    svc: &ChatService,
    me: Result<Authed, ApiError>,
    headers: &HeaderMap,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult {
    let max = svc.max_upload_bytes();
    let mut body = multipart(body)?;
    let me = match me {
        Ok(Authed(me)) => me,
        Err(e) => return Err(after_draining(&mut body, e.0).await.into()),
    };
    let me = &me;
    refuse_declared_length(&mut body, headers, max).await?;
    let _turn = svc.upload_turn().await?;
    let mut target: Option<UploadTarget> = None;
    let mut file: Option<(String, Bytes)> = None;
    let read = async {
        while let Some(mut field) = body
            .next_field()
            .await
            .map_err(|e| multipart_error(e, max))?
        {
            match field.name() {
                Some("orderId") => {
                    // An id is at most 64 characters: a longer part is a bad id, not a big file.
                    let text = read_part(&mut field, 256).await.map_err(|e| match e {
                        ChatError::PayloadTooLarge(_) => ChatError::validation(
                            "orderId must be 1-64 characters of letters, digits and . _ : @ -",
                        ),
                        other => other,
                    })?;
                    let text = std::str::from_utf8(&text)
                        .map_err(|_| ChatError::validation("orderId must be text"))?;
                    let order = OrderRef::parse(text.trim())?;
                    target = Some(svc.upload_target(me, &order).await?);
                }
                Some("file") => {
                    let name = field.file_name().unwrap_or("image").to_owned();
                    file = Some((name, read_part(&mut field, max).await?));
                }
                _ => {}
            }
        }
        Ok::<_, ChatError>(())
    };
    if let Err(e) = read.await {
        return Err(after_draining(&mut body, e).await.into());
    }
    let target = target.ok_or_else(|| ChatError::validation("orderId is required"))?;
    let (name, bytes) =
        file.ok_or_else(|| ChatError::validation("The multipart body has no file part"))?;
    let attachment = svc.upload(me, target, &name, bytes).await?;
    Ok(success_with(
        StatusCode::CREATED,
        "Image uploaded",
        UploadedImage {
            image_url: attachment.url.clone(),
            attachment,
        },
    ))
}

/// Download an attachment: a signed link (`exp` and `sig`, as rendered) or a bearer token.
#[utoipa::path(
    get, path = "/attachments/{id}", tag = "attachments",
    security(("bearer" = []), ("signedLink" = [], "signedLinkExpiry" = [])),
    params(AttachmentPath, DownloadHeaders),
    responses(
        (status = 200, description = "The file, of its true type", content_type = "*/*", body = [u8]),
        (status = 206, description = "The requested range (`Content-Range`)", content_type = "*/*", body = [u8]),
        (status = 304, description = "`If-None-Match` matched the `ETag`"),
        (status = 416, description = "A range starting past the end (`Content-Range: bytes */size`)"),
        DownloadErrors
    )
)]
async fn original(
    State(svc): State<Arc<ChatService>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    serve(&svc, &id, Variant::Original, &headers, &q).await
}

/// Download an image attachment's thumbnail (at most 320 px on the long edge).
#[utoipa::path(
    get, path = "/attachments/{id}/thumbnail", tag = "attachments",
    security(("bearer" = []), ("signedLink" = [], "signedLinkExpiry" = [])),
    params(AttachmentPath, DownloadHeaders),
    responses(
        (status = 200, description = "The thumbnail (JPEG, or PNG with transparency)", content_type = "*/*", body = [u8]),
        (status = 206, description = "The requested range (`Content-Range`)", content_type = "*/*", body = [u8]),
        (status = 304, description = "`If-None-Match` matched the `ETag`"),
        (status = 416, description = "A range starting past the end (`Content-Range: bytes */size`)"),
        DownloadErrors
    )
)]
async fn thumbnail(
    State(svc): State<Arc<ChatService>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    serve(&svc, &id, Variant::Thumbnail, &headers, &q).await
}

/// A signed link's `exp` and `sig`, else the bearer header; neither is 401.
async fn credential(
    svc: &ChatService,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<Credential, ChatError> {
    if let Some(sig) = q.get("sig") {
        let exp = q
            .get("exp")
            .and_then(|e| e.parse::<i64>().ok())
            .ok_or_else(|| ChatError::Forbidden("This link is not valid".into()))?;
        return Ok(Credential::Link {
            exp,
            sig: sig.clone(),
        });
    }
    let token = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(h) => Some(
            h.to_str()
                .map_err(|_| ChatError::Unauthorized(AuthFailure::Invalid))?,
        ),
    };
    Ok(Credential::Bearer(svc.authenticate(token).await?))
}

async fn serve(
    svc: &ChatService,
    id: &str,
    variant: Variant,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Response {
    let attempt = async {
        let cred = credential(svc, headers, q).await?;
        let servable = svc.open_attachment(&cred, id, variant).await?;
        download::respond(svc, &servable, headers).await
    };
    match attempt.await {
        Ok(res) => res,
        Err(e) => {
            let mut res = ApiError(e).into_response();
            download::protect(res.headers_mut());
            res
        }
    }
}
