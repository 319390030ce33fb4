//! The storage suite's block for notifications (§14), run against SQLite and PostgreSQL: what
//! makes an order due, what a scan records, the outbox's claims and outcomes, subscriptions,
//! mutes and shared settings.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use order_chat::domain::{
    Attempt, Channel, NewDelivery, NewMessage, NotifyLeads, Order, OrderId, OrderStatus,
    PushSubscription, ScanRecord, UserId, UserType, now_millis,
};
use order_chat::store::Store;

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}

async fn an_order(s: &dyn Store, id: &str) {
    s.put_order(&Order {
        id: oid(id),
        number: Some(format!("N-{id}")),
        status: OrderStatus::parse("shopping").unwrap(),
        customer_id: uid("cust"),
        agent_ids: vec![uid("agent")],
    })
    .await
    .unwrap();
}

fn msg(order: &str, sender: &str, at: i64) -> NewMessage {
    NewMessage {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: oid(order),
        sender_id: sender.into(),
        sender_type: UserType::Customer,
        body: "hello".into(),
        image_url: None,
        attachment_ids: vec![],
        client_message_id: None,
        created_at: at,
        reply_to_id: None,
    }
}

fn delivery(id: &str, at: i64) -> NewDelivery {
    NewDelivery {
        id: id.into(),
        channel: Channel::Webhook,
        target: None,
        event_type: "notification.due".into(),
        payload: format!("{{\"n\":\"{id}\"}}"),
        created_at: at,
    }
}

async fn a_message_makes_its_order_due_after_the_lead(s: Arc<dyn Store>) {
    an_order(s.as_ref(), "o1").await;
    // Without leads nothing is marked.
    s.insert_message(msg("o1", "cust", 1_000)).await.unwrap();
    assert!(s.due_orders(i64::MAX / 2, 10).await.unwrap().is_empty());
    s.set_notify_leads(NotifyLeads {
        on_message: Some(30_000),
        on_change: None,
    });
    s.insert_message(msg("o1", "cust", 2_000)).await.unwrap();
    assert!(s.due_orders(31_999, 10).await.unwrap().is_empty());
    let due = s.due_orders(32_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].order_id, oid("o1"));
    assert_eq!((due[0].last_seq, due[0].last_rev), (2, 2));
    // A later message keeps the earlier time.
    s.insert_message(msg("o1", "cust", 5_000)).await.unwrap();
    assert_eq!(s.due_orders(32_000, 10).await.unwrap().len(), 1);
}

async fn unnotified_counts_others_messages_above_a_seq(s: Arc<dyn Store>) {
    an_order(s.as_ref(), "o1").await;
    for (sender, at) in [("cust", 10), ("agent", 20), ("cust", 30), ("cust", 40)] {
        s.insert_message(msg("o1", sender, at)).await.unwrap();
    }
    let u = s
        .unnotified(&oid("o1"), &uid("agent"), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.count, u.first_at, u.last_seq), (3, 10, 4));
    let u = s
        .unnotified(&oid("o1"), &uid("agent"), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.count, u.first_at, u.last_seq), (2, 30, 4));
    assert_eq!(
        s.unnotified(&oid("o1"), &uid("agent"), 4).await.unwrap(),
        None
    );
    let u = s
        .unnotified(&oid("o1"), &uid("cust"), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.count, u.last_seq), (1, 2));
}

async fn a_scan_records_once_and_keeps_new_activity_due(s: Arc<dyn Store>) {
    an_order(s.as_ref(), "o1").await;
    s.set_notify_leads(NotifyLeads {
        on_message: Some(0),
        on_change: None,
    });
    s.insert_message(msg("o1", "cust", 100)).await.unwrap();
    let due = s.due_orders(100, 10).await.unwrap().remove(0);
    let scan = ScanRecord {
        seen_rev: due.last_rev,
        hook_rev: 1,
        hook_seq: 1,
        marks: vec![(uid("agent"), 1)],
        deliveries: vec![delivery("msg_a", 100), delivery("msg_a", 100)],
        next_at: None,
        now: 200,
    };
    s.record_scan(&oid("o1"), scan.clone()).await.unwrap();
    // Recorded twice (two nodes, a repeat after a crash): still one row.
    s.record_scan(&oid("o1"), scan.clone()).await.unwrap();
    assert_eq!(s.pending_deliveries().await.unwrap(), 1);
    assert!(s.due_orders(i64::MAX / 2, 10).await.unwrap().is_empty());
    let state = s.notify_state(&oid("o1")).await.unwrap();
    assert_eq!((state.hook_rev, state.hook_seq), (1, 1));
    assert_eq!(state.marks.get(&uid("agent")), Some(&1));
    // A mark never goes down.
    let lower = ScanRecord {
        marks: vec![(uid("agent"), 0)],
        deliveries: vec![],
        ..scan.clone()
    };
    s.record_scan(&oid("o1"), lower).await.unwrap();
    let state = s.notify_state(&oid("o1")).await.unwrap();
    assert_eq!(state.marks.get(&uid("agent")), Some(&1));
    // A message stored while a scan ran (rev moved past what it saw): due again from its now.
    s.insert_message(msg("o1", "cust", 300)).await.unwrap();
    let stale = ScanRecord {
        seen_rev: due.last_rev,
        next_at: None,
        now: 400,
        deliveries: vec![],
        ..scan
    };
    s.record_scan(&oid("o1"), stale).await.unwrap();
    let again = s.due_orders(400, 10).await.unwrap();
    assert_eq!(again.len(), 1, "the newer message must stay due");
    assert!(s.due_orders(299, 10).await.unwrap().is_empty());
}

async fn deliveries_are_claimed_by_one_and_retried(s: Arc<dyn Store>) {
    an_order(s.as_ref(), "o1").await;
    let scan = ScanRecord {
        deliveries: (0..5)
            .map(|i| delivery(&format!("msg_{i}"), 1_000 + i))
            .collect(),
        now: 1_000,
        ..ScanRecord::default()
    };
    s.record_scan(&oid("o1"), scan).await.unwrap();
    // Concurrent claimers never share a row.
    let claims =
        futures_util::future::join_all((0..4).map(|_| s.claim_deliveries(2_000, 62_000, 2))).await;
    let mut seen = HashSet::new();
    for c in claims {
        for d in c.unwrap() {
            assert_eq!(d.attempts, 0);
            assert!(seen.insert(d.id.clone()), "{} claimed twice", d.id);
        }
    }
    assert_eq!(seen.len(), 5);
    // Held: nobody else gets them until the lock passes.
    assert!(
        s.claim_deliveries(3_000, 63_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    s.finish_deliveries(
        &[
            ("msg_0".into(), Attempt::Delivered),
            (
                "msg_1".into(),
                Attempt::Dead {
                    error: "HTTP 400".into(),
                },
            ),
            (
                "msg_2".into(),
                Attempt::Retry {
                    at: 10_000,
                    error: "HTTP 500".into(),
                },
            ),
        ],
        false,
        3_000,
    )
    .await
    .unwrap();
    assert!(
        s.claim_deliveries(9_999, 70_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = s.claim_deliveries(10_000, 70_000, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id.as_str(), retried[0].attempts), ("msg_2", 1));
    assert_eq!(retried[0].payload, "{\"n\":\"msg_2\"}");
    // A node that died holding msg_3 and msg_4: after the lock they are anyone's, oldest first.
    let orphans = s.claim_deliveries(62_000, 122_000, 10).await.unwrap();
    let ids: Vec<&str> = orphans.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["msg_3", "msg_4"]);
    assert_eq!(s.pending_deliveries().await.unwrap(), 3);
    // Pruning: delivered after an hour, dead after a week (here: by the times given).
    assert_eq!(s.prune_deliveries(3_001, 0).await.unwrap(), 1);
    assert_eq!(s.prune_deliveries(3_001, 3_001).await.unwrap(), 1);
    assert_eq!(s.pending_deliveries().await.unwrap(), 3);
}

async fn a_webhook_back_hastens_its_retries(s: Arc<dyn Store>) {
    an_order(s.as_ref(), "o1").await;
    let mut push = delivery("push_0", 1_000);
    push.channel = Channel::Push;
    push.target = Some("https://p/0".into());
    let scan = ScanRecord {
        deliveries: vec![
            delivery("msg_0", 1_000),
            delivery("msg_1", 1_001),
            delivery("msg_2", 1_002),
            push,
        ],
        now: 1_000,
        ..ScanRecord::default()
    };
    s.record_scan(&oid("o1"), scan).await.unwrap();
    let first = s.claim_deliveries(2_000, 62_000, 10).await.unwrap();
    assert_eq!(first.len(), 4);
    // The receiver is down: every row waits long (msg_2 was not attempted yet: claimed later).
    let fail = |id: &str, at| {
        (
            id.to_string(),
            Attempt::Retry {
                at,
                error: "connection refused".into(),
            },
        )
    };
    s.finish_deliveries(
        &[
            fail("msg_0", 100_000),
            fail("msg_1", 500_000),
            fail("push_0", 500_000),
            fail("msg_2", 2_500),
        ],
        false,
        2_000,
    )
    .await
    .unwrap();
    let retry = s.claim_deliveries(3_000, 63_000, 10).await.unwrap();
    assert_eq!(
        retry.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["msg_2"]
    );
    // msg_2 gets through: the other failed webhook rows are due now; the push row is not.
    s.finish_deliveries(&[("msg_2".into(), Attempt::Delivered)], true, 3_000)
        .await
        .unwrap();
    let due = s.claim_deliveries(3_000, 63_000, 10).await.unwrap();
    let mut ids: Vec<&str> = due.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["msg_0", "msg_1"]);
    assert!(due.iter().all(|d| d.attempts == 1));
}

fn sub(endpoint: &str, user: &str, at: i64) -> PushSubscription {
    PushSubscription {
        endpoint: endpoint.into(),
        user_id: uid(user),
        p256dh: "key".into(),
        auth: "auth".into(),
        created_at: at,
    }
}

async fn push_subscriptions_keep_the_newest_ten(s: Arc<dyn Store>) {
    for i in 0..12 {
        let new = s
            .put_push_subscription(&sub(&format!("https://p/{i}"), "u1", i), 10)
            .await
            .unwrap();
        assert!(new);
    }
    let mine = s.push_subscriptions_of(&uid("u1")).await.unwrap();
    let endpoints: Vec<&str> = mine.iter().map(|s| s.endpoint.as_str()).collect();
    assert_eq!(endpoints.len(), 10);
    assert_eq!(endpoints[0], "https://p/2", "the two oldest went");
    // The same endpoint again, by another user (the browser changed hands): replaced.
    assert!(
        !s.put_push_subscription(&sub("https://p/5", "u2", 50), 10)
            .await
            .unwrap()
    );
    assert_eq!(s.push_subscriptions_of(&uid("u1")).await.unwrap().len(), 9);
    assert_eq!(
        s.push_subscriptions_of(&uid("u2")).await.unwrap()[0].created_at,
        50
    );
    // Only its owner removes it.
    assert!(
        !s.delete_push_subscription(&uid("u1"), "https://p/5")
            .await
            .unwrap()
    );
    assert!(
        s.delete_push_subscription(&uid("u2"), "https://p/5")
            .await
            .unwrap()
    );
    s.forget_push_endpoint("https://p/6").await.unwrap();
    let found = s
        .push_subscriptions(&[
            "https://p/6".into(),
            "https://p/7".into(),
            "https://x".into(),
        ])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].endpoint, "https://p/7");
}

/// Subscriptions of one user arriving at once (several tabs, several nodes) still leave the
/// newest ten: each waits for the other instead of both trimming what they alone saw.
async fn concurrent_subscriptions_of_a_user_keep_ten(s: Arc<dyn Store>) {
    for i in 0..10 {
        s.put_push_subscription(&sub(&format!("https://c/old{i}"), "busy", i), 10)
            .await
            .unwrap();
    }
    for round in 0..3 {
        let tasks: Vec<_> = (0..8)
            .map(|k| {
                let s = s.clone();
                tokio::spawn(async move {
                    let at = 100 + round * 10 + k;
                    s.put_push_subscription(&sub(&format!("https://c/{round}-{k}"), "busy", at), 10)
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap(), "each endpoint is new");
        }
        let kept = s.push_subscriptions_of(&uid("busy")).await.unwrap();
        assert_eq!(kept.len(), 10, "round {round}: ten kept, not more");
    }
}

async fn mutes_and_settings(s: Arc<dyn Store>) {
    an_order(s.as_ref(), "o1").await;
    assert!(!s.is_muted(&oid("o1"), &uid("cust")).await.unwrap());
    s.set_muted(&oid("o1"), &uid("cust"), true, now_millis())
        .await
        .unwrap();
    s.set_muted(&oid("o1"), &uid("cust"), true, now_millis())
        .await
        .unwrap();
    assert!(s.is_muted(&oid("o1"), &uid("cust")).await.unwrap());
    assert!(!s.is_muted(&oid("o1"), &uid("agent")).await.unwrap());
    let state = s.notify_state(&oid("o1")).await.unwrap();
    assert!(state.muted.contains(&uid("cust")));
    s.set_muted(&oid("o1"), &uid("cust"), false, now_millis())
        .await
        .unwrap();
    assert!(!s.is_muted(&oid("o1"), &uid("cust")).await.unwrap());
    // The first value stored wins, for every later caller.
    assert_eq!(s.setting_or_insert("k", "first").await.unwrap(), "first");
    assert_eq!(s.setting_or_insert("k", "second").await.unwrap(), "first");
}

store_suite!(
    a_message_makes_its_order_due_after_the_lead,
    unnotified_counts_others_messages_above_a_seq,
    a_scan_records_once_and_keeps_new_activity_due,
    deliveries_are_claimed_by_one_and_retried,
    a_webhook_back_hastens_its_retries,
    push_subscriptions_keep_the_newest_ten,
    concurrent_subscriptions_of_a_user_keep_ten,
    mutes_and_settings,
);
