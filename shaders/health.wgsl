// Tensor health: how many values are not finite, how many are negative, and the
// largest finite magnitude, gathered for many tensors into one buffer, one slot of
// three u32s each: (nonfinite, negative, bits of the max |x|).
//
// The values are read as raw IEEE-754 bits and only integer operations touch them:
// WGSL lets an implementation assume that floating-point values are finite, so a
// float comparison could not be trusted to see a NaN. For finite non-negative floats
// the bits order as the values do, which lets atomicMax find the largest magnitude.
//
// Each workgroup gathers its 256 values in workgroup atomics, then one invocation adds
// them to the tensor's slot. The engine turns off WGSL's zeroing of workgroup memory
// (a cost every GEMM would pay), so the first invocation zeroes them itself.

struct Params {
    n: u32,     // values in this tensor
    slot: u32,  // its slot in `health`
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> health: array<atomic<u32>>; // (slots, 3)

// @include flat
const EXPONENT: u32 = 0x7f800000u;
const MAGNITUDE: u32 = 0x7fffffffu;
const SIGN: u32 = 0x80000000u;

var<workgroup> nonfinite: atomic<u32>;
var<workgroup> negative: atomic<u32>;
var<workgroup> max_abs: atomic<u32>;

@compute @workgroup_size(256)
fn health_check(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    if lid.x == 0u {
        atomicStore(&nonfinite, 0u);
        atomicStore(&negative, 0u);
        atomicStore(&max_abs, 0u);
    }
    workgroupBarrier();
    let i = flat_index(wid, nwg, lid);
    if i < p.n {
        let bits = x[i];
        let magnitude = bits & MAGNITUDE;
        if (bits & EXPONENT) == EXPONENT {
            atomicAdd(&nonfinite, 1u);
        } else {
            atomicMax(&max_abs, magnitude);
            // -0.0 is not negative.
            if (bits & SIGN) != 0u && magnitude != 0u {
                atomicAdd(&negative, 1u);
            }
        }
    }
    workgroupBarrier();
    if lid.x == 0u {
        let base = 3u * p.slot;
        let bad = atomicLoad(&nonfinite);
        let below = atomicLoad(&negative);
        if bad > 0u { atomicAdd(&health[base], bad); }
        if below > 0u { atomicAdd(&health[base + 1u], below); }
        atomicMax(&health[base + 2u], atomicLoad(&max_abs));
    }
}
