//! URL helpers shared by the browser and the server.

/// Percent-encodes `text` for use as one query-string value; `/`, `,` and `:` are kept for
/// readable paths and lists.
pub fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'/'
            | b','
            | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::encode_component;

    #[test]
    fn query_values_survive_ampersands_spaces_and_unicode() {
        assert_eq!(
            encode_component("/u/a?sort=name&q=a b"),
            "/u/a%3Fsort%3Dname%26q%3Da%20b"
        );
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}
