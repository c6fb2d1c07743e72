// GEMM prelude for conv2d forward as an implicit GEMM: y = conv(x, w) [+ bias].
// x (N, Cin, H, W), w (Cout, Cin, KH, KW), y (N, Cout, Ho, Wo), all f32.
// As a GEMM: M = Cout, N = N·Ho·Wo (a column is one output pixel of one sample),
// K = Cin·KH·KW. im2col addresses are computed as B is loaded, never stored: a column's
// (sample, oh, ow) is decomposed once in col_info, a k into (ci, kh, kw) per step.
// Padding reads as zero. The engine appends the generated `gemm` core.
//
// Bindings: 0 Params, 1 x, 2 w, 3 bias (any buffer when HAS_BIAS is false), 4 y.

override HAS_BIAS: bool = false;

struct Params {
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
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

struct RowInfo { co: u32 }
struct ColInfo { x_base: u32, ih0: i32, iw0: i32 }

fn row_info(row: u32) -> RowInfo { return RowInfo(row); }

fn col_info(col: u32) -> ColInfo {
    let pixels = p.ho * p.wo;
    let sample = col / pixels;
    let pix = col % pixels;
    let oh = pix / p.wo;
    let ow = pix % p.wo;
    return ColInfo(
        sample * p.cin * p.h * p.w,
        i32(oh * p.sh) - i32(p.pad_top),
        i32(ow * p.sw) - i32(p.pad_left),
    );
}

fn load_a(r: RowInfo, kk: u32) -> f32 {
    return wt[r.co * p.k + kk];
}

fn load_b(kk: u32, c: ColInfo) -> f32 {
    let taps = p.kh * p.kw;
    let ci = kk / taps;
    let tap = kk % taps;
    let ih = c.ih0 + i32(tap / p.kw);
    let iw = c.iw0 + i32(tap % p.kw);
    if ih < 0 || iw < 0 || ih >= i32(p.h) || iw >= i32(p.w) { return 0.0; }
    return x[c.x_base + (ci * p.h + u32(ih)) * p.w + u32(iw)];
}

fn store(row: u32, col: u32, v: f32) {
    if row < p.m && col < p.n {
        let pixels = p.ho * p.wo;
        var out = v;
        if HAS_BIAS { out += bias[row]; }
        y[((col / pixels) * p.cout + row) * pixels + col % pixels] = out;
    }
}
