//! Scoring a set of images with the classifier: the Fréchet and kernel (KID)
//! distances of its features to the real test images', its mean confidence, and how
//! evenly it spreads them over the ten classes.

use super::classifier::{CLASSES, Classifier, FEATURES};
use super::frechet::{Gaussian, frechet_distance};
use super::kid::KidReference;
use crate::data::GpuImages;
#[cfg(feature = "native")]
use crate::{Gpu, data::Split};
use crate::{Result, Tensor, ops};

/// Images per classifier pass: large enough to keep the device busy, small enough that
/// the activations of one pass stay well under a CPU device's memory.
pub const SCORE_BATCH: usize = 500;

/// Training images behind the floor, as many as MNIST's test set has (or all of a
/// smaller training set).
#[cfg(feature = "native")]
const FLOOR_COUNT: usize = 10_000;

/// Real images KID compares samples with, spread evenly over the reference set: its
/// cost grows with samples × this, and 2,000 keep it near a second.
const KID_REFERENCE: usize = 2_000;

/// A classifier confident above this counts a sample as a clear digit.
pub const CONFIDENT: f32 = 0.9;

/// What the classifier says of each image, read back to the host.
#[derive(Debug, Clone, Default)]
pub struct Readouts {
    /// (count, FEATURES), row-major.
    pub features: Vec<f32>,
    /// Predicted class of each image.
    pub predicted: Vec<u8>,
    /// Its max softmax probability.
    pub confidence: Vec<f32>,
}

impl Readouts {
    pub fn count(&self) -> usize {
        self.predicted.len()
    }

    /// Runs the classifier on `images` (N, C, H, W) in [-1, 1] and appends its readouts.
    pub async fn add_async(&mut self, classifier: &Classifier, images: &Tensor) -> Result<()> {
        let images = classifier.input(images)?;
        let (features, logits) = classifier.infer(&images)?;
        self.features.extend(features.to_vec_async().await?);
        let predicted = ops::argmax(&logits)?.to_vec_async().await?;
        self.predicted.extend(predicted.iter().map(|&c| c as u8));
        let confidence = ops::max_softmax(&logits)?.to_vec_async().await?;
        self.confidence.extend(confidence);
        Ok(())
    }

    /// `add_async`, waited for.
    #[cfg(feature = "native")]
    pub fn add(&mut self, classifier: &Classifier, images: &Tensor) -> Result<()> {
        pollster::block_on(self.add_async(classifier, images))
    }

    /// Readouts of `count` images drawn `per_batch` at a time: `batch(start, n)`
    /// returns images `start .. start + n` as (n, C, H, W) in [-1, 1].
    pub async fn collect(
        classifier: &Classifier,
        count: usize,
        per_batch: usize,
        mut batch: impl FnMut(usize, usize) -> Result<Tensor>,
    ) -> Result<Readouts> {
        let mut readouts = Readouts::default();
        for start in (0..count).step_by(per_batch.max(1)) {
            crate::interrupt::check("scoring images")?;
            let n = per_batch.max(1).min(count - start);
            readouts.add_async(classifier, &batch(start, n)?).await?;
        }
        Ok(readouts)
    }

    /// Readouts of every item of a GPU image set, in its stored order.
    pub async fn of_set(classifier: &Classifier, set: &GpuImages) -> Result<Readouts> {
        let order = set.order(&(0..set.len() as u32).collect::<Vec<_>>())?;
        Readouts::collect(classifier, set.len(), SCORE_BATCH, |start, n| {
            set.batch(&order, start, n)
        })
        .await
    }

    pub fn gaussian(&self) -> Result<Gaussian> {
        Gaussian::fit(&self.features, FEATURES)
    }
}

/// A set's score. Lower FD is better; the floor is the FD of real training images.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub count: usize,
    /// Fréchet distance to the real test images in the classifier's feature space.
    pub fd: f64,
    /// Kernel Inception Distance (unbiased) to them in the same features.
    pub kid: f64,
    /// Mean max-softmax probability.
    pub confidence: f64,
    /// Fraction of samples with confidence above `CONFIDENT`.
    pub confident_fraction: f64,
    /// Samples predicted as each digit.
    pub histogram: [usize; CLASSES],
    /// Entropy of the predicted-class distribution, in nats: ln 10 ≈ 2.303 when all
    /// ten classes are equally common, 0 when only one appears.
    pub entropy: f64,
    /// For samples drawn to order (a conditional GAN's): the share the classifier
    /// assigns to the class asked for.
    pub label_accuracy: Option<f64>,
}

impl Score {
    pub fn new(readouts: &Readouts, reference: &Gaussian, kid: &KidReference) -> Result<Score> {
        let count = readouts.count();
        let fd = frechet_distance(&readouts.gaussian()?, reference);
        let kid = kid.kid(&readouts.features)?;
        let mut histogram = [0; CLASSES];
        for &c in &readouts.predicted {
            histogram[usize::from(c).min(CLASSES - 1)] += 1;
        }
        let entropy = histogram
            .iter()
            .filter(|&&k| k > 0)
            .map(|&k| {
                // p·ln(1/p) rather than -p·ln p, so one class gives +0, not -0.
                let p = k as f64 / count as f64;
                p * (1.0 / p).ln()
            })
            .sum();
        let confidence = readouts
            .confidence
            .iter()
            .map(|&c| f64::from(c))
            .sum::<f64>();
        let confident = readouts
            .confidence
            .iter()
            .filter(|&&c| c > CONFIDENT)
            .count();
        Ok(Score {
            count,
            fd,
            kid,
            confidence: confidence / count as f64,
            confident_fraction: confident as f64 / count as f64,
            histogram,
            entropy,
            label_accuracy: None,
        })
    }

    /// This score with the label accuracy of `readouts` against `asked`, the class
    /// each sample was drawn for.
    pub fn with_labels(mut self, readouts: &Readouts, asked: &[u8]) -> Score {
        let hits = readouts
            .predicted
            .iter()
            .zip(asked)
            .filter(|(p, a)| p == a)
            .count();
        self.label_accuracy = Some(hits as f64 / asked.len().max(1) as f64);
        self
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FD {:.3}, KID {:.4}, confidence {:.3} ({:.1}% above {CONFIDENT}), class \
             entropy {:.3} of ln 10 = 2.303, classes {:?}",
            self.fd,
            self.kid,
            self.confidence,
            100.0 * self.confident_fraction,
            self.entropy,
            self.histogram
        )?;
        match self.label_accuracy {
            Some(a) => write!(f, ", label accuracy {:.1}%", 100.0 * a),
            None => Ok(()),
        }
    }
}

/// Scores image sets against the real test images, whose statistics it computes once.
pub struct Scorer {
    pub classifier: Classifier,
    /// The test images' feature Gaussian.
    pub reference: Gaussian,
    /// Their features for KID.
    pub kid_reference: KidReference,
}

impl Scorer {
    pub async fn new_async(classifier: Classifier, test_images: &GpuImages) -> Result<Scorer> {
        let readouts = Readouts::of_set(&classifier, test_images).await?;
        let reference = readouts.gaussian()?;
        // Rows spread over the whole set, which may be stored class by class.
        let n = readouts.count();
        let stride = n.div_ceil(KID_REFERENCE).max(1);
        let spread: Vec<f32> = readouts
            .features
            .chunks(FEATURES)
            .step_by(stride)
            .flatten()
            .copied()
            .collect();
        Ok(Scorer {
            classifier,
            reference,
            kid_reference: KidReference::new(spread, FEATURES)?,
        })
    }

    /// The score of images the classifier has read.
    pub fn score_readouts(&self, readouts: &Readouts) -> Result<Score> {
        Score::new(readouts, &self.reference, &self.kid_reference)
    }
}

/// The blocking forms of the scorer.
#[cfg(feature = "native")]
impl Scorer {
    pub fn new(classifier: Classifier, test_images: &GpuImages) -> Result<Scorer> {
        pollster::block_on(Scorer::new_async(classifier, test_images))
    }

    /// A scorer against the test images, and the floor: the score of the first 10,000
    /// training images (or all, if fewer), what a perfect generator would get. A set
    /// with no test split (an image folder) is scored against its even-numbered
    /// images, and the floor is the score of its odd-numbered ones, up to 10,000 each.
    /// `shape` is the images' (C, H, W).
    pub fn with_floor(
        gpu: &Gpu,
        classifier: Classifier,
        shape: &[usize],
        train: &Split,
        test: &Split,
    ) -> Result<(Scorer, Score)> {
        let pixels: usize = shape.iter().product();
        let upload = |images: Vec<&[u8]>| {
            let count = images.len();
            GpuImages::upload(gpu, &images.concat(), count, shape)
        };
        fn images(split: &Split, pixels: usize) -> impl Iterator<Item = &[u8]> {
            split.images.chunks(pixels).take(split.count)
        }
        let (reference, real) = if test.count > 0 {
            (
                upload(images(test, pixels).collect())?,
                upload(images(train, pixels).take(FLOOR_COUNT).collect())?,
            )
        } else {
            (
                upload(images(train, pixels).step_by(2).take(FLOOR_COUNT).collect())?,
                upload(
                    images(train, pixels)
                        .skip(1)
                        .step_by(2)
                        .take(FLOOR_COUNT)
                        .collect(),
                )?,
            )
        };
        let scorer = Scorer::new(classifier, &reference)?;
        let floor = scorer.score_set(&real)?;
        Ok((scorer, floor))
    }

    /// Scores images drawn SCORE_BATCH at a time: `batch(start, n)` returns images
    /// `start .. start + n` as (n, C, H, W) in [-1, 1].
    pub fn score(
        &self,
        count: usize,
        batch: impl FnMut(usize, usize) -> Result<Tensor>,
    ) -> Result<Score> {
        let readouts = pollster::block_on(Readouts::collect(
            &self.classifier,
            count,
            SCORE_BATCH,
            batch,
        ))?;
        self.score_readouts(&readouts)
    }

    pub fn score_set(&self, set: &GpuImages) -> Result<Score> {
        let readouts = pollster::block_on(Readouts::of_set(&self.classifier, set))?;
        self.score_readouts(&readouts)
    }

    /// `score_set` with the label accuracy against `asked`, the class each image was
    /// drawn for.
    pub fn score_labelled(&self, set: &GpuImages, asked: &[u8]) -> Result<Score> {
        let readouts = pollster::block_on(Readouts::of_set(&self.classifier, set))?;
        Ok(self
            .score_readouts(&readouts)?
            .with_labels(&readouts, asked))
    }
}
