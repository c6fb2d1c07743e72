//! Tensor health against the CPU reference: exact, since it only counts and compares
//! bits. NaN, ±∞, -0.0 and denormals are planted among random values, several tensors
//! share one call, and the large case needs the 2-D grid.

use crate::common::{random_array, rng, upload};
use duel::reference::{self as r, Array};
use duel::{Tensor, ops};
use rand::RngExt;

const SHAPES: &[&[usize]] = &[&[1], &[1, 3], &[7, 13, 29], &[65_535 * 256 + 5]];

/// Random values in [-3, 3) with every special value planted at random places.
fn planted(seed: u64, shape: &[usize]) -> Array {
    let mut rng = rng(seed);
    let mut a = random_array(&mut rng, shape, -3.0, 3.0);
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::from(f32::MIN_POSITIVE / 4.0),
        -f64::from(f32::MAX),
    ];
    for (k, &v) in specials.iter().enumerate() {
        // A one-element tensor takes one special value per seed.
        if a.data.len() > 1 || k as u64 == seed % specials.len() as u64 {
            let i = rng.random_range(0..a.data.len());
            a.data[i] = v;
        }
    }
    a
}

#[test]
pub fn health_matches_reference() {
    for seed in 0..6 {
        let arrays: Vec<Array> = SHAPES
            .iter()
            .enumerate()
            .map(|(i, s)| planted(seed * 10 + i as u64, s))
            .collect();
        let tensors: Vec<Tensor> = arrays.iter().map(upload).collect();
        let got = ops::health(&tensors.iter().collect::<Vec<_>>()).unwrap();
        let want = r::health(&arrays.iter().collect::<Vec<_>>());
        for ((shape, g), w) in SHAPES.iter().zip(&got).zip(&want) {
            assert_eq!(g, w, "seed {seed}, shape {shape:?}");
        }
    }
}

#[test]
pub fn health_of_clean_tensors_is_clean_and_finds_the_largest_magnitude() {
    let a = Array::new(&[2, 3], vec![0.5, -2.0, 1.0, 0.0, -0.0, 1.5]);
    let got = ops::health(&[&upload(&a)]).unwrap();
    assert_eq!(
        got[0],
        ops::Health {
            nonfinite: 0,
            negative: 1,
            max_abs: 2.0
        }
    );
    assert!(got[0].is_finite());
    assert_eq!(ops::health(&[]).unwrap(), vec![]);
    // The same tensor twice fills two slots independently.
    let t = upload(&planted(3, &[5, 7]));
    let twice = ops::health(&[&t, &t]).unwrap();
    assert_eq!(twice[0], twice[1]);
    assert!(!twice[0].is_finite());
}
