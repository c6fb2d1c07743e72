// Shared by the convolution GEMM preludes (gemm_conv_*.wgsl) and col2im, which include
// it: the convolution's geometry.
// The convolution maps x (batch, cin, h, w) to y (batch, cout, ho, wo) with weights
// (cout, cin, kh, kw), strides (sh, sw) and padding (pad_top, pad_left) before the input;
// a transposed convolution is described by the convolution it transposes.

struct Params {
    // The GEMM this dispatch computes: C (m, n) over k.
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    cin: u32,
    h: u32,
    w: u32,
    cout: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    pad_top: u32,
    pad_left: u32,
    ho: u32,
    wo: u32,
    // Used by the input gradient only: the phase this dispatch computes (see there).
    phase_h: u32,
    phase_w: u32,
    first_h: u32,
    first_w: u32,
    count_h: u32,
    count_w: u32,
    taps_h: u32,
    taps_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
