//! Property tests of the protobuf-JSON number decoder: generated JSON (numbers of every size,
//! numeric and special strings, nested values, deep nesting) read as a [`Value`] and straight
//! from bytes as a [`Scalar`]: never a panic, and both readings agree.

use super::*;
use proptest::prelude::*;

fn numeric_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("NaN".to_owned()),
        Just("Infinity".to_owned()),
        Just("-Infinity".to_owned()),
        Just("inf".to_owned()),
        Just("1e999".to_owned()),
        Just("-0".to_owned()),
        "[-+ 0-9.eE]{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        numeric_text().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON text: printed values, numbers written as no JSON printer would, deep nesting, junk.
fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        "[-+0-9.eE]{1,30}",
        (1usize..300).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        "\\PC{0,20}",
    ]
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    a == b || a.zip(b).is_some_and(|(a, b)| a.is_nan() && b.is_nan())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn scalars_read_from_bytes_agree_with_values(text in json_text()) {
        let scalar = serde_json::from_str::<Scalar>(&text);
        let value = serde_json::from_str::<Value>(&text);
        if let (Ok(scalar), Ok(value)) = (scalar, value) {
            prop_assert_eq!(scalar.int64(), int64(&value), "int64 of {}", text);
            prop_assert!(same(scalar.double(), double(&value)), "double of {}", text);
        }
    }

    #[test]
    fn every_double_round_trips_through_protobuf_json(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        prop_assert!(same(double(&double_json(v)), Some(v)));
    }

    #[test]
    fn numbers_in_any_value_decode_without_panic(value in json_value()) {
        let _ = (int64(&value), double(&value));
        let as_text = Value::from(value.to_string());
        let _ = (int64(&as_text), double(&as_text));
    }
}
