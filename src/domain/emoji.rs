//! A reaction's emoji: exactly one emoji grapheme that Unicode lists (skin tones included).

use serde::Serialize;
use std::fmt;

use super::IdError;

/// The most bytes one reaction emoji may take (the longest ZWJ sequences are ~35; the contract
/// allows 32).
pub const MAX_EMOJI_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Emoji(String);

impl Emoji {
    /// One emoji, as Unicode's emoji list has it (the `emojis` crate's table, Unicode 17).
    /// A minimally qualified form (without the U+FE0F presentation selector) is stored in its
    /// fully qualified form, so "❤" and "❤️" are the same reaction.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const RULE: &str = "emoji must be one emoji (at most 32 bytes)";
        if s.is_empty() || s.len() > MAX_EMOJI_BYTES {
            return Err(IdError(RULE));
        }
        if let Some(e) = emojis::get(s) {
            return Ok(Self(e.as_str().to_owned()));
        }
        let qualified = format!("{s}\u{FE0F}");
        match emojis::get(&qualified) {
            Some(e) => Ok(Self(e.as_str().to_owned())),
            _ => Err(IdError(RULE)),
        }
    }

    /// For values read back from our own database, which only ever stored parsed emoji.
    pub(crate) fn from_trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Emoji {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_is_a_reaction() {
        for ok in ["👍", "❤️", "👍🏽", "🇳🇬", "👩‍💻", "🙏🏿"] {
            assert_eq!(Emoji::parse(ok).unwrap().as_str(), ok, "{ok}");
        }
        assert_eq!(Emoji::parse("❤").unwrap().as_str(), "❤️");
        for bad in [
            "",
            "a",
            "👍👍",
            "ok",
            ":)",
            "👍 ",
            "<script>",
            &"👍".repeat(9),
        ] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
    }
}
