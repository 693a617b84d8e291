//! Numbers as protobuf JSON sends them: int64 as a number or a string of digits, doubles as a
//! number or "NaN" / "Infinity" / "-Infinity". Both APIs accept what MLflow clients send.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

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
        Value::String(s) => double_text(s),
        _ => None,
    }
}

fn double_text(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        // Only the spellings above name the special values; "inf" or "nan" are mistakes.
        other => other.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// A JSON scalar read straight from request bytes (strings borrowed where unescaped), for bodies
/// too large to build a [`Value`] tree for: a log batch holds a thousand of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// A number that fits i64.
    Int(i64),
    /// A number that fits only u64.
    Big(u64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// `null`, a boolean, an array or an object: never a valid number.
    Other,
}

impl Scalar<'_> {
    /// The int64 it holds, by the rules of [`int64`].
    pub fn int64(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            Self::Str(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The double it holds, by the rules of [`double`].
    pub fn double(&self) -> Option<f64> {
        match self {
            Self::Int(n) => Some(*n as f64),
            Self::Big(n) => Some(*n as f64),
            Self::Float(n) => Some(*n),
            Self::Str(s) => double_text(s),
            Self::Other => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string")
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(n).map_or(Scalar::Big(n), Scalar::Int))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(n))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
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

    #[test]
    fn scalars_read_from_bytes_follow_the_value_rules() {
        let texts = [
            "12",
            "-3",
            "1.5",
            "\"12\"",
            "\"NaN\"",
            "\"-Infinity\"",
            "\"inf\"",
            "null",
            "true",
            "[1]",
            "{\"a\": 1}",
            "18446744073709551615",
            "\"1\\u0030\"",
            "1e3",
        ];
        for text in texts {
            let scalar: Scalar = serde_json::from_str(text).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(scalar.int64(), int64(&value), "int64 of {text}");
            let (a, b) = (scalar.double(), double(&value));
            assert!(
                a == b || a.zip(b).is_some_and(|(a, b)| a.is_nan() && b.is_nan()),
                "double of {text}"
            );
        }
    }
}

#[cfg(test)]
mod props;
