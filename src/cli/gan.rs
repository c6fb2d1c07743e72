//! The GAN examples' flags (mnist_dcgan, cifar10_dcgan, mlp_gan) and the settings they
//! make.

use crate::data::ImageSet;
use crate::gan::{Arch, Collective, Dataset, GanExample, Loss, ModelConfig, Recipe, TrainConfig};
use crate::metrics::default_classifier_path;
use crate::{AdamConfig, Gpu, Result};
use clap::parser::ValueSource;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::rc::Rc;

/// Whose Adam defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Optimizer {
    /// DCGAN's β1 0.5 and ε 1e-8, with lr 4e-4 (see --lr).
    Dcgan,
    /// Keras's `Adam()`: lr 1e-3, β1 0.9, ε 1e-7.
    Keras,
}

/// The flags. Those without a default here take the example's (`GanExample`).
#[derive(Debug, Clone, Parser)]
#[command(version)]
pub struct GanArgs {
    /// Passes over the training images, when --max-steps is 0.
    #[arg(long)]
    pub epochs: usize,
    /// Images per step [an --arch article's own, when it has one].
    #[arg(long)]
    pub batch_size: usize,
    /// bce (non-saturating, on D's logits), lsgan (least squares on D's output), hinge,
    /// or wgan (Wasserstein: pair it with --gp) [default: the example's, for its
    /// default --arch; bce for another].
    #[arg(long)]
    pub loss: Loss,
    /// R1 penalty weight γ: γ/2 · E‖∇ₓD(x)‖² on real images, added to D's loss.
    #[arg(long, default_value_t = 0.0)]
    pub r1: f32,
    /// WGAN-GP penalty weight λ: λ · E(‖∇D(x̂)‖ - 1)² on interpolates of real and
    /// fake images, added to D's loss.
    #[arg(long, default_value_t = 0.0)]
    pub gp: f32,
    /// D steps per G step: every step trains D, every N-th also G (5 with wgan).
    #[arg(long, default_value_t = 1)]
    pub n_critic: usize,
    /// Train a conditional GAN: G takes each sample's class (one-hot, after its noise)
    /// and D projects its features on a class embedding. Grids show a row per class;
    /// --export-samples also writes the classes to `labels-idx1-ubyte`; the metric adds
    /// label accuracy. `--conditional false` turns it off [default: the example's,
    /// for its default --arch].
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub conditional: bool,
    /// Divide the weight of every Dense and conv of D by its spectral norm (one power
    /// iteration a step). `--spectral-norm false` turns it off [default: the example's,
    /// for its default --arch].
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub spectral_norm: bool,
    /// Keep an exponential moving average of G's weights with this decay (0.999 is
    /// usual), and draw grids, scores and exported samples from it; 0 turns it off
    /// [default: the example's, for its default --arch].
    #[arg(long)]
    pub ema: f32,
    /// Adam's defaults [an --arch article's own, when it has one].
    #[arg(long, value_enum, default_value_t = Optimizer::Dcgan)]
    pub optimizer: Optimizer,
    /// Adam learning rate, for both networks [default: 4e-4 with --optimizer dcgan,
    /// 1e-3 with keras]. With dcgan, twice DCGAN's 2e-4: on MNIST with batch 32 and a
    /// run of 1.5 epochs it reached FD 160 by step 2,000 where 2e-4 reached 266.
    #[arg(long)]
    pub lr: Option<f32>,
    /// The generator's learning rate, over --lr.
    #[arg(long)]
    pub lr_g: Option<f32>,
    /// The discriminator's learning rate, over --lr.
    #[arg(long)]
    pub lr_d: Option<f32>,
    /// Adam β1 [default: the optimizer's].
    #[arg(long)]
    pub beta1: Option<f32>,
    /// Size of the noise vector z.
    #[arg(long, default_value_t = 100)]
    pub nz: usize,
    /// Generator width: channels of its last hidden layer.
    #[arg(long)]
    pub ngf: usize,
    /// Discriminator width: channels of its first layer.
    #[arg(long)]
    pub ndf: usize,
    /// The models: dcgan, keras, mlp, or (on MNIST) the Keras articles' article-a,
    /// article-b and article-c (see duel::gan::Arch).
    #[arg(long)]
    pub arch: Arch,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory holding the data set's files (else $DUEL_DATA, else the user cache,
    /// else they are downloaded); for folder_dcgan, the folder of images.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The side of the square images a folder's are made (32, 64 or 128 for --arch
    /// dcgan).
    #[arg(long, default_value_t = 64)]
    pub image_size: usize,
    /// 3 for colour, 1 for grey: what a folder's images become.
    #[arg(long, default_value_t = 3, value_parser = parse_channels)]
    pub channels: u8,
    /// Where grids, metrics, plots and checkpoints go.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Continue from this checkpoint. It must come from the same --arch, --nz, --ngf,
    /// --ndf, --seed and --batch-size, and resuming is then bit-exact; a different
    /// --loss or Adam setting is taken, with a note.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Start afresh in an --out that holds a run, deleting its checkpoint, grids and
    /// metrics first. Without it (or --resume) such a run is refused.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Train this many steps in all (a step trains D once and G once), however many
    /// epochs that takes; 0 trains --epochs epochs instead. The default keeps a run on
    /// a 2-core CPU (lavapipe) within minutes; on a GPU, raise it.
    #[arg(long)]
    pub max_steps: usize,
    /// Also write a sample grid and a checkpoint every this many steps.
    #[arg(long)]
    pub sample_every: usize,
    /// Read the losses back every this many steps for the progress bar and metrics.
    #[arg(long, default_value_t = 10)]
    pub log_every: usize,
    /// At the end, write this many generated images to `samples-idx3-ubyte`: IDX bytes,
    /// (N, H, W) for grey images, (N, H, W, 3) RGB for colour.
    #[arg(long, default_value_t = 0)]
    pub export_samples: usize,
    /// Score --eval-samples generated images with the data set's classifier every this
    /// many steps (and at the end): FD, confidence and class entropy go to metrics.csv
    /// and fd_curve.png. 0 turns it off.
    #[arg(long)]
    pub eval_every: usize,
    #[arg(long)]
    pub eval_samples: usize,
    /// Weights of the classifier behind the metric [default: the data set's, in
    /// assets/].
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Train on every rank of an MPI job (`mpirun -np N … --data-parallel`): each rank
    /// trains its slice of the global --batch-size on its own adapter, and gradients
    /// are averaged before each Adam step. Needs a build with `--features mpi`.
    #[arg(long)]
    pub data_parallel: bool,
    /// With --data-parallel: batch norm normalises over the global batch, the ranks
    /// exchanging each layer's statistics in the forward pass and its gradient sums in
    /// the backward (PyTorch's SyncBatchNorm), so N ranks train as one process on the
    /// whole batch would. Without it each rank normalises over its own slice.
    #[arg(long, requires = "data_parallel")]
    pub sync_batch_norm: bool,
}

impl GanArgs {
    /// Parses a command line (`args`, program name first) with `example`'s defaults;
    /// an `--arch` article brings its batch size and optimizer unless those flags are
    /// given.
    pub fn parse_for<I, T>(example: &GanExample, args: I) -> GanArgs
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let (mut args, matches) = super::parse::<GanArgs, _, _>(args, |command| {
            let defaults = [
                ("epochs", example.epochs.to_string()),
                ("batch_size", example.batch_size.to_string()),
                ("arch", example.arch.to_string()),
                ("ngf", example.width.to_string()),
                ("ndf", example.width.to_string()),
                ("max_steps", example.max_steps.to_string()),
                ("sample_every", example.sample_every.to_string()),
                ("eval_every", example.eval_every.to_string()),
                ("eval_samples", example.eval_samples.to_string()),
                ("conditional", example.conditional.to_string()),
                ("ema", example.ema.to_string()),
                ("loss", example.loss.to_string().to_ascii_lowercase()),
                ("spectral_norm", example.spectral_norm.to_string()),
            ];
            let command = defaults
                .into_iter()
                .fold(command.about(example.about), |command, (id, value)| {
                    super::with_default(command, id, value)
                });
            // Only a folder's images are shaped by flags.
            let folder = matches!(example.set, ImageSet::Folder { .. });
            ["image_size", "channels"]
                .into_iter()
                .fold(command, |command, id| {
                    command.mut_arg(id, |a| a.hide(!folder))
                })
        });
        let defaulted = |id| matches.value_source(id) == Some(ValueSource::DefaultValue);
        // The example's recipe was chosen for its own models.
        if args.arch != example.arch {
            if defaulted("conditional") {
                args.conditional = false;
            }
            if defaulted("ema") {
                args.ema = 0.0;
            }
            if defaulted("loss") {
                args.loss = Loss::Bce;
            }
            if defaulted("spectral_norm") {
                args.spectral_norm = false;
            }
        }
        if let Some(preset) = args.arch.preset() {
            if defaulted("batch_size") {
                args.batch_size = preset.batch_size;
            }
            if defaulted("optimizer") && preset.keras_adam {
                args.optimizer = Optimizer::Keras;
            }
        }
        args
    }

    pub fn model_config(&self, set: ImageSet) -> ModelConfig {
        ModelConfig {
            arch: self.arch,
            image: set.image_shape(),
            nz: self.nz,
            ngf: self.ngf,
            ndf: self.ndf,
            seed: self.seed,
            classes: if self.conditional { set.classes() } else { 0 },
        }
    }

    /// `set` as the flags shape it: a folder's side and channels.
    pub fn image_set(&self, set: ImageSet) -> ImageSet {
        match set {
            ImageSet::Folder { classes, .. } => ImageSet::Folder {
                side: self.image_size,
                channels: usize::from(self.channels),
                classes,
            },
            set => set,
        }
    }

    /// The optimizer's defaults, with `lr` over --lr over the default learning rate.
    fn adam(&self, lr: Option<f32>) -> AdamConfig {
        let base = match self.optimizer {
            Optimizer::Dcgan => AdamConfig {
                lr: 4e-4,
                ..AdamConfig::default()
            },
            Optimizer::Keras => AdamConfig::keras(),
        };
        AdamConfig {
            lr: lr.or(self.lr).unwrap_or(base.lr),
            beta1: self.beta1.unwrap_or(base.beta1),
            ..base
        }
    }

    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            recipe: Recipe {
                loss: self.loss,
                r1: self.r1,
                gp: self.gp,
                n_critic: self.n_critic,
                spectral_norm: self.spectral_norm,
                ema: self.ema,
                adam_g: self.adam(self.lr_g),
                adam_d: self.adam(self.lr_d),
            },
            out: self.out.clone(),
            resume: self.resume.clone(),
            overwrite: self.overwrite,
            max_steps: self.max_steps,
            sample_every: self.sample_every,
            log_every: self.log_every,
            export_samples: self.export_samples,
            eval_every: self.eval_every,
            eval_samples: self.eval_samples,
            sync_batch_norm: self.sync_batch_norm,
        }
    }
}

/// A GAN example's whole program: parse the flags, load the data, train.
pub fn gan_main(example: &GanExample) {
    super::init();
    let args = GanArgs::parse_for(example, std::env::args_os());
    super::exit_on_error(run_gan(example.set, &args));
}

/// Trains as the flags say on `set`, until the last step or a signal (see
/// `duel::interrupt`). Everything the flags alone can refuse is refused before the
/// device opens, and the batch size against the data set read, before the metric's
/// floor is computed. The lock on --out is taken before the data loads, so that a
/// second run into it is refused at once.
///
/// With --data-parallel, as one rank of an MPI job: a rank's error ends every rank
/// (MPI_Abort) after it says which rank failed and why, so none waits forever on
/// one that is gone; a stop by signal ends them all together, each saying so, and
/// exits with the signal's status.
pub fn run_gan(set: ImageSet, args: &GanArgs) -> Result<()> {
    let ranks = join_ranks(args.data_parallel)?;
    let result = train_gan(set, args, &ranks);
    let (Err(e), Some(ranks)) = (&result, ranks) else {
        return result;
    };
    say(&format!(
        "error on rank {} of {}: {e}",
        ranks.rank(),
        ranks.ranks()
    ));
    if !matches!(e, crate::Error::Interrupted { .. }) {
        ranks.abort(e.exit_code())
    }
    // Every rank stopped after the same step: MPI finalizes as the ranks drop.
    drop(ranks);
    std::process::exit(e.exit_code())
}

/// `run_gan`, on `ranks` when data-parallel.
fn train_gan(set: ImageSet, args: &GanArgs, ranks: &Option<Rc<dyn Collective>>) -> Result<()> {
    let set = args.image_set(set);
    let (config, model) = (args.train_config(), args.model_config(set));
    crate::gan::check_settings(&config, &model)?;
    // No copy of the set has more images than the whole: refused before it is read.
    if let Some(full) = set.full_train_count() {
        crate::gan::check_batch(config.batch_size, full, set)?;
    }
    // Rank 0 alone looks after --out.
    let root = ranks.as_ref().is_none_or(|r| r.rank() == 0);
    // Before --out is looked at: a live run there is named as the reason to refuse.
    let _lock = match root {
        true => Some(crate::io::OutputLock::take(&config.out)?),
        false => None,
    };
    // A folder's classes, which a resumed checkpoint must match, are known only once
    // it is read.
    let folder = matches!(set, ImageSet::Folder { .. });
    if !folder && root {
        crate::gan::check_run(&config, &model)?;
    }
    let gpu = open_gpu(ranks.as_deref())?;
    let classifier = match (args.eval_every, &args.classifier) {
        (0, _) => None,
        (_, Some(path)) => Some(path.clone()),
        (_, None) => Some(default_classifier_path(set)),
    };
    let (set, train, test) = set.load(args.data_dir.as_deref())?;
    crate::gan::check_batch(config.batch_size, train.count, set)?;
    let model = args.model_config(set);
    if folder && root {
        crate::gan::check_run(&config, &model)?;
    }
    if args.conditional && set.classes() < 2 {
        return Err(crate::Error::Usage(format!(
            "--conditional needs at least two classes, and the {} has {}: put each \
             class's images in a subfolder of its own",
            set.name(),
            set.classes()
        )));
    }
    let data = Dataset::new(&gpu, set, &train, &test, classifier.as_deref())?;
    // The images now live on the GPU, which on a CPU device is host memory too: the
    // decoded copy goes before training rather than after.
    drop((train, test));
    crate::gan::run_locked(&gpu, &config, &model, &data, ranks.clone())
}

/// The ranks of this MPI job, with --data-parallel.
#[cfg(feature = "mpi")]
fn join_ranks(data_parallel: bool) -> Result<Option<Rc<dyn Collective>>> {
    if !data_parallel {
        return Ok(None);
    }
    let ranks = crate::gan::MpiRanks::join()?;
    if let (0, Some(note)) = (ranks.rank(), crate::gan::signal_grace_note()) {
        eprintln!("{note}");
    }
    Ok(Some(Rc::new(ranks)))
}

/// --data-parallel is refused in a build without MPI.
#[cfg(not(feature = "mpi"))]
fn join_ranks(data_parallel: bool) -> Result<Option<Rc<dyn Collective>>> {
    match data_parallel {
        true => Err(crate::Error::Usage(
            "--data-parallel needs duel built with MPI: install Open MPI with `bash \
             scripts/install-deps.sh --mpi`, build with `--features mpi`, and launch with \
             `mpirun -np N`"
                .into(),
        )),
        false => Ok(None),
    }
}

/// This process's adapter: a data-parallel rank takes the `local rank mod count`-th
/// of the machine's most capable adapters, and says which.
fn open_gpu(ranks: Option<&dyn Collective>) -> Result<Gpu> {
    let Some(ranks) = ranks else {
        let gpu = Gpu::new()?;
        eprintln!("adapter: {}", gpu.adapter());
        return Ok(gpu);
    };
    let options = crate::gpu::GpuOptions {
        adapter_index: Some(ranks.local_rank()),
        ..crate::gpu::GpuOptions::from_env()?
    };
    let gpu = Gpu::with_options(&options)?;
    say(&format!(
        "rank {} (local rank {}): adapter {}",
        ranks.rank(),
        ranks.local_rank(),
        gpu.adapter()
    ));
    Ok(gpu)
}

/// A line on stderr in one write: `eprintln!` writes its pieces one by one, and the
/// launcher, merging the ranks' output, may interleave another rank's between them.
fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// --channels: 1 or 3, refused at once otherwise rather than once the folder is read.
fn parse_channels(value: &str) -> std::result::Result<u8, String> {
    match value {
        "1" => Ok(1),
        "3" => Ok(3),
        _ => Err("use 1 (grey) or 3 (colour)".into()),
    }
}
