// Portable register-blocked matmul: C (M, N) = op(A) · op(B) [+ bias (N)].
// op(A) is A (M, K), or Aᵀ with A stored (K, M) when TRANS_A; op(B) is B (K, N),
// or Bᵀ with B stored (N, K) when TRANS_B. All row-major f32.
//
// Each invocation accumulates an 8×8 block of C in registers, straight from global
// memory: on a CPU device such as lavapipe, shared-memory tiling buys little, and what
// counts is arithmetic per load. Rows depend only on the workgroup when WG_Y is 1, so
// the A loads are the same for all lanes and compile to one scalar load each.
// Columns are strided by WG_X so neighbouring lanes touch neighbouring addresses.
// Edges: loads clamp their row/column into range and stores are guarded, so any
// M, N, K work; K has no tile, the loop runs to K exactly.
//
// The 8×8 block is written out as 16 named vec4 accumulators, not an indexed array:
// a private array indexed inside a loop is kept in memory by some compilers (Mesa's
// among them), which turns every accumulation into a scattered load and store.
//
// Bindings: 0 Params, 1 A, 2 B, 3 bias (any buffer when HAS_BIAS is 0), 4 C.

override WG_X: u32 = 8u;
override WG_Y: u32 = 1u;
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

// Columns col0 + j * WG_X for j < 8: lo holds j 0..3, hi holds j 4..7.
fn store_row(row: u32, col0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    store(row, col0, lo.x);
    store(row, col0 + WG_X, lo.y);
    store(row, col0 + 2u * WG_X, lo.z);
    store(row, col0 + 3u * WG_X, lo.w);
    store(row, col0 + 4u * WG_X, hi.x);
    store(row, col0 + 5u * WG_X, hi.y);
    store(row, col0 + 6u * WG_X, hi.z);
    store(row, col0 + 7u * WG_X, hi.w);
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let ly = select(lid.y, 0u, WG_Y == 1u);
    let row0 = (wid.y * WG_Y + ly) * 8u;
    let col0 = wid.x * WG_X * 8u + lid.x;
    var rows: array<u32, 8>;
    var cols: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        rows[i] = min(row0 + i, p.m - 1u);
        cols[i] = min(col0 + i * WG_X, p.n - 1u);
    }
    var acc0_0 = vec4<f32>(0.0); var acc0_1 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0); var acc1_1 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0); var acc2_1 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0); var acc3_1 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0); var acc4_1 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0); var acc5_1 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0); var acc6_1 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0); var acc7_1 = vec4<f32>(0.0);
    var a: vec4<f32>;
    for (var kk = 0u; kk < p.k; kk++) {
        let b0 = vec4<f32>(load_b(kk, cols[0]), load_b(kk, cols[1]), load_b(kk, cols[2]), load_b(kk, cols[3]));
        let b1 = vec4<f32>(load_b(kk, cols[4]), load_b(kk, cols[5]), load_b(kk, cols[6]), load_b(kk, cols[7]));
        a = vec4<f32>(load_a(rows[0], kk)); acc0_0 = fma(a, b0, acc0_0); acc0_1 = fma(a, b1, acc0_1);
        a = vec4<f32>(load_a(rows[1], kk)); acc1_0 = fma(a, b0, acc1_0); acc1_1 = fma(a, b1, acc1_1);
        a = vec4<f32>(load_a(rows[2], kk)); acc2_0 = fma(a, b0, acc2_0); acc2_1 = fma(a, b1, acc2_1);
        a = vec4<f32>(load_a(rows[3], kk)); acc3_0 = fma(a, b0, acc3_0); acc3_1 = fma(a, b1, acc3_1);
        a = vec4<f32>(load_a(rows[4], kk)); acc4_0 = fma(a, b0, acc4_0); acc4_1 = fma(a, b1, acc4_1);
        a = vec4<f32>(load_a(rows[5], kk)); acc5_0 = fma(a, b0, acc5_0); acc5_1 = fma(a, b1, acc5_1);
        a = vec4<f32>(load_a(rows[6], kk)); acc6_0 = fma(a, b0, acc6_0); acc6_1 = fma(a, b1, acc6_1);
        a = vec4<f32>(load_a(rows[7], kk)); acc7_0 = fma(a, b0, acc7_0); acc7_1 = fma(a, b1, acc7_1);
    }
    store_row(row0 + 0u, col0, acc0_0, acc0_1);
    store_row(row0 + 1u, col0, acc1_0, acc1_1);
    store_row(row0 + 2u, col0, acc2_0, acc2_1);
    store_row(row0 + 3u, col0, acc3_0, acc3_1);
    store_row(row0 + 4u, col0, acc4_0, acc4_1);
    store_row(row0 + 5u, col0, acc5_0, acc5_1);
    store_row(row0 + 6u, col0, acc6_0, acc6_1);
    store_row(row0 + 7u, col0, acc7_0, acc7_1);
}
