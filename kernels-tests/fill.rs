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

/// Several tensors downloaded at one sync point read back each as it is, including
/// an empty one and sizes that are not multiples of the 16-byte rounding, so that
/// each part's place in the shared staging buffer is checked.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn tensors_download_together_as_each_alone() {
    let shapes: &[&[usize]] = &[&[3], &[0], &[5, 7], &[1], &[257, 3]];
    let arrays: Vec<_> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| random_array(&mut rng(40 + i as u64), s, -3.0, 3.0))
        .collect();
    let tensors: Vec<Tensor> = arrays.iter().map(upload).collect();
    let all: Vec<&Tensor> = tensors.iter().collect();
    let got = Tensor::to_vecs(&all).unwrap();
    assert_eq!(got.len(), arrays.len());
    for ((values, want), t) in got.iter().zip(&arrays).zip(&tensors) {
        let want = want.to_f32();
        assert_eq!(values, &want, "{:?}", t.shape());
        assert_eq!(values, &t.to_vec().unwrap(), "{:?}", t.shape());
    }
    assert!(Tensor::to_vecs(&[]).unwrap().is_empty());
}
