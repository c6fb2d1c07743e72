// Elementwise ops over flat f32 buffers, forward and backward.
// One invocation per element; the grid may be 2-D when n needs more than 65,535 groups.
//
// Entry points and bindings (binding 0 is always Params):
//   unary  (1: x, 2: out):             scale, activation (the override ACT's),
//                                      rsqrt ((x + alpha)^-1/2)
//   binary (1: a, 2: b, 3: out):       add, sub, mul, activation_backward(dy, at)
//   accumulate (1: src, 2: dst):       add_assign (dst += src),
//                                      lerp_assign (dst += alpha * (src - dst))
// `alpha` is the scale factor for scale, the weight of the new value for lerp_assign,
// and the epsilon for rsqrt.

struct Params {
    n: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> ux: array<f32>;
@group(0) @binding(2) var<storage, read_write> uout: array<f32>;

@group(0) @binding(1) var<storage, read> ba: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read_write> bout: array<f32>;

@group(0) @binding(1) var<storage, read> acc_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc_dst: array<f32>;

// @include flat

// @include activation

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { uout[i] = ux[i] * p.alpha; }
}

@compute @workgroup_size(256)
fn activation(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { uout[i] = activate(ux[i]); }
}

@compute @workgroup_size(256)
fn rsqrt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { uout[i] = inverseSqrt(ux[i] + p.alpha); }
}

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { bout[i] = ba[i] + bb[i]; }
}

@compute @workgroup_size(256)
fn sub(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { bout[i] = ba[i] - bb[i]; }
}

@compute @workgroup_size(256)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { bout[i] = ba[i] * bb[i]; }
}

@compute @workgroup_size(256)
fn activation_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { bout[i] = act_grad(ba[i], bb[i]); }
}

@compute @workgroup_size(256)
fn add_assign(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { acc_dst[i] = acc_dst[i] + acc_src[i]; }
}

@compute @workgroup_size(256)
fn lerp_assign(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n { acc_dst[i] = acc_dst[i] + p.alpha * (acc_src[i] - acc_dst[i]); }
}
