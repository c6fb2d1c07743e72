// Subgroup matmul for adapters whose subgroups are exactly 8 lanes (lavapipe, some Intel):
// C (M, N) = op(A) · op(B) [+ bias (N)].
//
// One subgroup of 8 lanes computes a 64-row × 64-column tile of C. Lane l owns columns
// col0 + l + 8j (j < 8) of all 64 rows: 128 vec4 accumulators. Per k-step each lane
// loads 8 B values and 8 A values (rows row0 + 8g + l); subgroupBroadcast then hands
// every A value to all 8 lanes. On lavapipe a broadcast is an extract and a splat,
// while a load whose address differs per lane is 8 scalar loads, so this trades loads
// for broadcasts: 512 multiply-adds per lane for 16 loads.
// K advances two steps per iteration and each accumulator takes both before moving
// on: the 128 accumulators cannot all live in registers, and this halves their
// traffic to memory (on lavapipe, 1024³ went from about 20 to about 50 GFLOP/s).
// The second step of the last pair reads a clamped k and is multiplied by zero.
// Edges: loads clamp into range and stores are guarded; K has no tile.
//
// Every index into `acc` is a literal, so the code is written out in full: a private
// array indexed by a loop variable is kept in memory by some compilers (Mesa's among
// them), which turns every accumulation into a scattered load and store.
//
// Layouts, overrides, bindings and the load/store helpers are in matmul_common.wgsl.

const LANES: u32 = 8u;

@compute @workgroup_size(8)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let row0 = wid.y * 64u;
    let col0 = wid.x * LANES * 8u + lane;
    var rows: array<u32, 8>;
    var cols: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        rows[i] = min(row0 + i * LANES + lane, p.m - 1u);
        cols[i] = min(col0 + i * LANES, p.n - 1u);
    }
    var acc: array<vec4<f32>, 128>;
    var s: vec4<f32>;
    for (var kk = 0u; kk < p.k; kk += 2u) {
        let b0_0 = vec4<f32>(load_b(kk, cols[0]), load_b(kk, cols[1]), load_b(kk, cols[2]), load_b(kk, cols[3]));
        let b1_0 = vec4<f32>(load_b(kk, cols[4]), load_b(kk, cols[5]), load_b(kk, cols[6]), load_b(kk, cols[7]));
        let k1 = min(kk + 1u, p.k - 1u);
        let live1 = select(0.0, 1.0, kk + 1u < p.k);
        let b0_1 = vec4<f32>(load_b(k1, cols[0]), load_b(k1, cols[1]), load_b(k1, cols[2]), load_b(k1, cols[3])) * live1;
        let b1_1 = vec4<f32>(load_b(k1, cols[4]), load_b(k1, cols[5]), load_b(k1, cols[6]), load_b(k1, cols[7])) * live1;
        let a0_0 = load_a(rows[0], kk);
        let a0_1 = load_a(rows[0], k1);
        s = vec4<f32>(subgroupBroadcast(a0_0, 0u)); acc[0] = fma(s, b0_0, acc[0]); acc[1] = fma(s, b1_0, acc[1]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 0u)); acc[0] = fma(s, b0_1, acc[0]); acc[1] = fma(s, b1_1, acc[1]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 1u)); acc[2] = fma(s, b0_0, acc[2]); acc[3] = fma(s, b1_0, acc[3]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 1u)); acc[2] = fma(s, b0_1, acc[2]); acc[3] = fma(s, b1_1, acc[3]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 2u)); acc[4] = fma(s, b0_0, acc[4]); acc[5] = fma(s, b1_0, acc[5]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 2u)); acc[4] = fma(s, b0_1, acc[4]); acc[5] = fma(s, b1_1, acc[5]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 3u)); acc[6] = fma(s, b0_0, acc[6]); acc[7] = fma(s, b1_0, acc[7]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 3u)); acc[6] = fma(s, b0_1, acc[6]); acc[7] = fma(s, b1_1, acc[7]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 4u)); acc[8] = fma(s, b0_0, acc[8]); acc[9] = fma(s, b1_0, acc[9]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 4u)); acc[8] = fma(s, b0_1, acc[8]); acc[9] = fma(s, b1_1, acc[9]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 5u)); acc[10] = fma(s, b0_0, acc[10]); acc[11] = fma(s, b1_0, acc[11]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 5u)); acc[10] = fma(s, b0_1, acc[10]); acc[11] = fma(s, b1_1, acc[11]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 6u)); acc[12] = fma(s, b0_0, acc[12]); acc[13] = fma(s, b1_0, acc[13]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 6u)); acc[12] = fma(s, b0_1, acc[12]); acc[13] = fma(s, b1_1, acc[13]);
        s = vec4<f32>(subgroupBroadcast(a0_0, 7u)); acc[14] = fma(s, b0_0, acc[14]); acc[15] = fma(s, b1_0, acc[15]);
        s = vec4<f32>(subgroupBroadcast(a0_1, 7u)); acc[14] = fma(s, b0_1, acc[14]); acc[15] = fma(s, b1_1, acc[15]);
        let a1_0 = load_a(rows[1], kk);
        let a1_1 = load_a(rows[1], k1);
        s = vec4<f32>(subgroupBroadcast(a1_0, 0u)); acc[16] = fma(s, b0_0, acc[16]); acc[17] = fma(s, b1_0, acc[17]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 0u)); acc[16] = fma(s, b0_1, acc[16]); acc[17] = fma(s, b1_1, acc[17]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 1u)); acc[18] = fma(s, b0_0, acc[18]); acc[19] = fma(s, b1_0, acc[19]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 1u)); acc[18] = fma(s, b0_1, acc[18]); acc[19] = fma(s, b1_1, acc[19]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 2u)); acc[20] = fma(s, b0_0, acc[20]); acc[21] = fma(s, b1_0, acc[21]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 2u)); acc[20] = fma(s, b0_1, acc[20]); acc[21] = fma(s, b1_1, acc[21]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 3u)); acc[22] = fma(s, b0_0, acc[22]); acc[23] = fma(s, b1_0, acc[23]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 3u)); acc[22] = fma(s, b0_1, acc[22]); acc[23] = fma(s, b1_1, acc[23]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 4u)); acc[24] = fma(s, b0_0, acc[24]); acc[25] = fma(s, b1_0, acc[25]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 4u)); acc[24] = fma(s, b0_1, acc[24]); acc[25] = fma(s, b1_1, acc[25]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 5u)); acc[26] = fma(s, b0_0, acc[26]); acc[27] = fma(s, b1_0, acc[27]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 5u)); acc[26] = fma(s, b0_1, acc[26]); acc[27] = fma(s, b1_1, acc[27]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 6u)); acc[28] = fma(s, b0_0, acc[28]); acc[29] = fma(s, b1_0, acc[29]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 6u)); acc[28] = fma(s, b0_1, acc[28]); acc[29] = fma(s, b1_1, acc[29]);
        s = vec4<f32>(subgroupBroadcast(a1_0, 7u)); acc[30] = fma(s, b0_0, acc[30]); acc[31] = fma(s, b1_0, acc[31]);
        s = vec4<f32>(subgroupBroadcast(a1_1, 7u)); acc[30] = fma(s, b0_1, acc[30]); acc[31] = fma(s, b1_1, acc[31]);
        let a2_0 = load_a(rows[2], kk);
        let a2_1 = load_a(rows[2], k1);
        s = vec4<f32>(subgroupBroadcast(a2_0, 0u)); acc[32] = fma(s, b0_0, acc[32]); acc[33] = fma(s, b1_0, acc[33]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 0u)); acc[32] = fma(s, b0_1, acc[32]); acc[33] = fma(s, b1_1, acc[33]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 1u)); acc[34] = fma(s, b0_0, acc[34]); acc[35] = fma(s, b1_0, acc[35]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 1u)); acc[34] = fma(s, b0_1, acc[34]); acc[35] = fma(s, b1_1, acc[35]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 2u)); acc[36] = fma(s, b0_0, acc[36]); acc[37] = fma(s, b1_0, acc[37]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 2u)); acc[36] = fma(s, b0_1, acc[36]); acc[37] = fma(s, b1_1, acc[37]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 3u)); acc[38] = fma(s, b0_0, acc[38]); acc[39] = fma(s, b1_0, acc[39]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 3u)); acc[38] = fma(s, b0_1, acc[38]); acc[39] = fma(s, b1_1, acc[39]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 4u)); acc[40] = fma(s, b0_0, acc[40]); acc[41] = fma(s, b1_0, acc[41]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 4u)); acc[40] = fma(s, b0_1, acc[40]); acc[41] = fma(s, b1_1, acc[41]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 5u)); acc[42] = fma(s, b0_0, acc[42]); acc[43] = fma(s, b1_0, acc[43]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 5u)); acc[42] = fma(s, b0_1, acc[42]); acc[43] = fma(s, b1_1, acc[43]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 6u)); acc[44] = fma(s, b0_0, acc[44]); acc[45] = fma(s, b1_0, acc[45]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 6u)); acc[44] = fma(s, b0_1, acc[44]); acc[45] = fma(s, b1_1, acc[45]);
        s = vec4<f32>(subgroupBroadcast(a2_0, 7u)); acc[46] = fma(s, b0_0, acc[46]); acc[47] = fma(s, b1_0, acc[47]);
        s = vec4<f32>(subgroupBroadcast(a2_1, 7u)); acc[46] = fma(s, b0_1, acc[46]); acc[47] = fma(s, b1_1, acc[47]);
        let a3_0 = load_a(rows[3], kk);
        let a3_1 = load_a(rows[3], k1);
        s = vec4<f32>(subgroupBroadcast(a3_0, 0u)); acc[48] = fma(s, b0_0, acc[48]); acc[49] = fma(s, b1_0, acc[49]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 0u)); acc[48] = fma(s, b0_1, acc[48]); acc[49] = fma(s, b1_1, acc[49]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 1u)); acc[50] = fma(s, b0_0, acc[50]); acc[51] = fma(s, b1_0, acc[51]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 1u)); acc[50] = fma(s, b0_1, acc[50]); acc[51] = fma(s, b1_1, acc[51]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 2u)); acc[52] = fma(s, b0_0, acc[52]); acc[53] = fma(s, b1_0, acc[53]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 2u)); acc[52] = fma(s, b0_1, acc[52]); acc[53] = fma(s, b1_1, acc[53]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 3u)); acc[54] = fma(s, b0_0, acc[54]); acc[55] = fma(s, b1_0, acc[55]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 3u)); acc[54] = fma(s, b0_1, acc[54]); acc[55] = fma(s, b1_1, acc[55]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 4u)); acc[56] = fma(s, b0_0, acc[56]); acc[57] = fma(s, b1_0, acc[57]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 4u)); acc[56] = fma(s, b0_1, acc[56]); acc[57] = fma(s, b1_1, acc[57]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 5u)); acc[58] = fma(s, b0_0, acc[58]); acc[59] = fma(s, b1_0, acc[59]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 5u)); acc[58] = fma(s, b0_1, acc[58]); acc[59] = fma(s, b1_1, acc[59]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 6u)); acc[60] = fma(s, b0_0, acc[60]); acc[61] = fma(s, b1_0, acc[61]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 6u)); acc[60] = fma(s, b0_1, acc[60]); acc[61] = fma(s, b1_1, acc[61]);
        s = vec4<f32>(subgroupBroadcast(a3_0, 7u)); acc[62] = fma(s, b0_0, acc[62]); acc[63] = fma(s, b1_0, acc[63]);
        s = vec4<f32>(subgroupBroadcast(a3_1, 7u)); acc[62] = fma(s, b0_1, acc[62]); acc[63] = fma(s, b1_1, acc[63]);
        let a4_0 = load_a(rows[4], kk);
        let a4_1 = load_a(rows[4], k1);
        s = vec4<f32>(subgroupBroadcast(a4_0, 0u)); acc[64] = fma(s, b0_0, acc[64]); acc[65] = fma(s, b1_0, acc[65]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 0u)); acc[64] = fma(s, b0_1, acc[64]); acc[65] = fma(s, b1_1, acc[65]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 1u)); acc[66] = fma(s, b0_0, acc[66]); acc[67] = fma(s, b1_0, acc[67]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 1u)); acc[66] = fma(s, b0_1, acc[66]); acc[67] = fma(s, b1_1, acc[67]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 2u)); acc[68] = fma(s, b0_0, acc[68]); acc[69] = fma(s, b1_0, acc[69]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 2u)); acc[68] = fma(s, b0_1, acc[68]); acc[69] = fma(s, b1_1, acc[69]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 3u)); acc[70] = fma(s, b0_0, acc[70]); acc[71] = fma(s, b1_0, acc[71]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 3u)); acc[70] = fma(s, b0_1, acc[70]); acc[71] = fma(s, b1_1, acc[71]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 4u)); acc[72] = fma(s, b0_0, acc[72]); acc[73] = fma(s, b1_0, acc[73]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 4u)); acc[72] = fma(s, b0_1, acc[72]); acc[73] = fma(s, b1_1, acc[73]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 5u)); acc[74] = fma(s, b0_0, acc[74]); acc[75] = fma(s, b1_0, acc[75]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 5u)); acc[74] = fma(s, b0_1, acc[74]); acc[75] = fma(s, b1_1, acc[75]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 6u)); acc[76] = fma(s, b0_0, acc[76]); acc[77] = fma(s, b1_0, acc[77]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 6u)); acc[76] = fma(s, b0_1, acc[76]); acc[77] = fma(s, b1_1, acc[77]);
        s = vec4<f32>(subgroupBroadcast(a4_0, 7u)); acc[78] = fma(s, b0_0, acc[78]); acc[79] = fma(s, b1_0, acc[79]);
        s = vec4<f32>(subgroupBroadcast(a4_1, 7u)); acc[78] = fma(s, b0_1, acc[78]); acc[79] = fma(s, b1_1, acc[79]);
        let a5_0 = load_a(rows[5], kk);
        let a5_1 = load_a(rows[5], k1);
        s = vec4<f32>(subgroupBroadcast(a5_0, 0u)); acc[80] = fma(s, b0_0, acc[80]); acc[81] = fma(s, b1_0, acc[81]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 0u)); acc[80] = fma(s, b0_1, acc[80]); acc[81] = fma(s, b1_1, acc[81]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 1u)); acc[82] = fma(s, b0_0, acc[82]); acc[83] = fma(s, b1_0, acc[83]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 1u)); acc[82] = fma(s, b0_1, acc[82]); acc[83] = fma(s, b1_1, acc[83]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 2u)); acc[84] = fma(s, b0_0, acc[84]); acc[85] = fma(s, b1_0, acc[85]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 2u)); acc[84] = fma(s, b0_1, acc[84]); acc[85] = fma(s, b1_1, acc[85]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 3u)); acc[86] = fma(s, b0_0, acc[86]); acc[87] = fma(s, b1_0, acc[87]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 3u)); acc[86] = fma(s, b0_1, acc[86]); acc[87] = fma(s, b1_1, acc[87]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 4u)); acc[88] = fma(s, b0_0, acc[88]); acc[89] = fma(s, b1_0, acc[89]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 4u)); acc[88] = fma(s, b0_1, acc[88]); acc[89] = fma(s, b1_1, acc[89]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 5u)); acc[90] = fma(s, b0_0, acc[90]); acc[91] = fma(s, b1_0, acc[91]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 5u)); acc[90] = fma(s, b0_1, acc[90]); acc[91] = fma(s, b1_1, acc[91]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 6u)); acc[92] = fma(s, b0_0, acc[92]); acc[93] = fma(s, b1_0, acc[93]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 6u)); acc[92] = fma(s, b0_1, acc[92]); acc[93] = fma(s, b1_1, acc[93]);
        s = vec4<f32>(subgroupBroadcast(a5_0, 7u)); acc[94] = fma(s, b0_0, acc[94]); acc[95] = fma(s, b1_0, acc[95]);
        s = vec4<f32>(subgroupBroadcast(a5_1, 7u)); acc[94] = fma(s, b0_1, acc[94]); acc[95] = fma(s, b1_1, acc[95]);
        let a6_0 = load_a(rows[6], kk);
        let a6_1 = load_a(rows[6], k1);
        s = vec4<f32>(subgroupBroadcast(a6_0, 0u)); acc[96] = fma(s, b0_0, acc[96]); acc[97] = fma(s, b1_0, acc[97]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 0u)); acc[96] = fma(s, b0_1, acc[96]); acc[97] = fma(s, b1_1, acc[97]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 1u)); acc[98] = fma(s, b0_0, acc[98]); acc[99] = fma(s, b1_0, acc[99]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 1u)); acc[98] = fma(s, b0_1, acc[98]); acc[99] = fma(s, b1_1, acc[99]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 2u)); acc[100] = fma(s, b0_0, acc[100]); acc[101] = fma(s, b1_0, acc[101]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 2u)); acc[100] = fma(s, b0_1, acc[100]); acc[101] = fma(s, b1_1, acc[101]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 3u)); acc[102] = fma(s, b0_0, acc[102]); acc[103] = fma(s, b1_0, acc[103]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 3u)); acc[102] = fma(s, b0_1, acc[102]); acc[103] = fma(s, b1_1, acc[103]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 4u)); acc[104] = fma(s, b0_0, acc[104]); acc[105] = fma(s, b1_0, acc[105]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 4u)); acc[104] = fma(s, b0_1, acc[104]); acc[105] = fma(s, b1_1, acc[105]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 5u)); acc[106] = fma(s, b0_0, acc[106]); acc[107] = fma(s, b1_0, acc[107]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 5u)); acc[106] = fma(s, b0_1, acc[106]); acc[107] = fma(s, b1_1, acc[107]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 6u)); acc[108] = fma(s, b0_0, acc[108]); acc[109] = fma(s, b1_0, acc[109]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 6u)); acc[108] = fma(s, b0_1, acc[108]); acc[109] = fma(s, b1_1, acc[109]);
        s = vec4<f32>(subgroupBroadcast(a6_0, 7u)); acc[110] = fma(s, b0_0, acc[110]); acc[111] = fma(s, b1_0, acc[111]);
        s = vec4<f32>(subgroupBroadcast(a6_1, 7u)); acc[110] = fma(s, b0_1, acc[110]); acc[111] = fma(s, b1_1, acc[111]);
        let a7_0 = load_a(rows[7], kk);
        let a7_1 = load_a(rows[7], k1);
        s = vec4<f32>(subgroupBroadcast(a7_0, 0u)); acc[112] = fma(s, b0_0, acc[112]); acc[113] = fma(s, b1_0, acc[113]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 0u)); acc[112] = fma(s, b0_1, acc[112]); acc[113] = fma(s, b1_1, acc[113]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 1u)); acc[114] = fma(s, b0_0, acc[114]); acc[115] = fma(s, b1_0, acc[115]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 1u)); acc[114] = fma(s, b0_1, acc[114]); acc[115] = fma(s, b1_1, acc[115]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 2u)); acc[116] = fma(s, b0_0, acc[116]); acc[117] = fma(s, b1_0, acc[117]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 2u)); acc[116] = fma(s, b0_1, acc[116]); acc[117] = fma(s, b1_1, acc[117]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 3u)); acc[118] = fma(s, b0_0, acc[118]); acc[119] = fma(s, b1_0, acc[119]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 3u)); acc[118] = fma(s, b0_1, acc[118]); acc[119] = fma(s, b1_1, acc[119]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 4u)); acc[120] = fma(s, b0_0, acc[120]); acc[121] = fma(s, b1_0, acc[121]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 4u)); acc[120] = fma(s, b0_1, acc[120]); acc[121] = fma(s, b1_1, acc[121]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 5u)); acc[122] = fma(s, b0_0, acc[122]); acc[123] = fma(s, b1_0, acc[123]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 5u)); acc[122] = fma(s, b0_1, acc[122]); acc[123] = fma(s, b1_1, acc[123]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 6u)); acc[124] = fma(s, b0_0, acc[124]); acc[125] = fma(s, b1_0, acc[125]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 6u)); acc[124] = fma(s, b0_1, acc[124]); acc[125] = fma(s, b1_1, acc[125]);
        s = vec4<f32>(subgroupBroadcast(a7_0, 7u)); acc[126] = fma(s, b0_0, acc[126]); acc[127] = fma(s, b1_0, acc[127]);
        s = vec4<f32>(subgroupBroadcast(a7_1, 7u)); acc[126] = fma(s, b0_1, acc[126]); acc[127] = fma(s, b1_1, acc[127]);
    }
    store_row(row0 + 0u, col0, LANES, acc[0], acc[1]);
    store_row(row0 + 1u, col0, LANES, acc[2], acc[3]);
    store_row(row0 + 2u, col0, LANES, acc[4], acc[5]);
    store_row(row0 + 3u, col0, LANES, acc[6], acc[7]);
    store_row(row0 + 4u, col0, LANES, acc[8], acc[9]);
    store_row(row0 + 5u, col0, LANES, acc[10], acc[11]);
    store_row(row0 + 6u, col0, LANES, acc[12], acc[13]);
    store_row(row0 + 7u, col0, LANES, acc[14], acc[15]);
    store_row(row0 + 8u, col0, LANES, acc[16], acc[17]);
    store_row(row0 + 9u, col0, LANES, acc[18], acc[19]);
    store_row(row0 + 10u, col0, LANES, acc[20], acc[21]);
    store_row(row0 + 11u, col0, LANES, acc[22], acc[23]);
    store_row(row0 + 12u, col0, LANES, acc[24], acc[25]);
    store_row(row0 + 13u, col0, LANES, acc[26], acc[27]);
    store_row(row0 + 14u, col0, LANES, acc[28], acc[29]);
    store_row(row0 + 15u, col0, LANES, acc[30], acc[31]);
    store_row(row0 + 16u, col0, LANES, acc[32], acc[33]);
    store_row(row0 + 17u, col0, LANES, acc[34], acc[35]);
    store_row(row0 + 18u, col0, LANES, acc[36], acc[37]);
    store_row(row0 + 19u, col0, LANES, acc[38], acc[39]);
    store_row(row0 + 20u, col0, LANES, acc[40], acc[41]);
    store_row(row0 + 21u, col0, LANES, acc[42], acc[43]);
    store_row(row0 + 22u, col0, LANES, acc[44], acc[45]);
    store_row(row0 + 23u, col0, LANES, acc[46], acc[47]);
    store_row(row0 + 24u, col0, LANES, acc[48], acc[49]);
    store_row(row0 + 25u, col0, LANES, acc[50], acc[51]);
    store_row(row0 + 26u, col0, LANES, acc[52], acc[53]);
    store_row(row0 + 27u, col0, LANES, acc[54], acc[55]);
    store_row(row0 + 28u, col0, LANES, acc[56], acc[57]);
    store_row(row0 + 29u, col0, LANES, acc[58], acc[59]);
    store_row(row0 + 30u, col0, LANES, acc[60], acc[61]);
    store_row(row0 + 31u, col0, LANES, acc[62], acc[63]);
    store_row(row0 + 32u, col0, LANES, acc[64], acc[65]);
    store_row(row0 + 33u, col0, LANES, acc[66], acc[67]);
    store_row(row0 + 34u, col0, LANES, acc[68], acc[69]);
    store_row(row0 + 35u, col0, LANES, acc[70], acc[71]);
    store_row(row0 + 36u, col0, LANES, acc[72], acc[73]);
    store_row(row0 + 37u, col0, LANES, acc[74], acc[75]);
    store_row(row0 + 38u, col0, LANES, acc[76], acc[77]);
    store_row(row0 + 39u, col0, LANES, acc[78], acc[79]);
    store_row(row0 + 40u, col0, LANES, acc[80], acc[81]);
    store_row(row0 + 41u, col0, LANES, acc[82], acc[83]);
    store_row(row0 + 42u, col0, LANES, acc[84], acc[85]);
    store_row(row0 + 43u, col0, LANES, acc[86], acc[87]);
    store_row(row0 + 44u, col0, LANES, acc[88], acc[89]);
    store_row(row0 + 45u, col0, LANES, acc[90], acc[91]);
    store_row(row0 + 46u, col0, LANES, acc[92], acc[93]);
    store_row(row0 + 47u, col0, LANES, acc[94], acc[95]);
    store_row(row0 + 48u, col0, LANES, acc[96], acc[97]);
    store_row(row0 + 49u, col0, LANES, acc[98], acc[99]);
    store_row(row0 + 50u, col0, LANES, acc[100], acc[101]);
    store_row(row0 + 51u, col0, LANES, acc[102], acc[103]);
    store_row(row0 + 52u, col0, LANES, acc[104], acc[105]);
    store_row(row0 + 53u, col0, LANES, acc[106], acc[107]);
    store_row(row0 + 54u, col0, LANES, acc[108], acc[109]);
    store_row(row0 + 55u, col0, LANES, acc[110], acc[111]);
    store_row(row0 + 56u, col0, LANES, acc[112], acc[113]);
    store_row(row0 + 57u, col0, LANES, acc[114], acc[115]);
    store_row(row0 + 58u, col0, LANES, acc[116], acc[117]);
    store_row(row0 + 59u, col0, LANES, acc[118], acc[119]);
    store_row(row0 + 60u, col0, LANES, acc[120], acc[121]);
    store_row(row0 + 61u, col0, LANES, acc[122], acc[123]);
    store_row(row0 + 62u, col0, LANES, acc[124], acc[125]);
    store_row(row0 + 63u, col0, LANES, acc[126], acc[127]);
}
