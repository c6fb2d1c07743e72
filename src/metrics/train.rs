//! Training a set's classifier: the examples `mnist_classifier` and `cifar10_classifier`
//! call this.
//!
//! Besides the real images, one image in eleven of its training set is noise with a
//! uniform target over the ten classes, so the classifier learns to be unsure of what
//! is not an image of its set: a metric whose classifier is confident on noise would
//! call noise a digit.

use super::classifier::{CLASSES, Classifier};
use crate::autograd::Graph;
use crate::data::{GpuImages, Split};
use crate::optim::Adam;
use crate::{AdamConfig, Error, Gpu, Result, ops};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::SliceRandom};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ClassifierTraining {
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam's learning rate in the first epoch; it halves every epoch after, or every
    /// `lr_halving` epochs.
    pub lr: f32,
    pub lr_halving: usize,
    /// Adds a left-right mirror image of every training image (right for photos, wrong
    /// for digits).
    pub mirror: bool,
    pub seed: u64,
    /// Read the loss back every this many steps, for the progress bar.
    pub log_every: usize,
}

/// Trains a classifier for `classifier.set` on `train`; returns its accuracy on `test`
/// after the last epoch.
pub fn train_classifier(
    gpu: &Gpu,
    classifier: &Classifier,
    train: &Split,
    test: &Split,
    config: &ClassifierTraining,
) -> Result<f64> {
    if config.batch_size == 0 || config.log_every == 0 || config.lr_halving == 0 {
        return Err(Error::Usage(
            "--batch-size, --log-every and --lr-halving must be at least 1".into(),
        ));
    }
    let shape = classifier.set.image_shape();
    let train = if config.mirror {
        with_mirrors(train, shape[2])
    } else {
        train.clone()
    };
    let (images, targets) = with_noise(&train, shape, config.seed);
    let count = targets.len() / CLASSES;
    let train_images = GpuImages::upload(gpu, &images, count, &shape)?;
    // Target bytes are tenths: 10 for the labelled class, 1 everywhere for noise.
    let train_targets = GpuImages::upload_scaled(gpu, &targets, count, &[CLASSES], 0.1, 0.0)?;
    let test_images = GpuImages::upload(gpu, &test.images, test.count, &shape)?;
    let test_labels = GpuImages::upload_labels(gpu, &test.labels)?;

    let mut adam = Adam::new(
        classifier.params(),
        AdamConfig {
            lr: config.lr,
            ..AdamConfig::default()
        },
    )?;
    let steps_per_epoch = count / config.batch_size;
    let bar = crate::io::progress_bar((steps_per_epoch * config.epochs) as u64, "steps");
    let started = Instant::now();
    let mut accuracy = 0.0;
    for epoch in 0..config.epochs {
        adam.config.lr = config.lr * 0.5f32.powi((epoch / config.lr_halving) as i32);
        let mut perm: Vec<u32> = (0..count as u32).collect();
        perm.shuffle(&mut StdRng::seed_from_u64(
            config.seed ^ (epoch as u64) << 32,
        ));
        let order = train_images.order(&perm)?;
        for step in 0..steps_per_epoch {
            crate::interrupt::check("training the classifier; nothing was saved")?;
            let start = step * config.batch_size;
            let images = train_images.batch(&order, start, config.batch_size)?;
            let targets = train_targets.batch(&order, start, config.batch_size)?;
            let global_step = epoch * steps_per_epoch + step;
            let mut graph = Graph::new(gpu, true, config.seed.wrapping_add(global_step as u64));
            adam.zero_grad()?;
            let x = graph.input(images);
            let (_, logits) = classifier.forward(&mut graph, x)?;
            let loss = graph.softmax_cross_entropy_soft(logits, &targets)?;
            graph.backward(loss)?;
            adam.step()?;
            if step % config.log_every == 0 {
                let loss = graph.value(loss).to_vec()?[0];
                if !loss.is_finite() {
                    return Err(Error::Numeric(format!(
                        "the loss became {loss} at step {global_step}; try a lower --lr"
                    )));
                }
                bar.set_message(format!("epoch {} loss {loss:.4}", epoch + 1));
            }
            bar.inc(1);
        }
        accuracy = test_accuracy(classifier, &test_images, &test_labels)?;
        bar.suspend(|| {
            eprintln!(
                "epoch {}: test accuracy {:.2}% after {:.0} s",
                epoch + 1,
                100.0 * accuracy,
                started.elapsed().as_secs_f64()
            )
        });
    }
    bar.finish();
    Ok(accuracy)
}

/// The images (N, C, H, `width`) followed by their left-right mirrors, with the same
/// labels.
fn with_mirrors(split: &Split, width: usize) -> Split {
    let mut mirrored = split.clone();
    for row in mirrored.images.chunks_exact_mut(width) {
        row.reverse();
    }
    let mut all = split.clone();
    all.append(mirrored);
    all
}

/// The training images followed by one noise image for every ten, and their targets
/// as bytes, CLASSES per image. Half the noise is uniform bytes; half is sparse speckle
/// on black, closer to a failed generator's output.
fn with_noise(split: &Split, shape: [usize; 3], seed: u64) -> (Vec<u8>, Vec<u8>) {
    let pixels: usize = shape.iter().product();
    let noise_count = split.count / 10;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x006e_6f69_7365);
    let mut all_images = split.images.clone();
    for i in 0..noise_count {
        let density: f64 = rng.random_range(0.05..0.5);
        all_images.extend((0..pixels).map(|_| {
            if i % 2 == 0 {
                rng.random::<u8>()
            } else if rng.random_bool(density) {
                rng.random_range(128..=255)
            } else {
                0
            }
        }));
    }
    let mut targets = Vec::with_capacity((split.count + noise_count) * CLASSES);
    for &label in &split.labels {
        targets.extend((0..CLASSES as u8).map(|c| if c == label { 10 } else { 0 }));
    }
    targets.resize(targets.len() + noise_count * CLASSES, 1);
    (all_images, targets)
}

/// Accuracy on the test images, with batch norm in inference mode.
pub fn test_accuracy(model: &Classifier, images: &GpuImages, labels: &GpuImages) -> Result<f64> {
    let order = images.order(&(0..images.len() as u32).collect::<Vec<_>>())?;
    let batch = 1000;
    let mut correct = 0.0;
    for start in (0..images.len()).step_by(batch) {
        let n = batch.min(images.len() - start);
        let (_, logits) = model.infer(&images.batch(&order, start, n)?)?;
        let accuracy = ops::accuracy(&logits, &labels.batch(&order, start, n)?)?;
        correct += f64::from(accuracy.to_vec()?[0]) * n as f64;
    }
    Ok(correct / images.len() as f64)
}
