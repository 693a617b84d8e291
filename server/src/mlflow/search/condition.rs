//! Which run filters SQL can evaluate, as the store's [`RunCondition`]: metrics, tags, times,
//! names, ids, status and lifecycle stage compared as the filter compares them in Rust. Filters
//! with parameters (kept as JSON), `LIKE` on free text, or text compared with numbers are left
//! to Rust, which reads every run.

use crate::mlflow::filter::{Expr, Field, Literal, Op, RunView};
use crate::mlflow::like::Budget;
use crate::mlflow::runs::{lifecycle_stage, mlflow_status};
use app::db::run_search::{Comparison, NumberColumn, RunCondition, Test, TextColumn};
use app::model::JobStatus;

/// Most metric and tag conditions SQL evaluates per run: each is a lookup in another table
/// for every run it reaches, so a filter of a thousand would cost a thousand lookups a run,
/// where Rust looks each one up in the run's maps.
const MAX_LOOKUPS: usize = 16;

/// `expr` as a condition SQL evaluates with the same meaning, if it has one and it needs at
/// most [`MAX_LOOKUPS`] lookups a run.
pub fn condition(expr: &Expr) -> Option<RunCondition> {
    translate(expr).filter(|condition| lookups(condition) <= MAX_LOOKUPS)
}

fn lookups(condition: &RunCondition) -> usize {
    match condition {
        RunCondition::All(terms) | RunCondition::Any(terms) => terms.iter().map(lookups).sum(),
        RunCondition::Metric(..) | RunCondition::Tag(..) => 1,
        _ => 0,
    }
}

fn translate(expr: &Expr) -> Option<RunCondition> {
    match expr {
        Expr::And(terms) => terms
            .iter()
            .map(translate)
            .collect::<Option<_>>()
            .map(RunCondition::All),
        Expr::Or(terms) => terms
            .iter()
            .map(translate)
            .collect::<Option<_>>()
            .map(RunCondition::Any),
        Expr::Compare(field, op, literal) => compared(field, *op, literal, expr),
        Expr::In(field, items, negated) => listed(field, items, *negated, expr),
    }
}

fn comparison(op: Op) -> Option<Comparison> {
    Some(match op {
        Op::Eq => Comparison::Eq,
        Op::Ne => Comparison::Ne,
        Op::Lt => Comparison::Lt,
        Op::Le => Comparison::Le,
        Op::Gt => Comparison::Gt,
        Op::Ge => Comparison::Ge,
        Op::Like | Op::ILike => return None,
    })
}

fn compared(field: &Field, op: Op, literal: &Literal, expr: &Expr) -> Option<RunCondition> {
    if let Some(finite) = finite_domain(field, expr) {
        return Some(finite);
    }
    let kind = kind(field)?;
    Some(match (kind, literal) {
        // A number never equals, nor orders with, text: nothing holds.
        (Kind::Number(_), Literal::Text(_)) => RunCondition::Never,
        (Kind::Number(on), Literal::Number(n)) => on.with(Test::Compare(comparison(op)?, *n)),
        (Kind::Text(on), Literal::Text(t)) => on.with(Test::Compare(comparison(op)?, t.clone())),
        // Text that reads as a number compares as one: Rust's business.
        (Kind::Text(_), Literal::Number(_)) => return None,
    })
}

fn listed(field: &Field, items: &[Literal], negated: bool, expr: &Expr) -> Option<RunCondition> {
    if let Some(finite) = finite_domain(field, expr) {
        return Some(finite);
    }
    Some(match kind(field)? {
        // Text items never equal a number: they drop out of the list.
        Kind::Number(on) => on.with(membership(
            items
                .iter()
                .filter_map(|item| match item {
                    Literal::Number(n) => Some(*n),
                    Literal::Text(_) => None,
                })
                .collect(),
            negated,
        )),
        Kind::Text(on) => on.with(membership(
            items
                .iter()
                .map(|item| match item {
                    Literal::Text(t) => Some(t.clone()),
                    Literal::Number(_) => None,
                })
                .collect::<Option<_>>()?,
            negated,
        )),
    })
}

fn membership<T>(values: Vec<T>, negated: bool) -> Test<T> {
    match negated {
        true => Test::NotIn(values),
        false => Test::In(values),
    }
}

/// What a field is in SQL: a number or a text, and where it lives.
enum Kind {
    Number(NumberField),
    Text(TextField),
}

enum NumberField {
    Metric(String),
    Column(NumberColumn),
}

enum TextField {
    Tag(String),
    Column(TextColumn),
}

impl NumberField {
    fn with(self, test: Test<f64>) -> RunCondition {
        match self {
            Self::Metric(key) => RunCondition::Metric(key, test),
            Self::Column(column) => RunCondition::Number(column, test),
        }
    }
}

impl TextField {
    fn with(self, test: Test<String>) -> RunCondition {
        match self {
            Self::Tag(key) => RunCondition::Tag(key, test),
            Self::Column(column) => RunCondition::Text(column, test),
        }
    }
}

/// Where `field` lives in SQL; `None` for parameters (JSON text) and the creator's name.
fn kind(field: &Field) -> Option<Kind> {
    Some(match field {
        Field::Metric(key) => Kind::Number(NumberField::Metric(key.clone())),
        Field::Tag(key) => Kind::Text(TextField::Tag(key.clone())),
        Field::Param(_) => return None,
        Field::Attribute(name) => match name.as_str() {
            "start_time" => Kind::Number(NumberField::Column(NumberColumn::Start)),
            "end_time" => Kind::Number(NumberField::Column(NumberColumn::End)),
            "created" => Kind::Number(NumberField::Column(NumberColumn::Created)),
            "run_name" => Kind::Text(TextField::Column(TextColumn::Name)),
            "run_id" => Kind::Text(TextField::Column(TextColumn::Uid)),
            _ => return None,
        },
    })
}

/// Status and lifecycle stage take a handful of values: the condition is the values for which
/// the filter, run in Rust, holds, so every operator (`LIKE` too) means what it means there.
/// An attribute runs do not have holds for none.
fn finite_domain(field: &Field, expr: &Expr) -> Option<RunCondition> {
    let Field::Attribute(name) = field else {
        return None;
    };
    let holds = |name: &'static str, value: &str| {
        let mut run = RunView::default();
        run.attributes.insert(name, Literal::Text(value.to_owned()));
        let mut budget = Budget::for_search();
        expr.matches(&run, &mut budget).unwrap_or(false)
    };
    match name.as_str() {
        "status" => Some(RunCondition::StatusIn(
            (0..JobStatus::ALL.len() as i64)
                .filter(|&code| holds("status", mlflow_status(code)))
                .collect(),
        )),
        "lifecycle_stage" => {
            let live = holds("lifecycle_stage", lifecycle_stage(0));
            let archived = holds("lifecycle_stage", lifecycle_stage(1));
            Some(match (live, archived) {
                (true, true) => RunCondition::All(Vec::new()),
                (false, false) => RunCondition::Never,
                (live, _) => RunCondition::Archived(!live),
            })
        }
        "start_time" | "end_time" | "created" | "run_name" | "run_id" | "user_id" => None,
        _ => Some(RunCondition::Never),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::filter::parse;

    fn sql(filter: &str) -> Option<RunCondition> {
        condition(&parse(filter).unwrap().unwrap())
    }

    #[test]
    fn filters_on_metrics_tags_times_and_names_go_to_sql_and_the_rest_stay_in_rust() {
        assert_eq!(
            sql("metrics.loss < 0.5 AND tags.stage = 'prod'"),
            Some(RunCondition::All(vec![
                RunCondition::Metric("loss".into(), Test::Compare(Comparison::Lt, 0.5)),
                RunCondition::Tag("stage".into(), Test::Compare(Comparison::Eq, "prod".into())),
            ]))
        );
        assert_eq!(
            sql("metrics.acc IN (1, 'x', 2)"),
            Some(RunCondition::Metric("acc".into(), Test::In(vec![1.0, 2.0])))
        );
        assert_eq!(sql("metrics.acc = 'high'"), Some(RunCondition::Never));
        assert_eq!(sql("attributes.nonsense = 'x'"), Some(RunCondition::Never));
        let many = vec!["metrics.loss < 1"; MAX_LOOKUPS + 1].join(" OR ");
        assert!(sql(&many[..many.len() - " OR metrics.loss < 1".len()]).is_some());
        for rust_only in [
            &many,
            "params.lr = '0.1'",
            "tags.stage LIKE 'pro%'",
            "attributes.run_name = 5",
            "attributes.user_id = 'ann'",
            "metrics.loss < 1 OR params.lr = '0.1'",
        ] {
            assert_eq!(sql(rust_only), None, "{rust_only}");
        }
    }

    #[test]
    fn status_and_stage_are_the_values_for_which_the_filter_holds() {
        let codes = |filter| match sql(filter) {
            Some(RunCondition::StatusIn(codes)) => codes
                .into_iter()
                .map(|c| JobStatus::from_code(c).unwrap().as_str())
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(codes("attributes.status = 'FAILED'"), ["failed", "lost"]);
        assert_eq!(
            codes("attributes.status LIKE 'RUN%'"),
            ["starting", "running"]
        );
        assert_eq!(
            codes("attributes.status NOT IN ('RUNNING', 'FAILED')"),
            ["queued", "succeeded", "cancelled"]
        );
        assert_eq!(
            sql("attributes.lifecycle_stage = 'deleted'"),
            Some(RunCondition::Archived(true))
        );
        assert_eq!(
            sql("attributes.lifecycle_stage != 'x'"),
            Some(RunCondition::All(vec![]))
        );
    }
}
