//! Engine tests above the kernels: the autograd tape against CPU-reference gradients
//! and finite differences, data loading and its errors, checkpoints, and real DCGAN
//! training steps on real MNIST (from ../shared/data/mnist).

mod autograd;
mod checkpoint;
mod common;
mod data;
mod dcgan;
mod metrics;
mod training;

// The example's own modules, so the tests train exactly what it trains.
#[path = "../../examples/mnist_dcgan/chart.rs"]
mod chart;
#[path = "../../examples/mnist_dcgan/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../../examples/mnist_dcgan/gan.rs"]
mod gan;
#[path = "../../examples/mnist_dcgan/models.rs"]
mod models;
#[path = "../../examples/mnist_dcgan/report.rs"]
mod report;
#[path = "../../examples/mnist_dcgan/train.rs"]
mod train;
