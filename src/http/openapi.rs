//! The OpenAPI 3.1 document of the HTTP API, served at `GET /api/v0/openapi.json`.
//!
//! Each handler carries its own `#[utoipa::path]` and is registered with `utoipa_axum::routes!`,
//! which adds the axum route and the document's operation from that one annotation: a route
//! registered that way cannot be missing from the document. This module holds what the
//! handlers share: the document's frame, the auth schemes, the error responses (built from the
//! one `ChatError` → status mapping) and the path and query parameters.
#![allow(dead_code)] // the parameter structs exist for their `IntoParams` only

use std::collections::BTreeMap;

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::envelope::{ErrorBody, error_codes_by_status};

/// Where the document is served.
pub const PATH: &str = "/api/v0/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "order-chat",
        description = "REST, internal and operations endpoints of the order chat server. The \
            Socket.IO events are described in `/order-chat.d.ts` (TypeScript) and in the \
            project's docs/PROTOCOL.md, which this document follows.",
    ),
    modifiers(&Frame),
    components(schemas(ErrorBody)),
    tags(
        (name = "chat", description = "The REST API (`Authorization: Bearer <jwt>`)"),
        (name = "attachments", description = "Uploads and downloads (§12)"),
        (name = "internal", description = "The main backend feeds orders and users \
            (`Authorization: Bearer <INTERNAL_API_KEY>`)"),
        (name = "ops", description = "Liveness, readiness, metrics and this document"),
    )
)]
struct ApiDoc;

/// Adds the routes' document to the frame, the document's own route, and serves it.
pub fn mount(api: OpenApiRouter<AppState>) -> axum::Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api)
        .routes(routes!(document))
        .split_for_parts();
    // Serialized once: the document never changes while the server runs.
    let json = Bytes::from(doc.to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialize");
        "{}".into()
    }));
    router.layer(Extension(Document(json)))
}

#[derive(Clone)]
struct Document(Bytes);

/// An OpenAPI document (this one).
#[derive(utoipa::ToSchema)]
struct OpenApiDocument {
    #[schema(pattern = r"^3\.1\.")]
    openapi: String,
    #[schema(value_type = Object)]
    info: (),
    #[schema(value_type = Object)]
    paths: (),
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v0/openapi.json",
    tag = "ops",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", body = OpenApiDocument))
)]
async fn document(Extension(Document(json)): Extension<Document>) -> Response {
    let mut res = json.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The auth schemes and the error responses, which no derive can say.
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearer",
            bearer(
                "An access token of the main backend (HS256 with JWT_ACCESS_SECRET, or the \
                 configured public key), or an admin token (JWT_ADMIN_ACCESS_SECRET).",
            ),
        );
        components.add_security_scheme(
            "internalKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <INTERNAL_API_KEY>`: the main backend's shared key.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "signedLink",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "sig",
                "A signed link's signature, as in a rendered attachment's `url`/`thumbnailUrl` \
                 (with `exp`). A capability: whoever holds it gets the file until it expires.",
            ))),
        );
        components.add_security_scheme(
            "signedLinkExpiry",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "exp",
                "A signed link's expiry (Unix seconds), signed by `sig`.",
            ))),
        );
        for (status, codes) in error_codes_by_status() {
            components.responses.insert(
                format!("Error{status}"),
                error_response(status, &codes).into(),
            );
        }
    }
}

/// An error envelope whose `code` is one of those that go with `status`.
fn error_response(status: u16, codes: &[&'static str]) -> ApiResponse {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let schema = AllOfBuilder::new()
        .item(Ref::from_schema_name("ErrorBody"))
        .item(
            ObjectBuilder::new().property(
                "code",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(codes.iter().copied())),
            ),
        );
    let mut res = ResponseBuilder::new()
        .description(format!("{reason}: {}", codes.join(", ")))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        );
    let text_header = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some(description))
            .build()
    };
    if status == 401 {
        res = res.header(
            "WWW-Authenticate",
            text_header("`Bearer` (not on a signed link's refusal)"),
        );
    }
    if status == 429 || status == 503 {
        res = res.header(
            "Retry-After",
            text_header("Seconds to wait (with `RATE_LIMITED` and `SHUTTING_DOWN`)"),
        );
    }
    res.build()
}

/// Error responses a handler lists beside its success: each names statuses whose responses
/// are the components above (`#/components/responses/Error<status>`).
macro_rules! error_groups {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),*];)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<ApiResponse>> {
                [$($status),*]
                    .into_iter()
                    .map(|s: u16| {
                        (s.to_string(), RefOr::Ref(Ref::from_response_name(format!("Error{s}"))))
                    })
                    .collect()
            }
        }
    )*};
}

error_groups! {
    /// Any call with a token: missing, invalid or expired (401), a blocked user (403).
    Authed = [401, 403, 500];
    /// A call about one order: bad ids or parameters, no token, not a participant, no such order.
    OrderErrors = [400, 401, 403, 404, 500];
    /// A JSON body over the 64 KB limit (or a file over `MAX_UPLOAD_BYTES`).
    TooLarge = [413];
    /// The order is closed, or the lifecycle rule refuses (edit and delete windows).
    Conflict = [409];
    /// Over a rate or a count limit.
    Limited = [429];
    /// The node is shutting down.
    Unavailable = [503];
    /// A file of a type we do not accept.
    Unsupported = [415];
    /// The internal API: a bad body, no or a wrong key.
    InternalErrors = [400, 401, 413, 500];
    /// A download: no credential (401), a bad link or no access (403), nothing there (404).
    DownloadErrors = [400, 401, 403, 404, 500];
}

/// An order named in the path: its id or its order number.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct OrderPath {
    /// The order's id or its order number (e.g. `B2S-7F3KQ`).
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: String,
}

/// One message of an order.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct MessagePath {
    /// The order's id or its order number.
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: String,
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    message_id: String,
}

/// One emoji on one message.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct ReactionPath {
    /// The order's id or its order number.
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: String,
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    message_id: String,
    /// One emoji of Unicode's emoji list (percent-encoded), at most 32 bytes; a minimally
    /// qualified one is taken as its fully qualified form.
    #[param(min_length = 1, max_length = 32, example = "👍")]
    emoji: String,
}

/// A page of an order's history. `before` and `after` are `seq` cursors (not both);
/// `sinceRev` (alone) lists the messages changed after that `rev`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct HistoryQuery {
    /// 1–200 (default 50).
    #[param(nullable = false, minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Messages with a lower `seq` (older), newest page first.
    #[param(nullable = false, minimum = 0)]
    before: Option<i64>,
    /// Messages with a higher `seq` (newer).
    #[param(nullable = false, minimum = 0)]
    after: Option<i64>,
    /// Messages whose `rev` is higher, by `rev` ascending.
    #[param(nullable = false, minimum = 0)]
    since_rev: Option<i64>,
}

/// Unread counts: of one order, or of all the caller's orders (with `byOrder`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct UnreadQuery {
    /// The order's id or its order number.
    #[param(nullable = false, pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: Option<String>,
}

/// A search (§13).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct SearchQuery {
    /// The words to find (1–200 characters after trimming); words and word prefixes, every
    /// one must match, case and accents ignored.
    #[param(min_length = 1, max_length = 200, pattern = r"[^\s\u0085]|\uFEFF")]
    q: String,
    /// Narrow to one order (its id or its order number).
    #[param(nullable = false, pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    order_id: Option<String>,
    /// 1–50 (default 20).
    #[param(nullable = false, minimum = 1, maximum = 50)]
    limit: Option<i64>,
    /// A `nextCursor` of an earlier page.
    #[param(nullable = false, pattern = r"^-?[0-9]{1,18}\.[A-Za-z0-9._:@-]{1,64}$")]
    before: Option<String>,
}

/// An attachment named in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttachmentPath {
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    id: String,
}

/// The conditional and ranged request headers of a download.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct DownloadHeaders {
    /// `bytes=a-b`, `bytes=a-` or `bytes=-n` (several ranges get the whole file).
    #[param(nullable = false, rename = "Range")]
    range: Option<String>,
    /// An `ETag` seen before: 304 when it still matches.
    #[param(nullable = false, rename = "If-None-Match")]
    if_none_match: Option<String>,
    /// Apply `Range` only if the file still has this `ETag`.
    #[param(nullable = false, rename = "If-Range")]
    if_range: Option<String>,
}

/// A user named in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct UserPath {
    #[param(pattern = r"^[A-Za-z0-9._:@-]{1,64}$")]
    user_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_status_has_its_response() {
        let by_status = error_codes_by_status();
        assert_eq!(by_status[&400], ["VALIDATION"]);
        assert!(by_status[&404].contains(&"ORDER_NOT_FOUND"));
        assert!(by_status[&404].contains(&"NOT_FOUND"));
        assert_eq!(by_status[&500], ["INTERNAL"]);
    }
}
