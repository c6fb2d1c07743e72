// GEMM prelude for the weight gradient of conv2d: dw = Σ over samples and output
// pixels of dy ⊗ im2col(x). Also conv_transpose2d's weight gradient, with the roles of
// x and dy exchanged by the launcher.
// x (N, Cin, H, W), dy (N, Cout, Ho, Wo), dw (Cout, Cin, KH, KW), all f32.
// As a GEMM: M = Cout, N = Cin·KH·KW (a column is one weight tap), K = N·Ho·Wo.
// A k is decomposed into (sample, oh, ow) once per step, the same for every lane.
// The engine appends the generated `gemm` core.
//
// Bindings: 0 Params, 1 dy, 2 x, 3 dw.

// @include gemm_conv_common

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

struct RowInfo { co: u32 }
struct ColInfo { x_channel: u32, kh: i32, kw: i32 }

fn row_info(row: u32) -> RowInfo { return RowInfo(row); }

fn col_info(col: u32) -> ColInfo {
    let taps = p.kh * p.kw;
    let tap = col % taps;
    return ColInfo((col / taps) * p.h * p.w, i32(tap / p.kw), i32(tap % p.kw));
}

fn load_a(r: RowInfo, kk: u32) -> f32 {
    // kk = (sample, oh, ow).
    let pixels = p.ho * p.wo;
    return dy[((kk / pixels) * p.cout + r.co) * pixels + kk % pixels];
}

fn load_b(kk: u32, c: ColInfo) -> f32 {
    let pixels = p.ho * p.wo;
    let sample = kk / pixels;
    let pix = kk % pixels;
    let ih = i32((pix / p.wo) * p.sh) - i32(p.pad_top) + c.kh;
    let iw = i32((pix % p.wo) * p.sw) - i32(p.pad_left) + c.kw;
    if ih < 0 || iw < 0 || ih >= i32(p.h) || iw >= i32(p.w) { return 0.0; }
    return x[sample * p.cin * p.h * p.w + c.x_channel + u32(ih) * p.w + u32(iw)];
}

fn store(row: u32, col: u32, v: f32) {
    if row < p.m && col < p.n {
        dw[row * p.n + col] = v;
    }
}
