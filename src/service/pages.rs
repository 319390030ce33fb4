//! The stored part of a join's page, reused while its order has not changed.
//!
//! A join renders the latest page of an order: its messages, the messages they reply to and
//! their reactions. All of that changes only with the order's `rev` — every send, edit, delete
//! and reaction moves it, on whichever node it happens — so a page read at rev R is served
//! again while the order's rev is still R: one indexed read of the rev instead of the page,
//! originals and reactions queries. Both participants of an order joining, or everyone
//! reconnecting after a restart, read the order's page once.
//!
//! Why a cached page is never stale: the page's rev is read before its rows, and its originals
//! and reactions after them, so what the entry holds is the order's state at R or later. It is
//! served only while the order's rev is still R, i.e. when no change after R exists: then the
//! entry is exactly the state at R.
//!
//! Nothing per viewer is kept: read markers (receipts and `reads`), profiles, participants,
//! presence and attachment links are read and rendered for each join.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ChatService;
use crate::domain::{History, MessageId, Order, Page, Reaction, StoredMessage};
use crate::error::ChatResult;

/// Most pages kept (about 25 KB each with 50 messages): the orders joined most recently.
const MAX_ENTRIES: usize = 1024;

/// What renders a page besides its messages: the messages it replies to (by id) and the
/// reactions of its messages.
#[derive(Default)]
pub(super) struct Extras {
    pub originals: HashMap<String, StoredMessage>,
    pub reactions: HashMap<MessageId, Vec<Reaction>>,
}

/// A page of stored messages with its extras.
pub(super) struct PageData {
    pub history: History,
    pub extras: Extras,
}

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

    async fn read_page(&self, order: &Order, page: Page) -> ChatResult<PageData> {
        let history = self.store.history(&order.id, page).await?;
        let extras = self.extras(order, &history.messages).await?;
        Ok(PageData { history, extras })
    }

    /// The reply originals and reactions of these messages: two queries whatever their number
    /// (none when no message replies or none is live).
    pub(super) async fn extras(
        &self,
        order: &Order,
        messages: &[StoredMessage],
    ) -> ChatResult<Extras> {
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
        Ok(Extras {
            originals,
            reactions,
        })
    }
}
