// Nearest-neighbour upsampling by integer factors (Keras UpSampling2D), and its backward.
// x (N, C, H, W) -> y (N, C, H·fh, W·fw), y[n, c, i, j] = x[n, c, i / fh, j / fw].
//
// Entry points (1: src, 2: out), one invocation per output element:
//   upsample:          out = y from src = x
//   upsample_backward: out = dx from src = dy, each dx the sum of its fh·fw copies

struct Params {
    planes: u32,  // N·C
    h: u32,       // the small side's height and width
    w: u32,
    fh: u32,
    fw: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// @include flat

@compute @workgroup_size(256)
fn upsample(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    let big_w = p.w * p.fw;
    let big_plane = p.h * p.fh * big_w;
    if i >= p.planes * big_plane { return; }
    let plane = i / big_plane;
    let row = (i % big_plane) / big_w;
    let col = i % big_w;
    out[i] = src[(plane * p.h + row / p.fh) * p.w + col / p.fw];
}

@compute @workgroup_size(256)
fn upsample_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= p.planes * p.h * p.w { return; }
    let plane = i / (p.h * p.w);
    let row = (i % (p.h * p.w)) / p.w;
    let col = i % p.w;
    let big_w = p.w * p.fw;
    let base = (plane * p.h * p.fh + row * p.fh) * big_w + col * p.fw;
    var sum = 0.0;
    for (var a = 0u; a < p.fh; a++) {
        for (var b = 0u; b < p.fw; b++) {
            sum += src[base + a * big_w + b];
        }
    }
    out[i] = sum;
}
