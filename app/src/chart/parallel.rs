//! A parallel-coordinates plot as SVG text, drawn with plotters' SVG backend like the metric
//! charts: a vertical axis per parameter (and the objective last), a polyline per trial
//! coloured from worst (orange) to best (blue) result, the best trial drawn on top, thick and
//! dark. A pure function, so the server and the browser draw the same plot.

use crate::format::compact;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::fmt::Write;

/// How values are placed along an axis, bottom to top.
#[derive(Clone, Debug, PartialEq)]
pub enum Scale {
    /// Linearly between the bounds.
    Linear(f64, f64),
    /// Logarithmically between positive bounds.
    Log(f64, f64),
    /// Category `i` of these, spread evenly (values are indices).
    Categories(Vec<String>),
}

impl Scale {
    /// Where `value` sits on the axis, 0 (bottom) to 1 (top), clamped; `None` if it cannot be
    /// placed (NaN, a non-positive value on a log axis, an unknown category).
    pub fn place(&self, value: f64) -> Option<f64> {
        let fraction = |v: f64, lo: f64, hi: f64| {
            if !v.is_finite() {
                None
            } else if hi > lo {
                Some(((v - lo) / (hi - lo)).clamp(0.0, 1.0))
            } else {
                Some(0.5)
            }
        };
        match self {
            Self::Linear(lo, hi) => fraction(value, *lo, *hi),
            Self::Log(lo, hi) if value > 0.0 && *lo > 0.0 && *hi > 0.0 => {
                fraction(value.log10(), lo.log10(), hi.log10())
            }
            Self::Log(..) => None,
            Self::Categories(names) => {
                let at = value as usize;
                (value >= 0.0 && at < names.len() && value.fract() == 0.0).then(|| {
                    if names.len() == 1 {
                        0.5
                    } else {
                        at as f64 / (names.len() - 1) as f64
                    }
                })
            }
        }
    }

    /// (position, label) of the values an axis names.
    fn labels(&self) -> Vec<(f64, String)> {
        match self {
            Self::Linear(lo, hi) | Self::Log(lo, hi) if lo == hi => {
                vec![(0.5, compact(*lo))]
            }
            Self::Linear(lo, hi) | Self::Log(lo, hi) => {
                vec![(0.0, compact(*lo)), (1.0, compact(*hi))]
            }
            Self::Categories(names) => names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| Some((self.place(i as f64)?, n.clone())))
                .collect(),
        }
    }
}

/// One vertical axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Its name, written above it.
    pub label: String,
    /// How it places values.
    pub scale: Scale,
}

/// One trial's polyline.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Its value on each axis, in axis order; `None` leaves a gap (an inactive parameter).
    pub values: Vec<Option<f64>>,
    /// 0 (worst) to 1 (best result); NaN draws it grey.
    pub quality: f64,
    /// The best trial: drawn last, thick and dark.
    pub best: bool,
}

const TOP: i32 = 28;
const BOTTOM: i32 = 14;
const SIDE: i32 = 48;

/// The plot of `traces` on `axes` as an `<svg>` element, `width` by `height` pixels (clamped
/// to 160–4000 by 120–3000). Without axes it draws an empty frame.
pub fn render(axes: &[Axis], traces: &[Trace], width: u32, height: u32) -> String {
    let width = width.clamp(160, 4000);
    let height = height.clamp(120, 3000);
    let last = axes.len().saturating_sub(1).max(1) as f64;
    let area = (SIDE..width as i32 - SIDE, TOP..height as i32 - BOTTOM);
    let pixels = (area.0.clone(), area.1.end..area.1.start);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let spec = Cartesian2d::<RangedCoordf64, RangedCoordf64>::new(0.0..last, 0.0..1.0, pixels);
        let plot = root.apply_coord_spec(spec);
        let axis_color = RGBColor(128, 128, 128);
        for i in 0..axes.len() {
            let x = i as f64;
            let _ = plot.draw(&PathElement::new(
                vec![(x, 0.0), (x, 1.0)],
                axis_color.stroke_width(1),
            ));
        }
        let plain = traces.iter().filter(|t| !t.best);
        for trace in plain.chain(traces.iter().filter(|t| t.best)) {
            let style = if trace.best {
                RGBColor(20, 20, 20).stroke_width(3)
            } else {
                shade(trace.quality).mix(0.55).stroke_width(1)
            };
            for run in runs(axes, trace) {
                let _ = plot.draw(&PathElement::new(run, style));
            }
        }
        let _ = root.present();
    }
    let labels = axis_labels(axes, &area, last);
    match svg.rfind("</svg>") {
        Some(end) => svg.insert_str(end, &labels),
        None => svg.push_str(&labels),
    }
    svg
}

/// The trace's stretches of consecutive placed values, as (axis index, position) points.
fn runs(axes: &[Axis], trace: &Trace) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, axis) in axes.iter().enumerate() {
        match trace
            .values
            .get(i)
            .copied()
            .flatten()
            .and_then(|v| axis.scale.place(v))
        {
            Some(y) => runs.last_mut().expect("never empty").push((i as f64, y)),
            None => runs.push(Vec::new()),
        }
    }
    runs.retain(|run| run.len() > 1);
    runs
}

/// Orange for the worst result through purple to blue for the best; grey without one.
fn shade(quality: f64) -> RGBColor {
    if !quality.is_finite() {
        return RGBColor(150, 150, 150);
    }
    let t = quality.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(230, 36), mix(120, 87), mix(30, 214))
}

fn axis_labels(
    axes: &[Axis],
    area: &(std::ops::Range<i32>, std::ops::Range<i32>),
    last: f64,
) -> String {
    let (left, right) = (f64::from(area.0.start), f64::from(area.0.end));
    let (top, bottom) = (f64::from(area.1.start), f64::from(area.1.end));
    let mut out =
        String::from(r#"<g font-family="sans-serif" font-size="11" fill="currentColor">"#);
    for (i, axis) in axes.iter().enumerate() {
        let x = left + i as f64 / last * (right - left);
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{}</text>"#,
            top - 14.0,
            escape(&axis.label)
        );
        for (at, text) in axis.scale.labels() {
            let y = bottom - at * (bottom - top);
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{y:.1}" text-anchor="start" dominant-baseline="middle">{}</text>"#,
                x + 3.0,
                escape(&text)
            );
        }
    }
    out.push_str("</g>");
    out
}

/// Names and categories are user text inside SVG markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Vec<Axis> {
        vec![
            Axis {
                label: "lr".into(),
                scale: Scale::Log(1e-4, 1.0),
            },
            Axis {
                label: "opt".into(),
                scale: Scale::Categories(vec!["sgd".into(), "adam".into(), "<b>".into()]),
            },
            Axis {
                label: "loss".into(),
                scale: Scale::Linear(0.0, 2.0),
            },
        ]
    }

    fn traces() -> Vec<Trace> {
        vec![
            Trace {
                values: vec![Some(1e-2), Some(1.0), Some(0.5)],
                quality: 1.0,
                best: true,
            },
            Trace {
                values: vec![Some(1e-4), Some(0.0), Some(2.0)],
                quality: 0.0,
                best: false,
            },
            Trace {
                values: vec![Some(1.0), None, Some(1.0)],
                quality: f64::NAN,
                best: false,
            },
        ]
    }

    #[test]
    fn log_linear_and_categorical_axes_place_values() {
        assert_eq!(Scale::Log(1e-4, 1.0).place(1e-2), Some(0.5));
        assert_eq!(Scale::Log(1e-4, 1.0).place(-1.0), None);
        assert_eq!(Scale::Linear(0.0, 2.0).place(3.0), Some(1.0), "clamped");
        assert_eq!(Scale::Linear(1.0, 1.0).place(1.0), Some(0.5), "one value");
        assert_eq!(Scale::Linear(0.0, 1.0).place(f64::NAN), None);
        let cats = Scale::Categories(vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(
            [0.0, 1.0, 2.0, 3.0, 0.5].map(|v| cats.place(v)),
            [Some(0.0), Some(0.5), Some(1.0), None, None]
        );
        assert_eq!(Scale::Categories(vec!["a".into()]).place(0.0), Some(0.5));
    }

    #[test]
    fn the_plot_for_fixed_input_is_stable() {
        let svg = render(&axes(), &traces(), 400, 200);
        crate::chart::tests::assert_snapshot("parallel.svg", &svg);
    }

    #[test]
    fn traces_axes_and_escaped_labels_are_drawn_best_last() {
        let svg = render(&axes(), &traces(), 400, 200);
        // 3 axes, 2 whole traces, and the gapped one draws nothing (no 2 placed neighbours).
        assert_eq!(svg.matches("<polyline").count(), 3 + 2, "{svg}");
        let best = svg.rfind("stroke-width=\"3\"").unwrap();
        assert!(
            best > svg.rfind("stroke-width=\"1\"").unwrap(),
            "best on top"
        );
        assert!(
            svg.contains(">&lt;b&gt;</text>") && !svg.contains("<b>"),
            "{svg}"
        );
        assert!(
            svg.contains(">1e-4</text>") && svg.contains(">opt</text>"),
            "{svg}"
        );
    }

    #[test]
    fn no_axes_or_no_traces_still_draw_a_frame() {
        for (axes, traces) in [(vec![], traces()), (axes(), vec![])] {
            let svg = render(&axes, &traces, 0, 0);
            assert!(
                svg.contains("width=\"160\"") && svg.contains("height=\"120\""),
                "{svg}"
            );
        }
    }
}
