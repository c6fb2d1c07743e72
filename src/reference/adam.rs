//! CPU twin of `ops::adam_step`.

use super::Array;
use crate::AdamConfig;

pub fn adam_step(
    param: &mut Array,
    grad: &Array,
    m: &mut Array,
    v: &mut Array,
    config: &AdamConfig,
    step: u32,
) {
    let (b1, b2) = (f64::from(config.beta1), f64::from(config.beta2));
    let c1 = 1.0 - b1.powi(step as i32);
    let c2 = 1.0 - b2.powi(step as i32);
    let (lr, eps, wd) = (
        f64::from(config.lr),
        f64::from(config.eps),
        f64::from(config.weight_decay),
    );
    for i in 0..param.numel() {
        let w = param.data[i];
        let g = grad.data[i] + if config.decoupled { 0.0 } else { wd * w };
        m.data[i] = b1 * m.data[i] + (1.0 - b1) * g;
        v.data[i] = b2 * v.data[i] + (1.0 - b2) * g * g;
        let update = (m.data[i] / c1) / ((v.data[i] / c2).sqrt() + eps)
            + if config.decoupled { wd * w } else { 0.0 };
        param.data[i] = w - lr * update;
    }
}
