//! Search across the caller's orders (§13). Access is inside the store's query (participants'
//! orders only; admins all); the service renders the page and makes the snippets.

use std::collections::HashMap;

use super::requests::SearchRequest;
use super::{Access, Caller, ChatService};
use crate::domain::{Order, OrderRef, SearchQuery, StoredMessage, snippet};
use crate::error::ChatResult;
use crate::wire;

impl ChatService {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %caller.user_id))]
    pub async fn search(
        &self,
        caller: &Caller,
        req: SearchRequest,
    ) -> ChatResult<wire::SearchPage> {
        let order = match &req.order {
            Some(r) => Some(self.access(caller, r).await?.order),
            None => None,
        };
        let query = SearchQuery {
            terms: &req.terms,
            participant: (!caller.is_admin).then_some(&caller.user_id),
            order: order.as_ref().map(|o| &o.id),
            before: req.before.as_ref(),
            limit: req.limit + 1,
        };
        let mut hits = self.store.search(query).await?;
        let more = hits.len() > req.limit as usize;
        hits.truncate(req.limit as usize);
        let next_cursor = more
            .then(|| hits.last())
            .flatten()
            .map(|h| h.cursor.encode());
        let found: Vec<StoredMessage> = hits.into_iter().map(|h| h.message).collect();

        // Render per order (receipts, reactions, replies are per order), keeping the order.
        let mut by_order: Vec<(Order, Vec<StoredMessage>)> = Vec::new();
        for m in &found {
            match by_order.iter_mut().find(|(o, _)| o.id == m.order_id) {
                Some((_, list)) => list.push(m.clone()),
                None => {
                    let Access { order, .. } =
                        self.access(caller, &OrderRef::from(&m.order_id)).await?;
                    by_order.push((order, vec![m.clone()]));
                }
            }
        }
        let mut rendered: HashMap<String, (Option<String>, wire::Message)> = HashMap::new();
        for (order, list) in by_order {
            for msg in self.render(&order, list).await? {
                rendered.insert(msg.id.clone(), (order.number.clone(), msg));
            }
        }
        let results = found
            .iter()
            .filter_map(|m| {
                let (number, message) = rendered.remove(&m.id)?;
                let s = snippet(&m.body, &req.terms);
                Some(wire::SearchResult {
                    order_id: m.order_id.to_string(),
                    order_number: number,
                    message,
                    snippet: s.text,
                    highlights: s.highlights.into_iter().map(|(a, b)| [a, b]).collect(),
                })
            })
            .collect();
        Ok(wire::SearchPage {
            results,
            next_cursor,
        })
    }
}
