//! The generator and discriminator, written as briefly as their Keras and PyTorch
//! originals.

use crate::cli::{Arch, Args};
use duel::nn::{Init, Sequential};
use duel::{BatchNormConfig, Conv2d, ConvTranspose2d, Gpu, Padding, Result};

pub fn generator(gpu: &Gpu, args: &Args) -> Result<Sequential> {
    let (nz, ngf, seed) = (args.nz, args.ngf, args.seed);
    match args.arch {
        Arch::Dcgan => Sequential::new(gpu, "g", &[nz], Init::Dcgan, seed)
            .dense(7 * 7 * ngf * 2, false)?
            .batch_norm()?
            .relu()?
            .reshape(&[ngf * 2, 7, 7])?
            .conv_transpose2d(ngf, 4, ConvTranspose2d::torch(2, 1, 0), false)?
            .batch_norm()?
            .relu()?
            .conv_transpose2d(1, 4, ConvTranspose2d::torch(2, 1, 0), false)?
            .tanh(),
        Arch::Keras => {
            let mut g = Sequential::new(gpu, "g", &[nz], Init::GlorotUniform, seed);
            g.batch_norm_config = BatchNormConfig::keras(0.8, 1e-3);
            let same = Conv2d::new(1, Padding::Same);
            g.dense(7 * 7 * ngf * 4, false)?
                .batch_norm()?
                .leaky_relu(0.2)?
                .reshape(&[ngf * 4, 7, 7])?
                .upsample2d()?
                .conv2d(ngf * 2, 5, same, false)?
                .batch_norm()?
                .leaky_relu(0.2)?
                .upsample2d()?
                .conv2d(ngf, 5, same, false)?
                .batch_norm()?
                .leaky_relu(0.2)?
                .conv2d(1, 5, same, false)?
                .tanh()
        }
    }
}

pub fn discriminator(gpu: &Gpu, args: &Args) -> Result<Sequential> {
    let (ndf, seed) = (args.ndf, args.seed.wrapping_add(1));
    match args.arch {
        Arch::Dcgan => Sequential::new(gpu, "d", &[1, 28, 28], Init::Dcgan, seed)
            .conv2d(ndf, 4, Conv2d::new(2, Padding::symmetric(1)), false)?
            .leaky_relu(0.2)?
            .conv2d(ndf * 2, 4, Conv2d::new(2, Padding::symmetric(1)), false)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .flatten()?
            .dense(1, true),
        Arch::Keras => Sequential::new(gpu, "d", &[1, 28, 28], Init::GlorotUniform, seed)
            .conv2d(ndf, 5, Conv2d::new(2, Padding::Same), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .conv2d(ndf * 2, 5, Conv2d::new(2, Padding::Same), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .flatten()?
            .dense(1, true),
    }
}
