//! `GET /search`: the query string, parsed into a search (§13).

use std::collections::HashMap;

use crate::domain::{OrderRef, SearchCursor, SearchTerms};
use crate::error::{ChatError, ChatResult};

pub const DEFAULT_SEARCH_LIMIT: u32 = 20;
pub const MAX_SEARCH_LIMIT: u32 = 50;

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub terms: SearchTerms,
    pub order: Option<OrderRef>,
    pub before: Option<SearchCursor>,
    pub limit: u32,
}

impl SearchRequest {
    /// From the query parameters `q`, `orderId`, `limit` (1–50, 20 when absent) and `before`
    /// (a `nextCursor`).
    pub fn parse(params: &HashMap<String, String>) -> ChatResult<Self> {
        let q = params
            .get("q")
            .ok_or_else(|| ChatError::validation("q is required: the words to search for"))?;
        let order = match params.get("orderId").filter(|o| !o.is_empty()) {
            Some(o) => Some(OrderRef::parse(o)?),
            None => None,
        };
        let before = match params.get("before").filter(|b| !b.is_empty()) {
            Some(b) => Some(SearchCursor::parse(b)?),
            None => None,
        };
        let limit = match params.get("limit").filter(|l| !l.is_empty()) {
            None => DEFAULT_SEARCH_LIMIT,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
                .ok_or_else(|| {
                    ChatError::validation(format!(
                        "limit must be an integer from 1 to {MAX_SEARCH_LIMIT}"
                    ))
                })?,
        };
        Ok(SearchRequest {
            terms: SearchTerms::parse(q)?,
            order,
            before,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_parameter_is_checked() {
        let r = SearchRequest::parse(&params(&[("q", "gate code"), ("limit", "5")])).unwrap();
        assert_eq!((r.terms.terms().len(), r.limit), (2, 5));
        for bad in [
            params(&[]),
            params(&[("q", "  ")]),
            params(&[("q", "x"), ("limit", "0")]),
            params(&[("q", "x"), ("limit", "51")]),
            params(&[("q", "x"), ("before", "garbage")]),
            params(&[("q", "x"), ("orderId", "a b")]),
        ] {
            let e = SearchRequest::parse(&bad).expect_err("refused");
            assert_eq!(e.code(), "VALIDATION", "{bad:?}");
        }
    }
}
