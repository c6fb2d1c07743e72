//! Double backward: for each op a gradient penalty passes through, the penalty
//! P = Σ (∂f/∂x)², with f = Σ c ⊙ op(x, params) for a fixed random c, is built on the
//! GPU from `grad(f, x, create_graph)` and differentiated again. Its gradients with
//! respect to every parameter and to x must match central differences of the same P
//! computed in f64 from the CPU twins' first derivatives.
//!
//! Tolerance: 2e-4 absolute plus 2e-3 relative. P's gradients are f32 sums of a few
//! hundred products of O(1) terms, each pass adding a few ulp (6e-8) per term; a
//! missing or wrong rule is off by the size of the gradient itself. The inputs keep
//! away from ReLU's kink, where the finite differences would straddle it.

use crate::common::{gpu, numeric_grad_at, param, random, upload};
use duel::autograd::{Graph, Var};
use duel::nn::SpectralNorm;
use duel::reference::{self as r, Array};
use duel::{Activation, BatchNormConfig, Conv2dSpec, ConvTranspose2dSpec, Padding};

const ACTS: [Activation; 5] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.2),
    Activation::Tanh,
    Activation::Sigmoid,
];

/// The CPU twin of `act_backward`: dy · act′(z), with y = act(z).
fn act_backward(dy: &Array, z: &Array, y: &Array, act: Activation) -> Array {
    let at = if act.backward_reads_input() { z } else { y };
    r::activation_backward(dy, at, act)
}

/// Compares the GPU's `got` with `want`, the reference's values at the elements `at`.
fn assert_close(what: &str, got: &[f32], at: &[usize], want: &[f64]) {
    for (&i, w) in at.iter().zip(want) {
        let bound = 2e-4 + 2e-3 * w.abs();
        assert!(
            (f64::from(got[i]) - w).abs() <= bound,
            "{what}[{i}]: GPU {g} vs finite differences {w}",
            g = got[i]
        );
    }
}

/// Which elements of each tensor the finite differences check.
#[derive(Clone, Copy)]
enum Elements {
    All,
    /// This many, spread over the tensor by a stride prime to its size: each is two
    /// CPU passes, too many to take every element of a CIFAR-sized input.
    Spread(usize),
}

impl Elements {
    fn of(self, len: usize) -> Vec<usize> {
        match self {
            Elements::All => (0..len).collect(),
            Elements::Spread(n) => {
                let mut at: Vec<usize> = (0..n.min(len)).map(|k| (k * 7919 + 13) % len).collect();
                at.sort_unstable();
                at.dedup();
                at
            }
        }
    }
}

type Forward<'a> = &'a dyn Fn(&mut Graph, Var, &[Var]) -> Var;
/// ∂f/∂x on the CPU, from x and the parameters.
type CpuGrad<'a> = &'a dyn Fn(&Array, &[Array]) -> Array;

/// Checks ∂f/∂x, then ∂P/∂params and ∂P/∂x, as the module says, at every element.
fn check(what: &str, x: &Array, params: &[Array], c: &Array, forward: Forward, dx: CpuGrad) {
    check_at(what, x, params, c, forward, dx, Elements::All);
}

/// `check` with the finite differences taken at `elements` of each tensor.
fn check_at(
    what: &str,
    x: &Array,
    params: &[Array],
    c: &Array,
    forward: Forward,
    dx: CpuGrad,
    elements: Elements,
) {
    let ps: Vec<_> = params
        .iter()
        .enumerate()
        .map(|(i, a)| param(&format!("p{i}"), a))
        .collect();
    let mut g = Graph::new(gpu(), true, 0);
    let xv = g.variable(upload(x));
    let pv: Vec<Var> = ps.iter().map(|p| g.param(p)).collect();
    let y = forward(&mut g, xv, &pv);
    let cv = g.input(upload(c));
    let weighted = g.mul(y, cv).unwrap();
    let f = g.sum(weighted).unwrap();
    let gx = g.grad(f, &[xv], true).unwrap()[0];
    let every: Vec<usize> = (0..x.numel()).collect();
    assert_close(
        &format!("{what}: ∂f/∂x"),
        &g.value(gx).to_vec().unwrap(),
        &every,
        &dx(x, params).data,
    );

    let squares = g.square(gx).unwrap();
    let penalty = g.sum(squares).unwrap();
    g.backward(penalty).unwrap();
    let all: Vec<Array> = std::iter::once(x.clone())
        .chain(params.iter().cloned())
        .collect();
    let cpu_penalty = |all: &[Array]| dx(&all[0], &all[1..]).data.iter().map(|v| v * v).sum();
    for (i, p) in ps.iter().enumerate() {
        let at = elements.of(params[i].numel());
        assert_close(
            &format!("{what}: ∂P/∂p{i}"),
            &p.grad.to_vec().unwrap(),
            &at,
            &numeric_grad_at(&cpu_penalty, &all, i + 1, &at),
        );
    }
    let px = g.grad(penalty, &[xv], false).unwrap()[0];
    let at = elements.of(x.numel());
    assert_close(
        &format!("{what}: ∂P/∂x"),
        &g.value(px).to_vec().unwrap(),
        &at,
        &numeric_grad_at(&cpu_penalty, &all, 0, &at),
    );
}

/// Values in ±[0.1, 1]: away from ReLU's kink at 0.
fn away_from_zero(shape: &[usize], seed: u64) -> Array {
    let mut a = random(shape, seed, 0.1, 1.0);
    for (i, v) in a.data.iter_mut().enumerate() {
        if (i * 7 + seed as usize).is_multiple_of(3) {
            *v = -*v;
        }
    }
    a
}

#[test]
fn linear_with_each_fused_activation_and_bias() {
    let x = away_from_zero(&[3, 5], 1);
    let c = random(&[3, 4], 2, -1.0, 1.0);
    for (k, act) in ACTS.into_iter().enumerate() {
        let w = random(&[5, 4], 10 + k as u64, -0.5, 0.5);
        let b = random(&[4], 20 + k as u64, -0.2, 0.2);
        let forward = |g: &mut Graph, x: Var, p: &[Var]| g.dense(x, p[0], Some(p[1]), act).unwrap();
        let dx = |x: &Array, p: &[Array]| {
            let z = r::dense(x, &p[0], Some(&p[1]), Activation::Identity);
            let y = r::activation(&z, act);
            r::matmul_backward(&act_backward(&c, &z, &y, act), x, &p[0]).0
        };
        check(&format!("dense {act:?}"), &x, &[w, b], &c, &forward, &dx);
    }
}

#[test]
fn each_activation_as_an_op_of_its_own() {
    let x = away_from_zero(&[4, 3], 3);
    let c = random(&[4, 2], 4, -1.0, 1.0);
    for (k, act) in ACTS.into_iter().enumerate().skip(1) {
        let w = random(&[3, 2], 30 + k as u64, -0.8, 0.8);
        let forward = |g: &mut Graph, x: Var, p: &[Var]| {
            let z = g.dense(x, p[0], None, Activation::Identity).unwrap();
            g.activation(z, act).unwrap()
        };
        let dx = |x: &Array, p: &[Array]| {
            let z = r::matmul(x, &p[0]);
            let y = r::activation(&z, act);
            r::matmul_backward(&act_backward(&c, &z, &y, act), x, &p[0]).0
        };
        check(&format!("{act:?}"), &x, &[w], &c, &forward, &dx);
    }
}

#[test]
fn conv_with_bias_and_leaky_relu_odd_shapes_and_strides() {
    let leaky = Activation::LeakyRelu(0.2);
    for (k, (stride, pad)) in [(1, 1), (2, 0), (2, 1)].into_iter().enumerate() {
        let spec = Conv2dSpec::new(stride, Padding::symmetric(pad));
        let x = away_from_zero(&[2, 2, 5, 5], 40 + k as u64);
        let w = random(&[3, 2, 3, 3], 50 + k as u64, -0.4, 0.4);
        let b = random(&[3], 60 + k as u64, -0.1, 0.1);
        let y_shape = r::conv2d(&x, &w, None, &spec, Activation::Identity).shape;
        let c = random(&y_shape, 70 + k as u64, -1.0, 1.0);
        let forward =
            |g: &mut Graph, x: Var, p: &[Var]| g.conv2d(x, p[0], Some(p[1]), spec, leaky).unwrap();
        let dx = |x: &Array, p: &[Array]| {
            let z = r::conv2d(x, &p[0], Some(&p[1]), &spec, Activation::Identity);
            let dz = r::activation_backward(&c, &z, Activation::LeakyRelu(0.2));
            r::conv2d_backward_input(&dz, &p[0], &x.shape, &spec)
        };
        check(
            &format!("conv s{stride} p{pad}"),
            &x,
            &[w, b],
            &c,
            &forward,
            &dx,
        );
    }
}

#[test]
fn conv_transpose_with_bias_and_tanh() {
    let spec = ConvTranspose2dSpec::torch(2, 1, 0);
    let x = away_from_zero(&[1, 3, 3, 3], 80);
    let w = random(&[3, 2, 4, 4], 81, -0.4, 0.4);
    let b = random(&[2], 82, -0.1, 0.1);
    let y_shape = r::conv_transpose2d(&x, &w, None, &spec, Activation::Identity).shape;
    let c = random(&y_shape, 83, -1.0, 1.0);
    let forward = |g: &mut Graph, x: Var, p: &[Var]| {
        g.conv_transpose2d(x, p[0], Some(p[1]), spec, Activation::Tanh)
            .unwrap()
    };
    let dx = |x: &Array, p: &[Array]| {
        let z = r::conv_transpose2d(x, &p[0], Some(&p[1]), &spec, Activation::Identity);
        let tanh = Activation::Tanh;
        let dz = r::activation_backward(&c, &r::activation(&z, tanh), tanh);
        r::conv_transpose2d_backward_input(&dz, &p[0], &x.shape, &spec)
    };
    check("conv_transpose", &x, &[w, b], &c, &forward, &dx);
}

/// Sum and mean inside f: f = Σ c ⊙ mean(sigmoid(x·w)) · (x·w), a scalar times a
/// matrix, so both reductions sit on the path that the penalty differentiates.
#[test]
fn sum_and_mean_on_the_path() {
    let x = away_from_zero(&[3, 4], 90);
    let w = random(&[4, 2], 91, -0.8, 0.8);
    let c = random(&[3, 2], 92, -1.0, 1.0);
    let forward = |g: &mut Graph, x: Var, p: &[Var]| {
        let z = g.dense(x, p[0], None, Activation::Identity).unwrap();
        let s = g.sigmoid(z).unwrap();
        let m = g.mean(s).unwrap();
        let total = g.sum(z).unwrap();
        let scalar = g.mul(m, total).unwrap();
        let one = g.reshape(scalar, &[1, 1]).unwrap();
        let ones = g.input(upload(&Array::new(&[1, 2], vec![1.0; 2])));
        let row = g.matmul(one, ones, false, false).unwrap();
        let col = g.input(upload(&Array::new(&[3, 1], vec![1.0; 3])));
        let grid = g.matmul(col, row, false, false).unwrap();
        g.mul(grid, z).unwrap()
    };
    // f = m·t·Σ(c ⊙ z) with m = mean σ(z), t = Σ z, z = x·w; dz = ∂f/∂z, then dx = dz·wᵀ.
    let dx = |x: &Array, p: &[Array]| {
        let z = r::matmul(x, &p[0]);
        let s = r::activation(&z, Activation::Sigmoid);
        let n = z.numel() as f64;
        let m = s.data.iter().sum::<f64>() / n;
        let t: f64 = z.data.iter().sum();
        let cz: f64 = c.data.iter().zip(&z.data).map(|(a, b)| a * b).sum();
        let dz_data = (0..z.numel())
            .map(|i| {
                let ds = s.data[i] * (1.0 - s.data[i]) / n;
                ds * t * cz + m * cz + m * t * c.data[i]
            })
            .collect();
        r::matmul_nt(&Array::new(&z.shape, dz_data), &p[0])
    };
    check("sum and mean", &x, &[w], &c, &forward, &dx);
}

/// Batch norm in training mode, with LeakyReLU fused, on an odd (N, C, H, W) and on
/// batch 2 of (N, C): its second derivative comes from the normalisation composed of
/// recorded ops.
#[test]
fn batch_norm_in_training_mode() {
    let config = BatchNormConfig::default();
    for (k, shape) in [&[3, 2, 3, 5][..], &[2, 4]].into_iter().enumerate() {
        let channels = shape[1];
        let x = random(shape, 100 + k as u64, -1.0, 1.0);
        let gamma = random(&[channels], 110 + k as u64, 0.5, 1.5);
        let beta = random(&[channels], 120 + k as u64, -0.5, 0.5);
        let c = random(shape, 130 + k as u64, -1.0, 1.0);
        let stats = || {
            let mean = Array::new(&[channels], vec![0.0; channels]);
            let var = Array::new(&[channels], vec![1.0; channels]);
            (mean, var)
        };
        let (mean, var) = stats();
        let (mean, var) = (upload(&mean), upload(&var));
        let forward = |g: &mut Graph, x: Var, p: &[Var]| {
            let leaky = Activation::LeakyRelu(0.2);
            g.batch_norm(x, p[0], p[1], &mean, &var, &config, leaky)
                .unwrap()
        };
        let dx = |x: &Array, p: &[Array]| {
            let (mut mean, mut var) = stats();
            let identity = Activation::Identity;
            let (z, saved) =
                r::batch_norm_train(x, &p[0], &p[1], &mut mean, &mut var, &config, identity);
            let dz = r::activation_backward(&c, &z, Activation::LeakyRelu(0.2));
            r::batch_norm_backward(&dz, x, &p[0], &saved).0
        };
        check(
            &format!("batch norm {shape:?}"),
            &x,
            &[gamma, beta],
            &c,
            &forward,
            &dx,
        );
    }
}

/// Spectral norm: y = x · (W / uᵀWv) with u and v held, differentiated twice through
/// σ's dependence on W.
#[test]
fn spectral_norm_of_a_linear_weight() {
    let x = away_from_zero(&[3, 5], 140);
    let w = random(&[5, 4], 141, -0.8, 0.8);
    let c = random(&[3, 4], 142, -1.0, 1.0);
    let norm = SpectralNorm::new(gpu(), "w", &upload(&w), 7, 0).unwrap();
    norm.power_iteration(&upload(&w)).unwrap();
    let download = |t: &duel::Tensor| Array::from_f32(t.shape(), &t.to_vec().unwrap());
    let (u, v) = (download(&norm.u.value), download(&norm.v.value));
    let forward = |g: &mut Graph, x: Var, p: &[Var]| {
        let w = norm.apply(g, p[0]).unwrap();
        g.dense(x, w, None, Activation::Identity).unwrap()
    };
    let dx = |_: &Array, p: &[Array]| {
        let sigma = r::matmul_tn(&u, &r::matmul(&p[0], &v)).data[0];
        let normalised = p[0].map(|value| value / sigma);
        r::matmul_nt(&c, &normalised)
    };
    check("spectral norm", &x, &[w], &c, &forward, &dx);
}

/// cifar10_dcgan's discriminator at CIFAR-10's shape, narrower: (2, 3, 32, 32) →
/// conv 4×4 s2 + LeakyReLU → (conv 4×4 s2 + batch norm + LeakyReLU) twice → flatten →
/// dense to one logit. Each batch norm's incoming gradient depends on x through the
/// layers above it; its second derivative must hold that gradient constant. 24
/// elements of each tensor are checked by finite differences.
#[test]
fn a_cifar10_discriminator_stack_of_convs_and_batch_norms() {
    let config = BatchNormConfig::default();
    let spec = Conv2dSpec::new(2, Padding::symmetric(1));
    let leaky = Activation::LeakyRelu(0.2);
    let widths = [3, 4, 6, 8];
    let x = away_from_zero(&[2, 3, 32, 32], 150);
    let mut params = Vec::new();
    for (i, pair) in widths.windows(2).enumerate() {
        let fan_in = (pair[0] * 16) as f32;
        let w = random(&[pair[1], pair[0], 4, 4], 151 + i as u64, -1.0, 1.0);
        params.push(w.map(|v| v * 2.0 / f64::from(fan_in.sqrt())));
        if i > 0 {
            params.push(random(&[pair[1]], 160 + i as u64, 0.5, 1.5));
            params.push(random(&[pair[1]], 170 + i as u64, -0.5, 0.5));
        }
    }
    params.push(random(&[8 * 4 * 4, 1], 180, -0.2, 0.2));
    let c = random(&[2, 1], 181, -1.0, 1.0);
    let channels = |i: usize| widths[i + 1];
    let stats = |i: usize| {
        let n = channels(i);
        (
            Array::new(&[n], vec![0.0; n]),
            Array::new(&[n], vec![1.0; n]),
        )
    };
    let gpu_stats: Vec<_> = (1..3)
        .map(|i| {
            let (mean, var) = stats(i);
            (upload(&mean), upload(&var))
        })
        .collect();
    let forward = |g: &mut Graph, x: Var, p: &[Var]| {
        let mut h = g.conv2d(x, p[0], None, spec, leaky).unwrap();
        for (k, (mean, var)) in gpu_stats.iter().enumerate() {
            let [w, gamma, beta] = [p[1 + 3 * k], p[2 + 3 * k], p[3 + 3 * k]];
            let z = g.conv2d(h, w, None, spec, Activation::Identity).unwrap();
            h = g
                .batch_norm(z, gamma, beta, mean, var, &config, leaky)
                .unwrap();
        }
        let flat = g.reshape(h, &[2, 8 * 4 * 4]).unwrap();
        g.dense(flat, p[7], None, Activation::Identity).unwrap()
    };
    // The CPU twins forward, keeping what each backward reads, then back to x.
    let dx = |x: &Array, p: &[Array]| {
        let identity = Activation::Identity;
        let z0 = r::conv2d(x, &p[0], None, &spec, identity);
        let mut h = r::activation(&z0, leaky);
        let mut layers = Vec::new();
        for k in 0..2 {
            let (w, gamma, beta) = (&p[1 + 3 * k], &p[2 + 3 * k], &p[3 + 3 * k]);
            let z = r::conv2d(&h, w, None, &spec, identity);
            let (mut mean, mut var) = stats(k + 1);
            let (bn, saved) =
                r::batch_norm_train(&z, gamma, beta, &mut mean, &mut var, &config, identity);
            let input = std::mem::replace(&mut h, r::activation(&bn, leaky));
            layers.push((input, z, bn, saved));
        }
        let dflat = r::matmul_nt(&c, &p[7]);
        let mut dh = Array::new(&h.shape, dflat.data);
        for (k, (input, z, bn, saved)) in layers.iter().enumerate().rev() {
            let (w, gamma) = (&p[1 + 3 * k], &p[2 + 3 * k]);
            let dbn = r::activation_backward(&dh, bn, leaky);
            let dz = r::batch_norm_backward(&dbn, z, gamma, saved).0;
            dh = r::conv2d_backward_input(&dz, w, &input.shape, &spec);
        }
        let dz0 = r::activation_backward(&dh, &z0, leaky);
        r::conv2d_backward_input(&dz0, &p[0], &x.shape, &spec)
    };
    check_at(
        "CIFAR-10 discriminator",
        &x,
        &params,
        &c,
        &forward,
        &dx,
        Elements::Spread(24),
    );
}
