//! Op launchers: each validates shapes in Rust, then records its kernel's dispatch.
//! Their CPU twins, with the same names and argument order, are in `reference`.

mod conv;
mod elementwise;
mod fill;
mod matmul;
mod reduce;

pub use conv::{
    conv_transpose2d, conv_transpose2d_backward_input, conv_transpose2d_backward_weight, conv2d,
    conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight,
};
pub use elementwise::{
    add, add_assign, leaky_relu, leaky_relu_backward, mul, relu, relu_backward, scale, sigmoid,
    sigmoid_backward, tanh, tanh_backward,
};
pub use fill::{copy, fill, full, zeros};
pub use matmul::{matmul, matmul_backward, matmul_bias, matmul_nt, matmul_tn, matmul_with};
pub use reduce::{
    mean, mean_axis, mean_axis_backward, mean_backward, sum, sum_axis, sum_axis_backward,
    sum_backward,
};
