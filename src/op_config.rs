//! Settings of the optimiser and normalisation ops: plain data shared by the GPU
//! launchers (`ops`) and their CPU twins (`reference`).

/// An activation applied by the op that writes a value, as its epilogue: a GEMM's
/// (matmul, conv, convT) after its bias, or batch norm's after its scale and shift.
/// It saves the activation a dispatch and a buffer of its own.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Activation {
    #[default]
    Identity,
    Relu,
    /// LeakyReLU with this negative slope.
    LeakyRelu(f32),
    Tanh,
    Sigmoid,
}

impl Activation {
    /// The override constants ACT and ALPHA of shaders/activation.wgsl.
    pub(crate) fn constants(self) -> [(&'static str, f64); 2] {
        let (act, alpha) = match self {
            Activation::Identity => (0, 0.0),
            Activation::Relu => (1, 0.0),
            Activation::LeakyRelu(alpha) => (2, alpha),
            Activation::Tanh => (3, 0.0),
            Activation::Sigmoid => (4, 0.0),
        };
        [("ACT", f64::from(act)), ("ALPHA", f64::from(alpha))]
    }

    /// Whether `ops::activation_backward` reads the activation's input (ReLU and
    /// LeakyReLU: its sign, right for any slope) rather than its output (tanh, sigmoid).
    pub fn backward_reads_input(self) -> bool {
        matches!(self, Activation::Relu | Activation::LeakyRelu(_))
    }

    /// Whether the gradient can be found from the output alone, as the tape does for
    /// an activation fused into the op before it: ReLU's and LeakyReLU's outputs are
    /// positive exactly where their inputs are (for a slope ≥ 0), and tanh and sigmoid
    /// differentiate through their output anyway.
    pub fn differentiable_from_output(self) -> bool {
        match self {
            Activation::LeakyRelu(alpha) => alpha >= 0.0,
            _ => true,
        }
    }
}

/// Adam's settings. Defaults are DCGAN's: lr 2e-4, β1 0.5, β2 0.999.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// AdamW (decay applied to the weights directly) when true; Adam's L2 term
    /// (decay added to the gradient) when false.
    pub decoupled: bool,
}

impl AdamConfig {
    /// Keras's `Adam()` defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7.
    pub fn keras() -> AdamConfig {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            ..AdamConfig::default()
        }
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }
}

/// Batch normalisation's settings.
///
/// Momentum follows Keras: running = momentum·running + (1 - momentum)·batch, so
/// Keras's `momentum=0.8` is `BatchNormConfig::keras(0.8)`, and PyTorch's
/// `momentum=0.1` (the weight of the batch) is `BatchNormConfig::torch(0.1)`, which
/// stores 0.9.
///
/// The two frameworks also differ in the batch variance that enters the running one:
/// PyTorch takes the unbiased variance (divided by count - 1), and Keras (TF 2.21) the
/// biased one it normalises with (divided by count). After one step at Keras's momentum
/// 0.8 over 100 values per channel, Keras holds 0.8 + 0.2·var_biased where PyTorch's
/// rule would hold 0.8 + 0.2·var_biased·100/99. Each constructor follows its framework.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormConfig {
    pub eps: f32,
    /// The weight of the old running value (Keras's convention).
    pub momentum: f32,
    /// Whether the running variance takes the unbiased batch variance (PyTorch) or
    /// the biased one (Keras).
    pub unbiased_running_var: bool,
}

impl BatchNormConfig {
    /// Keras's `BatchNormalization(momentum=m, epsilon=eps)`.
    pub fn keras(momentum: f32, eps: f32) -> BatchNormConfig {
        BatchNormConfig {
            eps,
            momentum,
            unbiased_running_var: false,
        }
    }

    /// PyTorch's `BatchNorm2d(momentum=m, eps=eps)`, where m weights the new batch.
    pub fn torch(momentum: f32, eps: f32) -> BatchNormConfig {
        BatchNormConfig {
            eps,
            momentum: 1.0 - momentum,
            unbiased_running_var: true,
        }
    }
}

impl Default for BatchNormConfig {
    /// PyTorch's defaults, which DCGAN uses: momentum 0.1 on the batch, eps 1e-5.
    fn default() -> Self {
        BatchNormConfig::torch(0.1, 1e-5)
    }
}
