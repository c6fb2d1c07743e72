//! Sums and means, over everything or along one axis, and their backward (a broadcast).

use crate::error::shape_err;
use crate::gpu::KernelKey;
use crate::{Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    outer: u32,
    axis: u32,
    inner: u32,
    seg_len: u32,
    nseg: u32,
    scale: f32,
    _pad: [u32; 2],
}

/// With at least this many outputs, one invocation per output keeps the device busy;
/// where barriers are slow, the serial form (which has none) runs whatever the count.
const SERIAL_MIN_OUTPUTS: usize = 256;
/// Segment lengths: short enough that each f32 running sum stays accurate.
const SERIAL_SEGMENT: usize = 256;
const TREE_SEGMENT: usize = 4096;

fn index(n: usize) -> Result<u32> {
    crate::ops::dim(n, "reduce")
}

/// (outer, axis, inner) of `shape` around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Sums x viewed as (outer, axis, inner) over the middle axis, times `scale`,
/// in as many segmented passes as the axis needs. The result has `out_shape`.
fn reduce(
    x: &Tensor,
    outer: usize,
    mut axis: usize,
    inner: usize,
    scale: f32,
    out_shape: &[usize],
) -> Result<Tensor> {
    let gpu = x.gpu();
    if axis == 0 {
        return crate::ops::full(gpu, out_shape, 0.0);
    }
    let outputs = outer * inner;
    let (entry, seg_len) = if outputs >= SERIAL_MIN_OUTPUTS || gpu.barriers_are_slow() {
        ("reduce_serial", SERIAL_SEGMENT)
    } else {
        ("reduce_tree", TREE_SEGMENT)
    };
    let mut current = x.clone();
    loop {
        let nseg = axis.div_ceil(seg_len);
        let last = nseg == 1;
        let out = if last {
            Tensor::uninit(gpu, out_shape)?
        } else {
            Tensor::uninit(gpu, &[outer, nseg, inner])?
        };
        let params = Params {
            outer: index(outer)?,
            axis: index(axis)?,
            inner: index(inner)?,
            seg_len: index(seg_len)?,
            nseg: index(nseg)?,
            scale: if last { scale } else { 1.0 },
            _pad: [0; 2],
        };
        let results = outputs * nseg;
        let buffers = [current.buffer(), out.buffer()];
        if entry == "reduce_serial" {
            crate::ops::dispatch_flat(gpu, ("reduce", entry), &params, &buffers, results)?;
        } else {
            // A workgroup per result, its invocations summing one segment together.
            let groups = gpu.grid(results as u64)?;
            gpu.dispatch(&KernelKey::new("reduce", entry), &params, &buffers, groups);
        }
        if last {
            return Ok(out);
        }
        current = out;
        axis = nseg;
    }
}

fn check_axis(x: &Tensor, axis: usize, op: &str) -> Result<()> {
    if axis >= x.shape().len() {
        return Err(shape_err!(
            "{op}: axis {axis} is out of range for shape {:?}",
            x.shape()
        ));
    }
    Ok(())
}

fn without(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(axis);
    s
}

/// The sum of every element, as a tensor of shape [].
pub fn sum(x: &Tensor) -> Result<Tensor> {
    reduce(x, 1, x.numel(), 1, 1.0, &[])
}

/// The mean of every element, as a tensor of shape [].
pub fn mean(x: &Tensor) -> Result<Tensor> {
    let n = x.numel();
    if n == 0 {
        return Err(shape_err!("mean of an empty tensor {:?}", x.shape()));
    }
    reduce(x, 1, n, 1, 1.0 / n as f32, &[])
}

/// Sums along `axis`, which is removed from the shape.
/// `sum_axis(dy, 0)` of a (N, F) gradient is a Dense layer's bias gradient.
pub fn sum_axis(x: &Tensor, axis: usize) -> Result<Tensor> {
    check_axis(x, axis, "sum_axis")?;
    let (outer, len, inner) = split(x.shape(), axis);
    reduce(x, outer, len, inner, 1.0, &without(x.shape(), axis))
}

/// Means along `axis`, which is removed from the shape.
pub fn mean_axis(x: &Tensor, axis: usize) -> Result<Tensor> {
    check_axis(x, axis, "mean_axis")?;
    let (outer, len, inner) = split(x.shape(), axis);
    if len == 0 {
        return Err(shape_err!(
            "mean_axis: axis {axis} of {:?} is empty",
            x.shape()
        ));
    }
    reduce(
        x,
        outer,
        len,
        inner,
        1.0 / len as f32,
        &without(x.shape(), axis),
    )
}

/// out (input_shape) = scale * dy broadcast along `axis`; dy has `axis` removed.
fn broadcast(
    dy: &Tensor,
    input_shape: &[usize],
    axis: usize,
    scale: f32,
    op: &str,
) -> Result<Tensor> {
    if axis >= input_shape.len() || dy.shape() != without(input_shape, axis) {
        return Err(shape_err!(
            "{op}: gradient of shape {:?} does not match input {input_shape:?} reduced along axis {axis}",
            dy.shape()
        ));
    }
    let gpu = dy.gpu();
    let out = Tensor::uninit(gpu, input_shape)?;
    let (outer, len, inner) = split(input_shape, axis);
    let n = outer * len * inner;
    if n > 0 {
        let params = Params {
            outer: index(outer)?,
            axis: index(len)?,
            inner: index(inner)?,
            seg_len: 0,
            nseg: 0,
            scale,
            _pad: [0; 2],
        };
        crate::ops::dispatch_flat(
            gpu,
            ("reduce", "broadcast_axis"),
            &params,
            &[dy.buffer(), out.buffer()],
            n,
        )?;
    }
    Ok(out)
}

/// Gradient of `sum_axis`: dy copied along `axis` into `input_shape`.
pub fn sum_axis_backward(dy: &Tensor, input_shape: &[usize], axis: usize) -> Result<Tensor> {
    broadcast(dy, input_shape, axis, 1.0, "sum_axis_backward")
}

/// Gradient of `mean_axis`: dy / len copied along `axis` into `input_shape`.
pub fn mean_axis_backward(dy: &Tensor, input_shape: &[usize], axis: usize) -> Result<Tensor> {
    let len = input_shape.get(axis).copied().unwrap_or(1).max(1);
    broadcast(
        dy,
        input_shape,
        axis,
        1.0 / len as f32,
        "mean_axis_backward",
    )
}

/// Gradient of `sum`/`mean` over everything: dy (shape []) spread over `input_shape`.
pub fn sum_backward(dy: &Tensor, input_shape: &[usize]) -> Result<Tensor> {
    broadcast(
        &dy.reshape(&[1])?,
        &[1, input_shape.iter().product()],
        1,
        1.0,
        "sum_backward",
    )?
    .reshape(input_shape)
}

pub fn mean_backward(dy: &Tensor, input_shape: &[usize]) -> Result<Tensor> {
    let n = input_shape.iter().product::<usize>().max(1);
    broadcast(
        &dy.reshape(&[1])?,
        &[1, n],
        1,
        1.0 / n as f32,
        "mean_backward",
    )?
    .reshape(input_shape)
}
