// col2im: dx (N, Cin, H, W) from the columns (Cin·KH·KW, N·Ho·Wo) that
// gemm_conv_columns.wgsl computes: each input pixel sums the entries of the taps that
// read it, then adds the bias and applies the activation ACT (activation.wgsl), which
// is conv_transpose2d's epilogue. Tap (kh, kw) reads input pixel (ih, iw) from output
// pixel oh = (ih + pad_top - kh) / sh when that division is exact and oh < Ho (the
// same for w), so the live kh are those ≡ ih + pad_top (mod sh), up to ih + pad_top.
// One invocation per dx element, which gathers its taps: no two write the same element.
//
// Bindings: 0 Params (gemm_conv_common: m = Cin·KH·KW, n = N·Ho·Wo), 1 cols,
// 2 bias (any buffer when HAS_BIAS is false), 3 dx.

// @include gemm_conv_common
// @include activation
// @include flat

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    let plane = p.h * p.w;
    if i >= p.batch * p.cin * plane { return; }
    let iw = i % p.w;
    let ih = (i % plane) / p.w;
    let ci = (i / plane) % p.cin;
    let sample = i / (plane * p.cin);
    let yh = ih + p.pad_top;
    let yw = iw + p.pad_left;
    var sum = 0.0;
    for (var kh = yh % p.sh; kh < p.kh && kh <= yh; kh += p.sh) {
        let oh = (yh - kh) / p.sh;
        if oh >= p.ho { continue; }
        for (var kw = yw % p.sw; kw < p.kw && kw <= yw; kw += p.sw) {
            let ow = (yw - kw) / p.sw;
            if ow < p.wo {
                sum += cols[((ci * p.kh + kh) * p.kw + kw) * p.n + (sample * p.ho + oh) * p.wo + ow];
            }
        }
    }
    if HAS_BIAS { sum += bias[ci]; }
    dx[i] = activate(sum);
}
