//! The stored part of a join's page, reused while its order has not changed.
//!
//! A join renders the latest page of an order: its messages, the messages they reply to and
//! their reactions, read in one statement (`history_with_extras`). All of that changes only
//! with the order's `rev` — every send, edit, delete and reaction moves it, on whichever node
//! it happens — so a page read at rev R is served again while the order's rev is still R: one
//! indexed read of the rev instead of the page. Both participants of an order joining, or
//! everyone reconnecting after a restart, read the order's page once.
//!
//! Why a cached page is never stale: the page, its originals and reactions are read in one
//! snapshot together with the rev they are the state of (or, for an empty page, after a rev
//! read before them, so they hold the state at that rev or later). An entry is served only
//! while the order's rev is still its rev, i.e. when no change after it exists: then the entry
//! is exactly the order's current state.
//!
//! Nothing per viewer is kept: read markers (receipts and `reads`), profiles, participants,
//! presence and attachment links are read and rendered for each join.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ChatService;
use crate::domain::{HistoryWithExtras, MessageId, Order, Page, PageExtras, StoredMessage};
use crate::error::ChatResult;

/// Most pages kept (about 25 KB each with 50 messages): the orders joined most recently.
const MAX_ENTRIES: usize = 1024;

/// A page of stored messages with its extras.
pub(super) type PageData = HistoryWithExtras;

#[derive(Default)]
pub(super) struct PageCache {
    entries: Mutex<HashMap<(String, u32), Arc<PageData>>>,
}

impl PageCache {
    fn get(&self, key: &(String, u32), rev: i64) -> Option<Arc<PageData>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|p| p.history.rev == rev).cloned()
    }

    fn put(&self, key: (String, u32), page: Arc<PageData>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            // Any one goes: the next join of its order reads it again.
            if let Some(k) = entries.keys().next().cloned() {
                entries.remove(&k);
            }
        }
        entries.insert(key, page);
    }
}

impl ChatService {
    /// A page of the order's history with its extras; the latest page (what a join without a
    /// cursor asks for) comes from the cache while the order's rev has not moved.
    pub(super) async fn page_data(&self, order: &Order, page: Page) -> ChatResult<Arc<PageData>> {
        let Page::Latest { limit } = page else {
            return Ok(Arc::new(self.read_page(order, page).await?));
        };
        let key = (order.id.to_string(), limit);
        let rev = self.store.last_rev(&order.id).await?;
        if let Some(hit) = self.pages.get(&key, rev) {
            self.metrics.page_cache(true);
            return Ok(hit);
        }
        self.metrics.page_cache(false);
        let data = Arc::new(self.read_page(order, page).await?);
        self.pages.put(key, data.clone());
        Ok(data)
    }

    /// A page with its extras: one query (three for an empty page).
    pub(super) async fn read_page(&self, order: &Order, page: Page) -> ChatResult<PageData> {
        Ok(self.store.history_with_extras(&order.id, page).await?)
    }

    /// The reply originals and reactions of these messages (messages not read as a page): two
    /// queries whatever their number (none when no message replies or none is live).
    pub(super) async fn extras(
        &self,
        order: &Order,
        messages: &[StoredMessage],
    ) -> ChatResult<PageExtras> {
        let mut reply_ids: Vec<MessageId> = messages
            .iter()
            .filter(|m| !m.is_deleted())
            .filter_map(|m| m.reply_to_id.as_deref())
            .filter_map(|id| MessageId::parse(id).ok())
            .collect();
        reply_ids.sort();
        reply_ids.dedup();
        let originals = if reply_ids.is_empty() {
            HashMap::new()
        } else {
            self.store
                .messages_by_id(&order.id, &reply_ids)
                .await?
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect()
        };
        let live: Vec<MessageId> = messages
            .iter()
            .filter(|m| !m.is_deleted())
            .filter_map(|m| MessageId::parse(&m.id).ok())
            .collect();
        let reactions = if live.is_empty() {
            HashMap::new()
        } else {
            self.store.reactions(&order.id, &live).await?
        };
        Ok(PageExtras {
            originals,
            reactions,
        })
    }
}
