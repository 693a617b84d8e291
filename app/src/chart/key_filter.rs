//! The metric panels' key filter: a case-insensitive regular expression, so `loss` finds every
//! key containing it and `^val/` only those starting with it; text that is not a valid pattern
//! is matched as plain text and the reason is shown.

use regex::{Regex, RegexBuilder};

/// Largest compiled pattern: a URL cannot make the server build a huge automaton.
const SIZE_LIMIT: usize = 1 << 20;

/// A parsed key filter.
#[derive(Clone, Debug)]
pub enum KeyFilter {
    /// Every key.
    All,
    /// Keys the pattern finds somewhere in them.
    Pattern(Regex),
    /// Keys containing the text (lowercased), with why it is not a pattern.
    Text(String, String),
}

impl KeyFilter {
    /// The filter of the panel settings' `keys` text.
    pub fn new(text: &str) -> Self {
        if text.is_empty() {
            return Self::All;
        }
        match RegexBuilder::new(text)
            .case_insensitive(true)
            .size_limit(SIZE_LIMIT)
            .build()
        {
            Ok(pattern) => Self::Pattern(pattern),
            Err(error) => Self::Text(text.to_lowercase(), first_line(&error.to_string())),
        }
    }

    /// Whether `key` passes.
    pub fn matches(&self, key: &str) -> bool {
        match self {
            Self::All => true,
            Self::Pattern(pattern) => pattern.is_match(key),
            Self::Text(text, _) => key.to_lowercase().contains(text.as_str()),
        }
    }

    /// Why the text is matched as plain text, when it is not a valid pattern.
    pub fn error(&self) -> Option<String> {
        match self {
            Self::Text(_, why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// The regex crate's messages draw the pattern with a caret over several lines; the last line
/// says what is wrong.
fn first_line(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_within_keys_and_patterns_anchor_ignoring_case() {
        let keys = ["train/loss", "val/loss", "val/acc", "lr"];
        let found = |filter: &str| -> Vec<&str> {
            let filter = KeyFilter::new(filter);
            keys.iter().copied().filter(|k| filter.matches(k)).collect()
        };
        assert_eq!(found(""), keys);
        assert_eq!(found("LOSS"), ["train/loss", "val/loss"]);
        assert_eq!(found("^val/"), ["val/loss", "val/acc"]);
        assert_eq!(found("acc|^lr$"), ["val/acc", "lr"]);
    }

    #[test]
    fn an_invalid_pattern_is_matched_as_text_and_says_why() {
        let filter = KeyFilter::new("loss(");
        assert!(filter.matches("Loss(ema)"));
        assert!(!filter.matches("loss"));
        let why = filter.error().unwrap();
        assert!(why.contains("unclosed group"), "{why}");
        assert!(KeyFilter::new("loss").error().is_none());
    }
}
