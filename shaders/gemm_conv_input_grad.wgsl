// GEMM prelude for the input gradient of conv2d, which is also conv_transpose2d's
// forward: dx = conv2dᵀ(dy, w).
// dy (N, Cout, Ho, Wo), w (Cout, Cin, KH, KW), dx (N, Cin, H, W), all f32.
// Tap (kh, kw) reaches input pixel (ih, iw) from output pixel oh = (ih + pad_top - kh) / sh
// only when that division is exact, so with stride s only one tap row in s does.
// Rather than multiply the zeros of the other taps, the launcher splits the pixels by
// phase ((ih + pad_top) mod sh, (iw + pad_left) mod sw) into sh·sw GEMMs; in each,
// every tap of the phase is live: kh = phase_h + sh·th for th < taps_h.
// As a GEMM per phase: M = Cin, N = N·count_h·count_w (a column is one input pixel of
// the phase: ih = first_h + sh·i), K = Cout·taps_h·taps_w.
// The engine appends the generated `gemm` core.
//
// Bindings: 0 Params, 1 dy, 2 w, 3 bias (any buffer when HAS_BIAS is false), 4 dx.
// The bias is convT's, added per output channel of the transposed convolution, and
// the activation ACT (activation.wgsl) follows it: convT's epilogue.

// @include gemm_conv_common
// @include activation

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

struct RowInfo { ci: u32 }
// dx_at: dx's offset of the column's pixel in channel 0 of its sample.
struct ColInfo { dy_base: u32, oh0: i32, ow0: i32, dx_at: u32 }

fn row_info(row: u32) -> RowInfo { return RowInfo(row); }

// (sample, ih, iw) of column `col` of this phase.
fn pixel(col: u32) -> vec3<u32> {
    let per_sample = p.count_h * p.count_w;
    let i = (col % per_sample) / p.count_w;
    let j = col % p.count_w;
    return vec3<u32>(col / per_sample, p.first_h + i * p.sh, p.first_w + j * p.sw);
}

fn col_info(col: u32) -> ColInfo {
    let px = pixel(col);
    // Tap th = 0 reads output row oh0; tap th reads oh0 - th.
    return ColInfo(
        px.x * p.cout * p.ho * p.wo,
        i32((px.y + p.pad_top - p.phase_h) / p.sh),
        i32((px.z + p.pad_left - p.phase_w) / p.sw),
        (px.x * p.cin * p.h + px.y) * p.w + px.z,
    );
}

// k = (co, th, tw): w (Cout, Cin, KH, KW) at (co, ·, kh, kw) less its ci term, dy's
// channel co within a sample, and the tap (th, tw).
struct KInfo { w_at: u32, dy_channel: u32, th: i32, tw: i32 }

fn k_info(kk: u32) -> KInfo {
    let taps = p.taps_h * p.taps_w;
    let co = kk / taps;
    let tap = kk - co * taps;
    let th = tap / p.taps_w;
    let tw = tap - th * p.taps_w;
    let kh = p.phase_h + th * p.sh;
    let kw = p.phase_w + tw * p.sw;
    return KInfo(co * p.cin * p.kh * p.kw + kh * p.kw + kw, co * p.ho * p.wo, i32(th), i32(tw));
}

fn load_a(r: RowInfo, q: KInfo) -> f32 {
    return wt[q.w_at + r.ci * p.kh * p.kw];
}

fn load_b(q: KInfo, c: ColInfo) -> f32 {
    let oh = c.oh0 - q.th;
    let ow = c.ow0 - q.tw;
    let inside = (oh >= 0) & (ow >= 0) & (oh < i32(p.ho)) & (ow < i32(p.wo));
    return select(0.0, dy[select(0u, c.dy_base + q.dy_channel + u32(oh) * p.wo + u32(ow), inside)], inside);
}

fn store(row: u32, col: u32, c: ColInfo, v: f32) {
    if row < p.m && col < p.n {
        var out = v;
        if HAS_BIAS { out += bias[row]; }
        dx[c.dx_at + row * p.h * p.w] = activate(out);
    }
}
