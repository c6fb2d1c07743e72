//! Convolutions, plain and transposed, with their rules. Both are bilinear in (x, w),
//! so three ops close under differentiation: the forward, its input gradient
//! (`ConvData`, linear in dy and w) and its weight gradient (`ConvWeight`, linear in
//! dy and x). Each one's gradients are the other two.

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::conv_spec::{Conv2dSpec, ConvTranspose2dSpec};
use crate::{Activation, Result, Tensor, ops};

/// Which convolution, with its geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConvKind {
    Plain(Conv2dSpec),
    Transposed(ConvTranspose2dSpec),
}

impl ConvKind {
    fn forward(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: Option<&Tensor>,
        act: Activation,
    ) -> Result<Tensor> {
        match self {
            ConvKind::Plain(spec) => ops::conv2d(x, w, b, spec, act),
            ConvKind::Transposed(spec) => ops::conv_transpose2d(x, w, b, spec, act),
        }
    }

    fn data_grad(&self, dy: &Tensor, w: &Tensor, x_shape: &[usize]) -> Result<Tensor> {
        match self {
            ConvKind::Plain(spec) => ops::conv2d_backward_input(dy, w, x_shape, spec),
            ConvKind::Transposed(spec) => {
                ops::conv_transpose2d_backward_input(dy, w, x_shape, spec)
            }
        }
    }

    fn weight_grad(&self, dy: &Tensor, x: &Tensor, w_shape: &[usize]) -> Result<Tensor> {
        match self {
            ConvKind::Plain(spec) => ops::conv2d_backward_weight(dy, x, w_shape, spec),
            ConvKind::Transposed(spec) => {
                ops::conv_transpose2d_backward_weight(dy, x, w_shape, spec)
            }
        }
    }
}

impl Graph {
    /// act(conv(x, w) + b): x (N, C, H, W), w (O, C, kh, kw), b (O).
    pub fn conv2d(
        &mut self,
        x: Var,
        w: Var,
        b: Option<Var>,
        spec: Conv2dSpec,
        act: Activation,
    ) -> Result<Var> {
        self.conv(x, w, b, ConvKind::Plain(spec), act)
    }

    /// act(conv_transpose(x, w) + b): x (N, C, H, W), w (C, O, kh, kw), b (O).
    pub fn conv_transpose2d(
        &mut self,
        x: Var,
        w: Var,
        b: Option<Var>,
        spec: ConvTranspose2dSpec,
        act: Activation,
    ) -> Result<Var> {
        self.conv(x, w, b, ConvKind::Transposed(spec), act)
    }

    fn conv(
        &mut self,
        x: Var,
        w: Var,
        b: Option<Var>,
        kind: ConvKind,
        act: Activation,
    ) -> Result<Var> {
        super::activation::check_fusable(act)?;
        let y = kind.forward(self.value(x), self.value(w), b.map(|b| self.value(b)), act)?;
        let inputs: Vec<Var> = [Some(x), Some(w), b].into_iter().flatten().collect();
        Ok(self.push(y, Op::Conv { x, w, b, kind, act }, &inputs))
    }

    /// The input gradient, of shape `x_shape`, from the output gradient.
    fn conv_data(&mut self, dy: Var, w: Var, kind: ConvKind, x_shape: &[usize]) -> Result<Var> {
        let dx = kind.data_grad(self.value(dy), self.value(w), x_shape)?;
        Ok(self.push(dx, Op::ConvData { dy, w, kind }, &[dy, w]))
    }

    /// The weight gradient, of shape `w_shape`, from the output gradient.
    fn conv_weight(&mut self, dy: Var, x: Var, kind: ConvKind, w_shape: &[usize]) -> Result<Var> {
        let dw = kind.weight_grad(self.value(dy), self.value(x), w_shape)?;
        Ok(self.push(dw, Op::ConvWeight { dy, x, kind }, &[dy, x]))
    }

    /// Sums a (N, C, H, W) gradient to (C): a conv's bias gradient.
    fn channel_sum(&mut self, dy: Var) -> Result<Var> {
        let &[n, c, h, w] = self.shape(dy) else {
            return Err(crate::error::shape_err!(
                "a conv's bias gradient needs a 4-D gradient, got {:?}",
                self.shape(dy)
            ));
        };
        let flat = self.reshape(dy, &[n, c, h * w])?;
        let per_image = self.sum_axis(flat, 2)?;
        self.sum_axis(per_image, 0)
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_rule(
    g: &mut Graph,
    y: Var,
    x: Var,
    w: Var,
    b: Option<Var>,
    kind: &ConvKind,
    act: Activation,
    dy: Var,
) -> Result<Grads> {
    let dz = g.act_backward(dy, y, act)?;
    let mut grads = Vec::new();
    if g.needs_grad(x) {
        let shape = g.shape(x).to_vec();
        grads.push((x, g.conv_data(dz, w, *kind, &shape)?));
    }
    if g.needs_grad(w) {
        let shape = g.shape(w).to_vec();
        grads.push((w, g.conv_weight(dz, x, *kind, &shape)?));
    }
    if let Some(b) = b.filter(|b| g.needs_grad(*b)) {
        grads.push((b, g.channel_sum(dz)?));
    }
    Ok(grads)
}

/// dx = D(dy, w) with ⟨G, D(dy, w)⟩ = ⟨conv(G, w), dy⟩, so d dy = conv(G, w) and
/// d w = the weight gradient of (dy, G).
pub(crate) fn conv_data_rule(
    g: &mut Graph,
    dy: Var,
    w: Var,
    kind: &ConvKind,
    grad: Var,
) -> Result<Grads> {
    let mut grads = Vec::new();
    if g.needs_grad(dy) {
        grads.push((dy, g.conv(grad, w, None, *kind, Activation::Identity)?));
    }
    if g.needs_grad(w) {
        let shape = g.shape(w).to_vec();
        grads.push((w, g.conv_weight(dy, grad, *kind, &shape)?));
    }
    Ok(grads)
}

/// dw = W(dy, x) with ⟨H, W(dy, x)⟩ = ⟨conv(x, H), dy⟩, so d dy = conv(x, H) and
/// d x = the input gradient of (dy, H).
pub(crate) fn conv_weight_rule(
    g: &mut Graph,
    dy: Var,
    x: Var,
    kind: &ConvKind,
    grad: Var,
) -> Result<Grads> {
    let mut grads = Vec::new();
    if g.needs_grad(dy) {
        grads.push((dy, g.conv(x, grad, None, *kind, Activation::Identity)?));
    }
    if g.needs_grad(x) {
        let shape = g.shape(x).to_vec();
        grads.push((x, g.conv_data(dy, grad, *kind, &shape)?));
    }
    Ok(grads)
}
