//! Metrics without an SDK: values picked out of a job's output lines, as `loss=0.31 step=10`,
//! `loss: 0.31` or JSON lines such as `{"loss": 0.31, "step": 10}`.

use crate::spec::{MetricFormat, Metrics};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Reads the metrics a spec names out of lines, counting steps for lines that give none.
#[derive(Debug)]
pub struct MetricReader {
    spec: Metrics,
    next_step: HashMap<String, i64>,
}

impl MetricReader {
    /// A reader for the spec's metrics.
    pub fn new(spec: Metrics) -> Self {
        Self {
            spec,
            next_step: HashMap::new(),
        }
    }

    /// The (key, step, value) triples on `line`.
    pub fn read(&mut self, line: &str) -> Vec<(String, i64, f64)> {
        let trimmed = line.trim();
        let json = (self.spec.format != MetricFormat::Kv && trimmed.starts_with('{'))
            .then(|| serde_json::from_str::<Map<String, Value>>(trimmed).ok())
            .flatten();
        let (values, step) = match json {
            Some(object) => self.values_in_json(&object),
            None if self.spec.format != MetricFormat::Json => self.values_in_pairs(line),
            None => (Vec::new(), None),
        };
        values
            .into_iter()
            .map(|(key, value)| {
                let counter = self.next_step.entry(key.clone()).or_insert(0);
                let step = step.unwrap_or(*counter);
                *counter = step + 1;
                (key, step, value)
            })
            .collect()
    }

    fn values_in_json(&self, object: &Map<String, Value>) -> (Vec<(String, f64)>, Option<i64>) {
        let values = self
            .spec
            .names
            .iter()
            .filter_map(|name| object.get(name)?.as_f64().map(|v| (name.clone(), v)))
            .collect();
        let step = object.get(&self.spec.step).and_then(as_step);
        (values, step)
    }

    fn values_in_pairs(&self, line: &str) -> (Vec<(String, f64)>, Option<i64>) {
        let values = self
            .spec
            .names
            .iter()
            .filter_map(|name| pair_value(line, name).map(|v| (name.clone(), v)))
            .collect();
        let step = pair_value(line, &self.spec.step).and_then(|v| as_step(&Value::from(v)));
        (values, step)
    }
}

fn as_step(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        let f = value.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9e15).then_some(f as i64)
    })
}

/// The number after `key=` or `key:` on `line`, where `key` stands alone (not the end of a
/// longer name: `val_loss=` is not `loss=`).
fn pair_value(line: &str, key: &str) -> Option<f64> {
    let mut search = 0;
    while let Some(found) = line[search..].find(key) {
        let start = search + found;
        let end = start + key.len();
        search = end;
        let before_ok = line[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '/' || c == '.'));
        if !before_ok {
            continue;
        }
        let rest = line[end..].trim_start();
        let Some(rest) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else {
            continue;
        };
        if let Some(value) = leading_number(rest.trim_start()) {
            return Some(value);
        }
    }
    None
}

/// The longest prefix of `text` that is a number (`0.31`, `-1e-3`, `nan`, `inf`).
fn leading_number(text: &str) -> Option<f64> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
        .unwrap_or(text.len());
    let token = text[..end].trim_end_matches(['.', ',']);
    (1..=token.len())
        .rev()
        .find_map(|n| token.get(..n)?.parse::<f64>().ok())
        .filter(|_| {
            token.starts_with(|c: char| {
                c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'n' | 'i' | 'N' | 'I')
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(format: MetricFormat) -> MetricReader {
        MetricReader::new(Metrics {
            names: vec!["loss".into(), "acc".into()],
            format,
            step: "step".into(),
        })
    }

    #[test]
    fn key_value_pairs_are_read_with_their_step() {
        let mut r = reader(MetricFormat::Auto);
        assert_eq!(
            r.read("epoch 1 step=10 loss=0.31, acc: 0.9 val_loss=7"),
            [("loss".to_owned(), 10, 0.31), ("acc".to_owned(), 10, 0.9)]
        );
        assert_eq!(r.read("loss = 1e-3"), [("loss".to_owned(), 11, 0.001)]);
        assert!(r.read("the loss went down").is_empty());
        assert!(r.read("val_loss=3 my.loss=4").is_empty());
    }

    #[test]
    fn json_lines_are_read_and_lines_without_a_step_count_their_own() {
        let mut r = reader(MetricFormat::Auto);
        assert_eq!(
            r.read(r#"{"loss": 0.5, "step": 3.0}"#),
            [("loss".to_owned(), 3, 0.5)]
        );
        assert_eq!(r.read(r#"{"acc": 0.7}"#), [("acc".to_owned(), 0, 0.7)]);
        assert_eq!(r.read(r#"{"acc": 0.8}"#), [("acc".to_owned(), 1, 0.8)]);
        assert_eq!(r.read(r#"{"loss": "high"}"#), []);
    }

    #[test]
    fn a_format_restriction_ignores_the_other_kind_of_line() {
        assert!(reader(MetricFormat::Json).read("loss=0.3").is_empty());
        assert!(reader(MetricFormat::Kv).read(r#"{"loss": 0.3}"#).is_empty());
        let nan = reader(MetricFormat::Kv).read("loss=nan")[0].2;
        assert!(nan.is_nan());
    }
}
