//! The GEMM cores: a small, explicit template step that writes the WGSL entry point
//! `gemm` shared by matmul and the convolutions.
//!
//! A GEMM shader is a prelude file (`shaders/gemm_*.wgsl`) followed by one core.
//! The prelude says what A, B and C are; the core only multiplies. It provides:
//!
//! ```text
//! struct Params { m: u32, n: u32, k: u32, ... }   @binding(0) var<uniform> p: Params;
//! struct RowInfo; fn row_info(row: u32) -> RowInfo;   fn load_a(r: RowInfo, q: KInfo) -> f32;
//! struct ColInfo; fn col_info(col: u32) -> ColInfo;   fn load_b(q: KInfo, c: ColInfo) -> f32;
//! KInfo;          fn k_info(kk: u32) -> KInfo;
//! fn store(row: u32, col: u32, c: ColInfo, v: f32);   // must ignore row >= m or col >= n
//! ```
//!
//! `row_info`/`col_info` run once per row and column an invocation touches (they
//! receive indices clamped into range), so a convolution decomposes a column into
//! (n, y, x) once, not once per k. Loads then need no bounds checks of their own, and
//! `store` takes the column's `ColInfo` too, so that a convolution finds where an output
//! goes without dividing again for every row (SwiftShader shares no divisions between
//! the inlined stores: its input gradients ran 7–11% slower for them).
//! `k_info` runs once per k-step, before that step's loads, so a convolution
//! decomposes k (its integer divisions) once rather than in every load: a compiler
//! that does not share the divisions between inlined loads (SwiftShader's) otherwise
//! spends most of the GEMM dividing.
//!
//! Every core comes in two forms. The plain form stores C through the prelude's
//! `store`. The split-K form (see `GemmPlan`) takes its slice of K from
//! `workgroup_id.z`, writes partial sums to a scratch buffer `partials` (S, M, N) at
//! binding `PARTIALS_BINDING`, and adds a second entry point, `gemm_reduce`, that sums
//! the S slices in a fixed order and calls `store`: deterministic, with no float atomics.
//!
//! The cores are generated rather than written out because every accumulator must be
//! a named variable: a private array indexed inside a loop is kept in memory by some
//! compilers (Mesa's among them), which turns each multiply-add into a scattered load
//! and store.

use std::fmt::Write;

/// The binding of the split-K scratch buffer, above every prelude's own bindings.
pub const PARTIALS_BINDING: u32 = 7;

/// Which core computes a GEMM, with its tile parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GemmCore {
    /// Each invocation computes `rows` × `cols` of C straight from global memory,
    /// `steps` k-steps an iteration; workgroup (wg_x, wg_y). Columns are strided by
    /// wg_x so neighbouring lanes touch neighbouring addresses. With wg_y = 1 a row
    /// depends only on the workgroup, so every lane loads the same A value: one scalar
    /// load on lavapipe. `cols` is a multiple of 4.
    Portable {
        wg_x: u32,
        wg_y: u32,
        rows: u32,
        cols: u32,
        steps: u32,
    },
    /// One subgroup of `lanes` lanes computes `rows` × (`cols`·lanes) of C, `steps`
    /// k-steps an iteration. Lane l owns columns col0 + l + lanes·j (j < cols) of every
    /// row; per k-step it loads its `cols` B values and the A values of rows
    /// row0 + lanes·g + l, and subgroupBroadcast hands each A value to every lane.
    /// Needs subgroups of exactly `lanes` lanes. On a CPU device (lavapipe's 8 lanes,
    /// SwiftShader's 4) a broadcast is an extract and a splat, where a load whose
    /// address differs per lane is a scalar load per lane; on a GPU it replaces
    /// workgroup memory for A. `cols` is a multiple of 4, `rows` of `lanes`.
    Subgroup {
        lanes: u32,
        rows: u32,
        cols: u32,
        steps: u32,
    },
    /// The GPU core: a workgroup of (bn/tn, bm/tm) invocations computes a bm × bn tile
    /// of C, each invocation a tm × tn block of it held in registers. Slices of bk
    /// along K are staged through workgroup memory, stored K-major as vec4 so each
    /// invocation reads its A and B fragments with vec4 loads, and double-buffered:
    /// the next slice is fetched from global memory into registers while this one is
    /// multiplied, so one barrier per slice suffices.
    Tiled {
        bm: u32,
        bn: u32,
        bk: u32,
        tm: u32,
        tn: u32,
    },
}

impl std::fmt::Display for GemmCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (tm, tn) = self.tile();
        match *self {
            GemmCore::Portable {
                wg_x,
                wg_y,
                rows,
                cols,
                steps,
            } => {
                write!(
                    f,
                    "portable {tm}x{tn} ({wg_x}x{wg_y}, {rows}x{cols} each, {steps} k-steps)"
                )
            }
            GemmCore::Subgroup {
                lanes,
                rows,
                cols,
                steps,
            } => {
                write!(
                    f,
                    "subgroup{lanes} {tm}x{tn} ({rows}x{cols} each, {steps} k-steps)"
                )
            }
            GemmCore::Tiled {
                bk, tm: rm, tn: rn, ..
            } => {
                write!(f, "tiled {tm}x{tn}x{bk} ({rm}x{rn} each)")
            }
        }
    }
}

impl GemmCore {
    /// The 8-lane subgroup core that lavapipe runs fastest.
    pub const SUBGROUP8: GemmCore = GemmCore::Subgroup {
        lanes: 8,
        rows: 64,
        cols: 8,
        steps: 2,
    };
    /// The 8-lane subgroup core at the 32-lane core's shape: 32 rows, 4 columns a lane.
    pub const SUBGROUP8_NARROW: GemmCore = GemmCore::Subgroup {
        lanes: 8,
        rows: 32,
        cols: 4,
        steps: 2,
    };
    /// The 32-lane subgroup core that a GPU gets.
    pub const SUBGROUP32: GemmCore = GemmCore::Subgroup {
        lanes: 32,
        rows: 32,
        cols: 4,
        steps: 2,
    };
    /// The 4-lane subgroup core for SwiftShader, which runs 4 lanes as one SIMD
    /// vector: PORTABLE_CPU's 32 × 16 a lane and 4 k-steps, but each lane loads the
    /// A values of 8 rows rather than 32, the broadcasts handing out the rest, which
    /// halves the per-lane loads that SwiftShader emulates a lane at a time (see
    /// PORTABLE_CPU). 1024³ matmul on SwiftShader's Vulkan driver (natively, 2-core
    /// EPYC), back to back: 6.9 GFLOP/s against PORTABLE_CPU's 6.2.
    pub const SUBGROUP4: GemmCore = GemmCore::Subgroup {
        lanes: 4,
        rows: 32,
        cols: 16,
        steps: 4,
    };
    /// SUBGROUP4 with 4 columns a lane: a 32 × 16 tile, for GEMMs of at most 16
    /// columns (the weight gradient of a convolution with one input channel and a 4 × 4
    /// kernel), where SUBGROUP4's 64 columns would compute four times the work.
    pub const SUBGROUP4_NARROW: GemmCore = GemmCore::Subgroup {
        lanes: 4,
        rows: 32,
        cols: 4,
        steps: 4,
    };
    /// The portable core a CPU device whose subgroups fit no subgroup core gets
    /// (Chromium's SwiftShader where the browser grants no subgroups): 8 lanes wide,
    /// 32 × 16 each, 4 k-steps an iteration. SwiftShader loads a value whose address
    /// may differ per lane with a branch per lane, about 90 instructions for 4 lanes,
    /// so what costs is loads per multiply-add (1/32 + 1/16 here); its accumulators
    /// live on the stack at any tile size, and 4 k-steps share each one's load and
    /// store. Timed at 1024³ on SwiftShader's Vulkan driver
    /// (natively, 2-core EPYC): 6.1 to 6.6 GFLOP/s, against 4.1 to 4.4 for 32 × 8 with
    /// 2 k-steps; 32 × 32, 64 × 16 and 4 lanes ran no faster (the first two with
    /// twice the code), and 1, 2 or 8 k-steps or 8 columns slower.
    pub const PORTABLE_CPU: GemmCore = GemmCore::Portable {
        wg_x: 8,
        wg_y: 1,
        rows: 32,
        cols: 16,
        steps: 4,
    };
    /// The portable core shaped for a GPU.
    pub const PORTABLE_GPU: GemmCore = GemmCore::Portable {
        wg_x: 16,
        wg_y: 16,
        rows: 8,
        cols: 8,
        steps: 2,
    };

    /// The portable core for GEMMs of at most 8 rows: `rows` tall, `wg_x` lanes wide.
    pub const fn short(wg_x: u32, rows: u32) -> GemmCore {
        GemmCore::Portable {
            wg_x,
            wg_y: 1,
            rows,
            cols: 8,
            steps: 2,
        }
    }

    /// Rows × columns of C that one workgroup computes.
    pub fn tile(self) -> (u32, u32) {
        match self {
            GemmCore::Portable {
                wg_x,
                wg_y,
                rows,
                cols,
                ..
            } => (rows * wg_y, cols * wg_x),
            GemmCore::Subgroup {
                lanes, rows, cols, ..
            } => (rows, cols * lanes),
            GemmCore::Tiled { bm, bn, .. } => (bm, bn),
        }
    }

    /// The subgroup size this core needs, if any.
    pub fn lanes(self) -> Option<u32> {
        match self {
            GemmCore::Subgroup { lanes, .. } => Some(lanes),
            _ => None,
        }
    }

    /// The WGSL of the `gemm` entry point, in its plain or its split-K form.
    pub fn wgsl(self, split: bool) -> String {
        let mut out = if split {
            split_support()
        } else {
            "\nfn k_range(z: u32) -> vec2<u32> { return vec2<u32>(0u, p.k); }\n\
             fn gemm_out(z: u32, row: u32, col: u32, c: ColInfo, v: f32) { store(row, col, c, v); }\n"
                .to_string()
        };
        out += &match self {
            GemmCore::Portable {
                wg_x,
                wg_y,
                rows,
                cols,
                steps,
            } => portable(wg_x, wg_y, rows, cols, steps),
            GemmCore::Subgroup {
                lanes,
                rows,
                cols,
                steps,
            } => subgroup(lanes, rows, cols, steps),
            GemmCore::Tiled { bm, bn, bk, tm, tn } => tiled(bm, bn, bk, tm, tn),
        };
        out
    }
}

/// The split-K pieces: slice S of K is workgroup_id.z's, partial sums go to
/// `partials` (S, M, N), and `gemm_reduce` (one invocation per element of C, 256 to a
/// workgroup, grid folded into 2-D) sums them in order of S.
fn split_support() -> String {
    format!(
        "
override SPLITS: u32;
@group(0) @binding({PARTIALS_BINDING}) var<storage, read_write> partials: array<f32>;

fn k_range(z: u32) -> vec2<u32> {{
    let chunk = (p.k + SPLITS - 1u) / SPLITS;
    let begin = min(z * chunk, p.k);
    return vec2<u32>(begin, min(begin + chunk, p.k));
}}

fn gemm_out(z: u32, row: u32, col: u32, c: ColInfo, v: f32) {{
    if row < p.m && col < p.n {{ partials[(z * p.m + row) * p.n + col] = v; }}
}}

@compute @workgroup_size(256)
fn gemm_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {{
    let i = (wid.x + wid.y * nwg.x) * 256u + lid.x;
    let mn = p.m * p.n;
    if i >= mn {{ return; }}
    var sum = 0.0;
    for (var z = 0u; z < SPLITS; z++) {{ sum += partials[z * mn + i]; }}
    let col = i % p.n;
    store(i / p.n, col, col_info(col), sum);
}}
"
    )
}

const LANE: [&str; 4] = ["x", "y", "z", "w"];

/// The B values of one k-step, whose k_info is `q`, for `vecs`·4 columns, as `vecs` vec4s.
fn load_b_vecs(out: &mut String, name: &str, q: &str, vecs: u32, live: Option<&str>) {
    for v in 0..vecs {
        let loads: Vec<String> = (4 * v..4 * v + 4)
            .map(|j| format!("load_b({q}, c{j})"))
            .collect();
        let value = format!("vec4<f32>({})", loads.join(", "));
        match live {
            Some(live) => writeln!(
                out,
                "        let {name}{v} = select(vec4<f32>(0.0), {value}, {live});"
            )
            .unwrap(),
            None => writeln!(out, "        let {name}{v} = {value};").unwrap(),
        }
    }
}

/// K advances `steps` k-steps per iteration, over this workgroup's slice `kr`, and
/// each accumulator takes them all before moving on, which divides accumulator
/// traffic where they spill (on lavapipe the subgroup core went from about 20 to
/// about 50 GFLOP/s at 1024³ with two); steps past the slice's end read a clamped k
/// and are discarded.
fn k_loop_head(out: &mut String, vecs: u32, steps: u32) {
    writeln!(
        out,
        "    for (var kk = kr.x; kk < kr.y; kk += {steps}u) {{\n        let q0 = k_info(kk);"
    )
    .unwrap();
    load_b_vecs(out, "b_0_", "q0", vecs, None);
    for s in 1..steps {
        writeln!(
            out,
            "        let live{s} = kk + {s}u < kr.y;\n        let q{s} = k_info(min(kk + {s}u, kr.y - 1u));"
        )
        .unwrap();
        let live = format!("live{s}");
        load_b_vecs(out, &format!("b_{s}_"), &format!("q{s}"), vecs, Some(&live));
    }
}

/// acc{r}_{v} take row r's A value of every k-step: `a[s]` for step s.
fn accumulate(out: &mut String, r: u32, vecs: u32, a: &[String]) {
    for v in 0..vecs {
        let mut sum = format!("acc{r}_{v}");
        for (s, a) in a.iter().enumerate() {
            sum = format!("fma({a}, b_{s}_{v}, {sum})");
        }
        writeln!(out, "        acc{r}_{v} = {sum};").unwrap();
    }
}

fn declare_accumulators(out: &mut String, rows: u32, vecs: u32) {
    for r in 0..rows {
        for v in 0..vecs {
            writeln!(out, "    var acc{r}_{v} = vec4<f32>(0.0);").unwrap();
        }
    }
}

/// Stores acc{r}_{v} lane l at (row0 + r, col0 + (4v + l)·stride).
fn store_rows(out: &mut String, rows: u32, vecs: u32, stride: &str) {
    for r in 0..rows {
        for j in 0..4 * vecs {
            writeln!(
                out,
                "    gemm_out(wid.z, row0 + {r}u, col0 + {j}u * {stride}, c{j}, acc{r}_{}.{});",
                j / 4,
                LANE[(j % 4) as usize]
            )
            .unwrap();
        }
    }
}

fn column_infos(out: &mut String, cols: u32, stride: &str) {
    for j in 0..cols {
        writeln!(
            out,
            "    let c{j} = col_info(min(col0 + {j}u * {stride}, p.n - 1u));"
        )
        .unwrap();
    }
}

fn portable(wg_x: u32, wg_y: u32, rows: u32, cols: u32, steps: u32) -> String {
    assert!(
        cols.is_multiple_of(4) && steps > 0,
        "portable core: cols a multiple of 4, at least one k-step"
    );
    let vecs = cols / 4;
    let mut out = format!(
        "\nconst WG_X: u32 = {wg_x}u;\nconst WG_Y: u32 = {wg_y}u;\nconst TM: u32 = {rows}u;\n\n\
         @compute @workgroup_size(WG_X, WG_Y)\n\
         fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {{\n\
         \x20   let ly = select(lid.y, 0u, WG_Y == 1u);\n\
         \x20   let row0 = (wid.y * WG_Y + ly) * TM;\n\
         \x20   let col0 = wid.x * WG_X * {cols}u + lid.x;\n\
         \x20   let kr = k_range(wid.z);\n"
    );
    for r in 0..rows {
        writeln!(out, "    let r{r} = row_info(min(row0 + {r}u, p.m - 1u));").unwrap();
    }
    column_infos(&mut out, cols, "WG_X");
    declare_accumulators(&mut out, rows, vecs);
    k_loop_head(&mut out, vecs, steps);
    for r in 0..rows {
        let a: Vec<String> = (0..steps).map(|s| format!("a{r}_{s}")).collect();
        for (s, a) in a.iter().enumerate() {
            writeln!(out, "        let {a} = vec4<f32>(load_a(r{r}, q{s}));").unwrap();
        }
        accumulate(&mut out, r, vecs, &a);
    }
    out.push_str("    }\n");
    store_rows(&mut out, rows, vecs, "WG_X");
    out.push_str("}\n");
    out
}

fn subgroup(lanes: u32, rows: u32, cols: u32, steps: u32) -> String {
    assert!(
        rows.is_multiple_of(lanes) && cols.is_multiple_of(4) && steps > 0,
        "subgroup core: rows a multiple of lanes, cols a multiple of 4, at least one k-step"
    );
    let vecs = cols / 4;
    let mut out = format!(
        "\n@compute @workgroup_size({lanes})\n\
         fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {{\n\
         \x20   let row0 = wid.y * {rows}u;\n\
         \x20   let col0 = wid.x * {}u + lane;\n\
         \x20   let kr = k_range(wid.z);\n",
        cols * lanes
    );
    let groups = rows / lanes;
    for g in 0..groups {
        writeln!(
            out,
            "    let r{g} = row_info(min(row0 + {g}u * {lanes}u + lane, p.m - 1u));"
        )
        .unwrap();
    }
    let stride = format!("{lanes}u");
    column_infos(&mut out, cols, &stride);
    declare_accumulators(&mut out, rows, vecs);
    k_loop_head(&mut out, vecs, steps);
    for g in 0..groups {
        for s in 0..steps {
            writeln!(out, "        let a{g}_{s} = load_a(r{g}, q{s});").unwrap();
        }
        for j in 0..lanes {
            let r = g * lanes + j;
            let a: Vec<String> = (0..steps).map(|s| format!("s{r}_{s}")).collect();
            for (s, a) in a.iter().enumerate() {
                writeln!(
                    out,
                    "        let {a} = vec4<f32>(subgroupBroadcast(a{g}_{s}, {j}u));"
                )
                .unwrap();
            }
            accumulate(&mut out, r, vecs, &a);
        }
    }
    out.push_str("    }\n");
    store_rows(&mut out, rows, vecs, &stride);
    out.push_str("}\n");
    out
}

/// Whether a tiled core's shape works: every invocation loads whole vec4s of both
/// tiles, and the loads divide evenly among the invocations.
pub fn tiled_shape_ok(bm: u32, bn: u32, bk: u32, tm: u32, tn: u32) -> bool {
    let fits = |a: u32, b: u32| b != 0 && a.is_multiple_of(b);
    if !(fits(tm, 4) && fits(tn, 4) && fits(bm, tm) && fits(bn, tn) && fits(bm, 4)) {
        return false;
    }
    let threads = (bm / tm) * (bn / tn);
    fits(threads, bk)
        && fits(threads, bn / 4)
        && fits(bk * bm / 4, threads)
        && fits(bk * bn / 4, threads)
        && threads <= 256
}

fn tiled(bm: u32, bn: u32, bk: u32, tm: u32, tn: u32) -> String {
    assert!(
        tiled_shape_ok(bm, bn, bk, tm, tn),
        "tiled core {bm}x{bn}x{bk} with {tm}x{tn} per invocation does not divide evenly"
    );
    let (wx, wy) = (bn / tn, bm / tm);
    let threads = wx * wy;
    // The A tile holds bk × bm/4 vec4s (K-major), the B tile bk × bn/4; two of each.
    let (a_vecs, b_vecs) = (bk * bm / 4, bk * bn / 4);
    // Invocation li fetches A rows 4·(li/bk + i·a_step) .. +4 at k = li % bk, and B
    // columns 4·(li % (bn/4)) .. +4 at k = li/(bn/4) + i·b_step: its rows and columns
    // stay the same for every slice, so their row_info/col_info run once.
    let (a_fetches, a_step) = (a_vecs / threads, threads / bk);
    let (b_fetches, b_step) = (b_vecs / threads, threads / (bn / 4));
    let mut out = format!(
        "\nvar<workgroup> tile_a: array<vec4<f32>, {}>;\n\
         var<workgroup> tile_b: array<vec4<f32>, {}>;\n\n\
         @compute @workgroup_size({wx}, {wy})\n\
         fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,\n\
         \x20       @builtin(local_invocation_index) li: u32) {{\n\
         \x20   let row0 = wid.y * {bm}u;\n\
         \x20   let col0 = wid.x * {bn}u;\n\
         \x20   let kr = k_range(wid.z);\n\
         \x20   let ka = li % {bk}u;\n\
         \x20   let col4 = li % {}u;\n\
         \x20   let kb = li / {}u;\n",
        2 * a_vecs,
        2 * b_vecs,
        bn / 4,
        bn / 4
    );
    for i in 0..a_fetches {
        for q in 0..4 {
            writeln!(
                out,
                "    let ar{i}_{q} = row_info(min(row0 + (li / {bk}u + {}u) * 4u + {q}u, p.m - 1u));",
                i * a_step
            )
            .unwrap();
        }
    }
    for q in 0..4 {
        writeln!(
            out,
            "    let bc{q} = col_info(min(col0 + col4 * 4u + {q}u, p.n - 1u));"
        )
        .unwrap();
    }
    declare_accumulators(&mut out, tm, tn / 4);
    for i in 0..a_fetches {
        writeln!(out, "    var sa{i} = vec4<f32>(0.0);").unwrap();
    }
    for i in 0..b_fetches {
        writeln!(out, "    var sb{i} = vec4<f32>(0.0);").unwrap();
    }
    // fetch: slice k0's values into registers, zero past the slice's end.
    let fetch = |out: &mut String, k0: &str| {
        writeln!(
            out,
            "        let k = {k0} + ka;\n        let qa = k_info(min(k, p.k - 1u));"
        )
        .unwrap();
        for i in 0..a_fetches {
            let loads: Vec<String> = (0..4).map(|q| format!("load_a(ar{i}_{q}, qa)")).collect();
            writeln!(
                out,
                "        sa{i} = select(vec4<f32>(0.0), vec4<f32>({}), k < kr.y);",
                loads.join(", ")
            )
            .unwrap();
        }
        for i in 0..b_fetches {
            let loads: Vec<String> = (0..4).map(|q| format!("load_b(qb{i}, bc{q})")).collect();
            writeln!(
                out,
                "        let kb{i} = {k0} + kb + {}u;\n        let qb{i} = k_info(min(kb{i}, p.k - 1u));\n\
                 \x20       sb{i} = select(vec4<f32>(0.0), vec4<f32>({}), kb{i} < kr.y);",
                i * b_step,
                loads.join(", ")
            )
            .unwrap();
        }
    };
    // stash: the registers into buffer `buf` of workgroup memory.
    let stash = |out: &mut String, buf: &str| {
        for i in 0..a_fetches {
            writeln!(
                out,
                "        tile_a[{buf} * {a_vecs}u + ka * {}u + li / {bk}u + {}u] = sa{i};",
                bm / 4,
                i * a_step
            )
            .unwrap();
        }
        for i in 0..b_fetches {
            writeln!(
                out,
                "        tile_b[{buf} * {b_vecs}u + (kb + {}u) * {}u + col4] = sb{i};",
                i * b_step,
                bn / 4
            )
            .unwrap();
        }
    };
    writeln!(
        out,
        "    let slices = (kr.y - kr.x + {}u) / {bk}u;\n    if slices > 0u {{",
        bk - 1
    )
    .unwrap();
    fetch(&mut out, "kr.x");
    stash(&mut out, "0u");
    out.push_str("    }\n    workgroupBarrier();\n");
    out.push_str("    for (var t = 0u; t < slices; t++) {\n        let buf = t % 2u;\n");
    writeln!(
        out,
        "        let more = t + 1u < slices;\n        if more {{"
    )
    .unwrap();
    fetch(&mut out, &format!("kr.x + (t + 1u) * {bk}u"));
    out.push_str("        }\n");
    writeln!(
        out,
        "        let ab = buf * {a_vecs}u + lid.y * {}u;\n        let bb = buf * {b_vecs}u + lid.x * {}u;",
        tm / 4,
        tn / 4
    )
    .unwrap();
    for kk in 0..bk {
        out.push_str("        {\n");
        for u in 0..tm / 4 {
            writeln!(out, "        let a{u} = tile_a[ab + {}u];", kk * bm / 4 + u).unwrap();
        }
        for v in 0..tn / 4 {
            writeln!(out, "        let b{v} = tile_b[bb + {}u];", kk * bn / 4 + v).unwrap();
        }
        for r in 0..tm {
            for v in 0..tn / 4 {
                writeln!(
                    out,
                    "        acc{r}_{v} = fma(vec4<f32>(a{}.{}), b{v}, acc{r}_{v});",
                    r / 4,
                    LANE[(r % 4) as usize]
                )
                .unwrap();
            }
        }
        out.push_str("        }\n");
    }
    out.push_str("        if more {\n");
    stash(&mut out, "(1u - buf)");
    out.push_str("        }\n        workgroupBarrier();\n    }\n");
    // Invocation (x, y) holds rows y·tm .. +tm and columns x·tn .. +tn of the tile.
    for j in 0..tn {
        writeln!(
            out,
            "    let oc{j} = col_info(min(col0 + lid.x * {tn}u + {j}u, p.n - 1u));"
        )
        .unwrap();
    }
    for r in 0..tm {
        for j in 0..tn {
            writeln!(
                out,
                "    gemm_out(wid.z, row0 + lid.y * {tm}u + {r}u, col0 + lid.x * {tn}u + {j}u, oc{j}, acc{r}_{}.{});",
                j / 4,
                LANE[(j % 4) as usize]
            )
            .unwrap();
        }
    }
    out.push_str("}\n");
    out
}
