// Batch normalisation over x viewed as (N, C, S): per channel c, statistics over the
// N·S values x[n, c, s]. 2-D batchnorm has S = H·W; 1-D batchnorm (N, F) has C = F, S = 1.
//
// Two per-channel buffers describe the normalisation: `mean`, and `second`, which in
// training is this batch's inverse standard deviation 1/sqrt(var + eps) and in eval
// mode (eval = 1) the running variance, from which the kernels derive it themselves.
//
// Entry points:
//   bn_stats           workgroup per channel, two passes (mean, then Σ(x - mean)²), so
//                      a large mean offset costs no precision. Writes mean and invstd and updates
//                      running = momentum·running + (1 - momentum)·batch (Keras's convention;
//                      the running variance takes the unbiased batch variance).
//                      Bindings: 1 x, 2 mean (write), 3 invstd (write), 4 running_mean,
//                      5 running_var.
//   bn_apply           y = (x - mean)·invstd·γ + β.  1 x, 2 mean, 3 second, 4 γ, 5 β, 6 y.
//   bn_backward_reduce workgroup per channel: dβ = Σ dy, dγ = Σ dy·x̂ in one fused pass.
//                      1 dy, 2 x, 3 mean, 4 second, 5 dγ (write), 6 dβ (write).
//   bn_backward_apply  dx = γ·invstd/M · (M·dy - dβ - x̂·dγ), training mode (M = N·S).
//                      1 dy, 2 x, 3 mean, 4 second, 5 γ, 6 dγ, 7 dβ, 8 dx.

struct Params {
    n: u32,
    c: u32,
    s: u32,
    eval: u32,
    eps: f32,
    momentum: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 256u;

fn at(j: u32, channel: u32) -> u32 {
    // j-th value of the channel: j = n·S + s.
    return ((j / p.s) * p.c + channel) * p.s + j % p.s;
}

var<workgroup> partial: array<f32, 256>;
var<workgroup> partial2: array<f32, 256>;

// Sums `value` across the workgroup; every invocation gets the total.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if lid < half { partial[lid] += partial[lid + half]; }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@group(0) @binding(1) var<storage, read> st_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> st_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> st_invstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;

@compute @workgroup_size(256)
fn bn_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    // One workgroup per channel; the whole workgroup leaves together past the last.
    let channel = wid.x + wid.y * nwg.x;
    if channel >= p.c { return; }
    let count = p.n * p.s;
    var sum = 0.0;
    for (var j = lid.x; j < count; j += WG) { sum += st_x[at(j, channel)]; }
    let mu = workgroup_sum(lid.x, sum) / f32(count);
    var sq = 0.0;
    for (var j = lid.x; j < count; j += WG) {
        let d = st_x[at(j, channel)] - mu;
        sq += d * d;
    }
    let var_biased = workgroup_sum(lid.x, sq) / f32(count);
    if lid.x == 0u {
        st_mean[channel] = mu;
        st_invstd[channel] = 1.0 / sqrt(var_biased + p.eps);
        let unbiased = select(var_biased, var_biased * f32(count) / f32(count - 1u), count > 1u);
        running_mean[channel] = p.momentum * running_mean[channel] + (1.0 - p.momentum) * mu;
        running_var[channel] = p.momentum * running_var[channel] + (1.0 - p.momentum) * unbiased;
    }
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> second: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

// The inverse standard deviation from `second`, whichever mode it holds.
fn inverse_std(second_value: f32) -> f32 {
    return select(second_value, 1.0 / sqrt(second_value + p.eps), p.eval != 0u);
}

@compute @workgroup_size(256)
fn bn_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
    if i >= p.n * p.c * p.s { return; }
    let channel = (i / p.s) % p.c;
    y[i] = (x[i] - mean[channel]) * inverse_std(second[channel]) * gamma[channel] + beta[channel];
}

@group(0) @binding(1) var<storage, read> br_dy: array<f32>;
@group(0) @binding(2) var<storage, read> br_x: array<f32>;
@group(0) @binding(3) var<storage, read> br_mean: array<f32>;
@group(0) @binding(4) var<storage, read> br_second: array<f32>;
@group(0) @binding(5) var<storage, read_write> br_dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> br_dbeta: array<f32>;

@compute @workgroup_size(256)
fn bn_backward_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    // One workgroup per channel; the whole workgroup leaves together past the last.
    let channel = wid.x + wid.y * nwg.x;
    if channel >= p.c { return; }
    let count = p.n * p.s;
    let mu = br_mean[channel];
    let inv = inverse_std(br_second[channel]);
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var j = lid.x; j < count; j += WG) {
        let k = at(j, channel);
        let g = br_dy[k];
        sum_dy += g;
        sum_dy_xhat += g * (br_x[k] - mu) * inv;
    }
    // Both sums share one tree: partial holds one, partial2 the other.
    partial[lid.x] = sum_dy;
    partial2[lid.x] = sum_dy_xhat;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if lid.x < half {
            partial[lid.x] += partial[lid.x + half];
            partial2[lid.x] += partial2[lid.x + half];
        }
        workgroupBarrier();
    }
    if lid.x == 0u {
        br_dbeta[channel] = partial[0];
        br_dgamma[channel] = partial2[0];
    }
}

@group(0) @binding(1) var<storage, read> ba_dy: array<f32>;
@group(0) @binding(2) var<storage, read> ba_x: array<f32>;
@group(0) @binding(3) var<storage, read> ba_mean: array<f32>;
@group(0) @binding(4) var<storage, read> ba_second: array<f32>;
@group(0) @binding(5) var<storage, read> ba_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> ba_dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> ba_dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> ba_dx: array<f32>;

@compute @workgroup_size(256)
fn bn_backward_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
    if i >= p.n * p.c * p.s { return; }
    let channel = (i / p.s) % p.c;
    let inv = inverse_std(ba_second[channel]);
    let scale = ba_gamma[channel] * inv;
    let count = f32(p.n * p.s);
    let xhat = (ba_x[i] - ba_mean[channel]) * inv;
    ba_dx[i] = scale / count * (count * ba_dy[i] - ba_dbeta[channel] - xhat * ba_dgamma[channel]);
}
