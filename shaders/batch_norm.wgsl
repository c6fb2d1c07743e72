// Batch normalisation over x viewed as (N, C, S): per channel c, statistics over the
// N·S values x[n, c, s]. 2-D batch norm has S = H·W; 1-D batch norm (N, F) has C = F, S = 1.
//
// Two per-channel buffers describe the normalisation: `mean`, and `second`, which in
// training is this batch's inverse standard deviation 1/sqrt(var + eps) and in eval
// mode (eval = 1) the running variance, from which the kernels derive it themselves.
//
// Entry points. The per-channel reductions run in two barrier-free stages: first one
// invocation per (sample, channel) over its S contiguous values, then one per channel
// over the N partials. (A workgroup tree per channel was 16 ms a call on lavapipe,
// where each barrier switches between the workgroup's 8-lane chunks.)
//   bn_partial_stats   per (n, c): the mean and Σ(x - mean)² of its S values, two passes.
//                      Bindings: 1 x, 2 partial mean (write), 3 partial m2 (write).
//   bn_merge_stats     per c: merges the N partials (Chan et al.), so a large mean offset
//                      costs no precision; writes mean and invstd and updates
//                      running = momentum·running + (1 - momentum)·batch (Keras's
//                      convention; the batch variance is unbiased or biased as
//                      `unbiased` says: PyTorch's or Keras's rule).
//                      1 partial mean, 2 partial m2, 3 mean, 4 invstd, 5 running_mean,
//                      6 running_var.
//   bn_merge_partials  per c: merges the N partials into the mean and Σ(x - mean)² of
//                      all N·S values, for a slice of a batch whose statistics merge
//                      with the other slices' (below).
//                      1 partial mean, 2 partial m2, 3 mean (write), 4 m2 (write).
//   bn_apply           y = act((x - mean)·invstd·γ + β), act the override ACT of
//                      activation.wgsl.  1 x, 2 mean, 3 second, 4 γ, 5 β, 6 y.
//   bn_partial_grad    per (n, c): Σ dy and Σ dy·x̂ over its S values.
//                      1 dy, 2 x, 3 mean, 4 second, 5 partial dγ (write), 6 partial dβ (write).
//   bn_merge_grad      per c: dγ and dβ, the sums of the partials divided by `parts`.
//                      1 partial dγ, 2 partial dβ, 3 dγ (write), 4 dβ (write).
//   bn_backward_apply  dx = γ·invstd/M · (M·dy - dβ - x̂·dγ), training mode (M = N·S).
//                      1 dy, 2 x, 3 mean, 4 second, 5 γ, 6 dγ, 7 dβ, 8 dx.
//
// A synchronised batch norm (ops/batch_norm.rs) runs the merges on the statistics or
// sums of `parts` equal slices of a batch, one row from each rank of a data-parallel
// run (then p.n = parts, and p.s is the values each row covers); otherwise parts = 1.

// @include activation

struct Params {
    n: u32,
    c: u32,
    s: u32,
    eval: u32,
    eps: f32,
    momentum: f32,
    // 1: the running variance takes the unbiased batch variance (PyTorch); 0: the
    // biased one (Keras).
    unbiased: u32,
    parts: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// @include flat

@group(0) @binding(1) var<storage, read> ps_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ps_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> ps_m2: array<f32>;

@compute @workgroup_size(256)
fn bn_partial_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
    // i = n·C + c, whose S values start at i·S.
    let i = flat_index(wid, nwg, lid);
    if i >= p.n * p.c { return; }
    let base = i * p.s;
    var sum = 0.0;
    for (var k = 0u; k < p.s; k++) { sum += ps_x[base + k]; }
    let mu = sum / f32(p.s);
    var m2 = 0.0;
    for (var k = 0u; k < p.s; k++) {
        let d = ps_x[base + k] - mu;
        m2 += d * d;
    }
    ps_mean[i] = mu;
    ps_m2[i] = m2;
}

@group(0) @binding(1) var<storage, read> ms_mean: array<f32>;
@group(0) @binding(2) var<storage, read> ms_m2: array<f32>;
@group(0) @binding(3) var<storage, read_write> st_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> st_invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_var: array<f32>;

// Chan et al.'s pairwise merge of the p.n partials of one channel, each of p.s values:
// their (mean, Σ(x - mean)²).
fn merge_partials(channel: u32) -> vec2<f32> {
    var count = 0.0;
    var mu = 0.0;
    var m2 = 0.0;
    let part = f32(p.s);
    for (var n = 0u; n < p.n; n++) {
        let k = n * p.c + channel;
        let total = count + part;
        let delta = ms_mean[k] - mu;
        mu += delta * part / total;
        m2 += ms_m2[k] + delta * delta * count * part / total;
        count = total;
    }
    return vec2(mu, m2);
}

@compute @workgroup_size(256)
fn bn_merge_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    let channel = flat_index(wid, nwg, lid);
    if channel >= p.c { return; }
    let merged = merge_partials(channel);
    let mu = merged.x;
    let m2 = merged.y;
    let count = f32(p.n * p.s);
    let var_biased = m2 / count;
    st_mean[channel] = mu;
    st_invstd[channel] = 1.0 / sqrt(var_biased + p.eps);
    let unbiased = select(var_biased, m2 / (count - 1.0), count > 1.0);
    let batch_var = select(var_biased, unbiased, p.unbiased != 0u);
    running_mean[channel] = p.momentum * running_mean[channel] + (1.0 - p.momentum) * mu;
    running_var[channel] = p.momentum * running_var[channel] + (1.0 - p.momentum) * batch_var;
}

@group(0) @binding(4) var<storage, read_write> st_m2: array<f32>;

@compute @workgroup_size(256)
fn bn_merge_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let channel = flat_index(wid, nwg, lid);
    if channel >= p.c { return; }
    let merged = merge_partials(channel);
    st_mean[channel] = merged.x;
    st_m2[channel] = merged.y;
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
    let i = flat_index(wid, nwg, lid);
    if i >= p.n * p.c * p.s { return; }
    let channel = (i / p.s) % p.c;
    y[i] = activate((x[i] - mean[channel]) * inverse_std(second[channel]) * gamma[channel] + beta[channel]);
}

@group(0) @binding(1) var<storage, read> pg_dy: array<f32>;
@group(0) @binding(2) var<storage, read> pg_x: array<f32>;
@group(0) @binding(3) var<storage, read> pg_mean: array<f32>;
@group(0) @binding(4) var<storage, read> pg_second: array<f32>;
@group(0) @binding(5) var<storage, read_write> pg_dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> pg_dbeta: array<f32>;

@compute @workgroup_size(256)
fn bn_partial_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= p.n * p.c { return; }
    let channel = i % p.c;
    let mu = pg_mean[channel];
    let inv = inverse_std(pg_second[channel]);
    let base = i * p.s;
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var k = 0u; k < p.s; k++) {
        let g = pg_dy[base + k];
        sum_dy += g;
        sum_dy_xhat += g * (pg_x[base + k] - mu) * inv;
    }
    pg_dbeta[i] = sum_dy;
    pg_dgamma[i] = sum_dy_xhat;
}

@group(0) @binding(1) var<storage, read> mg_dgamma: array<f32>;
@group(0) @binding(2) var<storage, read> mg_dbeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgamma_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta_out: array<f32>;

@compute @workgroup_size(256)
fn bn_merge_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let channel = flat_index(wid, nwg, lid);
    if channel >= p.c { return; }
    var dgamma = 0.0;
    var dbeta = 0.0;
    for (var n = 0u; n < p.n; n++) {
        dgamma += mg_dgamma[n * p.c + channel];
        dbeta += mg_dbeta[n * p.c + channel];
    }
    dgamma_out[channel] = dgamma / f32(p.parts);
    dbeta_out[channel] = dbeta / f32(p.parts);
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
    let i = flat_index(wid, nwg, lid);
    if i >= p.n * p.c * p.s { return; }
    let channel = (i / p.s) % p.c;
    let inv = inverse_std(ba_second[channel]);
    let scale = ba_gamma[channel] * inv;
    let count = f32(p.n * p.s);
    let xhat = (ba_x[i] - ba_mean[channel]) * inv;
    ba_dx[i] = scale / count * (count * ba_dy[i] - ba_dbeta[channel] - xhat * ba_dgamma[channel]);
}
