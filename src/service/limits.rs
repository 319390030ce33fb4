//! Abuse limits and the shutdown drain: how much one user may do, and the count of sends in
//! flight that a SIGTERM waits for.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;

use crate::domain::{OrderId, UserId};
use crate::error::ChatError;

/// The per-user limits, with their defaults (each is a flag and an environment variable).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Messages one user may send per second (socket and REST together).
    pub messages_per_second: u32,
    /// How many messages may come at once before the rate applies.
    pub message_burst: u32,
    /// Typing events one user may send per order per second; more are dropped, not broadcast.
    pub typing_per_second: u32,
    /// Live sockets one user may hold on this node.
    pub sockets_per_user: usize,
    /// Order chats one socket may be in at once.
    pub rooms_per_socket: usize,
    /// How long after sending its sender may edit a message.
    pub edit_window: Duration,
    /// How long after sending its sender may delete a message (admins: always).
    pub delete_window: Duration,
    /// How long a user may be away from an order's chat (no socket in it) before `user-left`
    /// is announced: a reload or a short drop announces nothing.
    pub presence_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            messages_per_second: 10,
            message_burst: 20,
            typing_per_second: 4,
            sockets_per_user: 20,
            rooms_per_socket: 50,
            edit_window: Duration::from_secs(15 * 60),
            delete_window: Duration::from_secs(24 * 3600),
            presence_grace: Duration::from_secs(10),
        }
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

pub(super) struct Throttles {
    pub limits: Limits,
    messages: DefaultKeyedRateLimiter<UserId>,
    typing: DefaultKeyedRateLimiter<(OrderId, UserId)>,
    checks: AtomicUsize,
}

impl Throttles {
    pub fn new(limits: Limits) -> Self {
        let messages = RateLimiter::keyed(
            Quota::per_second(nz(limits.messages_per_second)).allow_burst(nz(limits.message_burst)),
        );
        let typing = RateLimiter::keyed(Quota::per_second(nz(limits.typing_per_second)));
        Self {
            limits,
            messages,
            typing,
            checks: AtomicUsize::new(0),
        }
    }

    /// Forget idle users now and then, so the limiters' memory stays bounded.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.messages.retain_recent();
            self.typing.retain_recent();
        }
    }

    pub fn message(&self, user: &UserId) -> Result<(), ChatError> {
        self.housekeeping();
        self.messages
            .check_key(user)
            .map_err(|not_until| ChatError::RateLimited {
                retry_after: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .max(Duration::from_millis(1)),
            })
    }

    /// False when this typing event should be dropped.
    pub fn typing(&self, order: &OrderId, user: &UserId) -> bool {
        self.housekeeping();
        self.typing
            .check_key(&(order.clone(), user.clone()))
            .is_ok()
    }
}

/// Sends in flight, and whether the server is draining for shutdown.
#[derive(Default, Clone)]
pub(super) struct Flights {
    inner: Arc<FlightsInner>,
}

#[derive(Default)]
struct FlightsInner {
    draining: AtomicBool,
    count: AtomicUsize,
    idle: Notify,
}

pub(super) struct Flight(Arc<FlightsInner>);

impl Drop for Flight {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Flights {
    /// Start a send; refused once the server drains.
    pub fn enter(&self) -> Result<Flight, ChatError> {
        self.inner.count.fetch_add(1, Ordering::AcqRel);
        let flight = Flight(self.inner.clone());
        if self.inner.draining.load(Ordering::Acquire) {
            return Err(ChatError::ShuttingDown);
        }
        Ok(flight)
    }

    /// Is the server shutting down? (Departures are then settled at once: no grace.)
    pub fn stopping(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// Refuse new sends and wait (at most `max`) for those in flight to finish.
    pub async fn drain(&self, max: Duration) -> usize {
        self.inner.draining.store(true, Ordering::Release);
        let wait = async {
            loop {
                let idle = self.inner.idle.notified();
                if self.inner.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(max, wait).await;
        self.inner.count.load(Ordering::Acquire)
    }
}

impl super::ChatService {
    /// One message from the user's budget: the shared one when clustered, else (or when it is
    /// unreachable) this node's.
    pub(super) async fn take_message_budget(&self, user: &UserId) -> Result<(), ChatError> {
        let limits = &self.throttles.limits;
        if let Some(shared) = &self.shared_rate {
            match shared
                .take(user, limits.messages_per_second, limits.message_burst)
                .await
            {
                Some(Ok(())) => return Ok(()),
                Some(Err(retry_after)) => return Err(ChatError::RateLimited { retry_after }),
                None => {
                    self.metrics.rate_limit_local_fallbacks.inc();
                }
            }
        }
        self.throttles.message(user)
    }
}
