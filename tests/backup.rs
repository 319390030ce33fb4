//! `order-chat backup`: a copy of a live SQLite database, taken while messages keep arriving,
//! opens and holds every message acknowledged before the backup began.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use order_chat::domain::{
    NewMessage, Order, OrderId, OrderStatus, Page, UserId, UserType, now_millis,
};
use order_chat::store::{self, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_holds_every_acked_message() {
    let db = common::sqlite_db();
    let s: Arc<dyn Store> = common::open_store(&db).await;
    let order = OrderId::parse("o1").unwrap();
    s.put_order(&Order {
        id: order.clone(),
        number: None,
        status: OrderStatus::parse("shopping").unwrap(),
        customer_id: UserId::parse("c1").unwrap(),
        agent_ids: vec![],
    })
    .await
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (s, order, stop, acked) = (s.clone(), order.clone(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let m = s
                        .insert_message(NewMessage {
                            id: uuid::Uuid::now_v7().to_string(),
                            order_id: order.clone(),
                            sender_id: format!("u{w}"),
                            sender_type: UserType::Customer,
                            body: format!("m{w}-{i}"),
                            image_url: None,
                            attachment_ids: vec![],
                            client_message_id: None,
                            created_at: now_millis(),
                            reply_to_id: None,
                        })
                        .await
                        .unwrap();
                    acked.lock().unwrap().push(m.message.seq);
                    i += 1;
                }
            })
        })
        .collect();
    // Let load build up, then back up while it goes on.
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before: Vec<i64> = acked.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    store::backup(&db.url, &copy).await.expect("backup");
    let during = acked.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        during > before.len(),
        "messages were acknowledged while the backup ran"
    );

    let restored = store::connect(&format!("sqlite://{}", copy.display()))
        .await
        .expect("the copy opens");
    let seqs: std::collections::BTreeSet<i64> = restored
        .history(
            &order,
            Page::After {
                seq: 0,
                limit: 200_000,
            },
        )
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.seq)
        .collect();
    for seq in &before {
        assert!(seqs.contains(seq), "acked message {seq} is in the backup");
    }
    // A second backup to the same file is refused (never overwrites).
    assert!(store::backup(&db.url, &copy).await.is_err());
}
