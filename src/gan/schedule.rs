//! What each step trains on, from (seed, step) alone: the batch order of each epoch,
//! the noise, and the dropout seed.

use crate::data::GpuImages;
use crate::{Gpu, Result, Tensor, ops};

/// Keys for the counter-based generator, one stream per use.
pub const NOISE_STREAM: u64 = 0x6e6f_6973_6500_0000;
pub const FIXED_NOISE_STREAM: u64 = 0x6669_7865_6400_0000;
pub const EVAL_NOISE_STREAM: u64 = 0x6576_616c_0000_0000;

/// The epoch's order over the training images, from (seed, epoch) alone.
pub fn epoch_order(seed: u64, epoch: usize, count: usize) -> Vec<u32> {
    use rand::{SeedableRng, seq::SliceRandom};
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
        seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    order
}

/// What step `step` trains on: everything derives from (seed, step), so a run resumed
/// from a checkpoint at step k continues exactly as the uninterrupted run would.
pub struct Schedule {
    seed: u64,
    batch_size: usize,
    steps_per_epoch: usize,
    order: Option<(usize, Tensor)>,
    /// The rows of every global batch this process trains on: all of them, or a
    /// data-parallel rank's slice (`slice`), with its rank.
    rows: (usize, usize),
    rank: usize,
    /// The noise of those rows: (rows, nz).
    z: Tensor,
}

impl Schedule {
    /// Batches of `batch_size` images and noise of `nz`, keyed by `seed`.
    pub fn new(
        gpu: &Gpu,
        seed: u64,
        batch_size: usize,
        nz: usize,
        images: &GpuImages,
    ) -> Result<Schedule> {
        Ok(Schedule {
            seed,
            batch_size,
            steps_per_epoch: images.len() / batch_size,
            order: None,
            rows: (0, batch_size),
            rank: 0,
            z: Tensor::uninit(gpu, &[batch_size, nz])?,
        })
    }

    /// Makes this schedule rank `rank`'s of `ranks` in a data-parallel run: every
    /// global batch, its noise included, is drawn as a single process would draw it,
    /// and this rank takes its slice of the rows (`data_parallel::slice_of`); its
    /// dropout masks come from a stream of its own.
    pub fn slice(&mut self, rank: usize, ranks: usize) -> Result<()> {
        let (first, count) = super::data_parallel::slice_of(self.batch_size, rank, ranks);
        let nz = self.z.shape()[1];
        self.z = Tensor::uninit(self.z.gpu(), &[count, nz])?;
        self.rows = (first, count);
        self.rank = rank;
        Ok(())
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.steps_per_epoch
    }

    /// The real batch, the noise and the dropout seed of `step`.
    pub fn inputs(&mut self, images: &GpuImages, step: usize) -> Result<(Tensor, &Tensor, u64)> {
        let epoch = step / self.steps_per_epoch;
        if self.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            self.order = Some((
                epoch,
                images.order(&epoch_order(self.seed, epoch, images.len()))?,
            ));
        }
        let (_, order) = self.order.as_ref().expect("set above");
        let real = images.batch(order, self.first_row(step), self.rows.1)?;
        let (noise, first) = (self.seed ^ NOISE_STREAM, self.rows.0 * self.z.shape()[1]);
        ops::fill_normal_part(&self.z, 0.0, 1.0, noise, step as u64, first)?;
        let seed = self.seed.wrapping_mul(31).wrapping_add(step as u64);
        Ok((
            real,
            &self.z,
            super::data_parallel::rank_seed(seed, self.rank),
        ))
    }

    /// Where this process's rows of `step`'s batch begin in the epoch's order.
    fn first_row(&self, step: usize) -> usize {
        (step % self.steps_per_epoch) * self.batch_size + self.rows.0
    }

    /// The items of `set` (one per image, such as one-hot labels) in the order of
    /// `step`'s real batch: call it after `inputs` for the same step.
    pub fn batch_of(&self, set: &GpuImages, step: usize) -> Result<Tensor> {
        let epoch = step / self.steps_per_epoch;
        match &self.order {
            Some((e, order)) if *e == epoch => set.batch(order, self.first_row(step), self.rows.1),
            _ => Err(crate::Error::Usage(format!(
                "Schedule::batch_of: step {step}'s order is not drawn yet; call inputs first"
            ))),
        }
    }
}
