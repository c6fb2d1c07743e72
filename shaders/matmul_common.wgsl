// Shared by matmul.wgsl and matmul_subgroup.wgsl, which the engine compiles with this
// file in front of them: C (M, N) = op(A) · op(B) [+ bias (N)], row-major f32.
// op(A) is A (M, K), or Aᵀ with A stored (K, M) when TRANS_A; op(B) is B (K, N),
// or Bᵀ with B stored (N, K) when TRANS_B.
//
// Bindings: 0 Params, 1 A, 2 B, 3 bias (any buffer when HAS_BIAS is false), 4 C.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn load_a(row: u32, kk: u32) -> f32 {
    if TRANS_A { return a[kk * p.m + row]; }
    return a[row * p.k + kk];
}

fn load_b(kk: u32, col: u32) -> f32 {
    if TRANS_B { return b[col * p.k + kk]; }
    return b[kk * p.n + col];
}

fn store(row: u32, col: u32, v: f32) {
    if row < p.m && col < p.n {
        var out = v;
        if HAS_BIAS { out += bias[col]; }
        c[row * p.n + col] = out;
    }
}

// Eight columns col0 + j * stride of one row: lo holds j 0..3, hi holds j 4..7.
fn store_row(row: u32, col0: u32, stride: u32, lo: vec4<f32>, hi: vec4<f32>) {
    store(row, col0, lo.x);
    store(row, col0 + stride, lo.y);
    store(row, col0 + 2u * stride, lo.z);
    store(row, col0 + 3u * stride, lo.w);
    store(row, col0 + 4u * stride, hi.x);
    store(row, col0 + 5u * stride, hi.y);
    store(row, col0 + 6u * stride, hi.z);
    store(row, col0 + 7u * stride, hi.w);
}
