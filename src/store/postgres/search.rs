//! Search on PostgreSQL: the `search` tsvector column and its GIN index (migration 0003), and
//! the newest-first index of migration 0005. The planner picks: for a rare word the GIN index
//! and a sort of its few matches; for a common word across all orders (an admin) the newest
//! messages in turn until a page is full; within a caller's orders their messages by order.

use async_trait::async_trait;

use super::PgStore;
use crate::domain::{SearchHit, SearchQuery};
use crate::store::shared::{Matcher, search};
use crate::store::{SearchIndex, StoreResult};

const TSQUERY: Matcher = Matcher {
    from: "messages m",
    before: "m.search @@ to_tsquery('simple'::regconfig, ",
    after: ")",
    position: "m.created_at",
    scoped_position: "m.created_at + 0",
    unique_position: false,
};

/// `'term':* & …`: the terms are letters and digits only (`SearchTerms`), each quoted as a
/// lexeme and made a prefix, so nothing the user typed is tsquery syntax.
fn tsquery_expression(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("'{}':*", t.replace('\'', "''").replace('\\', "\\\\")))
        .collect::<Vec<_>>()
        .join(" & ")
}

#[async_trait]
impl SearchIndex for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(terms = query.terms.terms().len()))]
    async fn search(&self, query: SearchQuery<'_>) -> StoreResult<Vec<SearchHit>> {
        if query.terms.is_empty() {
            return Ok(Vec::new());
        }
        let expr = tsquery_expression(query.terms.terms());
        search(&self.pools.reader, &TSQUERY, expr, &query).await
    }
}
