//! The tape against finite differences of the CPU reference, in f64, through the same
//! composed graphs, plus freezing, detaching and the no-churn promise.
//!
//! Tolerance: GPU gradients are f32 sums of at most a few hundred terms of size ≲ 1,
//! so 1e-4 absolute plus 1e-3 relative; a wrong or missing backward term is off by
//! the size of the gradient itself.

use crate::common::{gpu, numeric_grad, param, random, upload};
use duel::autograd::{Graph, Param, Var};
use duel::reference::{self as r, Array};
use duel::{Activation, BatchNormConfig, Conv2dSpec, ConvTranspose2dSpec, Padding, Tensor, ops};
use std::rc::Rc;

fn assert_grad(what: &str, p: &Param, want: &Array) {
    let got = p.grad.to_vec().unwrap();
    for (i, (g, w)) in got.iter().zip(&want.data).enumerate() {
        let bound = 1e-4 + 1e-3 * w.abs();
        assert!(
            (f64::from(*g) - w).abs() <= bound,
            "{what}[{i}]: GPU {g} vs finite differences {w}"
        );
    }
}

/// x · w, with no bias or activation.
fn dense(g: &mut Graph, x: Var, w: &Rc<Param>) -> Var {
    let w = g.param(w);
    g.dense(x, w, None, Activation::Identity).unwrap()
}

fn scalar(a: &Array) -> f64 {
    a.data[0]
}

#[test]
fn two_layer_mlp_gradients_match_finite_differences() {
    let x = random(&[5, 4], 1, -1.0, 1.0);
    let t = random(&[5, 1], 2, 0.0, 1.0);
    let init = [
        random(&[4, 6], 3, -0.8, 0.8),
        random(&[6], 4, -0.2, 0.2),
        random(&[6, 1], 5, -0.8, 0.8),
        random(&[1], 6, -0.2, 0.2),
    ];
    let loss = |p: &[Array]| {
        let h = r::dense(&x, &p[0], Some(&p[1]), Activation::LeakyRelu(0.2));
        scalar(&r::bce_with_logits(
            &r::dense(&h, &p[2], Some(&p[3]), Activation::Identity),
            &t,
        ))
    };
    let params: Vec<Rc<Param>> = init
        .iter()
        .enumerate()
        .map(|(i, a)| param(&format!("p{i}"), a))
        .collect();
    // The LeakyReLU as an op of its own, then fused into the first Dense's epilogue.
    for fused in [false, true] {
        let mut g = Graph::new(gpu(), true, 0);
        let xv = g.input(upload(&x));
        let leaky = Activation::LeakyRelu(0.2);
        let h = if fused {
            {
                let (w, b) = (g.param(&params[0]), g.param(&params[1]));
                g.dense(xv, w, Some(b), leaky).unwrap()
            }
        } else {
            let (w, b) = (g.param(&params[0]), g.param(&params[1]));
            let h = g.dense(xv, w, Some(b), Activation::Identity).unwrap();
            g.leaky_relu(h, 0.2).unwrap()
        };
        let (w, b) = (g.param(&params[2]), g.param(&params[3]));
        let y = g.dense(h, w, Some(b), Activation::Identity).unwrap();
        let l = g.bce_with_logits(y, &upload(&t)).unwrap();
        let gpu_loss = g.value(l).to_vec().unwrap()[0];
        assert!(
            (f64::from(gpu_loss) - loss(&init)).abs() < 1e-5,
            "fused {fused}: loss {gpu_loss} vs {}",
            loss(&init)
        );
        params.iter().for_each(|p| p.zero_grad().unwrap());
        g.backward(l).unwrap();
        for (i, p) in params.iter().enumerate() {
            let what = format!("mlp param {i}, fused {fused}");
            assert_grad(&what, p, &numeric_grad(&loss, &init, i));
        }
    }
}

/// conv → sigmoid → BN → LeakyReLU → convT → tanh → BCE, with each activation as an op
/// of its own and then fused into the epilogue of the op before it.
#[test]
fn conv2d_batch_norm_conv_transpose2d_chain_matches_finite_differences() {
    let x = random(&[2, 2, 6, 6], 10, -1.0, 1.0);
    let conv = Conv2dSpec::new(2, Padding::symmetric(1));
    let convt = ConvTranspose2dSpec::torch(2, 1, 0);
    let bn = BatchNormConfig::default();
    let t = random(&[2, 2, 6, 6], 11, 0.0, 1.0);
    let init = [
        random(&[3, 2, 3, 3], 12, -0.5, 0.5),
        random(&[3], 13, 0.8, 1.2),
        random(&[3], 14, -0.2, 0.2),
        random(&[3, 2, 4, 4], 15, -0.5, 0.5),
        random(&[2], 16, -0.2, 0.2),
    ];
    let loss = |p: &[Array]| {
        let h = r::conv2d(&x, &p[0], None, &conv, Activation::Sigmoid);
        let (mut rm, mut rv) = (r::zeros(&[3]), r::full(&[3], 1.0));
        let h = r::batch_norm_train(
            &h,
            &p[1],
            &p[2],
            &mut rm,
            &mut rv,
            &bn,
            Activation::LeakyRelu(0.2),
        )
        .0;
        scalar(&r::bce_with_logits(
            &r::conv_transpose2d(&h, &p[3], Some(&p[4]), &convt, Activation::Tanh),
            &t,
        ))
    };
    let params: Vec<Rc<Param>> = init
        .iter()
        .enumerate()
        .map(|(i, a)| param(&format!("p{i}"), a))
        .collect();
    let (running_mean, running_var) = (
        ops::zeros(gpu(), &[3]).unwrap(),
        ops::full(gpu(), &[3], 1.0).unwrap(),
    );
    for fused in [false, true] {
        // What the op applies, and what follows as an op of its own.
        let epilogue = |act| if fused { act } else { Activation::Identity };
        let after = |g: &mut Graph, h: Var, act| match (fused, act) {
            (true, _) => h,
            (false, Activation::Sigmoid) => g.sigmoid(h).unwrap(),
            (false, Activation::LeakyRelu(alpha)) => g.leaky_relu(h, alpha).unwrap(),
            (false, _) => g.tanh(h).unwrap(),
        };
        let (sigmoid, leaky, tanh) = (
            Activation::Sigmoid,
            Activation::LeakyRelu(0.2),
            Activation::Tanh,
        );
        let mut g = Graph::new(gpu(), true, 0);
        let xv = g.input(upload(&x));
        let w0 = g.param(&params[0]);
        let h = g.conv2d(xv, w0, None, conv, epilogue(sigmoid)).unwrap();
        let h = after(&mut g, h, sigmoid);
        let (m, v) = (&running_mean, &running_var);
        let (gamma, beta) = (g.param(&params[1]), g.param(&params[2]));
        let h = g
            .batch_norm(h, gamma, beta, m, v, &bn, epilogue(leaky))
            .unwrap();
        let h = after(&mut g, h, leaky);
        let (w3, b4) = (g.param(&params[3]), g.param(&params[4]));
        let y = g
            .conv_transpose2d(h, w3, Some(b4), convt, epilogue(tanh))
            .unwrap();
        let y = after(&mut g, y, tanh);
        let l = g.bce_with_logits(y, &upload(&t)).unwrap();
        params.iter().for_each(|p| p.zero_grad().unwrap());
        g.backward(l).unwrap();
        for (i, p) in params.iter().enumerate() {
            let what = format!("chain param {i}, fused {fused}");
            assert_grad(&what, p, &numeric_grad(&loss, &init, i));
        }
    }
}

#[test]
fn frozen_parameters_pass_gradients_through_and_detach_stops_them() {
    // G: z -> z·Wg; D: h -> h·Wd; loss = BCE(D(G(z)), 1), as in a GAN's G step.
    let z = random(&[3, 2], 20, -1.0, 1.0);
    let (wg0, wd0) = (
        random(&[2, 4], 21, -1.0, 1.0),
        random(&[4, 1], 22, -1.0, 1.0),
    );
    let ones = Array::new(&[3, 1], vec![1.0; 3]);
    let (wg, wd) = (param("wg", &wg0), param("wd", &wd0));
    wd.set_trainable(false);
    let mut g = Graph::new(gpu(), true, 0);
    let zv = g.input(upload(&z));
    let fake = dense(&mut g, zv, &wg);
    let logits = dense(&mut g, fake, &wd);
    let l = g.bce_with_logits(logits, &upload(&ones)).unwrap();
    g.backward(l).unwrap();
    assert!(
        wd.grad.to_vec().unwrap().iter().all(|v| *v == 0.0),
        "a frozen parameter got a gradient"
    );
    let loss = |p: &[Array]| {
        scalar(&r::bce_with_logits(
            &r::matmul(&r::matmul(&z, &p[0]), &wd0),
            &ones,
        ))
    };
    assert_grad(
        "G through frozen D",
        &wg,
        &numeric_grad(&loss, std::slice::from_ref(&wg0), 0),
    );

    // Detached: D trains on G's output, and nothing reaches G.
    wd.set_trainable(true);
    wg.zero_grad().unwrap();
    let mut g = Graph::new(gpu(), true, 0);
    let zv = g.input(upload(&z));
    let fake = dense(&mut g, zv, &wg);
    let fake = g.detach(fake);
    let logits = dense(&mut g, fake, &wd);
    let l = g.bce_with_logits(logits, &upload(&ones)).unwrap();
    g.backward(l).unwrap();
    assert!(
        wg.grad.to_vec().unwrap().iter().all(|v| *v == 0.0),
        "a gradient crossed detach"
    );
    assert!(wd.grad.to_vec().unwrap().iter().any(|v| *v != 0.0));
}

#[test]
fn no_grad_records_nothing_to_differentiate() {
    let w = param("w", &random(&[2, 2], 30, -1.0, 1.0));
    let mut g = Graph::new(gpu(), true, 0);
    let x = g.input(upload(&random(&[1, 2], 31, -1.0, 1.0)));
    let y = g
        .no_grad(|g| {
            let w = g.param(&w);
            g.dense(x, w, None, Activation::Identity)
        })
        .unwrap();
    let ones = upload(&Array::new(&[1, 2], vec![1.0; 2]));
    let l = g.bce_with_logits(y, &ones).unwrap();
    g.backward(l).unwrap();
    assert!(w.grad.to_vec().unwrap().iter().all(|v| *v == 0.0));
}

#[test]
fn sgd_and_adam_own_their_parameters_and_update_them() {
    let w0 = random(&[3, 2], 40, -1.0, 1.0);
    let (w_sgd, w_adam) = (param("w_sgd", &w0), param("w_adam", &w0));
    let x = upload(&random(&[4, 3], 41, -1.0, 1.0));
    let t = upload(&Array::new(&[4, 2], vec![1.0; 8]));
    for w in [&w_sgd, &w_adam] {
        let mut g = Graph::new(gpu(), true, 0);
        let xv = g.input(x.clone());
        let y = dense(&mut g, xv, w);
        let l = g.bce_with_logits(y, &t).unwrap();
        g.backward(l).unwrap();
    }
    let grad = w_sgd.grad.to_vec().unwrap();
    let sgd = duel::optim::Sgd::new(vec![w_sgd.clone()], 0.5);
    sgd.step().unwrap();
    let stepped = w_sgd.value.to_vec().unwrap();
    for ((w, g), s) in w0.to_f32().iter().zip(&grad).zip(&stepped) {
        assert!((w - 0.5 * g - s).abs() < 1e-6, "SGD: {w} - 0.5·{g} != {s}");
    }
    sgd.zero_grad().unwrap();
    assert!(w_sgd.grad.to_vec().unwrap().iter().all(|v| *v == 0.0));

    // Adam's first step moves each weight by lr against the sign of its gradient
    // (m̂ / sqrt(v̂) = g / |g|), which checks that it read the gradient it owns.
    let mut adam =
        duel::optim::Adam::new(vec![w_adam.clone()], duel::AdamConfig::default()).unwrap();
    adam.step().unwrap();
    for ((w, g), s) in w0
        .to_f32()
        .iter()
        .zip(&grad)
        .zip(&w_adam.value.to_vec().unwrap())
    {
        assert!(
            (w - 2e-4 * g.signum() - s).abs() < 1e-6,
            "Adam: {w}, grad {g}, got {s}"
        );
    }
    assert_eq!(adam.steps(), 1);
}

/// Adam gathers its parameters into arenas and updates them all in one dispatch: each
/// parameter (odd sizes, so the arenas have gaps) still follows the CPU twin step by
/// step, reads and writes through its arena, and a second optimizer over the same
/// parameter makes the first one refuse to step instead of training nothing.
#[test]
fn adam_updates_every_parameter_in_one_dispatch() {
    let shapes: [&[usize]; 4] = [&[3, 5], &[7], &[2, 3, 3, 3], &[1]];
    let inits: Vec<Array> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| random(s, 40 + i as u64, -1.0, 1.0))
        .collect();
    // A context of its own, so other tests' dispatches don't reach its counter.
    let gpu = duel::Gpu::new().unwrap();
    let params: Vec<Rc<Param>> = inits
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let value = Tensor::from_slice(&gpu, &a.shape, &a.to_f32()).unwrap();
            Param::new(&gpu, format!("p{i}"), value).unwrap()
        })
        .collect();
    let config = duel::AdamConfig {
        weight_decay: 0.01,
        ..duel::AdamConfig::default()
    };
    let mut adam = duel::optim::Adam::new(params.clone(), config).unwrap();
    let mut want: Vec<(Array, Array, Array)> = inits
        .iter()
        .map(|a| (a.clone(), r::zeros(&a.shape), r::zeros(&a.shape)))
        .collect();
    for step in 1..=3u32 {
        // Gradients written through each parameter's view of the gradient arena.
        for (i, p) in params.iter().enumerate() {
            let grad = random(
                p.grad.shape(),
                50 + 10 * u64::from(step) + i as u64,
                -1.0,
                1.0,
            );
            p.grad.write(&grad.to_f32()).unwrap();
            let (w, m, v) = &mut want[i];
            r::adam_step(w, &grad, m, v, &config, step);
        }
        let before = gpu.batch_stats().dispatches;
        adam.step().unwrap();
        assert_eq!(
            gpu.batch_stats().dispatches - before,
            1,
            "one dispatch per step"
        );
    }
    for (p, (w, _, _)) in params.iter().zip(&want) {
        let got = p.value.to_vec().unwrap();
        for (g, w) in got.iter().zip(&w.data) {
            // f32 arithmetic of a few terms against f64: a few ulp of values near 1.
            assert!((f64::from(*g) - w).abs() < 1e-6, "{}: {g} vs {w}", p.name);
        }
    }
    let before = gpu.batch_stats().dispatches;
    adam.zero_grad().unwrap();
    assert_eq!(
        gpu.batch_stats().dispatches - before,
        1,
        "one zero_grad dispatch"
    );
    assert!(
        params
            .iter()
            .all(|p| p.grad.to_vec().unwrap().iter().all(|v| *v == 0.0))
    );

    let _other = duel::optim::Adam::new(vec![params[2].clone()], config).unwrap();
    match adam.step() {
        Err(duel::Error::Usage(m)) => assert!(m.contains("p2"), "{m}"),
        other => panic!("expected a usage error naming p2, got {other:?}"),
    }
}

/// The least-squares pieces: sub, mul (with distinct operands and as square), mean and
/// the mse composed of them, through two Dense layers, against finite differences.
#[test]
fn mse_and_elementwise_ops_match_finite_differences() {
    let x = random(&[5, 4], 60, -1.0, 1.0);
    let t = random(&[5, 3], 61, -1.0, 1.0);
    let init = [
        random(&[4, 3], 62, -0.8, 0.8),
        random(&[3], 63, -0.2, 0.2),
        random(&[4, 3], 64, -0.8, 0.8),
    ];
    // mean((x·W0 + b - t)²) + mean((x·W0 + b) ⊙ (x·W2))
    let loss = |p: &[Array]| {
        let y = r::dense(&x, &p[0], Some(&p[1]), Activation::Identity);
        let y2 = r::matmul(&x, &p[2]);
        let d = r::sub(&y, &t);
        scalar(&r::mean(&r::mul(&d, &d))) + scalar(&r::mean(&r::mul(&y, &y2)))
    };
    let params: Vec<Rc<Param>> = init
        .iter()
        .enumerate()
        .map(|(i, a)| param(&format!("p{i}"), a))
        .collect();
    let mut g = Graph::new(gpu(), true, 0);
    let (xv, tv) = (g.input(upload(&x)), g.input(upload(&t)));
    let identity = Activation::Identity;
    let (w, b, w2) = (
        g.param(&params[0]),
        g.param(&params[1]),
        g.param(&params[2]),
    );
    let y = g.dense(xv, w, Some(b), identity).unwrap();
    let y2 = g.dense(xv, w2, None, identity).unwrap();
    let squared = g.mse(y, tv).unwrap();
    let product = g.mul(y, y2).unwrap();
    let cross = g.mean(product).unwrap();
    let l = g.add(squared, cross).unwrap();
    let gpu_loss = f64::from(g.value(l).to_vec().unwrap()[0]);
    assert!(
        (gpu_loss - loss(&init)).abs() < 1e-5,
        "loss {gpu_loss} vs {}",
        loss(&init)
    );
    g.backward(l).unwrap();
    for (i, p) in params.iter().enumerate() {
        assert_grad(&format!("mse param {i}"), p, &numeric_grad(&loss, &init, i));
    }
}
