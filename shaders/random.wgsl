// Counter-based random numbers: Philox4x32-10 keyed by a 64-bit seed, with counter
// (element index, offset low, offset high, 0). Element i of a call draws from its own
// counter, so any element can be regenerated without storing it: dropout's backward
// rebuilds the forward's mask from the same (seed, offset). Element i of a call with
// `first` draws as element first + i would: a part of a larger fill.
//
// Entry points (one invocation per element; the grid may be 2-D):
//   fill_uniform (1: out):        out[i] = lo + (hi - lo) · u,  u in [0, 1)
//   fill_normal  (1: out):        out[i] = mean + std · z,      z ~ N(0, 1) by Box-Muller
//   dropout      (1: x, 2: out):  out[i] = x[i] / (1 - rate) where u_i >= rate, else 0.
//                                 Linear in x, so the same entry is its own backward.

struct Params {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    a: f32,  // lo, mean or rate
    b: f32,  // hi or std
    first: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// @include flat

// (high, low) 32-bit halves of the 64-bit product a·b; WGSL has no 64-bit integers.
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>) -> vec4<u32> {
    var c = counter;
    var k = vec2<u32>(p.seed_lo, p.seed_hi);
    for (var round = 0u; round < 10u; round++) {
        let p0 = mul_hi_lo(0xD2511F53u, c.x);
        let p1 = mul_hi_lo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

fn bits(i: u32) -> vec4<u32> {
    return philox(vec4<u32>(p.first + i, p.offset_lo, p.offset_hi, 0u));
}

// The top 24 bits as a float in [0, 1): exact in f32.
fn unit(word: u32) -> f32 {
    return f32(word >> 8u) * (1.0 / 16777216.0);
}

@group(0) @binding(1) var<storage, read_write> fill_out: array<f32>;

@compute @workgroup_size(256)
fn fill_uniform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n {
        fill_out[i] = p.a + (p.b - p.a) * unit(bits(i).x);
    }
}

@compute @workgroup_size(256)
fn fill_normal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n {
        let r = bits(i);
        // u1 in (0, 1], so the log is finite.
        let u1 = unit(r.x) + 1.0 / 16777216.0;
        let u2 = unit(r.y);
        // cos(2π·u2) as cos(2π·t) with t = u2 or u2 - 1 (exact) in [-1/2, 1/2): WGSL
        // bounds cos's error (2^-11 absolute) only on [-π, π]. (A shift by π and a
        // negation instead cost lavapipe 7% on this kernel.)
        let t = select(u2, u2 - 1.0, u2 >= 0.5);
        let z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * t);
        fill_out[i] = p.a + p.b * z;
    }
}

@group(0) @binding(1) var<storage, read> drop_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> drop_out: array<f32>;

@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i < p.n {
        let keep = unit(bits(i).x) >= p.a;
        drop_out[i] = select(0.0, drop_x[i] / (1.0 - p.a), keep);
    }
}
