//! Search on SQLite: the FTS5 index (migrations 0003 and 0005), kept by triggers in the
//! writer's transactions.
//!
//! Results come newest first in the index's own order (rowid descending: the order messages
//! were stored in), so FTS5 stops at the page size instead of reading every match. A caller's
//! orders are part of the match (`order_id:(…)`), so a customer's search of a word common in the
//! whole database reads only the matches in their orders.

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::{SearchHit, SearchQuery};
use crate::store::shared::{Matcher, search};
use crate::store::{SearchIndex, StoreResult};

const FTS5: Matcher = Matcher {
    from: "messages_fts f JOIN messages m ON m.rowid = f.rowid",
    before: "messages_fts MATCH ",
    after: "",
    position: "f.rowid",
    scoped_position: "f.rowid",
    unique_position: true,
};

/// Above this many orders a caller's orders are not spelled into the match (the query checks
/// them only in SQL): FTS5 would merge that many lists, and such a caller's orders hold a large
/// share of the messages anyway, so the plain newest-first scan finds a page quickly.
const MAX_SCOPED_ORDERS: usize = 256;

/// A string as one FTS5 phrase: quoted, so nothing in it is syntax.
fn phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `body:("t1"* "t2"*)`: every term a prefix, all must match; then, when the search is scoped,
/// `AND order_id:("o1" OR …)`. An id the tokenizer would make no word of (no letter or digit)
/// cannot be a phrase; such a scope is left to the SQL check.
fn fts5_expression(terms: &[String], scope: &[String]) -> String {
    let words = terms
        .iter()
        .map(|t| format!("{}*", phrase(t)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut expr = format!("body:({words})");
    let tokenizable = |id: &String| id.chars().any(|c| c.is_alphanumeric());
    if !scope.is_empty() && scope.len() <= MAX_SCOPED_ORDERS && scope.iter().all(tokenizable) {
        let ids = scope.iter().map(|o| phrase(o)).collect::<Vec<_>>();
        expr.push_str(&format!(" AND order_id:({})", ids.join(" OR ")));
    }
    expr
}

#[async_trait]
impl SearchIndex for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(terms = query.terms.terms().len()))]
    async fn search(&self, query: SearchQuery<'_>) -> StoreResult<Vec<SearchHit>> {
        if query.terms.is_empty() {
            return Ok(Vec::new());
        }
        let reader = &self.pools.get().reader;
        let scope: Vec<String> = match (query.order, query.participant) {
            (Some(order), _) => vec![order.to_string()],
            (None, Some(user)) => {
                let orders: Vec<String> =
                    sqlx::query_scalar("SELECT order_id FROM order_participants WHERE user_id = ?")
                        .bind(user.as_str())
                        .fetch_all(reader)
                        .await?;
                if orders.is_empty() {
                    return Ok(Vec::new());
                }
                orders
            }
            (None, None) => Vec::new(),
        };
        let expr = fts5_expression(query.terms.terms(), &scope);
        search(reader, &FTS5, expr, &query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_scope_are_phrases() {
        let terms = vec!["ga\"te".to_owned(), "or".to_owned()];
        assert_eq!(fts5_expression(&terms, &[]), r#"body:("ga""te"* "or"*)"#);
        let scope = vec!["o-1".to_owned(), "N\"2".to_owned()];
        assert_eq!(
            fts5_expression(&terms, &scope),
            r#"body:("ga""te"* "or"*) AND order_id:("o-1" OR "N""2")"#
        );
        let odd = vec!["--".to_owned()];
        assert_eq!(fts5_expression(&terms, &odd), r#"body:("ga""te"* "or"*)"#);
        let many: Vec<String> = (0..=MAX_SCOPED_ORDERS).map(|i| format!("o{i}")).collect();
        assert!(!fts5_expression(&terms, &many).contains("order_id"));
    }
}
