// GEMM prelude for conv2d forward as an implicit GEMM: y = conv(x, w) [+ bias].
// x (N, Cin, H, W), w (Cout, Cin, KH, KW), y (N, Cout, Ho, Wo), all f32.
// As a GEMM: M = Cout, N = N·Ho·Wo (a column is one output pixel of one sample),
// K = Cin·KH·KW. im2col addresses are computed as B is loaded, never stored: a column's
// (sample, oh, ow) is decomposed once in col_info, a k into (ci, kh, kw) per step.
// Padding reads as zero. The engine appends the generated `gemm` core. The epilogue
// adds the bias, then applies the activation ACT (activation.wgsl).
//
// Bindings: 0 Params, 1 x, 2 w, 3 bias (any buffer when HAS_BIAS is false), 4 y.

// @include gemm_conv_common
// @include activation

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

struct RowInfo { co: u32 }
// y_at: y's offset of the column's pixel in channel 0 of its sample.
struct ColInfo { x_base: u32, ih0: i32, iw0: i32, y_at: u32 }

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
        sample * p.cout * pixels + pix,
    );
}

// k = (ci, kh, kw): the offset of input channel ci in a sample, and the tap.
struct KInfo { kk: u32, channel: u32, kh: i32, kw: i32 }

fn k_info(kk: u32) -> KInfo {
    let taps = p.kh * p.kw;
    let ci = kk / taps;
    let tap = kk - ci * taps;
    let kh = tap / p.kw;
    return KInfo(kk, ci * p.h * p.w, i32(kh), i32(tap - kh * p.kw));
}

fn load_a(r: RowInfo, q: KInfo) -> f32 {
    return wt[r.co * p.k + q.kk];
}

// Branch-free, as in every conv prelude: an `if` here is a divergent branch inside
// the GEMM's k loop, which some compilers (SwiftShader's) take minutes to compile.
fn load_b(q: KInfo, c: ColInfo) -> f32 {
    let ih = c.ih0 + q.kh;
    let iw = c.iw0 + q.kw;
    let inside = (ih >= 0) & (iw >= 0) & (ih < i32(p.h)) & (iw < i32(p.w));
    return select(0.0, x[select(0u, c.x_base + q.channel + u32(ih) * p.w + u32(iw), inside)], inside);
}

fn store(row: u32, col: u32, c: ColInfo, v: f32) {
    if row < p.m && col < p.n {
        var out = v;
        if HAS_BIAS { out += bias[row]; }
        y[c.y_at + row * p.ho * p.wo] = activate(out);
    }
}
