//! `Collective` over MPI (the `mpi` feature, on the system's Open MPI): the ranks that
//! `mpirun`, `srun` or any MPI launcher started.

use super::data_parallel::Collective;
use crate::autograd::AllGather;
use crate::{Error, Result, Tensor};
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// What exchanging tensors with the other ranks (averaging them, and gathering a
/// synchronised batch norm's partials) has cost this rank (`MpiRanks::exchanges`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Exchanges {
    /// Calls of `mean_tensors` and `all_gather`.
    pub calls: u64,
    /// Their wall time: download, exchange and upload.
    pub time: Duration,
    /// The bytes this rank sent in them.
    pub bytes_sent: u64,
}

/// The ranks of this MPI job.
pub struct MpiRanks {
    world: SimpleCommunicator,
    /// This process's rank among those on its machine.
    local_rank: usize,
    exchanges: Cell<Exchanges>,
    /// Finalizes MPI when dropped.
    _universe: Universe,
}

/// Whether an MPI launcher started this process: Open MPI's, MPICH's (PMI) or Slurm's.
pub fn launched_by_mpi() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_RANK",
        "SLURM_PROCID",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

/// The seconds Open MPI's `mpirun` needs between passing a SIGTERM or SIGINT on to
/// the ranks and killing them, for them to finish the step and save.
const SIGNAL_GRACE_SECONDS: u32 = 10;

/// A note for a job that Open MPI's `mpirun` launched with its default
/// `odls_base_sigkill_timeout` of 1 s. On SIGTERM or SIGINT, mpirun sends the ranks
/// SIGCONT, then the signal that many seconds later, then SIGKILL as many again: too
/// soon for the ranks to finish the step and save.
pub fn signal_grace_note() -> Option<String> {
    std::env::var_os("OMPI_COMM_WORLD_SIZE")?;
    let timeout = std::env::var("OMPI_MCA_odls_base_sigkill_timeout").ok();
    match timeout.and_then(|t| t.parse::<u32>().ok()) {
        Some(t) if t >= SIGNAL_GRACE_SECONDS => None,
        _ => Some(format!(
            "note: mpirun kills the ranks 1 s after passing on a SIGTERM or Ctrl-C, before \
             they can save; launch with `mpirun --mca odls_base_sigkill_timeout \
             {SIGNAL_GRACE_SECONDS} …` so that a stop saves a checkpoint (the ranks then \
             stop within about {} s)",
            2 * SIGNAL_GRACE_SECONDS
        )),
    }
}

impl MpiRanks {
    /// Joins the job. Refused when no MPI launcher started this process.
    pub fn join() -> Result<MpiRanks> {
        if !launched_by_mpi() {
            return Err(Error::Usage(
                "--data-parallel needs an MPI launcher: run it as `mpirun -np N <program> \
                 --data-parallel …` (or under Slurm's srun)"
                    .into(),
            ));
        }
        let universe = mpi::initialize()
            .ok_or_else(|| Error::Usage("MPI was already initialized in this process".into()))?;
        let world = universe.world();
        // The ranks that share this machine's memory: their order is the local rank.
        let local_rank = world.split_shared(world.rank()).rank() as usize;
        Ok(MpiRanks {
            world,
            local_rank,
            exchanges: Cell::default(),
            _universe: universe,
        })
    }

    /// What averaging tensors has cost so far.
    pub fn exchanges(&self) -> Exchanges {
        self.exchanges.get()
    }

    /// Counts one exchange of tensors that began at `started`, and `values` sent
    /// besides those `mean` counts.
    fn count_exchange(&self, started: Instant, values: usize) {
        let mut e = self.exchanges.get();
        e.calls += 1;
        e.time += started.elapsed();
        e.bytes_sent += (values * size_of::<f32>()) as u64;
        self.exchanges.set(e);
    }
}

impl AllGather for MpiRanks {
    fn all_gather(&self, tensors: &[&Tensor]) -> Result<Vec<Tensor>> {
        let Some(first) = tensors.first() else {
            return Ok(Vec::new());
        };
        // As in `mean_tensors`: the wait for this rank's pending work is not the exchange's.
        first.gpu().sync()?;
        let started = Instant::now();
        let local = Tensor::to_vecs(tensors)?.concat();
        if local.is_empty() {
            return Err(Error::Usage("the ranks cannot gather empty tensors".into()));
        }
        let n = self.ranks();
        let mut all = vec![0.0f32; local.len() * n];
        self.world.all_gather_into(&local[..], &mut all[..]);
        // Each rank's block holds its tensors one after another; tensor k gathers its
        // part of every block.
        let mut gathered = Vec::with_capacity(tensors.len());
        let mut at = 0;
        for t in tensors {
            let size = t.numel();
            let values: Vec<f32> = all
                .chunks_exact(local.len())
                .flat_map(|block| &block[at..at + size])
                .copied()
                .collect();
            let mut shape = t.shape().to_vec();
            shape[0] *= n;
            gathered.push(Tensor::from_slice(first.gpu(), &shape, &values)?);
            at += size;
        }
        self.count_exchange(started, (n - 1) * local.len());
        Ok(gathered)
    }
}

impl Collective for MpiRanks {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn ranks(&self) -> usize {
        self.world.size() as usize
    }

    fn local_rank(&self) -> usize {
        self.local_rank
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    /// Reduce-scatter then all-gather, written out so the sums run in rank order: each
    /// rank owns one chunk of the values, receives every rank's copy of it
    /// (all-to-all), adds them up from rank 0 on, and all-gather hands each owner's
    /// chunk to everyone. Each rank sends and receives (N-1)/N of the values twice,
    /// as a ring all-reduce does.
    fn mean(&self, values: &mut [f32]) -> Result<()> {
        let n = self.ranks();
        if n == 1 || values.is_empty() {
            return Ok(());
        }
        let chunk = values.len().div_ceil(n);
        let mut padded = values.to_vec();
        padded.resize(chunk * n, 0.0);
        let mut pieces = vec![0.0f32; chunk * n];
        self.world.all_to_all_into(&padded[..], &mut pieces[..]);
        let mut own = pieces[..chunk].to_vec();
        for piece in pieces.chunks_exact(chunk).skip(1) {
            own.iter_mut().zip(piece).for_each(|(s, v)| *s += v);
        }
        own.iter_mut().for_each(|s| *s /= n as f32);
        self.world.all_gather_into(&own[..], &mut padded[..]);
        values.copy_from_slice(&padded[..values.len()]);
        let mut e = self.exchanges.get();
        e.bytes_sent += (2 * (n - 1) * chunk * size_of::<f32>()) as u64;
        self.exchanges.set(e);
        Ok(())
    }

    fn mean_tensors(&self, tensors: &[&Tensor]) -> Result<()> {
        // The download would wait for the step's work anyway; waiting first keeps
        // that work out of what the exchange is timed at.
        if let Some(t) = tensors.first() {
            t.gpu().sync()?;
        }
        let started = Instant::now();
        let mut host: Vec<f32> = Tensor::to_vecs(tensors)?.concat();
        self.mean(&mut host)?;
        let mut rest = &host[..];
        for t in tensors {
            let (this, after) = rest.split_at(t.numel());
            t.write(this)?;
            rest = after;
        }
        self.count_exchange(started, 0);
        Ok(())
    }

    fn max(&self, value: i32) -> Result<i32> {
        let mut max = 0i32;
        self.world
            .all_reduce_into(&value, &mut max, SystemOperation::max());
        Ok(max)
    }

    fn check_same_tensors(&self, what: &str, tensors: &[Tensor]) -> Result<()> {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        let all: Vec<&Tensor> = tensors.iter().collect();
        for values in Tensor::to_vecs(&all)? {
            hash.update(bytemuck::cast_slice(&values));
        }
        let digest = hash.finalize();
        let n = self.ranks();
        let mut all = vec![0u8; digest.len() * n];
        self.world.all_gather_into(&digest[..], &mut all[..]);
        // Every rank draws the same conclusion from the same hashes.
        let per_rank: Vec<&[u8]> = all.chunks_exact(digest.len()).collect();
        let differ: Vec<usize> = (1..n).filter(|&r| per_rank[r] != per_rank[0]).collect();
        match differ.is_empty() {
            true => Ok(()),
            false => Err(Error::Numeric(format!(
                "the ranks' {what} differ: rank 0's are not those of rank(s) {differ:?}. The \
                 ranks must run the same build, flags and data, on adapters that compute \
                 alike"
            ))),
        }
    }
}
