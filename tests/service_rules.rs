//! The chat service's rules, one test per rule, on SQLite in a temp dir.

mod common;

use common::{FakeSocket, app, seed, sqlite_db, token};
use order_chat::domain::{OrderRef, Page};
use order_chat::error::{AuthFailure, ChatError};
use order_chat::service::requests::{JoinRequest, MarkReadRequest, SendRequest, TypingRequest};
use order_chat::service::{Caller, ChatService, UserUpsert};
use serde_json::json;

async fn caller(svc: &ChatService, user: &str) -> Caller {
    svc.authenticate(Some(&token(user)))
        .await
        .expect("valid token")
}

fn send_req(order: &str, text: &str) -> SendRequest {
    SendRequest::parse(&json!({"orderId": order, "message": text}), None).unwrap()
}

fn order(o: &str) -> OrderRef {
    OrderRef::parse(o).unwrap()
}

fn code<T: std::fmt::Debug>(r: Result<T, ChatError>) -> &'static str {
    r.expect_err("expected an error").code()
}

#[tokio::test]
async fn a_non_participant_is_forbidden_on_every_use_case() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let svc = &b.service;
    for outsider in ["cust2", "agent2"] {
        let me = caller(svc, outsider).await;
        let sock = FakeSocket::default();
        let join = JoinRequest::parse(&json!("o1")).unwrap();
        assert_eq!(
            code(svc.join(&me, &sock, join).await),
            "FORBIDDEN",
            "{outsider} join"
        );
        assert!(
            sock.joined_orders().is_empty(),
            "a refused join enters no room"
        );
        assert_eq!(code(svc.send(&me, send_req("o1", "hi")).await), "FORBIDDEN");
        let typing = TypingRequest::parse(&json!({"orderId": "o1", "isTyping": true})).unwrap();
        assert_eq!(code(svc.typing(&me, &sock, typing).await), "FORBIDDEN");
        assert_eq!(code(svc.leave(&me, &sock, &order("o1")).await), "FORBIDDEN");
        let read = MarkReadRequest::parse(&json!("o1")).unwrap();
        assert_eq!(code(svc.mark_read(&me, read).await), "FORBIDDEN");
        assert_eq!(
            code(
                svc.history(&me, &order("o1"), Page::Latest { limit: 10 })
                    .await
            ),
            "FORBIDDEN"
        );
        assert_eq!(code(svc.unread(&me, Some(&order("o1"))).await), "FORBIDDEN");
        // Addressing the order by its number changes nothing.
        assert_eq!(
            code(svc.send(&me, send_req("B2S-AAAA1", "hi")).await),
            "FORBIDDEN"
        );
    }
}

use order_chat::realtime::Membership;

#[tokio::test]
async fn participants_and_admins_get_in() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let svc = &b.service;
    let admin = svc
        .authenticate(Some(&common::admin_token("ops@busy2shop.com")))
        .await
        .unwrap();
    assert!(admin.is_admin);
    for me in [caller(svc, "cust").await, caller(svc, "agent").await, admin] {
        let sock = FakeSocket::default();
        let joined = svc
            .join(&me, &sock, JoinRequest::parse(&json!("B2S-AAAA1")).unwrap())
            .await
            .unwrap();
        assert_eq!(joined.order_id, "o1", "numbers resolve to ids");
        let m = svc.send(&me, send_req("o1", "hello")).await.unwrap();
        assert_eq!(m.sender_id, me.user_id.as_str());
        svc.history(&me, &order("o1"), Page::Latest { limit: 5 })
            .await
            .unwrap();
    }
    let msgs = svc
        .history(
            &caller(svc, "cust").await,
            &order("o1"),
            Page::Latest { limit: 5 },
        )
        .await
        .unwrap()
        .messages;
    let types: Vec<_> = msgs.iter().map(|m| m.sender_type.as_str()).collect();
    assert_eq!(types, vec!["customer", "agent", "admin"]);
}

#[tokio::test]
async fn an_unknown_order_is_order_not_found() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let me = caller(&b.service, "cust").await;
    assert_eq!(
        code(b.service.send(&me, send_req("no-such-order", "x")).await),
        "ORDER_NOT_FOUND"
    );
    let sock = FakeSocket::default();
    assert_eq!(
        code(
            b.service
                .join(
                    &me,
                    &sock,
                    JoinRequest::parse(&json!("no-such-order")).unwrap()
                )
                .await
        ),
        "ORDER_NOT_FOUND"
    );
}

#[tokio::test]
async fn closed_orders_are_read_only() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let me = caller(&b.service, "cust").await;
    b.service
        .send(&me, send_req("o1", "before closing"))
        .await
        .unwrap();
    for status in ["completed", "cancelled"] {
        common::put_order(&b, "o1", "B2S-AAAA1", status, "cust", &["agent"]).await;
        assert_eq!(
            code(b.service.send(&me, send_req("o1", "too late")).await),
            "ORDER_CLOSED"
        );
        let h = b
            .service
            .history(&me, &order("o1"), Page::Latest { limit: 50 })
            .await
            .unwrap();
        assert!(
            h.messages.iter().any(|m| m.message == "before closing"),
            "history stays readable"
        );
        assert!(!h.messages.iter().any(|m| m.message == "too late"));
    }
}

#[tokio::test]
async fn a_repeated_client_message_id_stores_nothing_new() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let me = caller(&b.service, "cust").await;
    let req = SendRequest::parse(
        &json!({"orderId": "o1", "message": "hi", "clientMessageId": "c-1"}),
        None,
    )
    .unwrap();
    let first = b.service.send(&me, req.clone()).await.unwrap();
    let again = b.service.send(&me, req).await.unwrap();
    assert_eq!(
        (again.id.as_str(), again.seq),
        (first.id.as_str(), first.seq)
    );
    let h = b
        .service
        .history(&me, &order("o1"), Page::Latest { limit: 50 })
        .await
        .unwrap();
    assert_eq!(h.messages.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_is_gapless_with_50_concurrent_senders() {
    let db = sqlite_db();
    let b = app(&db).await;
    let agents: Vec<String> = (0..9).map(|i| format!("ag{i}")).collect();
    let refs: Vec<&str> = agents.iter().map(String::as_str).collect();
    common::put_order(&b, "busy", "B2S-BUSY", "shopping", "cust", &refs).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let svc = b.service.clone();
        let user = if i % 10 == 9 {
            "cust".to_owned()
        } else {
            format!("ag{}", i % 10)
        };
        tasks.push(tokio::spawn(async move {
            let me = svc.authenticate(Some(&token(&user))).await.unwrap();
            svc.send(&me, send_req("busy", &format!("m{i}")))
                .await
                .unwrap()
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=50).collect::<Vec<i64>>());
}

#[tokio::test]
async fn read_markers_never_move_back() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let (cust, agent) = (
        caller(&b.service, "cust").await,
        caller(&b.service, "agent").await,
    );
    for i in 0..6 {
        b.service
            .send(&cust, send_req("o1", &format!("m{i}")))
            .await
            .unwrap();
    }
    let mark = |up: Option<i64>| MarkReadRequest {
        order: order("o1"),
        up_to_seq: up,
    };
    let r = b.service.mark_read(&agent, mark(Some(5))).await.unwrap();
    assert_eq!((r.last_read_seq, r.marked), (5, true));
    let r = b.service.mark_read(&agent, mark(Some(3))).await.unwrap();
    assert_eq!(
        (r.last_read_seq, r.marked),
        (5, false),
        "a marker never moves back"
    );
    let r = b.service.mark_read(&agent, mark(Some(99))).await.unwrap();
    assert_eq!(
        (r.last_read_seq, r.marked),
        (6, true),
        "clamped to the latest message"
    );
    let r = b.service.mark_read(&agent, mark(None)).await.unwrap();
    assert_eq!((r.last_read_seq, r.marked), (6, false));
    // isRead / readBy derive from the marker; the sender's own marker never counts.
    b.service.mark_read(&cust, mark(None)).await.unwrap();
    b.service
        .send(&cust, send_req("o1", "unread one"))
        .await
        .unwrap();
    let h = b
        .service
        .history(&cust, &order("o1"), Page::Latest { limit: 50 })
        .await
        .unwrap();
    for m in &h.messages[..6] {
        assert!(m.is_read);
        assert_eq!(m.read_by, vec!["agent".to_owned()]);
    }
    assert!(!h.messages[6].is_read && h.messages[6].read_by.is_empty());
}

#[tokio::test]
async fn unread_counts_span_the_callers_orders_only() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    common::put_order(&b, "o3", "B2S-CCCC3", "shopping", "cust", &["agent2"]).await;
    let svc = &b.service;
    let (cust, agent, agent2) = (
        caller(svc, "cust").await,
        caller(svc, "agent").await,
        caller(svc, "agent2").await,
    );
    let cust2 = caller(svc, "cust2").await;
    svc.send(&agent, send_req("o1", "a")).await.unwrap();
    svc.send(&agent, send_req("o1", "b")).await.unwrap();
    svc.send(&agent2, send_req("o3", "c")).await.unwrap();
    svc.send(&cust, send_req("o1", "own")).await.unwrap();
    svc.send(&cust2, send_req("o2", "other order"))
        .await
        .unwrap();
    let u = svc.unread(&cust, None).await.unwrap();
    assert_eq!((u.count, u.total), (3, 3));
    let by: Vec<_> = u.by_order.unwrap().into_iter().collect();
    assert_eq!(by, vec![("o1".to_owned(), 2), ("o3".to_owned(), 1)]);
    let one = svc.unread(&cust, Some(&order("o3"))).await.unwrap();
    assert_eq!((one.count, one.by_order.is_none()), (1, true));
    svc.mark_read(
        &cust,
        MarkReadRequest {
            order: order("o1"),
            up_to_seq: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(svc.unread(&cust, None).await.unwrap().count, 1);
}

#[tokio::test]
async fn typing_needs_a_joined_socket() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let me = caller(&b.service, "cust").await;
    let sock = FakeSocket::default();
    let typing = || TypingRequest::parse(&json!({"orderId": "o1", "isTyping": true})).unwrap();
    assert_eq!(
        code(b.service.typing(&me, &sock, typing()).await),
        "NOT_JOINED"
    );
    b.service
        .join(&me, &sock, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    b.service.typing(&me, &sock, typing()).await.unwrap();
    b.service.leave(&me, &sock, &order("o1")).await.unwrap();
    assert_eq!(
        code(b.service.typing(&me, &sock, typing()).await),
        "NOT_JOINED"
    );
}

#[tokio::test]
async fn join_pages_history_with_since_and_limit() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let me = caller(&b.service, "cust").await;
    for i in 1..=8 {
        b.service
            .send(&me, send_req("o1", &format!("m{i}")))
            .await
            .unwrap();
    }
    let sock = FakeSocket::default();
    let j = b
        .service
        .join(
            &me,
            &sock,
            JoinRequest::parse(&json!({"orderId": "o1", "limit": 3})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        j.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![6, 7, 8]
    );
    assert!(j.has_more);
    let j = b
        .service
        .join(
            &me,
            &sock,
            JoinRequest::parse(&json!({"orderId": "o1", "since": 5})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        j.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![6, 7, 8]
    );
    assert!(!j.has_more);
    let j = b
        .service
        .join(
            &me,
            &sock,
            JoinRequest::parse(&json!({"orderId": "o1", "since": 2, "limit": 2})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        j.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert!(j.has_more);
}

#[tokio::test]
async fn backend_changes_write_system_messages() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let me = caller(&b.service, "cust").await;
    common::put_order(&b, "o1", "B2S-AAAA1", "shopping", "cust", &["agent"]).await; // no change
    common::put_order(
        &b,
        "o1",
        "B2S-AAAA1",
        "delivery",
        "cust",
        &["agent", "tunde"],
    )
    .await;
    common::put_order(&b, "o1", "B2S-AAAA1", "delivery", "cust", &["tunde"]).await;
    let h = b
        .service
        .history(&me, &order("o1"), Page::Latest { limit: 50 })
        .await
        .unwrap();
    let texts: Vec<_> = h
        .messages
        .iter()
        .map(|m| (m.sender_type.as_str(), m.message.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("system", "Agent Agent tunde joined the order"),
            ("system", "Order status changed to delivery"),
            ("system", "Agent Agent agent left the order"),
        ]
    );
    assert_eq!(h.messages[0].sender.name, "System");
    // The new agent may now use the chat; the removed one may not.
    let tunde = caller(&b.service, "tunde").await;
    b.service
        .send(&tunde, send_req("o1", "on my way"))
        .await
        .unwrap();
    let gone = caller(&b.service, "agent").await;
    assert_eq!(
        code(b.service.send(&gone, send_req("o1", "hi")).await),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn blocked_users_are_refused() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    caller(&b.service, "cust").await;
    let block = UserUpsert::parse(
        "cust",
        &json!({"name": "Customer cust", "type": "customer", "blocked": true}),
    )
    .unwrap();
    b.service.put_user(block).await.unwrap();
    let err = b
        .service
        .authenticate(Some(&token("cust")))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Unauthorized(AuthFailure::Blocked)));
    assert_eq!(
        err.to_string(),
        "Your account has been blocked. Please contact support"
    );
    let unblock = UserUpsert::parse(
        "cust",
        &json!({"name": "Customer cust", "type": "customer", "blocked": false}),
    )
    .unwrap();
    b.service.put_user(unblock).await.unwrap();
    b.service.authenticate(Some(&token("cust"))).await.unwrap();
}

#[tokio::test]
async fn profiles_come_from_the_directory_before_claims() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let t = common::sign(
        json!({"user": {"id": "cust"}, "name": "Claimed Name", "type": "agent"}),
        common::SECRET,
    );
    let me = b.service.authenticate(Some(&t)).await.unwrap();
    assert_eq!(
        (me.name.as_str(), me.user_type.as_str()),
        ("Customer cust", "customer")
    );
    let t = common::sign(
        json!({"sub": "newcomer", "name": "New Person", "type": "agent"}),
        common::SECRET,
    );
    let me = b.service.authenticate(Some(&t)).await.unwrap();
    assert_eq!(
        (me.user_id.as_str(), me.name.as_str(), me.user_type.as_str()),
        ("newcomer", "New Person", "agent")
    );
}
