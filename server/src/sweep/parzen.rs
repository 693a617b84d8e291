//! The densities TPE fits to good and bad trials: a Parzen estimator (Gaussian kernels
//! truncated to a range) for numbers, smoothed counts for choices.

use rand::Rng;
use std::f64::consts::{PI, SQRT_2};

/// A density over `[lo, hi]`: one truncated Gaussian per observation and one wide Gaussian at
/// the centre (the prior, so a few observations never rule a region out), weighted equally.
pub(super) struct Parzen {
    lo: f64,
    hi: f64,
    kernels: Vec<Kernel>,
}

struct Kernel {
    mu: f64,
    sigma: f64,
    /// 1 / (sigma √(2π) Z), with Z the kernel's mass inside the range.
    scale: f64,
}

impl Parzen {
    /// Fits the estimator to `points`, which lie in `[lo, hi]`.
    pub fn fit(points: &[f64], lo: f64, hi: f64) -> Self {
        let width = hi - lo;
        let mut centres: Vec<(f64, bool)> = points.iter().map(|&p| (p, false)).collect();
        centres.push((f64::midpoint(lo, hi), true));
        centres.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Bergstra et al.'s bandwidth: the larger gap to a neighbouring centre, kept between
        // width / min(100, n) and width, so dense regions give sharp kernels.
        let narrowest = width / (centres.len() as f64).min(100.0);
        let kernels = (0..centres.len())
            .map(|i| {
                let (mu, is_prior) = centres[i];
                let left = i.checked_sub(1).map(|j| mu - centres[j].0);
                let right = centres.get(i + 1).map(|c| c.0 - mu);
                let gap = left.into_iter().chain(right).fold(0.0, f64::max);
                let sigma = if is_prior {
                    width
                } else {
                    gap.clamp(narrowest, width)
                };
                Kernel::new(mu, sigma, lo, hi)
            })
            .collect();
        Self { lo, hi, kernels }
    }

    /// A point drawn from the density.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let kernel = &self.kernels[rng.gen_range(0..self.kernels.len())];
        // Every kernel keeps at least a third of its mass inside the range (its centre is
        // inside and sigma is at most the width), so rejection ends fast.
        for _ in 0..100 {
            let x = kernel.mu + kernel.sigma * standard_normal(rng);
            if (self.lo..=self.hi).contains(&x) {
                return x;
            }
        }
        kernel.mu
    }

    /// The logarithm of the density at `x`, which lies in `[lo, hi]`.
    pub fn log_density(&self, x: f64) -> f64 {
        let sum: f64 = self
            .kernels
            .iter()
            .map(|k| {
                let z = (x - k.mu) / k.sigma;
                k.scale * (-0.5 * z * z).exp()
            })
            .sum();
        (sum / self.kernels.len() as f64).ln()
    }
}

impl Kernel {
    fn new(mu: f64, sigma: f64, lo: f64, hi: f64) -> Self {
        let mass = normal_cdf((hi - mu) / sigma) - normal_cdf((lo - mu) / sigma);
        Self {
            mu,
            sigma,
            scale: 1.0 / (sigma * (2.0 * PI).sqrt() * mass),
        }
    }
}

/// A standard normal draw by the Box–Muller transform.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1], so its logarithm is finite
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
}

fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / SQRT_2))
}

/// The error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, plenty for
/// the truncation masses, which are never below a third).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let magnitude = 1.0 - poly * (-x * x).exp();
    magnitude.copysign(x)
}

/// A distribution over `k` choices: the counts of observed picks plus a prior of one pick
/// spread evenly.
pub(super) struct Histogram {
    weights: Vec<f64>,
    total: f64,
}

impl Histogram {
    /// Fits the histogram to observed choice indices, each below `k`.
    pub fn fit(picks: &[usize], k: usize) -> Self {
        let mut weights = vec![1.0 / k as f64; k];
        for &pick in picks {
            weights[pick] += 1.0;
        }
        Self {
            weights,
            total: 1.0 + picks.len() as f64,
        }
    }

    /// A choice index drawn from the histogram.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let mut left = rng.gen::<f64>() * self.total;
        for (i, w) in self.weights.iter().enumerate() {
            left -= w;
            if left < 0.0 {
                return i;
            }
        }
        self.weights.len() - 1
    }

    /// The logarithm of the probability of choice `i`.
    pub fn log_probability(&self, i: usize) -> f64 {
        (self.weights[i] / self.total).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_88),
            (1.0, 0.842_700_79),
            (-2.0, -0.995_322_27),
        ] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn a_parzen_density_integrates_to_one_over_its_range() {
        let parzen = Parzen::fit(&[0.1, 0.15, 0.9, 0.95, 0.97], 0.0, 1.0);
        let n = 100_000;
        let integral: f64 = (0..n)
            .map(|i| parzen.log_density((i as f64 + 0.5) / n as f64).exp())
            .sum::<f64>()
            / n as f64;
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
    }

    #[test]
    fn parzen_samples_stay_in_range_and_gather_near_the_observations() {
        let parzen = Parzen::fit(&[0.8; 20], -1.0, 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let xs: Vec<f64> = (0..2000).map(|_| parzen.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (-1.0..=1.0).contains(x)));
        // 20 of the 21 kernels sit at 0.8 with sigma 2/21: about 91% of draws within 0.2.
        let near = xs.iter().filter(|x| (**x - 0.8).abs() < 0.2).count();
        assert!(near > 1700, "{near} of 2000 near 0.8");
        assert!(parzen.log_density(0.8) > parzen.log_density(-0.8) + 2.0);
    }

    #[test]
    fn histograms_smooth_counts_with_an_even_prior() {
        let histogram = Histogram::fit(&[0, 0, 0, 1], 4);
        let p: Vec<f64> = (0..4).map(|i| histogram.log_probability(i).exp()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p[0] - 3.25 / 5.0).abs() < 1e-12 && (p[3] - 0.25 / 5.0).abs() < 1e-12);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let zeros = (0..5000)
            .filter(|_| histogram.sample(&mut rng) == 0)
            .count();
        assert!((3000..3500).contains(&zeros), "{zeros}");
    }
}
