//! Property tests of the `order_by` parser: generated term lists, well-formed and not, around
//! the limits on their number and length.

use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn term() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("metrics.loss".to_owned()),
        Just("params.`learning rate`".to_owned()),
        Just("attributes.start_time".to_owned()),
        Just("start_time".to_owned()),
        "[a-z]{1,6}\\.[a-z_]{0,6}",
        (250usize..300).prop_map(|n| format!("params.{}", "k".repeat(n))),
        "[ -~]{0,40}",
    ];
    let direction = prop_oneof![
        Just(""),
        Just(" ASC"),
        Just(" desc"),
        Just(" DESC extra"),
        Just(" sideways"),
    ];
    (name, direction).prop_map(|(name, direction)| format!("{name}{direction}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn order_by_lists_are_answered_without_panic_and_within_limits(
        terms in prop::collection::vec(term(), 0..30),
    ) {
        let start = Instant::now();
        let values: Vec<Value> = terms.iter().map(|t| Value::from(t.as_str())).collect();
        if let Ok(order) = order_by(&values) {
            prop_assert!(order.len() <= MAX_ORDER_TERMS);
            prop_assert!(terms.iter().all(|t| t.chars().count() <= MAX_ORDER_TERM_LENGTH));
        }
        prop_assert!(start.elapsed() < Duration::from_millis(500));
    }
}
