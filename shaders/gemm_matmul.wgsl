// GEMM prelude for matmul: C (M, N) = op(A) · op(B) [+ bias (N)], row-major f32.
// op(A) is A (M, K), or Aᵀ with A stored (K, M) when TRANS_A; op(B) is B (K, N),
// or Bᵀ with B stored (N, K) when TRANS_B. The engine appends the generated `gemm`
// entry point (src/gpu/gemm_core.rs), which calls the functions below.
//
// Bindings: 0 Params, 1 A, 2 B, 3 bias (any buffer when HAS_BIAS is false), 4 C.
// The epilogue adds the bias, then applies the activation ACT (activation.wgsl).

// @include activation

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// The bias is per row of C rather than per column (a matrix-vector product run
// transposed: see ops::matmul).
override BIAS_ON_ROWS: bool = false;

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

struct RowInfo { row: u32 }
struct ColInfo { col: u32 }

fn row_info(row: u32) -> RowInfo { return RowInfo(row); }
fn col_info(col: u32) -> ColInfo { return ColInfo(col); }

alias KInfo = u32;
fn k_info(kk: u32) -> KInfo { return kk; }

fn load_a(r: RowInfo, kk: KInfo) -> f32 {
    if TRANS_A { return a[kk * p.m + r.row]; }
    return a[r.row * p.k + kk];
}

fn load_b(kk: KInfo, c: ColInfo) -> f32 {
    if TRANS_B { return b[c.col * p.k + kk]; }
    return b[kk * p.n + c.col];
}

fn store(row: u32, col: u32, _c: ColInfo, v: f32) {
    if row < p.m && col < p.n {
        var out = v;
        if HAS_BIAS { out += bias[select(col, row, BIAS_ON_ROWS)]; }
        c[row * p.n + col] = activate(out);
    }
}
