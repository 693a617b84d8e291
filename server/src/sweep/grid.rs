//! Grid search: every combination of the parameters' values, conditional parameters only where
//! active. Point `i` is computed directly, so a sweep resumes without replaying the grid.

use super::sample::{dim, Dim};
use super::space::{Assignment, Distribution, Param, Space};
use super::{Problem, SweepError};
use serde_json::Value;

/// Most values one parameter may contribute to a grid.
const MAX_VALUES: f64 = 1_000_000.0;

/// The number of points in the grid of `space`.
pub fn grid_size(space: &Space) -> Result<u64, SweepError> {
    let problems = space.check();
    if !problems.is_empty() {
        return Err(SweepError::Invalid(problems));
    }
    Grid::new(space)?.count(0, &mut Assignment::new())
}

/// Grid point `index` (the first parameter in [`Space::order`] varies slowest), or `None`
/// past the end.
pub(super) fn point(space: &Space, index: u64) -> Result<Option<Assignment>, SweepError> {
    let grid = Grid::new(space)?;
    let mut chosen = Assignment::new();
    if index >= grid.count(0, &mut chosen)? {
        return Ok(None);
    }
    grid.nth(0, index, &mut chosen)?;
    Ok(Some(chosen))
}

struct Axis<'a> {
    name: &'a str,
    param: &'a Param,
    values: Vec<Value>,
    /// Whether some other parameter's condition names this one. Only then does the choice of
    /// its value change what follows; otherwise each value leads to equally many points.
    decides: bool,
}

struct Grid<'a> {
    axes: Vec<Axis<'a>>,
}

impl<'a> Grid<'a> {
    fn new(space: &'a Space) -> Result<Self, SweepError> {
        let axes = space
            .order()
            .into_iter()
            .map(|(name, param)| {
                Ok(Axis {
                    name,
                    param,
                    values: values(name, &param.distribution)?,
                    decides: space.params.values().any(|p| p.when.contains_key(name)),
                })
            })
            .collect::<Result<_, SweepError>>()?;
        Ok(Self { axes })
    }

    /// The number of points from axis `from` on, given the values chosen before it.
    fn count(&self, from: usize, chosen: &mut Assignment) -> Result<u64, SweepError> {
        let Some(axis) = self.axes.get(from) else {
            return Ok(1);
        };
        if !Space::is_active(axis.param, chosen) {
            return self.count(from + 1, chosen);
        }
        if !axis.decides {
            let rest = self.count(from + 1, chosen)?;
            return (axis.values.len() as u64)
                .checked_mul(rest)
                .ok_or_else(too_many);
        }
        let mut total: u64 = 0;
        for value in &axis.values {
            chosen.insert(axis.name.to_owned(), value.clone());
            total = total
                .checked_add(self.count(from + 1, chosen)?)
                .ok_or_else(too_many)?;
        }
        chosen.remove(axis.name);
        Ok(total)
    }

    /// Fills `chosen` with point `index` of the points from axis `from` on.
    fn nth(&self, from: usize, mut index: u64, chosen: &mut Assignment) -> Result<(), SweepError> {
        let Some(axis) = self.axes.get(from) else {
            return Ok(());
        };
        if !Space::is_active(axis.param, chosen) {
            return self.nth(from + 1, index, chosen);
        }
        if !axis.decides {
            let rest = self.count(from + 1, chosen)?;
            chosen.insert(
                axis.name.to_owned(),
                axis.values[(index / rest) as usize].clone(),
            );
            return self.nth(from + 1, index % rest, chosen);
        }
        for value in &axis.values {
            chosen.insert(axis.name.to_owned(), value.clone());
            let here = self.count(from + 1, chosen)?;
            if index < here {
                return self.nth(from + 1, index, chosen);
            }
            index -= here;
        }
        unreachable!("index is below the count of points from this axis on")
    }
}

fn too_many() -> SweepError {
    SweepError::GridTooLarge(format!("it has more than {} points", u64::MAX))
}

/// The values a grid takes for one parameter, in order.
fn values(name: &str, distribution: &Distribution) -> Result<Vec<Value>, SweepError> {
    let (low, high, q) = match *distribution {
        Distribution::Choice(ref values) => return Ok(values.clone()),
        Distribution::IntUniform { low, high, q } => {
            (low as f64, high as f64, q.unwrap_or(1) as f64)
        }
        Distribution::Uniform { low, high, q } | Distribution::LogUniform { low, high, q } => {
            let q = q.ok_or_else(|| SweepError::GridNeedsSteps(name.to_owned()))?;
            (low, high, q)
        }
    };
    let steps = ((high - low) / q + 1e-9).floor();
    if steps + 1.0 > MAX_VALUES {
        let problem = Problem::at(
            name,
            format!("{} values; a grid takes at most {MAX_VALUES}", steps + 1.0),
        );
        return Err(SweepError::GridTooLarge(problem.to_string()));
    }
    let Dim::Numeric(numeric) = dim(distribution) else {
        unreachable!("ranges are numeric")
    };
    // Through `value`, so grid values are snapped and tidied exactly as sampled ones are.
    let at = |k: f64| match distribution {
        Distribution::LogUniform { .. } => (low + k * q).ln(),
        _ => low + k * q,
    };
    Ok((0..=steps as u64)
        .map(|k| numeric.value(at(k as f64)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::{suggest, Algorithm, Direction};
    use super::*;
    use serde_json::json;

    fn space(yaml: &str) -> Space {
        serde_yaml_ng::from_str(yaml).expect("the space parses")
    }

    fn all_points(space: &Space) -> Vec<Value> {
        (0..)
            .map_while(|i| {
                suggest(space, &Algorithm::Grid, Direction::Minimize, &[], 0, i).unwrap()
            })
            .map(|a| serde_json::to_value(a).unwrap())
            .collect()
    }

    #[test]
    fn the_grid_lists_every_combination_with_conditionals_where_active() {
        let space = space(
            "optimizer: {choice: [sgd, adam]}\n\
             momentum: {choice: [0.0, 0.9], when: {optimizer: sgd}}\n\
             layers: {int_uniform: [1, 2]}",
        );
        let expected = [
            json!({"layers": 1, "optimizer": "sgd", "momentum": 0.0}),
            json!({"layers": 1, "optimizer": "sgd", "momentum": 0.9}),
            json!({"layers": 1, "optimizer": "adam"}),
            json!({"layers": 2, "optimizer": "sgd", "momentum": 0.0}),
            json!({"layers": 2, "optimizer": "sgd", "momentum": 0.9}),
            json!({"layers": 2, "optimizer": "adam"}),
        ];
        assert_eq!(all_points(&space), expected);
        assert_eq!(grid_size(&space).unwrap(), 6);
    }

    #[test]
    fn chained_conditions_and_quantised_ranges_are_enumerated() {
        let space = space(
            "a: {choice: [x, y]}\n\
             b: {choice: [1, 2], when: {a: x}}\n\
             c: {uniform: [0, 0.2], q: 0.1, when: {b: 2}}\n\
             lr: {log_uniform: [0.001, 0.003], q: 0.001}",
        );
        let points = all_points(&space);
        let expected = [
            json!({"a": "x", "b": 1}),
            json!({"a": "x", "b": 2, "c": 0.0}),
            json!({"a": "x", "b": 2, "c": 0.1}),
            json!({"a": "x", "b": 2, "c": 0.2}),
            json!({"a": "y"}),
        ];
        // `lr` decides nothing, so it varies fastest within each of the five.
        assert_eq!(points.len(), 15);
        for (i, point) in points.iter().enumerate() {
            let mut want = expected[i / 3].clone();
            want["lr"] = json!([0.001, 0.002, 0.003][i % 3]);
            assert_eq!(point, &want);
        }
        assert_eq!(grid_size(&space).unwrap(), 15);
    }

    #[test]
    fn a_continuous_parameter_without_a_step_is_refused() {
        let space = space("a: {choice: [1, 2]}\nlr: {log_uniform: [1.0e-5, 0.1]}");
        let error = grid_size(&space).unwrap_err();
        assert_eq!(
            error.to_string(),
            "grid needs a finite set of values for `lr`: give it `q`"
        );
    }

    #[test]
    fn an_enormous_grid_is_refused_not_allocated() {
        let wide = space("a: {int_uniform: [0, 1000000000]}");
        assert!(matches!(grid_size(&wide), Err(SweepError::GridTooLarge(_))));
        let deep = space(
            "a: {int_uniform: [0, 999999]}\n\
             b: {int_uniform: [0, 999999]}\n\
             c: {int_uniform: [0, 999999]}\n\
             d: {int_uniform: [0, 999999]}",
        );
        assert!(matches!(grid_size(&deep), Err(SweepError::GridTooLarge(_))));
    }

    #[test]
    fn grid_points_far_into_a_large_grid_come_straight_out() {
        let space = space(
            "a: {int_uniform: [0, 999]}\nb: {int_uniform: [0, 999]}\nc: {int_uniform: [0, 999]}",
        );
        assert_eq!(grid_size(&space).unwrap(), 1_000_000_000);
        let point = suggest(
            &space,
            &Algorithm::Grid,
            Direction::Minimize,
            &[],
            0,
            123_456_789,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(point).unwrap(),
            json!({"a": 123, "b": 456, "c": 789})
        );
    }
}
