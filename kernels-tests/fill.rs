//! fill and copy against the CPU reference; exact, since no arithmetic happens.

use crate::common::{assert_close, gpu, random_array, rng, upload};
use duel::reference as r;
use duel::{Tensor, ops};

const SHAPES: &[&[usize]] = &[&[1], &[1, 3], &[7, 13, 29], &[65_535 * 256 + 5]];

#[test]
pub fn fill_and_copy_match_reference() {
    for (i, shape) in SHAPES.iter().enumerate() {
        let src = random_array(&mut rng(i as u64), shape, -5.0, 5.0);
        let t = Tensor::uninit(gpu(), shape).unwrap();
        ops::fill(&t, 2.5).unwrap();
        let mut want = r::zeros(shape);
        r::fill(&mut want, 2.5);
        assert_close(&format!("fill {shape:?}"), &t, &want, 0.0, 0.0);

        ops::copy(&t, &upload(&src)).unwrap();
        r::copy(&mut want, &src);
        assert_close(&format!("copy {shape:?}"), &t, &want, 0.0, 0.0);

        assert_close(
            &format!("full {shape:?}"),
            &ops::full(gpu(), shape, -1.5).unwrap(),
            &r::full(shape, -1.5),
            0.0,
            0.0,
        );
        assert_close(
            &format!("zeros {shape:?}"),
            &ops::zeros(gpu(), shape).unwrap(),
            &r::zeros(shape),
            0.0,
            0.0,
        );
    }
}
