//! A short-lived copy of recently used orders, so the access check of a send costs no query.
//!
//! Entries live `TTL`. This node forgets them all at once when the main backend changes any
//! order through it; another node's copy may lag by up to `TTL` (a removed agent could still
//! send for that long there).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::Order;

pub const TTL: Duration = Duration::from_secs(2);
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub(super) struct OrderCache {
    entries: Mutex<HashMap<String, (Instant, Order)>>,
}

impl OrderCache {
    /// The order named by this id or number, if seen within `TTL`.
    pub fn get(&self, key: &str) -> Option<Order> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, order)| order.clone())
    }

    pub fn put(&self, order: &Order) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let now = Instant::now();
        entries.insert(order.id.to_string(), (now, order.clone()));
        if let Some(number) = &order.number {
            entries.insert(number.clone(), (now, order.clone()));
        }
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
