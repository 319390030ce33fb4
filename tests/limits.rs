//! Abuse limits and the shutdown drain, each with its error code.

mod common;

use std::time::Duration;

use common::{FakeSocket, call, seed, settings, sqlite_db, token};
use order_chat::service::Limits;
use order_chat::service::requests::{JoinRequest, SendRequest, TypingRequest};
use serde_json::json;

async fn app_with(db: &common::TestDb, limits: Limits) -> order_chat::app::Built {
    let mut s = settings(db);
    s.limits = limits;
    order_chat::app::build(&s).await.unwrap()
}

#[tokio::test]
async fn too_many_messages_are_rate_limited_with_a_retry_hint() {
    let db = sqlite_db();
    let b = app_with(
        &db,
        Limits {
            messages_per_second: 1,
            message_burst: 3,
            ..Limits::default()
        },
    )
    .await;
    seed(&b).await;
    let me = b.service.authenticate(Some(&token("cust"))).await.unwrap();
    let req = |i: i32| {
        SendRequest::parse(&json!({"orderId": "o1", "message": format!("m{i}")}), None).unwrap()
    };
    for i in 0..3 {
        b.service.send(&me, req(i)).await.expect("within the burst");
    }
    let err = b.service.send(&me, req(3)).await.unwrap_err();
    assert_eq!(err.code(), "RATE_LIMITED");
    let wait = err.retry_after().expect("a retry hint");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    // Another user has their own budget.
    let agent = b.service.authenticate(Some(&token("agent"))).await.unwrap();
    b.service.send(&agent, req(9)).await.unwrap();
    // REST shares the same budget and says 429 with Retry-After.
    let (status, body) = call(
        &b,
        "POST",
        "/api/v0/chat/orders/o1/messages",
        Some(&token("cust")),
        Some(json!({"message": "again"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (429, "RATE_LIMITED")
    );
    assert!(body["retryAfterMs"].as_u64().unwrap() <= 1000);
    // Nothing over the limit was stored.
    let (_, h) = call(
        &b,
        "GET",
        "/api/v0/chat/messages/o1",
        Some(&token("cust")),
        None,
    )
    .await;
    assert_eq!(h["data"]["messages"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn typing_is_throttled_not_refused() {
    let db = sqlite_db();
    let b = app_with(
        &db,
        Limits {
            typing_per_second: 2,
            ..Limits::default()
        },
    )
    .await;
    seed(&b).await;
    let me = b.service.authenticate(Some(&token("cust"))).await.unwrap();
    let sock = FakeSocket::default();
    b.service
        .join(&me, &sock, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    let mut throttled = 0;
    for _ in 0..10 {
        let r = b
            .service
            .typing(
                &me,
                &sock,
                TypingRequest::parse(&json!({"orderId": "o1", "isTyping": true})).unwrap(),
            )
            .await
            .unwrap();
        throttled += usize::from(r.throttled);
    }
    assert!(
        throttled >= 7,
        "only the first events of the second are broadcast ({throttled} throttled)"
    );
}

#[tokio::test]
async fn a_socket_may_join_a_bounded_number_of_chats() {
    let db = sqlite_db();
    let b = app_with(
        &db,
        Limits {
            rooms_per_socket: 2,
            ..Limits::default()
        },
    )
    .await;
    for o in ["r1", "r2", "r3"] {
        common::put_order(&b, o, &format!("B2S-{o}"), "shopping", "cust", &["agent"]).await;
    }
    let me = b.service.authenticate(Some(&token("cust"))).await.unwrap();
    let sock = FakeSocket::default();
    let join = |o: &str| JoinRequest::parse(&json!(o)).unwrap();
    b.service.join(&me, &sock, join("r1")).await.unwrap();
    b.service.join(&me, &sock, join("r2")).await.unwrap();
    b.service
        .join(&me, &sock, join("r2"))
        .await
        .expect("re-joining a chat is not a new one");
    let err = b.service.join(&me, &sock, join("r3")).await.unwrap_err();
    assert_eq!(err.code(), "LIMIT_EXCEEDED");
    assert_eq!(sock.joined_orders().len(), 2);
}

use order_chat::realtime::Membership;

#[tokio::test]
async fn shutdown_refuses_new_sends_after_draining() {
    let db = sqlite_db();
    let b = app_with(&db, Limits::default()).await;
    seed(&b).await;
    let me = b.service.authenticate(Some(&token("cust"))).await.unwrap();
    let req = SendRequest::parse(&json!({"orderId": "o1", "message": "before"}), None).unwrap();
    b.service.send(&me, req).await.unwrap();
    b.service.shutdown(Duration::from_secs(1)).await;
    let req = SendRequest::parse(&json!({"orderId": "o1", "message": "after"}), None).unwrap();
    let err = b.service.send(&me, req).await.unwrap_err();
    assert_eq!(err.code(), "SHUTTING_DOWN");
    assert!(err.retry_after().is_some());
}
