//! The two networks, their optimisers, one training step, and checkpoints.

use super::recipe::{Loss, Recipe};
use super::schedule::EVAL_NOISE_STREAM;
use super::zoo::{self, ModelConfig};
use crate::autograd::{Graph, Var};
use crate::metrics::{SCORE_BATCH, Score, Scorer};
use crate::nn::Sequential;
use crate::optim::Adam;
use crate::{Error, Gpu, Result, Tensor, io::checkpoint, ops};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Gan {
    pub g: Sequential,
    pub d: Sequential,
    g_opt: Adam,
    d_opt: Adam,
    loss: Loss,
    /// Targets for the discriminator: ones for real, zeros for fake, shape (batch, 1).
    ones: Tensor,
    zeros: Tensor,
}

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
        let d = zoo::discriminator(gpu, model)?;
        let g_opt = Adam::new(g.params(), recipe.adam_g)?;
        let d_opt = Adam::new(d.params(), recipe.adam_d)?;
        let ones = ops::full(gpu, &[batch_size, 1], 1.0)?;
        let zeros = ops::zeros(gpu, &[batch_size, 1])?;
        Ok(Gan {
            g,
            d,
            g_opt,
            d_opt,
            loss: recipe.loss,
            ones,
            zeros,
        })
    }

    /// The loss of D's output `d` against the label real (1) or fake (0).
    fn adversarial(&self, graph: &mut Graph, d: Var, real: bool) -> Result<Var> {
        let target = if real { &self.ones } else { &self.zeros };
        match self.loss {
            Loss::Bce => graph.bce_with_logits(d, target),
            Loss::Lsgan => {
                let target = graph.input(target.clone());
                graph.mse(d, target)
            }
        }
    }

    /// One D step then one G step, with the recipe's loss (see `Loss`).
    pub fn step(
        &mut self,
        gpu: &Gpu,
        real: &Tensor,
        z: &Tensor,
        dropout_seed: u64,
    ) -> Result<StepStats> {
        let mut graph = Graph::new(gpu, true, dropout_seed);
        let z = graph.input(z.clone());
        let real = graph.input(real.clone());
        let fake = self.g.forward(&mut graph, z)?;

        // D step: the fake batch is detached, so nothing flows into G.
        self.d_opt.zero_grad()?;
        let fake_detached = graph.detach(fake);
        let real_logits = self.d.forward(&mut graph, real)?;
        let fake_logits = self.d.forward(&mut graph, fake_detached)?;
        let loss_real = self.adversarial(&mut graph, real_logits, true)?;
        let loss_fake = self.adversarial(&mut graph, fake_logits, false)?;
        let loss_d = graph.add(loss_real, loss_fake)?;
        graph.backward(loss_d)?;
        self.d_opt.step()?;

        // G step through the updated D, whose weights stay as they are.
        self.g_opt.zero_grad()?;
        self.d.set_trainable(false);
        let logits = self.d.forward(&mut graph, fake);
        let result = logits.and_then(|logits| {
            let loss_g = self.adversarial(&mut graph, logits, true)?;
            graph.backward(loss_g)?;
            Ok(loss_g)
        });
        self.d.set_trainable(true);
        let loss_g = result?;
        self.g_opt.step()?;

        let shown = |logits: Var| match self.loss {
            Loss::Bce => ops::mean(&ops::sigmoid(graph.value(logits))?),
            Loss::Lsgan => ops::mean(graph.value(logits)),
        };
        Ok(StepStats {
            loss_d: graph.value(loss_d).clone(),
            loss_g: graph.value(loss_g).clone(),
            d_x: shown(real_logits)?,
            d_g_z: shown(fake_logits)?,
        })
    }

    /// Generates images (n, C, H, W) from noise (n, nz). Batch norm normalises with
    /// the statistics of these n samples, as PyTorch's DCGAN example does when it draws
    /// its grids: early in training the running averages trail the generator, and
    /// eval-mode samples look worse than the model is. (The running statistics take
    /// this batch in too, which affects no training-mode step.)
    pub fn generate(&self, gpu: &Gpu, z: &Tensor) -> Result<Tensor> {
        let mut graph = Graph::new(gpu, true, 0);
        let z = graph.input(z.clone());
        graph.no_grad(|graph| {
            let images = self.g.forward(graph, z)?;
            Ok(graph.value(images).clone())
        })
    }

    /// Scores `count` samples from the eval noise stream, the same noise every time, so
    /// successive scores differ only by what the generator learnt.
    pub fn score(
        &self,
        gpu: &Gpu,
        scorer: &Scorer,
        nz: usize,
        seed: u64,
        count: usize,
    ) -> Result<Score> {
        // SCORE_BATCH samples at a time, or fewer where the generator's largest
        // activation would not fit one binding (article A's 128 × 28 × 28 on lavapipe).
        let fits = gpu.max_binding_bytes() as usize / (4 * self.g.largest_activation());
        scorer.score_by(count, fits.clamp(1, SCORE_BATCH), |start, n| {
            let z = Tensor::uninit(gpu, &[n, nz])?;
            ops::fill_normal(&z, 0.0, 1.0, seed ^ EVAL_NOISE_STREAM, (start * nz) as u64)?;
            self.generate(gpu, &z)
        })
    }

    /// Batch norm running statistics and Adam moments: the state besides the weights.
    fn state(&self) -> Vec<(String, &Tensor)> {
        let buffers = self.g.buffers().into_iter().chain(self.d.buffers());
        let moments = self.g_opt.state().into_iter().chain(self.d_opt.state());
        buffers
            .chain(moments)
            .map(|b| (b.name.clone(), &b.value))
            .collect()
    }

    pub fn save(&self, path: &Path, mut metadata: BTreeMap<String, String>) -> Result<()> {
        metadata.insert("adam_steps".into(), self.g_opt.steps().to_string());
        let params: Vec<_> = self.g.params().into_iter().chain(self.d.params()).collect();
        let mut named: Vec<(String, &Tensor)> =
            params.iter().map(|p| (p.name.clone(), &p.value)).collect();
        named.extend(self.state());
        checkpoint::save(path, &named, &metadata)
    }

    /// Loads a checkpoint saved by `save` (see `checkpoint::load` for what is
    /// checked). On an error the models must not be used.
    pub fn load(&mut self, path: &Path) -> Result<Restored> {
        let params: Vec<_> = self.g.params().into_iter().chain(self.d.params()).collect();
        let mut named: Vec<(String, &Tensor)> =
            params.iter().map(|p| (p.name.clone(), &p.value)).collect();
        named.extend(self.state());
        let (metadata, health) = checkpoint::load(path, &named)?;
        let steps = metadata_number(&metadata, "adam_steps", path)?;
        let steps = u32::try_from(steps).map_err(|_| {
            Error::Data(format!(
                "{}: adam_steps {steps} is out of range",
                path.display()
            ))
        })?;
        let largest = params
            .iter()
            .zip(&health)
            .map(|(p, h)| (p.name.clone(), h.max_abs))
            .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
        drop(named);
        self.g_opt.set_steps(steps);
        self.d_opt.set_steps(steps);
        Ok(Restored { metadata, largest })
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
