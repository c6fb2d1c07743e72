//! Real DCGAN training steps on real MNIST, with the example's own models and
//! schedule: finite losses, bit-exact checkpoints, bit-exact resumption, a clear
//! error for another model's checkpoint, and no allocations in the steady state.

use crate::cli::Args;
use crate::common::{gpu, mnist_dir, scratch};
use crate::gan::{Gan, Schedule};
use clap::Parser;
use duel::data::{GpuImages, Mnist};
use duel::{Error, Tensor};
use std::sync::OnceLock;

/// A small model and batch keep these steps quick on a CPU device; `extra` holds
/// (flag, value) pairs that replace or add to those settings.
fn args(extra: &[&str]) -> Args {
    let mut settings = vec![
        ("--batch-size", "16"),
        ("--ngf", "16"),
        ("--ndf", "16"),
        ("--seed", "3"),
    ];
    for pair in extra.chunks(2) {
        settings.retain(|(flag, _)| *flag != pair[0]);
        settings.push((pair[0], pair[1]));
    }
    let argv = settings.iter().flat_map(|(flag, value)| [*flag, *value]);
    Args::parse_from(std::iter::once("mnist_dcgan").chain(argv))
}

fn images() -> &'static GpuImages {
    static IMAGES: OnceLock<GpuImages> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let data = Mnist::load(&mnist_dir()).unwrap();
        GpuImages::upload(gpu(), &data.train.images, data.train.count, &[1, 28, 28]).unwrap()
    })
}

/// Trains steps `from..to` and returns each step's (Loss_D, Loss_G) as read back.
fn train(gan: &mut Gan, schedule: &mut Schedule, from: usize, to: usize) -> Vec<(f32, f32)> {
    (from..to)
        .map(|step| {
            let (real, z, seed) = schedule.inputs(images(), step).unwrap();
            let stats = gan.step(gpu(), &real, z, seed).unwrap();
            (
                stats.loss_d.to_vec().unwrap()[0],
                stats.loss_g.to_vec().unwrap()[0],
            )
        })
        .collect()
}

fn contents(gan: &Gan) -> Vec<Vec<f32>> {
    let params = gan.g.params().into_iter().chain(gan.d.params());
    let buffers: Vec<Tensor> = gan
        .g
        .buffers()
        .into_iter()
        .chain(gan.d.buffers())
        .map(|b| b.value.clone())
        .collect();
    params
        .map(|p| p.value.clone())
        .chain(buffers)
        .map(|t| t.to_vec().unwrap())
        .collect()
}

#[test]
fn training_steps_give_finite_losses_and_checkpoints_round_trip_bit_exactly() {
    let args = args(&[]);
    let mut gan = Gan::new(gpu(), &args).unwrap();
    let mut schedule = Schedule::new(gpu(), &args, images()).unwrap();
    let losses = train(&mut gan, &mut schedule, 0, 3);
    assert!(
        losses
            .iter()
            .all(|(d, g)| d.is_finite() && g.is_finite() && *d > 0.0 && *g > 0.0),
        "{losses:?}"
    );

    let path = scratch("checkpoint_round_trip").join("checkpoint.safetensors");
    gan.save(&path, Default::default()).unwrap();
    let mut other = Gan::new(gpu(), &crate::dcgan::args(&["--seed", "99"])).unwrap();
    assert_ne!(
        contents(&gan),
        contents(&other),
        "different seeds should start differently"
    );
    other.load(&path).unwrap();
    assert_eq!(
        contents(&gan),
        contents(&other),
        "a loaded checkpoint differs from the saved model"
    );
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files were left behind");
}

#[test]
fn resuming_from_a_checkpoint_repeats_the_uninterrupted_run_bit_for_bit() {
    let args = args(&["--arch", "keras"]);
    let mut straight = Gan::new(gpu(), &args).unwrap();
    let mut schedule = Schedule::new(gpu(), &args, images()).unwrap();
    let uninterrupted = train(&mut straight, &mut schedule, 0, 4);

    let mut first = Gan::new(gpu(), &args).unwrap();
    let mut schedule = Schedule::new(gpu(), &args, images()).unwrap();
    let before = train(&mut first, &mut schedule, 0, 2);
    let path = scratch("resume").join("checkpoint.safetensors");
    first.save(&path, Default::default()).unwrap();
    drop(first);
    let mut resumed = Gan::new(gpu(), &args).unwrap();
    resumed.load(&path).unwrap();
    let mut schedule = Schedule::new(gpu(), &args, images()).unwrap();
    let after = train(&mut resumed, &mut schedule, 2, 4);
    assert_eq!([before, after].concat(), uninterrupted);
}

#[test]
fn a_checkpoint_from_another_model_is_an_error_naming_the_tensor() {
    let path = scratch("other_model").join("checkpoint.safetensors");
    Gan::new(gpu(), &args(&[]))
        .unwrap()
        .save(&path, Default::default())
        .unwrap();
    let mut wider = Gan::new(gpu(), &args(&["--ngf", "8"])).unwrap();
    let before = contents(&wider);
    match wider.load(&path) {
        Err(Error::Data(m)) => assert!(
            m.contains("g.0.weight") && m.contains("does not fit"),
            "{m}"
        ),
        other => panic!("expected a data error, got {:?}", other.map(|_| ())),
    }
    assert_eq!(
        contents(&wider),
        before,
        "a refused checkpoint changed the model"
    );
    let mut keras = Gan::new(gpu(), &args(&["--arch", "keras"])).unwrap();
    assert!(matches!(keras.load(&path), Err(Error::Data(_))));
}

#[test]
fn training_steps_allocate_nothing_after_the_first_two() {
    // A GPU of its own, so no other test's work moves the counter.
    let own = duel::Gpu::new().unwrap();
    let data = Mnist::load(&mnist_dir()).unwrap();
    let images =
        GpuImages::upload(&own, &data.train.images, data.train.count, &[1, 28, 28]).unwrap();
    let args = args(&[]);
    let mut gan = Gan::new(&own, &args).unwrap();
    let mut schedule = Schedule::new(&own, &args, &images).unwrap();
    let mut step = |k: usize| {
        let (real, z, seed) = schedule.inputs(&images, k).unwrap();
        let stats = gan.step(&own, &real, z, seed).unwrap();
        stats.loss_d.to_vec().unwrap();
    };
    step(0);
    step(1);
    let (allocations, pipelines) = (own.pool_stats().allocations, own.pipelines_created());
    (2..5).for_each(&mut step);
    assert_eq!(
        own.pool_stats().allocations,
        allocations,
        "training steps allocated buffers"
    );
    assert_eq!(
        own.pipelines_created(),
        pipelines,
        "training steps compiled pipelines"
    );
}
