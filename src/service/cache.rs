//! A short-lived copy of recently used orders, so the access check of a send costs no query.
//!
//! Entries live `TTL`, and only while the order counter (`versions`) is what it was when they
//! were cached: a change acknowledged by the internal API on any node is seen by every node's
//! next access check.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::Order;

pub const TTL: Duration = Duration::from_secs(2);
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub(super) struct OrderCache {
    entries: Mutex<HashMap<String, (Instant, u64, Order)>>,
}

impl OrderCache {
    /// The order named by this id or number, if seen within `TTL` at this `version`.
    pub fn get(&self, key: &str, version: u64) -> Option<Order> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, v, _)| at.elapsed() < TTL && *v == version)
            .map(|(_, _, order)| order.clone())
    }

    pub fn put(&self, order: &Order, version: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let now = Instant::now();
        entries.insert(order.id.to_string(), (now, version, order.clone()));
        if let Some(number) = &order.number {
            entries.insert(number.clone(), (now, version, order.clone()));
        }
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
