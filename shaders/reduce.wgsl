// Sums along one axis, and the broadcast that is their backward.
// The input is viewed as (outer, axis, inner). The axis is cut into segments of
// seg_len; a reduction writes one partial per segment, out (outer, nseg, inner),
// scaled by `scale`, and the launcher repeats it until one segment is left.
// Short segments keep each f32 running sum short, which keeps the sum accurate.
//
// Entry points (1: src, 2: out):
//   reduce_serial: one invocation per output, looping over its segment.
//                  Suits many outputs (a bias gradient: outer 1, axis N, inner F).
//   reduce_tree:   one workgroup per output, a strided loop then a tree in shared memory.
//                  Suits few outputs over a long axis (a full sum).
//   broadcast_axis: out (outer, axis, inner) = scale * src (outer, inner), the backward of a sum.

struct Params {
    outer: u32,
    axis: u32,
    inner: u32,
    seg_len: u32,
    nseg: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// @include flat

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

@compute @workgroup_size(256)
fn reduce_serial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let j = group_index(wid, nwg) * WG + lid.x;
    if j >= p.outer * p.nseg * p.inner { return; }
    // j indexes (o, s, i) of the output.
    let i = j % p.inner;
    let s = (j / p.inner) % p.nseg;
    let o = j / (p.inner * p.nseg);
    let start = s * p.seg_len;
    let end = min(start + p.seg_len, p.axis);
    var sum = 0.0;
    for (var a = start; a < end; a++) {
        sum += src[(o * p.axis + a) * p.inner + i];
    }
    out[j] = sum * p.scale;
}

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn reduce_tree(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
    // The whole workgroup reaches every barrier: only the final store is guarded.
    let j = group_index(wid, nwg);
    let valid = j < p.outer * p.nseg * p.inner;
    let i = j % p.inner;
    let s = (j / p.inner) % p.nseg;
    let o = j / (p.inner * p.nseg);
    let start = s * p.seg_len;
    let end = select(start, min(start + p.seg_len, p.axis), valid);
    var sum = 0.0;
    for (var a = start + lid.x; a < end; a += WG) {
        sum += src[(o * p.axis + a) * p.inner + i];
    }
    partial[lid.x] = sum;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if lid.x < half {
            partial[lid.x] += partial[lid.x + half];
        }
        workgroupBarrier();
    }
    if valid && lid.x == 0u {
        out[j] = partial[0] * p.scale;
    }
}

@compute @workgroup_size(256)
fn broadcast_axis(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    let j = group_index(wid, nwg) * WG + lid.x;
    if j >= p.outer * p.axis * p.inner { return; }
    let i = j % p.inner;
    let o = j / (p.inner * p.axis);
    out[j] = src[o * p.inner + i] * p.scale;
}
