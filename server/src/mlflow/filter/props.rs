//! Property tests of the filter parser and its evaluation: structured filters (nesting, long
//! chains, IN lists, wildcard-heavy patterns) and near-misses of them: never a panic, always
//! within time.

use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// Longest any one input may take, parsing and evaluating, in a debug build: far above what a
/// linear parser needs, far below what an exponential or quadratic blow-up would.
const PER_INPUT: Duration = Duration::from_millis(500);

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(10_000)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("loss".to_owned()),
        Just("lr".to_owned()),
        Just("`val acc`".to_owned()),
        "[a-z_]{1,8}",
    ]
}

fn field() -> impl Strategy<Value = String> {
    let entity = prop_oneof![
        Just("metrics"),
        Just("params"),
        Just("tags"),
        Just("attributes"),
        Just("metric"),
        Just("attr"),
        Just("bogus"),
    ];
    prop_oneof![
        (entity, key()).prop_map(|(e, k)| format!("{e}.{k}")),
        Just("name".to_owned()),
        Just("creation_time".to_owned()),
    ]
}

/// `%`, `_` and letters: the patterns that make naive matchers slow.
fn pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![Just('%'), Just('_'), Just('a'), Just('b')],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|n| n.to_string()),
        (-1000i64..1000).prop_map(|n| n.to_string()),
        pattern().prop_map(|p| format!("'{p}'")),
        "[a-zA-Z0-9 ]{0,10}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
        Just("LIKE"),
        Just("ILIKE"),
        Just("like"),
    ];
    prop_oneof![
        (field(), op, literal()).prop_map(|(f, o, l)| format!("{f} {o} {l}")),
        (
            field(),
            any::<bool>(),
            prop::collection::vec(literal(), 1..6)
        )
            .prop_map(|(f, not, items)| format!(
                "{f} {}IN ({})",
                if not { "NOT " } else { "" },
                items.join(", ")
            )),
    ]
}

/// Well-formed filters: conditions joined by AND / OR, nested in parentheses.
fn filter() -> impl Strategy<Value = String> {
    condition().prop_recursive(5, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..6).prop_map(|terms| terms.join(" AND ")),
            prop::collection::vec(inner.clone(), 2..6).prop_map(|terms| terms.join(" or ")),
            inner.prop_map(|term| format!("({term})")),
        ]
    })
}

/// A well-formed filter broken at one place: cut short, a token dropped or doubled, a quote or
/// parenthesis inserted.
fn near_miss() -> impl Strategy<Value = String> {
    (filter(), any::<prop::sample::Index>(), 0..5usize).prop_map(|(text, at, how)| {
        let chars: Vec<char> = text.chars().collect();
        let at = at.index(chars.len() + 1);
        let (head, tail): (String, String) =
            (chars[..at].iter().collect(), chars[at..].iter().collect());
        match how {
            0 => head,
            1 => format!("{head}({tail}"),
            2 => format!("{head}'{tail}"),
            3 => format!("{head}`{tail}"),
            _ => format!("{head} AND {tail}"),
        }
    })
}

/// Chains and nestings around the limits.
fn at_the_limits() -> impl Strategy<Value = String> {
    prop_oneof![
        (MAX_DEPTH - 2..MAX_DEPTH + 3).prop_map(|n| format!(
            "{}metrics.a > 1{}",
            "(".repeat(n),
            ")".repeat(n)
        )),
        (MAX_TERMS - 2..MAX_TERMS + 3).prop_map(|n| vec!["metrics.a>1"; n].join(" AND ")),
        (0..3usize).prop_map(|extra| "(".repeat(MAX_LENGTH + extra)),
    ]
}

fn run() -> RunView {
    let mut run = RunView::default();
    run.metrics.insert("loss".into(), 0.5);
    run.metrics.insert("val acc".into(), 0.9);
    run.params.insert("lr".into(), "ab".repeat(100));
    run.tags.insert("loss".into(), "a".repeat(300) + "b");
    run.attributes.insert("name", Literal::Text("abab".into()));
    run.attributes.insert("creation_time", Literal::Number(1.0));
    run
}

/// Parses and evaluates `text`, which must not panic, and answers within [`PER_INPUT`].
fn exercise(text: &str) -> Result<(), TestCaseError> {
    let start = Instant::now();
    if let Ok(Some(expr)) = parse(text) {
        let _ = expr.matches(&run(), &mut Budget::for_search());
    }
    prop_assert!(
        start.elapsed() < PER_INPUT,
        "{:?} for {} characters",
        start.elapsed(),
        text.len()
    );
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn well_formed_filters_parse_and_evaluate(text in filter()) {
        let start = Instant::now();
        let parsed = parse(&text);
        // Generated fields may be bogus entities; everything else is valid.
        if !text.contains("bogus") {
            prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
        }
        if let Ok(Some(expr)) = parsed {
            prop_assert!(expr.matches(&run(), &mut Budget::for_search()).is_ok());
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }

    #[test]
    fn near_misses_are_answered_without_panic(text in near_miss()) {
        exercise(&text)?;
    }

    #[test]
    fn any_text_is_answered_without_panic(text in "[ -~]{0,200}") {
        exercise(&text)?;
    }

}

proptest! {
    // Few distinct inputs, each as large as a filter may be: a hundred cover them.
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn filters_at_the_limits_are_answered_quickly(text in at_the_limits()) {
        exercise(&text)?;
    }
}
