//! Who receives which event: the chat service over a recording `Realtime`, so each test can
//! check the event's name, its payload and the users whose sockets it reached.

mod common;

use std::collections::BTreeSet;

use common::{TestApp, TestService};
use order_chat::service::OrderUpsert;
use order_chat::service::requests::{JoinRequest, MarkReadRequest, SendRequest, TypingRequest};
use serde_json::json;

fn users(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|u| u.to_string()).collect()
}

fn send_req(order: &str, text: &str) -> SendRequest {
    SendRequest::parse(&json!({"orderId": order, "message": text}), None).unwrap()
}

#[tokio::test]
async fn a_message_reaches_every_socket_in_the_room_and_no_one_else() {
    let t = TestService::spawn().await;
    let (cust, agent) = (t.caller("cust").await, t.caller("agent").await);
    let (cs, as_) = (t.socket(), t.socket());
    let join = |o: &str| JoinRequest::parse(&json!(o)).unwrap();
    t.service.join(&cust, &cs, join("o1")).await.unwrap();
    t.service.join(&agent, &as_, join("o1")).await.unwrap();
    t.events.clear();

    let sent = t
        .service
        .send(&cust, send_req("o1", "the big one?"))
        .await
        .unwrap();
    let got = t.events.named("new-message");
    assert_eq!(got.len(), 1, "one event per message: {got:?}");
    assert_eq!(got[0].order, "o1");
    assert_eq!(
        got[0].to,
        users(&["agent", "cust"]),
        "the sender's other tabs get it too"
    );
    assert_eq!(got[0].payload["message"], "the big one?");
    assert_eq!(got[0].payload["seq"], sent.seq);
    assert_eq!(got[0].payload["sender"]["name"], "Customer cust");
}

#[tokio::test]
async fn typing_and_presence_reach_the_others_only() {
    let t = TestService::spawn().await;
    let (cust, agent) = (t.caller("cust").await, t.caller("agent").await);
    let (cs, as_) = (t.socket(), t.socket());
    t.service
        .join(&cust, &cs, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    t.service
        .join(&agent, &as_, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    let joined = t.events.named("user-joined");
    assert_eq!(joined.len(), 2);
    assert_eq!(joined[1].payload["userId"], "agent");
    assert_eq!(joined[1].payload["type"], "agent");
    assert_eq!(joined[1].to, users(&["cust"]), "not announced to oneself");

    // A second socket of the agent announces nothing.
    let second = t.socket();
    t.service
        .join(&agent, &second, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    assert_eq!(t.events.named("user-joined").len(), 2);

    let typing = TypingRequest::parse(&json!({"orderId": "o1", "isTyping": true})).unwrap();
    t.service.typing(&agent, &as_, typing).await.unwrap();
    let typed = t.events.named("user-typing");
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].to, users(&["cust"]));
    assert_eq!(typed[0].payload["user"]["id"], "agent");

    // Leaving with one of two sockets is not leaving; with the last one it is.
    let o1 = order_chat::domain::OrderRef::parse("o1").unwrap();
    t.service.leave(&agent, &second, &o1).await.unwrap();
    assert!(t.events.named("user-left").is_empty());
    t.service.leave(&agent, &as_, &o1).await.unwrap();
    let left = t.events.named("user-left");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].to, users(&["cust"]));
    assert_eq!(left[0].payload["userId"], "agent");
}

#[tokio::test]
async fn a_read_marker_is_announced_to_the_room_once_it_moves() {
    let t = TestService::spawn().await;
    let (cust, agent) = (t.caller("cust").await, t.caller("agent").await);
    let cs = t.socket();
    t.service
        .join(&cust, &cs, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    let m = t
        .service
        .send(&agent, send_req("o1", "found it"))
        .await
        .unwrap();
    t.events.clear();
    let read = || MarkReadRequest::parse(&json!("o1")).unwrap();
    t.service.mark_read(&cust, read()).await.unwrap();
    let got = t.events.named("messages-read");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, users(&["cust"]));
    assert_eq!(got[0].payload["lastReadSeq"], m.seq);
    assert_eq!(got[0].payload["lastReadMessageId"], m.id);
    // Marking again moves nothing and announces nothing.
    t.service.mark_read(&cust, read()).await.unwrap();
    assert_eq!(t.events.named("messages-read").len(), 1);
}

#[tokio::test]
async fn a_backend_change_writes_a_system_message_then_order_updated() {
    let t = TestService::spawn().await;
    let cust = t.caller("cust").await;
    let cs = t.socket();
    t.service
        .join(&cust, &cs, JoinRequest::parse(&json!("o1")).unwrap())
        .await
        .unwrap();
    t.events.clear();
    let up = OrderUpsert::parse(
        "o1",
        &json!({"orderNumber": "B2S-AAAA1", "status": "delivery",
                "customer": {"id": "cust", "name": "Customer cust"},
                "agents": [{"id": "agent", "name": "Agent agent"}]}),
    )
    .unwrap();
    t.service.put_order(up).await.unwrap();
    let names: Vec<_> = t.events.events().iter().map(|e| e.name).collect();
    assert_eq!(names, vec!["new-message", "order-updated"]);
    let all = t.events.events();
    assert_eq!(all[0].payload["senderType"], "system");
    assert_eq!(
        all[0].payload["message"],
        "Order status changed to delivery"
    );
    assert_eq!(all[1].payload["status"], "delivery");
    assert_eq!(all[1].to, users(&["cust"]));
}

#[tokio::test]
async fn the_test_app_reads_as_a_user_story() {
    let app = TestApp::spawn().await;
    let sent = app.send("agent", "o1", "Fresh bread or sliced?").await;
    assert_eq!(sent["seq"], 1);
    let (status, unread) = app.get("cust", "/api/v0/chat/unread-count").await;
    assert_eq!(status, 200);
    assert_eq!(unread["data"]["byOrder"], json!({"o1": 1}));
    let (status, denied) = app.get("cust2", "/api/v0/chat/orders/o1/messages").await;
    assert_eq!((status, denied["code"].as_str()), (403, Some("FORBIDDEN")));
    let me = app.caller("cust").await;
    assert_eq!(me.user_id.as_str(), "cust");
}
