//! The Fréchet distance and its matrix square root on the CPU, and the classifier
//! metric on real MNIST and the CIFAR-10 subset with the shipped classifier weights.

use crate::common::{cifar10_dir, gpu, mnist_dir};
use duel::data::{Cifar10, GpuImages, ImageSet, Mnist, cifar10};
use duel::metrics::{
    Classifier, Gaussian, Readouts, Scorer, default_classifier_path, frechet_distance, sqrtm_psd,
    test_accuracy,
};
use duel::{Error, Tensor, ops};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng, rngs::StdRng};

/// `count` rows of `dim` correlated features: x = A·u + b, u uniform.
fn features(seed: u64, count: usize, dim: usize, shift: f32) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mix: Vec<f32> = (0..dim * dim)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut out = Vec::with_capacity(count * dim);
    for _ in 0..count {
        let u: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        for i in 0..dim {
            out.push(shift + (0..dim).map(|j| mix[i * dim + j] * u[j]).sum::<f32>());
        }
    }
    out
}

#[test]
fn fd_of_a_set_with_itself_is_zero() {
    let a = Gaussian::fit(&features(1, 3000, 24, 0.5), 24).unwrap();
    let fd = frechet_distance(&a, &a);
    // tr Σ is about 24·24/3 = 192; the eigensolver's error is ~1e-12 of that.
    assert!(fd.abs() < 1e-8, "FD(a, a) = {fd}");
}

#[test]
fn fd_is_symmetric_and_grows_with_the_shift() {
    let a = Gaussian::fit(&features(2, 3000, 24, 0.0), 24).unwrap();
    let b = Gaussian::fit(&features(3, 3000, 24, 0.0), 24).unwrap();
    let c = Gaussian::fit(&features(3, 3000, 24, 2.0), 24).unwrap();
    let (ab, ba) = (frechet_distance(&a, &b), frechet_distance(&b, &a));
    assert!(ab > 1.0, "different mixes give a clear distance, got {ab}");
    assert!(
        (ab - ba).abs() < 1e-9 * ab,
        "FD(a, b) = {ab}, FD(b, a) = {ba}"
    );
    // c is b moved by 2 in each of 24 dimensions: FD(b, c) = 24·4 exactly.
    let bc = frechet_distance(&b, &c);
    assert!(
        (bc - 96.0).abs() < 1e-6,
        "FD of a pure shift is ‖Δμ‖² = 96, got {bc}"
    );
}

#[test]
fn fd_of_diagonal_gaussians_has_its_closed_form() {
    // For diagonal covariances, FD = Σ (μa − μb)² + Σ (σa − σb)².
    let dim = 5;
    let diag = |mean: &[f64], var: &[f64]| Gaussian {
        mean: nalgebra::DVector::from_row_slice(mean),
        cov: DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(var)),
        count: 100,
    };
    let a = diag(&[0.0, 1.0, 2.0, 3.0, 4.0], &[1.0, 4.0, 9.0, 0.25, 2.0]);
    let b = diag(&[1.0, 1.0, 0.0, 3.0, 4.5], &[4.0, 1.0, 9.0, 1.0, 0.5]);
    let want: f64 = (0..dim)
        .map(|i| {
            let dm = a.mean[i] - b.mean[i];
            let ds = a.cov[(i, i)].sqrt() - b.cov[(i, i)].sqrt();
            dm * dm + ds * ds
        })
        .sum();
    let got = frechet_distance(&a, &b);
    assert!(
        (got - want).abs() < 1e-12 * want,
        "FD {got}, closed form {want}"
    );
}

/// The square root by Denman–Beavers iteration, an independent CPU check:
/// Y ← (Y + Z⁻¹)/2, Z ← (Z + Y⁻¹)/2 converges to (A^½, A^-½) for SPD A.
fn sqrtm_denman_beavers(a: &DMatrix<f64>) -> DMatrix<f64> {
    let (mut y, mut z) = (a.clone(), DMatrix::identity(a.nrows(), a.ncols()));
    for _ in 0..60 {
        let y_inv = y.clone().try_inverse().unwrap();
        let z_inv = z.clone().try_inverse().unwrap();
        y = (&y + z_inv) * 0.5;
        z = (&z + y_inv) * 0.5;
    }
    y
}

#[test]
fn matrix_square_root_matches_its_cpu_check() {
    let n = 32;
    let mut rng = StdRng::seed_from_u64(7);
    let b = DMatrix::from_fn(n, n, |_, _| rng.random_range(-1.0..1.0));
    // BᵀB + I is SPD with condition number in the hundreds, like a feature covariance.
    let a = b.transpose() * &b + DMatrix::identity(n, n);
    let root = sqrtm_psd(&a);
    let scale = a.norm();
    assert!((&root * &root - &a).norm() < 1e-10 * scale, "S·S != A");
    assert!(
        (&root - root.transpose()).norm() < 1e-12 * scale,
        "S is symmetric"
    );
    let check = sqrtm_denman_beavers(&a);
    assert!(
        (&root - &check).norm() < 1e-9 * check.norm(),
        "eigendecomposition and Denman–Beavers differ by {}",
        (&root - &check).norm()
    );
}

#[test]
fn fitting_rejects_ragged_or_non_finite_features() {
    assert!(matches!(Gaussian::fit(&[1.0; 10], 3), Err(Error::Shape(_))));
    assert!(matches!(Gaussian::fit(&[1.0; 3], 3), Err(Error::Shape(m)) if m.contains("2 samples")));
    let mut nan = vec![0.0; 6];
    nan[4] = f32::NAN;
    assert!(matches!(Gaussian::fit(&nan, 3), Err(Error::Numeric(_))));
}

#[test]
fn a_missing_classifier_says_how_to_train_one() {
    let err = Classifier::load(
        gpu(),
        ImageSet::Mnist,
        std::path::Path::new("/nonexistent/c.safetensors"),
    )
    .err()
    .expect("no file");
    let text = err.to_string();
    assert!(text.contains("--example mnist_classifier"), "{text}");
}

// One test for everything that needs the shipped classifier: the models hold `Rc`s,
// so they can't be shared between test threads, and building the test set's
// statistics once saves a pass over 10,000 digits.
#[test]
fn the_metric_scores_real_digits_near_the_floor_and_noise_far_from_it() {
    let (classifier, info) = Classifier::load(
        gpu(),
        ImageSet::Mnist,
        &default_classifier_path(ImageSet::Mnist),
    )
    .unwrap();
    let accuracy: f64 = info["test_accuracy"].parse().unwrap();
    assert!(
        accuracy >= 0.99,
        "the shipped classifier reports {accuracy}"
    );
    let data = Mnist::load(&mnist_dir()).unwrap();
    let shape = ImageSet::Mnist.image_shape();
    let (scorer, floor) =
        Scorer::with_floor(gpu(), classifier, &shape, &data.train, &data.test).unwrap();
    let test = GpuImages::upload(gpu(), &data.test.images, 10_000, &[1, 28, 28]).unwrap();

    let real = scorer.score_set(&test).unwrap();
    assert!(real.fd < 1e-6, "the test set against itself: {real}");
    // A classifier over 99% accurate is confident on real digits, and the test set's
    // ten classes are nearly balanced (entropy 2.301).
    assert!(
        real.confidence > 0.97 && real.confident_fraction > 0.95,
        "{real}"
    );
    assert!(real.entropy > 2.29, "{real}");

    // The floor: 10,000 real training digits against the test set.
    assert_eq!(floor.count, 10_000);
    assert!(floor.fd > 0.0 && floor.entropy > 2.29, "{floor}");

    let noise = scorer
        .score(10_000, |start, n| {
            let t = Tensor::uninit(gpu(), &[n, 1, 28, 28])?;
            ops::fill_uniform(&t, -1.0, 1.0, 99, start as u64 * 784)?;
            Ok(t)
        })
        .unwrap();
    assert!(noise.fd > 100.0 * floor.fd, "noise {noise}, floor {floor}");
    assert!(
        noise.confidence < real.confidence - 0.2,
        "noise {noise}, real {real}"
    );

    // Inference-mode batch norm makes each image's features its own: the same images
    // in one batch or in two give the same readouts.
    let order = test.order(&(0..700).collect::<Vec<_>>()).unwrap();
    let mut whole = Readouts::default();
    whole
        .add(&scorer.classifier, &test.batch(&order, 0, 700).unwrap())
        .unwrap();
    let mut halves = Readouts::default();
    for (start, n) in [(0, 333), (333, 367)] {
        halves
            .add(&scorer.classifier, &test.batch(&order, start, n).unwrap())
            .unwrap();
    }
    assert_eq!(whole.predicted, halves.predicted);
    for (a, b) in whole.features.iter().zip(&halves.features) {
        // GEMM tiles may split the batch differently, so allow f32 rounding of the
        // 1568-term dot products.
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }
    assert_eq!(scorer.score_readouts(&whole).unwrap().count, 700);
}

/// The shipped CIFAR-10 classifier: it loads, it scores the subset's test photos as
/// accurately as its metadata says, and its metric puts real photos near the floor and
/// noise far from it.
#[test]
fn the_cifar10_metric_knows_photos_from_noise() {
    let set = ImageSet::Cifar10;
    let (classifier, info) = Classifier::load(gpu(), set, &default_classifier_path(set)).unwrap();
    let claimed: f64 = info["test_accuracy"].parse().unwrap();
    let data = Cifar10::load(&cifar10::find(Some(&cifar10_dir())).unwrap()).unwrap();
    let shape = set.image_shape();
    let test = GpuImages::upload(gpu(), &data.test.images, 1000, &shape).unwrap();
    let labels = GpuImages::upload_labels(gpu(), &data.test.labels).unwrap();
    let accuracy = test_accuracy(&classifier, &test, &labels).unwrap();
    // Trained on the subset's 4,000 photos (and their mirrors): far above chance (10%).
    // The metadata rounds to 4 places; GEMM orders differ between devices by f32
    // rounding, which can flip a borderline photo or two.
    assert!(accuracy >= 0.5, "accuracy {accuracy}");
    assert!(
        (accuracy - claimed).abs() <= 0.003,
        "{accuracy} vs {claimed}"
    );

    let shape = set.image_shape();
    let (scorer, floor) =
        Scorer::with_floor(gpu(), classifier, &shape, &data.train, &data.test).unwrap();
    assert_eq!(floor.count, 4000);
    let real = scorer.score_set(&test).unwrap();
    assert!(real.fd < 1e-6, "the test set against itself: {real}");
    let noise = scorer
        .score(1000, |start, n| {
            let t = Tensor::uninit(gpu(), &[n, 3, 32, 32])?;
            ops::fill_uniform(&t, -1.0, 1.0, 7, start as u64 * 3072)?;
            Ok(t)
        })
        .unwrap();
    assert!(noise.fd > 10.0 * floor.fd, "noise {noise}, floor {floor}");
    // KID is unbiased, so real photos against real photos come out near zero (of
    // either sign), and noise far above.
    assert!(
        noise.kid > 10.0 * floor.kid.abs(),
        "noise {noise}, floor {floor}"
    );
}

/// An image folder's proxy metric: the CIFAR-10 classifier takes 64×64 images through
/// a 2×2 box filter, so photos upscaled 2× (nearest) read exactly as the photos; grey
/// images become three equal channels; other sides are refused with what it takes.
#[test]
fn the_folder_proxy_reads_upscaled_photos_as_the_photos() {
    let folder = ImageSet::Folder {
        side: 64,
        channels: 3,
        classes: 1,
    };
    let (classifier, _) =
        Classifier::load(gpu(), folder, &default_classifier_path(folder)).unwrap();
    let data = Cifar10::load(&cifar10::find(Some(&cifar10_dir())).unwrap()).unwrap();
    let n = 50;
    let photos = Tensor::from_slice(
        gpu(),
        &[n, 3, 32, 32],
        &data.test.images[..n * 3072]
            .iter()
            .map(|&b| f32::from(b) / 127.5 - 1.0)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let up = ops::upsample(&photos, (2, 2)).unwrap();
    // Four equal values times 1/4, summed: exact in f32 (a GPU's fused multiply-adds
    // round the same, as every partial sum is a multiple of v/4).
    assert_eq!(
        classifier.input(&up).unwrap().to_vec().unwrap(),
        photos.to_vec().unwrap()
    );
    let grey = Tensor::from_slice(gpu(), &[1, 1, 64, 64], &vec![0.5; 4096]).unwrap();
    let rgb = classifier.input(&grey).unwrap();
    assert_eq!(rgb.shape(), [1, 3, 32, 32]);
    assert!(
        rgb.to_vec()
            .unwrap()
            .iter()
            .all(|&v| (v - 0.5).abs() < 1e-6)
    );
    let odd = Tensor::uninit(gpu(), &[1, 3, 48, 48]).unwrap();
    let Err(err) = classifier.input(&odd) else {
        panic!("48 is no multiple of 32")
    };
    assert!(err.to_string().contains("multiple of 32"), "{err}");
}
