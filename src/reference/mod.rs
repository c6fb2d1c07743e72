//! CPU twins of every GPU op: the same names and argument order as `ops`, plain loops,
//! and f64 throughout so that they can serve as the oracle and be gradient-checked.
//! Nothing here depends on the GPU.

mod adam;
mod array;
mod batch_norm;
mod classify;
mod conv;
mod elementwise;
mod fill;
mod health;
mod loss;
mod matmul;
mod random;
mod reduce;
mod upsample;

pub use adam::adam_step;
pub use array::Array;
pub use batch_norm::{
    BatchNormSaved, batch_norm_backward, batch_norm_backward_merged, batch_norm_eval,
    batch_norm_partial_grad, batch_norm_partial_stats, batch_norm_train, batch_norm_train_merged,
};
pub use classify::{accuracy, argmax, max_softmax};
pub use conv::{
    col2im, conv_transpose2d, conv_transpose2d_backward_input, conv_transpose2d_backward_weight,
    conv2d, conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight,
};
pub use elementwise::{
    activation, activation_backward, add, add_assign, lerp_assign, mul, rsqrt, scale, sub,
};
pub use fill::{copy, fill, full, zeros};
pub use health::health;
pub use loss::{
    bce, bce_backward, bce_with_logits, bce_with_logits_backward, softmax_cross_entropy,
    softmax_cross_entropy_backward, softmax_cross_entropy_soft,
    softmax_cross_entropy_soft_backward,
};
pub use matmul::{dense, matmul, matmul_backward, matmul_nt, matmul_tn, matmul_with};
pub use random::{dropout, dropout_backward, fill_normal, fill_normal_part, fill_uniform, philox};
pub use reduce::{
    mean, mean_axis, mean_axis_backward, mean_backward, sum, sum_axis, sum_axis_backward,
    sum_backward,
};
pub use upsample::{upsample, upsample_backward};
