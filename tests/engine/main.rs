//! Engine tests above the kernels: the autograd tape against CPU-reference gradients
//! and finite differences, data loading and its errors, checkpoints, and real DCGAN
//! training steps on real MNIST (from ../shared/data/mnist).

mod autograd;
mod checkpoint;
mod cifar10;
mod common;
mod data;
mod data_parallel;
mod dcgan;
mod eval;
mod folder;
mod guards;
mod metrics;
mod plans;
mod processes;
mod recipes;
mod second_order;
mod training;
