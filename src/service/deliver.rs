//! Notifications (§14), the sending half: every node claims due outbox rows (each row by one
//! node), attempts them, and records the outcome: delivered, retried later with backoff and
//! jitter (or `Retry-After`), or given up after 24 h. A node that dies mid-attempt leaves its
//! rows locked for a minute, then any node tries them again.

use std::collections::HashMap;

use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

use super::ChatService;
use super::notify::Notifier;
use crate::domain::{Attempt, Channel, Delivery, Millis, PushSubscription, now_millis};
use crate::error::ChatResult;
use crate::outbound::{Sent, push};

/// Rows claimed per round (their outcomes are recorded in one transaction), and how many of
/// them are attempted at once.
const CLAIM: i64 = 128;
const ATTEMPTS_AT_ONCE: usize = 32;
/// How long a claimed row is this node's (longer than an attempt's timeout).
const LOCK_MS: Millis = 60_000;
/// Retried for up to this long after it was recorded.
pub const GIVE_UP_AFTER_MS: Millis = 24 * 3600 * 1000;
/// Delivered rows are kept this long, dead ones this long (then pruned).
const KEEP_DELIVERED_MS: Millis = 3600 * 1000;
const KEEP_DEAD_MS: Millis = 7 * 24 * 3600 * 1000;
/// After a change wakes the decider, how long it gathers others before its round.
const EAGER_GATHER: Duration = Duration::from_millis(20);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Attempt `n` (1, 2, …) failed: wait `min(2^(n-1) s, 1 h)`, ±25 %.
pub fn backoff(attempt: i64, jitter: f64) -> Duration {
    let exp = (attempt.clamp(1, 13) - 1) as u32;
    let base = Duration::from_secs(1u64 << exp).min(MAX_BACKOFF);
    base.mul_f64(1.0 + 0.5 * (jitter.clamp(0.0, 1.0) - 0.5))
}

impl ChatService {
    /// One round of delivering at `now`: returns how many rows were attempted.
    pub async fn deliver_notifications(&self, now: Millis) -> ChatResult<usize> {
        let Some(n) = self.notifier.clone() else {
            return Ok(0);
        };
        let claimed = self
            .store
            .claim_deliveries(now, now + LOCK_MS, CLAIM)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let endpoints: Vec<String> = claimed
            .iter()
            .filter(|d| d.channel == Channel::Push)
            .filter_map(|d| d.target.clone())
            .collect();
        let subs: HashMap<String, PushSubscription> = if endpoints.is_empty() {
            HashMap::new()
        } else {
            self.store
                .push_subscriptions(&endpoints)
                .await?
                .into_iter()
                .map(|s| (s.endpoint.clone(), s))
                .collect()
        };
        let count = claimed.len();
        let done: Vec<(String, Attempt, bool)> = futures_util::stream::iter(claimed)
            .map(|d| {
                let sub = d.target.as_ref().and_then(|t| subs.get(t)).cloned();
                self.attempt(&n, d, sub, now)
            })
            .buffer_unordered(ATTEMPTS_AT_ONCE)
            .collect()
            .await;
        // A webhook retry that got through: the receiver is back.
        let recovered = done
            .iter()
            .any(|(_, a, back)| *back && *a == Attempt::Delivered);
        let done: Vec<(String, Attempt)> = done.into_iter().map(|(id, a, _)| (id, a)).collect();
        if let Err(e) = self
            .store
            .finish_deliveries(&done, recovered, now_millis())
            .await
        {
            // The rows stay locked, then are tried again: at least once, never lost.
            tracing::warn!(deliveries = done.len(), error = %e, "cannot record notification attempts");
        }
        Ok(count)
    }

    /// One attempt: the row's id, its outcome, and whether it was a webhook retry.
    async fn attempt(
        &self,
        n: &Notifier,
        d: Delivery,
        sub: Option<PushSubscription>,
        now: Millis,
    ) -> (String, Attempt, bool) {
        let secs = now.div_euclid(1000);
        let sent = match d.channel {
            Channel::Webhook => n.outbound.webhook(&d.id, &d.payload, secs).await,
            Channel::Push => match &sub {
                // Unsubscribed since the notification was decided: nothing to send.
                None => Sent::Failed {
                    error: "the subscription was removed".into(),
                },
                Some(sub) => {
                    let topic = push::topic(&order_of(&d.payload));
                    n.outbound
                        .push(sub, d.payload.as_bytes(), &topic, secs as u64)
                        .await
                }
            },
        };
        let channel = d.channel.as_str();
        let attempt = match sent {
            Sent::Delivered => {
                self.metrics.delivery(channel, "delivered");
                Attempt::Delivered
            }
            Sent::Gone => {
                self.metrics.delivery(channel, "gone");
                if let Some(sub) = &sub
                    && let Err(e) = self.store.forget_push_endpoint(&sub.endpoint).await
                {
                    tracing::warn!(error = %e, "cannot remove a gone push subscription");
                }
                Attempt::Dead {
                    error: "the push service says the subscription is gone (404/410); removed"
                        .into(),
                }
            }
            Sent::Failed { error } => {
                self.metrics.delivery(channel, "dead");
                tracing::warn!(delivery = %d.id, channel, %error, "notification given up");
                Attempt::Dead { error }
            }
            Sent::Retry { after, error } => {
                let wait =
                    backoff(d.attempts + 1, rand::random::<f64>()).max(after.unwrap_or_default());
                let at = now.saturating_add(wait.as_millis() as Millis);
                if at - d.created_at > GIVE_UP_AFTER_MS {
                    self.metrics.delivery(channel, "dead");
                    tracing::warn!(delivery = %d.id, channel, %error, "notification given up after 24 h");
                    Attempt::Dead { error }
                } else {
                    self.metrics.delivery(channel, "retry");
                    tracing::info!(delivery = %d.id, channel, %error, attempt = d.attempts + 1, "notification failed: retrying");
                    Attempt::Retry { at, error }
                }
            }
        };
        let retried_webhook = d.channel == Channel::Webhook && d.attempts > 0;
        (d.id, attempt, retried_webhook)
    }

    /// Decide (under the lease) and deliver (on every node) for as long as the service lives.
    pub fn spawn_notifier(self: &Arc<Self>, holder: String) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(n) = self.notifier.clone() else {
            return Vec::new();
        };
        let decide = {
            let weak = Arc::downgrade(self);
            let n = n.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    // Every 250 ms, or soon after a change stored here when changes are due
                    // at once (the short wait gathers a burst into one round).
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = n.decide.notified() => {
                            tokio::time::sleep(EAGER_GATHER).await;
                            tick.reset();
                        }
                    }
                    let Some(svc) = weak.upgrade() else { return };
                    // A full round means more may be due: go on at once.
                    loop {
                        match svc.decide_notifications(&holder, now_millis()).await {
                            Ok(k) if k as i64 >= super::notify::ORDERS_PER_ROUND => continue,
                            Ok(_) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "deciding notifications failed");
                                break;
                            }
                        }
                    }
                }
            })
        };
        let deliver = {
            let weak = Arc::downgrade(self);
            tokio::spawn(async move {
                let mut last_prune: Millis = 0;
                let mut last_gauge: Millis = 0;
                loop {
                    let Some(svc) = weak.upgrade() else { return };
                    let now = now_millis();
                    let done = match svc.deliver_notifications(now).await {
                        Ok(k) => k,
                        Err(e) => {
                            tracing::warn!(error = %e, "delivering notifications failed");
                            0
                        }
                    };
                    if now - last_prune > 600_000 {
                        last_prune = now;
                        if let Err(e) = svc
                            .store
                            .prune_deliveries(now - KEEP_DELIVERED_MS, now - KEEP_DEAD_MS)
                            .await
                        {
                            tracing::warn!(error = %e, "pruning the outbox failed");
                        }
                    }
                    if now - last_gauge >= 1_000 {
                        last_gauge = now;
                        match svc.store.pending_deliveries().await {
                            Ok(n) => {
                                svc.metrics.outbox_pending.set(n);
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot count the outbox"),
                        }
                    }
                    drop(svc);
                    if done as i64 >= CLAIM {
                        continue;
                    }
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), n.wake.notified()).await;
                }
            })
        };
        vec![decide, deliver]
    }
}

/// The order a push payload is about (for its `Topic`).
fn order_of(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v["orderId"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_with_jitter() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(2, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(5, 0.5), Duration::from_secs(16));
        assert_eq!(backoff(30, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(3, 0.0), Duration::from_secs(3));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(5));
    }
}
