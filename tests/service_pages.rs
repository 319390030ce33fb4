//! A join's page is carried forward by the changes stored on this node (src/service/pages.rs):
//! after every kind of change the next join is served from the cache without reading the page,
//! and what it serves is exactly what a fresh read of the same page renders.

mod common;

use common::TestService;
use order_chat::domain::{OrderRef, Page};
use order_chat::error::ChatError;
use order_chat::service::requests::{
    DeleteRequest, EditRequest, JoinRequest, ReactionRequest, SendRequest,
};
use order_chat::service::{Caller, OrderUpsert};
use serde_json::{Value, json};

/// Small, so that sends push the oldest message out of the page.
const LIMIT: u32 = 5;

struct Fixture {
    t: TestService,
    cust: Caller,
    agent: Caller,
}

impl Fixture {
    async fn new() -> Self {
        let t = TestService::spawn().await;
        let (cust, agent) = (t.caller("cust").await, t.caller("agent").await);
        Fixture { t, cust, agent }
    }

    fn counts(&self) -> (u64, u64) {
        let m = self.t.service.metrics();
        (m.page_cache_hits.get(), m.page_cache_misses.get())
    }

    /// Join (a new socket each time) and read the same page fresh; they must render the same.
    /// Returns whether the join was served from the cache, and the page.
    async fn join_matches_a_fresh_read(&self, what: &str) -> (bool, Vec<Value>) {
        let before = self.counts();
        let joined = self
            .t
            .service
            .join(
                &self.cust,
                &self.t.socket(),
                JoinRequest::parse(&json!({"orderId": "o1", "limit": LIMIT})).unwrap(),
            )
            .await
            .unwrap();
        let after = self.counts();
        let fresh = self
            .t
            .service
            .history(
                &self.cust,
                &OrderRef::parse("o1").unwrap(),
                Page::Latest { limit: LIMIT },
            )
            .await
            .unwrap();
        let served: Vec<Value> = joined
            .messages
            .iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect();
        let read: Vec<Value> = fresh
            .messages
            .iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect();
        assert_eq!(
            served, read,
            "after {what}: the join's page is a fresh read's"
        );
        assert_eq!(joined.has_more, fresh.has_more, "after {what}: hasMore");
        assert_eq!(joined.rev, fresh.rev, "after {what}: rev");
        let hit = after.0 == before.0 + 1;
        assert_eq!(
            after.0 + after.1,
            before.0 + before.1 + 1,
            "after {what}: one page lookup per join"
        );
        (hit, served)
    }

    async fn send(&self, who: &Caller, text: &str, reply_to: Option<&str>) -> String {
        let mut v = json!({"orderId": "o1", "message": text});
        if let Some(id) = reply_to {
            v["replyToId"] = json!(id);
        }
        // The concurrent test sends faster than a user may: wait out the budget.
        let sent = loop {
            match self
                .t
                .service
                .send(who, SendRequest::parse(&v, None).unwrap())
                .await
            {
                Err(ChatError::RateLimited { retry_after }) => {
                    tokio::time::sleep(retry_after).await
                }
                other => break other.unwrap(),
            }
        };
        serde_json::to_value(&sent).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn react(&self, who: &Caller, id: &str, emoji: &str, add: bool) {
        let req = ReactionRequest::parse(
            &json!({"orderId": "o1", "messageId": id, "emoji": emoji}),
            None,
            None,
        )
        .unwrap();
        self.t.service.react(who, req, add).await.unwrap();
    }
}

#[tokio::test]
async fn every_change_carries_the_cached_page_forward() {
    let f = Fixture::new().await;
    // The first join reads the (empty) page; the second is served from the cache.
    assert!(!f.join_matches_a_fresh_read("nothing yet").await.0);
    assert!(f.join_matches_a_fresh_read("a repeat join").await.0);

    let a = f.send(&f.cust, "first", None).await;
    assert!(f.join_matches_a_fresh_read("a send").await.0);
    let b = f.send(&f.agent, "second", None).await;
    let c = f.send(&f.cust, "third", Some(&a)).await;
    assert!(
        f.join_matches_a_fresh_read("a reply to a message in the page")
            .await
            .0
    );

    let edit = EditRequest::parse(
        &json!({"orderId": "o1", "messageId": a, "message": "first, fixed"}),
        None,
    )
    .unwrap();
    f.t.service.edit(&f.cust, edit).await.unwrap();
    let (hit, page) = f
        .join_matches_a_fresh_read("an edit of a replied-to message")
        .await;
    assert!(hit);
    let quoted = page.iter().find(|m| m["id"] == json!(c)).unwrap();
    assert_eq!(quoted["replyTo"]["preview"], "first, fixed", "{quoted}");

    f.react(&f.cust, &b, "👍", true).await;
    f.react(&f.agent, &b, "👍", true).await;
    f.react(&f.agent, &b, "🎉", true).await;
    assert!(f.join_matches_a_fresh_read("reactions").await.0);
    f.react(&f.cust, &b, "👍", false).await;
    f.react(&f.agent, &b, "🎉", false).await;
    assert!(f.join_matches_a_fresh_read("reactions taken back").await.0);

    let del = DeleteRequest::parse(&json!({"orderId": "o1", "messageId": a}), None).unwrap();
    f.t.service.delete(&f.cust, del).await.unwrap();
    assert!(
        f.join_matches_a_fresh_read("a delete of a replied-to message")
            .await
            .0
    );

    // More than a page: the oldest leave the page, hasMore turns true.
    for i in 0..4 {
        f.send(
            if i % 2 == 0 { &f.agent } else { &f.cust },
            &format!("more {i}"),
            None,
        )
        .await;
    }
    let (hit, page) = f
        .join_matches_a_fresh_read("sends past the page's size")
        .await;
    assert!(hit);
    assert_eq!(page.len(), LIMIT as usize);

    // A change to a message no longer in the page moves the rev; the page is still carried.
    f.react(&f.cust, &b, "👍", true).await;
    assert!(
        f.join_matches_a_fresh_read("a reaction outside the page")
            .await
            .0
    );

    // A reply to a message the cache does not hold brings it along; its later changes follow.
    let d = f.send(&f.agent, "about the second", Some(&b)).await;
    let (hit, page) = f
        .join_matches_a_fresh_read("a reply to a message outside the page")
        .await;
    assert!(hit);
    let quoted = page.iter().find(|m| m["id"] == json!(d)).unwrap();
    assert_eq!(quoted["replyTo"]["preview"], "second", "{quoted}");
    let edit = EditRequest::parse(
        &json!({"orderId": "o1", "messageId": b, "message": "second, fixed"}),
        None,
    )
    .unwrap();
    f.t.service.edit(&f.agent, edit).await.unwrap();
    let (hit, page) = f
        .join_matches_a_fresh_read("an edit of that original")
        .await;
    assert!(hit);
    let quoted = page.iter().find(|m| m["id"] == json!(d)).unwrap();
    assert_eq!(quoted["replyTo"]["preview"], "second, fixed", "{quoted}");

    // A system message from the backend's order update.
    let up = OrderUpsert::parse(
        "o1",
        &json!({"orderNumber": "B2S-AAAA1", "status": "delivery",
                "customer": {"id": "cust", "name": "Customer cust"},
                "agents": [{"id": "agent", "name": "Agent agent"}]}),
    )
    .unwrap();
    f.t.service.put_order(up).await.unwrap();
    assert!(f.join_matches_a_fresh_read("a system message").await.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_leave_the_cached_page_exact() {
    let f = std::sync::Arc::new(Fixture::new().await);
    let first = f.send(&f.cust, "start", None).await;
    f.join_matches_a_fresh_read("the first message").await;
    for round in 0..5 {
        // Changes of one order racing each other: their acks (and so the cache's updates)
        // come back in any order.
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (f, first) = (f.clone(), first.clone());
                tokio::spawn(async move {
                    let who = if i % 2 == 0 { &f.cust } else { &f.agent };
                    match i % 4 {
                        0 => {
                            f.send(who, &format!("r{round} m{i}"), None).await;
                        }
                        1 => {
                            f.react(who, &first, ["👍", "🎉", "❤️"][i % 3], round % 2 == 0)
                                .await
                        }
                        2 => {
                            f.send(who, &format!("r{round} reply {i}"), Some(&first))
                                .await;
                        }
                        _ => f.react(who, &first, "🔥", true).await,
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        f.join_matches_a_fresh_read(&format!("round {round}")).await;
    }
}
