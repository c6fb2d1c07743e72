//! Philox fills and dropout: bit-for-bit against the CPU generator, and statistics.

use crate::common::{EPS, assert_close, gpu, random_array, rng, upload};
use duel::reference::{self as r, Array};
use duel::{Tensor, ops};

/// A part of a fill (`fill_normal_part`, a data-parallel rank's rows of the noise)
/// against the CPU generator's part, batch 1 to a large one, at odd starts; and,
/// exactly, the same elements of the whole fill.
#[test]
pub fn a_part_of_a_normal_fill_is_that_part_of_the_whole() {
    let tol = normal_tolerance(0.0, 1.0);
    for (rows, first) in [(1usize, 0usize), (5, 7 * 3), (1 << 12, 100)] {
        let shape = [rows, 7];
        let t = Tensor::uninit(gpu(), &shape).unwrap();
        ops::fill_normal_part(&t, 0.0, 1.0, 42, 9, first).unwrap();
        let mut want = r::zeros(&shape);
        r::fill_normal_part(&mut want, 0.0, 1.0, 42, 9, first);
        assert_close(&format!("part {shape:?} from {first}"), &t, &want, tol, 0.0);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let whole = draw_normal(&[first + rows * 7], 0.0, 1.0, 42, 9);
            assert_eq!(t.to_vec().unwrap(), whole[first..], "part from {first}");
        }
    }
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
fn draw_uniform(shape: &[usize], lo: f32, hi: f32, seed: u64, offset: u64) -> Vec<f32> {
    let t = Tensor::uninit(gpu(), shape).unwrap();
    ops::fill_uniform(&t, lo, hi, seed, offset).unwrap();
    t.to_vec().unwrap()
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
fn draw_normal(shape: &[usize], mean: f32, std: f32, seed: u64, offset: u64) -> Vec<f32> {
    let t = Tensor::uninit(gpu(), shape).unwrap();
    ops::fill_normal(&t, mean, std, seed, offset).unwrap();
    t.to_vec().unwrap()
}

/// The largest |GPU - CPU| that WGSL's accuracy rules allow fill_normal for
/// `mean + std·z`, z = sqrt(-2·log(u1))·cos(2π·t), u1 in [2^-24, 1], t in [-1/2, 1/2):
/// - log: absolute error 2^-21 on [0.5, 2], else 3 ulp. Under the square root the
///   absolute error is the worse: √(2·2^-21) as r = √(-2·log u1) goes to 0 (for
///   u1 < 0.5, r > 1.17 and 3 ulp of the log moves r by under 5e-6).
/// - sqrt: 2 ulp (inherited from inverseSqrt), of r ≤ r_max = √(48·ln 2) ≈ 5.77.
/// - cos: absolute error 2^-11 on [-π, π], plus the rounding of its argument (< 4π ulp).
/// - the final multiply-add: a few ulp of |mean| + std·r_max.
///
/// The bound is far looser than Mesa's or NVIDIA's real error (NVIDIA's was 3.7e-5), but
/// a wrong stream or a swapped u1 and u2 is still off by order 1.
fn normal_tolerance(mean: f64, std: f64) -> f64 {
    let r_max = (-2.0 * 2f64.powi(-24).ln()).sqrt();
    let ulp = 2f64.powi(-23);
    let dr = (2.0 * 2f64.powi(-21)).sqrt() + 2.0 * ulp * r_max;
    let dc = 2f64.powi(-11) + 4.0 * std::f64::consts::PI * ulp;
    std * (dr + r_max * dc + dr * dc) + 4.0 * ulp * (mean.abs() + std * r_max)
}

#[test]
pub fn uniform_and_normal_match_the_cpu_generator() {
    // The bits agree exactly; what differs is f32 arithmetic: one multiply-add for the
    // uniform (ε relative), and log, sqrt and cos for the normal (see normal_tolerance).
    for (i, shape) in [&[1usize][..], &[7, 13, 29], &[1 << 16]]
        .into_iter()
        .enumerate()
    {
        let seed = 0x1234_5678_9abc_def0 + i as u64;
        let t = Tensor::uninit(gpu(), shape).unwrap();
        ops::fill_uniform(&t, -2.0, 3.0, seed, 99).unwrap();
        let mut want = r::zeros(shape);
        r::fill_uniform(&mut want, -2.0, 3.0, seed, 99);
        assert_close(
            &format!("fill_uniform {shape:?}"),
            &t,
            &want,
            4.0 * EPS,
            4.0 * EPS,
        );
        ops::fill_normal(&t, 0.5, 2.0, seed, 1 << 40).unwrap();
        r::fill_normal(&mut want, 0.5, 2.0, seed, 1 << 40);
        let tol = normal_tolerance(0.5, 2.0);
        assert_close(&format!("fill_normal {shape:?}"), &t, &want, tol, 0.0);
    }
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn the_same_key_repeats_and_another_key_differs() {
    let a = draw_uniform(&[1000], 0.0, 1.0, 7, 0);
    assert_eq!(a, draw_uniform(&[1000], 0.0, 1.0, 7, 0));
    let other_offset = draw_uniform(&[1000], 0.0, 1.0, 7, 1);
    let other_seed = draw_uniform(&[1000], 0.0, 1.0, 8, 0);
    let same = |x: &[f32], y: &[f32]| x.iter().zip(y).filter(|(a, b)| a == b).count();
    // Equal draws by chance: about 1000 / 2^24 expected, so a handful means broken keying.
    assert!(same(&a, &other_offset) < 3 && same(&a, &other_seed) < 3);
}

/// The largest gap between the empirical distribution of `samples` and `cdf`.
fn ks_distance(samples: &mut [f32], cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(f32::total_cmp);
    let n = samples.len() as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(f64::from(x));
            (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

/// Φ through erf, Abramowitz & Stegun 7.1.26 (error below 1.5e-7, far under the KS bound).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if x >= 0.0 { erf } else { -erf })
}

fn mean_and_variance(x: &[f32]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    (
        mean,
        x.iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n,
    )
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn uniform_and_normal_have_the_right_statistics() {
    // n = 2^20. Bounds: 5 standard errors for the moments (a false failure about once
    // in 10^6 runs); 1.95/√n for Kolmogorov–Smirnov (the 0.001 critical value).
    let n = 1 << 20;
    let root_n = (n as f64).sqrt();
    let mut u = draw_uniform(&[n], 0.0, 1.0, 2024, 0);
    let (mean, var) = mean_and_variance(&u);
    assert!(
        (mean - 0.5).abs() < 5.0 * (1.0f64 / 12.0).sqrt() / root_n,
        "uniform mean {mean}"
    );
    assert!(
        (var - 1.0 / 12.0).abs() < 5.0 * (1.0f64 / 180.0).sqrt() / root_n,
        "uniform variance {var}"
    );
    let d = ks_distance(&mut u, |x| x.clamp(0.0, 1.0));
    assert!(d < 1.95 / root_n, "uniform KS distance {d}");

    let mut z = draw_normal(&[n], 0.0, 1.0, 2025, 0);
    let (mean, var) = mean_and_variance(&z);
    assert!(mean.abs() < 5.0 / root_n, "normal mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * 2f64.sqrt() / root_n,
        "normal variance {var}"
    );
    let d = ks_distance(&mut z, normal_cdf);
    assert!(d < 1.95 / root_n, "normal KS distance {d}");
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn dropout_matches_reference_and_backward_reuses_the_mask() {
    for (i, shape) in [&[1usize][..], &[1, 17], &[7, 13, 29], &[65_535 * 256 + 3]]
        .into_iter()
        .enumerate()
    {
        let x = random_array(&mut rng(700 + i as u64), shape, -1.0, 1.0);
        let gx = upload(&x);
        let (rate, seed, offset) = (0.3, 42 + i as u64, 5);
        let y = ops::dropout(&gx, rate, seed, offset).unwrap();
        assert_close(
            &format!("dropout {shape:?}"),
            &y,
            &r::dropout(&x, rate, seed, offset),
            0.0,
            2.0 * EPS,
        );
        let dy = random_array(&mut rng(710 + i as u64), shape, -1.0, 1.0);
        let dx = ops::dropout_backward(&upload(&dy), rate, seed, offset).unwrap();
        assert_close(
            &format!("dropout_backward {shape:?}"),
            &dx,
            &r::dropout_backward(&dy, rate, seed, offset),
            0.0,
            2.0 * EPS,
        );
        // The backward zeroes exactly where the forward did, wherever x and dy are
        // not zero themselves.
        let (y, dx) = (y.to_vec().unwrap(), dx.to_vec().unwrap());
        let differs = (0..y.len())
            .find(|&i| x.data[i] != 0.0 && dy.data[i] != 0.0 && (y[i] == 0.0) != (dx[i] == 0.0));
        assert_eq!(differs, None, "masks differ for {shape:?}");
    }
    let ones = Array::new(&[1 << 20], vec![1.0; 1 << 20]);
    let kept = ops::dropout(&upload(&ones), 0.25, 9, 0)
        .unwrap()
        .to_vec()
        .unwrap();
    let dropped = kept.iter().filter(|v| **v == 0.0).count() as f64 / kept.len() as f64;
    // Binomial standard error of the dropped fraction is √(p(1-p)/n) ≈ 4e-4.
    assert!(
        (dropped - 0.25).abs() < 5.0 * (0.25f64 * 0.75 / kept.len() as f64).sqrt(),
        "dropped {dropped}"
    );
    assert!(
        kept.iter()
            .all(|v| *v == 0.0 || (*v - 1.0 / 0.75).abs() < 1e-6)
    );
}

#[test]
pub fn bad_random_parameters_are_errors() {
    let t = ops::zeros(gpu(), &[4]).unwrap();
    assert!(ops::fill_uniform(&t, 1.0, 1.0, 0, 0).is_err());
    assert!(ops::fill_normal(&t, 0.0, -1.0, 0, 0).is_err());
    assert!(ops::dropout(&t, 1.0, 0, 0).is_err());
    assert!(ops::dropout(&t, -0.1, 0, 0).is_err());
}
