//! The storage suite of attachments (§12), on both backends: the row round trip, the claim a
//! send makes (one winner), removal with the message, the 24 h expiry, the purge, the lease.

mod common;

use std::sync::Arc;

use order_chat::domain::{
    Attachment, AttachmentKind, BlobInfo, Change, MessageId, NewMessage, Order, OrderId,
    OrderStatus, UserId, UserType, now_millis,
};
use order_chat::store::Store;

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}

async fn open_order(s: &Arc<dyn Store>, id: &str) {
    s.put_order(&Order {
        id: oid(id),
        number: None,
        status: OrderStatus::parse("shopping").unwrap(),
        customer_id: uid("c1"),
        agent_ids: vec![uid("a1")],
    })
    .await
    .unwrap();
}

fn upload(order: &str, uploader: &str, created_at: i64) -> Attachment {
    Attachment {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: oid(order),
        uploader_id: uid(uploader),
        message_id: None,
        name: "reçu 1.jpg".into(),
        kind: AttachmentKind::Image,
        original: BlobInfo {
            content_type: "image/jpeg".into(),
            size: 1234,
            sha256: "ab".repeat(32),
        },
        thumbnail: Some(BlobInfo {
            content_type: "image/jpeg".into(),
            size: 99,
            sha256: "cd".repeat(32),
        }),
        width: Some(200),
        height: Some(400),
        duration_ms: None,
        created_at,
        removed_at: None,
    }
}

async fn store_message(s: &Arc<dyn Store>, id: &str, order: &str, files: Vec<String>) {
    s.insert_message(NewMessage {
        id: id.into(),
        order_id: oid(order),
        sender_id: "c1".into(),
        sender_type: UserType::Customer,
        body: String::new(),
        image_url: None,
        attachment_ids: files,
        client_message_id: None,
        created_at: now_millis(),
        reply_to_id: None,
    })
    .await
    .unwrap();
}

async fn rows_round_trip(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let mut a = upload("o1", "c1", now_millis());
    a.kind = AttachmentKind::Audio;
    a.thumbnail = None;
    a.duration_ms = Some(4500);
    s.put_attachment(&a).await.unwrap();
    let b = upload("o1", "c1", now_millis());
    s.put_attachment(&b).await.unwrap();
    let mut got = s
        .attachments_by_id(&[a.id.clone(), b.id.clone(), "nope".into()])
        .await
        .unwrap();
    got.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(got, vec![a.clone(), b.clone()]);
    let one = s.attachment(&a.id).await.unwrap().unwrap();
    assert_eq!(one.attachment, a);
    assert!(!one.is_attached() && one.servable());
    assert!(s.attachment("nope").await.unwrap().is_none());
}

async fn a_claim_has_one_winner(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    open_order(&s, "o2").await;
    let a = upload("o1", "c1", now_millis());
    let b = upload("o1", "c1", now_millis());
    let other_order = upload("o2", "c1", now_millis());
    let other_user = upload("o1", "a1", now_millis());
    for x in [&a, &b, &other_order, &other_user] {
        s.put_attachment(x).await.unwrap();
    }
    let ids = vec![
        a.id.clone(),
        b.id.clone(),
        other_order.id.clone(),
        other_user.id.clone(),
    ];
    let mut taken = s
        .claim_attachments(&ids, &oid("o1"), &uid("c1"), "m1")
        .await
        .unwrap();
    taken.sort();
    let mut mine = vec![a.id.clone(), b.id.clone()];
    mine.sort();
    assert_eq!(taken, mine, "only the uploader's own uploads of this order");
    // A second message cannot take them.
    assert!(
        s.claim_attachments(&mine, &oid("o1"), &uid("c1"), "m2")
            .await
            .unwrap()
            .is_empty()
    );
    // Released (the send failed): free again.
    s.release_attachments("m1").await.unwrap();
    assert_eq!(
        s.claim_attachments(std::slice::from_ref(&a.id), &oid("o1"), &uid("c1"), "m2")
            .await
            .unwrap(),
        vec![a.id.clone()]
    );
    // The claim of m2 has no stored message yet: it does not count as attached.
    let got = s.attachment(&a.id).await.unwrap().unwrap();
    assert_eq!(got.attachment.message_id.as_deref(), Some("m2"));
    assert!(!got.is_attached());
    let m2 = uuid::Uuid::now_v7().to_string();
    s.release_attachments("m2").await.unwrap();
    s.claim_attachments(std::slice::from_ref(&a.id), &oid("o1"), &uid("c1"), &m2)
        .await
        .unwrap();
    store_message(&s, &m2, "o1", vec![a.id.clone()]).await;
    let got = s.attachment(&a.id).await.unwrap().unwrap();
    assert!(got.is_attached() && got.servable());
}

async fn a_deleted_message_stops_serving_at_once(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let a = upload("o1", "c1", now_millis());
    s.put_attachment(&a).await.unwrap();
    let m = uuid::Uuid::now_v7().to_string();
    s.claim_attachments(std::slice::from_ref(&a.id), &oid("o1"), &uid("c1"), &m)
        .await
        .unwrap();
    store_message(&s, &m, "o1", vec![a.id.clone()]).await;
    let del = Change::Delete {
        message_id: MessageId::parse(&m).unwrap(),
        by: uid("c1"),
        at: now_millis(),
    };
    s.apply_change(&oid("o1"), del).await.unwrap();
    // Before any removal mark: the tombstone alone makes it unservable.
    let got = s.attachment(&a.id).await.unwrap().unwrap();
    assert!(got.message_deleted && !got.servable());
    let removed = s.remove_attachments_of(&m, now_millis()).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert!(
        s.remove_attachments_of(&m, now_millis())
            .await
            .unwrap()
            .is_empty(),
        "once"
    );
    assert_eq!(s.removed_attachments(10).await.unwrap().len(), 1);
    s.forget_attachments(std::slice::from_ref(&a.id))
        .await
        .unwrap();
    assert!(s.attachment(&a.id).await.unwrap().is_none());
}

async fn unattached_uploads_expire(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let day = 24 * 3600 * 1000;
    let now = now_millis();
    let old = upload("o1", "c1", now - day - 1);
    let fresh = upload("o1", "c1", now - day + 60_000);
    let old_claimed_unsent = upload("o1", "c1", now - day - 5);
    let old_attached = upload("o1", "c1", now - day - 10);
    for x in [&old, &fresh, &old_claimed_unsent, &old_attached] {
        s.put_attachment(x).await.unwrap();
    }
    s.claim_attachments(
        std::slice::from_ref(&old_claimed_unsent.id),
        &oid("o1"),
        &uid("c1"),
        "lost-send",
    )
    .await
    .unwrap();
    let m = uuid::Uuid::now_v7().to_string();
    s.claim_attachments(
        std::slice::from_ref(&old_attached.id),
        &oid("o1"),
        &uid("c1"),
        &m,
    )
    .await
    .unwrap();
    store_message(&s, &m, "o1", vec![old_attached.id.clone()]).await;
    assert_eq!(s.expire_unattached(now - day, now).await.unwrap(), 2);
    assert_eq!(
        s.expire_unattached(now - day, now).await.unwrap(),
        0,
        "once"
    );
    let mut removed: Vec<String> = s
        .removed_attachments(10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    removed.sort();
    let mut expected = vec![old.id.clone(), old_claimed_unsent.id.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    // A removed upload can no longer be claimed.
    assert!(
        s.claim_attachments(std::slice::from_ref(&old.id), &oid("o1"), &uid("c1"), "m9")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn one_lease_holder_at_a_time(s: Arc<dyn Store>) {
    let now = now_millis();
    assert!(
        s.take_lease("sweep", "node-1", now, now + 1000)
            .await
            .unwrap()
    );
    assert!(
        !s.take_lease("sweep", "node-2", now + 10, now + 1010)
            .await
            .unwrap()
    );
    // Its holder renews it; once expired, another node takes it.
    assert!(
        s.take_lease("sweep", "node-1", now + 20, now + 1020)
            .await
            .unwrap()
    );
    assert!(
        s.take_lease("sweep", "node-2", now + 1020, now + 2020)
            .await
            .unwrap()
    );
    assert!(
        !s.take_lease("sweep", "node-1", now + 1030, now + 2030)
            .await
            .unwrap()
    );
    // Concurrent takers: exactly one wins.
    let mut wins = 0;
    let takers: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.take_lease("race", &format!("n{i}"), now, now + 1000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in takers {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

store_suite!(
    rows_round_trip,
    a_claim_has_one_winner,
    a_deleted_message_stops_serving_at_once,
    unattached_uploads_expire,
    one_lease_holder_at_a_time,
);
