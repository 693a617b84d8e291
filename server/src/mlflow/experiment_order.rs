//! The `order_by` of `experiments/search`, as MLflow reads it: `name`, `experiment_id`,
//! `creation_time` or `last_update_time` (bare or as `attributes.KEY`), each `ASC` or `DESC`;
//! by default newest first, and the experiment id breaks ties.

use super::error::MlflowError;
use app::db::projects::Project;
use serde_json::Value;
use std::cmp::Ordering;

/// Most terms, as for runs.
const MAX_TERMS: usize = 20;

/// What experiments are ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Name,
    Id,
    Created,
    Updated,
}

/// A parsed `order_by`: keys and whether each is descending.
#[derive(Debug, PartialEq, Eq)]
pub struct ExperimentOrder(Vec<(Key, bool)>);

impl ExperimentOrder {
    /// Reads the `order_by` terms; MLflow's default when there are none.
    pub fn parse(terms: &[Value]) -> Result<Self, MlflowError> {
        if terms.len() > MAX_TERMS {
            return Err(MlflowError::invalid(format!(
                "order_by has {} terms; the limit is {MAX_TERMS}",
                terms.len()
            )));
        }
        if terms.is_empty() {
            return Ok(Self(vec![(Key::Created, true), (Key::Id, false)]));
        }
        let mut keys = terms
            .iter()
            .map(|term| term_of(term.as_str().unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()?;
        if !keys.iter().any(|(key, _)| *key == Key::Id) {
            keys.push((Key::Id, true));
        }
        Ok(Self(keys))
    }

    /// How two experiments compare: each is its project and the name it is shown by.
    pub fn compare(&self, a: (&Project, &str), b: (&Project, &str)) -> Ordering {
        for (key, descending) in &self.0 {
            let ordering = match key {
                Key::Name => a.1.cmp(b.1),
                Key::Id => a.0.id.cmp(&b.0.id),
                Key::Created => a.0.created_ms.cmp(&b.0.created_ms),
                Key::Updated => a.0.updated_ms.cmp(&b.0.updated_ms),
            };
            let ordering = if *descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

/// One term: `[attributes.]KEY [ASC|DESC]`.
fn term_of(text: &str) -> Result<(Key, bool), MlflowError> {
    let bad = || MlflowError::invalid(format!("invalid order_by clause '{text}'"));
    let mut words = text.split_whitespace();
    let field = words.next().ok_or_else(bad)?;
    let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => return Err(bad()),
    };
    if words.next().is_some() {
        return Err(bad());
    }
    let key = ["attributes.", "attribute.", "attr.", "run."]
        .iter()
        .find_map(|prefix| field.strip_prefix(prefix))
        .unwrap_or(field)
        .trim_matches('`');
    let key = match key {
        "name" => Key::Name,
        "experiment_id" => Key::Id,
        "creation_time" => Key::Created,
        "last_update_time" => Key::Updated,
        _ => {
            return Err(MlflowError::invalid(format!(
                "invalid order_by key '{key}': experiments are ordered by name, experiment_id, \
                 creation_time or last_update_time"
            )))
        }
    };
    Ok((key, descending))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terms_read_as_mlflow_reads_them_and_the_id_breaks_ties() {
        let parse = |terms: Value| ExperimentOrder::parse(terms.as_array().unwrap());
        assert_eq!(
            parse(json!([])).unwrap(),
            ExperimentOrder(vec![(Key::Created, true), (Key::Id, false)])
        );
        assert_eq!(
            parse(json!(["attributes.name DESC", "last_update_time"])).unwrap(),
            ExperimentOrder(vec![
                (Key::Name, true),
                (Key::Updated, false),
                (Key::Id, true)
            ])
        );
        assert_eq!(
            parse(json!(["`experiment_id` asc"])).unwrap(),
            ExperimentOrder(vec![(Key::Id, false)])
        );
        for bad in ["tags.team", "name sideways", "", "name ASC extra"] {
            let refused = parse(json!([bad])).unwrap_err();
            assert_eq!(refused.code, "INVALID_PARAMETER_VALUE", "{bad}");
        }
    }
}
