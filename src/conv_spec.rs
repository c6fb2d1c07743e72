//! Convolution settings and the geometry they resolve to. Plain data shared by the GPU
//! launchers (`ops`) and their CPU twins (`reference`), so both read one definition.

use crate::{Result, error::shape_err};

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding (Keras "valid").
    Valid,
    /// Keras/TensorFlow "same": output = ceil(input / stride), with the odd pixel of
    /// padding at the bottom and right.
    Same,
    /// Explicit, possibly asymmetric, zero padding.
    Explicit {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
}

impl Padding {
    /// The same padding on every side (PyTorch's `padding=p`).
    pub fn symmetric(p: usize) -> Padding {
        Padding::Explicit {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }
}

/// A 2-D convolution: weights (Cout, Cin, KH, KW) over inputs (N, Cin, H, W).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dSpec {
    pub stride: (usize, usize),
    pub padding: Padding,
}

impl Conv2dSpec {
    pub fn new(stride: usize, padding: Padding) -> Conv2dSpec {
        Conv2dSpec {
            stride: (stride, stride),
            padding,
        }
    }
}

/// How a transposed convolution sizes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransposePadding {
    /// Keras/TensorFlow "same": output = input × stride.
    Same,
    /// PyTorch semantics: output = (input - 1)·stride - 2·padding + kernel + output_padding.
    Explicit {
        padding: (usize, usize),
        output_padding: (usize, usize),
    },
}

/// A 2-D transposed convolution: weights (Cin, Cout, KH, KW), as in PyTorch, over
/// inputs (N, Cin, H, W). It is the input gradient of the convolution that maps its
/// output back to its input, and is computed as exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose2dSpec {
    pub stride: (usize, usize),
    pub padding: TransposePadding,
}

impl ConvTranspose2dSpec {
    pub fn new(stride: usize, padding: TransposePadding) -> ConvTranspose2dSpec {
        ConvTranspose2dSpec {
            stride: (stride, stride),
            padding,
        }
    }

    /// PyTorch's `ConvTranspose2d(stride=s, padding=p, output_padding=op)`.
    pub fn torch(stride: usize, padding: usize, output_padding: usize) -> ConvTranspose2dSpec {
        ConvTranspose2dSpec::new(
            stride,
            TransposePadding::Explicit {
                padding: (padding, padding),
                output_padding: (output_padding, output_padding),
            },
        )
    }
}

/// A convolution resolved against concrete shapes: the input x (n, cin, h, w), the
/// weights (cout, cin, kh, kw) and the output (n, cout, ho, wo). A transposed
/// convolution is described by the convolution it transposes: its output is `x` here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub n: usize,
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub ho: usize,
    pub wo: usize,
}

impl ConvGeometry {
    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.cin, self.h, self.w]
    }

    pub fn weight_shape(&self) -> [usize; 4] {
        [self.cout, self.cin, self.kh, self.kw]
    }

    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.cout, self.ho, self.wo]
    }

    /// Multiply-adds in one pass (forward, input gradient or weight gradient alike).
    pub fn macs(&self) -> usize {
        self.n * self.cout * self.ho * self.wo * self.cin * self.kh * self.kw
    }
}

fn dims4(shape: &[usize], what: &str, op: &str) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(shape).map_err(|_| shape_err!("{op}: {what} must be 4-D, got {shape:?}"))
}

/// "same" padding along one axis: (before, after).
fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// Output size along one axis, or an error when the kernel outgrows the padded input.
fn output_size(
    input: usize,
    before: usize,
    after: usize,
    kernel: usize,
    stride: usize,
    op: &str,
    axis: &str,
) -> Result<usize> {
    let padded = input + before + after;
    if kernel > padded {
        return Err(shape_err!(
            "{op}: kernel {axis} {kernel} is larger than the padded input {axis} {padded} ({input} + padding {before} + {after})"
        ));
    }
    Ok((padded - kernel) / stride + 1)
}

fn check_stride(stride: (usize, usize), op: &str) -> Result<()> {
    if stride.0 == 0 || stride.1 == 0 {
        return Err(shape_err!(
            "{op}: stride must be at least 1, got {stride:?}"
        ));
    }
    Ok(())
}

impl Conv2dSpec {
    /// Resolves against x (N, Cin, H, W) and weights (Cout, Cin, KH, KW).
    pub fn geometry(&self, x: &[usize], weight: &[usize]) -> Result<ConvGeometry> {
        let op = "conv2d";
        let [n, cin, h, w] = dims4(x, "input", op)?;
        let [cout, wcin, kh, kw] = dims4(weight, "weight", op)?;
        if cin != wcin {
            return Err(shape_err!(
                "{op}: input {x:?} has {cin} channels but weight {weight:?} expects {wcin} (weights are (Cout, Cin, KH, KW))"
            ));
        }
        check_stride(self.stride, op)?;
        let (sh, sw) = self.stride;
        let (top, bottom, left, right) = match self.padding {
            Padding::Valid => (0, 0, 0, 0),
            Padding::Same => {
                let (t, b) = same_padding(h, kh, sh);
                let (l, r) = same_padding(w, kw, sw);
                (t, b, l, r)
            }
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => (top, bottom, left, right),
        };
        let ho = output_size(h, top, bottom, kh, sh, op, "height")?;
        let wo = output_size(w, left, right, kw, sw, op, "width")?;
        Ok(ConvGeometry {
            n,
            cin,
            h,
            w,
            cout,
            kh,
            kw,
            sh,
            sw,
            pad_top: top,
            pad_left: left,
            ho,
            wo,
        })
    }
}

impl ConvTranspose2dSpec {
    /// Resolves against x (N, Cin, H, W) and weights (Cin, Cout, KH, KW). The geometry
    /// returned is that of the convolution being transposed: its `output_shape()` is
    /// this op's input and its `input_shape()` this op's output.
    pub fn geometry(&self, x: &[usize], weight: &[usize]) -> Result<ConvGeometry> {
        let op = "conv_transpose2d";
        let [n, cin, h, w] = dims4(x, "input", op)?;
        let [wcin, cout, kh, kw] = dims4(weight, "weight", op)?;
        if cin != wcin {
            return Err(shape_err!(
                "{op}: input {x:?} has {cin} channels but weight {weight:?} expects {wcin} (weights are (Cin, Cout, KH, KW))"
            ));
        }
        check_stride(self.stride, op)?;
        if h == 0 || w == 0 {
            return Err(shape_err!("{op}: input {x:?} is empty"));
        }
        let (sh, sw) = self.stride;
        let (out_h, out_w, pad_top, pad_left) = match self.padding {
            TransposePadding::Same => {
                let (out_h, out_w) = (h * sh, w * sw);
                (
                    out_h,
                    out_w,
                    same_padding(out_h, kh, sh).0,
                    same_padding(out_w, kw, sw).0,
                )
            }
            TransposePadding::Explicit {
                padding,
                output_padding,
            } => {
                if output_padding.0 >= sh || output_padding.1 >= sw {
                    return Err(shape_err!(
                        "{op}: output_padding {output_padding:?} must be smaller than the stride {:?}",
                        self.stride
                    ));
                }
                let size = |input: usize, k: usize, s: usize, p: usize, op_: usize, axis: &str| {
                    ((input - 1) * s + k + op_).checked_sub(2 * p).filter(|&v| v > 0).ok_or_else(|| {
                        shape_err!("{op}: padding {p} leaves no output {axis} for input {input}, kernel {k}, stride {s}")
                    })
                };
                let out_h = size(h, kh, sh, padding.0, output_padding.0, "height")?;
                let out_w = size(w, kw, sw, padding.1, output_padding.1, "width")?;
                (out_h, out_w, padding.0, padding.1)
            }
        };
        // The transposed convolution: input (n, cout, out_h, out_w), output (n, cin, h, w).
        Ok(ConvGeometry {
            n,
            cin: cout,
            h: out_h,
            w: out_w,
            cout: cin,
            kh,
            kw,
            sh,
            sw,
            pad_top,
            pad_left,
            ho: h,
            wo: w,
        })
    }
}
