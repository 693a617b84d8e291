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
    let weight = clamp_weight(weight);
    let mut last = 0.0;
    let mut scale = 1.0;
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
