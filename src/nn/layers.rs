//! The layers a Keras or PyTorch GAN is made of. Each records its ops on the graph;
//! shapes below exclude the batch dimension.

use super::init::Initializer;
use super::spectral::SpectralNorm;
use crate::autograd::{Buffer, Graph, Param, Var};
use crate::conv_spec::{Conv2dSpec, ConvTranspose2dSpec};
use crate::{Activation, BatchNormConfig, Gpu, Result, error::shape_err, ops};
use std::rc::Rc;

pub trait Layer {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var>;

    /// `forward` followed by `act`, applied by this layer's own kernel as its epilogue,
    /// so the activation costs no dispatch of its own; `None` for a layer without one.
    fn forward_activated(&self, _g: &mut Graph, _x: Var, _act: Activation) -> Option<Result<Var>> {
        None
    }

    /// The weight and bias of a layer that has them.
    fn weights(&self) -> Option<&Weights> {
        None
    }

    fn weights_mut(&mut self) -> Option<&mut Weights> {
        None
    }

    /// Divides this layer's weight by its spectral norm from now on (see
    /// `SpectralNorm`), the power iteration's start drawn from (`seed`, `index`); a
    /// layer without a weight ignores it.
    fn spectral_norm(&mut self, seed: u64, index: u64) -> Result<()> {
        match self.weights_mut() {
            Some(w) => w.spectral_norm(seed, index),
            None => Ok(()),
        }
    }

    /// One power iteration of the spectral norm, if the layer has one.
    fn power_iteration(&self) -> Result<()> {
        match self.weights().map(|w| (w, &w.spectral)) {
            Some((w, Some(norm))) => norm.power_iteration(&w.weight.value),
            _ => Ok(()),
        }
    }

    /// The activation this layer is, when it is nothing but one.
    fn activation(&self) -> Option<Activation> {
        None
    }

    /// The output shape for an input shape, both without the batch dimension.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    fn params(&self) -> Vec<Rc<Param>> {
        let Some(w) = self.weights() else {
            return Vec::new();
        };
        [Some(w.weight.clone()), w.bias.clone()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Non-trained state: batch norm's running statistics, spectral norm's vectors.
    fn buffers(&self) -> Vec<&Buffer> {
        let norm = self.weights().and_then(|w| w.spectral.as_ref());
        norm.map_or_else(Vec::new, SpectralNorm::buffers)
    }
}

fn param(gpu: &Gpu, name: &str, value: crate::Tensor) -> Result<Rc<Param>> {
    Param::new(gpu, name, value)
}

/// A layer's weight, its bias if it has one, and its spectral norm once asked for.
pub struct Weights {
    pub weight: Rc<Param>,
    pub bias: Option<Rc<Param>>,
    pub spectral: Option<SpectralNorm>,
}

impl Weights {
    /// `<name>.weight` of `shape` from the initialiser, and a zero `<name>.bias` of
    /// `outputs` when asked for.
    fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        shape: &[usize],
        fans: (usize, usize),
        outputs: Option<usize>,
    ) -> Result<Weights> {
        let weight = param(
            gpu,
            &format!("{name}.weight"),
            init.weight(gpu, shape, fans.0, fans.1)?,
        )?;
        let bias = outputs
            .map(|n| param(gpu, &format!("{name}.bias"), ops::zeros(gpu, &[n])?))
            .transpose()?;
        Ok(Weights {
            weight,
            bias,
            spectral: None,
        })
    }

    fn shape(&self) -> &[usize] {
        self.weight.value.shape()
    }

    /// The weight (spectrally normalised, when it is) and bias as graph values.
    fn vars(&self, g: &mut Graph) -> Result<(Var, Option<Var>)> {
        let w = g.param(&self.weight);
        let w = match &self.spectral {
            Some(norm) => norm.apply(g, w)?,
            None => w,
        };
        Ok((w, self.bias.as_ref().map(|b| g.param(b))))
    }

    fn spectral_norm(&mut self, seed: u64, index: u64) -> Result<()> {
        let value = &self.weight.value;
        let name = self.weight.name.trim_end_matches(".weight");
        self.spectral = Some(SpectralNorm::new(value.gpu(), name, value, seed, index)?);
        Ok(())
    }
}

/// Dense: (in) -> (out), y = x·W + b with W (in, out).
pub struct Dense {
    pub weights: Weights,
}

impl Dense {
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        inputs: usize,
        outputs: usize,
        bias: bool,
    ) -> Result<Dense> {
        let weights = Weights::new(
            gpu,
            name,
            init,
            &[inputs, outputs],
            (inputs, outputs),
            bias.then_some(outputs),
        )?;
        Ok(Dense { weights })
    }
}

impl Dense {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (w, b) = self.weights.vars(g)?;
        g.dense(x, w, b, act)
    }
}

impl Layer for Dense {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [inputs, outputs] = <[usize; 2]>::try_from(self.weights.shape()).expect("2-D weight");
        if input != [inputs] {
            return Err(shape_err!(
                "Dense({inputs} -> {outputs}) got input {input:?}; add Flatten first"
            ));
        }
        Ok(vec![outputs])
    }

    fn weights(&self) -> Option<&Weights> {
        Some(&self.weights)
    }

    fn weights_mut(&mut self) -> Option<&mut Weights> {
        Some(&mut self.weights)
    }
}

/// Conv2D: (Cin, H, W) -> (Cout, Ho, Wo), weights (Cout, Cin, KH, KW).
pub struct Conv2d {
    pub weights: Weights,
    pub spec: Conv2dSpec,
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        cin: usize,
        cout: usize,
        kernel: usize,
        spec: Conv2dSpec,
        bias: bool,
    ) -> Result<Conv2d> {
        let taps = kernel * kernel;
        let weights = Weights::new(
            gpu,
            name,
            init,
            &[cout, cin, kernel, kernel],
            (cin * taps, cout * taps),
            bias.then_some(cout),
        )?;
        Ok(Conv2d { weights, spec })
    }
}

impl Conv2d {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (w, b) = self.weights.vars(g)?;
        g.conv2d(x, w, b, self.spec, act)
    }
}

impl Layer for Conv2d {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let geometry = self
            .spec
            .geometry(&[&[1], input].concat(), self.weights.shape())?;
        Ok(geometry.output_shape()[1..].to_vec())
    }

    fn weights(&self) -> Option<&Weights> {
        Some(&self.weights)
    }

    fn weights_mut(&mut self) -> Option<&mut Weights> {
        Some(&mut self.weights)
    }
}

/// Conv2DTranspose: (Cin, H, W) -> (Cout, Ho, Wo), weights (Cin, Cout, KH, KW).
pub struct ConvTranspose2d {
    pub weights: Weights,
    pub spec: ConvTranspose2dSpec,
}

impl ConvTranspose2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        cin: usize,
        cout: usize,
        kernel: usize,
        spec: ConvTranspose2dSpec,
        bias: bool,
    ) -> Result<ConvTranspose2d> {
        let taps = kernel * kernel;
        let weights = Weights::new(
            gpu,
            name,
            init,
            &[cin, cout, kernel, kernel],
            (cout * taps, cin * taps),
            bias.then_some(cout),
        )?;
        Ok(ConvTranspose2d { weights, spec })
    }
}

impl ConvTranspose2d {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (w, b) = self.weights.vars(g)?;
        g.conv_transpose2d(x, w, b, self.spec, act)
    }
}

impl Layer for ConvTranspose2d {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let geometry = self
            .spec
            .geometry(&[&[1], input].concat(), self.weights.shape())?;
        Ok(geometry.input_shape()[1..].to_vec())
    }

    fn weights(&self) -> Option<&Weights> {
        Some(&self.weights)
    }

    fn weights_mut(&mut self) -> Option<&mut Weights> {
        Some(&mut self.weights)
    }
}

/// BatchNormalization over channels of (C, H, W) or features of (F).
pub struct BatchNorm {
    pub gamma: Rc<Param>,
    pub beta: Rc<Param>,
    pub running_mean: Buffer,
    pub running_var: Buffer,
    pub config: BatchNormConfig,
}

impl BatchNorm {
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        channels: usize,
        config: BatchNormConfig,
    ) -> Result<BatchNorm> {
        Ok(BatchNorm {
            gamma: param(
                gpu,
                &format!("{name}.weight"),
                init.bn_scale(gpu, channels)?,
            )?,
            beta: param(gpu, &format!("{name}.bias"), ops::zeros(gpu, &[channels])?)?,
            running_mean: Buffer {
                name: format!("{name}.running_mean"),
                value: ops::zeros(gpu, &[channels])?,
            },
            running_var: Buffer {
                name: format!("{name}.running_var"),
                value: ops::full(gpu, &[channels], 1.0)?,
            },
            config,
        })
    }
}

impl BatchNorm {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (gamma, beta) = (g.param(&self.gamma), g.param(&self.beta));
        let (mean, var) = (&self.running_mean.value, &self.running_var.value);
        g.batch_norm(x, gamma, beta, mean, var, &self.config, act)
    }
}

impl Layer for BatchNorm {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let channels = self.gamma.value.numel();
        if input.first() != Some(&channels) || !(input.len() == 1 || input.len() == 3) {
            return Err(shape_err!(
                "BatchNorm({channels}) got input {input:?}; expected ({channels}) or ({channels}, H, W)"
            ));
        }
        Ok(input.to_vec())
    }

    fn params(&self) -> Vec<Rc<Param>> {
        vec![self.gamma.clone(), self.beta.clone()]
    }

    fn buffers(&self) -> Vec<&Buffer> {
        vec![&self.running_mean, &self.running_var]
    }
}

/// Activations, dropout, upsampling and reshapes: layers without parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Stateless {
    Activation(Activation),
    Dropout(f32),
    /// Nearest-neighbour upsampling by (fh, fw) (Keras UpSampling2D).
    Upsample(usize, usize),
    Reshape(Vec<usize>),
    Flatten,
}

impl Layer for Stateless {
    fn activation(&self) -> Option<Activation> {
        match self {
            Stateless::Activation(act) => Some(*act),
            _ => None,
        }
    }

    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        match self {
            Stateless::Activation(act) => g.activation(x, *act),
            Stateless::Dropout(rate) => g.dropout(x, *rate),
            Stateless::Upsample(fh, fw) => g.upsample(x, (*fh, *fw)),
            Stateless::Reshape(shape) => {
                let batch = g.shape(x)[0];
                g.reshape(x, &[&[batch], &shape[..]].concat())
            }
            Stateless::Flatten => {
                let shape = g.shape(x);
                let (batch, rest) = (shape[0], shape[1..].iter().product());
                g.reshape(x, &[batch, rest])
            }
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match self {
            Stateless::Upsample(fh, fw) => match input {
                [c, h, w] => Ok(vec![*c, h * fh, w * fw]),
                _ => Err(shape_err!("UpSampling2D needs (C, H, W), got {input:?}")),
            },
            Stateless::Reshape(shape) => {
                if shape.iter().product::<usize>() != input.iter().product::<usize>() {
                    return Err(shape_err!(
                        "Reshape to {shape:?} cannot hold input {input:?}"
                    ));
                }
                Ok(shape.clone())
            }
            Stateless::Flatten => Ok(vec![input.iter().product()]),
            _ => Ok(input.to_vec()),
        }
    }
}
