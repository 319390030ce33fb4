//! The OpenAPI document at `/api/v0/openapi.json`: public, OpenAPI 3.1, every `$ref` resolves,
//! every route the code registers under `/api/` is in it, and every operation it lists is
//! served (with real ids, each answers a status the document gives for it, never the
//! router's 404 or 405).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::Request;
use common::{INTERNAL_KEY, TestApp, admin_token, media_files, raw, token};
use serde_json::{Value, json};

async fn document(app: &TestApp) -> Value {
    let req = Request::get("/api/v0/openapi.json")
        .body(Body::empty())
        .unwrap();
    let (status, doc) = raw(&app.built, req).await;
    assert_eq!(status, 200, "the document is public: {doc}");
    doc
}

/// Every `"$ref"` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    // utoipa's own model of an OpenAPI 3.1 document reads it back (the test command also
    // has schemathesis validate it against the specification's schema).
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("an OpenAPI document");
    assert!(!parsed.paths.paths.is_empty());
    for scheme in ["bearer", "internalKey", "signedLink"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every error response lists codes that exist, with the envelope.
    let e404 = &doc["components"]["responses"]["Error404"];
    let codes =
        &e404["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"]["enum"];
    assert!(
        codes
            .as_array()
            .unwrap()
            .contains(&json!("ORDER_NOT_FOUND")),
        "{e404}"
    );
}

/// The operations the document lists: (method, path).
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The HTTP modules and the prefix `http::router` nests each under.
const MODULES: &[(&str, &str)] = &[
    ("src/http/rest.rs", "/api/v0/chat"),
    ("src/http/attachments.rs", "/api/v0/chat"),
    ("src/http/notifications.rs", "/api/v0/chat"),
    ("src/http/internal.rs", "/api/v0/internal"),
    ("src/http/ops.rs", ""),
    ("src/http/openapi.rs", ""),
    ("src/http/mod.rs", ""),
];

/// String literals that follow `needle` in `src` (`needle"…"`).
fn literals_after<'a>(src: &'a str, needle: &str) -> Vec<&'a str> {
    src.match_indices(needle)
        .filter_map(|(i, _)| {
            let rest = src[i + needle.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// Every route the code registers: (method, full path) from each handler's `#[utoipa::path]`,
/// and every plain `.route(…)`, `.route_service(…)` or `.nest_service(…)` path (method `*`),
/// which the document cannot know about.
fn registered_in_code() -> BTreeSet<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    // The prefixes above are the ones `http::router` nests under: if that changes, so must
    // this table.
    let mod_rs = std::fs::read_to_string(format!("{root}/src/http/mod.rs")).unwrap();
    let nests: BTreeSet<&str> = literals_after(&mod_rs, ".nest(").into_iter().collect();
    let table: BTreeSet<&str> = MODULES
        .iter()
        .map(|(_, p)| *p)
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(nests, table, "src/http/mod.rs nests differently");
    let mut out = BTreeSet::new();
    for (file, prefix) in MODULES {
        let src = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for (i, _) in src.match_indices("#[utoipa::path(") {
            let attr = &src[i..];
            let attr = &attr[..attr.find(")]\n").expect("attribute end")];
            let method = attr["#[utoipa::path(".len()..]
                .trim_start()
                .split(|c: char| !c.is_ascii_alphabetic())
                .next()
                .unwrap()
                .to_uppercase();
            let path = literals_after(attr, "path =")[0];
            out.insert((method, format!("{prefix}{path}")));
        }
        for needle in [".route(", ".route_service(", ".nest_service("] {
            for path in literals_after(&src, needle) {
                out.insert(("*".into(), format!("{prefix}{path}")));
            }
        }
    }
    // Anywhere else (the page's assets, the app's assembly), a plain route under `/api/`.
    let mut dirs = vec![std::path::PathBuf::from(format!("{root}/src"))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let src = std::fs::read_to_string(&path).unwrap();
                for needle in [".route(", ".route_service(", ".nest_service(", ".nest("] {
                    for lit in literals_after(&src, needle) {
                        if lit.starts_with("/api/") && !nests.contains(lit) {
                            out.insert(("*".into(), lit.to_owned()));
                        }
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_under_api_is_documented() {
    let app = TestApp::spawn().await;
    let doc = documented(&document(&app).await);
    let code = registered_in_code();
    assert!(code.len() >= 20, "the scan found the routes: {code:?}");
    for (method, path) in code.iter().filter(|(_, p)| p.starts_with("/api/")) {
        let found = if method == "*" {
            doc.iter().any(|(_, p)| p == path)
        } else {
            doc.contains(&(method.clone(), path.clone()))
        };
        assert!(found, "{method} {path} is served but not in the document");
    }
    // And the other way: nothing documented that the code does not register.
    for (method, path) in &doc {
        assert!(
            code.contains(&(method.clone(), path.clone())),
            "{method} {path} is documented but not registered"
        );
    }
}

const BOUNDARY: &str = "openapi-test-boundary";

fn multipart(order_field: Option<&str>, png: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(order) = order_field {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"orderId\"\r\n\r\n{order}\r\n"
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(png);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// One request per documented operation, with ids that exist.
fn request(method: &str, template: &str, ids: &BTreeMap<&str, String>) -> Request<Body> {
    let mut path = template.to_owned();
    for (name, value) in ids {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(!path.contains('{'), "a parameter without a value: {path}");
    let chat = format!("Bearer {}", token("cust"));
    let mut req = Request::builder().method(method).uri(&path);
    let json_body = |v: Value| Body::from(v.to_string());
    let body = if path.starts_with("/api/v0/internal/orders/") {
        req = req.header("authorization", format!("Bearer {INTERNAL_KEY}"));
        json_body(
            json!({"status": "shopping", "customer": {"id": "cust", "name": "Customer cust"},
                         "agents": [{"id": "agent", "name": "Agent agent"}]}),
        )
    } else if path.starts_with("/api/v0/internal/users/") {
        req = req.header("authorization", format!("Bearer {INTERNAL_KEY}"));
        json_body(json!({"name": "Customer cust", "type": "customer"}))
    } else if path.ends_with("/revisions") {
        req = req.header(
            "authorization",
            format!("Bearer {}", admin_token("ops@example.com")),
        );
        Body::empty()
    } else if path.ends_with("/attachments") || path.ends_with("/upload-image") {
        req = req.header("authorization", &chat).header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
        let png = media_files::png_with_alpha(8, 8);
        let order = path.ends_with("/upload-image").then_some("o1");
        Body::from(multipart(order, &png))
    } else {
        req = req.header("authorization", &chat);
        match method {
            "POST" | "PATCH" => {
                req = req.header("content-type", "application/json");
                json_body(json!({"message": "hello"}))
            }
            _ => Body::empty(),
        }
    };
    req.body(body).unwrap()
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let kept = app.send("cust", "o1", "kept").await;
    let doomed = app.send("cust", "o1", "deleted by the test").await;
    let (status, up) = raw(
        &app.built,
        request(
            "POST",
            "/api/v0/chat/orders/{orderId}/attachments",
            &BTreeMap::from([("orderId", "o1".to_owned())]),
        ),
    )
    .await;
    assert_eq!(status, 201, "{up}");
    let ids = |doomed_message: bool| {
        BTreeMap::from([
            ("orderId", "o1".to_owned()),
            ("userId", "cust".to_owned()),
            ("id", up["data"]["id"].as_str().unwrap().to_owned()),
            ("emoji", "%F0%9F%91%8D".to_owned()),
            (
                "messageId",
                if doomed_message { &doomed } else { &kept }["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
        ])
    };
    // Deleting a message last, so the other operations find it.
    let mut ops: Vec<_> = documented(&doc).into_iter().collect();
    ops.sort_by_key(|(m, _)| m == "DELETE");
    assert!(ops.len() >= 20, "{ops:?}");
    for (method, path) in ops {
        let doomed = method == "DELETE" && path.ends_with("{messageId}");
        let res = status_of(&app, request(&method, &path, &ids(doomed))).await;
        let status = res.to_string();
        assert!(
            !matches!(res, 404 | 405),
            "{method} {path} is documented but answers {status}"
        );
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(
            op["responses"].get(&status).is_some(),
            "{method} {path} answered {status}, which the document does not list"
        );
    }
}

/// The status of one request through the router.
async fn status_of(app: &TestApp, req: Request<Body>) -> u16 {
    use tower::ServiceExt;
    let res = app.built.router.clone().oneshot(req).await;
    res.expect("router answers").status().as_u16()
}
