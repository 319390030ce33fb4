//! The stored part of a join's page, kept current while its order changes on this node.
//!
//! A join renders the latest page of an order: its messages, the messages they reply to and
//! their reactions, read in one statement (`history_with_extras`). All of that changes only
//! with the order's `rev` — every send, edit, delete and reaction moves it, on whichever node
//! it happens — so a page known at rev R is served while the order's rev is still R: one
//! indexed read of the rev instead of the page.
//!
//! A page is read once, then carried forward: each send, edit, delete and reaction stored on
//! this node hands the cache what it changed (`Moved`, from what the writer returned), and the
//! entry at rev R takes the change of rev R + 1 (one arriving early waits in `pending` for the
//! ones before it). So after a burst of messages the next joins of the order read nothing but
//! its rev. A change this node does not see (another node's, or one made without a `Moved`)
//! leaves the entry behind the order's rev: it is not served, and the next join reads the page
//! again.
//!
//! Why a served page is never stale: a read page is the state at its rev (the page, its
//! originals and reactions are read in one snapshot together with the order's rev; an empty
//! latest page means the order has no message, so no change after the rev read before it).
//! Taking the change of rev R + 1 to the state at R gives the state at R + 1 (`advance`); where
//! it cannot, the entry is dropped. A reply to a message the entry does not hold brings that
//! original, read after the reply was stored (and a reaction's list is read after its change):
//! such a read can be ahead of the change's rev — but then a later change of that message
//! exists, the order's rev is past the entry's, and the entry is not served until that change
//! is taken too (it replaces the message wherever the entry holds it). An entry is served only
//! while the order's rev is its rev: then it is exactly the order's current state.
//!
//! Nothing per viewer is kept: read markers (receipts and `reads`), profiles, participants,
//! presence and attachment links are read and rendered for each join.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::ChatService;
use crate::domain::{
    HistoryWithExtras, MessageId, Order, OrderId, Page, PageExtras, Reaction, StoredMessage,
};
use crate::error::ChatResult;

/// Most pages kept (about 25 KB each with 50 messages): the orders joined most recently.
const MAX_ENTRIES: usize = 1024;
/// Changes that arrived before one they follow, kept per entry; more and the entry goes.
const MAX_PENDING: usize = 32;

/// A page of stored messages with its extras.
pub(super) type PageData = HistoryWithExtras;

/// What one change of an order did, as the store returned it: the message after the change
/// (its `rev` is the change's).
pub(super) enum Moved {
    /// A new message, and for a reply whose original the kept page does not hold, the
    /// original read after the message was stored (see `PageCache::lacks_original`).
    Sent(StoredMessage, Option<Box<StoredMessage>>),
    /// A message edited or deleted.
    Changed(StoredMessage),
    /// A message's reactions changed: the message, and its reactions read after the change.
    Reacted(StoredMessage, Vec<Reaction>),
}

impl Moved {
    fn message(&self) -> &StoredMessage {
        match self {
            Moved::Sent(m, _) | Moved::Changed(m) | Moved::Reacted(m, _) => m,
        }
    }
}

struct Entry {
    limit: u32,
    page: Arc<PageData>,
    /// Changes after the page's rev + 1, by rev, waiting for the ones before them.
    pending: BTreeMap<i64, Moved>,
}

impl Entry {
    /// Take every waiting change that follows the page's rev. False: one could not be taken
    /// (the entry must go).
    fn drain(&mut self) -> bool {
        while let Some(m) = self.pending.remove(&(self.page.history.rev + 1)) {
            if !advance(Arc::make_mut(&mut self.page), m, self.limit) {
                return false;
            }
        }
        true
    }
}

/// Bring a latest page of `limit` messages at rev R to R + 1 with the change of R + 1.
fn advance(page: &mut PageData, moved: Moved, limit: u32) -> bool {
    let rev = moved.message().rev;
    match moved {
        Moved::Sent(m, read_after) => {
            if page.history.messages.last().is_some_and(|l| l.seq >= m.seq) {
                return false;
            }
            if let Some(to) = m.reply_to_id.as_deref().filter(|_| !m.is_deleted())
                && !page.extras.originals.contains_key(to)
            {
                // The original as of R is in the page; else the one read after this send was
                // stored (never older than R + 1; if newer, a later change of it exists and is
                // taken before the entry can be served); else read the page again.
                let o = match page.history.messages.iter().find(|x| x.id == to) {
                    Some(o) => o.clone(),
                    None => match read_after.filter(|o| o.id == to) {
                        Some(o) => *o,
                        None => return false,
                    },
                };
                page.extras.originals.insert(o.id.clone(), o);
            }
            page.history.messages.push(m);
            // The oldest leave in bulk (one move of the rest per quarter page of sends, not
            // one per send); `PageCache::get` trims to the page before serving it.
            if page.history.messages.len() >= limit as usize + (limit as usize / 4).max(1) {
                trim(page, limit);
            }
        }
        Moved::Changed(m) => {
            if m.is_deleted() {
                page.extras
                    .reactions
                    .remove(&MessageId::from_trusted(m.id.clone()));
            }
            replace(page, m);
        }
        Moved::Reacted(m, reactions) => {
            let id = MessageId::from_trusted(m.id.clone());
            let in_page = page.history.messages.iter().any(|x| x.id == m.id);
            if reactions.is_empty() || !in_page || m.is_deleted() {
                page.extras.reactions.remove(&id);
            } else {
                page.extras.reactions.insert(id, reactions);
            }
            replace(page, m);
        }
    }
    page.history.rev = rev;
    true
}

/// Keep the newest `limit` messages of a page that has more.
fn trim(page: &mut PageData, limit: u32) {
    let excess = page.history.messages.len().saturating_sub(limit as usize);
    if excess > 0 {
        page.history.messages.drain(..excess);
        page.history.has_more = true;
    }
}

/// The message's new state wherever the page holds it: among its messages and its originals.
fn replace(page: &mut PageData, m: StoredMessage) {
    if let Some(o) = page.extras.originals.get_mut(&m.id) {
        *o = m.clone();
    }
    if let Some(x) = page.history.messages.iter_mut().find(|x| x.id == m.id) {
        *x = m;
    }
}

#[derive(Default)]
pub(super) struct PageCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PageCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, order: &OrderId, limit: u32, rev: i64) -> Option<Arc<PageData>> {
        let mut entries = self.lock();
        let e = entries
            .get_mut(order.as_str())
            .filter(|e| e.limit == limit && e.page.history.rev == rev)?;
        if e.page.history.messages.len() > limit as usize {
            trim(Arc::make_mut(&mut e.page), limit);
        }
        Some(e.page.clone())
    }

    fn put(&self, order: &OrderId, limit: u32, page: Arc<PageData>) {
        let mut entries = self.lock();
        if let Some(e) = entries.get_mut(order.as_str())
            && e.limit == limit
        {
            if e.page.history.rev >= page.history.rev {
                return; // it has been carried to where this read is, or further
            }
            let rev = page.history.rev;
            e.page = page;
            e.pending.retain(|r, _| *r > rev);
            if !e.drain() {
                entries.remove(order.as_str());
            }
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(order.as_str()) {
            // Any one goes: the next join of its order reads it again.
            if let Some(k) = entries.keys().next().cloned() {
                entries.remove(&k);
            }
        }
        entries.insert(
            order.to_string(),
            Entry {
                limit,
                page,
                pending: BTreeMap::new(),
            },
        );
    }

    /// Is a page of this order kept that holds neither as a message nor as an original the
    /// message `id` (which a reply just stored answers)?
    fn lacks_original(&self, order: &OrderId, id: &str) -> bool {
        self.lock().get(order.as_str()).is_some_and(|e| {
            !e.page.extras.originals.contains_key(id)
                && !e.page.history.messages.iter().any(|m| m.id == id)
        })
    }

    /// A change of this order was stored here; `moved` builds what it did (called only when a
    /// page of the order is kept).
    pub(super) fn moved(&self, order: &OrderId, rev: i64, moved: impl FnOnce() -> Moved) {
        let mut entries = self.lock();
        let Some(e) = entries.get_mut(order.as_str()) else {
            return;
        };
        if rev <= e.page.history.rev {
            return; // the page was read after it
        }
        e.pending.insert(rev, moved());
        if !e.drain() || e.pending.len() > MAX_PENDING {
            entries.remove(order.as_str());
        }
    }
}

impl ChatService {
    /// A new message was stored here: carry the order's kept page forward. A reply to a
    /// message the page does not hold brings its original, read now (after the store).
    pub(super) async fn page_sent(&self, message: &StoredMessage) {
        let order = &message.order_id;
        let original = match message.reply_to_id.as_deref() {
            Some(to) if self.pages.lacks_original(order, to) => {
                let id = MessageId::from_trusted(to.to_string());
                // The message is stored: a failed read only costs the cache its entry.
                self.store
                    .messages_by_id(order, std::slice::from_ref(&id))
                    .await
                    .ok()
                    .and_then(|mut found| found.pop())
                    .map(Box::new)
            }
            _ => None,
        };
        self.pages.moved(order, message.rev, || {
            Moved::Sent(message.clone(), original)
        });
    }

    /// A page of the order's history with its extras; the latest page (what a join without a
    /// cursor asks for) comes from the cache when the entry is at the order's current rev.
    pub(super) async fn page_data(&self, order: &Order, page: Page) -> ChatResult<Arc<PageData>> {
        let Page::Latest { limit } = page else {
            return Ok(Arc::new(self.read_page(order, page).await?));
        };
        let rev = self.store.last_rev(&order.id).await?;
        if let Some(hit) = self.pages.get(&order.id, limit, rev) {
            self.metrics.page_cache(true);
            return Ok(hit);
        }
        self.metrics.page_cache(false);
        let data = Arc::new(self.read_page(order, page).await?);
        self.pages.put(&order.id, limit, data.clone());
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
