// GEMM prelude for the input gradient of conv2d, which is also conv_transpose2d's
// forward: dx = conv2dᵀ(dy, w).
// dy (N, Cout, Ho, Wo), w (Cout, Cin, KH, KW), dx (N, Cin, H, W), all f32.
// As a GEMM: M = Cin, N = N·H·W (a column is one input pixel of one sample),
// K = Cout·KH·KW. Tap (kh, kw) of output channel co reaches input pixel (ih, iw)
// from output pixel oh = (ih + pad_top - kh) / sh when that division is exact and in
// range; other taps read zero. The engine appends the generated `gemm` core.
//
// Bindings: 0 Params, 1 dy, 2 w, 3 bias (any buffer when HAS_BIAS is false), 4 dx.
// The bias is convT's, added per output channel of the transposed convolution.

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

struct RowInfo { ci: u32 }
struct ColInfo { dy_base: u32, ih: i32, iw: i32 }

fn row_info(row: u32) -> RowInfo { return RowInfo(row); }

fn col_info(col: u32) -> ColInfo {
    let pixels = p.h * p.w;
    let sample = col / pixels;
    let pix = col % pixels;
    return ColInfo(
        sample * p.cout * p.ho * p.wo,
        i32(pix / p.w) + i32(p.pad_top),
        i32(pix % p.w) + i32(p.pad_left),
    );
}

fn load_a(r: RowInfo, kk: u32) -> f32 {
    // kk = (co, kh, kw); w is (Cout, Cin, KH, KW).
    let taps = p.kh * p.kw;
    let co = kk / taps;
    return wt[(co * p.cin + r.ci) * taps + kk % taps];
}

fn load_b(kk: u32, c: ColInfo) -> f32 {
    let taps = p.kh * p.kw;
    let co = kk / taps;
    let tap = kk % taps;
    let oh_s = c.ih - i32(tap / p.kw);
    let ow_s = c.iw - i32(tap % p.kw);
    if oh_s < 0 || ow_s < 0 { return 0.0; }
    let oh = u32(oh_s) / p.sh;
    let ow = u32(ow_s) / p.sw;
    if oh * p.sh != u32(oh_s) || ow * p.sw != u32(ow_s) || oh >= p.ho || ow >= p.wo { return 0.0; }
    return dy[c.dy_base + (co * p.ho + oh) * p.wo + ow];
}

fn store(row: u32, col: u32, v: f32) {
    if row < p.m && col < p.n {
        let pixels = p.h * p.w;
        var out = v;
        if HAS_BIAS { out += bias[row]; }
        dx[((col / pixels) * p.cin + row) * pixels + col % pixels] = out;
    }
}
