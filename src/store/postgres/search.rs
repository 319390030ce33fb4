//! Search on PostgreSQL: the `search` tsvector column and its GIN index (migration 0003).

use async_trait::async_trait;

use super::PgStore;
use crate::domain::{SearchQuery, StoredMessage};
use crate::store::shared::{Matcher, search};
use crate::store::{SearchIndex, StoreResult};

const TSQUERY: Matcher = Matcher {
    from: "messages m",
    before: "m.search @@ to_tsquery('simple'::regconfig, ",
    after: ")",
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
    async fn search(&self, query: SearchQuery<'_>) -> StoreResult<Vec<StoredMessage>> {
        if query.terms.is_empty() {
            return Ok(Vec::new());
        }
        let expr = tsquery_expression(query.terms.terms());
        search(&self.pools.reader, &TSQUERY, expr, &query).await
    }
}
