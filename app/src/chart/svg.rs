//! A chart as SVG text: one pure function of lines, settings and size, drawn with plotters' SVG
//! backend, so the server puts charts in the first HTML and the browser redraws the same way.
//! Tick labels are written here rather than by plotters, whose text layout measures fonts
//! differently on the server and in the browser.

use crate::format::compact;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::fmt::Write;

/// One line of a chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    /// The curve drawn, (x, y) ordered by x.
    pub points: Vec<(f64, f64)>,
    /// The raw curve behind a smoothed one, drawn faint; empty when not smoothed.
    pub raw: Vec<(f64, f64)>,
    /// (x, min, max) per bucket when points were dropped, drawn as a band.
    pub envelope: Vec<(f64, f64, f64)>,
    /// Index into [`PALETTE`] (wrapping): a line keeps its colour whichever lines are beside it.
    pub color: usize,
    /// Drawn as a dot per point, unjoined: results of separate runs, not a curve.
    pub dots: bool,
}

/// How a chart is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Logarithmic y axis (values ≤ 0 are left out).
    pub log_y: bool,
    /// Fixed y range; the data's range when `None`.
    pub y_range: Option<(f64, f64)>,
}

impl Frame {
    /// This frame narrowed to `room` pixels, keeping its shape, when it is wider: a chart the
    /// browser scales down to fit (a phone) shrinks its 11 px labels with it, one drawn at the
    /// width it gets keeps them. No room measured yet (0) leaves it as it is.
    pub fn fit_to(self, room: u32) -> Self {
        if room == 0 || room >= self.width {
            return self;
        }
        let width = room.max(MIN_WIDTH);
        Self {
            width,
            height: (u64::from(self.height) * u64::from(width) / u64::from(self.width)) as u32,
            ..self
        }
    }
}

/// The narrowest chart drawn; a narrower box scales it down.
const MIN_WIDTH: u32 = 120;

/// Line colours, by series index.
pub const PALETTE: [(u8, u8, u8); 8] = [
    (36, 87, 214),
    (214, 90, 36),
    (30, 150, 90),
    (170, 50, 160),
    (200, 160, 20),
    (20, 150, 170),
    (120, 120, 120),
    (190, 40, 60),
];

const LEFT: i32 = 52;
const RIGHT: i32 = 10;
const TOP: i32 = 8;
const BOTTOM: i32 = 22;

/// The chart of `lines` in `frame` as an `<svg>` element. Sizes are clamped to 120–4000 by
/// 80–3000 px; without drawable points the frame is drawn empty.
pub fn render(lines: &[Line], frame: &Frame) -> String {
    let width = frame.width.clamp(MIN_WIDTH, 4000);
    let height = frame.height.clamp(80, 3000);
    let lines: Vec<Line> = lines.iter().map(|l| project(l, frame.log_y)).collect();
    let (x0, x1) = padded(extent(
        lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)),
    ));
    let (y0, y1) = match frame
        .y_range
        .filter(|(a, b)| a.is_finite() && b.is_finite() && a < b)
    {
        Some((a, b)) if frame.log_y => (
            a.max(f64::MIN_POSITIVE).log10(),
            b.max(f64::MIN_POSITIVE).log10(),
        ),
        Some(range) => range,
        None => padded(extent(lines.iter().flat_map(|l| {
            l.points
                .iter()
                .map(|p| p.1)
                .chain(l.envelope.iter().flat_map(|e| [e.1, e.2]))
        }))),
    };
    let area = (LEFT..width as i32 - RIGHT, TOP..height as i32 - BOTTOM);
    // Pixel rows grow downwards: the lowest value maps to the bottom row.
    let pixels = (area.0.clone(), area.1.end..area.1.start);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let spec = Cartesian2d::<RangedCoordf64, RangedCoordf64>::new(x0..x1, y0..y1, pixels);
        let plot = root.apply_coord_spec(spec);
        let grid = RGBColor(128, 128, 128).mix(0.25);
        for y in ticks(y0, y1, 5) {
            let _ = plot.draw(&PathElement::new(
                vec![(x0, y), (x1, y)],
                grid.stroke_width(1),
            ));
        }
        for line in &lines {
            let (r, g, b) = PALETTE[line.color % PALETTE.len()];
            let color = RGBColor(r, g, b);
            if !line.envelope.is_empty() {
                let band: Vec<(f64, f64)> = line
                    .envelope
                    .iter()
                    .map(|e| (e.0, e.2.min(y1).max(y0)))
                    .chain(
                        line.envelope
                            .iter()
                            .rev()
                            .map(|e| (e.0, e.1.min(y1).max(y0))),
                    )
                    .collect();
                let _ = plot.draw(&Polygon::new(band, color.mix(0.18).filled()));
            }
            if !line.raw.is_empty() {
                let _ = plot.draw(&PathElement::new(
                    clip(&line.raw, y0, y1),
                    color.mix(0.3).stroke_width(1),
                ));
            }
            if line.dots {
                for &point in line.points.iter().filter(|p| (y0..=y1).contains(&p.1)) {
                    let _ = plot.draw(&Circle::new(point, 3, color.mix(0.7).filled()));
                }
                continue;
            }
            let _ = plot.draw(&PathElement::new(
                clip(&line.points, y0, y1),
                color.stroke_width(2),
            ));
        }
        let _ = root.present();
    }
    let labels = tick_labels((x0, x1), (y0, y1), &area, frame.log_y);
    match svg.rfind("</svg>") {
        Some(end) => svg.insert_str(end, &labels),
        None => svg.push_str(&labels),
    }
    svg
}

/// How x values map to a chart's pixel columns: the drawn x range and the plot's left and right
/// edges, so a pointer position can be turned back into an x value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct XScale {
    /// The x value at the left edge.
    pub x0: f64,
    /// The x value at the right edge.
    pub x1: f64,
    /// The plot's left edge in pixels.
    pub left: f64,
    /// The plot's right edge in pixels.
    pub right: f64,
}

impl XScale {
    /// The scale [`render`] uses for `lines` in `frame`.
    pub fn of(lines: &[Line], frame: &Frame) -> Self {
        let width = frame.width.clamp(MIN_WIDTH, 4000);
        let (x0, x1) =
            padded(extent(lines.iter().flat_map(|l| {
                project(l, frame.log_y).points.into_iter().map(|p| p.0)
            })));
        Self {
            x0,
            x1,
            left: f64::from(LEFT),
            right: f64::from(width as i32 - RIGHT),
        }
    }

    /// The x value under pixel column `px`; `None` outside the plot.
    pub fn value_at(&self, px: f64) -> Option<f64> {
        (self.left..=self.right)
            .contains(&px)
            .then(|| self.x0 + (px - self.left) / (self.right - self.left) * (self.x1 - self.x0))
    }
}

/// The point of `points` (ordered by x) nearest to `x`.
pub fn nearest(points: &[(f64, f64)], x: f64) -> Option<(f64, f64)> {
    let after = points.partition_point(|p| p.0 < x);
    let candidates = [after.checked_sub(1), Some(after)];
    candidates
        .into_iter()
        .flatten()
        .filter_map(|i| points.get(i).copied())
        .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
}

/// The line with log10 applied to y when asked (non-positive values dropped).
fn project(line: &Line, log_y: bool) -> Line {
    if !log_y {
        return line.clone();
    }
    let log = |points: &[(f64, f64)]| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|p| p.1 > 0.0)
            .map(|&(x, y)| (x, y.log10()))
            .collect()
    };
    Line {
        color: line.color,
        dots: line.dots,
        points: log(&line.points),
        raw: log(&line.raw),
        envelope: line
            .envelope
            .iter()
            .filter(|e| e.1 > 0.0)
            .map(|&(x, lo, hi)| (x, lo.log10(), hi.log10()))
            .collect(),
    }
}

fn clip(points: &[(f64, f64)], y0: f64, y1: f64) -> Vec<(f64, f64)> {
    points.iter().map(|&(x, y)| (x, y.clamp(y0, y1))).collect()
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |range, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A range with room around a single value, and 0..1 for nothing at all.
fn padded(range: Option<(f64, f64)>) -> (f64, f64) {
    match range {
        None => (0.0, 1.0),
        Some((lo, hi)) if lo == hi => {
            let room = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - room, hi + room)
        }
        Some(range) => range,
    }
}

/// About `count` round values (1, 2 or 5 × 10^k apart) within `lo..=hi`.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    let rough = span / count.max(1) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let gaps = |step: f64| (span / step - count as f64).abs();
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .min_by(|a, b| gaps(*a).total_cmp(&gaps(*b)))
        .unwrap_or(magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

fn tick_labels(
    x: (f64, f64),
    y: (f64, f64),
    area: &(std::ops::Range<i32>, std::ops::Range<i32>),
    log_y: bool,
) -> String {
    let (left, right) = (area.0.start as f64, area.0.end as f64);
    let (top, bottom) = (area.1.start as f64, area.1.end as f64);
    let mut out =
        String::from(r#"<g font-family="sans-serif" font-size="11" fill="currentColor">"#);
    for value in ticks(y.0, y.1, 5) {
        let py = bottom - (value - y.0) / (y.1 - y.0) * (bottom - top);
        let text = if log_y {
            compact(10f64.powf(value))
        } else {
            compact(value)
        };
        let _ = write!(
            out,
            r#"<text x="{}" y="{py:.1}" text-anchor="end" dominant-baseline="middle">{text}</text>"#,
            left - 4.0
        );
    }
    for value in ticks(x.0, x.1, 6) {
        let px = left + (value - x.0) / (x.1 - x.0) * (right - left);
        let _ = write!(
            out,
            r#"<text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
            bottom + 15.0,
            compact(value)
        );
    }
    out.push_str("</g>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixel_column_maps_back_to_the_nearest_point() {
        let line = Line {
            points: vec![(0.0, 1.0), (10.0, 2.0), (20.0, 3.0)],
            ..Line::default()
        };
        let frame = Frame {
            width: 252,
            height: 100,
            log_y: false,
            y_range: None,
        };
        let scale = XScale::of(std::slice::from_ref(&line), &frame);
        assert_eq!(
            (scale.x0, scale.x1, scale.left, scale.right),
            (0.0, 20.0, 52.0, 242.0)
        );
        assert_eq!(scale.value_at(52.0), Some(0.0));
        assert_eq!(scale.value_at(242.0), Some(20.0));
        assert_eq!(scale.value_at(10.0), None, "left of the plot");
        let x = scale.value_at(52.0 + 190.0 * 0.6).unwrap();
        assert_eq!(nearest(&line.points, x), Some((10.0, 2.0)));
        assert_eq!(nearest(&line.points, 99.0), Some((20.0, 3.0)));
        assert_eq!(nearest(&[], 1.0), None);
    }

    #[test]
    fn a_frame_narrows_to_the_room_it_gets_and_keeps_its_shape() {
        let medium = Frame {
            width: 480,
            height: 260,
            ..frame()
        };
        assert_eq!(medium.fit_to(0), medium, "nothing measured yet");
        assert_eq!(medium.fit_to(900), medium, "never wider than asked");
        let phone = medium.fit_to(360);
        assert_eq!((phone.width, phone.height), (360, 195));
        assert_eq!((phone.log_y, phone.y_range), (medium.log_y, medium.y_range));
        assert_eq!(medium.fit_to(40).width, 120, "the narrowest chart drawn");
    }

    fn frame() -> Frame {
        Frame {
            width: 320,
            height: 160,
            log_y: false,
            y_range: None,
        }
    }

    fn curve() -> Line {
        Line {
            points: (0..50)
                .map(|i| (i as f64 * 10.0, 1.0 / (i as f64 + 1.0)))
                .collect(),
            ..Line::default()
        }
    }

    #[test]
    fn the_svg_for_fixed_input_is_stable() {
        let svg = render(&[curve()], &frame());
        assert_eq!(svg, render(&[curve()], &frame()));
        crate::chart::tests::assert_snapshot("curve.svg", &svg);
    }

    #[test]
    fn charts_draw_lines_bands_and_labels() {
        let mut smoothed = curve();
        smoothed.raw = curve().points;
        smoothed.envelope = vec![(0.0, 0.0, 1.0), (490.0, 0.0, 0.1)];
        let svg = render(&[smoothed, curve()], &frame());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let grid = ticks(0.0, 1.0, 5).len();
        assert_eq!(
            svg.matches("<polyline").count(),
            3 + grid,
            "2 lines, a raw one, the grid: {svg}"
        );
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert!(
            svg.contains(">400</text>") && svg.contains(">0.4</text>"),
            "{svg}"
        );
    }

    #[test]
    fn empty_flat_and_odd_input_still_draws_a_frame() {
        for lines in [
            vec![],
            vec![Line::default()],
            vec![Line {
                points: vec![(3.0, 7.0)],
                ..Line::default()
            }],
        ] {
            let svg = render(
                &lines,
                &Frame {
                    width: 0,
                    height: 0,
                    log_y: true,
                    y_range: Some((5.0, 1.0)),
                },
            );
            assert!(
                svg.contains("width=\"120\"") && svg.contains("height=\"80\""),
                "{svg}"
            );
        }
        let log = render(
            &[curve()],
            &Frame {
                log_y: true,
                ..frame()
            },
        );
        assert!(
            log.contains(">0.1</text>"),
            "log ticks read as values: {log}"
        );
    }

    #[test]
    fn dotted_lines_draw_a_circle_per_point_in_range() {
        let dots = Line {
            points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, 50.0)],
            dots: true,
            ..Line::default()
        };
        let frame = Frame {
            y_range: Some((0.0, 10.0)),
            ..frame()
        };
        let svg = render(&[dots], &frame);
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert!(
            !svg.contains("stroke-width=\"2\""),
            "no joining line: {svg}"
        );
    }

    #[test]
    fn larger_values_are_drawn_higher_and_grid_lines_sit_on_their_labels() {
        let rising = Line {
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            ..Line::default()
        };
        let svg = render(&[rising], &frame());
        let line = svg
            .lines()
            .find(|l| l.contains("stroke-width=\"2\""))
            .unwrap();
        let ys: Vec<f64> = line
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .filter_map(|p| p.split(',').nth(1)?.trim_end_matches('"').parse().ok())
            .collect();
        assert!(
            ys[0] > ys[1],
            "the second point is higher on screen: {line}"
        );
        // The label of 0 sits on the bottom grid line (y = 160 - 22).
        assert!(
            svg.contains(r#"y="138.0" text-anchor="end" dominant-baseline="middle">0<"#),
            "{svg}"
        );
        assert!(svg.contains("points=\"52,138 310,138 \""), "{svg}");
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(
            ticks(0.0, 1.0, 5),
            [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(ticks(3.0, 97.0, 4), [20.0, 40.0, 60.0, 80.0]);
        assert!(ticks(1.0, 1.0, 5).is_empty());
    }
}
