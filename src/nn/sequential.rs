//! `Sequential`: a stack of layers built the way Keras writes models. Each builder
//! call infers its input size from the shape so far, so a model reads as briefly as
//! its Keras original:
//!
//! ```text
//! Sequential::new(&gpu, "g", &[100], Init::Dcgan, seed)
//!     .dense(7 * 7 * 128, false)?.batch_norm()?.relu()?
//!     .reshape(&[128, 7, 7])?
//!     .conv_transpose2d(64, 4, ConvTranspose2dSpec::torch(2, 1, 0), false)?.batch_norm()?.relu()?
//!     .conv_transpose2d(1, 4, ConvTranspose2dSpec::torch(2, 1, 0), false)?.tanh()?
//! ```

use super::init::{Init, Initializer};
use super::layers::{BatchNorm, Conv2d, ConvTranspose2d, Dense, Layer, Stateless};
use crate::autograd::{Buffer, Graph, Param, Var};
use crate::conv_spec::{Conv2dSpec, ConvTranspose2dSpec};
use crate::{Activation, BatchNormConfig, Gpu, Result, error::shape_err};
use std::rc::Rc;

pub struct Sequential {
    gpu: Gpu,
    name: String,
    init: Initializer,
    /// Batch norm settings for layers added with `batch_norm()`.
    pub batch_norm_config: BatchNormConfig,
    layers: Vec<Box<dyn Layer>>,
    input_shape: Vec<usize>,
    shape: Vec<usize>,
    /// The shape the last layer takes: the features `forward_features` returns.
    features: Vec<usize>,
    /// Values per sample of the largest activation, input included.
    largest_activation: usize,
}

impl Sequential {
    /// An empty model taking inputs of `input_shape` (without the batch dimension).
    /// Parameter names start with `name`; `seed` keys the initial weights.
    pub fn new(gpu: &Gpu, name: &str, input_shape: &[usize], init: Init, seed: u64) -> Sequential {
        Sequential {
            gpu: gpu.clone(),
            name: name.to_string(),
            init: Initializer::new(init, seed),
            batch_norm_config: BatchNormConfig::default(),
            layers: Vec::new(),
            input_shape: input_shape.to_vec(),
            shape: input_shape.to_vec(),
            features: input_shape.to_vec(),
            largest_activation: input_shape.iter().product(),
        }
    }

    /// Appends any layer, checking that it accepts the current shape.
    pub fn push(mut self, layer: impl Layer + 'static) -> Result<Sequential> {
        let shape = layer.output_shape(&self.shape)?;
        self.features = std::mem::replace(&mut self.shape, shape);
        self.largest_activation = self.largest_activation.max(self.shape.iter().product());
        self.layers.push(Box::new(layer));
        Ok(self)
    }

    fn layer_name(&self) -> String {
        format!("{}.{}", self.name, self.layers.len())
    }

    fn channels(&self, what: &str) -> Result<usize> {
        match self.shape[..] {
            [c, _, _] => Ok(c),
            _ => Err(shape_err!(
                "{what} needs (C, H, W) input, the model is at {:?}",
                self.shape
            )),
        }
    }

    /// Dense(units): the input must be flat.
    pub fn dense(self, units: usize, bias: bool) -> Result<Sequential> {
        let [inputs] = self.shape[..] else {
            return Err(shape_err!(
                "Dense needs a flat input, the model is at {:?}; add flatten()",
                self.shape
            ));
        };
        let layer = Dense::new(
            &self.gpu,
            &self.layer_name(),
            &self.init,
            inputs,
            units,
            bias,
        )?;
        self.push(layer)
    }

    /// Conv2D(filters, kernel) with the stride and padding in `spec`.
    pub fn conv2d(
        self,
        filters: usize,
        kernel: usize,
        spec: Conv2dSpec,
        bias: bool,
    ) -> Result<Sequential> {
        let cin = self.channels("Conv2D")?;
        let layer = Conv2d::new(
            &self.gpu,
            &self.layer_name(),
            &self.init,
            cin,
            filters,
            kernel,
            spec,
            bias,
        )?;
        self.push(layer)
    }

    /// Conv2DTranspose(filters, kernel) with the stride and padding in `spec`.
    pub fn conv_transpose2d(
        self,
        filters: usize,
        kernel: usize,
        spec: ConvTranspose2dSpec,
        bias: bool,
    ) -> Result<Sequential> {
        let cin = self.channels("Conv2DTranspose")?;
        let layer = ConvTranspose2d::new(
            &self.gpu,
            &self.layer_name(),
            &self.init,
            cin,
            filters,
            kernel,
            spec,
            bias,
        )?;
        self.push(layer)
    }

    /// BatchNormalization over channels, or features of a flat input.
    pub fn batch_norm(self) -> Result<Sequential> {
        let channels = self.shape[0];
        let layer = BatchNorm::new(
            &self.gpu,
            &self.layer_name(),
            &self.init,
            channels,
            self.batch_norm_config,
        )?;
        self.push(layer)
    }

    /// Any `Activation` as a layer of its own; after a Dense, a conv or batch norm,
    /// `forward` fuses it into that layer's kernel.
    pub fn activation(self, act: Activation) -> Result<Sequential> {
        self.push(Stateless::Activation(act))
    }

    pub fn relu(self) -> Result<Sequential> {
        self.activation(Activation::Relu)
    }

    pub fn leaky_relu(self, alpha: f32) -> Result<Sequential> {
        self.activation(Activation::LeakyRelu(alpha))
    }

    pub fn tanh(self) -> Result<Sequential> {
        self.activation(Activation::Tanh)
    }

    pub fn sigmoid(self) -> Result<Sequential> {
        self.activation(Activation::Sigmoid)
    }

    pub fn dropout(self, rate: f32) -> Result<Sequential> {
        if !(0.0..1.0).contains(&rate) {
            return Err(shape_err!("Dropout rate must be in [0, 1), got {rate}"));
        }
        self.push(Stateless::Dropout(rate))
    }

    /// UpSampling2D(size=(2, 2)).
    pub fn upsample(self) -> Result<Sequential> {
        self.push(Stateless::Upsample(2, 2))
    }

    pub fn reshape(self, shape: &[usize]) -> Result<Sequential> {
        self.push(Stateless::Reshape(shape.to_vec()))
    }

    pub fn flatten(self) -> Result<Sequential> {
        self.push(Stateless::Flatten)
    }

    pub fn forward(&self, g: &mut Graph, x: Var) -> Result<Var> {
        Ok(self.forward_features(g, x)?.1)
    }

    /// The shape (without the batch) of what the last layer takes.
    pub fn features_shape(&self) -> &[usize] {
        &self.features
    }

    /// `forward`, returning also what the last layer took: the features a projection
    /// discriminator multiplies with its class embedding.
    pub fn forward_features(&self, g: &mut Graph, mut x: Var) -> Result<(Var, Var)> {
        let expected = &self.input_shape[..];
        if g.shape(x).get(1..) != Some(expected) {
            return Err(shape_err!(
                "{} takes (N, {expected:?}) inputs, got {:?}",
                self.name,
                g.shape(x)
            ));
        }
        // An activation right after a layer with an epilogue runs inside that layer's
        // kernel: one dispatch and one buffer fewer.
        let mut features = x;
        let mut layers = self.layers.iter().peekable();
        while let Some(layer) = layers.next() {
            features = x;
            let fused = layers
                .peek()
                .and_then(|next| next.activation())
                .filter(|act| act.differentiable_from_output())
                .and_then(|act| layer.forward_activated(g, x, act));
            x = match fused {
                Some(y) => {
                    layers.next();
                    y?
                }
                None => layer.forward(g, x)?,
            };
        }
        Ok((features, x))
    }

    /// Every trainable parameter, named `<model>.<layer index>.<weight|bias>`.
    pub fn params(&self) -> Vec<Rc<Param>> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    /// Non-trained state: batch norm running statistics.
    pub fn buffers(&self) -> Vec<&Buffer> {
        self.layers.iter().flat_map(|l| l.buffers()).collect()
    }

    /// Divides the weight of every Dense and conv by its spectral norm from now on
    /// (see `SpectralNorm`), each power iteration starting from (`seed`, its index).
    pub fn spectral_norm(mut self, seed: u64) -> Result<Sequential> {
        for (index, layer) in self.layers.iter_mut().enumerate() {
            layer.spectral_norm(seed, index as u64)?;
        }
        Ok(self)
    }

    /// One power iteration for every spectrally normalised layer: once a step.
    pub fn power_iteration(&self) -> Result<()> {
        self.layers.iter().try_for_each(|l| l.power_iteration())
    }

    /// Freezes or unfreezes every parameter (see `Param::set_trainable`).
    pub fn set_trainable(&self, trainable: bool) {
        self.params()
            .iter()
            .for_each(|p| p.set_trainable(trainable));
    }

    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Values per sample of the largest tensor a forward pass makes (or takes): what
    /// bounds the batch that fits a device's largest binding.
    pub fn largest_activation(&self) -> usize {
        self.largest_activation
    }

    pub fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parameter count, for summaries.
    pub fn parameter_count(&self) -> usize {
        self.params().iter().map(|p| p.value.numel()).sum()
    }
}
