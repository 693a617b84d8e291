//! Opaque keyset cursors: the sort key and id of the last row of a page, base64-encoded.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};

/// The value a column is ordered by, at the row a page ended on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    /// Times, numbers, status codes.
    Int(i64),
    /// Metric values.
    Float(f64),
    /// Names.
    Text(String),
}

/// Where the next page starts: after (`key`, `id`) in the order named by `sort`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort and direction it was made for, e.g. `created-desc`; a cursor of another
    /// sort is refused rather than silently starting somewhere odd.
    pub sort: String,
    /// Sort key of the last row seen.
    pub key: SortKey,
    /// Id of the last row seen: the tie-breaker.
    pub id: i64,
}

/// A cursor that is not one we made, or was made for another sort.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the page cursor is not valid for this list; start again from the first page")]
pub struct BadCursor;

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursors serialise"))
    }

    /// Reads a client's cursor, checking it belongs to `sort`.
    pub fn decode(text: &str, sort: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
        if cursor.sort != sort {
            return Err(BadCursor);
        }
        Ok(cursor)
    }
}

/// The comparison that selects rows after the cursor, for a column sorted `desc` or not.
pub fn after_op(desc: bool) -> &'static str {
    if desc {
        "<"
    } else {
        ">"
    }
}

/// `ASC` or `DESC`.
pub fn order_word(desc: bool) -> &'static str {
    if desc {
        "DESC"
    } else {
        "ASC"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_sorts_and_garbage() {
        let cursor = Cursor {
            sort: "name-asc".into(),
            key: SortKey::Text("a\"b".into()),
            id: 7,
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, "name-asc"), Ok(cursor));
        assert_eq!(Cursor::decode(&text, "name-desc"), Err(BadCursor));
        assert_eq!(Cursor::decode("%%%", "name-asc"), Err(BadCursor));
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode("{}"), "name-asc"),
            Err(BadCursor)
        );
    }
}
