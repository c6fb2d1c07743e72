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

// k = (sample, oh, ow): dy's pixel less its co term, the sample's offset in x, and
// the input pixel that tap (0, 0) reads.
struct KInfo { dy_at: u32, x_sample: u32, ih0: i32, iw0: i32 }

fn k_info(kk: u32) -> KInfo {
    let pixels = p.ho * p.wo;
    let sample = kk / pixels;
    let pix = kk - sample * pixels;
    let oh = pix / p.wo;
    let ow = pix - oh * p.wo;
    return KInfo(
        sample * p.cout * pixels + pix,
        sample * p.cin * p.h * p.w,
        i32(oh * p.sh) - i32(p.pad_top),
        i32(ow * p.sw) - i32(p.pad_left),
    );
}

fn load_a(r: RowInfo, q: KInfo) -> f32 {
    return dy[q.dy_at + r.co * p.ho * p.wo];
}

fn load_b(q: KInfo, c: ColInfo) -> f32 {
    let ih = q.ih0 + c.kh;
    let iw = q.iw0 + c.kw;
    let inside = (ih >= 0) & (iw >= 0) & (ih < i32(p.h)) & (iw < i32(p.w));
    return select(0.0, x[select(0u, q.x_sample + c.x_channel + u32(ih) * p.w + u32(iw), inside)], inside);
}

fn store(row: u32, col: u32, _c: ColInfo, v: f32) {
    if row < p.m && col < p.n {
        dw[row * p.n + col] = v;
    }
}
