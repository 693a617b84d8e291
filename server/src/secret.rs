//! A token kept out of log lines and error messages: its `Debug` never prints it.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// A token (runner token, API token, job token) that prints as `Secret(•••)`; read it with
/// [`Secret::expose`] only where it is sent.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The token itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(•••)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_holds_the_token() {
        #[derive(Debug)]
        #[expect(dead_code, reason = "only printed")]
        struct Holder {
            token: Secret,
        }
        let printed = format!(
            "{:?} {:#?}",
            Secret::new("mr_abc123"),
            Holder {
                token: Secret::new("mr_abc123")
            }
        );
        assert!(!printed.contains("abc123"), "{printed}");
        assert!(printed.contains("Secret(•••)"), "{printed}");
    }
}
