//! The bundled web chat page and the Socket.IO browser client, embedded in the binary.
//!
//! In debug builds rust-embed reads `web/` from disk (edit and reload); release builds carry
//! the files inside the binary.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "web/"]
struct Web;

/// The content security policy of the page: no inline script, nothing from elsewhere but images.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data: blob:; connect-src 'self' ws: wss:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The official `socket.io-client` browser build, copied from the npm package that the tests
/// use (version pinned in `tests/js/package.json`; `scripts/vendor-socketio.sh` refreshes it).
const SOCKET_IO_BUNDLE: &str = "vendor/socket.io.min.js";

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { asset("chat.html") }))
        .route("/chat.html", get(|| async { asset("chat.html") }))
        // The TypeScript declarations of the Socket.IO events, for apps' typed clients.
        .route(
            "/order-chat.d.ts",
            get(|| async { asset("order-chat.d.ts") }),
        )
        // The service worker of Web Push (§14), at the root so that its scope is the whole page.
        .route("/sw.js", get(|| async { service_worker() }))
        .route(
            "/socket.io/socket.io.js",
            get(|| async { asset(SOCKET_IO_BUNDLE) }),
        )
        .route(
            "/js/{file}",
            get(|Path(f): Path<String>| async move { asset(&format!("js/{f}")) }),
        )
        .route(
            "/css/{file}",
            get(|Path(f): Path<String>| async move { asset(&format!("css/{f}")) }),
        )
        .route(
            "/img/{file}",
            get(|Path(f): Path<String>| async move { asset(&format!("img/{f}")) }),
        )
        .route(
            "/vendor/{file}",
            get(|Path(f): Path<String>| async move { asset(&format!("vendor/{f}")) }),
        )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

fn asset(path: &str) -> Response {
    let Some(file) = Web::get(path) else {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    };
    let mut res = (
        [(header::CONTENT_TYPE, content_type(path))],
        file.data.into_owned(),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// `/sw.js`: allowed to control the whole origin (`Service-Worker-Allowed: /`).
fn service_worker() -> Response {
    let mut res = asset("sw.js");
    if res.status().is_success() {
        res.headers_mut().insert(
            header::HeaderName::from_static("service-worker-allowed"),
            HeaderValue::from_static("/"),
        );
    }
    res
}
