//! GPU sums and means against the CPU reference.
//!
//! Tolerance: a sequential f32 sum of L values in [-1, 1] errs by at most about L·ε·L
//! in the worst case, but the kernels sum segments of at most 4096 and then sum the
//! partials, so L·ε absolute (L the reduced length) with 4ε relative is generous for
//! rounding and far below the error of a missed or doubled element (order 0.1 or more).

use crate::common::{EPS, assert_close, random_array, rng, upload};
use duel::ops;
use duel::reference as r;

#[test]
pub fn full_sum_and_mean_match_reference() {
    // One element, odd shapes, and lengths that need two and three passes.
    let shapes: &[&[usize]] = &[&[1], &[7, 13, 29], &[127, 255, 63], &[5_000_003]];
    for (i, shape) in shapes.iter().enumerate() {
        let x = random_array(&mut rng(30 + i as u64), shape, -1.0, 1.0);
        let gx = upload(&x);
        let n = x.numel() as f64;
        assert_close(
            &format!("sum {shape:?}"),
            &ops::sum(&gx).unwrap(),
            &r::sum(&x),
            n * EPS,
            4.0 * EPS,
        );
        assert_close(
            &format!("mean {shape:?}"),
            &ops::mean(&gx).unwrap(),
            &r::mean(&x),
            EPS,
            4.0 * EPS,
        );
    }
}

#[test]
pub fn axis_sums_and_means_match_reference() {
    // Every axis of an odd 3-D shape, batch 1, a bias gradient, and long axes that
    // take several passes through each of the two kernels.
    let cases: &[(&[usize], usize)] = &[
        (&[7, 13, 29], 0),
        (&[7, 13, 29], 1),
        (&[7, 13, 29], 2),
        (&[1, 17], 0),
        (&[64, 6272], 0),
        (&[300, 1000], 1),
        (&[3, 100_000, 2], 1),
    ];
    for (i, &(shape, axis)) in cases.iter().enumerate() {
        let x = random_array(&mut rng(40 + i as u64), shape, -1.0, 1.0);
        let gx = upload(&x);
        let len = shape[axis] as f64;
        let what = format!("{shape:?} axis {axis}");
        assert_close(
            &format!("sum_axis {what}"),
            &ops::sum_axis(&gx, axis).unwrap(),
            &r::sum_axis(&x, axis),
            len * EPS,
            4.0 * EPS,
        );
        assert_close(
            &format!("mean_axis {what}"),
            &ops::mean_axis(&gx, axis).unwrap(),
            &r::mean_axis(&x, axis),
            EPS,
            4.0 * EPS,
        );
    }
}

#[test]
pub fn reduction_backward_matches_reference() {
    let shape = [7, 13, 29];
    for axis in 0..3 {
        let mut reduced = shape.to_vec();
        reduced.remove(axis);
        let dy = random_array(&mut rng(50 + axis as u64), &reduced, -1.0, 1.0);
        let gdy = upload(&dy);
        assert_close(
            "sum_axis_backward",
            &ops::sum_axis_backward(&gdy, &shape, axis).unwrap(),
            &r::sum_axis_backward(&dy, &shape, axis),
            0.0,
            0.0,
        );
        assert_close(
            "mean_axis_backward",
            &ops::mean_axis_backward(&gdy, &shape, axis).unwrap(),
            &r::mean_axis_backward(&dy, &shape, axis),
            0.0,
            2.0 * EPS,
        );
    }
    let dy = r::full(&[], 0.3);
    let gdy = upload(&dy);
    assert_close(
        "sum_backward",
        &ops::sum_backward(&gdy, &shape).unwrap(),
        &r::sum_backward(&dy, &shape),
        0.0,
        0.0,
    );
    assert_close(
        "mean_backward",
        &ops::mean_backward(&gdy, &shape).unwrap(),
        &r::mean_backward(&dy, &shape),
        0.0,
        2.0 * EPS,
    );
}
