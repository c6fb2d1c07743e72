//! Nearest upsampling and its backward against the reference; the forward is a copy
//! (exact) and the backward sums fh·fw values (a few ε).

use crate::common::{EPS, assert_close, random_array, rng, upload};
use duel::ops;
use duel::reference as r;

#[test]
pub fn upsample_and_backward_match_reference() {
    let cases: [([usize; 4], (usize, usize)); 5] = [
        ([1, 1, 1, 1], (2, 2)),
        ([1, 3, 7, 5], (2, 2)),
        ([2, 2, 3, 4], (3, 1)),
        ([3, 1, 5, 3], (1, 4)),
        ([64, 128, 7, 7], (2, 2)),
    ];
    for (i, (shape, factor)) in cases.into_iter().enumerate() {
        let x = random_array(&mut rng(800 + i as u64), &shape, -1.0, 1.0);
        let y = ops::upsample(&upload(&x), factor).unwrap();
        assert_close(
            &format!("upsample {shape:?} {factor:?}"),
            &y,
            &r::upsample(&x, factor),
            0.0,
            0.0,
        );
        let dy = random_array(&mut rng(810 + i as u64), y.shape(), -1.0, 1.0);
        let dx = ops::upsample_backward(&upload(&dy), factor).unwrap();
        let sums = (factor.0 * factor.1) as f64;
        assert_close(
            &format!("upsample_backward {shape:?} {factor:?}"),
            &dx,
            &r::upsample_backward(&dy, factor),
            sums * EPS,
            sums * EPS,
        );
    }
}

#[test]
pub fn upsample_rejects_bad_shapes() {
    let t = ops::zeros(crate::common::gpu(), &[1, 1, 5, 5]).unwrap();
    assert!(ops::upsample(&t, (0, 2)).is_err());
    assert!(
        ops::upsample_backward(&t, (2, 2)).is_err(),
        "5 is not a multiple of 2"
    );
    assert!(ops::upsample(&ops::zeros(crate::common::gpu(), &[5, 5]).unwrap(), (2, 2)).is_err());
}
