//! The REST API and the internal API through the real router: envelopes, every endpoint's
//! access rule, validation codes, limits, and the operations endpoints.

mod common;

use common::{INTERNAL_KEY, app, call, raw, seed, sqlite_db, token};
use serde_json::{Value, json};

/// Every endpoint of one order, under both the seed paths and the later ones.
fn order_endpoints(o: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/api/v0/chat/messages/{o}"), None),
        ("GET", format!("/api/v0/chat/orders/{o}/messages"), None),
        (
            "POST",
            format!("/api/v0/chat/orders/{o}/messages"),
            Some(json!({"message": "hi"})),
        ),
        ("POST", format!("/api/v0/chat/read/{o}"), None),
        (
            "POST",
            format!("/api/v0/chat/orders/{o}/read"),
            Some(json!({"upToSeq": 1})),
        ),
        ("GET", format!("/api/v0/chat/unread?orderId={o}"), None),
        (
            "GET",
            format!("/api/v0/chat/unread-count?orderId={o}"),
            None,
        ),
    ]
}

#[tokio::test]
async fn every_endpoint_of_an_order_enforces_access() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    for (who, want) in [
        ("cust2", (403, "FORBIDDEN")),
        ("agent2", (403, "FORBIDDEN")),
    ] {
        for (method, path, body) in order_endpoints("o1") {
            let (status, res) = call(&b, method, &path, Some(&token(who)), body).await;
            assert_eq!(
                (status, res["code"].as_str().unwrap()),
                want,
                "{who} {method} {path}"
            );
            assert_eq!(res["status"], "error");
            assert_eq!(res["error"], true);
            assert_eq!(res["message"], "You are not a participant of this order");
        }
    }
    for (method, path, body) in order_endpoints("nope") {
        let (status, res) = call(&b, method, &path, Some(&token("cust")), body).await;
        assert_eq!(
            (status, res["code"].as_str().unwrap()),
            (404, "ORDER_NOT_FOUND"),
            "{method} {path}"
        );
    }
    for who in ["cust", "agent"] {
        for (method, path, body) in order_endpoints("o1") {
            let (status, res) = call(&b, method, &path, Some(&token(who)), body).await;
            assert!(
                status == 200 || status == 201,
                "{who} {method} {path}: {status} {res}"
            );
            assert_eq!(res["status"], "success");
        }
    }
    for (method, path, body) in order_endpoints("o1") {
        let (status, res) = call(&b, method, &path, None, body).await;
        assert_eq!(
            (status, res["code"].as_str().unwrap()),
            (401, "UNAUTHORIZED"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn history_pages_by_seq_cursor() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let t = token("cust");
    for i in 1..=5 {
        let (s, res) = call(
            &b,
            "POST",
            "/api/v0/chat/orders/B2S-AAAA1/messages",
            Some(&t),
            Some(json!({"message": format!("m{i}"), "clientMessageId": format!("c{i}")})),
        )
        .await;
        assert_eq!(s, 201, "{res}");
        assert_eq!(res["data"]["seq"], i);
        assert_eq!(res["data"]["orderId"], "o1", "numbers resolve to ids");
    }
    let seqs = |v: &Value| {
        v["data"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let (_, r) = call(
        &b,
        "GET",
        "/api/v0/chat/messages/o1?limit=2",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        (seqs(&r), r["data"]["hasMore"].as_bool()),
        (vec![4, 5], Some(true))
    );
    let (_, r) = call(
        &b,
        "GET",
        "/api/v0/chat/messages/o1?limit=2&before=4",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        (seqs(&r), r["data"]["hasMore"].as_bool()),
        (vec![2, 3], Some(true))
    );
    let (_, r) = call(
        &b,
        "GET",
        "/api/v0/chat/orders/o1/messages?after=3",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        (seqs(&r), r["data"]["hasMore"].as_bool()),
        (vec![4, 5], Some(false))
    );
    assert_eq!(r["message"], "Messages retrieved");
    // Reading history marks nothing read.
    let (_, u) = call(
        &b,
        "GET",
        "/api/v0/chat/unread",
        Some(&token("agent")),
        None,
    )
    .await;
    assert_eq!(
        u["data"],
        json!({"count": 5, "total": 5, "byOrder": {"o1": 5}})
    );
}

#[tokio::test]
async fn bad_input_gets_validation_errors() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let t = token("cust");
    let long = "x".repeat(4001);
    let cases: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/api/v0/chat/messages/bad%20id", None),
        ("GET", "/api/v0/chat/messages/o1?limit=0", None),
        ("GET", "/api/v0/chat/messages/o1?limit=201", None),
        ("GET", "/api/v0/chat/messages/o1?limit=abc", None),
        ("GET", "/api/v0/chat/messages/o1?before=-1", None),
        ("GET", "/api/v0/chat/messages/o1?before=3&after=1", None),
        ("GET", "/api/v0/chat/unread?orderId=%3Cscript%3E", None),
        (
            "POST",
            "/api/v0/chat/orders/o1/messages",
            Some(json!({"message": "   "})),
        ),
        (
            "POST",
            "/api/v0/chat/orders/o1/messages",
            Some(json!({"message": long})),
        ),
        (
            "POST",
            "/api/v0/chat/orders/o1/messages",
            Some(json!({"message": 12})),
        ),
        (
            "POST",
            "/api/v0/chat/orders/o1/messages",
            Some(json!(["message"])),
        ),
        (
            "POST",
            "/api/v0/chat/orders/o1/messages",
            Some(json!({"message": "x", "imageUrl": "ftp://x/y.png"})),
        ),
        (
            "POST",
            "/api/v0/chat/orders/o1/read",
            Some(json!({"upToSeq": "3"})),
        ),
        ("POST", "/api/v0/chat/orders/o1/read", Some(json!("o1"))),
    ];
    for (method, path, body) in cases {
        let (status, res) = call(&b, method, path, Some(&t), body.clone()).await;
        assert_eq!(
            (status, res["code"].as_str().unwrap_or_default()),
            (400, "VALIDATION"),
            "{method} {path} {body:?}: {res}"
        );
        assert!(!res["message"].as_str().unwrap().is_empty());
    }
    // Malformed JSON and a missing body.
    let req = axum::http::Request::post("/api/v0/chat/orders/o1/messages")
        .header("authorization", format!("Bearer {t}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"message\": \"unterminated"))
        .unwrap();
    let (status, res) = raw(&b, req).await;
    assert_eq!((status, res["code"].as_str().unwrap()), (400, "VALIDATION"));
    assert!(
        res["message"]
            .as_str()
            .unwrap()
            .starts_with("Malformed JSON"),
        "{res}"
    );
    let (status, res) = call(
        &b,
        "POST",
        "/api/v0/chat/orders/o1/messages",
        Some(&t),
        None,
    )
    .await;
    assert_eq!((status, res["code"].as_str().unwrap()), (400, "VALIDATION"));
    // Nothing was stored by any of it.
    let (_, r) = call(&b, "GET", "/api/v0/chat/messages/o1", Some(&t), None).await;
    assert_eq!(r["data"]["messages"], json!([]));
}

#[tokio::test]
async fn an_oversized_body_is_payload_too_large() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let big = json!({"message": "x".repeat(200_000)});
    let (status, res) = call(
        &b,
        "POST",
        "/api/v0/chat/orders/o1/messages",
        Some(&token("cust")),
        Some(big),
    )
    .await;
    assert_eq!(
        (status, res["code"].as_str().unwrap()),
        (413, "PAYLOAD_TOO_LARGE"),
        "{res}"
    );
}

#[tokio::test]
async fn closed_orders_answer_409() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    common::put_order(&b, "o1", "B2S-AAAA1", "completed", "cust", &["agent"]).await;
    let (status, res) = call(
        &b,
        "POST",
        "/api/v0/chat/orders/o1/messages",
        Some(&token("cust")),
        Some(json!({"message": "hi"})),
    )
    .await;
    assert_eq!(
        (status, res["code"].as_str().unwrap()),
        (409, "ORDER_CLOSED")
    );
    let (status, _) = call(
        &b,
        "GET",
        "/api/v0/chat/messages/o1",
        Some(&token("cust")),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn mark_read_and_unread_and_chat_list() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let (cust, agent) = (token("cust"), token("agent"));
    for m in ["a", "b", "c"] {
        call(
            &b,
            "POST",
            "/api/v0/chat/orders/o1/messages",
            Some(&agent),
            Some(json!({"message": m})),
        )
        .await;
    }
    let (_, u) = call(&b, "GET", "/api/v0/chat/unread-count", Some(&cust), None).await;
    assert_eq!(
        u["data"],
        json!({"count": 3, "total": 3, "byOrder": {"o1": 3}})
    );
    let (s, r) = call(
        &b,
        "POST",
        "/api/v0/chat/read/o1",
        Some(&cust),
        Some(json!({"upToSeq": 2})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["data"]["lastReadSeq"], 2);
    assert_eq!(r["data"]["marked"], true);
    assert_eq!(r["data"]["userId"], "cust");
    assert!(r["data"]["readAt"].as_str().unwrap().ends_with('Z'));
    let (_, u) = call(
        &b,
        "GET",
        "/api/v0/chat/unread?orderId=o1",
        Some(&cust),
        None,
    )
    .await;
    assert_eq!(u["data"], json!({"count": 1, "total": 1}));
    let (_, r) = call(&b, "POST", "/api/v0/chat/orders/o1/read", Some(&cust), None).await;
    assert_eq!(
        (
            r["data"]["lastReadSeq"].as_i64(),
            r["data"]["marked"].as_bool()
        ),
        (Some(3), Some(true))
    );
    let (_, list) = call(&b, "GET", "/api/v0/chat/orders", Some(&cust), None).await;
    let orders = list["data"]["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["orderId"], "o1");
    assert_eq!(orders[0]["orderNumber"], "B2S-AAAA1");
    assert_eq!(orders[0]["status"], "shopping");
    assert_eq!(orders[0]["unread"], 0);
    assert_eq!(orders[0]["lastMessage"]["message"], "c");
    assert_eq!(orders[0]["lastMessage"]["isRead"], true);
    assert_eq!(orders[0]["lastMessage"]["readBy"], json!(["cust"]));
}

#[tokio::test]
async fn the_internal_api_needs_its_key_and_valid_bodies() {
    let db = sqlite_db();
    let b = app(&db).await;
    let body = json!({"orderNumber": "B2S-X1", "status": "pending", "customer": {"id": "c1", "name": "Ada"}, "agents": []});
    let (s, r) = call(
        &b,
        "PUT",
        "/api/v0/internal/orders/ox",
        None,
        Some(body.clone()),
    )
    .await;
    assert_eq!((s, r["code"].as_str().unwrap()), (401, "UNAUTHORIZED"));
    let (s, _) = call(
        &b,
        "PUT",
        "/api/v0/internal/orders/ox",
        Some("wrong-key"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = call(
        &b,
        "PUT",
        "/api/v0/internal/orders/ox",
        Some(&token("c1")),
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 401, "a user token is not the internal key");
    let (s, r) = call(
        &b,
        "PUT",
        "/api/v0/internal/orders/ox",
        Some(INTERNAL_KEY),
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["data"],
        json!({"orderId": "ox", "orderNumber": "B2S-X1", "status": "pending", "customerId": "c1", "agentIds": []})
    );
    for bad in [
        json!({"status": "pending"}),
        json!({"status": "Pending!", "customer": {"id": "c1", "name": "Ada"}}),
        json!({"status": "pending", "customer": {"id": "c 1", "name": "Ada"}}),
        json!({"status": "pending", "customer": {"id": "c1", "name": ""}}),
        json!({"status": "pending", "customer": {"id": "c1", "name": "Ada"}, "agents": "a1"}),
    ] {
        let (s, r) = call(
            &b,
            "PUT",
            "/api/v0/internal/orders/ox",
            Some(INTERNAL_KEY),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            (s, r["code"].as_str().unwrap()),
            (400, "VALIDATION"),
            "{bad}"
        );
    }
    let (s, r) = call(
        &b,
        "PUT",
        "/api/v0/internal/users/c1",
        Some(INTERNAL_KEY),
        Some(json!({"name": "Ada Obi", "type": "customer", "displayImage": "https://cdn/x.png"})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["data"]["blocked"], false);
    let (s, _) = call(
        &b,
        "PUT",
        "/api/v0/internal/users/c1",
        Some(INTERNAL_KEY),
        Some(json!({"name": "Ada", "type": "wizard"})),
    )
    .await;
    assert_eq!(s, 400);
    // Control characters in a name or an image link are refused (PostgreSQL cannot even store
    // a NUL in text: schemathesis found it as a 500 there).
    for bad in [
        json!({"name": "Ada\u{0}", "type": "customer"}),
        json!({"name": "Ada\nObi", "type": "customer"}),
        json!({"name": "Ada", "type": "customer", "displayImage": "https://cdn/\u{0}.png"}),
    ] {
        let (s, r) = call(
            &b,
            "PUT",
            "/api/v0/internal/users/c1",
            Some(INTERNAL_KEY),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            (s, r["code"].as_str().unwrap()),
            (400, "VALIDATION"),
            "{bad}"
        );
    }
    let order = json!({"status": "shopping", "customer": {"id": "c9", "name": "C\u{0}"}});
    let (s, r) = call(
        &b,
        "PUT",
        "/api/v0/internal/orders/o9",
        Some(INTERNAL_KEY),
        Some(order),
    )
    .await;
    assert_eq!((s, r["code"].as_str().unwrap()), (400, "VALIDATION"));
    // A blocked user is refused by the REST API with 403.
    call(
        &b,
        "PUT",
        "/api/v0/internal/users/c1",
        Some(INTERNAL_KEY),
        Some(json!({"name": "Ada", "type": "customer", "blocked": true})),
    )
    .await;
    let (s, r) = call(
        &b,
        "GET",
        "/api/v0/chat/messages/ox",
        Some(&token("c1")),
        None,
    )
    .await;
    assert_eq!((s, r["code"].as_str().unwrap()), (403, "FORBIDDEN"));
    assert_eq!(
        r["message"],
        "Your account has been blocked. Please contact support"
    );
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let (s, r) = call(&b, "GET", "/healthz", None, None).await;
    assert_eq!((s, r["status"].as_str().unwrap()), (200, "ok"));
    let (s, r) = call(&b, "GET", "/readyz", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        r,
        json!({"status": "ready", "database": "ok", "redis": "not configured", "limits": "local"})
    );
    call(
        &b,
        "GET",
        "/api/v0/chat/messages/o1",
        Some(&token("cust2")),
        None,
    )
    .await;
    call(
        &b,
        "POST",
        "/api/v0/chat/orders/o1/messages",
        Some(&token("cust")),
        Some(json!({"message": "x"})),
    )
    .await;
    let (s, text) = call(&b, "GET", "/metrics", None, None).await;
    assert_eq!(s, 200);
    let text = text.as_str().unwrap().to_owned();
    assert!(
        text.contains("order_chat_messages_stored_total 1"),
        "{text}"
    );
    assert!(
        text.contains("order_chat_errors_total{code=\"FORBIDDEN\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("order_chat_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("order_chat_socket_connections 0"), "{text}");
    let (s, r) = call(
        &b,
        "GET",
        "/api/v0/chat/nothing-here",
        Some(&token("cust")),
        None,
    )
    .await;
    assert_eq!((s, r["code"].as_str().unwrap()), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn the_page_and_the_socket_io_client_are_served() {
    let db = sqlite_db();
    let b = app(&db).await;
    let req = |p: &str| {
        axum::http::Request::get(p)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (s, body) = raw(&b, req("/chat.html")).await;
    assert_eq!(s, 200);
    assert!(body.as_str().unwrap().contains("message-container"));
    let (s, body) = raw(&b, req("/socket.io/socket.io.js")).await;
    assert_eq!(s, 200);
    let served = body.as_str().unwrap().to_owned();
    // The bundle is the npm package's file, byte for byte (when the npm packages are installed).
    let npm = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/js/node_modules/socket.io-client/dist/socket.io.min.js"
    );
    if let Ok(original) = std::fs::read_to_string(npm) {
        assert!(
            served == original,
            "web/vendor/socket.io.min.js differs from the npm package: run scripts/vendor-socketio.sh"
        );
    }
    assert!(served.contains("Socket.IO v4.8.4"));
}
