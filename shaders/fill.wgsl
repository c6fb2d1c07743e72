// fill and copy over flat f32 buffers.
// Entry points: fill (out[i] = value), copy (out[i] = src[i]).
// One invocation per element; the grid may be 2-D when n needs more than 65,535 groups.

struct Params {
    n: u32,
    value: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// @include flat

@group(0) @binding(1) var<storage, read_write> fill_out: array<f32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n {
        fill_out[i] = p.value;
    }
}

@group(0) @binding(1) var<storage, read> copy_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> copy_out: array<f32>;

@compute @workgroup_size(256)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n {
        copy_out[i] = copy_src[i];
    }
}
