//! Data-parallel training: N processes (ranks) train one GAN, each on its own slice
//! of every global batch, and average their gradients before every Adam step, so the
//! weights stay the same on every rank without being sent again. `Collective` is
//! what the trainer needs of the ranks; MPI provides it (`MpiRanks`, behind the `mpi`
//! feature).

use crate::autograd::AllGather;
use crate::{Result, Tensor};

/// The ranks of a data-parallel run, as seen from one of them. Every rank must make
/// the same calls in the same order, as MPI's collectives require. `AllGather` is
/// what a synchronised batch norm exchanges.
pub trait Collective: AllGather {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;

    /// How many ranks train.
    fn ranks(&self) -> usize;

    /// This process's rank among those on its machine: which adapter it takes.
    fn local_rank(&self) -> usize;

    /// Ends every rank at once with exit status `code`, after this one said why.
    fn abort(&self, code: i32) -> !;

    /// Replaces `values` on every rank with their element-wise mean over the ranks,
    /// summed in rank order, so that every rank gets the same bits whatever the
    /// transport's own reduction order.
    fn mean(&self, values: &mut [f32]) -> Result<()>;

    /// `mean` over the contents of `tensors`, in one exchange: one download and one
    /// upload of them all.
    fn mean_tensors(&self, tensors: &[&Tensor]) -> Result<()>;

    /// The largest of `value` over the ranks (a signal number, where a rank was
    /// stopped; a call every rank makes is also a barrier).
    fn max(&self, value: i32) -> Result<i32>;

    /// An error naming the ranks unless `tensors` hold the same bits on every rank
    /// (compared by a hash of their contents); `what` says what they are.
    fn check_same_tensors(&self, what: &str, tensors: &[Tensor]) -> Result<()>;
}

/// The rows of a global batch of `batch` that `rank` of `ranks` trains on: its
/// first row and count. The batch must divide evenly (`check_batch` refuses others).
pub fn slice_of(batch: usize, rank: usize, ranks: usize) -> (usize, usize) {
    let rows = batch / ranks;
    (rank * rows, rows)
}

/// A rank's dropout seed: the single-process seed on rank 0, and another stream on
/// each other rank, so the ranks' slices do not share masks.
pub fn rank_seed(seed: u64, rank: usize) -> u64 {
    seed ^ (rank as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
