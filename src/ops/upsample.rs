//! Nearest-neighbour upsampling (Keras UpSampling2D) and its backward.

use crate::{Result, Tensor, error::shape_err};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    planes: u32,
    h: u32,
    w: u32,
    fh: u32,
    fw: u32,
    _pad: [u32; 3],
}

fn dims(shape: &[usize], op: &str) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(shape)
        .map_err(|_| shape_err!("{op}: expected (N, C, H, W), got {shape:?}"))
}

fn launch(
    entry: &'static str,
    src: &Tensor,
    out: &Tensor,
    small: [usize; 4],
    factor: (usize, usize),
) -> Result<()> {
    if out.numel() == 0 {
        return Ok(());
    }
    let idx = |v: usize| crate::ops::dim(v, "upsample");
    let params = Params {
        planes: idx(small[0] * small[1])?,
        h: idx(small[2])?,
        w: idx(small[3])?,
        fh: idx(factor.0)?,
        fw: idx(factor.1)?,
        _pad: [0; 3],
    };
    let gpu = out.gpu();
    crate::ops::dispatch_flat(
        gpu,
        ("upsample", entry),
        &params,
        &[src.buffer(), out.buffer()],
        out.numel(),
    )?;
    Ok(())
}

fn check_factor(factor: (usize, usize), op: &str) -> Result<()> {
    if factor.0 == 0 || factor.1 == 0 {
        return Err(shape_err!(
            "{op}: factors must be at least 1, got {factor:?}"
        ));
    }
    Ok(())
}

/// y (N, C, H·fh, W·fw) repeats each pixel of x (N, C, H, W) fh × fw times.
pub fn upsample(x: &Tensor, factor: (usize, usize)) -> Result<Tensor> {
    check_factor(factor, "upsample")?;
    let [n, c, h, w] = dims(x.shape(), "upsample")?;
    let y = Tensor::uninit(x.gpu(), &[n, c, h * factor.0, w * factor.1])?;
    launch("upsample", x, &y, [n, c, h, w], factor)?;
    Ok(y)
}

/// dx (N, C, H, W): each element the sum of the fh × fw gradients of its copies.
pub fn upsample_backward(dy: &Tensor, factor: (usize, usize)) -> Result<Tensor> {
    check_factor(factor, "upsample_backward")?;
    let [n, c, bh, bw] = dims(dy.shape(), "upsample_backward")?;
    if bh % factor.0 != 0 || bw % factor.1 != 0 {
        return Err(shape_err!(
            "upsample_backward: gradient {:?} is not a multiple of the factors {factor:?}",
            dy.shape()
        ));
    }
    let small = [n, c, bh / factor.0, bw / factor.1];
    let dx = Tensor::uninit(dy.gpu(), &small)?;
    launch("upsample_backward", dy, &dx, small, factor)?;
    Ok(dx)
}
