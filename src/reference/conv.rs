//! CPU twins of `ops::conv`: direct loops over every tap, written without the GEMM
//! view so they check the implicit-GEMM kernels independently. The transposed
//! convolution is written as the scatter it is defined as, not as a conv gradient.

use super::Array;
use crate::Activation;
use crate::conv_spec::{Conv2dSpec, ConvGeometry, ConvTranspose2dSpec};

/// Where tap (kh, kw) of output pixel (oh, ow) reads the input, if inside it.
fn source(g: &ConvGeometry, oh: usize, ow: usize, kh: usize, kw: usize) -> Option<(usize, usize)> {
    let ih = (oh * g.sh + kh).checked_sub(g.pad_top)?;
    let iw = (ow * g.sw + kw).checked_sub(g.pad_left)?;
    (ih < g.h && iw < g.w).then_some((ih, iw))
}

/// Calls `f(n, co, oh, ow, ci, kh, kw, ih, iw)` for every tap that lands inside the input.
fn each_tap(g: &ConvGeometry, mut f: impl FnMut([usize; 9])) {
    for n in 0..g.n {
        for co in 0..g.cout {
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    for ci in 0..g.cin {
                        for kh in 0..g.kh {
                            for kw in 0..g.kw {
                                if let Some((ih, iw)) = source(g, oh, ow, kh, kw) {
                                    f([n, co, oh, ow, ci, kh, kw, ih, iw]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn at4(shape: [usize; 4], i: [usize; 4]) -> usize {
    ((i[0] * shape[1] + i[1]) * shape[2] + i[2]) * shape[3] + i[3]
}

fn geometry(spec: &Conv2dSpec, x: &[usize], w: &[usize]) -> ConvGeometry {
    spec.geometry(x, w).expect("reference conv2d shapes")
}

pub fn conv2d(
    x: &Array,
    w: &Array,
    bias: Option<&Array>,
    spec: &Conv2dSpec,
    act: Activation,
) -> Array {
    let g = geometry(spec, &x.shape, &w.shape);
    let (xs, ws, ys) = (g.input_shape(), g.weight_shape(), g.output_shape());
    let mut y = vec![0.0; ys.iter().product()];
    each_tap(&g, |[n, co, oh, ow, ci, kh, kw, ih, iw]| {
        y[at4(ys, [n, co, oh, ow])] +=
            x.data[at4(xs, [n, ci, ih, iw])] * w.data[at4(ws, [co, ci, kh, kw])];
    });
    if let Some(b) = bias {
        for (i, v) in y.iter_mut().enumerate() {
            *v += b.data[(i / (g.ho * g.wo)) % g.cout];
        }
    }
    super::activation(&Array::new(&ys, y), act)
}

pub fn conv2d_backward_input(
    dy: &Array,
    w: &Array,
    input_shape: &[usize],
    spec: &Conv2dSpec,
) -> Array {
    let g = geometry(spec, input_shape, &w.shape);
    let (xs, ws, ys) = (g.input_shape(), g.weight_shape(), g.output_shape());
    let mut dx = vec![0.0; xs.iter().product()];
    each_tap(&g, |[n, co, oh, ow, ci, kh, kw, ih, iw]| {
        dx[at4(xs, [n, ci, ih, iw])] +=
            dy.data[at4(ys, [n, co, oh, ow])] * w.data[at4(ws, [co, ci, kh, kw])];
    });
    Array::new(&xs, dx)
}

pub fn conv2d_backward_weight(
    dy: &Array,
    x: &Array,
    weight_shape: &[usize],
    spec: &Conv2dSpec,
) -> Array {
    let g = geometry(spec, &x.shape, weight_shape);
    let (xs, ws, ys) = (g.input_shape(), g.weight_shape(), g.output_shape());
    let mut dw = vec![0.0; ws.iter().product()];
    each_tap(&g, |[n, co, oh, ow, ci, kh, kw, ih, iw]| {
        dw[at4(ws, [co, ci, kh, kw])] +=
            dy.data[at4(ys, [n, co, oh, ow])] * x.data[at4(xs, [n, ci, ih, iw])];
    });
    Array::new(&ws, dw)
}

/// The scatter col2im undoes im2col with: entry ((ci, kh, kw), (n, oh, ow)) of cols
/// (Cin·KH·KW, N·Ho·Wo) adds into the input pixel that tap (kh, kw) of output pixel
/// (oh, ow) reads, where that is inside; then the bias (Cin) and the activation.
pub fn col2im(cols: &Array, bias: Option<&Array>, g: &ConvGeometry, act: Activation) -> Array {
    let xs = g.input_shape();
    let columns = g.n * g.ho * g.wo;
    let mut dx = vec![0.0; xs.iter().product()];
    for n in 0..g.n {
        for oh in 0..g.ho {
            for ow in 0..g.wo {
                let col = (n * g.ho + oh) * g.wo + ow;
                for ci in 0..g.cin {
                    for kh in 0..g.kh {
                        for kw in 0..g.kw {
                            if let Some((ih, iw)) = source(g, oh, ow, kh, kw) {
                                let row = (ci * g.kh + kh) * g.kw + kw;
                                dx[at4(xs, [n, ci, ih, iw])] += cols.data[row * columns + col];
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(b) = bias {
        for (i, v) in dx.iter_mut().enumerate() {
            *v += b.data[(i / (g.h * g.w)) % g.cin];
        }
    }
    super::activation(&Array::new(&xs, dx), act)
}

pub fn conv2d_backward_bias(dy: &Array) -> Array {
    let [_, c, h, w] = <[usize; 4]>::try_from(&dy.shape[..]).expect("4-D gradient");
    let mut db = vec![0.0; c];
    for (i, v) in dy.data.iter().enumerate() {
        db[(i / (h * w)) % c] += v;
    }
    Array::new(&[c], db)
}

/// (n, ci, ih, iw) of the transposed convolution's input scatters into output pixel
/// (ih·s - pad + kh, iw·s - pad + kw) of every output channel, where that is inside.
fn each_scatter(
    x_shape: [usize; 4],
    y_shape: [usize; 4],
    t: &ConvGeometry,
    mut f: impl FnMut([usize; 8]),
) {
    let [n_, cin, h, w] = x_shape;
    let [_, cout, oh_, ow_] = y_shape;
    for n in 0..n_ {
        for ci in 0..cin {
            for ih in 0..h {
                for iw in 0..w {
                    for co in 0..cout {
                        for kh in 0..t.kh {
                            for kw in 0..t.kw {
                                let oh = (ih * t.sh + kh).checked_sub(t.pad_top);
                                let ow = (iw * t.sw + kw).checked_sub(t.pad_left);
                                if let (Some(oh), Some(ow)) = (oh, ow)
                                    && oh < oh_
                                    && ow < ow_
                                {
                                    f([n, ci, ih, iw, co, kh, kw, oh * ow_ + ow]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Shapes of a transposed convolution: input, weights (Cin, Cout, KH, KW), output.
fn transpose_shapes(
    spec: &ConvTranspose2dSpec,
    x: &[usize],
    w: &[usize],
) -> (ConvGeometry, [usize; 4], [usize; 4], [usize; 4]) {
    let g = spec
        .geometry(x, w)
        .expect("reference conv_transpose2d shapes");
    (
        g,
        g.output_shape(),
        [g.cout, g.cin, g.kh, g.kw],
        g.input_shape(),
    )
}

pub fn conv_transpose2d(
    x: &Array,
    w: &Array,
    bias: Option<&Array>,
    spec: &ConvTranspose2dSpec,
    act: Activation,
) -> Array {
    let (g, xs, ws, ys) = transpose_shapes(spec, &x.shape, &w.shape);
    let pixels = ys[2] * ys[3];
    let mut y = vec![0.0; ys.iter().product()];
    each_scatter(xs, ys, &g, |[n, ci, ih, iw, co, kh, kw, pix]| {
        y[(n * ys[1] + co) * pixels + pix] +=
            x.data[at4(xs, [n, ci, ih, iw])] * w.data[at4(ws, [ci, co, kh, kw])];
    });
    if let Some(b) = bias {
        for (i, v) in y.iter_mut().enumerate() {
            *v += b.data[(i / pixels) % ys[1]];
        }
    }
    super::activation(&Array::new(&ys, y), act)
}

pub fn conv_transpose2d_backward_input(
    dy: &Array,
    w: &Array,
    input_shape: &[usize],
    spec: &ConvTranspose2dSpec,
) -> Array {
    let (g, xs, ws, ys) = transpose_shapes(spec, input_shape, &w.shape);
    let pixels = ys[2] * ys[3];
    let mut dx = vec![0.0; xs.iter().product()];
    each_scatter(xs, ys, &g, |[n, ci, ih, iw, co, kh, kw, pix]| {
        dx[at4(xs, [n, ci, ih, iw])] +=
            dy.data[(n * ys[1] + co) * pixels + pix] * w.data[at4(ws, [ci, co, kh, kw])];
    });
    Array::new(&xs, dx)
}

pub fn conv_transpose2d_backward_weight(
    dy: &Array,
    x: &Array,
    weight_shape: &[usize],
    spec: &ConvTranspose2dSpec,
) -> Array {
    let (g, xs, ws, ys) = transpose_shapes(spec, &x.shape, weight_shape);
    let pixels = ys[2] * ys[3];
    let mut dw = vec![0.0; ws.iter().product()];
    each_scatter(xs, ys, &g, |[n, ci, ih, iw, co, kh, kw, pix]| {
        dw[at4(ws, [ci, co, kh, kw])] +=
            dy.data[(n * ys[1] + co) * pixels + pix] * x.data[at4(xs, [n, ci, ih, iw])];
    });
    Array::new(&ws, dw)
}
