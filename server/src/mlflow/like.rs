//! SQL `LIKE` matching in linear space, its work counted against a [`Budget`] so that one
//! search cannot spend unbounded time over many runs.

/// Character comparisons one search may spend on `LIKE` and `ILIKE` over all its runs.
pub const MAX_WORK: u64 = 20_000_000;

/// What is left of a search's comparisons; running out fails the search.
#[derive(Debug)]
pub struct Budget {
    left: u64,
}

/// The search spent its [`Budget`].
#[derive(Debug, PartialEq)]
pub struct Exhausted;

impl Budget {
    /// A budget of `work` character comparisons.
    pub fn new(work: u64) -> Self {
        Self { left: work }
    }

    /// The budget of one search request.
    pub fn for_search() -> Self {
        Self::new(MAX_WORK)
    }

    fn spend(&mut self, work: usize) -> Result<(), Exhausted> {
        self.left = self.left.checked_sub(work as u64).ok_or(Exhausted)?;
        Ok(())
    }
}

/// Whether `text` matches `pattern`: `%` any run of characters, `_` any one character.
///
/// The pattern splits at `%` into fixed-width segments; the first is anchored at the start, the
/// last at the end, and each one between is taken at its leftmost place after the one before.
/// Taking the leftmost place never loses a match, so no backtracking is needed: each position
/// of the text is tried at most once per segment that reaches it, and `%a%a%a…%b` against a
/// long text costs one pass. What it costs is charged to `budget`.
pub fn like(text: &str, pattern: &str, budget: &mut Budget) -> Result<bool, Exhausted> {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let mut segments = pattern.split(|&c| c == '%');
    let first = segments.next().unwrap_or_default();
    let Some(last) = segments.next_back() else {
        // No `%`: the whole text against the whole pattern.
        return Ok(text.len() == pattern.len() && fits(&text, &pattern, budget)?);
    };
    if text.len() < first.len() + last.len()
        || !fits(&text[..first.len()], first, budget)?
        || !fits(&text[text.len() - last.len()..], last, budget)?
    {
        return Ok(false);
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for segment in segments.filter(|s| !s.is_empty()) {
        match leftmost(rest, segment, budget)? {
            Some(at) => rest = &rest[at + segment.len()..],
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// Where `segment` first fits in `text`, if anywhere.
fn leftmost(
    text: &[char],
    segment: &[char],
    budget: &mut Budget,
) -> Result<Option<usize>, Exhausted> {
    if segment.len() > text.len() {
        return Ok(None);
    }
    for at in 0..=text.len() - segment.len() {
        if fits(&text[at..at + segment.len()], segment, budget)? {
            return Ok(Some(at));
        }
    }
    Ok(None)
}

/// Whether `text` (as long as `segment`) fits the segment, `_` fitting any character.
fn fits(text: &[char], segment: &[char], budget: &mut Budget) -> Result<bool, Exhausted> {
    budget.spend(segment.len().max(1))?;
    Ok(text.iter().zip(segment).all(|(t, s)| *s == '_' || s == t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matches(text: &str, pattern: &str) -> bool {
        like(text, pattern, &mut Budget::for_search()).unwrap()
    }

    /// The textbook table: (text+1)×(pattern+1) cells, as a reference for the fast matcher.
    fn reference(text: &str, pattern: &str) -> bool {
        let (t, p): (Vec<char>, Vec<char>) = (text.chars().collect(), pattern.chars().collect());
        let mut matched = vec![vec![false; p.len() + 1]; t.len() + 1];
        matched[0][0] = true;
        for j in 1..=p.len() {
            matched[0][j] = p[j - 1] == '%' && matched[0][j - 1];
        }
        for i in 1..=t.len() {
            for j in 1..=p.len() {
                matched[i][j] = match p[j - 1] {
                    '%' => matched[i][j - 1] || matched[i - 1][j],
                    '_' => matched[i - 1][j - 1],
                    c => c == t[i - 1] && matched[i - 1][j - 1],
                };
            }
        }
        matched[t.len()][p.len()]
    }

    #[test]
    fn wildcards_match_as_in_sql() {
        for (text, pattern, expected) in [
            ("Baseline-2", "Base%", true),
            ("Baseline-2", "base%", false),
            ("Baseline-2", "%line-_", true),
            ("Baseline-2", "%line-__", false),
            ("abc", "abc", true),
            ("abc", "ab", false),
            ("abc", "a_c", true),
            ("", "%", true),
            ("", "", true),
            ("a", "", false),
            ("aXbXc", "a%b%c", true),
            ("ab", "a%%b", true),
            ("aba", "%ab%ba%", false),
            ("abba", "%ab%ba%", true),
            ("a", "a%a", false),
        ] {
            assert_eq!(matches(text, pattern), expected, "{text} LIKE {pattern}");
            assert_eq!(
                reference(text, pattern),
                expected,
                "reference: {text} LIKE {pattern}"
            );
        }
    }

    #[test]
    fn the_greedy_matcher_agrees_with_the_table_on_every_small_case() {
        let alphabet = ['a', 'b', '%', '_'];
        let words = |max: usize, letters: &[char]| {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| letters.iter().map(move |c| format!("{w}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        for text in words(5, &['a', 'b']) {
            for pattern in words(5, &alphabet) {
                assert_eq!(
                    matches(&text, &pattern),
                    reference(&text, &pattern),
                    "{text} LIKE {pattern}"
                );
            }
        }
    }

    #[test]
    fn many_wildcards_against_a_long_text_take_one_pass() {
        let text = "a".repeat(100_000);
        let pattern = format!("{}b", "%a".repeat(5_000));
        let mut budget = Budget::new(1_000_000);
        assert_eq!(like(&text, &pattern, &mut budget), Ok(false));
    }

    #[test]
    fn a_search_that_needs_too_many_comparisons_runs_out_of_budget() {
        let text = "a".repeat(10_000);
        let pattern = format!("%{}b%", "a".repeat(1_000));
        let mut budget = Budget::new(1_000_000);
        assert_eq!(like(&text, &pattern, &mut budget), Err(Exhausted));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn the_greedy_matcher_agrees_with_the_table_on_generated_cases(
            text in "[ab]{0,40}",
            pattern in prop::collection::vec(
                prop_oneof![Just('%'), Just('_'), Just('a'), Just('b')], 0..24
            ).prop_map(|chars| chars.into_iter().collect::<String>()),
        ) {
            let mut budget = Budget::for_search();
            prop_assert_eq!(like(&text, &pattern, &mut budget), Ok(reference(&text, &pattern)));
        }
    }
}
