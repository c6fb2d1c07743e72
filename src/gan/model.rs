//! The two networks, their optimisers, one training step, and checkpoints.

use super::data_parallel::Collective;
use super::recipe::Recipe;
use super::schedule::EVAL_NOISE_STREAM;
use super::zoo::{self, ModelConfig};
use crate::autograd::{Graph, Param, Var};
use crate::data::one_hot;
use crate::metrics::{Readouts, SCORE_BATCH, Score, Scorer};
use crate::nn::Sequential;
use crate::optim::Adam;
use crate::{Activation, Error, Gpu, Result, Tensor, io::checkpoint, ops};
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

/// Keys the interpolation weights of the gradient penalty, apart from the dropout
/// masks drawn from the same step seed.
const INTERPOLATION_STREAM: u64 = 0x6770_6770_6770_6770;

pub struct Gan {
    pub g: Sequential,
    pub d: Sequential,
    g_opt: Adam,
    d_opt: Adam,
    recipe: Recipe,
    /// The moving average of G's weights, with `Recipe::ema`.
    ema: Option<Sequential>,
    /// A conditional GAN's class inputs.
    conditioning: Option<Conditioning>,
    /// Targets for the discriminator: ones for real, zeros for fake, shape (batch, 1).
    ones: Tensor,
    zeros: Tensor,
    /// The other ranks of a data-parallel run, with which gradients are averaged.
    parallel: Option<Rc<dyn Collective>>,
    /// Whether batch norm normalises over the ranks' batches together.
    sync_batch_norm: bool,
}

/// What a conditional GAN adds (`ModelConfig::classes` > 0): G takes [z, one-hot y],
/// and D, a projection discriminator (Miyato & Koyama 2018), adds ⟨embed(y), φ(x)⟩ to
/// its output, φ(x) being the features its last layer takes.
struct Conditioning {
    classes: usize,
    /// (nz, nz + classes) and (classes, nz + classes): [z, y] = z·pick_z + y·pick_y,
    /// a concatenation made of products the tape already differentiates.
    pick_z: Tensor,
    pick_y: Tensor,
    /// D's class embedding, (classes, features), trained with D.
    embedding: Rc<Param>,
}

impl Conditioning {
    fn new(gpu: &Gpu, model: &ModelConfig, d: &Sequential) -> Result<Conditioning> {
        let (nz, classes) = (model.nz, model.classes);
        let width = nz + classes;
        let pick = |rows: usize, first: usize| {
            let mut data = vec![0.0; rows * width];
            (0..rows).for_each(|r| data[r * width + first + r] = 1.0);
            Tensor::from_slice(gpu, &[rows, width], &data)
        };
        let features = d.features_shape().iter().product();
        let embedding = Tensor::uninit(gpu, &[classes, features])?;
        ops::fill_normal(&embedding, 0.0, 0.02, model.seed ^ EMBEDDING_STREAM, 0)?;
        Ok(Conditioning {
            classes,
            pick_z: pick(nz, 0)?,
            pick_y: pick(classes, nz)?,
            embedding: Param::new(gpu, "d.embedding", embedding)?,
        })
    }

    /// One-hot rows (n, classes) for `asked`, one class per sample.
    fn one_hot(&self, gpu: &Gpu, asked: &[u8]) -> Result<Tensor> {
        let rows: Vec<f32> = one_hot(asked, self.classes)
            .into_iter()
            .map(f32::from)
            .collect();
        Tensor::from_slice(gpu, &[asked.len(), self.classes], &rows)
    }
}

/// Keys D's class embedding, apart from its other weights.
const EMBEDDING_STREAM: u64 = 0x656d_6265_6464_696e;

/// One step's figures, still on the GPU: read back only when they are shown.
pub struct StepStats {
    pub loss_d: Tensor,
    pub loss_g: Tensor,
    /// Mean D(x) on the real batch and D(G(z)) on the fake one: as probabilities
    /// (sigmoid of the logits) with BCE, as D's raw output with LSGAN.
    pub d_x: Tensor,
    pub d_g_z: Tensor,
}

impl Gan {
    /// The models `model` describes, trained as `recipe` says, for batches of
    /// `batch_size`.
    pub fn new(gpu: &Gpu, model: &ModelConfig, recipe: &Recipe, batch_size: usize) -> Result<Gan> {
        let g = zoo::generator(gpu, model)?;
        let mut d = zoo::discriminator(gpu, model)?;
        if recipe.spectral_norm {
            d = d.spectral_norm(model.seed)?;
        }
        let conditioning = match model.classes {
            0 => None,
            _ => Some(Conditioning::new(gpu, model, &d)?),
        };
        let g_opt = Adam::new(g.params(), recipe.adam_g)?;
        let d_params = d
            .params()
            .into_iter()
            .chain(conditioning.iter().map(|c| c.embedding.clone()));
        let d_opt = Adam::new(d_params.collect(), recipe.adam_d)?;
        let ones = ops::full(gpu, &[batch_size, 1], 1.0)?;
        let zeros = ops::zeros(gpu, &[batch_size, 1])?;
        let ema = match recipe.ema > 0.0 {
            true => {
                let average = zoo::generator(gpu, model)?;
                average.set_trainable(false);
                for (a, p) in average.params().iter().zip(g.params()) {
                    ops::copy(&a.value, &p.value)?;
                }
                Some(average)
            }
            false => None,
        };
        Ok(Gan {
            g,
            d,
            g_opt,
            d_opt,
            recipe: *recipe,
            ema,
            conditioning,
            ones,
            zeros,
            parallel: None,
            sync_batch_norm: false,
        })
    }

    /// Trains as one of `ranks`: each rank steps on its own slice of the global batch
    /// (this GAN's batch), and before each Adam step the network's gradients are
    /// averaged over the ranks; after each step, so are the batch-norm running
    /// statistics, which each rank gathers from its own slice. Every rank then holds
    /// the same bits.
    ///
    /// With `sync_batch_norm`, batch norm normalises over the global batch instead
    /// (`Graph::sync_batch_norm`), so N ranks train as one process would on the whole
    /// batch, and their running statistics agree without averaging.
    pub fn set_data_parallel(&mut self, ranks: Rc<dyn Collective>, sync_batch_norm: bool) {
        self.parallel = Some(ranks);
        self.sync_batch_norm = sync_batch_norm;
    }

    /// Averages `opt`'s gradients over the ranks of a data-parallel run.
    fn average_gradients(&self, opt: &Adam) -> Result<()> {
        match (&self.parallel, opt.grads()) {
            (Some(ranks), Some(grads)) => ranks.mean_tensors(&[grads]),
            _ => Ok(()),
        }
    }

    /// Averages both networks' buffers over the ranks of a data-parallel run, unless
    /// a synchronised batch norm computed the same ones on every rank.
    fn average_buffers(&self) -> Result<()> {
        let Some(ranks) = self.parallel.as_ref().filter(|_| !self.sync_batch_norm) else {
            return Ok(());
        };
        let buffers = self.g.buffers().into_iter().chain(self.d.buffers());
        let values: Vec<&Tensor> = buffers.map(|b| &b.value).collect();
        ranks.mean_tensors(&values)
    }

    /// One D step, with the recipe's loss and penalties, then, when `train_g`, one G
    /// step through the updated D (see `Recipe::n_critic`). Without a G step its loss
    /// is still reported, from D's output on the fake batch before D's update.
    ///
    /// `labels` are the real batch's one-hot classes (batch, classes), for a conditional
    /// GAN; its fake batch is drawn for the same classes.
    pub fn step(
        &mut self,
        gpu: &Gpu,
        real: &Tensor,
        labels: Option<&Tensor>,
        z: &Tensor,
        dropout_seed: u64,
        train_g: bool,
    ) -> Result<StepStats> {
        let recipe = self.recipe;
        let mut graph = Graph::new(gpu, true, dropout_seed);
        if let Some(ranks) = self.parallel.as_ref().filter(|_| self.sync_batch_norm) {
            graph.sync_batch_norm(ranks.clone());
        }
        let z = graph.input(z.clone());
        let y = labels.map(|l| graph.input(l.clone()));
        let g_input = self.g_input(&mut graph, z, y)?;
        let fake = self.g.forward(&mut graph, g_input)?;

        // D step: the fake batch is detached, so nothing flows into G.
        if recipe.spectral_norm {
            self.d.power_iteration()?;
        }
        self.d_opt.zero_grad()?;
        let fake_detached = graph.detach(fake);
        let real_in = match recipe.r1 > 0.0 {
            true => graph.variable(real.clone()),
            false => graph.input(real.clone()),
        };
        let real_out = self.d_forward(&mut graph, real_in, y)?;
        let fake_out = self.d_forward(&mut graph, fake_detached, y)?;
        let targets = (&self.ones, &self.zeros);
        let mut loss_d = recipe
            .loss
            .discriminator(&mut graph, real_out, fake_out, targets)?;
        if recipe.r1 > 0.0 {
            let penalty = self.r1_penalty(&mut graph, real_in, real_out)?;
            loss_d = graph.add(loss_d, penalty)?;
        }
        if recipe.gp > 0.0 {
            let fake = graph.value(fake_detached).clone();
            let penalty = self.gradient_penalty(&mut graph, real, &fake, y, dropout_seed)?;
            loss_d = graph.add(loss_d, penalty)?;
        }
        graph.backward(loss_d)?;
        self.average_gradients(&self.d_opt)?;
        self.d_opt.step()?;

        let loss_g = match train_g {
            true => {
                // G step through the updated D, whose weights stay as they are.
                self.g_opt.zero_grad()?;
                self.set_d_trainable(false);
                let out = self.d_forward(&mut graph, fake, y);
                let result = out.and_then(|out| {
                    let loss_g = recipe.loss.generator(&mut graph, out, &self.ones)?;
                    graph.backward(loss_g)?;
                    Ok(loss_g)
                });
                self.set_d_trainable(true);
                let loss_g = result?;
                self.average_gradients(&self.g_opt)?;
                self.g_opt.step()?;
                if let Some(average) = &self.ema {
                    for (a, p) in average.params().iter().zip(self.g.params()) {
                        ops::lerp_assign(&a.value, &p.value, 1.0 - recipe.ema)?;
                    }
                }
                loss_g
            }
            false => graph.no_grad(|g| recipe.loss.generator(g, fake_out, &self.ones))?,
        };

        self.average_buffers()?;
        let shown = |out: Var| match recipe.loss.shows_probabilities() {
            true => ops::mean(&ops::activation(graph.value(out), Activation::Sigmoid)?),
            false => ops::mean(graph.value(out)),
        };
        Ok(StepStats {
            loss_d: graph.value(loss_d).clone(),
            loss_g: graph.value(loss_g).clone(),
            d_x: shown(real_out)?,
            d_g_z: shown(fake_out)?,
        })
    }

    /// What G takes: the noise, and for a conditional GAN the one-hot classes after it.
    fn g_input(&self, graph: &mut Graph, z: Var, y: Option<Var>) -> Result<Var> {
        match (&self.conditioning, y) {
            (None, _) => Ok(z),
            (Some(c), Some(y)) => {
                let (pick_z, pick_y) =
                    (graph.input(c.pick_z.clone()), graph.input(c.pick_y.clone()));
                let z = graph.matmul(z, pick_z, false, false)?;
                let y = graph.matmul(y, pick_y, false, false)?;
                graph.add(z, y)
            }
            (Some(_), None) => Err(Error::Usage(
                "a conditional GAN needs each sample's class".into(),
            )),
        }
    }

    /// D's output on `x`, plus, for a conditional GAN, the projection of its features
    /// on the embedding of the classes `y`.
    fn d_forward(&self, graph: &mut Graph, x: Var, y: Option<Var>) -> Result<Var> {
        let (Some(c), Some(y)) = (&self.conditioning, y) else {
            return self.d.forward(graph, x);
        };
        let (features, out) = self.d.forward_features(graph, x)?;
        let n = graph.shape(features)[0];
        let flat = graph.reshape(features, &[n, graph.value(features).numel() / n])?;
        let embedding = graph.param(&c.embedding);
        let embedded = graph.dense(y, embedding, None, Activation::Identity)?;
        let products = graph.mul(embedded, flat)?;
        let projection = graph.sum_axis(products, 1)?;
        let projection = graph.reshape(projection, &[n, 1])?;
        graph.add(out, projection)
    }

    /// Freezes or unfreezes D, its class embedding included.
    fn set_d_trainable(&self, trainable: bool) {
        self.d.set_trainable(trainable);
        if let Some(c) = &self.conditioning {
            c.embedding.set_trainable(trainable);
        }
    }

    /// The number of classes a conditional GAN draws, else 0.
    pub fn classes(&self) -> usize {
        self.conditioning.as_ref().map_or(0, |c| c.classes)
    }

    /// R1 (Mescheder et al. 2018): γ/2 times the mean over the batch of ‖∇ₓD(x)‖² at
    /// the real images x, whose D output is `out`.
    fn r1_penalty(&self, graph: &mut Graph, x: Var, out: Var) -> Result<Var> {
        let total = graph.sum(out)?;
        let dx = graph.grad(total, &[x], true)?[0];
        let squares = graph.square(dx)?;
        let sum = graph.sum(squares)?;
        let n = graph.shape(x)[0];
        graph.scale(sum, self.recipe.r1 / (2 * n) as f32)
    }

    /// WGAN-GP (Gulrajani et al. 2017): λ times the mean over the batch of
    /// (‖∇D(x̂)‖ - 1)², at x̂ = ε·real + (1 - ε)·fake with one ε ~ U(0, 1) per image,
    /// drawn from the step's seed so that a resumed run draws the same.
    fn gradient_penalty(
        &self,
        graph: &mut Graph,
        real: &Tensor,
        fake: &Tensor,
        y: Option<Var>,
        seed: u64,
    ) -> Result<Var> {
        let gpu = graph.gpu().clone();
        let n = real.shape()[0];
        let per_image = real.numel() / n;
        let eps = Tensor::uninit(&gpu, &[n])?;
        ops::fill_uniform(&eps, 0.0, 1.0, seed ^ INTERPOLATION_STREAM, 0)?;
        let eps = ops::sum_axis_backward(&eps, &[n, per_image], 1)?.reshape(real.shape())?;
        let mixed = ops::add(fake, &ops::mul(&eps, &ops::sub(real, fake)?)?)?;
        let x = graph.variable(mixed);
        let out = self.d_forward(graph, x, y)?;
        let total = graph.sum(out)?;
        let dx = graph.grad(total, &[x], true)?[0];
        let flat = graph.reshape(dx, &[n, per_image])?;
        let squares = graph.square(flat)?;
        let norm2 = graph.sum_axis(squares, 1)?;
        // ‖g‖ = ‖g‖² / sqrt(‖g‖² + 1e-12): smooth, and 0 rather than NaN at g = 0.
        let inverse = graph.rsqrt(norm2, 1e-12)?;
        let norm = graph.mul(norm2, inverse)?;
        let one = graph.input(ops::full(&gpu, &[n], 1.0)?);
        let gap = graph.sub(norm, one)?;
        let gap2 = graph.square(gap)?;
        let mean = graph.mean(gap2)?;
        graph.scale(mean, self.recipe.gp)
    }

    /// The generator that draws grids, scores and exported samples: the moving
    /// average of G's weights with `--ema`, else G.
    pub fn sampler(&self) -> &Sequential {
        self.ema.as_ref().unwrap_or(&self.g)
    }

    /// Generates images (n, C, H, W) from noise (n, nz) with the `sampler`. Batch norm
    /// normalises with the statistics of these n samples, as PyTorch's DCGAN example
    /// does when it draws its grids: early in training the running averages trail the
    /// generator, and eval-mode samples look worse than the model is. The same holds
    /// for the EMA generator, whose running statistics are never averaged (its batch
    /// statistics come from its own weights). The running statistics take this batch
    /// in too, which affects no training-mode step.
    ///
    /// A conditional GAN draws sample i as class `asked[i]`; an unconditional one
    /// ignores `asked`.
    pub fn generate(&self, gpu: &Gpu, z: &Tensor, asked: &[u8]) -> Result<Tensor> {
        let mut graph = Graph::new(gpu, true, 0);
        let z = graph.input(z.clone());
        let y = match &self.conditioning {
            Some(c) => Some(graph.input(c.one_hot(gpu, asked)?)),
            None => None,
        };
        graph.no_grad(|graph| {
            let input = self.g_input(graph, z, y)?;
            let images = self.sampler().forward(graph, input)?;
            Ok(graph.value(images).clone())
        })
    }

    /// Scores `count` samples from the eval noise stream, the same noise every time, so
    /// successive scores differ only by what the generator learnt.
    pub async fn score_async(
        &self,
        gpu: &Gpu,
        scorer: &Scorer,
        nz: usize,
        seed: u64,
        count: usize,
    ) -> Result<Score> {
        // SCORE_BATCH samples at a time, or fewer where the generator's largest
        // activation would not fit one binding (article A's 128 × 28 × 28 on lavapipe).
        let fits = gpu.max_binding_bytes() as usize / (4 * self.sampler().largest_activation());
        let asked = self.asked(count);
        let readouts = Readouts::collect(
            &scorer.classifier,
            count,
            fits.clamp(1, SCORE_BATCH),
            |start, n| {
                let z = Tensor::uninit(gpu, &[n, nz])?;
                ops::fill_normal(&z, 0.0, 1.0, seed ^ EVAL_NOISE_STREAM, (start * nz) as u64)?;
                self.generate(gpu, &z, &asked[start..start + n])
            },
        )
        .await?;
        let score = scorer.score_readouts(&readouts)?;
        Ok(match self.conditioning {
            Some(_) => score.with_labels(&readouts, &asked),
            None => score,
        })
    }

    /// The classes `count` samples are drawn for: each class in turn for a conditional
    /// GAN (so scored and exported samples are balanced), all 0 otherwise.
    pub fn asked(&self, count: usize) -> Vec<u8> {
        let classes = self.classes().max(1);
        (0..count).map(|i| (i % classes) as u8).collect()
    }

    /// Every tensor a checkpoint holds, by name: the weights of G and D first (`weights`
    /// of them), then batch-norm statistics, Adam moments, and the EMA generator's
    /// weights under `ema.`.
    fn tensors(&self) -> (Vec<(String, Tensor)>, usize) {
        let embedding = self.conditioning.iter().map(|c| c.embedding.clone());
        let params = self
            .g
            .params()
            .into_iter()
            .chain(self.d.params())
            .chain(embedding);
        let mut named: Vec<(String, Tensor)> =
            params.map(|p| (p.name.clone(), p.value.clone())).collect();
        let weights = named.len();
        let buffers = self.g.buffers().into_iter().chain(self.d.buffers());
        let moments = self.g_opt.state().into_iter().chain(self.d_opt.state());
        named.extend(
            buffers
                .chain(moments)
                .map(|b| (b.name.clone(), b.value.clone())),
        );
        let averages = self.ema.iter().flat_map(|a| a.params());
        named.extend(averages.map(|p| (format!("ema.{}", p.name), p.value.clone())));
        (named, weights)
    }

    /// Every tensor a checkpoint holds (weights, buffers, Adam moments, the
    /// average): what data-parallel ranks compare to know they hold the same model.
    pub(crate) fn checkpoint_tensors(&self) -> Vec<Tensor> {
        self.tensors().0.into_iter().map(|(_, t)| t).collect()
    }

    /// The checkpoint's bytes (safetensors; see `checkpoint::encode`): every tensor,
    /// `metadata`, the Adam step counts, and the plan of every GEMM run so far (which
    /// `load_bytes` takes, so a resumed run sums in the same order). `name` is what
    /// errors call it.
    pub async fn checkpoint_bytes(
        &self,
        mut metadata: BTreeMap<String, String>,
        name: &str,
    ) -> Result<Vec<u8>> {
        metadata.insert("adam_steps".into(), self.d_opt.steps().to_string());
        metadata.insert("adam_steps_g".into(), self.g_opt.steps().to_string());
        metadata.extend([self.ones.gpu().plans_metadata()]);
        let (named, _) = self.tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        checkpoint::encode(&refs, &metadata, name).await
    }

    /// Loads checkpoint bytes made by `checkpoint_bytes` (see `checkpoint::decode_into`
    /// for what is checked); `name` is what errors call them. On an error the models
    /// must not be used.
    pub async fn load_bytes(&mut self, bytes: &[u8], name: &str) -> Result<Restored> {
        let (named, weights) = self.tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        let (metadata, health) = checkpoint::decode_into(bytes, &refs, name).await?;
        let path = Path::new(name);
        let count = |key: &str| -> Result<u32> {
            let steps = metadata_number(&metadata, key, path)?;
            u32::try_from(steps)
                .map_err(|_| Error::Data(format!("{name}: {key} {steps} is out of range")))
        };
        let steps_d = count("adam_steps")?;
        // Checkpoints from before --n-critic stepped both Adams together.
        let steps_g = match metadata.contains_key("adam_steps_g") {
            true => count("adam_steps_g")?,
            false => steps_d,
        };
        let largest = named[..weights]
            .iter()
            .zip(&health)
            .map(|((name, _), h)| (name.clone(), h.max_abs))
            .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
        self.g_opt.set_steps(steps_g);
        self.d_opt.set_steps(steps_d);
        // The GEMMs go on summing in the order the checkpoint's run did.
        if let Some(note) = self.ones.gpu().resume_plans(&metadata, name) {
            eprintln!("note: {note}");
        }
        Ok(Restored { metadata, largest })
    }
}

/// The blocking, file-backed forms of the above.
#[cfg(feature = "native")]
impl Gan {
    pub fn score(
        &self,
        gpu: &Gpu,
        scorer: &Scorer,
        nz: usize,
        seed: u64,
        count: usize,
    ) -> Result<Score> {
        pollster::block_on(self.score_async(gpu, scorer, nz, seed, count))
    }

    /// Writes `checkpoint_bytes` to `path`, atomically.
    pub fn save(&self, path: &Path, metadata: BTreeMap<String, String>) -> Result<()> {
        let bytes =
            pollster::block_on(self.checkpoint_bytes(metadata, &path.display().to_string()))?;
        crate::io::write_bytes(path, &bytes)
    }

    /// Loads a checkpoint file written by `save`.
    pub fn load(&mut self, path: &Path) -> Result<Restored> {
        let bytes = checkpoint::read(path)?;
        pollster::block_on(self.load_bytes(&bytes, &path.display().to_string()))
    }
}

/// What `Gan::load` read besides the tensors.
#[derive(Debug, Clone)]
pub struct Restored {
    pub metadata: BTreeMap<String, String>,
    /// The weight of largest magnitude, and its tensor: a GAN's weights stay far below
    /// `Restored::SUSPICIOUS`, so one above it means a damaged or edited checkpoint.
    pub largest: (String, f32),
}

impl Restored {
    pub const SUSPICIOUS: f32 = 1e6;

    /// A warning when a weight is beyond anything training makes.
    pub fn warning(&self) -> Option<String> {
        let (name, value) = &self.largest;
        (*value > Restored::SUSPICIOUS).then(|| {
            format!(
                "tensor {name} holds a weight of magnitude {value:e}; trained weights stay \
                 below {:e}, so the checkpoint is likely damaged or edited",
                Restored::SUSPICIOUS
            )
        })
    }
}

/// A whole-number metadata entry that must be present, as u64.
pub fn metadata_number(metadata: &BTreeMap<String, String>, key: &str, path: &Path) -> Result<u64> {
    let text = metadata.get(key).ok_or_else(|| {
        Error::Data(format!(
            "checkpoint {} has no {key} in its metadata: it is damaged or not a duel GAN \
             checkpoint",
            path.display()
        ))
    })?;
    text.parse().map_err(|_| {
        Error::Data(format!(
            "checkpoint {} has {key} {text:?} in its metadata, not a whole number: it is damaged",
            path.display()
        ))
    })
}
