//! The layers a Keras or PyTorch GAN is made of. Each records its ops on the graph;
//! shapes below exclude the batch dimension.

use super::init::Initializer;
use super::spectral::SpectralNorm;
use crate::autograd::{Buffer, Graph, Param, Var};
use crate::conv_spec::{Conv2d, ConvTranspose2d};
use crate::{Activation, BatchNormConfig, Gpu, Result, error::shape_err, ops};
use std::rc::Rc;

pub trait Layer {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var>;

    /// `forward` followed by `act`, applied by this layer's own kernel as its epilogue,
    /// so the activation costs no dispatch of its own; `None` for a layer without one.
    fn forward_activated(&self, _g: &mut Graph, _x: Var, _act: Activation) -> Option<Result<Var>> {
        None
    }

    /// Divides this layer's weight by its spectral norm from now on (see
    /// `SpectralNorm`), the power iteration's start drawn from (`seed`, `index`); a
    /// layer without a weight ignores it.
    fn spectral_norm(&mut self, _seed: u64, _index: u64) -> Result<()> {
        Ok(())
    }

    /// One power iteration of the spectral norm, if the layer has one.
    fn power_iteration(&self) -> Result<()> {
        Ok(())
    }

    /// The activation this layer is, when it is nothing but one.
    fn activation(&self) -> Option<Activation> {
        None
    }

    /// The output shape for an input shape, both without the batch dimension.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    fn params(&self) -> Vec<Rc<Param>> {
        Vec::new()
    }

    fn buffers(&self) -> Vec<&Buffer> {
        Vec::new()
    }
}

fn param(gpu: &Gpu, name: &str, value: crate::Tensor) -> Result<Rc<Param>> {
    Param::new(gpu, name, value)
}

/// `<name>.weight` of `shape` from the initialiser, and a zero `<name>.bias` of
/// `outputs` when asked for.
fn weight_and_bias(
    gpu: &Gpu,
    name: &str,
    init: &Initializer,
    shape: &[usize],
    fans: (usize, usize),
    outputs: Option<usize>,
) -> Result<(Rc<Param>, Option<Rc<Param>>)> {
    let weight = param(
        gpu,
        &format!("{name}.weight"),
        init.weight(gpu, shape, fans.0, fans.1)?,
    )?;
    let bias = outputs
        .map(|n| param(gpu, &format!("{name}.bias"), ops::zeros(gpu, &[n])?))
        .transpose()?;
    Ok((weight, bias))
}

/// A layer's weight (spectrally normalised, when it is) and bias as graph values.
fn weights(
    g: &mut Graph,
    weight: &Rc<Param>,
    bias: Option<&Rc<Param>>,
    spectral: Option<&SpectralNorm>,
) -> Result<(Var, Option<Var>)> {
    let w = g.param(weight);
    let w = match spectral {
        Some(norm) => norm.apply(g, w)?,
        None => w,
    };
    Ok((w, bias.map(|b| g.param(b))))
}

fn start_spectral_norm(weight: &Rc<Param>, seed: u64, index: u64) -> Result<SpectralNorm> {
    let gpu = weight.value.gpu();
    let name = weight.name.trim_end_matches(".weight");
    SpectralNorm::new(gpu, name, &weight.value, seed, index)
}

fn weight_and_bias_params(weight: &Rc<Param>, bias: &Option<Rc<Param>>) -> Vec<Rc<Param>> {
    [Some(weight.clone()), bias.clone()]
        .into_iter()
        .flatten()
        .collect()
}

/// Dense: (in) -> (out), y = x·W + b with W (in, out).
pub struct Linear {
    pub weight: Rc<Param>,
    pub bias: Option<Rc<Param>>,
    pub spectral: Option<SpectralNorm>,
}

impl Linear {
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        inputs: usize,
        outputs: usize,
        bias: bool,
    ) -> Result<Linear> {
        let (weight, bias) = weight_and_bias(
            gpu,
            name,
            init,
            &[inputs, outputs],
            (inputs, outputs),
            bias.then_some(outputs),
        )?;
        Ok(Linear {
            weight,
            bias,
            spectral: None,
        })
    }
}

impl Linear {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (w, b) = weights(g, &self.weight, self.bias.as_ref(), self.spectral.as_ref())?;
        g.linear(x, w, b, act)
    }
}

impl Layer for Linear {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [inputs, outputs] =
            <[usize; 2]>::try_from(self.weight.value.shape()).expect("2-D weight");
        if input != [inputs] {
            return Err(shape_err!(
                "Linear({inputs} -> {outputs}) got input {input:?}; add Flatten first"
            ));
        }
        Ok(vec![outputs])
    }

    fn params(&self) -> Vec<Rc<Param>> {
        weight_and_bias_params(&self.weight, &self.bias)
    }

    fn spectral_norm(&mut self, seed: u64, index: u64) -> Result<()> {
        self.spectral = Some(start_spectral_norm(&self.weight, seed, index)?);
        Ok(())
    }

    fn power_iteration(&self) -> Result<()> {
        self.spectral
            .as_ref()
            .map_or(Ok(()), |n| n.power_iteration(&self.weight.value))
    }

    fn buffers(&self) -> Vec<&Buffer> {
        self.spectral.iter().flat_map(|n| n.buffers()).collect()
    }
}

/// Conv2D: (Cin, H, W) -> (Cout, Ho, Wo), weights (Cout, Cin, KH, KW).
pub struct Conv {
    pub weight: Rc<Param>,
    pub bias: Option<Rc<Param>>,
    pub spec: Conv2d,
    pub spectral: Option<SpectralNorm>,
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        cin: usize,
        cout: usize,
        kernel: usize,
        spec: Conv2d,
        bias: bool,
    ) -> Result<Conv> {
        let taps = kernel * kernel;
        let (weight, bias) = weight_and_bias(
            gpu,
            name,
            init,
            &[cout, cin, kernel, kernel],
            (cin * taps, cout * taps),
            bias.then_some(cout),
        )?;
        Ok(Conv {
            weight,
            bias,
            spec,
            spectral: None,
        })
    }
}

impl Conv {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (w, b) = weights(g, &self.weight, self.bias.as_ref(), self.spectral.as_ref())?;
        g.conv2d(x, w, b, self.spec, act)
    }
}

impl Layer for Conv {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let geometry = self
            .spec
            .geometry(&[&[1], input].concat(), self.weight.value.shape())?;
        Ok(geometry.output_shape()[1..].to_vec())
    }

    fn params(&self) -> Vec<Rc<Param>> {
        weight_and_bias_params(&self.weight, &self.bias)
    }

    fn spectral_norm(&mut self, seed: u64, index: u64) -> Result<()> {
        self.spectral = Some(start_spectral_norm(&self.weight, seed, index)?);
        Ok(())
    }

    fn power_iteration(&self) -> Result<()> {
        self.spectral
            .as_ref()
            .map_or(Ok(()), |n| n.power_iteration(&self.weight.value))
    }

    fn buffers(&self) -> Vec<&Buffer> {
        self.spectral.iter().flat_map(|n| n.buffers()).collect()
    }
}

/// Conv2DTranspose: (Cin, H, W) -> (Cout, Ho, Wo), weights (Cin, Cout, KH, KW).
pub struct ConvTranspose {
    pub weight: Rc<Param>,
    pub bias: Option<Rc<Param>>,
    pub spec: ConvTranspose2d,
    pub spectral: Option<SpectralNorm>,
}

impl ConvTranspose {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        name: &str,
        init: &Initializer,
        cin: usize,
        cout: usize,
        kernel: usize,
        spec: ConvTranspose2d,
        bias: bool,
    ) -> Result<ConvTranspose> {
        let taps = kernel * kernel;
        let (weight, bias) = weight_and_bias(
            gpu,
            name,
            init,
            &[cin, cout, kernel, kernel],
            (cout * taps, cin * taps),
            bias.then_some(cout),
        )?;
        Ok(ConvTranspose {
            weight,
            bias,
            spec,
            spectral: None,
        })
    }
}

impl ConvTranspose {
    fn apply(&self, g: &mut Graph, x: Var, act: Activation) -> Result<Var> {
        let (w, b) = weights(g, &self.weight, self.bias.as_ref(), self.spectral.as_ref())?;
        g.conv_transpose2d(x, w, b, self.spec, act)
    }
}

impl Layer for ConvTranspose {
    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        self.apply(g, x, Activation::Identity)
    }

    fn forward_activated(&self, g: &mut Graph, x: Var, act: Activation) -> Option<Result<Var>> {
        Some(self.apply(g, x, act))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let geometry = self
            .spec
            .geometry(&[&[1], input].concat(), self.weight.value.shape())?;
        Ok(geometry.input_shape()[1..].to_vec())
    }

    fn params(&self) -> Vec<Rc<Param>> {
        weight_and_bias_params(&self.weight, &self.bias)
    }

    fn spectral_norm(&mut self, seed: u64, index: u64) -> Result<()> {
        self.spectral = Some(start_spectral_norm(&self.weight, seed, index)?);
        Ok(())
    }

    fn power_iteration(&self) -> Result<()> {
        self.spectral
            .as_ref()
            .map_or(Ok(()), |n| n.power_iteration(&self.weight.value))
    }

    fn buffers(&self) -> Vec<&Buffer> {
        self.spectral.iter().flat_map(|n| n.buffers()).collect()
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
    Relu,
    LeakyRelu(f32),
    Tanh,
    Sigmoid,
    Dropout(f32),
    /// Nearest-neighbour upsampling by (fh, fw) (Keras UpSampling2D).
    Upsample(usize, usize),
    Reshape(Vec<usize>),
    Flatten,
}

impl Layer for Stateless {
    fn activation(&self) -> Option<Activation> {
        match self {
            Stateless::Relu => Some(Activation::Relu),
            Stateless::LeakyRelu(alpha) => Some(Activation::LeakyRelu(*alpha)),
            Stateless::Tanh => Some(Activation::Tanh),
            Stateless::Sigmoid => Some(Activation::Sigmoid),
            _ => None,
        }
    }

    fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        match self {
            Stateless::Relu => g.relu(x),
            Stateless::LeakyRelu(alpha) => g.leaky_relu(x, *alpha),
            Stateless::Tanh => g.tanh(x),
            Stateless::Sigmoid => g.sigmoid(x),
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
