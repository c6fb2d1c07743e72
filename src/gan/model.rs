//! The two networks, their optimisers, one training step, and checkpoints.

use super::schedule::EVAL_NOISE_STREAM;
use super::zoo::{self, ModelConfig};
use crate::autograd::Graph;
use crate::metrics::{Score, Scorer};
use crate::nn::Sequential;
use crate::optim::Adam;
use crate::{AdamConfig, Gpu, Result, Tensor, io::checkpoint, ops};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Gan {
    pub g: Sequential,
    pub d: Sequential,
    g_opt: Adam,
    d_opt: Adam,
    /// Targets for the discriminator: ones for real, zeros for fake, shape (batch, 1).
    ones: Tensor,
    zeros: Tensor,
}

/// One step's figures, still on the GPU: read back only when they are shown.
pub struct StepStats {
    pub loss_d: Tensor,
    pub loss_g: Tensor,
    /// Mean D(x) on the real batch and D(G(z)) on the fake one, as probabilities.
    pub d_x: Tensor,
    pub d_g_z: Tensor,
}

impl Gan {
    /// The models `model` describes, G trained by an Adam of `adam_g` and D by one of
    /// `adam_d`, for batches of `batch_size`.
    pub fn new(
        gpu: &Gpu,
        model: &ModelConfig,
        adam_g: AdamConfig,
        adam_d: AdamConfig,
        batch_size: usize,
    ) -> Result<Gan> {
        let g = zoo::generator(gpu, model)?;
        let d = zoo::discriminator(gpu, model)?;
        let g_opt = Adam::new(g.params(), adam_g)?;
        let d_opt = Adam::new(d.params(), adam_d)?;
        let ones = ops::full(gpu, &[batch_size, 1], 1.0)?;
        let zeros = ops::zeros(gpu, &[batch_size, 1])?;
        Ok(Gan {
            g,
            d,
            g_opt,
            d_opt,
            ones,
            zeros,
        })
    }

    /// One D step then one G step, with the non-saturating loss:
    /// D minimises BCE(D(x), 1) + BCE(D(G(z)), 0); G minimises BCE(D(G(z)), 1).
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
        let loss_real = graph.bce_with_logits(real_logits, &self.ones)?;
        let loss_fake = graph.bce_with_logits(fake_logits, &self.zeros)?;
        let loss_d = graph.add(loss_real, loss_fake)?;
        graph.backward(loss_d)?;
        self.d_opt.step()?;

        // G step through the updated D, whose weights stay as they are.
        self.g_opt.zero_grad()?;
        self.d.set_trainable(false);
        let logits = self.d.forward(&mut graph, fake);
        let result = logits.and_then(|logits| {
            let loss_g = graph.bce_with_logits(logits, &self.ones)?;
            graph.backward(loss_g)?;
            Ok(loss_g)
        });
        self.d.set_trainable(true);
        let loss_g = result?;
        self.g_opt.step()?;

        Ok(StepStats {
            loss_d: graph.value(loss_d).clone(),
            loss_g: graph.value(loss_g).clone(),
            d_x: ops::mean(&ops::sigmoid(graph.value(real_logits))?)?,
            d_g_z: ops::mean(&ops::sigmoid(graph.value(fake_logits))?)?,
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
        scorer.score(count, |start, n| {
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

    pub fn load(&mut self, path: &Path) -> Result<BTreeMap<String, String>> {
        let params: Vec<_> = self.g.params().into_iter().chain(self.d.params()).collect();
        let mut named: Vec<(String, &Tensor)> =
            params.iter().map(|p| (p.name.clone(), &p.value)).collect();
        named.extend(self.state());
        let metadata = checkpoint::load(path, &named)?;
        let steps = metadata
            .get("adam_steps")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.g_opt.set_steps(steps);
        self.d_opt.set_steps(steps);
        Ok(metadata)
    }
}
