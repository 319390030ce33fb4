//! `GET /api/v0/chat/search` through the real router: the envelope, snippets and highlights,
//! access, paging by `nextCursor`, and validation.

mod common;

use common::{TestApp, admin_token, call};
use serde_json::Value;

/// JavaScript's view of a highlight: the UTF-16 slice of the snippet.
fn marked(result: &Value) -> Vec<String> {
    let units: Vec<u16> = result["snippet"].as_str().unwrap().encode_utf16().collect();
    result["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let (a, b) = (
                h[0].as_u64().unwrap() as usize,
                h[1].as_u64().unwrap() as usize,
            );
            String::from_utf16(&units[a..b]).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn results_carry_the_message_a_snippet_and_highlights() {
    let app = TestApp::spawn().await;
    app.send(
        "agent",
        "o1",
        "🎉🎉 The GATE code is 4411; gates close at 9",
    )
    .await;
    app.send("agent", "o1", "nothing here").await;
    let (status, body) = app.get("cust", "/api/v0/chat/search?q=gate").await;
    assert_eq!(status, 200, "{body}");
    let results = body["data"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["orderId"], "o1");
    assert_eq!(r["orderNumber"], "B2S-AAAA1");
    assert_eq!(r["message"]["seq"], 1);
    assert_eq!(r["message"]["sender"]["name"], "Agent agent");
    assert_eq!(
        marked(r),
        ["GATE", "gates"],
        "offsets survive the emoji before them"
    );
    assert_eq!(body["data"]["nextCursor"], Value::Null);
}

#[tokio::test]
async fn nobody_finds_what_they_may_not_read() {
    let app = TestApp::spawn().await;
    app.send("agent", "o1", "secret plantain price").await;
    app.send("agent2", "o2", "other plantain").await;
    let count = |body: &Value| body["data"]["results"].as_array().unwrap().len();
    let (_, mine) = app.get("cust", "/api/v0/chat/search?q=plantain").await;
    assert_eq!(count(&mine), 1);
    let (_, theirs) = app.get("cust2", "/api/v0/chat/search?q=plantain").await;
    assert_eq!(count(&theirs), 1);
    assert_eq!(theirs["data"]["results"][0]["orderId"], "o2");
    let (status, denied) = app
        .get("cust2", "/api/v0/chat/search?q=plantain&orderId=o1")
        .await;
    assert_eq!((status, denied["code"].as_str()), (403, Some("FORBIDDEN")));
    let (_, all) = call(
        &app.built,
        "GET",
        "/api/v0/chat/search?q=plantain",
        Some(&admin_token("ops@busy2shop.com")),
        None,
    )
    .await;
    assert_eq!(count(&all), 2, "admins search every order");
}

#[tokio::test]
async fn pages_follow_next_cursor() {
    let app = TestApp::spawn().await;
    for i in 0..7 {
        app.send("agent", "o1", &format!("receipt {i}")).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v0/chat/search?q=receipt&limit=3".to_string();
    loop {
        let (status, body) = app.get("cust", &path).await;
        assert_eq!(status, 200, "{body}");
        for r in body["data"]["results"].as_array().unwrap() {
            seen.push(r["message"]["message"].as_str().unwrap().to_owned());
        }
        match body["data"]["nextCursor"].as_str() {
            Some(c) => path = format!("/api/v0/chat/search?q=receipt&limit=3&before={c}"),
            None => break,
        }
    }
    let want: Vec<String> = (0..7).rev().map(|i| format!("receipt {i}")).collect();
    assert_eq!(seen, want, "newest first, no repeats, no gaps");
}

#[tokio::test]
async fn bad_queries_are_validation_errors_and_syntax_is_text() {
    let app = TestApp::spawn().await;
    app.send("agent", "o1", "gate OR door").await;
    let long = "a".repeat(201);
    for q in ["", "%20%20", long.as_str()] {
        let (status, body) = app.get("cust", &format!("/api/v0/chat/search?q={q}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("VALIDATION")),
            "{q:?}"
        );
    }
    let (status, body) = app.get("cust", "/api/v0/chat/search").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("VALIDATION")));
    for q in ["%22", "*", "%3A", "(", "-", "NEAR", "OR", "%27", "gate%22*"] {
        let (status, body) = app.get("cust", &format!("/api/v0/chat/search?q={q}")).await;
        assert_eq!(status, 200, "{q}: {body}");
    }
    let (_, body) = app.get("cust", "/api/v0/chat/search?q=OR").await;
    assert_eq!(body["data"]["results"].as_array().unwrap().len(), 1);
    let (_, body) = app.get("cust", "/api/v0/chat/search?q=***").await;
    assert!(body["data"]["results"].as_array().unwrap().is_empty());
}
