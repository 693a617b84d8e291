//! Numbers as protobuf JSON sends them: int64 as a number or a string of digits, doubles as a
//! number or "NaN" / "Infinity" / "-Infinity". Both APIs accept what MLflow clients send.

use serde_json::Value;

/// An int64 from a JSON number or string.
pub fn int64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A double from a JSON number, a numeric string or protobuf JSON's special strings.
pub fn double(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            // Only the spellings above name the special values; "inf" or "nan" are mistakes.
            other => other.parse::<f64>().ok().filter(|v| v.is_finite()),
        },
        _ => None,
    }
}

/// A double as protobuf JSON writes it: a number, or "NaN" / "Infinity" / "-Infinity".
pub fn double_json(value: f64) -> Value {
    match value {
        v if v.is_finite() => Value::from(v),
        v if v.is_nan() => Value::from("NaN"),
        v if v > 0.0 => Value::from("Infinity"),
        _ => Value::from("-Infinity"),
    }
}

/// A stored value (NULL means NaN) as protobuf JSON.
pub fn stored_double_json(value: Option<f64>) -> Value {
    double_json(value.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        assert_eq!(int64(&Value::from("12")), Some(12));
        assert_eq!(int64(&Value::from(1.5)), None);
        assert!(double(&Value::from("NaN")).unwrap().is_nan());
        assert_eq!(double(&Value::from("-Infinity")), Some(f64::NEG_INFINITY));
        assert_eq!(double(&Value::from(2.5)), Some(2.5));
        assert_eq!(double(&Value::from("inf")), None);
        assert_eq!(double(&Value::from("fast")), None);
        for v in [2.5, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(double(&double_json(v)), Some(v));
        }
        assert_eq!(stored_double_json(None), Value::from("NaN"));
    }
}
