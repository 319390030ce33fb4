//! Message search (§13) as the domain sees it: what a query's words are, how text is folded
//! for matching (case and accents ignored), and the snippet with its highlights. The stores
//! match with their own full-text indexes; this module decides what the user sees.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::IdError;

pub const MAX_QUERY_CHARS: usize = 200;
/// A snippet is at most this many characters of the message.
pub const SNIPPET_CHARS: usize = 200;
/// How much text a snippet keeps before the first match, when the message is longer.
const LEAD_CHARS: usize = 60;
/// Most words a query may have.
pub const MAX_QUERY_WORDS: usize = 16;

/// Lowercase, with accents removed: "Café" and "CAFÉ" become "cafe".
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a text: runs of letters and digits (what the full-text indexes index),
/// with their byte ranges.
pub fn words(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = s.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = loop {
            let (i, c) = chars.next()?;
            if c.is_alphanumeric() {
                break (i, c);
            }
        };
        let mut end = s.len();
        while let Some(&(i, c)) = chars.peek() {
            if !(c.is_alphanumeric() || is_combining_mark(c)) {
                end = i;
                break;
            }
            chars.next();
        }
        Some((start, end))
    })
}

/// A query's words, folded: every one must match a word of the message, as a prefix.
/// Operators of query languages (`"`, `*`, `:`, `-`, `NEAR`, `OR`) are not words here, or are
/// plain words: nothing the user types is syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// 1–200 characters after trimming. A query without letters or digits has no terms (it
    /// finds nothing).
    pub fn parse(q: &str) -> Result<Self, IdError> {
        let q = q.trim();
        if q.is_empty() || q.chars().count() > MAX_QUERY_CHARS {
            return Err(IdError("q must be 1-200 characters"));
        }
        let mut terms: Vec<String> = Vec::new();
        for (a, b) in words(q) {
            let t = fold(&q[a..b]);
            if !t.is_empty() && !terms.contains(&t) {
                terms.push(t);
            }
        }
        terms.truncate(MAX_QUERY_WORDS);
        Ok(SearchTerms(terms))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn terms(&self) -> &[String] {
        &self.0
    }

    /// Does this (folded) word of a message match a term?
    fn matches(&self, word: &str) -> bool {
        self.0.iter().any(|t| word.starts_with(t.as_str()))
    }
}

/// Where a search continues: the last result's place in the store's newest-first order and its
/// id. The place is the backend's own (SQLite: the row's position in the full-text index, which
/// follows the order messages were stored in; PostgreSQL: `createdAt`), so a cursor is opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    pub position: i64,
    pub id: String,
}

impl SearchCursor {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const BAD: IdError = IdError("before must be a nextCursor from an earlier page");
        let (t, id) = s.split_once('.').ok_or(BAD)?;
        let position = t.parse::<i64>().map_err(|_| BAD)?;
        let id = super::MessageId::parse(id).map_err(|_| BAD)?;
        Ok(SearchCursor {
            position,
            id: id.as_str().to_owned(),
        })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.position, self.id)
    }
}

/// A message found, and where the next page starts if it is the last of this one.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub message: super::StoredMessage,
    pub cursor: SearchCursor,
}

/// A search as the store runs it: these terms, in these orders, newest first.
#[derive(Debug, Clone)]
pub struct SearchQuery<'a> {
    pub terms: &'a SearchTerms,
    /// Only orders this user participates in; `None` for an admin (every order).
    pub participant: Option<&'a super::UserId>,
    /// Only this order.
    pub order: Option<&'a super::OrderId>,
    /// Only messages older than this.
    pub before: Option<&'a SearchCursor>,
    pub limit: u32,
}

/// Plain text around the match, and the matched words' `[start, end)` offsets in it, counted
/// in UTF-16 code units (JavaScript string indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

pub fn snippet(body: &str, terms: &SearchTerms) -> Snippet {
    let matched: Vec<(usize, usize)> = words(body)
        .filter(|&(a, b)| terms.matches(&fold(&body[a..b])))
        .collect();
    // The window: the whole text if it fits, else from a little before the first match.
    let total = body.chars().count();
    let (from, to) = if total <= SNIPPET_CHARS {
        (0, body.len())
    } else {
        let first_char = matched
            .first()
            .map_or(0, |&(a, _)| body[..a].chars().count());
        let start_char = first_char
            .saturating_sub(LEAD_CHARS)
            .min(total - SNIPPET_CHARS);
        let byte_at = |n: usize| body.char_indices().nth(n).map_or(body.len(), |(i, _)| i);
        (byte_at(start_char), byte_at(start_char + SNIPPET_CHARS))
    };
    let utf16 = |a: usize, b: usize| body[a..b].encode_utf16().count();
    let highlights = matched
        .into_iter()
        .filter(|&(a, b)| a >= from && b <= to)
        .map(|(a, b)| {
            let start = utf16(from, a);
            (start, start + utf16(a, b))
        })
        .collect();
    Snippet {
        text: body[from..to].to_owned(),
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> SearchTerms {
        SearchTerms::parse(q).unwrap()
    }

    /// The highlighted parts, as JavaScript would slice them.
    fn marked(s: &Snippet) -> Vec<String> {
        let units: Vec<u16> = s.text.encode_utf16().collect();
        s.highlights
            .iter()
            .map(|&(a, b)| String::from_utf16(&units[a..b]).unwrap())
            .collect()
    }

    #[test]
    fn queries_are_words_never_syntax() {
        assert_eq!(terms("Café  plant").terms(), ["cafe", "plant"]);
        assert_eq!(
            terms("\"gate\" OR code* -x NEAR(a b)").terms(),
            ["gate", "or", "code", "x", "near", "a", "b"]
        );
        assert!(terms("*** \" : -").is_empty());
        assert!(SearchTerms::parse("   ").is_err());
        assert!(SearchTerms::parse(&"a".repeat(201)).is_err());
        assert!(SearchTerms::parse(&"a".repeat(200)).is_ok());
    }

    #[test]
    fn matching_folds_case_and_accents_and_takes_prefixes() {
        let s = snippet(
            "Do you want CAFÉ or plantains? 🍌 Ẹ ṣeun",
            &terms("cafe plant ẹ"),
        );
        assert_eq!(marked(&s), ["CAFÉ", "plantains", "Ẹ"]);
        let s = snippet("plantains", &terms("lantains"));
        assert!(s.highlights.is_empty(), "not inside words");
    }

    #[test]
    fn offsets_are_javascript_indices_after_emoji() {
        let s = snippet("🎉🎉 the gate code is 4411 👍 gate", &terms("gate"));
        assert_eq!(s.highlights[0], (9, 13), "each emoji is two UTF-16 units");
        assert_eq!(marked(&s), ["gate", "gate"]);
    }

    #[test]
    fn long_messages_are_cut_around_the_first_match() {
        let body = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let s = snippet(&body, &terms("needle"));
        assert!(s.text.chars().count() <= SNIPPET_CHARS);
        assert_eq!(marked(&s), ["needle"]);
    }

    #[test]
    fn cursors_round_trip() {
        let c = SearchCursor::parse("1795861502123.01a2-b").unwrap();
        assert_eq!(c.encode(), "1795861502123.01a2-b");
        assert!(SearchCursor::parse("nope").is_err());
        assert!(SearchCursor::parse("12.a b").is_err());
    }
}
