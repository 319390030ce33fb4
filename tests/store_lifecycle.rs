//! The storage suite of the message lifecycle (§10, §11), run against both backends: `rev`,
//! catch-up by `sinceRev`, edits and deletes with their audit trail, reactions and their limits.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use order_chat::domain::{
    Applied, Change, Emoji, History, HistoryWithExtras, MessageId, NewMessage, Order, OrderId,
    OrderStatus, Page, PageExtras, Refusal, StoredMessage, UserId, UserType, now_millis,
};
use order_chat::store::Store;

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}
fn mid(m: &StoredMessage) -> MessageId {
    MessageId::parse(&m.id).unwrap()
}
fn emoji(e: &str) -> Emoji {
    Emoji::parse(e).unwrap()
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

async fn send(s: &Arc<dyn Store>, order: &str, sender: &str, body: &str) -> StoredMessage {
    s.insert_message(NewMessage {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: oid(order),
        sender_id: sender.into(),
        sender_type: UserType::Customer,
        body: body.into(),
        image_url: None,
        attachment_ids: vec!["att-1".into()],
        client_message_id: None,
        created_at: now_millis(),
        reply_to_id: None,
    })
    .await
    .unwrap()
    .message
}

fn edit(m: &StoredMessage, body: &str) -> Change {
    Change::Edit {
        message_id: mid(m),
        body: body.into(),
        by: uid(&m.sender_id),
        at: now_millis(),
    }
}

fn react(m: &StoredMessage, user: &str, e: &str, add: bool) -> Change {
    Change::React {
        message_id: mid(m),
        user: uid(user),
        emoji: emoji(e),
        add,
        at: now_millis(),
    }
}

async fn changed(s: &Arc<dyn Store>, order: &str, c: Change) -> StoredMessage {
    match s.apply_change(&oid(order), c).await.unwrap() {
        Applied::Changed(m) => m,
        other => panic!("expected a change, got {other:?}"),
    }
}

async fn current_rev(s: &Arc<dyn Store>, order: &str) -> i64 {
    s.history(&oid(order), Page::Latest { limit: 1 })
        .await
        .unwrap()
        .rev
}

async fn every_change_takes_the_next_rev(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    assert_eq!(current_rev(&s, "o1").await, 0);
    let a = send(&s, "o1", "c1", "first").await;
    let b = send(&s, "o1", "a1", "second").await;
    assert_eq!((a.rev, b.rev), (1, 2));
    let a2 = changed(&s, "o1", edit(&a, "first, fixed")).await;
    assert_eq!((a2.rev, a2.seq, a2.body.as_str()), (3, 1, "first, fixed"));
    assert!(a2.edited_at.is_some());
    let b2 = changed(&s, "o1", react(&b, "c1", "👍", true)).await;
    assert_eq!(b2.rev, 4);
    // No-ops take no rev.
    let same = s.apply_change(&oid("o1"), edit(&a2, "first, fixed")).await;
    assert!(matches!(same.unwrap(), Applied::Unchanged(_)));
    let again = s
        .apply_change(&oid("o1"), react(&b, "c1", "👍", true))
        .await;
    assert!(matches!(again.unwrap(), Applied::Unchanged(_)));
    assert_eq!(current_rev(&s, "o1").await, 4);
    // Another order counts on its own.
    open_order(&s, "o2").await;
    assert_eq!(send(&s, "o2", "c1", "elsewhere").await.rev, 1);
}

async fn since_rev_returns_exactly_the_changed_messages(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let mut m = Vec::new();
    for i in 0..6 {
        m.push(send(&s, "o1", "c1", &format!("m{i}")).await);
    }
    let mark = current_rev(&s, "o1").await;
    changed(&s, "o1", edit(&m[1], "edited")).await;
    let del = Change::Delete {
        message_id: mid(&m[3]),
        by: uid("c1"),
        at: now_millis(),
    };
    changed(&s, "o1", del).await;
    changed(&s, "o1", react(&m[4], "a1", "🔥", true)).await;
    let new = send(&s, "o1", "a1", "new one").await;
    // m[1] edited again: it appears once, at its latest rev.
    changed(&s, "o1", edit(&m[1], "edited twice")).await;

    let page = s
        .history(
            &oid("o1"),
            Page::Changed {
                rev: mark,
                limit: 50,
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = page.messages.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![&m[3].id, &m[4].id, &new.id, &m[1].id],
        "rev order"
    );
    let revs: Vec<i64> = page.messages.iter().map(|x| x.rev).collect();
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");
    assert!(!page.has_more);
    assert_eq!(page.rev, *revs.last().unwrap());
    let tomb = &page.messages[0];
    assert!(tomb.is_deleted());
    assert_eq!((tomb.body.as_str(), tomb.attachment_ids.len()), ("", 0));
    assert_eq!(page.messages[3].body, "edited twice");

    let first2 = s
        .history(
            &oid("o1"),
            Page::Changed {
                rev: mark,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(first2.messages.len(), 2);
    assert!(first2.has_more);
    let rest = s
        .history(
            &oid("o1"),
            Page::Changed {
                rev: first2.messages[1].rev,
                limit: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.messages.len(), 2, "paging by rev: no gap, no repeat");
    let up_to_date = s
        .history(
            &oid("o1"),
            Page::Changed {
                rev: page.rev,
                limit: 50,
            },
        )
        .await
        .unwrap();
    assert!(up_to_date.messages.is_empty());
}

async fn edits_and_deletes_keep_the_earlier_text(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let m = send(&s, "o1", "c1", "gate code 4411").await;
    changed(&s, "o1", edit(&m, "gate code 4412")).await;
    let del = Change::Delete {
        message_id: mid(&m),
        by: uid("admin@ops"),
        at: now_millis(),
    };
    changed(&s, "o1", react(&m, "a1", "👍", true)).await;
    let tomb = changed(&s, "o1", del.clone()).await;
    assert_eq!(tomb.deleted_by.as_deref(), Some("admin@ops"));
    let revs = s.revisions(&oid("o1"), &mid(&m)).await.unwrap();
    let texts: Vec<&str> = revs.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(texts, vec!["gate code 4411", "gate code 4412"]);
    assert_eq!(revs[1].edited_by, "admin@ops");
    assert_eq!(revs[1].attachment_ids, vec!["att-1".to_string()]);
    // The tombstone keeps no reactions; deleting again and editing are not changes.
    let reactions = s.reactions(&oid("o1"), &[mid(&m)]).await.unwrap();
    assert!(reactions.get(&mid(&m)).is_none_or(|r| r.is_empty()));
    assert!(matches!(
        s.apply_change(&oid("o1"), del).await.unwrap(),
        Applied::Unchanged(_)
    ));
    assert_eq!(
        s.apply_change(&oid("o1"), edit(&m, "again")).await.unwrap(),
        Applied::Refused(Refusal::Deleted)
    );
    assert_eq!(
        s.apply_change(&oid("o1"), react(&m, "a1", "🔥", true))
            .await
            .unwrap(),
        Applied::Refused(Refusal::Deleted)
    );
    // A message of another order is not found from this one.
    open_order(&s, "o2").await;
    assert_eq!(
        s.apply_change(&oid("o2"), edit(&m, "x")).await.unwrap(),
        Applied::Refused(Refusal::NotFound)
    );
    assert!(
        s.messages_by_id(&oid("o2"), &[mid(&m)])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn deleted_messages_are_never_unread(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let a = send(&s, "o1", "a1", "one").await;
    send(&s, "o1", "a1", "two").await;
    let unread = || async { s.unread_by_order(&uid("c1")).await.unwrap() };
    assert_eq!(unread().await, vec![(oid("o1"), 2)]);
    changed(&s, "o1", react(&a, "c1", "👍", true)).await;
    changed(&s, "o1", edit(&a, "one!")).await;
    assert_eq!(
        unread().await,
        vec![(oid("o1"), 2)],
        "edits and reactions change nothing"
    );
    let del = Change::Delete {
        message_id: mid(&a),
        by: uid("a1"),
        at: now_millis(),
    };
    changed(&s, "o1", del).await;
    assert_eq!(unread().await, vec![(oid("o1"), 1)]);
}

async fn reactions_keep_their_order_and_limits(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let m = send(&s, "o1", "c1", "which one?").await;
    changed(&s, "o1", react(&m, "a1", "👍", true)).await;
    changed(&s, "o1", react(&m, "c1", "❤️", true)).await;
    changed(&s, "o1", react(&m, "c1", "👍", true)).await;
    let got = s.reactions(&oid("o1"), &[mid(&m)]).await.unwrap();
    let list = &got[&mid(&m)];
    let shown: Vec<(&str, Vec<&str>)> = list
        .iter()
        .map(|r| {
            (
                r.emoji.as_str(),
                r.user_ids.iter().map(|u| u.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(shown, vec![("👍", vec!["a1", "c1"]), ("❤️", vec!["c1"])]);
    changed(&s, "o1", react(&m, "a1", "👍", false)).await;
    let absent = s
        .apply_change(&oid("o1"), react(&m, "a1", "👍", false))
        .await;
    assert!(matches!(absent.unwrap(), Applied::Unchanged(_)));

    // 10 per user per message.
    let faces = [
        "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍",
        "🤩", "😘", "😗", "😚", "😙", "😋",
    ];
    let n = s
        .apply_change(&oid("o1"), react(&m, "c1", faces[0], true))
        .await;
    assert!(matches!(n.unwrap(), Applied::Changed(_)));
    for f in &faces[1..8] {
        changed(&s, "o1", react(&m, "c1", f, true)).await;
    }
    // c1 now has 👍 ❤️ and 8 faces: 10.
    assert_eq!(
        s.apply_change(&oid("o1"), react(&m, "c1", faces[8], true))
            .await
            .unwrap(),
        Applied::Refused(Refusal::TooManyOfUser)
    );
    // 20 distinct per message: others fill it up to 20, then a 21st is refused, but joining
    // an emoji already there is not a new one.
    for (i, f) in faces[8..18].iter().enumerate() {
        changed(&s, "o1", react(&m, &format!("u{i}"), f, true)).await;
    }
    assert_eq!(
        s.apply_change(&oid("o1"), react(&m, "zz", faces[18], true))
            .await
            .unwrap(),
        Applied::Refused(Refusal::TooManyEmoji)
    );
    changed(&s, "o1", react(&m, "zz", "👍", true)).await;
}

async fn a_reaction_storm_loses_and_doubles_nothing(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let m = send(&s, "o1", "c1", "vote").await;
    let before = current_rev(&s, "o1").await;
    // 40 users, each adding 👍 twice and 🔥 once, all at once.
    let tasks: Vec<_> = (0..40)
        .flat_map(|i| {
            [("👍", i), ("👍", i), ("🔥", i)].map(|(e, i)| {
                let (s, m) = (s.clone(), m.clone());
                tokio::spawn(async move {
                    s.apply_change(&oid("o1"), react(&m, &format!("u{i}"), e, true))
                        .await
                })
            })
        })
        .collect();
    let mut revs = BTreeSet::new();
    let mut unchanged = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Applied::Changed(x) => assert!(revs.insert(x.rev), "rev {} given twice", x.rev),
            Applied::Unchanged(_) => unchanged += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(revs.len(), 80, "every distinct reaction stored once");
    assert_eq!(unchanged, 40, "every repeat a no-op");
    assert!(revs.iter().all(|r| *r > before));
    let got = s.reactions(&oid("o1"), &[mid(&m)]).await.unwrap();
    let counts: Vec<(String, usize)> = got[&mid(&m)]
        .iter()
        .map(|r| (r.emoji.to_string(), r.user_ids.len()))
        .collect();
    let mut counts = counts;
    counts.sort();
    assert_eq!(counts, vec![("👍".to_string(), 40), ("🔥".to_string(), 40)]);
    assert_eq!(current_rev(&s, "o1").await, *revs.last().unwrap());
}

async fn rev_never_repeats_under_mixed_concurrent_writers(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    let first = send(&s, "o1", "c1", "base").await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (s, first) = (s.clone(), first.clone());
            tokio::spawn(async move {
                match i % 3 {
                    0 => send(&s, "o1", "c1", &format!("n{i}")).await.rev,
                    1 => {
                        changed(&s, "o1", react(&first, &format!("u{i}"), "👍", true))
                            .await
                            .rev
                    }
                    _ => changed(&s, "o1", edit(&first, &format!("e{i}"))).await.rev,
                }
            })
        })
        .collect();
    let mut revs = BTreeSet::new();
    for t in tasks {
        let rev = t.await.unwrap();
        assert!(revs.insert(rev), "rev {rev} given twice");
    }
    assert_eq!(revs.len(), 60);
    assert_eq!(current_rev(&s, "o1").await, *revs.last().unwrap());
    let base = s.messages_by_id(&oid("o1"), &[mid(&first)]).await.unwrap();
    assert_eq!(
        base[0].rev,
        s.history(&oid("o1"), Page::Changed { rev: 0, limit: 200 })
            .await
            .unwrap()
            .messages
            .iter()
            .find(|m| m.id == first.id)
            .unwrap()
            .rev
    );
}

/// Changes that reach SQLite's writer together (it applies a batch's changes set-wise) are
/// decided one by one in arrival order, each on the state the earlier ones left. SQLite only:
/// its one writer takes them in the order they were sent, where PostgreSQL's concurrent
/// transactions take the order's lock in any order.
#[tokio::test]
async fn changes_sent_together_apply_in_arrival_order() {
    let db = common::sqlite_db();
    let s = common::open_store(&db).await;
    open_order(&s, "o1").await;
    let m = send(&s, "o1", "c1", "first").await;
    changed(&s, "o1", react(&m, "u1", "👍", true)).await;
    changed(&s, "o1", react(&m, "u2", "❤️", true)).await;
    let before = current_rev(&s, "o1").await;
    let o = oid("o1");
    // Polled in this order in one task: they reach the store (and its queue) in this order.
    let (a, b, c, d, e, f, g) = tokio::join!(
        s.apply_change(&o, react(&m, "u1", "👍", false)),
        s.apply_change(&o, react(&m, "u1", "👍", true)),
        s.apply_change(&o, react(&m, "u1", "👍", true)),
        s.apply_change(&o, react(&m, "u3", "🔥", true)),
        s.apply_change(&o, edit(&m, "second")),
        s.apply_change(&o, edit(&m, "second")),
        s.apply_change(&o, react(&m, "u3", "🔥", false)),
    );
    let revs: Vec<i64> = [a, b, d, e, g]
        .into_iter()
        .map(|r| match r.unwrap() {
            Applied::Changed(x) => x.rev,
            other => panic!("expected a change, got {other:?}"),
        })
        .collect();
    assert_eq!(revs, (before + 1..=before + 5).collect::<Vec<_>>());
    assert!(
        matches!(c.unwrap(), Applied::Unchanged(_)),
        "👍 was back already"
    );
    match f.unwrap() {
        Applied::Unchanged(x) => assert_eq!((x.body.as_str(), x.rev), ("second", before + 4)),
        other => panic!("the same text again is no change: {other:?}"),
    }
    // 👍 came back after ❤️; 🔥 came and went.
    let got = s.reactions(&o, &[mid(&m)]).await.unwrap();
    let shown: Vec<(&str, Vec<&str>)> = got[&mid(&m)]
        .iter()
        .map(|r| {
            (
                r.emoji.as_str(),
                r.user_ids.iter().map(|u| u.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(shown, vec![("❤️", vec!["u2"]), ("👍", vec!["u1"])]);
    let now = &s.messages_by_id(&o, &[mid(&m)]).await.unwrap()[0];
    assert_eq!((now.body.as_str(), now.rev), ("second", before + 5));
    assert_eq!(current_rev(&s, "o1").await, before + 5);

    // A delete, then changes that come after it in the same go: refused, no rev taken.
    let del = Change::Delete {
        message_id: mid(&m),
        by: uid("c1"),
        at: now_millis(),
    };
    let (x, y, z) = tokio::join!(
        s.apply_change(&o, del),
        s.apply_change(&o, react(&m, "u4", "🎉", true)),
        s.apply_change(&o, edit(&m, "third")),
    );
    assert!(matches!(x.unwrap(), Applied::Changed(t) if t.is_deleted() && t.rev == before + 6));
    assert_eq!(y.unwrap(), Applied::Refused(Refusal::Deleted));
    assert_eq!(z.unwrap(), Applied::Refused(Refusal::Deleted));
    let left = s.reactions(&o, &[mid(&m)]).await.unwrap();
    assert!(
        !left.contains_key(&mid(&m)),
        "a tombstone keeps no reactions"
    );
    assert_eq!(current_rev(&s, "o1").await, before + 6);
    let trail: Vec<String> = s
        .revisions(&o, &mid(&m))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(trail, vec!["first", "second"]);
}

/// Changes to many orders arriving together (one writer batch on each backend), with changes
/// to an order that does not exist among them: each is answered on its own, each order's revs
/// are gapless after its last message, and the unknown order's change is NotFound.
async fn changes_to_many_orders_at_once(s: Arc<dyn Store>) {
    let mut messages = Vec::new();
    for k in 0..12 {
        let order = format!("many{k}");
        open_order(&s, &order).await;
        messages.push((order.clone(), send(&s, &order, "c1", "first").await));
    }
    let ghost = send(&s, "many0", "c1", "also").await;
    let tasks: Vec<_> = messages
        .iter()
        .flat_map(|(order, m)| (0..5).map(move |i| (order.clone(), m.clone(), i)))
        .map(|(order, m, i)| {
            let s = s.clone();
            tokio::spawn(async move {
                let c = if i % 2 == 0 {
                    edit(&m, &format!("edit {i}"))
                } else {
                    react(&m, &format!("u{i}"), "👍", true)
                };
                (order.clone(), s.apply_change(&oid(&order), c).await)
            })
        })
        .chain((0..3).map(|i| {
            let (s, m) = (s.clone(), ghost.clone());
            tokio::spawn(async move {
                (
                    "nowhere".to_string(),
                    s.apply_change(&oid("nowhere"), react(&m, &format!("g{i}"), "🔥", true))
                        .await,
                )
            })
        }))
        .collect();
    let mut revs: std::collections::HashMap<String, Vec<i64>> = Default::default();
    let mut not_found = 0;
    for t in tasks {
        match t.await.unwrap() {
            (order, Ok(Applied::Changed(m))) => revs.entry(order).or_default().push(m.rev),
            (order, Ok(Applied::Refused(Refusal::NotFound))) if order == "nowhere" => {
                not_found += 1
            }
            (order, other) => panic!("{order}: {other:?}"),
        }
    }
    assert_eq!(
        not_found, 3,
        "a change to an order that does not exist is NotFound"
    );
    for (order, m) in &messages {
        let mut got = revs.remove(order).unwrap_or_default();
        got.sort();
        let first = if order == "many0" { ghost.rev } else { m.rev };
        let want: Vec<i64> = (first + 1..=first + 5).collect();
        assert_eq!(
            got, want,
            "{order}: five changes, gapless revs after its last message"
        );
        assert_eq!(current_rev(&s, order).await, first + 5);
    }
}

async fn reply(s: &Arc<dyn Store>, order: &str, to: &StoredMessage, body: &str) -> StoredMessage {
    s.insert_message(NewMessage {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: oid(order),
        sender_id: "a1".into(),
        sender_type: UserType::Agent,
        body: body.into(),
        image_url: None,
        attachment_ids: Vec::new(),
        client_message_id: None,
        created_at: now_millis(),
        reply_to_id: Some(mid(to)),
    })
    .await
    .unwrap()
    .message
}

/// A page's extras read the way the service read them before `history_with_extras`: the page,
/// then the originals of its live replies, then its live messages' reactions.
async fn page_read_apart(s: &Arc<dyn Store>, order: &str, page: Page) -> (History, PageExtras) {
    let history = s.history(&oid(order), page).await.unwrap();
    let live: Vec<&StoredMessage> = history
        .messages
        .iter()
        .filter(|m| !m.is_deleted())
        .collect();
    let mut reply_ids: Vec<MessageId> = live
        .iter()
        .filter_map(|m| m.reply_to_id.as_deref())
        .map(|id| MessageId::parse(id).unwrap())
        .collect();
    reply_ids.sort();
    reply_ids.dedup();
    let originals: HashMap<String, StoredMessage> = if reply_ids.is_empty() {
        HashMap::new()
    } else {
        s.messages_by_id(&oid(order), &reply_ids)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect()
    };
    let ids: Vec<MessageId> = live.iter().map(|m| mid(m)).collect();
    let reactions = if ids.is_empty() {
        HashMap::new()
    } else {
        s.reactions(&oid(order), &ids).await.unwrap()
    };
    let extras = PageExtras {
        originals,
        reactions,
    };
    (history, extras)
}

/// The one-statement page equals the three reads apart, for every kind of page.
async fn assert_same_page(s: &Arc<dyn Store>, order: &str, page: Page) -> HistoryWithExtras {
    let got = s.history_with_extras(&oid(order), page).await.unwrap();
    let (history, extras) = page_read_apart(s, order, page).await;
    assert_eq!(got.history.messages, history.messages, "{page:?}");
    assert_eq!(got.history.has_more, history.has_more, "{page:?}");
    assert_eq!(got.history.rev, history.rev, "{page:?}");
    assert_eq!(got.extras, extras, "{page:?}");
    got
}

async fn a_page_with_extras_is_the_page_its_originals_and_reactions(s: Arc<dyn Store>) {
    open_order(&s, "o1").await;
    open_order(&s, "o2").await;
    let elsewhere = send(&s, "o2", "c1", "in another order").await;
    // Its text has what JSON must escape; it was edited (an original carries `edited_at`).
    let old = send(&s, "o1", "c1", "before the page").await;
    let old = changed(
        &s,
        "o1",
        edit(&old, "\"quoted\" \\ back\nslash \u{7f} é 👍 </x>"),
    )
    .await;
    let doomed = send(&s, "o1", "c1", "to be deleted").await;
    let only_tomb = send(&s, "o1", "c1", "answered by a deleted reply only").await;
    let filler = send(&s, "o1", "c1", "filler").await;
    // The page of 6: seq 5..10.
    let to_old = reply(&s, "o1", &old, "answers a message before the page").await;
    let to_doomed = reply(&s, "o1", &doomed, "answers a deleted one").await;
    let to_other = reply(&s, "o1", &elsewhere, "names another order's message").await;
    let to_in_page = reply(&s, "o1", &to_old, "answers one on the page").await;
    let dead_reply = reply(&s, "o1", &only_tomb, "a reply, deleted").await;
    let plain = send(&s, "o1", "c1", "no reply").await;
    for (m, user, e) in [
        (&to_old, "a1", "👍"),
        (&to_old, "c1", "🔥"),
        (&to_old, "c1", "👍"),
        (&filler, "a1", "👍"),
        (&plain, "c1", "❤️"),
    ] {
        changed(&s, "o1", react(m, user, e, true)).await;
    }
    changed(&s, "o1", react(&plain, "c1", "❤️", false)).await;
    changed(&s, "o1", react(&dead_reply, "c1", "👍", true)).await;
    for m in [&doomed, &dead_reply] {
        let del = Change::Delete {
            message_id: mid(m),
            by: uid("c1"),
            at: now_millis(),
        };
        changed(&s, "o1", del).await;
    }

    let latest = assert_same_page(&s, "o1", Page::Latest { limit: 6 }).await;
    let ids: Vec<&str> = latest
        .history
        .messages
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    let page_ids = [
        &to_old,
        &to_doomed,
        &to_other,
        &to_in_page,
        &dead_reply,
        &plain,
    ];
    assert_eq!(ids, page_ids.map(|m| m.id.as_str()));
    assert!(latest.history.has_more);
    assert_eq!(latest.history.rev, current_rev(&s, "o1").await);
    // The originals: the one before the page, the deleted one (as its tombstone) and the one on
    // the page; not another order's, not the one only a tombstone answered.
    let mut originals: Vec<&str> = latest.extras.originals.keys().map(String::as_str).collect();
    originals.sort();
    let mut want = vec![old.id.as_str(), doomed.id.as_str(), to_old.id.as_str()];
    want.sort();
    assert_eq!(originals, want);
    assert!(latest.extras.originals[&doomed.id].is_deleted());
    // Reactions: emoji in the order of their first reaction, users in the order they reacted;
    // none for a message whose only reaction was taken back, none for a tombstone, none for
    // a message beyond the page (`filler`, seq 4).
    let on = |m: &StoredMessage| {
        latest.extras.reactions.get(&mid(m)).map(|r| {
            r.iter()
                .map(|x| {
                    let users: Vec<&str> = x.user_ids.iter().map(UserId::as_str).collect();
                    (x.emoji.as_str().to_owned(), users.join(","))
                })
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        on(&to_old),
        Some(vec![
            ("👍".into(), "a1,c1".into()),
            ("🔥".into(), "c1".into())
        ])
    );
    assert_eq!(latest.extras.reactions.len(), 1);
    assert_eq!(on(&filler), None);

    // The other kinds of page, and pages whose extra row (for `has_more`) has extras.
    assert_same_page(&s, "o1", Page::Latest { limit: 50 }).await;
    assert_same_page(&s, "o1", Page::Before { seq: 6, limit: 3 }).await;
    assert_same_page(&s, "o1", Page::After { seq: 4, limit: 2 }).await;
    let changed_page = assert_same_page(
        &s,
        "o1",
        Page::Changed {
            rev: to_old.rev,
            limit: 50,
        },
    )
    .await;
    assert!(
        changed_page
            .history
            .messages
            .iter()
            .any(|m| m.id == to_old.id)
    );
    let one = assert_same_page(&s, "o1", Page::Latest { limit: 1 }).await;
    assert_eq!(one.history.messages[0].id, plain.id);
    // Empty pages still carry the order's rev (0 for an order without messages).
    let empty = assert_same_page(&s, "o1", Page::Before { seq: 1, limit: 50 }).await;
    assert!(empty.history.messages.is_empty());
    assert_eq!(empty.history.rev, current_rev(&s, "o1").await);
    open_order(&s, "o3").await;
    let none = assert_same_page(&s, "o3", Page::Latest { limit: 50 }).await;
    assert_eq!((none.history.messages.len(), none.history.rev), (0, 0));
    assert_eq!(none.extras, PageExtras::default());
}

store_suite!(
    a_page_with_extras_is_the_page_its_originals_and_reactions,
    every_change_takes_the_next_rev,
    since_rev_returns_exactly_the_changed_messages,
    edits_and_deletes_keep_the_earlier_text,
    deleted_messages_are_never_unread,
    reactions_keep_their_order_and_limits,
    a_reaction_storm_loses_and_doubles_nothing,
    rev_never_repeats_under_mixed_concurrent_writers,
    changes_to_many_orders_at_once,
);

/// Two nodes on one PostgreSQL (two stores, two pools): revs stay unique and ordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_never_share_a_rev() {
    let Some(db) = common::postgres_db().await else {
        return;
    };
    let (n1, n2) = (common::open_store(&db).await, common::open_store(&db).await);
    open_order(&n1, "o1").await;
    let m = send(&n1, "o1", "c1", "shared").await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = if i % 2 == 0 { n1.clone() } else { n2.clone() };
            let m = m.clone();
            tokio::spawn(async move {
                if i % 4 < 2 {
                    send(&s, "o1", "a1", "x").await.rev
                } else {
                    changed(&s, "o1", react(&m, &format!("u{i}"), "👍", true))
                        .await
                        .rev
                }
            })
        })
        .collect();
    let mut revs = BTreeSet::new();
    for t in tasks {
        assert!(revs.insert(t.await.unwrap()));
    }
    assert_eq!(revs.len(), 40);
    assert_eq!(current_rev(&n2, "o1").await, *revs.last().unwrap());
}
