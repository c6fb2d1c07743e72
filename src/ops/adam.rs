//! The Adam / AdamW update of one parameter tensor, in place.

use crate::AdamConfig;
use crate::gpu::KernelKey;
use crate::{Result, Tensor, error::shape_err};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    decoupled: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    c1: f32,
    c2: f32,
    _pad: [u32; 3],
}

/// Step `step` (counting from 1) of Adam on `param`, from `grad`, updating the first
/// and second moments `m` and `v` in place.
pub fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    config: &AdamConfig,
    step: u32,
) -> Result<()> {
    for (what, t) in [
        ("gradient", grad),
        ("first moment", m),
        ("second moment", v),
    ] {
        if t.shape() != param.shape() {
            return Err(shape_err!(
                "adam_step: {what} {:?} does not match the parameter {:?}",
                t.shape(),
                param.shape()
            ));
        }
    }
    if step == 0 {
        return Err(shape_err!("adam_step: steps count from 1"));
    }
    let n = param.numel();
    if n == 0 {
        return Ok(());
    }
    let exp = i32::try_from(step).unwrap_or(i32::MAX);
    let params = Params {
        n: crate::ops::dim(n, "adam_step")?,
        decoupled: config.decoupled.into(),
        lr: config.lr,
        beta1: config.beta1,
        beta2: config.beta2,
        eps: config.eps,
        weight_decay: config.weight_decay,
        c1: (1.0 - f64::from(config.beta1).powi(exp)) as f32,
        c2: (1.0 - f64::from(config.beta2).powi(exp)) as f32,
        _pad: [0; 3],
    };
    let gpu = param.gpu();
    gpu.dispatch(
        &KernelKey::new("adam", "adam_step"),
        &params,
        &[param.buffer(), grad.buffer(), m.buffer(), v.buffer()],
        gpu.grid((n as u64).div_ceil(256))?,
    );
    Ok(())
}
