// Activations, in one place for every shader that includes this file. The override
// ACT picks one (0 none, 1 ReLU, 2 LeakyReLU with slope ALPHA, 3 tanh, 4 sigmoid; the
// numbering is `Activation::constants`'): the elementwise kernels apply it on its own,
// and the epilogues of the GEMMs and of batch norm's apply fuse it, so an activation
// after a layer costs no dispatch of its own. A new activation is a case in `activate`
// and one in `act_grad`.

override ACT: u32 = 0u;
override ALPHA: f32 = 0.0;

fn sigmoid(x: f32) -> f32 {
    // Written so that exp never overflows: exp(-|x|) is at most 1.
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn act_relu(x: f32) -> f32 {
    return max(x, 0.0);
}

fn act_leaky_relu(x: f32, alpha: f32) -> f32 {
    return select(x * alpha, x, x > 0.0);
}

// WGSL's tanh may return NaN for large |x| on some drivers; 2*sigmoid(2x)-1 does not.
fn act_tanh(x: f32) -> f32 {
    return 2.0 * sigmoid(2.0 * x) - 1.0;
}

fn activate(x: f32) -> f32 {
    switch ACT {
        case 1u: { return act_relu(x); }
        case 2u: { return act_leaky_relu(x, ALPHA); }
        case 3u: { return act_tanh(x); }
        case 4u: { return sigmoid(x); }
        default: { return x; }
    }
}

// dy · act′(x), read from `at`: ReLU and LeakyReLU read the sign of their input x
// (right for any slope), tanh and sigmoid their output y.
fn act_grad(dy: f32, at: f32) -> f32 {
    switch ACT {
        case 1u: { return select(0.0, dy, at > 0.0); }
        case 2u: { return select(dy * ALPHA, dy, at > 0.0); }
        case 3u: { return dy * (1.0 - at * at); }
        case 4u: { return dy * at * (1.0 - at); }
        default: { return dy; }
    }
}
