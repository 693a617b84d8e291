//! Exponential moving average smoothing of a curve, debiased as TensorBoard does so the start
//! of the curve is not pulled towards zero.

/// Largest smoothing weight: at 1 the curve would never move.
pub const MAX_WEIGHT: f64 = 0.99;

/// The weight as given, clamped to 0..=0.99 (NaN reads as 0: no smoothing).
pub fn clamp_weight(weight: f64) -> f64 {
    if weight.is_nan() {
        0.0
    } else {
        weight.clamp(0.0, MAX_WEIGHT)
    }
}

/// `values` smoothed with weight `weight` (0 leaves them as they are).
pub fn ema(values: &[f64], weight: f64) -> Vec<f64> {
    ema_after(None, values, weight)
}

/// `values` smoothed as the continuation of a curve whose last smoothed value was `last` after
/// `seen` values (`None`: a curve of its own), so live points extend a smoothed line without
/// the points before them.
pub fn ema_after(before: Option<(f64, usize)>, values: &[f64], weight: f64) -> Vec<f64> {
    let weight = clamp_weight(weight);
    // The smoothed value is the running sum over (1 - weight^n); undo that debiasing.
    let (mut last, mut scale) = match before {
        Some((smoothed, seen)) => {
            let scale = weight.powi(i32::try_from(seen).unwrap_or(i32::MAX));
            (smoothed * (1.0 - scale), scale)
        }
        None => (0.0, 1.0),
    };
    values
        .iter()
        .map(|&v| {
            last = last * weight + (1.0 - weight) * v;
            scale *= weight;
            last / (1.0 - scale)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_matches_a_reference_on_known_data() {
        let smoothed = ema(&[1.0, 2.0, 3.0], 0.5);
        let expected = [1.0, 5.0 / 3.0, 17.0 / 7.0];
        for (got, want) in smoothed.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{smoothed:?}");
        }
    }

    #[test]
    fn a_continued_curve_equals_the_curve_smoothed_whole() {
        let values: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64).collect();
        let whole = ema(&values, 0.8);
        let head = ema(&values[..20], 0.8);
        let tail = ema_after(Some((head[19], 20)), &values[20..], 0.8);
        for (got, want) in head.iter().chain(&tail).zip(&whole) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
    }

    #[test]
    fn no_weight_is_the_raw_curve_and_out_of_range_weights_are_clamped() {
        assert_eq!(ema(&[3.0, -1.0, 7.0], 0.0), [3.0, -1.0, 7.0]);
        assert_eq!(clamp_weight(1.5), MAX_WEIGHT);
        assert_eq!(clamp_weight(-2.0), 0.0);
        assert_eq!(clamp_weight(f64::NAN), 0.0);
        assert!(ema(&[1.0; 1000], 1.5)
            .iter()
            .all(|v| (v - 1.0).abs() < 1e-9));
    }
}
