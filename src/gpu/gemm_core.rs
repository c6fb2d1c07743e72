//! The GEMM core: a small, explicit template step that writes the WGSL entry point
//! `gemm` shared by matmul and the convolutions.
//!
//! A GEMM shader is a prelude file (`shaders/gemm_*.wgsl`) followed by this core.
//! The prelude says what A, B and C are; the core only multiplies. It provides:
//!
//! ```text
//! struct Params { m: u32, n: u32, k: u32, ... }   @binding(0) var<uniform> p: Params;
//! struct RowInfo; fn row_info(row: u32) -> RowInfo;   fn load_a(r: RowInfo, kk: u32) -> f32;
//! struct ColInfo; fn col_info(col: u32) -> ColInfo;   fn load_b(kk: u32, c: ColInfo) -> f32;
//! fn store(row: u32, col: u32, v: f32);   // must ignore row >= m or col >= n
//! ```
//!
//! `row_info`/`col_info` run once per row and column of an invocation's block (they
//! receive indices clamped into range), so a convolution decomposes a column into
//! (n, y, x) once, not once per k. Loads then need no bounds checks of their own.
//!
//! The core is generated rather than written out because every accumulator must be
//! a named variable: a private array indexed inside a loop is kept in memory by some
//! compilers (Mesa's among them), which turns each multiply-add into a scattered load
//! and store. K advances two steps per iteration and each accumulator takes both before
//! moving on, which halves accumulator traffic where they spill (on lavapipe the
//! subgroup core went from about 20 to about 50 GFLOP/s at 1024³); the second step of
//! the last pair reads a clamped k and is discarded by a select.

use std::fmt::Write;

/// Which core computes a GEMM, with its tile parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GemmCore {
    /// Each invocation computes `rows` × 8 of C; workgroup (wg_x, wg_y). Columns are
    /// strided by wg_x so neighbouring lanes touch neighbouring addresses. With
    /// wg_y = 1 a row depends only on the workgroup, so every lane loads the same A
    /// value: one scalar load on a CPU device.
    Portable { wg_x: u32, wg_y: u32, rows: u32 },
    /// One 8-lane subgroup computes 64 × 64 of C. Lane l owns columns col0 + l + 8j
    /// of all 64 rows; per k-step it loads 8 B values and the A values of rows
    /// row0 + 8g + l, and subgroupBroadcast hands each A value to all 8 lanes. On
    /// lavapipe a broadcast is an extract and a splat, while a load whose address
    /// differs per lane is 8 scalar loads. Needs subgroups of exactly 8 lanes.
    Subgroup8,
}

impl GemmCore {
    /// Rows × columns of C that one workgroup computes.
    pub fn tile(self) -> (u32, u32) {
        match self {
            GemmCore::Portable { wg_x, wg_y, rows } => (rows * wg_y, 8 * wg_x),
            GemmCore::Subgroup8 => (64, 64),
        }
    }

    /// The WGSL of the `gemm` entry point.
    pub fn wgsl(self) -> String {
        match self {
            GemmCore::Portable { wg_x, wg_y, rows } => portable(wg_x, wg_y, rows),
            GemmCore::Subgroup8 => subgroup8(),
        }
    }
}

/// Lines shared by both cores: the B values of one k-step for 8 columns, as two vec4.
fn load_b_pair(out: &mut String, name: &str, k: &str, live: Option<&str>) {
    for (half, cols) in [(0, 0..4), (1, 4..8)] {
        let loads: Vec<String> = cols.map(|j| format!("load_b({k}, c{j})")).collect();
        let value = format!("vec4<f32>({})", loads.join(", "));
        match live {
            Some(live) => writeln!(
                out,
                "        let {name}{half} = select(vec4<f32>(0.0), {value}, {live});"
            )
            .unwrap(),
            None => writeln!(out, "        let {name}{half} = {value};").unwrap(),
        }
    }
}

fn k_loop_head(out: &mut String) {
    out.push_str("    for (var kk = 0u; kk < p.k; kk += 2u) {\n");
    out.push_str("        let k1 = min(kk + 1u, p.k - 1u);\n");
    out.push_str("        let live1 = kk + 1u < p.k;\n");
    load_b_pair(out, "b_0_", "kk", None);
    load_b_pair(out, "b_1_", "k1", Some("live1"));
}

/// acc{r}_0 and acc{r}_1 take row r's A values of both k-steps, s0 and s1.
fn accumulate(out: &mut String, r: u32, s0: &str, s1: &str) {
    for half in 0..2 {
        writeln!(
            out,
            "        acc{r}_{half} = fma({s1}, b_1_{half}, fma({s0}, b_0_{half}, acc{r}_{half}));"
        )
        .unwrap();
    }
}

fn declare_accumulators(out: &mut String, rows: u32) {
    for r in 0..rows {
        writeln!(
            out,
            "    var acc{r}_0 = vec4<f32>(0.0);\n    var acc{r}_1 = vec4<f32>(0.0);"
        )
        .unwrap();
    }
}

fn store_rows(out: &mut String, rows: u32, stride: &str) {
    for r in 0..rows {
        for j in 0..8 {
            let lane = ["x", "y", "z", "w"][j % 4];
            writeln!(
                out,
                "    store(row0 + {r}u, col0 + {j}u * {stride}, acc{r}_{}.{lane});",
                j / 4
            )
            .unwrap();
        }
    }
}

fn column_infos(out: &mut String, stride: &str) {
    for j in 0..8 {
        writeln!(
            out,
            "    let c{j} = col_info(min(col0 + {j}u * {stride}, p.n - 1u));"
        )
        .unwrap();
    }
}

fn portable(wg_x: u32, wg_y: u32, rows: u32) -> String {
    let mut out = format!(
        "\nconst WG_X: u32 = {wg_x}u;\nconst WG_Y: u32 = {wg_y}u;\nconst TM: u32 = {rows}u;\n\n\
         @compute @workgroup_size(WG_X, WG_Y)\n\
         fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {{\n\
         \x20   let ly = select(lid.y, 0u, WG_Y == 1u);\n\
         \x20   let row0 = (wid.y * WG_Y + ly) * TM;\n\
         \x20   let col0 = wid.x * WG_X * 8u + lid.x;\n"
    );
    for r in 0..rows {
        writeln!(out, "    let r{r} = row_info(min(row0 + {r}u, p.m - 1u));").unwrap();
    }
    column_infos(&mut out, "WG_X");
    declare_accumulators(&mut out, rows);
    k_loop_head(&mut out);
    for r in 0..rows {
        writeln!(
            out,
            "        let a{r}_0 = vec4<f32>(load_a(r{r}, kk));\n        let a{r}_1 = vec4<f32>(load_a(r{r}, k1));"
        )
        .unwrap();
        accumulate(&mut out, r, &format!("a{r}_0"), &format!("a{r}_1"));
    }
    out.push_str("    }\n");
    store_rows(&mut out, rows, "WG_X");
    out.push_str("}\n");
    out
}

fn subgroup8() -> String {
    let mut out = String::from(
        "\n@compute @workgroup_size(8)\n\
         fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {\n\
         \x20   let row0 = wid.y * 64u;\n\
         \x20   let col0 = wid.x * 64u + lane;\n",
    );
    for g in 0..8 {
        writeln!(
            out,
            "    let r{g} = row_info(min(row0 + {g}u * 8u + lane, p.m - 1u));"
        )
        .unwrap();
    }
    column_infos(&mut out, "8u");
    declare_accumulators(&mut out, 64);
    k_loop_head(&mut out);
    for g in 0..8 {
        writeln!(
            out,
            "        let a{g}_0 = load_a(r{g}, kk);\n        let a{g}_1 = load_a(r{g}, k1);"
        )
        .unwrap();
        for j in 0..8 {
            let r = g * 8 + j;
            writeln!(
                out,
                "        let s{r}_0 = vec4<f32>(subgroupBroadcast(a{g}_0, {j}u));\n        let s{r}_1 = vec4<f32>(subgroupBroadcast(a{g}_1, {j}u));"
            )
            .unwrap();
            accumulate(&mut out, r, &format!("s{r}_0"), &format!("s{r}_1"));
        }
    }
    out.push_str("    }\n");
    store_rows(&mut out, 64, "8u");
    out.push_str("}\n");
    out
}
