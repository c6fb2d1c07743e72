//! The browser page end to end, in headless Chromium on its WebGPU adapter
//! (SwiftShader without a GPU), driven through chromedriver: the page served by
//! scripts/serve.py (as scripts/web.sh serves it) trains mnist_dcgan's default recipe
//! from a fixed seed, and its losses follow the same run natively on this machine's
//! adapter; its grid is not blank; and checkpoints cross both ways, native → page →
//! native and page → native.
//!
//! Needs the wasm package and the data beside the page (`bash scripts/web.sh
//! --build-only`, which scripts/test.sh runs first), Python 3, Chromium and
//! chromedriver (scripts/install-web-deps.sh).

mod driver;

use driver::{Browser, Server};
use duel::Gpu;
use duel::data::{ImageSet, Mnist};
use duel::gan::{Dataset, MNIST_DCGAN, Trainer};
use std::path::{Path, PathBuf};

/// Steps the page trains from scratch, and then from the native checkpoint.
const STEPS: usize = 20;
const MORE_STEPS: usize = 3;
/// Samples (and test images) the page's FD is scored on: few, for SwiftShader's speed.
const FD_SAMPLES: usize = 200;

/// How far a step's losses in the page may be from the native ones when both start the
/// step from the same weights: |Δ| ≤ SAME_WEIGHTS·(1 + |native|).
///
/// The page's GEMMs run the portable core on SwiftShader, lavapipe's the 8-lane
/// subgroup core: both sum each dot product in K order, but SwiftShader's exp, log
/// and sqrt round differently within WGSL's allowance (a few ulp, 2^-21 absolute for
/// log near 1), and batch norm's and spectral norm's reductions divide by statistics
/// that amplify relative error by up to 1/σ. Through D's and G's layers that compounds
/// to about 1e-4 relative in a loss (measured: 6e-5 on Loss_D at step 1); 1e-3 is ten
/// times that, and a wrong kernel, batch, seed or recipe is off by over 1e-2.
const SAME_WEIGHTS: f64 = 1e-3;

/// After the first step the runs no longer share weights, and the differences grow: a
/// GAN is chaotic, and Adam's first updates move every weight by about lr whatever its
/// gradient's size, so a gradient near zero steps either way in the two runs (measured:
/// 1e-4 at step 1, 3e-2 at step 3, 0.3 at step 5). Past that the page can only be
/// checked to train in the same regime: its mean losses over the last half of the
/// STEPS within REGIME (absolute) of the native run's, where Loss_D and Loss_G move by
/// 2 to 3 over those steps.
const REGIME: f64 = 1.0;
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each logged step: [step, epoch, Loss_D, Loss_G, D(x), D(G(z))].
type Rows = Vec<[f64; 6]>;

/// The native side: mnist_dcgan's defaults on this machine's adapter.
struct Native {
    gpu: Gpu,
    data: Dataset,
}

impl Native {
    fn new() -> Native {
        let gpu = Gpu::new().unwrap();
        let dir = root().join("../shared/data/mnist");
        let mnist = Mnist::load(&dir).unwrap();
        let data = Dataset::upload(&gpu, ImageSet::Mnist, &mnist.train, None).unwrap();
        Native { gpu, data }
    }

    fn trainer(&self) -> Trainer {
        let (config, model) = MNIST_DCGAN.defaults();
        Trainer::new(&self.gpu, &config, &model, &self.data).unwrap()
    }

    /// Trains `steps` steps, reading each one's losses back.
    fn train(&self, trainer: &mut Trainer, steps: usize) -> Rows {
        (0..steps)
            .map(|_| {
                let stats = trainer.step(&self.gpu, &self.data).unwrap();
                pollster::block_on(trainer.row(&stats, 0.0))
                    .unwrap()
                    .values()
            })
            .collect()
    }
}

fn checkpoint(trainer: &Trainer) -> Vec<u8> {
    pollster::block_on(trainer.checkpoint_bytes("native checkpoint")).unwrap()
}

/// A page's step against the native step from the same weights.
fn assert_same_step(what: &str, page: &[f64; 6], native: &[f64; 6]) {
    assert_eq!(page[0], native[0], "{what}: step numbers");
    for (i, name) in [(2, "Loss_D"), (3, "Loss_G"), (4, "D(x)"), (5, "D(G(z))")] {
        let bound = SAME_WEIGHTS * (1.0 + native[i].abs());
        assert!(
            (page[i] - native[i]).abs() <= bound,
            "{what}: {name} at step {} is {} in the page and {} natively (|Δ| > {bound})",
            page[0],
            page[i],
            native[i]
        );
    }
}

/// A page's run from scratch against the native one: finite throughout, the first step
/// as `assert_same_step`, and the same regime over the last half.
fn assert_follows(page: &Rows, native: &Rows) {
    assert_eq!(page.len(), native.len(), "steps logged");
    for row in page {
        assert!(
            row[2..].iter().all(|v| v.is_finite()),
            "step {}: {row:?}",
            row[0]
        );
    }
    assert_same_step("the first step", &page[0], &native[0]);
    let half = page.len() / 2;
    let mean = |rows: &Rows, i: usize| {
        rows[half..].iter().map(|r| r[i]).sum::<f64>() / (rows.len() - half) as f64
    };
    for (i, name) in [(2, "Loss_D"), (3, "Loss_G")] {
        let (p, n) = (mean(page, i), mean(native, i));
        assert!(
            (p - n).abs() <= REGIME,
            "mean {name} over steps {}..{}: {p} in the page, {n} natively",
            half + 1,
            page.len()
        );
    }
}

/// The page's run `name`: its rows, after checking it reported no error.
fn page_rows(result: &serde_json::Value, name: &str, key: &str) -> Rows {
    assert!(
        result["error"].is_null(),
        "page run {name} failed: {}",
        result["error"]
    );
    result[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let v: Vec<f64> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            v.try_into().unwrap()
        })
        .collect()
}

/// A grid PNG whose pixels are not all alike: the spread of its grey levels.
fn grey_spread(png: &Path) -> f64 {
    let grid = image::open(png).unwrap().to_luma8();
    let n = grid.pixels().len() as f64;
    let mean = grid.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / n;
    let var = grid
        .pixels()
        .map(|p| (f64::from(p.0[0]) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt()
}

#[test]
fn the_page_trains_like_the_native_trainer_and_checkpoints_cross_both_ways() {
    let web = root().join("web");
    for needed in [
        "pkg/duel_web_bg.wasm",
        "data/mnist/train-images-idx3-ubyte.gz",
    ] {
        assert!(
            web.join(needed).is_file(),
            "web/{needed} is missing: run `bash scripts/web.sh --build-only` first"
        );
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();

    // The native run: STEPS steps, a checkpoint, then MORE_STEPS more.
    let native = Native::new();
    let mut trainer = native.trainer();
    let first = native.train(&mut trainer, STEPS);
    std::fs::write(out.join("native.safetensors"), checkpoint(&trainer)).unwrap();
    let then = native.train(&mut trainer, MORE_STEPS);
    let rows_json = serde_json::json!({ "first": first, "then": then });
    std::fs::write(out.join("native.json"), rows_json.to_string()).unwrap();

    let server = Server::start(&root(), &web, &out);
    let browser = Browser::start();

    // From scratch, then a checkpoint and one step more; a screenshot of the page.
    let query = format!("steps={STEPS}&after=1&seed=1&fd={FD_SAMPLES}");
    let fresh = browser.run_page(&server, "fresh", &query, &out);
    browser.screenshot(&out.join("page.png"));
    assert_follows(&page_rows(&fresh, "fresh", "rows"), &first);
    // The FD in the shipped classifier's features: an untrained generator's samples
    // are far from digits (natively, thousands at this step), but a number it is.
    let fd = fresh["fd"].as_f64().unwrap_or(f64::NAN);
    assert!(
        fd.is_finite() && fd > 0.0,
        "the page's FD is {}",
        fresh["fd"]
    );
    let spread = grey_spread(&out.join("fresh-grid.png"));
    assert!(
        spread > 10.0,
        "the page's grid is blank (grey spread {spread})"
    );

    // native → page: the page continues the native checkpoint as the native run did.
    let query = format!("steps={MORE_STEPS}&seed=1&resume=uploads/native.safetensors");
    let resumed = browser.run_page(&server, "resumed", &query, &out);
    assert_eq!(
        resumed["resumed_at"], STEPS,
        "the page resumed at the wrong step"
    );
    let page = page_rows(&resumed, "resumed", "rows");
    assert_same_step(
        "the page's first step from the native checkpoint",
        &page[0],
        &then[0],
    );
    assert!(page.iter().all(|r| r[2..].iter().all(|v| v.is_finite())));

    // page → native: the native trainer continues the page's checkpoint as the page
    // did, and the page's resumed checkpoint resumes natively at its step.
    let mut from_page = native.trainer();
    let bytes = std::fs::read(out.join("fresh.safetensors")).unwrap();
    pollster::block_on(from_page.resume(&bytes, "the page's checkpoint")).unwrap();
    assert_eq!(from_page.steps_done(), STEPS);
    let step = native.train(&mut from_page, 1);
    let page_step = page_rows(&fresh, "fresh", "after");
    assert_same_step(
        "the native step from the page's checkpoint",
        &page_step[0],
        &step[0],
    );

    let mut from_resumed = native.trainer();
    let bytes = std::fs::read(out.join("resumed.safetensors")).unwrap();
    pollster::block_on(from_resumed.resume(&bytes, "the page's resumed checkpoint")).unwrap();
    assert_eq!(from_resumed.steps_done(), STEPS + MORE_STEPS);
    eprintln!(
        "page: {:.3} s a step from scratch, pipelines' first builds included; screenshot {}",
        fresh["seconds"].as_f64().unwrap() / STEPS as f64,
        out.join("page.png").display()
    );
}
