//! Search on SQLite: the FTS5 index (migration 0003), kept by triggers in the writer's
//! transactions.

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::{SearchQuery, StoredMessage};
use crate::store::shared::{Matcher, search};
use crate::store::{SearchIndex, StoreResult};

const FTS5: Matcher = Matcher {
    from: "messages_fts f JOIN messages m ON m.rowid = f.rowid",
    before: "messages_fts MATCH ",
    after: "",
};

/// Every term quoted (so nothing in it is FTS5 syntax) and made a prefix; all must match.
fn fts5_expression(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl SearchIndex for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(terms = query.terms.terms().len()))]
    async fn search(&self, query: SearchQuery<'_>) -> StoreResult<Vec<StoredMessage>> {
        if query.terms.is_empty() {
            return Ok(Vec::new());
        }
        let expr = fts5_expression(query.terms.terms());
        search(&self.pools.get().reader, &FTS5, expr, &query).await
    }
}
