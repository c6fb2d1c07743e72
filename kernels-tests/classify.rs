//! Classifier readouts (argmax, max softmax, accuracy) against the reference.
//!
//! argmax and accuracy are compared exactly: random f32 logits have no near-ties that
//! f32 and f64 could order differently, because both compare the same f32 values.
//! max_softmax is 1 / Σ exp(z - max) over at most 10 terms in [1/C, 1]; each exp is
//! within a few ε relative, so 8ε relative bounds it, far below a wrong formula.

use crate::common::{EPS, assert_close, gpu, random_array, rng, upload};
use duel::reference::{self as r, Array};
use duel::{Error, Tensor, ops};

const SHAPES: [[usize; 2]; 4] = [[1, 10], [7, 13], [64, 1], [100_003, 10]];

#[test]
pub fn argmax_and_max_softmax_match_reference() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let z = random_array(&mut rng(1300 + i as u64), &shape, -20.0, 20.0);
        let gz = upload(&z);
        assert_close(
            &format!("argmax {shape:?}"),
            &ops::argmax(&gz).unwrap(),
            &r::argmax(&z),
            0.0,
            0.0,
        );
        assert_close(
            &format!("max_softmax {shape:?}"),
            &ops::max_softmax(&gz).unwrap(),
            &r::max_softmax(&z),
            0.0,
            8.0 * EPS,
        );
    }
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn argmax_breaks_ties_towards_the_lower_index() {
    let z = Array::from_f32(
        &[3, 4],
        &[1., 5., 5., 0., 2., 2., 2., 2., -1., -3., -1., -2.],
    );
    let got = ops::argmax(&upload(&z)).unwrap().to_vec().unwrap();
    assert_eq!(got, [1.0, 0.0, 0.0]);
    assert_eq!(r::argmax(&z).to_f32(), [1.0, 0.0, 0.0]);
    // Two equal maxima share the probability: 1 / (1 + 1 + e^-5 + ...).
    let p = ops::max_softmax(&upload(&z)).unwrap().to_vec().unwrap();
    assert!(
        (p[1] - 0.25).abs() < 1e-6,
        "four equal logits give 1/4, got {}",
        p[1]
    );
}

#[test]
pub fn accuracy_matches_reference() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let z = random_array(&mut rng(1310 + i as u64), &shape, -3.0, 3.0);
        // Labels agree with the argmax for about a third of the rows.
        let predicted = r::argmax(&z);
        let labels: Vec<f32> = predicted
            .data
            .iter()
            .enumerate()
            .map(|(row, &c)| {
                if row % 3 == 0 {
                    c as f32
                } else {
                    ((c as usize + 1) % shape[1]) as f32
                }
            })
            .collect();
        let labels = Array::from_f32(&[shape[0]], &labels);
        // The mean of N zeros and ones is exact in f32 up to 2^24 rows, up to the
        // tree sum's rounding of the final division: a few ε.
        assert_close(
            &format!("accuracy {shape:?}"),
            &ops::accuracy(&upload(&z), &upload(&labels)).unwrap(),
            &r::accuracy(&z, &labels),
            4.0 * EPS,
            0.0,
        );
    }
}

#[test]
pub fn readouts_reject_bad_shapes() {
    let flat = Tensor::from_slice(gpu(), &[10], &[0.0; 10]).unwrap();
    assert!(matches!(ops::argmax(&flat), Err(Error::Shape(m)) if m.contains("(N, C)")));
    let logits = Tensor::from_slice(gpu(), &[2, 5], &[0.0; 10]).unwrap();
    let labels = Tensor::from_slice(gpu(), &[3], &[0.0; 3]).unwrap();
    assert!(matches!(ops::accuracy(&logits, &labels), Err(Error::Shape(m)) if m.contains("[2]")));
}
