//! Checkpoint files: exact round trips, metadata, and refusals that change nothing.

use crate::common::{gpu, scratch};
use duel::io::checkpoint;
use duel::{Error, Tensor};
use std::collections::BTreeMap;

fn tensor(shape: &[usize], seed: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| (i as f32 * 0.37 + seed).sin() * 1e3)
        .collect();
    Tensor::from_slice(gpu(), shape, &data).unwrap()
}

#[test]
fn tensors_and_metadata_round_trip_exactly() {
    let path = scratch("ckpt_exact").join("a.safetensors");
    let (a, b) = (tensor(&[3, 5], 1.0), tensor(&[7], 2.0));
    let meta = BTreeMap::from([("step".to_string(), "42".to_string())]);
    checkpoint::save(&path, &[("a".into(), &a), ("b".into(), &b)], &meta).unwrap();
    let (a2, b2) = (tensor(&[3, 5], 9.0), tensor(&[7], 9.0));
    let (loaded, _) = checkpoint::load(&path, &[("a".into(), &a2), ("b".into(), &b2)]).unwrap();
    assert_eq!(loaded.get("step").map(String::as_str), Some("42"));
    assert_eq!(a.to_vec().unwrap(), a2.to_vec().unwrap());
    assert_eq!(b.to_vec().unwrap(), b2.to_vec().unwrap());
}

#[test]
fn mismatched_or_corrupt_checkpoints_are_refused() {
    let dir = scratch("ckpt_refused");
    let path = dir.join("a.safetensors");
    let a = tensor(&[3, 5], 1.0);
    checkpoint::save(&path, &[("a".into(), &a)], &BTreeMap::new()).unwrap();
    let wrong_shape = tensor(&[5, 3], 0.0);
    let err = |r: duel::Result<(BTreeMap<String, String>, Vec<duel::ops::Health>)>| match r {
        Err(Error::Data(m)) => m,
        other => panic!("expected a data error, got {other:?}"),
    };
    let m = err(checkpoint::load(&path, &[("a".into(), &wrong_shape)]));
    assert!(m.contains("tensor a") && m.contains("[5, 3]"), "{m}");
    let m = err(checkpoint::load(&path, &[("other".into(), &a)]));
    assert!(m.contains("no tensor other"), "{m}");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(dir.join("cut.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let m = err(checkpoint::load(
        &dir.join("cut.safetensors"),
        &[("a".into(), &a)],
    ));
    assert!(
        m.contains("cut.safetensors") && m.contains("truncated or damaged"),
        "{m}"
    );
}
