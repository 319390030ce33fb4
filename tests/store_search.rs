//! The storage suite of search (§13), run against both backends: words and prefixes, case and
//! accents, several words, access, edits and deletes, paging, and queries that look like syntax.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use order_chat::domain::{
    Applied, Change, MessageId, NewMessage, Order, OrderId, OrderStatus, SearchCursor, SearchQuery,
    SearchTerms, StoredMessage, UserId, UserType, now_millis,
};
use order_chat::store::Store;

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}

async fn order(s: &Arc<dyn Store>, id: &str, customer: &str) {
    s.put_order(&Order {
        id: oid(id),
        number: Some(format!("N-{id}")),
        status: OrderStatus::parse("shopping").unwrap(),
        customer_id: uid(customer),
        agent_ids: vec![uid("agent")],
    })
    .await
    .unwrap();
}

async fn say(s: &Arc<dyn Store>, order: &str, body: &str) -> StoredMessage {
    s.insert_message(NewMessage {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: oid(order),
        sender_id: "agent".into(),
        sender_type: UserType::Agent,
        body: body.into(),
        image_url: None,
        attachment_ids: vec![],
        client_message_id: None,
        created_at: now_millis(),
        reply_to_id: None,
    })
    .await
    .unwrap()
    .message
}

/// The bodies found for `q` by `user` (None: an admin), newest first.
async fn find(s: &Arc<dyn Store>, user: Option<&str>, q: &str) -> Vec<String> {
    let terms = SearchTerms::parse(q).unwrap();
    let user = user.map(uid);
    s.search(SearchQuery {
        terms: &terms,
        participant: user.as_ref(),
        order: None,
        before: None,
        limit: 100,
    })
    .await
    .unwrap()
    .into_iter()
    .map(|h| h.message.body)
    .collect()
}

async fn words_prefixes_case_and_accents(s: Arc<dyn Store>) {
    order(&s, "o1", "cust").await;
    say(&s, "o1", "Do you want the Café latte?").await;
    say(&s, "o1", "CAFÉ closed, plantains instead").await;
    say(&s, "o1", "cafeteria is open").await;
    say(&s, "o1", "Ẹ ṣeun, the gate code is 4411").await;
    let got = find(&s, Some("cust"), "cafe").await;
    assert_eq!(
        got.len(),
        3,
        "cafe, Café, CAFÉ, cafeteria (prefix): {got:?}"
    );
    assert_eq!(find(&s, Some("cust"), "CAFÉ").await.len(), 3);
    assert_eq!(
        find(&s, Some("cust"), "plant").await,
        vec!["CAFÉ closed, plantains instead"]
    );
    assert!(
        find(&s, Some("cust"), "lantains").await.is_empty(),
        "not inside words"
    );
    assert_eq!(find(&s, Some("cust"), "gate 4411").await.len(), 1);
    assert!(
        find(&s, Some("cust"), "gate plantains").await.is_empty(),
        "every word must match"
    );
    assert_eq!(
        find(&s, Some("cust"), "seun").await.len(),
        1,
        "Yoruba marks ignored"
    );
    assert_eq!(find(&s, Some("cust"), "ẹ").await.len(), 1);
}

async fn newest_first_and_only_the_callers_orders(s: Arc<dyn Store>) {
    order(&s, "mine", "cust").await;
    order(&s, "theirs", "other").await;
    say(&s, "mine", "milk one").await;
    say(&s, "theirs", "milk secret").await;
    say(&s, "mine", "milk two").await;
    assert_eq!(
        find(&s, Some("cust"), "milk").await,
        vec!["milk two", "milk one"]
    );
    assert_eq!(find(&s, Some("other"), "milk").await, vec!["milk secret"]);
    assert_eq!(
        find(&s, Some("agent"), "milk").await.len(),
        3,
        "the agent of both"
    );
    assert_eq!(find(&s, None, "milk").await.len(), 3, "admins: every order");
    assert!(find(&s, Some("nobody"), "milk").await.is_empty());
    let terms = SearchTerms::parse("milk").unwrap();
    let only = s
        .search(SearchQuery {
            terms: &terms,
            participant: None,
            order: Some(&oid("theirs")),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
}

async fn edits_reindex_and_deletes_leave_the_index(s: Arc<dyn Store>) {
    order(&s, "o1", "cust").await;
    let m = say(&s, "o1", "bring yams").await;
    let id = MessageId::parse(&m.id).unwrap();
    let edit = Change::Edit {
        message_id: id.clone(),
        body: "bring rice".into(),
        by: uid("agent"),
        at: now_millis(),
    };
    assert!(matches!(
        s.apply_change(&oid("o1"), edit).await.unwrap(),
        Applied::Changed(_)
    ));
    assert!(
        find(&s, Some("cust"), "yams").await.is_empty(),
        "old text gone at once"
    );
    assert_eq!(find(&s, Some("cust"), "rice").await, vec!["bring rice"]);
    let del = Change::Delete {
        message_id: id,
        by: uid("agent"),
        at: now_millis(),
    };
    s.apply_change(&oid("o1"), del).await.unwrap();
    assert!(find(&s, Some("cust"), "rice").await.is_empty());
    assert!(find(&s, Some("cust"), "bring").await.is_empty());
}

async fn pages_have_no_duplicates_and_no_gaps(s: Arc<dyn Store>) {
    order(&s, "o1", "cust").await;
    let mut all = BTreeSet::new();
    for i in 0..23 {
        all.insert(say(&s, "o1", &format!("note {i}")).await.id);
    }
    let terms = SearchTerms::parse("note").unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<SearchCursor> = None;
    loop {
        let page = s
            .search(SearchQuery {
                terms: &terms,
                participant: Some(&uid("cust")),
                order: None,
                before: cursor.as_ref(),
                limit: 5,
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = Some(page.last().unwrap().cursor.clone());
        seen.extend(page.into_iter().map(|h| h.message.id));
    }
    assert_eq!(seen.len(), 23, "no duplicates");
    assert_eq!(
        seen.iter().cloned().collect::<BTreeSet<_>>(),
        all,
        "no gaps"
    );
}

async fn query_syntax_is_plain_text(s: Arc<dyn Store>) {
    order(&s, "o1", "cust").await;
    say(&s, "o1", "meet at NEAR gate OR door").await;
    for q in [
        "\"",
        "\"gate",
        "gate\"",
        "*",
        "gate*",
        ":",
        "gate:*",
        "(",
        ")",
        "-gate",
        "NEAR",
        "OR",
        "AND",
        "NOT",
        "'",
        "''",
        "\\",
        "gate & door",
        "gate | door",
        "!gate",
        "<->",
        "{a}",
        "^",
        "NEAR(gate door)",
        "col:gate",
        "'; DROP TABLE messages; --",
    ] {
        let _ = find(&s, Some("cust"), q).await;
    }
    assert_eq!(
        find(&s, Some("cust"), "NEAR").await.len(),
        1,
        "operators are words"
    );
    assert_eq!(find(&s, Some("cust"), "OR door").await.len(), 1);
    assert!(find(&s, Some("cust"), "*** :: --").await.is_empty());
}

/// Arbitrary query strings (every FTS5 and tsquery operator among them) never make the store
/// fail: 400 pseudo-random queries from a fixed seed, so a failure is reproducible.
async fn random_queries_never_fail(s: Arc<dyn Store>) {
    order(&s, "o1", "cust").await;
    say(
        &s,
        "o1",
        "the gate code is 4411, Café OR plantains NEAR door",
    )
    .await;
    let alphabet: Vec<char> = "\"*:()-^'\\&|!<>{}[];,.~+ aZé9_ORNEAR\u{0}\n\t🍌ẹ"
        .chars()
        .collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..400 {
        let mut q = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = 1 + (state % 24) as usize;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            q.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        match SearchTerms::parse(&q) {
            Ok(terms) => {
                s.search(SearchQuery {
                    terms: &terms,
                    participant: Some(&uid("cust")),
                    order: None,
                    before: None,
                    limit: 5,
                })
                .await
                .unwrap_or_else(|e| panic!("query {q:?} failed: {e}"));
            }
            Err(_) => assert!(q.trim().is_empty(), "only an empty query is refused: {q:?}"),
        }
    }
}

/// The caller's orders narrow the full-text match (SQLite spells them into it): ids the index
/// splits into words, ids it makes no word of, and more orders than are spelled out must all
/// give exactly the caller's messages.
async fn any_order_ids_and_many_orders_scope_exactly(s: Arc<dyn Store>) {
    order(&s, "a-b", "cust").await;
    order(&s, "x-a-b", "other").await;
    order(&s, "a.b", "other").await;
    say(&s, "a-b", "milk mine").await;
    say(&s, "x-a-b", "milk not mine").await;
    say(&s, "a.b", "milk not mine either").await;
    assert_eq!(find(&s, Some("cust"), "milk").await, vec!["milk mine"]);
    order(&s, "...", "cust").await;
    say(&s, "...", "milk dots").await;
    assert_eq!(
        find(&s, Some("cust"), "milk").await,
        vec!["milk dots", "milk mine"]
    );
    for i in 0..300 {
        order(&s, &format!("many-{i}"), "busy").await;
    }
    say(&s, "many-0", "milk oldest").await;
    say(&s, "x-a-b", "milk someone else").await;
    say(&s, "many-299", "milk newest").await;
    assert_eq!(
        find(&s, Some("busy"), "milk").await,
        vec!["milk newest", "milk oldest"]
    );
}

store_suite!(
    random_queries_never_fail,
    any_order_ids_and_many_orders_scope_exactly,
    words_prefixes_case_and_accents,
    newest_first_and_only_the_callers_orders,
    edits_reindex_and_deletes_leave_the_index,
    pages_have_no_duplicates_and_no_gaps,
    query_syntax_is_plain_text,
);
