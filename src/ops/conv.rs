//! conv2d and conv_transpose2d with their gradients, as implicit GEMMs on the shared
//! GEMM core. Three preludes cover all six passes, because a transposed convolution
//! is the input gradient of the convolution it transposes:
//!
//! | pass                        | prelude               |
//! |-----------------------------|-----------------------|
//! | conv forward                | gemm_conv_forward     |
//! | conv input gradient         | gemm_conv_input_grad  |
//! | convT forward               | gemm_conv_input_grad  |
//! | convT input gradient        | gemm_conv_forward     |
//! | conv and convT weight grad  | gemm_conv_weight_grad |
//!
//! A convolution with at most three input channels (an image layer: D's first conv,
//! G's last convT) takes its input gradient through columns instead: one GEMM
//! (gemm_conv_columns) and col2im (see `by_columns`).

use super::gemm::Gemm;
use crate::conv_spec::{Conv2dSpec, ConvGeometry, ConvTranspose2dSpec};
use crate::error::shape_err;
use crate::gpu::{BufferRange, GemmPlan, KernelKey};
use crate::{Activation, Gpu, Result, Tensor, ops};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    cin: u32,
    h: u32,
    w: u32,
    cout: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    pad_top: u32,
    pad_left: u32,
    ho: u32,
    wo: u32,
    phase_h: u32,
    phase_w: u32,
    first_h: u32,
    first_w: u32,
    count_h: u32,
    count_w: u32,
    taps_h: u32,
    taps_w: u32,
}

/// One phase of the input gradient along one axis: the pixels i with
/// (i + pad) mod stride == phase start at `first` and number `count`; the taps
/// k ≡ phase (mod stride) that reach them number `taps`.
struct AxisPhase {
    phase: usize,
    first: usize,
    count: usize,
    taps: usize,
}

fn axis_phases(size: usize, pad: usize, stride: usize, kernel: usize) -> Vec<AxisPhase> {
    (0..stride)
        .map(|phase| {
            let first = (phase + stride - pad % stride) % stride;
            AxisPhase {
                phase,
                first,
                count: size.saturating_sub(first).div_ceil(stride),
                taps: kernel.saturating_sub(phase).div_ceil(stride),
            }
        })
        .filter(|a| a.count > 0)
        .collect()
}

/// The three implicit-GEMM passes (see the table above for which op runs which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPass {
    Forward,
    InputGrad,
    WeightGrad,
}

fn u32_of(v: usize) -> Result<u32> {
    crate::ops::dim(v, "convolution")
}

/// The most input channels for which the input gradient runs through columns. Its
/// phase GEMMs have a row per input channel, so with one to three (grey or colour
/// images) each dy value they load serves one to three multiply-adds, and a GEMM of one
/// row is a dot product per pixel that no core runs fast (0.5 GFLOP/s on SwiftShader,
/// where the column GEMM of Cin·KH·KW rows and col2im take a fifth of the time). With
/// more channels the columns would cost more memory traffic than they save.
const COLUMNS_MAX_CIN: usize = 3;

/// Whether the input gradient of `g` runs as one GEMM into columns
/// (Cin·KH·KW, N·Ho·Wo) and col2im rather than a GEMM per stride phase: for few input
/// channels, where the columns fit in one binding.
fn by_columns(gpu: &Gpu, g: &ConvGeometry) -> bool {
    let bytes = 4 * (g.cin * g.kh * g.kw) as u64 * (g.n * g.ho * g.wo) as u64;
    g.cin <= COLUMNS_MAX_CIN && bytes <= gpu.max_binding_bytes()
}

/// The prelude of a pass's GEMMs.
fn prelude(pass: ConvPass, columns: bool) -> &'static str {
    match pass {
        ConvPass::Forward => "gemm_conv_forward",
        ConvPass::InputGrad if columns => "gemm_conv_columns",
        ConvPass::InputGrad => "gemm_conv_input_grad",
        ConvPass::WeightGrad => "gemm_conv_weight_grad",
    }
}

/// The (m, n, k) of each GEMM a pass dispatches, with its phase fields set. The
/// forward and weight-gradient passes are one GEMM; the input gradient is one per phase
/// (or, through columns, `column_params`'s one).
fn gemms(pass: ConvPass, g: &ConvGeometry, base: Params) -> Result<Vec<Params>> {
    let taps = g.kh * g.kw;
    let with_mnk = |m: usize, n: usize, k: usize, params: Params| -> Result<Params> {
        Ok(Params {
            m: u32_of(m)?,
            n: u32_of(n)?,
            k: u32_of(k)?,
            ..params
        })
    };
    match pass {
        ConvPass::Forward => Ok(vec![with_mnk(
            g.cout,
            g.n * g.ho * g.wo,
            g.cin * taps,
            base,
        )?]),
        ConvPass::WeightGrad => Ok(vec![with_mnk(
            g.cout,
            g.cin * taps,
            g.n * g.ho * g.wo,
            base,
        )?]),
        ConvPass::InputGrad => {
            let mut out = Vec::new();
            for rows in axis_phases(g.h, g.pad_top, g.sh, g.kh) {
                for cols in axis_phases(g.w, g.pad_left, g.sw, g.kw) {
                    let params = Params {
                        phase_h: u32_of(rows.phase)?,
                        phase_w: u32_of(cols.phase)?,
                        first_h: u32_of(rows.first)?,
                        first_w: u32_of(cols.first)?,
                        count_h: u32_of(rows.count)?,
                        count_w: u32_of(cols.count)?,
                        taps_h: u32_of(rows.taps)?,
                        taps_w: u32_of(cols.taps)?,
                        ..base
                    };
                    let n = g.n * rows.count * cols.count;
                    out.push(with_mnk(g.cin, n, g.cout * rows.taps * cols.taps, params)?);
                }
            }
            Ok(out)
        }
    }
}

/// The column GEMM's `Params`, which col2im reads too: cols (Cin·KH·KW, N·Ho·Wo) over
/// Cout.
fn column_params(g: &ConvGeometry) -> Result<Params> {
    Ok(Params {
        m: u32_of(g.cin * g.kh * g.kw)?,
        n: u32_of(g.n * g.ho * g.wo)?,
        k: u32_of(g.cout)?,
        ..base_params(g)?
    })
}

/// The geometry half of a pass's `Params`; `gemms` fills in each GEMM's own fields.
fn base_params(g: &ConvGeometry) -> Result<Params> {
    Ok(Params {
        m: 0,
        n: 0,
        k: 0,
        batch: u32_of(g.n)?,
        cin: u32_of(g.cin)?,
        h: u32_of(g.h)?,
        w: u32_of(g.w)?,
        cout: u32_of(g.cout)?,
        kh: u32_of(g.kh)?,
        kw: u32_of(g.kw)?,
        sh: u32_of(g.sh)?,
        sw: u32_of(g.sw)?,
        pad_top: u32_of(g.pad_top)?,
        pad_left: u32_of(g.pad_left)?,
        ho: u32_of(g.ho)?,
        wo: u32_of(g.wo)?,
        phase_h: 0,
        phase_w: 0,
        first_h: 0,
        first_w: 0,
        count_h: 0,
        count_w: 0,
        taps_h: 0,
        taps_w: 0,
    })
}

/// The plan each GEMM of `pass` runs on (one per stride phase for the input gradient,
/// unless it runs through columns).
pub fn conv_gemm_plans(gpu: &Gpu, pass: ConvPass, g: &ConvGeometry) -> Result<Vec<GemmPlan>> {
    let params = match pass == ConvPass::InputGrad && by_columns(gpu, g) {
        true => vec![column_params(g)?],
        false => gemms(pass, g, base_params(g)?)?,
    };
    Ok(params
        .iter()
        .map(|p| gpu.gemm_plan(p.m as usize, p.n as usize, p.k as usize))
        .collect())
}

/// What a pass adds to its output: the bias, then the activation. The weight gradient
/// takes none.
struct Epilogue<'a> {
    bias: Option<&'a Tensor>,
    act: Activation,
}

const NO_EPILOGUE: Epilogue<'static> = Epilogue {
    bias: None,
    act: Activation::Identity,
};

/// Records one implicit-GEMM pass. `a` and `b` bind as 1 and 2, then the bias when
/// the prelude takes one, then the output.
fn launch(
    pass: ConvPass,
    g: &ConvGeometry,
    a: &Tensor,
    b: &Tensor,
    epilogue: Epilogue,
    out: &Tensor,
) -> Result<()> {
    let gpu = a.gpu();
    if pass == ConvPass::InputGrad && by_columns(gpu, g) {
        return launch_columns(g, a, b, epilogue, out);
    }
    let base = base_params(g)?;
    let Epilogue { bias, act } = epilogue;
    let prelude = prelude(pass, false);
    let mut constants = Vec::new();
    let mut buffers = vec![a.buffer(), b.buffer()];
    if pass != ConvPass::WeightGrad {
        constants.push(("HAS_BIAS", f64::from(u8::from(bias.is_some()))));
        constants.extend(act.constants());
        buffers.push(bias.unwrap_or(a).buffer());
    }
    buffers.push(out.buffer());
    for params in gemms(pass, g, base)? {
        // K may be 0 (a phase no tap reaches): the core then stores the bias or zero.
        record_gemm(gpu, prelude, &constants, &params, &buffers)?;
    }
    Ok(())
}

/// Records one GEMM of a pass, on its plan in `gpu`.
fn record_gemm(
    gpu: &Gpu,
    prelude: &'static str,
    constants: &[(&'static str, f64)],
    params: &Params,
    buffers: &[BufferRange],
) -> Result<()> {
    Gemm {
        prelude,
        constants,
        params,
        mnk: (params.m, params.n, params.k),
        what: "a convolution GEMM",
    }
    .launch(gpu, None, buffers)
}

/// Records the input gradient through columns: cols = wᵀ · dy, then dx = col2im(cols)
/// with the epilogue.
fn launch_columns(
    g: &ConvGeometry,
    dy: &Tensor,
    w: &Tensor,
    epilogue: Epilogue,
    dx: &Tensor,
) -> Result<()> {
    let gpu = dy.gpu();
    let params = column_params(g)?;
    let cols = Tensor::uninit(gpu, &[params.m as usize, params.n as usize])?;
    let prelude = prelude(ConvPass::InputGrad, true);
    let buffers = [dy.buffer(), w.buffer(), cols.buffer()];
    record_gemm(gpu, prelude, &[], &params, &buffers)?;
    record_col2im(&cols, &params, epilogue, dx)
}

/// dx (N, Cin, H, W) = act(col2im(cols) [+ bias (Cin)]) for convolution `g`: each input
/// pixel sums the entries of cols (Cin·KH·KW, N·Ho·Wo) for the taps that read it, as
/// the input gradient through columns does (see `by_columns`).
pub fn col2im(
    cols: &Tensor,
    bias: Option<&Tensor>,
    g: &ConvGeometry,
    act: Activation,
) -> Result<Tensor> {
    let params = column_params(g)?;
    let want = [params.m as usize, params.n as usize];
    check_shape(cols, &want, "the columns", "col2im")?;
    check_bias(bias, g.cin, "col2im")?;
    let dx = Tensor::uninit(cols.gpu(), &g.input_shape())?;
    record_col2im(cols, &params, Epilogue { bias, act }, &dx)?;
    Ok(dx)
}

fn record_col2im(cols: &Tensor, params: &Params, epilogue: Epilogue, dx: &Tensor) -> Result<()> {
    let Epilogue { bias, act } = epilogue;
    let key = KernelKey::new("col2im", "col2im")
        .with("HAS_BIAS", u32::from(bias.is_some()))
        .with_activation(act);
    let buffers = [cols.buffer(), bias.unwrap_or(cols).buffer(), dx.buffer()];
    ops::dispatch_flat(cols.gpu(), key, params, &buffers, dx.numel())
}

fn check_bias(bias: Option<&Tensor>, channels: usize, op: &str) -> Result<()> {
    match bias {
        Some(b) if b.shape() != [channels] => Err(shape_err!(
            "{op}: bias must have shape [{channels}], got {:?}",
            b.shape()
        )),
        _ => Ok(()),
    }
}

fn check_shape(t: &Tensor, want: &[usize], what: &str, op: &str) -> Result<()> {
    if t.shape() != want {
        return Err(shape_err!(
            "{op}: {what} must have shape {want:?}, got {:?}",
            t.shape()
        ));
    }
    Ok(())
}

/// y (N, Cout, Ho, Wo) = act(conv2d(x (N, Cin, H, W), w (Cout, Cin, KH, KW)) [+ bias (Cout)]).
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    act: Activation,
) -> Result<Tensor> {
    let g = spec.geometry(x.shape(), w.shape())?;
    check_bias(bias, g.cout, "conv2d")?;
    let y = Tensor::uninit(x.gpu(), &g.output_shape())?;
    launch(ConvPass::Forward, &g, x, w, Epilogue { bias, act }, &y)?;
    Ok(y)
}

/// dx (input_shape) of conv2d, from dy (N, Cout, Ho, Wo) and w.
pub fn conv2d_backward_input(
    dy: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    spec: &Conv2dSpec,
) -> Result<Tensor> {
    let g = spec.geometry(input_shape, w.shape())?;
    check_shape(
        dy,
        &g.output_shape(),
        "the output gradient",
        "conv2d_backward_input",
    )?;
    let dx = Tensor::uninit(dy.gpu(), &g.input_shape())?;
    launch(ConvPass::InputGrad, &g, dy, w, NO_EPILOGUE, &dx)?;
    Ok(dx)
}

/// dw (weight_shape) of conv2d, from dy (N, Cout, Ho, Wo) and x.
pub fn conv2d_backward_weight(
    dy: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    spec: &Conv2dSpec,
) -> Result<Tensor> {
    let g = spec.geometry(x.shape(), weight_shape)?;
    check_shape(
        dy,
        &g.output_shape(),
        "the output gradient",
        "conv2d_backward_weight",
    )?;
    let dw = Tensor::uninit(dy.gpu(), &g.weight_shape())?;
    launch(ConvPass::WeightGrad, &g, dy, x, NO_EPILOGUE, &dw)?;
    Ok(dw)
}

/// The bias gradient of conv2d or conv_transpose2d: dy (N, C, H, W) summed to (C).
pub fn conv2d_backward_bias(dy: &Tensor) -> Result<Tensor> {
    let [n, c, h, w] = <[usize; 4]>::try_from(dy.shape()).map_err(|_| {
        shape_err!(
            "conv2d_backward_bias: gradient must be 4-D, got {:?}",
            dy.shape()
        )
    })?;
    ops::sum_axis(&ops::sum_axis(&dy.reshape(&[n, c, h * w])?, 2)?, 0)
}

/// y (N, Cout, Ho, Wo) =
/// act(conv_transpose2d(x (N, Cin, H, W), w (Cin, Cout, KH, KW)) [+ bias (Cout)]).
pub fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvTranspose2dSpec,
    act: Activation,
) -> Result<Tensor> {
    let g = spec.geometry(x.shape(), w.shape())?;
    check_bias(bias, g.cin, "conv_transpose2d")?;
    let y = Tensor::uninit(x.gpu(), &g.input_shape())?;
    launch(ConvPass::InputGrad, &g, x, w, Epilogue { bias, act }, &y)?;
    Ok(y)
}

/// dx (input_shape) of conv_transpose2d, from dy and w: the forward convolution.
pub fn conv_transpose2d_backward_input(
    dy: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    spec: &ConvTranspose2dSpec,
) -> Result<Tensor> {
    let g = spec.geometry(input_shape, w.shape())?;
    check_shape(
        dy,
        &g.input_shape(),
        "the output gradient",
        "conv_transpose2d_backward_input",
    )?;
    let dx = Tensor::uninit(dy.gpu(), &g.output_shape())?;
    launch(ConvPass::Forward, &g, dy, w, NO_EPILOGUE, &dx)?;
    Ok(dx)
}

/// dw (weight_shape) of conv_transpose2d, from dy and x: the weight gradient of the
/// transposed convolution, whose input is dy and whose output gradient is x.
pub fn conv_transpose2d_backward_weight(
    dy: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    spec: &ConvTranspose2dSpec,
) -> Result<Tensor> {
    let g = spec.geometry(x.shape(), weight_shape)?;
    check_shape(
        dy,
        &g.input_shape(),
        "the output gradient",
        "conv_transpose2d_backward_weight",
    )?;
    let dw = Tensor::uninit(dy.gpu(), &g.weight_shape())?;
    launch(ConvPass::WeightGrad, &g, x, dy, NO_EPILOGUE, &dw)?;
    Ok(dw)
}
