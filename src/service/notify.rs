//! Notifications (§14), the deciding half: which participants are told about which messages,
//! and which `message.*` events the webhook gets. One node at a time decides (a lease); the
//! decisions are outbox rows (`deliver.rs` sends them) written in one transaction with the
//! marks that say what was decided, so a crash repeats a decision at most, and the outbox's
//! stable ids make a repeat insert nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::json;

use super::requests::{SubscribeRequest, UnsubscribeRequest};
use super::{Access, Caller, ChatService};
use crate::domain::{
    Channel, DueOrder, MAX_PUSH_SUBSCRIPTIONS_PER_USER, Millis, NewDelivery, NotifyLeads, Order,
    OrderRef, Page, PushSubscription, ScanRecord, StoredMessage, UserType, now_millis, rfc3339,
};
use crate::error::{ChatError, ChatResult};
use crate::outbound::{Outbound, push};
use crate::wire;

const LEASE: &str = "notify-scan";
/// How long a taken lease lasts; the holder renews it once less than half is left.
const LEASE_MS: Millis = 10_000;
/// Orders decided per round, and changed messages read per order and round.
pub(super) const ORDERS_PER_ROUND: i64 = 200;
const CHANGES_PER_ROUND: u32 = 200;
/// Orders decided at once within a round.
const DECIDE_CONCURRENCY: usize = 8;
/// Characters of a message shown in a push.
const PREVIEW_CHARS: usize = 140;

/// What the service needs to notify: where to send, and after how long.
pub struct Notifier {
    pub(super) outbound: Arc<Outbound>,
    pub(super) delay: Duration,
    /// Wakes this node's delivery loop when a round recorded deliveries.
    pub(super) wake: tokio::sync::Notify,
    /// Changes are due at once (a webhook, or no delay): a stored change wakes the decider.
    pub(super) eager: bool,
    pub(super) decide: tokio::sync::Notify,
    /// Until when this node holds the deciding lease, as far as it knows (0: it does not).
    pub(super) lease_until: AtomicI64,
}

impl Notifier {
    /// Does this node hold the lease at `now` with more than half of it left? Then a round need
    /// not renew it: a renewal is a write, and on SQLite every write makes each reader
    /// connection drop its page cache at its next read. Renewing at each 250 ms round did
    /// that four times a second on an idle server (seen in `perf` of a join round as pages
    /// read again from the WAL and the OS).
    fn holds_lease(&self, now: Millis) -> bool {
        now + LEASE_MS / 2 < self.lease_until.load(Ordering::Acquire)
    }

    /// A change was stored on this node.
    pub(super) fn changed(&self) {
        if self.eager {
            self.decide.notify_one();
        }
    }
}

impl ChatService {
    /// Notify (webhook and Web Push) after `delay`. Tells the store to mark orders when a
    /// message (or, with a webhook, any change) makes them due.
    pub fn with_notifications(mut self, outbound: Arc<Outbound>, delay: Duration) -> Self {
        let hook = outbound.has_webhook();
        self.store.set_notify_leads(NotifyLeads {
            on_message: Some(if hook { 0 } else { delay.as_millis() as Millis }),
            on_change: hook.then_some(0),
        });
        self.notifier = Some(Arc::new(Notifier {
            outbound,
            delay,
            wake: tokio::sync::Notify::new(),
            eager: hook || delay.is_zero(),
            decide: tokio::sync::Notify::new(),
            lease_until: AtomicI64::new(0),
        }));
        self
    }

    fn notifier(&self) -> ChatResult<&Arc<Notifier>> {
        self.notifier.as_ref().ok_or_else(|| {
            ChatError::NotFound("Notifications are not enabled on this server".into())
        })
    }

    /// One round of deciding at `now`, if this node (`holder`) holds the lease. Returns how
    /// many orders it looked at.
    pub async fn decide_notifications(&self, holder: &str, now: Millis) -> ChatResult<usize> {
        let Some(n) = self.notifier.clone() else {
            return Ok(0);
        };
        if !n.holds_lease(now) {
            if !self
                .store
                .take_lease(LEASE, holder, now, now + LEASE_MS)
                .await?
            {
                return Ok(0);
            }
            n.lease_until.store(now + LEASE_MS, Ordering::Release);
        }
        let due = self.store.due_orders(now, ORDERS_PER_ROUND).await?;
        // Orders are decided concurrently (reads only), then recorded in one transaction,
        // sorted by order id (several orders' rows are locked in one fixed order).
        let mut decided = Vec::with_capacity(due.len());
        for chunk in due.chunks(DECIDE_CONCURRENCY) {
            let results =
                futures_util::future::join_all(chunk.iter().map(|o| self.decide_order(&n, o, now)))
                    .await;
            decided.extend(chunk.iter().zip(results));
        }
        let mut scans: Vec<(crate::domain::OrderId, ScanRecord)> = Vec::with_capacity(due.len());
        for (order, result) in decided {
            match result {
                Ok(scan) => scans.push((order.order_id.clone(), scan)),
                Err(e) => {
                    tracing::warn!(order = %order.order_id, error = %e, "cannot decide notifications")
                }
            }
        }
        scans.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let recorded = scans.iter().any(|(_, s)| !s.deliveries.is_empty());
        if !scans.is_empty() {
            self.store.record_scans(&scans).await?;
        }
        if recorded {
            n.wake.notify_one();
        }
        Ok(due.len())
    }

    /// Decide one due order: what to record of it.
    async fn decide_order(
        &self,
        n: &Notifier,
        due: &DueOrder,
        now: Millis,
    ) -> ChatResult<ScanRecord> {
        let state = self.store.notify_state(&due.order_id).await?;
        let mut scan = ScanRecord {
            seen_rev: due.last_rev,
            hook_rev: state.hook_rev,
            hook_seq: state.hook_seq,
            now,
            ..ScanRecord::default()
        };
        let Some(order) = self.store.get_order(&due.order_id).await? else {
            return Ok(scan);
        };
        if n.outbound.has_webhook() {
            self.message_events(&order, &mut scan, now).await?;
        } else {
            // Nothing to tell about changes: a webhook configured later starts from here.
            scan.hook_rev = due.last_rev;
            scan.hook_seq = due.last_seq;
        }
        let delay = n.delay.as_millis() as Millis;
        for user in order.participant_ids() {
            let read = state.reads.get(user).copied().unwrap_or(0);
            let marked = state.marks.get(user).copied().unwrap_or(0);
            let Some(unseen) = self
                .store
                .unnotified(&order.id, user, read.max(marked))
                .await?
            else {
                continue;
            };
            let due_at = unseen.first_at.saturating_add(delay);
            if due_at > now {
                scan.next_at = Some(scan.next_at.map_or(due_at, |t| t.min(due_at)));
                continue;
            }
            scan.marks.push((user.clone(), unseen.last_seq));
            if state.muted.contains(user)
                || self.realtime.user_sockets_in_order(&order.id, user).await > 0
            {
                continue;
            }
            let Some(last) = self.store.message_at(&order.id, unseen.last_seq).await? else {
                continue;
            };
            let last = self.render_one(&order, last).await?;
            self.due_deliveries(
                n,
                &order,
                user.as_str(),
                unseen.count,
                &last,
                now,
                &mut scan,
            )
            .await?;
        }
        Ok(scan)
    }

    /// `message.created`, `message.updated`, `message.deleted` for the order's changes after
    /// the hook rev, in rev order.
    async fn message_events(
        &self,
        order: &Order,
        scan: &mut ScanRecord,
        now: Millis,
    ) -> ChatResult<()> {
        let page = Page::Changed {
            rev: scan.hook_rev,
            limit: CHANGES_PER_ROUND,
        };
        let history = self.store.history(&order.id, page).await?;
        let has_more = history.has_more;
        if has_more {
            scan.next_at = Some(now);
        }
        let announced = scan.hook_seq;
        let kinds: Vec<&'static str> = history
            .messages
            .iter()
            .map(|m| event_type(m, announced))
            .collect();
        let seqs: Vec<i64> = history.messages.iter().map(|m| m.seq).collect();
        let revs: Vec<i64> = history.messages.iter().map(|m| m.rev).collect();
        let rendered = self.render(order, history.messages).await?;
        for ((message, kind), rev) in rendered.into_iter().zip(kinds).zip(revs) {
            let id = NewDelivery::id_of(&[kind, order.id.as_str(), &message.id, &rev.to_string()]);
            let data = json!({
                "orderId": order.id.as_str(),
                "orderNumber": order.number,
                "message": message,
            });
            scan.deliveries.push(webhook_event(id, kind, data, now));
            scan.hook_rev = scan.hook_rev.max(rev);
        }
        // Within a long backlog (more than a page), a message of a later page may be older
        // than one of this page and still unannounced: the seq moves once the backlog is read.
        if !has_more {
            scan.hook_seq = seqs.into_iter().fold(scan.hook_seq, i64::max);
        }
        Ok(())
    }

    /// A due notification: one webhook event and one push per subscription of the user.
    #[allow(clippy::too_many_arguments)]
    async fn due_deliveries(
        &self,
        n: &Notifier,
        order: &Order,
        user: &str,
        count: i64,
        last: &wire::Message,
        now: Millis,
        scan: &mut ScanRecord,
    ) -> ChatResult<()> {
        let seq = last.seq.to_string();
        if n.outbound.has_webhook() {
            let id = NewDelivery::id_of(&["due", order.id.as_str(), user, &seq]);
            let data = json!({
                "userId": user,
                "orderId": order.id.as_str(),
                "orderNumber": order.number,
                "count": count,
                "lastMessage": last,
            });
            scan.deliveries
                .push(webhook_event(id, "notification.due", data, now));
        }
        let user_id = crate::domain::UserId::from_trusted(user.to_owned());
        let payload = push_payload(order, user, count, last).to_string();
        for sub in self.store.push_subscriptions_of(&user_id).await? {
            scan.deliveries.push(NewDelivery {
                id: NewDelivery::id_of(&["push", order.id.as_str(), user, &seq, &sub.endpoint]),
                channel: Channel::Push,
                target: Some(sub.endpoint),
                event_type: "notification.due".into(),
                payload: payload.clone(),
                created_at: now,
            });
        }
        Ok(())
    }

    /// `GET /push/public-key`.
    pub fn push_public_key(&self, _caller: &Caller) -> ChatResult<String> {
        Ok(self.notifier()?.outbound.public_key().to_owned())
    }

    /// `POST /push/subscriptions`: true when the endpoint is new.
    pub async fn subscribe_push(
        &self,
        caller: &Caller,
        req: SubscribeRequest,
    ) -> ChatResult<(PushSubscription, bool)> {
        let n = self.notifier()?;
        n.outbound
            .hosts()
            .check_endpoint(&req.endpoint)
            .map_err(ChatError::validation)?;
        push::check_keys(&req.p256dh, &req.auth).map_err(ChatError::validation)?;
        let sub = PushSubscription {
            endpoint: req.endpoint,
            user_id: caller.user_id.clone(),
            p256dh: req.p256dh,
            auth: req.auth,
            created_at: now_millis(),
        };
        let created = self
            .store
            .put_push_subscription(&sub, MAX_PUSH_SUBSCRIPTIONS_PER_USER)
            .await?;
        Ok((sub, created))
    }

    /// `DELETE /push/subscriptions`: true when the caller had it.
    pub async fn unsubscribe_push(
        &self,
        caller: &Caller,
        req: UnsubscribeRequest,
    ) -> ChatResult<bool> {
        self.notifier()?;
        Ok(self
            .store
            .delete_push_subscription(&caller.user_id, &req.endpoint)
            .await?)
    }

    /// `PUT /orders/{orderId}/notifications`: the order's participants only.
    pub async fn set_muted(
        &self,
        caller: &Caller,
        order: &OrderRef,
        muted: bool,
    ) -> ChatResult<(String, bool)> {
        let order = self.participant_order(caller, order).await?;
        self.store
            .set_muted(&order.id, &caller.user_id, muted, now_millis())
            .await?;
        Ok((order.id.to_string(), muted))
    }

    /// `GET /orders/{orderId}/notifications`.
    pub async fn muted(&self, caller: &Caller, order: &OrderRef) -> ChatResult<(String, bool)> {
        let order = self.participant_order(caller, order).await?;
        let muted = self.store.is_muted(&order.id, &caller.user_id).await?;
        Ok((order.id.to_string(), muted))
    }

    async fn participant_order(&self, caller: &Caller, order: &OrderRef) -> ChatResult<Order> {
        let Access { order, role } = self.access(caller, order).await?;
        if role == UserType::Admin {
            return Err(ChatError::Forbidden(
                "Notifications are for the order's participants; admins are not notified".into(),
            ));
        }
        Ok(order)
    }
}

/// A message not announced yet is `created` (in its state now); a tombstone `deleted`; any
/// other change (an edit, a reaction) `updated`.
fn event_type(m: &StoredMessage, announced_seq: i64) -> &'static str {
    if m.is_deleted() {
        "message.deleted"
    } else if m.seq > announced_seq {
        "message.created"
    } else {
        "message.updated"
    }
}

/// The Standard Webhooks envelope `{type, timestamp, data}`, fixed when recorded so that every
/// attempt sends the same bytes.
fn webhook_event(id: String, kind: &str, data: serde_json::Value, now: Millis) -> NewDelivery {
    let body = json!({ "type": kind, "timestamp": rfc3339(now), "data": data });
    NewDelivery {
        id,
        channel: Channel::Webhook,
        target: None,
        event_type: kind.to_owned(),
        payload: body.to_string(),
        created_at: now,
    }
}

/// The push payload `{title, body, orderId, url, tag}` (§14's choices).
pub(super) fn push_payload(
    order: &Order,
    user: &str,
    count: i64,
    last: &wire::Message,
) -> serde_json::Value {
    let number = order.number.as_deref().unwrap_or(order.id.as_str());
    let text: String = if last.message.trim().is_empty() {
        match last.attachments.first() {
            Some(a) => format!("📎 {}", a.name),
            None => "📎 Attachment".into(),
        }
    } else {
        last.message.chars().take(PREVIEW_CHARS).collect()
    };
    let mut body = format!("{}: {text}", last.sender.name);
    if count > 1 {
        body = format!("{count} new messages · {body}");
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("orderId", order.id.as_str())
        .append_pair("userId", user)
        .finish();
    json!({
        "title": format!("Order #{number}"),
        "body": body,
        "orderId": order.id.as_str(),
        "url": format!("/chat.html?{query}"),
        "tag": format!("order-{}", order.id.as_str()),
    })
}
