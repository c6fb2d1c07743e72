// Portable register-blocked matmul: C (M, N) = op(A) · op(B) [+ bias (N)].
//
// Each invocation accumulates a TM×8 block of C in registers, straight from global
// memory: on a CPU device such as lavapipe, shared-memory tiling buys little, and what
// counts is arithmetic per load. Rows depend only on the workgroup when WG_Y is 1, so
// the A loads are the same for all lanes and compile to one scalar load each.
// Columns are strided by WG_X so neighbouring lanes touch neighbouring addresses.
// Edges: loads clamp their row/column into range and stores are guarded, so any
// M, N, K work; K has no tile, the loop runs to K exactly.
//
// The block is written out as named vec4 accumulators, not an indexed array: a
// private array indexed inside a loop is kept in memory by some compilers (Mesa's
// among them), which turns every accumulation into a scattered load and store.
// K advances two steps per iteration and each accumulator takes both before moving
// on, which halves the accumulator traffic where they do not fit in registers; the
// second step of the last pair reads a clamped k and is multiplied by zero.
//
// Layouts, overrides, bindings and the load/store helpers are in matmul_common.wgsl.

override WG_X: u32 = 8u;
override WG_Y: u32 = 1u;

// Rows per invocation. On lavapipe, 8 rows reached about 15 GFLOP/s at 1024³ and 32
// about 16 to 20; a GPU with fewer registers per invocation may want fewer.
const TM: u32 = 32u;

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let ly = select(lid.y, 0u, WG_Y == 1u);
    let row0 = (wid.y * WG_Y + ly) * TM;
    let col0 = wid.x * WG_X * 8u + lid.x;
    var rows: array<u32, TM>;
    for (var i = 0u; i < TM; i++) { rows[i] = min(row0 + i, p.m - 1u); }
    var cols: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) { cols[j] = min(col0 + j * WG_X, p.n - 1u); }
    var acc0_0 = vec4<f32>(0.0); var acc0_1 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0); var acc1_1 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0); var acc2_1 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0); var acc3_1 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0); var acc4_1 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0); var acc5_1 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0); var acc6_1 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0); var acc7_1 = vec4<f32>(0.0);
    var acc8_0 = vec4<f32>(0.0); var acc8_1 = vec4<f32>(0.0);
    var acc9_0 = vec4<f32>(0.0); var acc9_1 = vec4<f32>(0.0);
    var acc10_0 = vec4<f32>(0.0); var acc10_1 = vec4<f32>(0.0);
    var acc11_0 = vec4<f32>(0.0); var acc11_1 = vec4<f32>(0.0);
    var acc12_0 = vec4<f32>(0.0); var acc12_1 = vec4<f32>(0.0);
    var acc13_0 = vec4<f32>(0.0); var acc13_1 = vec4<f32>(0.0);
    var acc14_0 = vec4<f32>(0.0); var acc14_1 = vec4<f32>(0.0);
    var acc15_0 = vec4<f32>(0.0); var acc15_1 = vec4<f32>(0.0);
    var acc16_0 = vec4<f32>(0.0); var acc16_1 = vec4<f32>(0.0);
    var acc17_0 = vec4<f32>(0.0); var acc17_1 = vec4<f32>(0.0);
    var acc18_0 = vec4<f32>(0.0); var acc18_1 = vec4<f32>(0.0);
    var acc19_0 = vec4<f32>(0.0); var acc19_1 = vec4<f32>(0.0);
    var acc20_0 = vec4<f32>(0.0); var acc20_1 = vec4<f32>(0.0);
    var acc21_0 = vec4<f32>(0.0); var acc21_1 = vec4<f32>(0.0);
    var acc22_0 = vec4<f32>(0.0); var acc22_1 = vec4<f32>(0.0);
    var acc23_0 = vec4<f32>(0.0); var acc23_1 = vec4<f32>(0.0);
    var acc24_0 = vec4<f32>(0.0); var acc24_1 = vec4<f32>(0.0);
    var acc25_0 = vec4<f32>(0.0); var acc25_1 = vec4<f32>(0.0);
    var acc26_0 = vec4<f32>(0.0); var acc26_1 = vec4<f32>(0.0);
    var acc27_0 = vec4<f32>(0.0); var acc27_1 = vec4<f32>(0.0);
    var acc28_0 = vec4<f32>(0.0); var acc28_1 = vec4<f32>(0.0);
    var acc29_0 = vec4<f32>(0.0); var acc29_1 = vec4<f32>(0.0);
    var acc30_0 = vec4<f32>(0.0); var acc30_1 = vec4<f32>(0.0);
    var acc31_0 = vec4<f32>(0.0); var acc31_1 = vec4<f32>(0.0);
    var a0: vec4<f32>;
    var a1: vec4<f32>;
    for (var kk = 0u; kk < p.k; kk += 2u) {
        // The second step of the pair reads a clamped k and is zeroed past the end.
        let k1 = min(kk + 1u, p.k - 1u);
        let live1 = select(0.0, 1.0, kk + 1u < p.k);
        let b0_0 = vec4<f32>(load_b(kk, cols[0]), load_b(kk, cols[1]), load_b(kk, cols[2]), load_b(kk, cols[3]));
        let b1_0 = vec4<f32>(load_b(kk, cols[4]), load_b(kk, cols[5]), load_b(kk, cols[6]), load_b(kk, cols[7]));
        let b0_1 = vec4<f32>(load_b(k1, cols[0]), load_b(k1, cols[1]), load_b(k1, cols[2]), load_b(k1, cols[3])) * live1;
        let b1_1 = vec4<f32>(load_b(k1, cols[4]), load_b(k1, cols[5]), load_b(k1, cols[6]), load_b(k1, cols[7])) * live1;
        a0 = vec4<f32>(load_a(rows[0], kk)); a1 = vec4<f32>(load_a(rows[0], k1));
        acc0_0 = fma(a1, b0_1, fma(a0, b0_0, acc0_0)); acc0_1 = fma(a1, b1_1, fma(a0, b1_0, acc0_1));
        a0 = vec4<f32>(load_a(rows[1], kk)); a1 = vec4<f32>(load_a(rows[1], k1));
        acc1_0 = fma(a1, b0_1, fma(a0, b0_0, acc1_0)); acc1_1 = fma(a1, b1_1, fma(a0, b1_0, acc1_1));
        a0 = vec4<f32>(load_a(rows[2], kk)); a1 = vec4<f32>(load_a(rows[2], k1));
        acc2_0 = fma(a1, b0_1, fma(a0, b0_0, acc2_0)); acc2_1 = fma(a1, b1_1, fma(a0, b1_0, acc2_1));
        a0 = vec4<f32>(load_a(rows[3], kk)); a1 = vec4<f32>(load_a(rows[3], k1));
        acc3_0 = fma(a1, b0_1, fma(a0, b0_0, acc3_0)); acc3_1 = fma(a1, b1_1, fma(a0, b1_0, acc3_1));
        a0 = vec4<f32>(load_a(rows[4], kk)); a1 = vec4<f32>(load_a(rows[4], k1));
        acc4_0 = fma(a1, b0_1, fma(a0, b0_0, acc4_0)); acc4_1 = fma(a1, b1_1, fma(a0, b1_0, acc4_1));
        a0 = vec4<f32>(load_a(rows[5], kk)); a1 = vec4<f32>(load_a(rows[5], k1));
        acc5_0 = fma(a1, b0_1, fma(a0, b0_0, acc5_0)); acc5_1 = fma(a1, b1_1, fma(a0, b1_0, acc5_1));
        a0 = vec4<f32>(load_a(rows[6], kk)); a1 = vec4<f32>(load_a(rows[6], k1));
        acc6_0 = fma(a1, b0_1, fma(a0, b0_0, acc6_0)); acc6_1 = fma(a1, b1_1, fma(a0, b1_0, acc6_1));
        a0 = vec4<f32>(load_a(rows[7], kk)); a1 = vec4<f32>(load_a(rows[7], k1));
        acc7_0 = fma(a1, b0_1, fma(a0, b0_0, acc7_0)); acc7_1 = fma(a1, b1_1, fma(a0, b1_0, acc7_1));
        a0 = vec4<f32>(load_a(rows[8], kk)); a1 = vec4<f32>(load_a(rows[8], k1));
        acc8_0 = fma(a1, b0_1, fma(a0, b0_0, acc8_0)); acc8_1 = fma(a1, b1_1, fma(a0, b1_0, acc8_1));
        a0 = vec4<f32>(load_a(rows[9], kk)); a1 = vec4<f32>(load_a(rows[9], k1));
        acc9_0 = fma(a1, b0_1, fma(a0, b0_0, acc9_0)); acc9_1 = fma(a1, b1_1, fma(a0, b1_0, acc9_1));
        a0 = vec4<f32>(load_a(rows[10], kk)); a1 = vec4<f32>(load_a(rows[10], k1));
        acc10_0 = fma(a1, b0_1, fma(a0, b0_0, acc10_0)); acc10_1 = fma(a1, b1_1, fma(a0, b1_0, acc10_1));
        a0 = vec4<f32>(load_a(rows[11], kk)); a1 = vec4<f32>(load_a(rows[11], k1));
        acc11_0 = fma(a1, b0_1, fma(a0, b0_0, acc11_0)); acc11_1 = fma(a1, b1_1, fma(a0, b1_0, acc11_1));
        a0 = vec4<f32>(load_a(rows[12], kk)); a1 = vec4<f32>(load_a(rows[12], k1));
        acc12_0 = fma(a1, b0_1, fma(a0, b0_0, acc12_0)); acc12_1 = fma(a1, b1_1, fma(a0, b1_0, acc12_1));
        a0 = vec4<f32>(load_a(rows[13], kk)); a1 = vec4<f32>(load_a(rows[13], k1));
        acc13_0 = fma(a1, b0_1, fma(a0, b0_0, acc13_0)); acc13_1 = fma(a1, b1_1, fma(a0, b1_0, acc13_1));
        a0 = vec4<f32>(load_a(rows[14], kk)); a1 = vec4<f32>(load_a(rows[14], k1));
        acc14_0 = fma(a1, b0_1, fma(a0, b0_0, acc14_0)); acc14_1 = fma(a1, b1_1, fma(a0, b1_0, acc14_1));
        a0 = vec4<f32>(load_a(rows[15], kk)); a1 = vec4<f32>(load_a(rows[15], k1));
        acc15_0 = fma(a1, b0_1, fma(a0, b0_0, acc15_0)); acc15_1 = fma(a1, b1_1, fma(a0, b1_0, acc15_1));
        a0 = vec4<f32>(load_a(rows[16], kk)); a1 = vec4<f32>(load_a(rows[16], k1));
        acc16_0 = fma(a1, b0_1, fma(a0, b0_0, acc16_0)); acc16_1 = fma(a1, b1_1, fma(a0, b1_0, acc16_1));
        a0 = vec4<f32>(load_a(rows[17], kk)); a1 = vec4<f32>(load_a(rows[17], k1));
        acc17_0 = fma(a1, b0_1, fma(a0, b0_0, acc17_0)); acc17_1 = fma(a1, b1_1, fma(a0, b1_0, acc17_1));
        a0 = vec4<f32>(load_a(rows[18], kk)); a1 = vec4<f32>(load_a(rows[18], k1));
        acc18_0 = fma(a1, b0_1, fma(a0, b0_0, acc18_0)); acc18_1 = fma(a1, b1_1, fma(a0, b1_0, acc18_1));
        a0 = vec4<f32>(load_a(rows[19], kk)); a1 = vec4<f32>(load_a(rows[19], k1));
        acc19_0 = fma(a1, b0_1, fma(a0, b0_0, acc19_0)); acc19_1 = fma(a1, b1_1, fma(a0, b1_0, acc19_1));
        a0 = vec4<f32>(load_a(rows[20], kk)); a1 = vec4<f32>(load_a(rows[20], k1));
        acc20_0 = fma(a1, b0_1, fma(a0, b0_0, acc20_0)); acc20_1 = fma(a1, b1_1, fma(a0, b1_0, acc20_1));
        a0 = vec4<f32>(load_a(rows[21], kk)); a1 = vec4<f32>(load_a(rows[21], k1));
        acc21_0 = fma(a1, b0_1, fma(a0, b0_0, acc21_0)); acc21_1 = fma(a1, b1_1, fma(a0, b1_0, acc21_1));
        a0 = vec4<f32>(load_a(rows[22], kk)); a1 = vec4<f32>(load_a(rows[22], k1));
        acc22_0 = fma(a1, b0_1, fma(a0, b0_0, acc22_0)); acc22_1 = fma(a1, b1_1, fma(a0, b1_0, acc22_1));
        a0 = vec4<f32>(load_a(rows[23], kk)); a1 = vec4<f32>(load_a(rows[23], k1));
        acc23_0 = fma(a1, b0_1, fma(a0, b0_0, acc23_0)); acc23_1 = fma(a1, b1_1, fma(a0, b1_0, acc23_1));
        a0 = vec4<f32>(load_a(rows[24], kk)); a1 = vec4<f32>(load_a(rows[24], k1));
        acc24_0 = fma(a1, b0_1, fma(a0, b0_0, acc24_0)); acc24_1 = fma(a1, b1_1, fma(a0, b1_0, acc24_1));
        a0 = vec4<f32>(load_a(rows[25], kk)); a1 = vec4<f32>(load_a(rows[25], k1));
        acc25_0 = fma(a1, b0_1, fma(a0, b0_0, acc25_0)); acc25_1 = fma(a1, b1_1, fma(a0, b1_0, acc25_1));
        a0 = vec4<f32>(load_a(rows[26], kk)); a1 = vec4<f32>(load_a(rows[26], k1));
        acc26_0 = fma(a1, b0_1, fma(a0, b0_0, acc26_0)); acc26_1 = fma(a1, b1_1, fma(a0, b1_0, acc26_1));
        a0 = vec4<f32>(load_a(rows[27], kk)); a1 = vec4<f32>(load_a(rows[27], k1));
        acc27_0 = fma(a1, b0_1, fma(a0, b0_0, acc27_0)); acc27_1 = fma(a1, b1_1, fma(a0, b1_0, acc27_1));
        a0 = vec4<f32>(load_a(rows[28], kk)); a1 = vec4<f32>(load_a(rows[28], k1));
        acc28_0 = fma(a1, b0_1, fma(a0, b0_0, acc28_0)); acc28_1 = fma(a1, b1_1, fma(a0, b1_0, acc28_1));
        a0 = vec4<f32>(load_a(rows[29], kk)); a1 = vec4<f32>(load_a(rows[29], k1));
        acc29_0 = fma(a1, b0_1, fma(a0, b0_0, acc29_0)); acc29_1 = fma(a1, b1_1, fma(a0, b1_0, acc29_1));
        a0 = vec4<f32>(load_a(rows[30], kk)); a1 = vec4<f32>(load_a(rows[30], k1));
        acc30_0 = fma(a1, b0_1, fma(a0, b0_0, acc30_0)); acc30_1 = fma(a1, b1_1, fma(a0, b1_0, acc30_1));
        a0 = vec4<f32>(load_a(rows[31], kk)); a1 = vec4<f32>(load_a(rows[31], k1));
        acc31_0 = fma(a1, b0_1, fma(a0, b0_0, acc31_0)); acc31_1 = fma(a1, b1_1, fma(a0, b1_0, acc31_1));
    }
    store_row(row0 + 0u, col0, WG_X, acc0_0, acc0_1);
    store_row(row0 + 1u, col0, WG_X, acc1_0, acc1_1);
    store_row(row0 + 2u, col0, WG_X, acc2_0, acc2_1);
    store_row(row0 + 3u, col0, WG_X, acc3_0, acc3_1);
    store_row(row0 + 4u, col0, WG_X, acc4_0, acc4_1);
    store_row(row0 + 5u, col0, WG_X, acc5_0, acc5_1);
    store_row(row0 + 6u, col0, WG_X, acc6_0, acc6_1);
    store_row(row0 + 7u, col0, WG_X, acc7_0, acc7_1);
    store_row(row0 + 8u, col0, WG_X, acc8_0, acc8_1);
    store_row(row0 + 9u, col0, WG_X, acc9_0, acc9_1);
    store_row(row0 + 10u, col0, WG_X, acc10_0, acc10_1);
    store_row(row0 + 11u, col0, WG_X, acc11_0, acc11_1);
    store_row(row0 + 12u, col0, WG_X, acc12_0, acc12_1);
    store_row(row0 + 13u, col0, WG_X, acc13_0, acc13_1);
    store_row(row0 + 14u, col0, WG_X, acc14_0, acc14_1);
    store_row(row0 + 15u, col0, WG_X, acc15_0, acc15_1);
    store_row(row0 + 16u, col0, WG_X, acc16_0, acc16_1);
    store_row(row0 + 17u, col0, WG_X, acc17_0, acc17_1);
    store_row(row0 + 18u, col0, WG_X, acc18_0, acc18_1);
    store_row(row0 + 19u, col0, WG_X, acc19_0, acc19_1);
    store_row(row0 + 20u, col0, WG_X, acc20_0, acc20_1);
    store_row(row0 + 21u, col0, WG_X, acc21_0, acc21_1);
    store_row(row0 + 22u, col0, WG_X, acc22_0, acc22_1);
    store_row(row0 + 23u, col0, WG_X, acc23_0, acc23_1);
    store_row(row0 + 24u, col0, WG_X, acc24_0, acc24_1);
    store_row(row0 + 25u, col0, WG_X, acc25_0, acc25_1);
    store_row(row0 + 26u, col0, WG_X, acc26_0, acc26_1);
    store_row(row0 + 27u, col0, WG_X, acc27_0, acc27_1);
    store_row(row0 + 28u, col0, WG_X, acc28_0, acc28_1);
    store_row(row0 + 29u, col0, WG_X, acc29_0, acc29_1);
    store_row(row0 + 30u, col0, WG_X, acc30_0, acc30_1);
    store_row(row0 + 31u, col0, WG_X, acc31_0, acc31_1);
}
