//! Making a long series small enough for a panel: LTTB for the line, and a min/max envelope
//! per bucket so the extremes LTTB dropped still show as a band.

use serde::{Deserialize, Serialize};

/// A series as a panel draws it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Downsampled {
    /// The line: all points if they fit, else the LTTB selection (first and last kept).
    pub line: Vec<(f64, f64)>,
    /// (x, min, max) per bucket, only when points were dropped.
    pub envelope: Vec<(f64, f64, f64)>,
    /// Points in the series before downsampling (finite ones).
    pub total: usize,
}

/// `points` (ordered by x; non-finite values skipped) reduced to at most `target` points, with
/// a min/max envelope of `target` buckets when anything was dropped.
pub fn downsample(points: &[(f64, f64)], target: usize) -> Downsampled {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let target = target.max(3);
    if finite.len() <= target {
        return Downsampled {
            total: finite.len(),
            line: finite,
            envelope: Vec::new(),
        };
    }
    Downsampled {
        line: lttb(&finite, target),
        envelope: envelope(&finite, target),
        total: finite.len(),
    }
}

/// Largest-Triangle-Three-Buckets (Steinarsson, 2013): keeps the first and last point and, from
/// each of `threshold - 2` buckets between, the point that makes the largest triangle with the
/// point kept before it and the average of the next bucket.
pub fn lttb(points: &[(f64, f64)], threshold: usize) -> Vec<(f64, f64)> {
    let n = points.len();
    if threshold >= n || threshold < 3 {
        return points.to_vec();
    }
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let mut kept = Vec::with_capacity(threshold);
    kept.push(points[0]);
    let mut a = 0;
    for bucket in 0..threshold - 2 {
        let start = (bucket as f64 * every) as usize + 1;
        let end = (((bucket + 1) as f64 * every) as usize + 1).min(n - 1);
        let next_end = (((bucket + 2) as f64 * every) as usize + 1).min(n);
        let next = &points[end..next_end.max(end + 1)];
        let (avg_x, avg_y) = mean(next);
        let (ax, ay) = points[a];
        let mut best = start;
        let mut best_area = -1.0;
        for (i, &(x, y)) in points.iter().enumerate().take(end).skip(start) {
            let area = ((ax - avg_x) * (y - ay) - (ax - x) * (avg_y - ay)).abs();
            if area > best_area {
                best_area = area;
                best = i;
            }
        }
        kept.push(points[best]);
        a = best;
    }
    kept.push(points[n - 1]);
    kept
}

fn mean(points: &[(f64, f64)]) -> (f64, f64) {
    let count = points.len().max(1) as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    (sx / count, sy / count)
}

/// (first x, min y, max y) of each of `buckets` equal runs of points.
pub fn envelope(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64, f64)> {
    let size = points.len().div_ceil(buckets.max(1)).max(1);
    points
        .chunks(size)
        .map(|run| {
            let (lo, hi) = run
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
                    (lo.min(y), hi.max(y))
                });
            (run[0].0, lo, hi)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| (i as f64, ((i as f64) / 37.0).sin() * 10.0 + (i % 7) as f64))
            .collect()
    }

    #[test]
    fn lttb_keeps_the_first_and_last_points_and_the_size_asked_for() {
        let points = wave(10_000);
        let kept = lttb(&points, 500);
        assert_eq!(kept.len(), 500);
        assert_eq!((kept[0], kept[499]), (points[0], points[9_999]));
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "x stays ordered");
    }

    #[test]
    fn lttb_keeps_a_spike_that_averaging_would_flatten() {
        let mut points: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, 0.0)).collect();
        points[503].1 = 100.0;
        points[777].1 = -50.0;
        let kept = lttb(&points, 50);
        assert!(kept.contains(&(503.0, 100.0)) && kept.contains(&(777.0, -50.0)));
    }

    #[test]
    fn the_envelope_holds_each_buckets_extremes() {
        let points = wave(1000);
        let band = envelope(&points, 10);
        assert_eq!(band.len(), 10);
        for (i, &(x, lo, hi)) in band.iter().enumerate() {
            let run = &points[i * 100..(i + 1) * 100];
            assert_eq!(x, run[0].0);
            assert_eq!(lo, run.iter().map(|p| p.1).fold(f64::INFINITY, f64::min));
            assert_eq!(
                hi,
                run.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)
            );
        }
    }

    #[test]
    fn small_series_pass_through_and_non_finite_values_are_dropped() {
        let points = [
            (0.0, 1.0),
            (1.0, f64::NAN),
            (2.0, f64::INFINITY),
            (3.0, 2.0),
        ];
        let small = downsample(&points, 100);
        assert_eq!(
            (small.line, small.envelope.len(), small.total),
            (vec![(0.0, 1.0), (3.0, 2.0)], 0, 2)
        );
        let big = downsample(&wave(5000), 200);
        assert_eq!(
            (big.line.len(), big.envelope.len(), big.total),
            (200, 200, 5000)
        );
        assert_eq!(downsample(&[], 0), Downsampled::default());
    }
}
