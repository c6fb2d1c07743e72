//! One GAN run as a stepping object: the models, what each step trains on and the step
//! count, with `step` (records a step's dispatches, reads nothing back), and the
//! awaited reads a person asks for: the step's losses, the fixed-noise grid, a score
//! and the checkpoint's bytes. The native loop (`run`: files, progress bar, signals)
//! and the browser page are two drivers of this one object.

use super::checks::{check_batch, check_resume};
use super::data_parallel::Collective;
use super::model::{Restored, StepStats};
use super::report::Row;
use super::schedule::{FIXED_NOISE_STREAM, Schedule};
use super::train::{Dataset, TrainConfig, run_metadata};
use super::zoo::ModelConfig;
use super::{Gan, Loss};
use crate::metrics::{Score, Scorer};
use crate::{Error, Gpu, Result, Tensor, io, ops};
use image::DynamicImage;
use std::path::Path;
use std::rc::Rc;

pub struct Trainer {
    pub gan: Gan,
    pub config: TrainConfig,
    pub model: ModelConfig,
    schedule: Schedule,
    /// Steps trained so far (a resumed run counts from its checkpoint's).
    step: usize,
    /// The grid's noise, the same for every grid of a run: (grid count, nz).
    fixed_noise: Tensor,
    /// The class of each grid cell: a row of 8 per class for a conditional GAN.
    grid_classes: Vec<u8>,
    /// The ranks of a data-parallel run (see `new_on`).
    pub ranks: Option<Rc<dyn Collective>>,
}

impl Trainer {
    /// The models of `model`, trained on `data` as `config` says, at step 0.
    pub fn new(
        gpu: &Gpu,
        config: &TrainConfig,
        model: &ModelConfig,
        data: &Dataset,
    ) -> Result<Trainer> {
        Trainer::new_on(gpu, config, model, data, None)
    }

    /// `new`, as one rank of a data-parallel run when `ranks` are given: --batch-size
    /// is the global batch, of which each rank trains its own slice, and the ranks
    /// check that they built the same models.
    pub fn new_on(
        gpu: &Gpu,
        config: &TrainConfig,
        model: &ModelConfig,
        data: &Dataset,
        ranks: Option<Rc<dyn Collective>>,
    ) -> Result<Trainer> {
        if model.image != data.set.image_shape() {
            return Err(Error::Usage(format!(
                "the models make {:?} images but {} images are {:?}",
                model.image,
                data.set.name(),
                data.set.image_shape()
            )));
        }
        check_batch(config.batch_size, data.images.len(), data.set)?;
        if config.recipe.loss == Loss::Wgan && config.recipe.gp == 0.0 {
            eprintln!(
                "note: --loss wgan without --gp leaves D unconstrained, and its outputs can \
                 grow without bound; --gp 10 is the usual pairing"
            );
        }
        let (rank, count) = ranks.as_ref().map_or((0, 1), |r| (r.rank(), r.ranks()));
        if !config.batch_size.is_multiple_of(count) {
            return Err(Error::Usage(format!(
                "--batch-size {} does not split evenly over {count} ranks: use a multiple \
                 of {count} (it is the global batch, of which each rank trains a slice)",
                config.batch_size
            )));
        }
        // Building allocates only weights and their moments: too large is the widths'.
        let local_batch = config.batch_size / count;
        let mut gan = Gan::new(gpu, model, &config.recipe, local_batch).map_err(|e| match e {
            Error::TooLarge(_) => Error::Usage(format!(
                "--nz {} --ngf {} --ndf {} make a weight larger than {} bytes, the most this \
                 adapter holds in one buffer: use smaller widths (64 is usual)",
                model.nz,
                model.ngf,
                model.ndf,
                gpu.max_binding_bytes()
            )),
            e => e,
        })?;
        let mut schedule =
            Schedule::new(gpu, model.seed, config.batch_size, model.nz, &data.images)?;
        if let Some(ranks) = &ranks {
            schedule.slice(rank, count)?;
            gan.set_data_parallel(ranks.clone(), config.sync_batch_norm);
            ranks.check_same_tensors("initial models", &gan.checkpoint_tensors())?;
        }
        // An 8 × 8 grid, or for a conditional GAN a row of 8 per class.
        let grid_classes: Vec<u8> = match model.classes {
            0 => vec![0; 64],
            classes => (0..8 * classes).map(|i| (i / 8) as u8).collect(),
        };
        let fixed_noise = Tensor::uninit(gpu, &[grid_classes.len(), model.nz])?;
        ops::fill_normal(&fixed_noise, 0.0, 1.0, model.seed ^ FIXED_NOISE_STREAM, 0)?;
        Ok(Trainer {
            gan,
            config: config.clone(),
            model: model.clone(),
            schedule,
            step: 0,
            fixed_noise,
            grid_classes,
            ranks,
        })
    }

    /// Continues from checkpoint bytes (`name` is what errors call them), after
    /// refusing one that does not continue this run (`check_resume`).
    pub async fn resume(&mut self, bytes: &[u8], name: &str) -> Result<Restored> {
        let restored = self.gan.load_bytes(bytes, name).await?;
        let expected = run_metadata(&self.config, &self.model, 0);
        self.step = check_resume(Path::new(name), &restored.metadata, &expected)?;
        Ok(restored)
    }

    /// Steps trained so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.schedule.steps_per_epoch()
    }

    /// The step count the run ends at: `--max-steps`, else whole epochs.
    pub fn total_steps(&self) -> usize {
        match self.config.max_steps {
            0 => self.steps_per_epoch() * self.config.epochs,
            steps => steps,
        }
    }

    /// Records the next step's dispatches: D, and G every `n_critic` steps.
    pub fn step(&mut self, gpu: &Gpu, data: &Dataset) -> Result<StepStats> {
        let step = self.step;
        let (real, z, dropout_seed) = self.schedule.inputs(&data.images, step)?;
        let z = z.clone();
        let labels = match self.gan.classes() {
            0 => None,
            _ => Some(self.schedule.batch_of(&data.one_hot, step)?),
        };
        let train_g = (step + 1).is_multiple_of(self.config.recipe.n_critic);
        let stats = self
            .gan
            .step(gpu, &real, labels.as_ref(), &z, dropout_seed, train_g)?;
        self.step += 1;
        Ok(stats)
    }

    /// The last step's statistics, read back, as a metrics row at `seconds` of
    /// training. A data-parallel run's are the means over the ranks, as one process
    /// training the global batch would report them (each rank's slice is the same
    /// size).
    pub async fn row(&self, stats: &StepStats, seconds: f64) -> Result<Row> {
        let mut values = [0.0; 4];
        for (v, t) in
            values
                .iter_mut()
                .zip([&stats.loss_d, &stats.loss_g, &stats.d_x, &stats.d_g_z])
        {
            *v = t.to_vec_async().await?[0];
        }
        if let Some(ranks) = &self.ranks {
            ranks.mean(&mut values)?;
        }
        let [loss_d, loss_g, d_x, d_g_z] = values;
        Ok(Row {
            step: self.step,
            epoch: (self.step - 1) / self.steps_per_epoch() + 1,
            loss_d,
            loss_g,
            d_x,
            d_g_z,
            seconds,
            eval: None,
        })
    }

    /// The fixed-noise grid from the sampler: 8 columns, a row per class when
    /// conditional.
    pub async fn grid(&self, gpu: &Gpu) -> Result<DynamicImage> {
        let images = self
            .gan
            .generate(gpu, &self.fixed_noise, &self.grid_classes)?;
        io::grid_image_async(&images, 8).await
    }

    /// Scores `samples` generated images (the same eval noise every time).
    pub async fn score(&self, gpu: &Gpu, scorer: &Scorer, samples: usize) -> Result<Score> {
        self.gan
            .score_async(gpu, scorer, self.model.nz, self.model.seed, samples)
            .await
    }

    /// The checkpoint of this step as safetensors bytes, the file `--resume` takes;
    /// `name` is what errors call it.
    pub async fn checkpoint_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let metadata = run_metadata(&self.config, &self.model, self.step);
        self.gan.checkpoint_bytes(metadata, name).await
    }
}
