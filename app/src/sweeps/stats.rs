//! Parameter importance for the sweep view, by a simple method the UI names: for a numeric
//! parameter the absolute Spearman rank correlation with the objective, for a categorical one
//! the correlation ratio η. Both read 0 (no relation) to 1 (the objective follows the
//! parameter); only completed trials with a finite result count.

use crate::sweeps::server_fns::{ParamKind, ParamValue, SweepPage};

/// How an importance was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// |Spearman rank correlation| with the objective.
    Spearman,
    /// Correlation ratio η of the objective over the parameter's values.
    CorrelationRatio,
}

impl Method {
    /// The method's name as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Spearman => "|Spearman rank correlation|",
            Self::CorrelationRatio => "correlation ratio η",
        }
    }
}

/// One parameter's importance.
#[derive(Clone, Debug, PartialEq)]
pub struct Importance {
    /// The parameter.
    pub name: String,
    /// 0 to 1; `None` when it cannot be told (fewer than 3 trials, or no spread).
    pub score: Option<f64>,
    /// How `score` was measured.
    pub method: Method,
    /// Trials it was measured on.
    pub trials: usize,
}

/// Every parameter of `page`'s importance, most important first (unknown ones last).
pub fn importance(page: &SweepPage) -> Vec<Importance> {
    let mut all: Vec<Importance> = page
        .params
        .iter()
        .enumerate()
        .map(|(at, param)| {
            let pairs = page
                .trials
                .iter()
                .filter_map(|t| Some((t.params.get(at)?.as_ref()?, t.result()?)));
            match param.kind {
                ParamKind::Choice(_) => {
                    let (xs, ys): (Vec<String>, Vec<f64>) =
                        pairs.map(|(x, y)| (text(x), y)).unzip();
                    let labels: Vec<&str> = xs.iter().map(String::as_str).collect();
                    scored(
                        param.name.clone(),
                        Method::CorrelationRatio,
                        ys.len(),
                        correlation_ratio(&labels, &ys),
                    )
                }
                _ => {
                    let (xs, ys): (Vec<f64>, Vec<f64>) = pairs
                        .filter_map(|(x, y)| match x {
                            ParamValue::Number(x) if x.is_finite() => Some((*x, y)),
                            _ => None,
                        })
                        .unzip();
                    let score = spearman(&xs, &ys).map(f64::abs);
                    scored(param.name.clone(), Method::Spearman, ys.len(), score)
                }
            }
        })
        .collect();
    all.sort_by(|a, b| {
        let key = |i: &Importance| i.score.unwrap_or(-1.0);
        key(b).total_cmp(&key(a))
    });
    all
}

fn scored(name: String, method: Method, trials: usize, score: Option<f64>) -> Importance {
    Importance {
        name,
        score,
        method,
        trials,
    }
}

fn text(value: &ParamValue) -> String {
    match value {
        ParamValue::Number(n) => n.to_string(),
        ParamValue::Text(t) => t.clone(),
    }
}

/// Spearman's rank correlation of `xs` and `ys` (ties get their mean rank); `None` for fewer
/// than 3 pairs or when either side is constant.
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 3 {
        return None;
    }
    pearson(&ranks(xs), &ranks(ys))
}

/// The correlation ratio η of `ys` grouped by `labels`: the share of the objective's spread
/// that the groups' means explain, square-rooted; `None` for fewer than 3 values, one group,
/// or a constant objective.
pub fn correlation_ratio(labels: &[&str], ys: &[f64]) -> Option<f64> {
    if labels.len() != ys.len() || ys.len() < 3 {
        return None;
    }
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let total: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
    let mut groups: Vec<(&str, f64, usize)> = Vec::new();
    for (label, y) in labels.iter().zip(ys) {
        match groups.iter_mut().find(|g| g.0 == *label) {
            Some(group) => {
                group.1 += y;
                group.2 += 1;
            }
            None => groups.push((label, *y, 1)),
        }
    }
    if groups.len() < 2 || total <= 0.0 {
        return None;
    }
    let between: f64 = groups
        .iter()
        .map(|(_, sum, n)| *n as f64 * (sum / *n as f64 - mean).powi(2))
        .sum();
    Some((between / total).sqrt().min(1.0))
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mean = (start + end - 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = mean;
        }
        start = end;
    }
    ranks
}

fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweeps::server_fns::{Goal, SweepParam, SweepSummary, TrialView};

    #[test]
    fn a_monotone_relation_has_rank_correlation_one_whatever_its_shape() {
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        let cubes: Vec<f64> = xs.iter().map(|x| x.powi(3)).collect();
        assert_eq!(spearman(&xs, &cubes), Some(1.0));
        let falling: Vec<f64> = xs.iter().map(|x| (-x).exp()).collect();
        assert_eq!(spearman(&xs, &falling), Some(-1.0));
        // A symmetric bowl: no monotone relation at all.
        let bowl: Vec<f64> = (-5..=5).map(|x| f64::from(x * x)).collect();
        let centred: Vec<f64> = (-5..=5).map(f64::from).collect();
        assert!(spearman(&centred, &bowl).unwrap().abs() < 1e-9);
        assert_eq!(
            spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]),
            None,
            "constant"
        );
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None, "too few");
    }

    #[test]
    fn ties_share_their_mean_rank() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 30.0]), vec![0.5, 2.0, 0.5, 3.0]);
    }

    #[test]
    fn the_correlation_ratio_is_one_when_the_groups_explain_everything() {
        let labels = ["adam", "adam", "sgd", "sgd"];
        assert_eq!(correlation_ratio(&labels, &[1.0, 1.0, 5.0, 5.0]), Some(1.0));
        // Same means in every group: the label explains nothing.
        assert_eq!(correlation_ratio(&labels, &[1.0, 3.0, 3.0, 1.0]), Some(0.0));
        assert_eq!(
            correlation_ratio(&["a", "a", "a"], &[1.0, 2.0, 3.0]),
            None,
            "one group"
        );
        assert_eq!(
            correlation_ratio(&labels, &[2.0; 4]),
            None,
            "constant objective"
        );
    }

    #[test]
    fn the_parameter_that_drives_the_objective_ranks_first() {
        let params = vec![
            SweepParam {
                name: "noise".into(),
                kind: ParamKind::Linear(0.0, 1.0),
            },
            SweepParam {
                name: "lr".into(),
                kind: ParamKind::Log(1e-4, 1.0),
            },
            SweepParam {
                name: "opt".into(),
                kind: ParamKind::Choice(vec!["a".into(), "b".into()]),
            },
            SweepParam {
                name: "fixed".into(),
                kind: ParamKind::Linear(0.0, 1.0),
            },
        ];
        let trials = (0..12)
            .map(|i| TrialView {
                index: i,
                state: if i == 11 { "failed" } else { "completed" }.into(),
                params: vec![
                    Some(ParamValue::Number(((i * 7) % 5) as f64)),
                    Some(ParamValue::Number(10f64.powi(-(i as i32 % 4)))),
                    Some(ParamValue::Text(if i % 2 == 0 { "a" } else { "b" }.into())),
                    Some(ParamValue::Number(0.5)),
                ],
                value: Some(if i == 10 {
                    f64::NAN
                } else {
                    10f64.powi(-(i as i32 % 4)) * 3.0
                }),
                step: None,
                reason: None,
                job: i,
            })
            .collect();
        let page = SweepPage {
            summary: SweepSummary {
                id: 1,
                name: "s".into(),
                state: "finished".into(),
                reason: None,
                ended: 12,
                budget: 12,
                best: None,
                metric: "loss".into(),
                goal: Goal::Minimize,
                created_ms: 0,
            },
            algorithm: "random".into(),
            parallel: 1,
            value_of: "last".into(),
            params,
            trials,
            clone_text: String::new(),
        };
        let found = importance(&page);
        assert_eq!(found[0].name, "lr");
        assert_eq!(found[0].score, Some(1.0));
        assert_eq!(found[0].trials, 10, "NaN and failed trials do not count");
        assert_eq!(
            found.last().map(|i| (i.name.as_str(), i.score)),
            Some(("fixed", None))
        );
        let opt = found.iter().find(|i| i.name == "opt").unwrap();
        assert_eq!(opt.method, Method::CorrelationRatio);
    }
}
