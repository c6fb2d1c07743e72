//! duel in a browser tab: mnist_dcgan's models and recipe trained on WebGPU by the
//! same `duel::gan::Trainer` the native example drives. The page (`web/index.html`,
//! `web/main.js`) calls this module; every read from the GPU is awaited, so the tab
//! never blocks, and one training step is still one recording of dispatches.

use duel::data::{GpuImages, ImageSet, Mnist, Split, mnist};
use duel::gan::report::Row;
use duel::gan::{Dataset, Loss, MNIST_DCGAN, Trainer};
use duel::gpu::GpuOptions;
use duel::metrics::{Classifier, Scorer};
use duel::{Error, Gpu};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_time::Instant;

#[wasm_bindgen(start)]
pub fn start() {
    // Without it a Rust panic reaches the page as "RuntimeError: unreachable".
    console_error_panic_hook::set_once();
}

/// The recipe's main settings, as the page's form sets them before a start; `new()`
/// gives mnist_dcgan's defaults.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone)]
pub struct Settings {
    /// bce, lsgan, hinge or wgan.
    pub loss: String,
    pub conditional: bool,
    /// The generator average's decay; 0 turns it off.
    pub ema: f32,
    pub batch_size: u32,
    pub lr_g: f32,
    pub lr_d: f32,
    pub seed: u32,
    /// The run's length in steps.
    pub max_steps: u32,
}

#[wasm_bindgen]
impl Settings {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Settings {
        let (config, model) = MNIST_DCGAN.defaults();
        Settings {
            loss: config.recipe.loss.to_string().to_ascii_lowercase(),
            conditional: model.classes > 0,
            ema: config.recipe.ema,
            batch_size: config.batch_size as u32,
            lr_g: config.recipe.adam_g.lr,
            lr_d: config.recipe.adam_d.lr,
            seed: model.seed as u32,
            max_steps: config.max_steps as u32,
        }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::new()
    }
}

/// A run in the tab: the device, MNIST on it, the trainer and its logged rows.
struct Run {
    gpu: Gpu,
    data: Dataset,
    test: Split,
    trainer: Trainer,
    rows: Vec<Row>,
    scorer: Option<Scorer>,
}

/// What the page holds: one run. Each async call takes it for as long as it runs and
/// puts it back, so no borrow is held across an await; the page awaits each call
/// before the next, and a second call meanwhile is refused as busy.
#[wasm_bindgen]
pub struct WebTrainer(Rc<RefCell<Option<Run>>>);

/// An engine error as a JavaScript `Error` with the engine's message.
fn js(e: Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}

const BUSY: &str = "the trainer is busy with another call; wait for it to finish";

/// A promise of `$body`'s value (a `duel::Result`), computed with the run taken out
/// of `$self` as `$run: &mut Run`, and put back whatever the outcome.
macro_rules! on_run {
    ($self:ident, |$run:ident| $body:expr) => {{
        let cell = $self.0.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let taken = cell.borrow_mut().take();
            let mut owned = taken.ok_or_else(|| JsValue::from(JsError::new(BUSY)))?;
            let result = {
                let $run: &mut Run = &mut owned;
                $body.await
            };
            *cell.borrow_mut() = Some(owned);
            result.map(JsValue::from).map_err(js)
        })
    }};
}

impl WebTrainer {
    /// `read` of the run, or `busy` while an async call holds it.
    fn peek<T>(&self, busy: T, read: impl FnOnce(&Run) -> T) -> T {
        self.0.borrow().as_ref().map_or(busy, read)
    }
}

/// The MNIST files' bytes from the page, in `mnist::FILES` order (each gzipped or raw).
fn mnist_from(files: &js_sys::Array) -> duel::Result<Mnist> {
    if files.length() != 4 {
        return Err(Error::Data(format!(
            "expected the four MNIST files ({}), got {}",
            mnist::FILES.join(", "),
            files.length()
        )));
    }
    let bytes = |i: u32| js_sys::Uint8Array::new(&files.get(i)).to_vec();
    Mnist::from_bytes([
        (mnist::FILES[0], bytes(0)),
        (mnist::FILES[1], bytes(1)),
        (mnist::FILES[2], bytes(2)),
        (mnist::FILES[3], bytes(3)),
    ])
}

#[wasm_bindgen]
impl WebTrainer {
    /// Opens the page's WebGPU adapter, decodes and uploads MNIST, and builds the
    /// models and recipe of `settings` at step 0.
    pub async fn create(files: js_sys::Array, settings: Settings) -> Result<WebTrainer, JsValue> {
        let mnist = mnist_from(&files).map_err(js)?;
        let (mut config, mut model) = MNIST_DCGAN.defaults();
        config.recipe.loss = settings
            .loss
            .parse::<Loss>()
            .map_err(|e| js(Error::Usage(format!("loss {:?}: {e}", settings.loss))))?;
        config.recipe.ema = settings.ema;
        config.recipe.adam_g.lr = settings.lr_g;
        config.recipe.adam_d.lr = settings.lr_d;
        config.batch_size = settings.batch_size as usize;
        config.max_steps = settings.max_steps as usize;
        model.seed = u64::from(settings.seed);
        model.classes = if settings.conditional {
            ImageSet::Mnist.classes()
        } else {
            0
        };
        duel::gan::check_settings(&config, &model).map_err(js)?;
        // No environment in a tab: every backend (WebGPU's alone is built), and
        // the engine's own GEMM plans.
        let options = GpuOptions::from_env().map_err(js)?;
        let gpu = Gpu::with_options_async(&options).await.map_err(js)?;
        let data = Dataset::upload(&gpu, ImageSet::Mnist, &mnist.train, None).map_err(js)?;
        let trainer = Trainer::new(&gpu, &config, &model, &data).map_err(js)?;
        Ok(WebTrainer(Rc::new(RefCell::new(Some(Run {
            gpu,
            data,
            test: mnist.test,
            trainer,
            rows: Vec::new(),
            scorer: None,
        })))))
    }

    /// The adapter the page got, as the engine reports it.
    pub fn adapter(&self) -> String {
        self.peek(BUSY.to_string(), |r| r.gpu.adapter().to_string())
    }

    /// The GEMM plan picked for each of the DCGAN's large GEMM shapes, one a line.
    pub fn gemm_plans(&self) -> String {
        self.peek(BUSY.to_string(), |r| {
            let batch = r.trainer.config.batch_size;
            // (m, n, k) of a conv forward, a transposed conv, a weight gradient, and
            // G's Dense layer.
            [
                (128, batch * 49, 64 * 16),
                (64, batch * 196, 128 * 16),
                (128, 1024, batch * 49),
                (batch, 6272, 110),
            ]
            .iter()
            .map(|&(m, n, k)| format!("{m}×{n} over {k}: {}", r.gpu.gemm_plan(m, n, k)))
            .collect::<Vec<_>>()
            .join("\n")
        })
    }

    pub fn steps_done(&self) -> u32 {
        self.peek(0, |r| r.trainer.steps_done() as u32)
    }

    pub fn total_steps(&self) -> u32 {
        self.peek(0, |r| r.trainer.total_steps() as u32)
    }

    /// Each logged step's `Row::values`, flattened: [step, epoch, Loss_D, Loss_G, D(x),
    /// D(G(z)), step, ...].
    pub fn history(&self) -> Vec<f64> {
        self.peek(Vec::new(), |r| {
            r.rows.iter().flat_map(Row::values).collect()
        })
    }

    /// Trains `steps` steps (fewer at the run's end), then reads the last one's losses
    /// back: a promise of [step, epoch, Loss_D, Loss_G, D(x), D(G(z))]. A non-finite
    /// loss is an error, and the run's last checkpoint stays downloadable.
    pub fn train(&self, steps: u32) -> js_sys::Promise {
        on_run!(self, |r| async {
            let left = r
                .trainer
                .total_steps()
                .saturating_sub(r.trainer.steps_done());
            let mut stats = None;
            for _ in 0..(steps as usize).min(left) {
                stats = Some(r.trainer.step(&r.gpu, &r.data)?);
            }
            let stats =
                stats.ok_or_else(|| Error::Usage("the run has reached its last step".into()))?;
            let row = r.trainer.row(&stats, 0.0).await?;
            if !row.loss_d.is_finite() || !row.loss_g.is_finite() {
                return Err(Error::Numeric(format!(
                    "the loss became {} (D) / {} (G) by step {}. Download the last \
                     checkpoint, and try lower learning rates",
                    row.loss_d, row.loss_g, row.step
                )));
            }
            r.rows.push(row);
            Ok(js_sys::Float64Array::from(&row.values()[..]))
        })
    }

    /// The fixed-noise grid (a row per class when conditional), as PNG bytes.
    pub fn grid_png(&self) -> js_sys::Promise {
        on_run!(self, |r| async {
            let grid = r.trainer.grid(&r.gpu).await?;
            Ok(js_sys::Uint8Array::from(&duel::io::png_bytes(&grid)?[..]))
        })
    }

    /// This step's checkpoint: the safetensors file that the native `--resume` takes.
    pub fn checkpoint(&self) -> js_sys::Promise {
        on_run!(self, |r| async {
            let name = format!("checkpoint at step {}", r.trainer.steps_done());
            let bytes = r.trainer.checkpoint_bytes(&name).await?;
            Ok(js_sys::Uint8Array::from(&bytes[..]))
        })
    }

    /// Continues from a checkpoint (from the native trainer or from this page) that
    /// fits these models and settings; a promise of its step.
    pub fn resume(&self, bytes: Vec<u8>, name: String) -> js_sys::Promise {
        on_run!(self, |r| async {
            let restored = r.trainer.resume(&bytes, &name).await?;
            if let Some(warning) = restored.warning() {
                web_log(&format!("warning: {warning}"));
            }
            let step = r.trainer.steps_done();
            r.rows.retain(|row| row.step <= step);
            Ok(step as u32)
        })
    }

    /// The FD of `samples` images of the current generator, in the features of the
    /// shipped MNIST classifier (`classifier`: the bytes of assets/mnist_classifier),
    /// against the first `reference` test images.
    pub fn fd(&self, classifier: Vec<u8>, samples: u32, reference: u32) -> js_sys::Promise {
        on_run!(self, |r| async {
            if r.scorer.is_none() {
                let set = ImageSet::Mnist;
                let name = "the MNIST classifier";
                let (classifier, _) =
                    Classifier::from_bytes(&r.gpu, set, &classifier, name).await?;
                let count = (reference as usize).clamp(1, r.test.count);
                let pixels: usize = set.image_shape().iter().product();
                let images = &r.test.images[..count * pixels];
                let test = GpuImages::upload(&r.gpu, images, count, &set.image_shape())?;
                r.scorer = Some(Scorer::new_async(classifier, &test).await?);
            }
            let scorer = r.scorer.as_ref().expect("made above");
            let score = r.trainer.score(&r.gpu, scorer, samples as usize).await?;
            Ok(score.fd)
        })
    }

    /// Milliseconds per training step over `steps` steps after `warmup` untimed ones
    /// (pipelines build on first use): the steps are recorded back to back, then the
    /// GPU is waited for once.
    pub fn bench(&self, warmup: u32, steps: u32) -> js_sys::Promise {
        on_run!(self, |r| async {
            for _ in 0..warmup {
                r.trainer.step(&r.gpu, &r.data)?;
            }
            r.gpu.finish_async().await?;
            let started = Instant::now();
            for _ in 0..steps {
                r.trainer.step(&r.gpu, &r.data)?;
            }
            r.gpu.finish_async().await?;
            Ok(started.elapsed().as_secs_f64() * 1e3 / f64::from(steps.max(1)))
        })
    }

    /// One step with each kernel timed by the adapter's timestamp queries, after one
    /// untimed step: a line per kernel, "ms calls name", most expensive first.
    pub fn profile(&self) -> js_sys::Promise {
        on_run!(self, |r| async {
            r.trainer.step(&r.gpu, &r.data)?;
            r.gpu.finish_async().await?;
            r.gpu.set_profiling(true)?;
            r.trainer.step(&r.gpu, &r.data)?;
            let kernels = r.gpu.profile_async().await;
            r.gpu.set_profiling(false)?;
            Ok(kernels?
                .iter()
                .map(|k| format!("{:9.2} {:5} {}", k.ms, k.calls, k.name))
                .collect::<Vec<_>>()
                .join("\n"))
        })
    }
}

#[wasm_bindgen]
extern "C" {
    /// `console.warn`, where the engine's notes go in a tab.
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn web_log(text: &str);
}
