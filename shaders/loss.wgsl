// Losses, each a mean over its elements (or rows), with their backward.
// The forward entries write one loss per element or row; the launcher averages them.
// The backward entries read the upstream gradient of the mean, a single value.
//
// Bindings: 1 input, 2 target, 3 out, and for the backward entries 4 dloss.
// Entry points:
//   bce_logits          z, t -> loss         max(z, 0) - z·t + ln(1 + e^-|z|)
//   bce_logits_backward z, t -> dz           dloss·scale·(σ(z) - t)
//   bce_probs           p, t -> loss         -(t ln q + (1 - t) ln(1 - q)), q = clamp(p, eps, 1 - eps)
//   bce_probs_backward  p, t -> dp           dloss·scale·(p - t) / (p (1 - p)), 0 where clamped
//   softmax_ce          logits (N, C), labels (N) -> loss (N)   logsumexp(z) - z[label]
//   softmax_ce_backward logits, labels -> dz (N, C)             dloss·scale·(softmax(z) - onehot)
//   softmax_ce_soft     logits, targets (N, C) -> loss (N)      Σ_c t_c (logsumexp(z) - z_c)
//   softmax_ce_soft_backward logits, targets -> dz (N, C)       dloss·scale·(softmax(z)·Σ_c t_c - t)
// Labels are class indices stored as f32; one outside [0, C) gives a NaN loss, so a
// bad label shows up as a NaN rather than as a silently wrong number.

struct Params {
    n: u32,      // elements (BCE) or rows (softmax)
    classes: u32,
    scale: f32,  // 1 / count, the mean's factor
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> dloss: array<f32>;

// @include flat

// A quiet NaN's bits, in a variable: WGSL rejects a constant expression that makes a
// NaN, and Chromium's compiler enforces it (naga does not).
var<private> nan_bits: u32 = 0x7fc00000u;

// @include activation

@compute @workgroup_size(256)
fn bce_logits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= p.n { return; }
    let z = inp[i];
    out[i] = max(z, 0.0) - z * tgt[i] + log(1.0 + exp(-abs(z)));
}

@compute @workgroup_size(256)
fn bce_logits_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = dloss[0] * p.scale * (sigmoid(inp[i]) - tgt[i]);
}

@compute @workgroup_size(256)
fn bce_probs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= p.n { return; }
    let q = clamp(inp[i], p.eps, 1.0 - p.eps);
    let t = tgt[i];
    out[i] = -(t * log(q) + (1.0 - t) * log(1.0 - q));
}

@compute @workgroup_size(256)
fn bce_probs_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= p.n { return; }
    let x = inp[i];
    let inside = x >= p.eps && x <= 1.0 - p.eps;
    let g = dloss[0] * p.scale * (x - tgt[i]) / (x * (1.0 - x));
    out[i] = select(0.0, g, inside);
}

// The row's max and ln Σ exp(z - max), for a numerically safe softmax.
fn row_stats(row: u32) -> vec2<f32> {
    var m = -3.4e38;
    for (var c = 0u; c < p.classes; c++) {
        m = max(m, inp[row * p.classes + c]);
    }
    var s = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        s += exp(inp[row * p.classes + c] - m);
    }
    return vec2<f32>(m, log(s));
}

fn label_of(value: f32) -> i32 {
    let label = i32(value);
    return select(-1, label, f32(label) == value && label >= 0 && label < i32(p.classes));
}

@compute @workgroup_size(256)
fn softmax_ce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    let stats = row_stats(row);
    let label = label_of(tgt[row]);
    if label < 0 {
        out[row] = bitcast<f32>(nan_bits);
        return;
    }
    out[row] = stats.x + stats.y - inp[row * p.classes + u32(label)];
}

@compute @workgroup_size(256)
fn softmax_ce_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    let stats = row_stats(row);
    let label = label_of(tgt[row]);
    let g = dloss[0] * p.scale;
    for (var c = 0u; c < p.classes; c++) {
        let i = row * p.classes + c;
        let softmax = exp(inp[i] - stats.x - stats.y);
        out[i] = g * (softmax - select(0.0, 1.0, i32(c) == label));
    }
}

@compute @workgroup_size(256)
fn softmax_ce_soft(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    let lse = dot(row_stats(row), vec2<f32>(1.0));
    var loss = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        let i = row * p.classes + c;
        loss += tgt[i] * (lse - inp[i]);
    }
    out[row] = loss;
}

@compute @workgroup_size(256)
fn softmax_ce_soft_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    let stats = row_stats(row);
    var mass = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        mass += tgt[row * p.classes + c];
    }
    let g = dloss[0] * p.scale;
    for (var c = 0u; c < p.classes; c++) {
        let i = row * p.classes + c;
        out[i] = g * (exp(inp[i] - stats.x - stats.y) * mass - tgt[i]);
    }
}
