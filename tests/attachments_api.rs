//! Attachments over REST (§12), through the real router: upload, the ownership rule of a
//! send, full objects in renderings, downloads with their headers, ranges and access, removal
//! with the message and by the sweep, the compatibility upload; on the local folder and S3.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use common::media_files::*;
use common::{TestDb, put_order, seed, settings, sqlite_db, token};
use http_body_util::BodyExt;
use order_chat::app::Built;
use serde_json::{Value, json};
use tower::ServiceExt;

const BOUNDARY: &str = "----order-chat-test-boundary";

struct Part<'a> {
    name: &'a str,
    file_name: Option<&'a str>,
    bytes: Vec<u8>,
}

fn file(name: &str, bytes: Vec<u8>) -> Part<'_> {
    Part {
        name: "file",
        file_name: Some(name),
        bytes,
    }
}

fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match p.file_name {
            Some(f) => format!("form-data; name=\"{}\"; filename=\"{f}\"", p.name),
            None => format!("form-data; name=\"{}\"", p.name),
        };
        out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        // The client's claim, which the server ignores.
        out.extend_from_slice(b"Content-Type: image/png\r\n\r\n");
        out.extend_from_slice(&p.bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send_raw(b: &Built, req: Request<Body>) -> Answer {
    let res = b.router.clone().oneshot(req).await.expect("router answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status,
        headers,
        bytes,
    }
}

async fn upload_as(b: &Built, user: &str, order: &str, parts: &[Part<'_>]) -> Answer {
    let body = multipart(parts);
    let req = Request::post(format!("/api/v0/chat/orders/{order}/attachments"))
        .header("authorization", format!("Bearer {}", token(user)))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    send_raw(b, req).await
}

async fn get(b: &Built, path: &str, user: Option<&str>, extra: &[(&str, &str)]) -> Answer {
    let mut req = Request::get(path);
    if let Some(u) = user {
        req = req.header("authorization", format!("Bearer {}", token(u)));
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    send_raw(b, req.body(Body::empty()).unwrap()).await
}

async fn send(b: &Built, user: &str, order: &str, body: Value) -> (u16, Value) {
    common::call(
        b,
        "POST",
        &format!("/api/v0/chat/orders/{order}/messages"),
        Some(&token(user)),
        Some(body),
    )
    .await
}

fn bare(url: &str) -> &str {
    url.split('?').next().unwrap()
}

async fn with_storage(storage_url: Option<String>) -> (Built, TestDb) {
    let db = sqlite_db();
    let mut s = settings(&db);
    s.media.storage_url = storage_url;
    let built = order_chat::app::build(&s).await.expect("build app");
    seed(&built).await;
    (built, db)
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The whole story on one storage: upload, download by link and bearer, headers, ranges,
/// send, renderings, delete.
async fn photo_story(b: &Built) {
    let up = upload_as(
        b,
        "cust",
        "o1",
        &[file("IMG_2041 reçu.jpg", phone_jpeg(400, 200))],
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.json());
    let a = up.json()["data"].clone();
    assert_eq!(a["kind"], "image");
    assert_eq!(a["contentType"], "image/jpeg");
    assert_eq!(a["name"], "IMG_2041 reçu.jpg");
    assert_eq!(
        (a["width"].as_i64(), a["height"].as_i64()),
        (Some(200), Some(400))
    );
    let url = a["url"].as_str().unwrap().to_owned();
    let thumb = a["thumbnailUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("exp=") && url.contains("sig="));

    // The signed link works with no header at all, as in <img src>.
    let got = get(b, &url, None, &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), "image/jpeg");
    assert_eq!(got.header("x-content-type-options"), "nosniff");
    assert_eq!(got.header("content-security-policy"), "sandbox");
    assert_eq!(
        got.header("content-disposition"),
        "inline; filename=\"IMG_2041 re_u.jpg\"; filename*=UTF-8''IMG%5F2041%20re%C3%A7u%2Ejpg"
    );
    assert!(got.header("cache-control").starts_with("private"));
    assert_eq!(got.header("accept-ranges"), "bytes");
    assert_eq!(got.bytes.len() as i64, a["size"].as_i64().unwrap());
    assert!(!has(&got.bytes, b"Exif"), "served without EXIF");
    let etag = got.header("etag").to_owned();
    assert!(etag.starts_with('"'));
    let img = decode(&got.bytes);
    assert_eq!((img.width(), img.height()), (200, 400));

    let t = get(b, &thumb, None, &[]).await;
    assert_eq!((t.status, t.header("content-type")), (200, "image/jpeg"));
    let ti = decode(&t.bytes);
    assert!(ti.width().max(ti.height()) <= 320);

    // Range, 416, and the ETag.
    let r = get(b, &url, None, &[("range", "bytes=0-99")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.bytes, got.bytes[..100]);
    assert_eq!(
        r.header("content-range"),
        format!("bytes 0-99/{}", got.bytes.len())
    );
    let r = get(b, &url, None, &[("range", "bytes=99999999-")]).await;
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        format!("bytes */{}", got.bytes.len())
    );
    let r = get(b, &url, None, &[("if-none-match", &etag)]).await;
    assert_eq!((r.status, r.bytes.len()), (304, 0));

    // Before it is sent, only its uploader sees it by bearer.
    assert_eq!(get(b, bare(&url), Some("cust"), &[]).await.status, 200);
    assert_eq!(get(b, bare(&url), Some("agent"), &[]).await.status, 403);

    // Sent: a message of the attachment alone, with the full object.
    let id = a["id"].as_str().unwrap();
    let (status, sent) = send(b, "cust", "o1", json!({"attachmentIds": [id]})).await;
    assert_eq!(status, 201, "{sent}");
    let m = &sent["data"];
    assert_eq!(m["message"], "");
    assert_eq!(m["attachments"][0]["id"], id);
    assert_eq!(m["attachments"][0]["kind"], "image");
    assert!(
        m["attachments"][0]["thumbnailUrl"]
            .as_str()
            .unwrap()
            .contains("sig=")
    );

    // Every rendering: history and the chat list.
    let (_, page) = common::call(
        b,
        "GET",
        "/api/v0/chat/messages/o1",
        Some(&token("agent")),
        None,
    )
    .await;
    let last = page["data"]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["attachments"][0]["name"], "IMG_2041 reçu.jpg");
    assert_eq!(last["attachments"][0]["size"], a["size"]);
    let (_, chats) =
        common::call(b, "GET", "/api/v0/chat/orders", Some(&token("agent")), None).await;
    assert_eq!(
        chats["data"]["orders"][0]["lastMessage"]["attachments"][0]["id"],
        id
    );

    // Now participants see it by bearer; others never get the bytes.
    assert_eq!(get(b, bare(&url), Some("agent"), &[]).await.status, 200);
    let outsider = get(b, bare(&url), Some("cust2"), &[]).await;
    assert_eq!(outsider.status, 403);
    assert!(!has(&outsider.bytes, &got.bytes[..64]));
    assert_eq!(get(b, bare(&url), None, &[]).await.status, 401);
    let tampered = url.replace("sig=", "sig=A");
    let t = get(b, &tampered, None, &[]).await;
    assert_eq!(
        (t.status, t.json()["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    assert_eq!(t.header("x-content-type-options"), "nosniff");
    let other_exp = url.replace("exp=", "exp=9");
    assert_eq!(get(b, &other_exp, None, &[]).await.status, 403);
    // A link of the original does not open the thumbnail.
    let swapped = format!(
        "{}/thumbnail?{}",
        bare(&url),
        url.split_once('?').unwrap().1
    );
    assert_eq!(get(b, &swapped, None, &[]).await.status, 403);

    // Deleted: not served at once, and the bytes go.
    let msg_id = m["id"].as_str().unwrap();
    let (status, _) = common::call(
        b,
        "DELETE",
        &format!("/api/v0/chat/orders/o1/messages/{msg_id}"),
        Some(&token("cust")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(get(b, &url, None, &[]).await.status, 404);
    assert_eq!(get(b, bare(&url), Some("agent"), &[]).await.status, 404);
    let blobs = b.service.media().blobs();
    let key = format!("attachments/{id}/original");
    assert!(
        order_chat::blobs::read_all(&**blobs, &key).await.is_err(),
        "bytes removed"
    );
}

#[tokio::test]
async fn a_photo_on_the_local_folder() {
    let (b, db) = with_storage(None).await;
    photo_story(&b).await;
    // The default folder is beside the SQLite file.
    assert!(
        std::path::Path::new(&db.url["sqlite://".len()..])
            .parent()
            .unwrap()
            .join("files")
            .is_dir()
    );
}

#[tokio::test]
async fn a_photo_on_s3() {
    let Some(url) = common::s3_storage_url().await else {
        return;
    };
    let (b, _db) = with_storage(Some(url)).await;
    photo_story(&b).await;
}

#[tokio::test]
async fn sends_check_whose_uploads_they_are() {
    let (b, _db) = with_storage(None).await;
    put_order(&b, "o3", "B2S-CCCC3", "shopping", "cust", &["agent"]).await;
    let id_of = |a: Answer| a.json()["data"]["id"].as_str().unwrap().to_owned();
    let agents =
        id_of(upload_as(&b, "agent", "o1", &[file("a.png", png_with_alpha(20, 20))]).await);
    let other_order = id_of(upload_as(&b, "cust", "o3", &[file("b.pdf", pdf())]).await);
    let mine = id_of(upload_as(&b, "cust", "o1", &[file("c.gif", animated_gif(8, 8))]).await);

    for (bad, why) in [
        (agents.as_str(), "was not uploaded by you"),
        (other_order.as_str(), "was not uploaded by you"),
        ("no-such-upload", "does not exist"),
    ] {
        let (status, body) = send(
            &b,
            "cust",
            "o1",
            json!({"message": "x", "attachmentIds": [mine, bad]}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("VALIDATION")),
            "{body}"
        );
        let text = body["message"].as_str().unwrap();
        assert!(text.contains(bad) && text.contains(why), "{text}");
    }
    let (status, body) = send(&b, "cust", "o1", json!({"attachmentIds": [mine, mine]})).await;
    assert_eq!(status, 400, "{body}");
    // A refused send took nothing: the upload is still free.
    let (status, first) = send(
        &b,
        "cust",
        "o1",
        json!({"attachmentIds": [mine], "clientMessageId": "c-1"}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    // The same send again (a retry): the original message, nothing new.
    let (status, again) = send(
        &b,
        "cust",
        "o1",
        json!({"attachmentIds": [mine], "clientMessageId": "c-1"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    // Another message cannot take it.
    let (status, body) = send(&b, "cust", "o1", json!({"attachmentIds": [mine]})).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already on another message")
    );
    let (status, body) = send(
        &b,
        "cust",
        "o1",
        json!({"attachmentIds": (0..11).map(|i| format!("a{i}")).collect::<Vec<_>>()}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn refused_files_say_why() {
    let (b, _db) = with_storage(None).await;
    let code = |a: &Answer| (a.status, a.json()["code"].as_str().unwrap_or("").to_owned());
    for (name, bytes) in [
        ("x.svg", SVG_WITH_SCRIPT.to_vec()),
        ("cat.png", HTML_PAGE.to_vec()),
    ] {
        let a = upload_as(&b, "cust", "o1", &[file(name, bytes)]).await;
        assert_eq!(code(&a), (415, "UNSUPPORTED_MEDIA_TYPE".into()), "{name}");
    }
    let full = jpeg(&halves(300, 300));
    let a = upload_as(
        &b,
        "cust",
        "o1",
        &[file("cut.jpg", full[..full.len() / 2].to_vec())],
    )
    .await;
    assert_eq!(code(&a), (400, "VALIDATION".into()));
    let a = upload_as(&b, "cust", "o1", &[file("bomb.png", png_bomb())]).await;
    assert_eq!(code(&a), (400, "VALIDATION".into()));
    assert!(a.json()["message"].as_str().unwrap().contains("megapixels"));
    // The server is still up.
    assert_eq!(
        upload_as(&b, "cust", "o1", &[file("ok.pdf", pdf())])
            .await
            .status,
        201
    );
    // Not a participant; a closed order; no file part.
    assert_eq!(
        code(&upload_as(&b, "cust2", "o1", &[file("a.pdf", pdf())]).await),
        (403, "FORBIDDEN".into())
    );
    put_order(&b, "o9", "B2S-CLOSED", "completed", "cust", &["agent"]).await;
    assert_eq!(
        code(&upload_as(&b, "cust", "o9", &[file("a.pdf", pdf())]).await),
        (409, "ORDER_CLOSED".into())
    );
    let none = upload_as(
        &b,
        "cust",
        "o1",
        &[Part {
            name: "other",
            file_name: None,
            bytes: b"x".to_vec(),
        }],
    )
    .await;
    assert_eq!(code(&none), (400, "VALIDATION".into()));
}

#[tokio::test]
async fn an_oversize_body_is_refused_while_it_arrives() {
    let db = sqlite_db();
    let mut s = settings(&db);
    s.media.settings.max_upload_bytes = 1024 * 1024;
    let b = order_chat::app::build(&s).await.unwrap();
    seed(&b).await;
    let big = vec![0x25u8; 1024 * 1024 + 1];
    // Declared too long: refused before the body is read.
    let a = upload_as(
        &b,
        "cust",
        "o1",
        &[file(
            "big.pdf",
            [b"%PDF-1.4\n".to_vec(), vec![0; 2 * 1024 * 1024]].concat(),
        )],
    )
    .await;
    assert_eq!(
        (a.status, a.json()["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    assert_eq!(a.header("connection"), "close");
    // Streamed without a length: refused once the file passes the limit, from a body that
    // would go on for ever.
    let head = multipart(&[file("big.pdf", Vec::new())]);
    let split = head.len() - format!("\r\n--{BOUNDARY}--\r\n").len();
    let prefix = bytes::Bytes::from(head[..split].to_vec());
    let chunks = futures_util::stream::iter(std::iter::once(prefix))
        .chain(futures_util::stream::repeat(bytes::Bytes::from(
            big.clone(),
        )))
        .map(Ok::<_, std::io::Error>);
    use futures_util::StreamExt;
    let req = Request::post("/api/v0/chat/orders/o1/attachments")
        .header("authorization", format!("Bearer {}", token("cust")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from_stream(chunks))
        .unwrap();
    let a = tokio::time::timeout(std::time::Duration::from_secs(10), send_raw(&b, req))
        .await
        .expect("answered without reading the whole body");
    assert_eq!(a.status, 413);
}

#[tokio::test]
async fn the_compatibility_upload_and_its_image_url() {
    let (b, _db) = with_storage(None).await;
    let body = multipart(&[
        file("photo.webp", webp(64, 64)),
        Part {
            name: "orderId",
            file_name: None,
            bytes: b"B2S-AAAA1".to_vec(),
        },
    ]);
    let req = Request::post("/api/v0/chat/upload-image")
        .header("authorization", format!("Bearer {}", token("cust")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    let a = send_raw(&b, req).await;
    assert_eq!(a.status, 201, "{}", a.json());
    let data = a.json()["data"].clone();
    let image_url = data["imageUrl"].as_str().unwrap();
    assert_eq!(image_url, data["attachment"]["url"]);
    assert_eq!(data["attachment"]["contentType"], "image/webp");
    let (status, sent) = send(
        &b,
        "cust",
        "o1",
        json!({"message": "this one?", "imageUrl": image_url}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let m = &sent["data"];
    assert_eq!(m["attachments"][0]["id"], data["attachment"]["id"]);
    let rendered = m["imageUrl"].as_str().unwrap();
    assert!(rendered.contains("sig="));
    assert_eq!(get(&b, rendered, None, &[]).await.status, 200);

    // An orderId part longer than any id is a bad id (400), not a file over the limit (413):
    // schemathesis found the 413.
    let body = multipart(&[
        Part {
            name: "orderId",
            file_name: None,
            bytes: vec![b'x'; 300],
        },
        file("photo.webp", webp(8, 8)),
    ]);
    let req = Request::post("/api/v0/chat/upload-image")
        .header("authorization", format!("Bearer {}", token("cust")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    let a = send_raw(&b, req).await;
    assert_eq!(
        (a.status, a.json()["code"].clone()),
        (400, json!("VALIDATION"))
    );
}

#[tokio::test]
async fn unattached_uploads_are_swept_after_a_day() {
    let (b, _db) = with_storage(None).await;
    let a = upload_as(&b, "cust", "o1", &[file("late.pdf", pdf())])
        .await
        .json()["data"]
        .clone();
    let url = a["url"].as_str().unwrap();
    assert_eq!(get(&b, url, None, &[]).await.status, 200);
    let later = order_chat::domain::now_millis() + 25 * 3600 * 1000;
    let report = b.service.sweep_attachments(later).await.unwrap();
    assert_eq!((report.expired, report.purged), (1, 1));
    assert_eq!(get(&b, url, None, &[]).await.status, 404);
    let (status, body) = send(&b, "cust", "o1", json!({"attachmentIds": [a["id"]]})).await;
    assert_eq!(status, 400, "{body}");
    // PDF: a file, shown inline.
    let p = upload_as(&b, "cust", "o1", &[file("list.pdf", pdf())])
        .await
        .json()["data"]
        .clone();
    assert_eq!(p["kind"], "file");
    assert!(p.get("thumbnailUrl").is_none());
    let got = get(&b, p["url"].as_str().unwrap(), None, &[]).await;
    assert!(got.header("content-disposition").starts_with("inline;"));
    assert_eq!(got.header("content-type"), "application/pdf");
}
