//! The storage suite: written once, run against every backend (SQLite and PostgreSQL).
//! A backend exists only if it passes all of it.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use order_chat::domain::{
    ClientMessageId, NewMessage, Order, OrderId, OrderStatus, Page, ProfileSource, User, UserId,
    UserType,
};
use order_chat::store::{Store, StoreError};

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}

fn order(id: &str, number: Option<&str>, customer: &str, agents: &[&str]) -> Order {
    Order {
        id: oid(id),
        number: number.map(str::to_owned),
        status: OrderStatus::parse("shopping").unwrap(),
        customer_id: uid(customer),
        agent_ids: agents.iter().map(|a| uid(a)).collect(),
    }
}

fn msg(order: &str, sender: &str, body: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: oid(order),
        sender_id: sender.into(),
        sender_type: UserType::Customer,
        body: body.into(),
        image_url: None,
        attachment_ids: vec![],
        client_message_id: client_id.map(|c| ClientMessageId::parse(c).unwrap()),
        created_at: order_chat::domain::now_millis(),
        reply_to_id: None,
    }
}

fn user(id: &str, name: &str) -> User {
    User {
        id: uid(id),
        name: name.into(),
        user_type: UserType::Customer,
        display_image: None,
        blocked: false,
    }
}

async fn users_keep_the_directory_word(s: Arc<dyn Store>) {
    assert_eq!(s.get_user(&uid("u1")).await.unwrap(), None);
    s.put_user(&user("u1", "From token"), ProfileSource::TokenClaims, None)
        .await
        .unwrap();
    assert_eq!(
        s.get_user(&uid("u1")).await.unwrap().unwrap().name,
        "From token"
    );
    s.put_user(&user("u1", "Ada Obi"), ProfileSource::Directory, None)
        .await
        .unwrap();
    s.put_user(&user("u1", "Token again"), ProfileSource::TokenClaims, None)
        .await
        .unwrap();
    assert_eq!(
        s.get_user(&uid("u1")).await.unwrap().unwrap().name,
        "Ada Obi",
        "claims never overwrite the directory"
    );
    s.put_user(&user("u1", "Ada Obi"), ProfileSource::Directory, Some(true))
        .await
        .unwrap();
    assert!(s.get_user(&uid("u1")).await.unwrap().unwrap().blocked);
    s.put_user(&user("u1", "Ada O."), ProfileSource::Directory, None)
        .await
        .unwrap();
    let u = s.get_user(&uid("u1")).await.unwrap().unwrap();
    assert!(u.blocked, "an update without `blocked` keeps the flag");
    assert_eq!(u.name, "Ada O.");
    let many = s.get_users(&[uid("u1"), uid("nobody")]).await.unwrap();
    assert_eq!(many.len(), 1);
}

async fn orders_round_trip_and_resolve_numbers(s: Arc<dyn Store>) {
    s.put_order(&order("o1", Some("B2S-7F3KQ"), "c1", &["a2", "a1"]))
        .await
        .unwrap();
    let o = s.get_order(&oid("o1")).await.unwrap().unwrap();
    assert_eq!(
        o,
        order("o1", Some("B2S-7F3KQ"), "c1", &["a2", "a1"]),
        "agents keep their order"
    );
    assert_eq!(
        s.find_order("B2S-7F3KQ").await.unwrap().unwrap().id,
        oid("o1")
    );
    assert_eq!(s.find_order("o1").await.unwrap().unwrap().id, oid("o1"));
    assert_eq!(s.find_order("B2S-NONE").await.unwrap(), None);
    let mut changed = order("o1", None, "c1", &["a3"]);
    changed.status = OrderStatus::parse("delivery").unwrap();
    s.put_order(&changed).await.unwrap();
    let o = s.get_order(&oid("o1")).await.unwrap().unwrap();
    assert_eq!(o.agent_ids, vec![uid("a3")]);
    assert_eq!(o.status, "delivery");
    assert_eq!(
        o.number.as_deref(),
        Some("B2S-7F3KQ"),
        "an update without a number keeps it"
    );
    assert_eq!(o.role_of(&uid("c1")), Some(UserType::Customer));
    assert_eq!(o.role_of(&uid("a1")), None);
}

async fn seq_is_gapless_with_50_concurrent_senders(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &["a1"]))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.insert_message(msg("o1", &format!("u{}", i % 5), "hi", None))
                    .await
            })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for t in tasks {
        let ins = t.await.unwrap().unwrap();
        assert!(ins.created);
        assert!(
            seqs.insert(ins.message.seq),
            "seq {} given twice",
            ins.message.seq
        );
    }
    assert_eq!(seqs, (1..=50).collect::<BTreeSet<i64>>());
    assert_eq!(s.last_seq(&oid("o1")).await.unwrap(), 50);
}

async fn seq_is_per_order(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &[])).await.unwrap();
    s.put_order(&order("o2", None, "c1", &[])).await.unwrap();
    assert_eq!(
        s.insert_message(msg("o1", "c1", "a", None))
            .await
            .unwrap()
            .message
            .seq,
        1
    );
    assert_eq!(
        s.insert_message(msg("o2", "c1", "b", None))
            .await
            .unwrap()
            .message
            .seq,
        1
    );
    assert_eq!(
        s.insert_message(msg("o1", "c1", "c", None))
            .await
            .unwrap()
            .message
            .seq,
        2
    );
}

async fn send_is_idempotent_on_client_message_id(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &["a1"]))
        .await
        .unwrap();
    let first = s
        .insert_message(msg("o1", "c1", "hello", Some("c-77")))
        .await
        .unwrap();
    let again = s
        .insert_message(msg("o1", "c1", "hello (retry)", Some("c-77")))
        .await
        .unwrap();
    assert!(first.created && !again.created);
    assert_eq!(again.message, first.message, "the original is returned");
    let other_sender = s
        .insert_message(msg("o1", "a1", "mine", Some("c-77")))
        .await
        .unwrap();
    assert!(other_sender.created, "client ids are per sender");
    // Concurrent retries of one send store it once.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.insert_message(msg("o1", "c1", "burst", Some("c-burst")))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = BTreeSet::new();
    for t in tasks {
        let ins = t.await.unwrap().unwrap();
        created += usize::from(ins.created);
        ids.insert(ins.message.id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    assert_eq!(
        s.last_seq(&oid("o1")).await.unwrap(),
        3,
        "no seq was burnt by the duplicates"
    );
}

async fn inserting_into_an_unknown_order_fails(s: Arc<dyn Store>) {
    let err = s
        .insert_message(msg("nope", "c1", "x", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingOrder(_)), "{err}");
}

async fn history_pages_by_seq(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &[])).await.unwrap();
    for i in 1..=7 {
        s.insert_message(msg("o1", "c1", &format!("m{i}"), None))
            .await
            .unwrap();
    }
    let seqs =
        |h: &order_chat::domain::History| h.messages.iter().map(|m| m.seq).collect::<Vec<_>>();
    let o = oid("o1");
    let h = s.history(&o, Page::Latest { limit: 3 }).await.unwrap();
    assert_eq!((seqs(&h), h.has_more), (vec![5, 6, 7], true));
    let h = s.history(&o, Page::Latest { limit: 7 }).await.unwrap();
    assert_eq!((seqs(&h), h.has_more), ((1..=7).collect(), false));
    let h = s
        .history(&o, Page::Before { seq: 5, limit: 3 })
        .await
        .unwrap();
    assert_eq!((seqs(&h), h.has_more), (vec![2, 3, 4], true));
    let h = s
        .history(&o, Page::Before { seq: 3, limit: 5 })
        .await
        .unwrap();
    assert_eq!((seqs(&h), h.has_more), (vec![1, 2], false));
    let h = s
        .history(&o, Page::After { seq: 0, limit: 3 })
        .await
        .unwrap();
    assert_eq!((seqs(&h), h.has_more), (vec![1, 2, 3], true));
    let h = s
        .history(&o, Page::After { seq: 5, limit: 10 })
        .await
        .unwrap();
    assert_eq!((seqs(&h), h.has_more), (vec![6, 7], false));
    assert_eq!(h.messages[0].body, "m6");
    let h = s
        .history(&o, Page::After { seq: 7, limit: 10 })
        .await
        .unwrap();
    assert!(h.messages.is_empty() && !h.has_more);
    assert_eq!(s.message_at(&o, 4).await.unwrap().unwrap().body, "m4");
    assert_eq!(s.message_at(&o, 8).await.unwrap(), None);
}

async fn messages_round_trip_every_field(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &[])).await.unwrap();
    let mut m = msg(
        "o1",
        "c1",
        "Please get the ripe plantains 🍌 'quoted' \"double\"",
        Some("c-1"),
    );
    m.image_url = Some("https://cdn.example/p.jpg".into());
    m.attachment_ids = vec!["att-1".into(), "att-2".into()];
    m.sender_type = UserType::Agent;
    let stored = s.insert_message(m.clone()).await.unwrap().message;
    let read = s
        .history(&oid("o1"), Page::Latest { limit: 1 })
        .await
        .unwrap()
        .messages
        .remove(0);
    assert_eq!(read, stored);
    assert_eq!(read.body, m.body);
    assert_eq!(read.image_url, m.image_url);
    assert_eq!(read.attachment_ids, m.attachment_ids);
    assert_eq!(read.sender_type, UserType::Agent);
    assert_eq!(read.client_message_id.as_deref(), Some("c-1"));
    assert_eq!(
        (read.created_at, read.updated_at),
        (m.created_at, m.created_at)
    );
}

async fn read_markers_never_move_back(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &["a1"]))
        .await
        .unwrap();
    let (o, a) = (oid("o1"), uid("a1"));
    let m = s
        .advance_read_marker(&o, &a, 5, 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.last_read_seq, m.read_at), (5, 1000));
    assert_eq!(s.advance_read_marker(&o, &a, 3, 2000).await.unwrap(), None);
    assert_eq!(s.advance_read_marker(&o, &a, 5, 2000).await.unwrap(), None);
    let markers = s.read_markers(&o).await.unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!((markers[0].last_read_seq, markers[0].read_at), (5, 1000));
    assert_eq!(
        s.advance_read_marker(&o, &a, 6, 3000)
            .await
            .unwrap()
            .unwrap()
            .last_read_seq,
        6
    );
}

async fn unread_counts_cover_own_orders_only(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &["a1"]))
        .await
        .unwrap();
    s.put_order(&order("o2", None, "c1", &["a2"]))
        .await
        .unwrap();
    s.put_order(&order("o3", None, "c3", &["a1"]))
        .await
        .unwrap();
    for _ in 0..3 {
        s.insert_message(msg("o1", "a1", "from agent", None))
            .await
            .unwrap();
    }
    s.insert_message(msg("o1", "c1", "own", None))
        .await
        .unwrap();
    s.insert_message(msg("o2", "a2", "x", None)).await.unwrap();
    s.insert_message(msg("o3", "a1", "not c1's order", None))
        .await
        .unwrap();
    let c1 = uid("c1");
    assert_eq!(
        s.unread_by_order(&c1).await.unwrap(),
        vec![(oid("o1"), 3), (oid("o2"), 1)]
    );
    s.advance_read_marker(&oid("o1"), &c1, 2, 1).await.unwrap();
    assert_eq!(
        s.unread_by_order(&c1).await.unwrap(),
        vec![(oid("o1"), 1), (oid("o2"), 1)]
    );
    s.advance_read_marker(&oid("o1"), &c1, 4, 1).await.unwrap();
    assert_eq!(s.unread_by_order(&c1).await.unwrap(), vec![(oid("o2"), 1)]);
    assert_eq!(
        s.unread_by_order(&uid("a1")).await.unwrap(),
        vec![(oid("o1"), 1)],
        "own messages never count"
    );
    assert_eq!(s.unread_by_order(&uid("stranger")).await.unwrap(), vec![]);
}

async fn chats_list_newest_activity_first(s: Arc<dyn Store>) {
    s.put_order(&order("o1", Some("N-1"), "c1", &["a1"]))
        .await
        .unwrap();
    s.put_order(&order("o2", Some("N-2"), "c1", &["a1"]))
        .await
        .unwrap();
    s.put_order(&order("o3", None, "c9", &["a9"]))
        .await
        .unwrap();
    let mut early = msg("o2", "a1", "older", None);
    early.created_at -= 10_000;
    s.insert_message(early).await.unwrap();
    s.insert_message(msg("o1", "a1", "newer", None))
        .await
        .unwrap();
    let chats = s.orders_of_user(&uid("c1")).await.unwrap();
    let ids: Vec<_> = chats.iter().map(|c| c.order.id.to_string()).collect();
    assert_eq!(ids, vec!["o1", "o2"]);
    assert_eq!(chats[0].last_message.as_ref().unwrap().body, "newer");
    assert_eq!((chats[0].unread, chats[1].unread), (1, 1));
    assert_eq!(chats[0].order.number.as_deref(), Some("N-1"));
}

async fn get_users_returns_the_known_users_of_a_list(s: Arc<dyn Store>) {
    for (id, name) in [("u1", "Ada"), ("u2", "Bola"), ("u3", "Chi")] {
        s.put_user(&user(id, name), ProfileSource::Directory, None)
            .await
            .unwrap();
    }
    let got = s
        .get_users(&[uid("u2"), uid("nobody"), uid("u1"), uid("ghost"), uid("u3")])
        .await
        .unwrap();
    let mut names: Vec<_> = got
        .iter()
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("u1".to_owned(), "Ada".to_owned()),
            ("u2".to_owned(), "Bola".to_owned()),
            ("u3".to_owned(), "Chi".to_owned()),
        ]
    );
    assert_eq!(s.get_users(&[]).await.unwrap(), vec![]);
    assert_eq!(s.get_users(&[uid("nobody")]).await.unwrap(), vec![]);
}

async fn get_users_takes_more_ids_than_one_statement_binds(s: Arc<dyn Store>) {
    // 1,200 ids (one statement binds 1,000), of which a few exist, some in each statement.
    let ids: Vec<UserId> = (0..1200).map(|i| uid(&format!("u{i:04}"))).collect();
    let existing = [0, 500, 999, 1000, 1199];
    for i in existing {
        s.put_user(
            &user(&format!("u{i:04}"), "Known"),
            ProfileSource::Directory,
            None,
        )
        .await
        .unwrap();
    }
    let mut got: Vec<String> = s
        .get_users(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    got.sort();
    let want: Vec<String> = existing.iter().map(|i| format!("u{i:04}")).collect();
    assert_eq!(got, want);
}

async fn chats_carry_each_orders_last_message_and_unread_count(s: Arc<dyn Store>) {
    let o1 = order("o1", Some("N-1"), "c1", &["a2", "a1"]);
    let o2 = order("o2", None, "c1", &["a2"]);
    let o3 = order("o3", Some("N-3"), "c3", &["c1"]);
    let elsewhere = order("o4", None, "c4", &["a4"]);
    for o in [&o1, &o2, &o3, &elsewhere] {
        s.put_order(o).await.unwrap();
    }
    let mut base = order_chat::domain::now_millis() - 60_000;
    let mut send = |order: &str, sender: &str, body: &str| {
        let mut m = msg(order, sender, body, None);
        m.created_at = base;
        base += 1_000;
        m
    };
    // o1: two by others, one own; o3 (c1 is its agent): two by others, one read; o2: nothing.
    let batch = [
        send("o1", "a1", "o1 first"),
        send("o3", "c3", "o3 first"),
        send("o1", "c1", "o1 own"),
        send("o4", "c4", "not c1's"),
        send("o1", "a2", "o1 last"),
        send("o3", "c3", "o3 last"),
    ];
    for m in batch {
        s.insert_message(m).await.unwrap();
    }
    s.advance_read_marker(&oid("o3"), &uid("c1"), 1, base)
        .await
        .unwrap();
    let chats = s.orders_of_user(&uid("c1")).await.unwrap();
    let summary: Vec<_> = chats
        .iter()
        .map(|c| {
            (
                c.order.id.to_string(),
                c.last_message.as_ref().map(|m| (m.seq, m.body.clone())),
                c.unread,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("o3".to_owned(), Some((2, "o3 last".to_owned())), 1),
            ("o1".to_owned(), Some((3, "o1 last".to_owned())), 2),
            ("o2".to_owned(), None, 0),
        ],
        "newest activity first; an order without messages last"
    );
    assert_eq!(
        chats.iter().map(|c| c.order.clone()).collect::<Vec<_>>(),
        vec![o3, o1, o2],
        "each order with its own participants, agents in order"
    );
    let last = chats[0].last_message.as_ref().unwrap();
    assert_eq!(last.order_id, oid("o3"));
    assert_eq!(
        Some(last),
        s.message_at(&oid("o3"), 2).await.unwrap().as_ref(),
        "the last message is read back whole"
    );
}

async fn taking_another_orders_number_changes_nothing(s: Arc<dyn Store>) {
    let o1 = order("o1", Some("N-1"), "c1", &["a1"]);
    let o2 = order("o2", Some("N-2"), "c2", &["a2"]);
    s.put_order(&o1).await.unwrap();
    s.put_order(&o2).await.unwrap();
    let mut taking = order("o2", Some("N-1"), "c2", &["a3"]);
    taking.status = OrderStatus::parse("delivery").unwrap();
    let err = s.put_order(&taking).await.unwrap_err();
    assert!(matches!(err, StoreError::OrderNumberTaken), "{err}");
    assert_eq!(
        s.get_order(&oid("o2")).await.unwrap().unwrap(),
        o2,
        "the order keeps its number, status and participants"
    );
    assert_eq!(s.get_order(&oid("o1")).await.unwrap().unwrap(), o1);
    assert_eq!(s.find_order("N-1").await.unwrap().unwrap().id, oid("o1"));
    // A new order with a taken number is refused too, and not created.
    let err = s
        .put_order(&order("o9", Some("N-2"), "c9", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OrderNumberTaken), "{err}");
    assert_eq!(s.get_order(&oid("o9")).await.unwrap(), None);
}

async fn a_repeated_participant_keeps_its_first_role(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &["a1", "c1", "a2", "a1"]))
        .await
        .unwrap();
    let o = s.get_order(&oid("o1")).await.unwrap().unwrap();
    assert_eq!(o, order("o1", None, "c1", &["a1", "a2"]));
}

/// Sends to many orders at once share batches: each order's `seq` stays gapless, repeats of a
/// `clientMessageId` inside one burst are stored once, an unknown order fails only its own send.
async fn a_burst_over_many_orders_stays_gapless_and_exact(s: Arc<dyn Store>) {
    for o in 0..20 {
        s.put_order(&order(&format!("o{o}"), None, "c1", &["a1"]))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let (o, k) = (i % 20, i / 20);
                // Every 5th send of an order repeats the client id of the one before it.
                let cid = format!("c-{}", k - usize::from(k % 5 == 4));
                s.insert_message(msg(&format!("o{o}"), "c1", "hi", Some(&cid)))
                    .await
            })
        })
        .collect();
    let missing = s.insert_message(msg("o-missing", "c1", "x", None));
    let missing = missing.await.unwrap_err();
    assert!(matches!(missing, StoreError::MissingOrder(_)), "{missing}");
    let mut created = std::collections::BTreeMap::<String, BTreeSet<i64>>::new();
    let mut repeats = 0;
    for t in tasks {
        let ins = t.await.unwrap().unwrap();
        if ins.created {
            let seqs = created.entry(ins.message.order_id.to_string()).or_default();
            assert!(seqs.insert(ins.message.seq), "seq given twice");
        } else {
            repeats += 1;
        }
    }
    assert_eq!(repeats, 80, "every repeated client id is stored once");
    for o in 0..20 {
        let seqs = &created[&format!("o{o}")];
        assert_eq!(seqs, &(1..=16).collect::<BTreeSet<i64>>(), "order o{o}");
        assert_eq!(s.last_seq(&oid(&format!("o{o}"))).await.unwrap(), 16);
    }
}

/// A message the database refuses (PostgreSQL takes no NUL in text) fails alone: the sends
/// that shared its batch are stored, and no `seq` is lost.
async fn a_refused_message_fails_only_itself(s: Arc<dyn Store>) {
    s.put_order(&order("o1", None, "c1", &["a1"]))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let s = s.clone();
            let body = if i == 7 { "bad\0byte" } else { "fine" };
            tokio::spawn(async move { s.insert_message(msg("o1", "c1", body, None)).await })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(ins) => assert!(seqs.insert(ins.message.seq)),
            Err(_) => failed += 1,
        }
    }
    assert!(failed <= 1, "{failed} sends failed");
    let stored = 30 - failed;
    assert_eq!(seqs, (1..=stored as i64).collect::<BTreeSet<i64>>());
    assert_eq!(s.last_seq(&oid("o1")).await.unwrap(), stored as i64);
}

async fn ping_answers(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

store_suite!(
    users_keep_the_directory_word,
    orders_round_trip_and_resolve_numbers,
    seq_is_gapless_with_50_concurrent_senders,
    seq_is_per_order,
    send_is_idempotent_on_client_message_id,
    inserting_into_an_unknown_order_fails,
    history_pages_by_seq,
    messages_round_trip_every_field,
    read_markers_never_move_back,
    unread_counts_cover_own_orders_only,
    chats_list_newest_activity_first,
    get_users_returns_the_known_users_of_a_list,
    get_users_takes_more_ids_than_one_statement_binds,
    chats_carry_each_orders_last_message_and_unread_count,
    taking_another_orders_number_changes_nothing,
    a_repeated_participant_keeps_its_first_role,
    a_burst_over_many_orders_stays_gapless_and_exact,
    a_refused_message_fails_only_itself,
    ping_answers,
);

/// Two nodes on one PostgreSQL send to the same orders at once: their batches lock orders in
/// one order, so neither deadlocks, and every order's `seq` stays gapless.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_batching_into_the_same_orders_stay_gapless() {
    let Some(db) = common::postgres_db().await else {
        return;
    };
    let (n1, n2) = (common::open_store(&db).await, common::open_store(&db).await);
    for o in 0..10 {
        n1.put_order(&order(&format!("o{o}"), None, "c1", &["a1"]))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..600)
        .map(|i| {
            let s = if i % 2 == 0 { n1.clone() } else { n2.clone() };
            // Each node walks the orders in the opposite direction.
            let o = if i % 2 == 0 {
                (i / 2) % 10
            } else {
                9 - (i / 2) % 10
            };
            tokio::spawn(async move {
                s.insert_message(msg(&format!("o{o}"), "c1", "x", None))
                    .await
            })
        })
        .collect();
    let mut seqs = std::collections::BTreeMap::<String, BTreeSet<i64>>::new();
    for t in tasks {
        let m = t.await.unwrap().unwrap().message;
        assert!(
            seqs.entry(m.order_id.to_string())
                .or_default()
                .insert(m.seq)
        );
    }
    for o in 0..10 {
        assert_eq!(
            seqs[&format!("o{o}")],
            (1..=60).collect::<BTreeSet<i64>>(),
            "order o{o}"
        );
    }
}
