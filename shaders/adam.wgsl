// Adam and AdamW: one invocation per parameter updates it in place from its gradient
// and its two moment buffers.
//   g = grad (+ weight_decay·w for Adam's L2 form)
//   m = β1·m + (1 - β1)·g;   v = β2·v + (1 - β2)·g²
//   w -= lr · (m / c1) / (sqrt(v / c2) + eps)   (+ lr·weight_decay·w for AdamW)
// c1 = 1 - β1^t and c2 = 1 - β2^t are the bias corrections, computed by the launcher.
//
// Bindings: 1 param (read_write), 2 grad, 3 m (read_write), 4 v (read_write).

struct Params {
    n: u32,
    decoupled: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    c1: f32,
    c2: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(256)
fn adam_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid.x;
    if i >= p.n { return; }
    let w = param[i];
    var g = grad[i];
    if p.decoupled == 0u { g += p.weight_decay * w; }
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    var update = (m1 / p.c1) / (sqrt(v1 / p.c2) + p.eps);
    if p.decoupled != 0u { update += p.weight_decay * w; }
    param[i] = w - p.lr * update;
}
