//! Real DCGAN training steps on real MNIST, with the example's own models and
//! schedule: finite losses, bit-exact checkpoints, bit-exact resumption, a clear
//! error for another model's checkpoint, and no allocations in the steady state.

use crate::common::{gpu, mnist_dir, scratch};
use duel::data::{GpuImages, Mnist};
use duel::gan::{Arch, Gan, Loss, ModelConfig, Recipe, Schedule};
use duel::gpu::{GemmCore, GemmPolicy, GpuOptions};
use duel::{AdamConfig, Error, Gpu, Tensor};
use std::sync::OnceLock;

/// A small model and batch keep these steps quick on a CPU device; `change` adjusts
/// the model's settings.
fn model(change: impl FnOnce(&mut ModelConfig)) -> ModelConfig {
    let mut model = ModelConfig {
        ngf: 16,
        ndf: 16,
        seed: 3,
        ..ModelConfig::default()
    };
    change(&mut model);
    model
}

const BATCH: usize = 16;

fn new_gan(gpu: &Gpu, model: &ModelConfig) -> Gan {
    new_gan_with(gpu, model, Loss::Bce)
}

fn new_gan_with(gpu: &Gpu, model: &ModelConfig, loss: Loss) -> Gan {
    let adam = AdamConfig {
        lr: 4e-4,
        ..AdamConfig::default()
    };
    let recipe = Recipe {
        loss,
        adam_g: adam,
        adam_d: adam,
        ..Recipe::default()
    };
    Gan::new(gpu, model, &recipe, BATCH).unwrap()
}

fn new_schedule(gpu: &Gpu, model: &ModelConfig, images: &GpuImages) -> Schedule {
    Schedule::new(gpu, model.seed, BATCH, model.nz, images).unwrap()
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
    train_on(gpu(), images(), gan, schedule, from..to)
}

fn train_on(
    gpu: &Gpu,
    images: &GpuImages,
    gan: &mut Gan,
    schedule: &mut Schedule,
    steps: std::ops::Range<usize>,
) -> Vec<(f32, f32)> {
    steps
        .map(|step| {
            let (real, z, seed) = schedule.inputs(images, step).unwrap();
            let stats = gan.step(gpu, &real, None, z, seed, true).unwrap();
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
    let small = model(|_| {});
    let mut gan = new_gan(gpu(), &small);
    let mut schedule = new_schedule(gpu(), &small, images());
    let losses = train(&mut gan, &mut schedule, 0, 3);
    assert!(
        losses
            .iter()
            .all(|(d, g)| d.is_finite() && g.is_finite() && *d > 0.0 && *g > 0.0),
        "{losses:?}"
    );

    let path = scratch("checkpoint_round_trip").join("checkpoint.safetensors");
    gan.save(&path, Default::default()).unwrap();
    let mut other = new_gan(gpu(), &model(|m| m.seed = 99));
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

/// The plans a discrete GPU gets (tiled cores, and K split where the tiles of C are
/// few), run on this adapter, train the same DCGAN steps as its own plans do, to within
/// the rounding of another summation order: CI has no GPU, and this is how the GPU
/// path runs in it.
#[test]
fn a_discrete_gpus_gemm_plans_train_the_same_steps() {
    let options = GpuOptions {
        gemm: GemmPolicy::AutoAs(wgpu::DeviceType::DiscreteGpu),
        ..GpuOptions::from_env().unwrap()
    };
    let as_gpu = Gpu::with_options(&options).unwrap();
    // D's second conv's weight gradient at batch 16: C (128, 1024) over K = 16·7·7.
    let plan = as_gpu.gemm_plan(128, 1024, 16 * 49);
    assert!(
        matches!(plan.core, GemmCore::Tiled { .. }) && plan.splits > 1,
        "{plan}"
    );
    let data = Mnist::load(&mnist_dir()).unwrap();
    let shape = [1, 28, 28];
    let own_images =
        GpuImages::upload(&as_gpu, &data.train.images, data.train.count, &shape).unwrap();
    let small = model(|_| {});
    let mut gan = new_gan(&as_gpu, &small);
    let mut schedule = new_schedule(&as_gpu, &small, &own_images);
    let gpu_plans = train_on(&as_gpu, &own_images, &mut gan, &mut schedule, 0..3);
    let own_plans = train(
        &mut new_gan(gpu(), &small),
        &mut new_schedule(gpu(), &small, images()),
        0,
        3,
    );
    for (step, (a, b)) in gpu_plans.iter().zip(&own_plans).enumerate() {
        // Another order of f32 sums moved the losses by under 1e-6 relative over these
        // three steps on lavapipe; 1e-4 leaves room for that to grow through Adam, while
        // a wrong GEMM moves them by far more.
        let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * y.abs().max(1.0);
        assert!(
            close(a.0, b.0) && close(a.1, b.1),
            "step {step}: {a:?} vs {b:?}"
        );
    }
}

#[test]
fn least_squares_training_steps_give_finite_losses() {
    let small = model(|_| {});
    let mut gan = new_gan_with(gpu(), &small, Loss::Lsgan);
    let mut schedule = new_schedule(gpu(), &small, images());
    let losses = train(&mut gan, &mut schedule, 0, 10);
    // Mean squared errors: positive, and small while D's outputs stay near its targets.
    assert!(
        losses.iter().all(|(d, g)| d.is_finite()
            && g.is_finite()
            && *d > 0.0
            && *g > 0.0
            && *d < 10.0),
        "{losses:?}"
    );
    // Not the BCE step: BCE at chance is ln 2 per term, an MSE is not.
    let bce = train(
        &mut new_gan(gpu(), &small),
        &mut new_schedule(gpu(), &small, images()),
        0,
        1,
    );
    assert_ne!(bce[0], losses[0]);
}

#[test]
fn resuming_from_a_checkpoint_repeats_the_uninterrupted_run_bit_for_bit() {
    let keras = model(|m| m.arch = Arch::Keras);
    let mut straight = new_gan(gpu(), &keras);
    let mut schedule = new_schedule(gpu(), &keras, images());
    let uninterrupted = train(&mut straight, &mut schedule, 0, 4);

    let mut first = new_gan(gpu(), &keras);
    let mut schedule = new_schedule(gpu(), &keras, images());
    let before = train(&mut first, &mut schedule, 0, 2);
    let path = scratch("resume").join("checkpoint.safetensors");
    first.save(&path, Default::default()).unwrap();
    drop(first);
    let mut resumed = new_gan(gpu(), &keras);
    resumed.load(&path).unwrap();
    let mut schedule = new_schedule(gpu(), &keras, images());
    let after = train(&mut resumed, &mut schedule, 2, 4);
    assert_eq!([before, after].concat(), uninterrupted);
}

/// A checkpoint records the plan of every GEMM its run used, and loading it makes them
/// the plans of the context it resumes in, so the resumed run sums in the same order:
/// a run on forced 64×64 tiles with K split in two resumes in a tuning context
/// without a plan cache, tunes nothing, and repeats the uninterrupted run bit for
/// bit. Without the checkpoint's plans, that context's own (heuristic or tuned) plans
/// would run; the heuristic ones are shown to give other bits, so the test can fail.
#[test]
fn resuming_takes_the_checkpoints_gemm_plans_and_stays_bit_exact() {
    let data = Mnist::load(&mnist_dir()).unwrap();
    let count = 256;
    let small = model(|_| {});
    let context = |policy| {
        let gpu = gpu().with_gemm(policy).unwrap();
        let pixels = &data.train.images[..count * 28 * 28];
        let images = GpuImages::upload(&gpu, pixels, count, &[1, 28, 28]).unwrap();
        (gpu, images)
    };
    let run = |(gpu, images): &(Gpu, GpuImages), gan: &mut Gan, steps| {
        let mut schedule = new_schedule(gpu, &small, images);
        train_on(gpu, images, gan, &mut schedule, steps)
    };
    let split = duel::gpu::GemmPlan::new(duel::gpu::TILED_64, 2);
    let forced = context(GemmPolicy::Plan(split));
    let uninterrupted = run(&forced, &mut new_gan(&forced.0, &small), 0..4);

    let mut first = new_gan(&forced.0, &small);
    let before = run(&forced, &mut first, 0..2);
    let path = scratch("resume_plans").join("checkpoint.safetensors");
    first.save(&path, Default::default()).unwrap();
    let tuning = context(GemmPolicy::Tuned);
    let mut resumed = new_gan(&tuning.0, &small);
    resumed.load(&path).unwrap();
    let after = run(&tuning, &mut resumed, 2..4);
    assert_eq!([before, after].concat(), uninterrupted);
    assert_eq!(
        tuning.0.tuning_stats().0,
        0,
        "a GEMM was tuned, not resumed"
    );
    assert_eq!(tuning.0.gemm_plans(), forced.0.gemm_plans());

    let auto = context(GemmPolicy::Auto);
    let own = run(&auto, &mut new_gan(&auto.0, &small), 0..4);
    assert_ne!(
        own, uninterrupted,
        "the plans sum alike: this test can't tell"
    );
}

#[test]
fn a_checkpoint_from_another_model_is_an_error_naming_the_tensor() {
    let path = scratch("other_model").join("checkpoint.safetensors");
    new_gan(gpu(), &model(|_| {}))
        .save(&path, Default::default())
        .unwrap();
    let mut wider = new_gan(gpu(), &model(|m| m.ngf = 8));
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
    let mut keras = new_gan(gpu(), &model(|m| m.arch = Arch::Keras));
    assert!(matches!(keras.load(&path), Err(Error::Data(_))));
}

#[test]
fn training_steps_allocate_nothing_after_the_first_two() {
    // A GPU of its own, so no other test's work moves the counter.
    let own = duel::Gpu::new().unwrap();
    let data = Mnist::load(&mnist_dir()).unwrap();
    let images =
        GpuImages::upload(&own, &data.train.images, data.train.count, &[1, 28, 28]).unwrap();
    let small = model(|_| {});
    let mut gan = new_gan(&own, &small);
    let mut schedule = new_schedule(&own, &small, &images);
    let mut step = |k: usize| {
        let (real, z, seed) = schedule.inputs(&images, k).unwrap();
        let stats = gan.step(&own, &real, None, z, seed, true).unwrap();
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

/// With `ema` 0.9 the averaged generator starts as G and, after a G step, holds
/// 0.9·before + 0.1·after of each weight; grids draw from it, not from G. Tolerance:
/// the update rounds three times on weights below 1: 1e-6 absolute.
#[test]
fn the_ema_generator_averages_the_weights_and_draws_the_samples() {
    let small = model(|m| {
        m.ngf = 8;
        m.ndf = 8;
    });
    let recipe = Recipe {
        ema: 0.9,
        ..Recipe::default()
    };
    let mut gan = Gan::new(gpu(), &small, &recipe, BATCH).unwrap();
    let weights = |s: &duel::nn::Sequential| -> Vec<Vec<f32>> {
        s.params()
            .iter()
            .map(|p| p.value.to_vec().unwrap())
            .collect()
    };
    let before = weights(&gan.g);
    assert_eq!(weights(gan.sampler()), before);
    let mut schedule = new_schedule(gpu(), &small, images());
    train(&mut gan, &mut schedule, 0, 1);
    let after = weights(&gan.g);
    assert_ne!(after, before);
    for ((b, a), e) in before.iter().zip(&after).zip(weights(gan.sampler())) {
        for ((b, a), e) in b.iter().zip(a).zip(e) {
            let want = 0.9 * f64::from(*b) + 0.1 * f64::from(*a);
            assert!((f64::from(e) - want).abs() < 1e-6, "{e} vs {want}");
        }
    }
    // Samples come from the average: G's own differ after the step.
    let z = duel::ops::full(gpu(), &[4, small.nz], 0.5).unwrap();
    let drawn = gan.generate(gpu(), &z, &[]).unwrap().to_vec().unwrap();
    let mut plain = Gan::new(gpu(), &small, &Recipe::default(), BATCH).unwrap();
    let mut schedule = new_schedule(gpu(), &small, images());
    train(&mut plain, &mut schedule, 0, 1);
    assert_ne!(
        drawn,
        plain.generate(gpu(), &z, &[]).unwrap().to_vec().unwrap()
    );
}
