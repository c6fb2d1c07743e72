// GEMM prelude for the input gradient of a conv2d with few input channels (also
// conv_transpose2d's forward into few channels), as columns: cols = wᵀ · dy, which
// col2im.wgsl then sums into dx. The phase GEMMs of gemm_conv_input_grad have Cin rows,
// so with one to three input channels (an image layer) each dy value they load serves
// one to three multiply-adds; here it serves Cin·KH·KW.
// dy (N, Cout, Ho, Wo), w (Cout, Cin, KH, KW), cols (Cin·KH·KW, N·Ho·Wo), all f32.
// As a GEMM: M = Cin·KH·KW (a row is one (ci, kh, kw)), N = N·Ho·Wo (a column is one
// output pixel of one sample), K = Cout. The engine appends the generated `gemm` core.
//
// Bindings: 0 Params, 1 dy, 2 w, 3 cols.

// @include gemm_conv_common

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> cols: array<f32>;

struct RowInfo { row: u32 }
// dy's offset of this column's pixel in channel 0 of its sample.
struct ColInfo { dy_at: u32 }

fn row_info(row: u32) -> RowInfo { return RowInfo(row); }

fn col_info(col: u32) -> ColInfo {
    let pixels = p.ho * p.wo;
    return ColInfo((col / pixels) * p.cout * pixels + col % pixels);
}

// k is the output channel co.
alias KInfo = u32;
fn k_info(kk: u32) -> KInfo { return kk; }

// w (Cout, Cin·KH·KW) read transposed: row (ci, kh, kw) of wᵀ.
fn load_a(r: RowInfo, co: KInfo) -> f32 {
    return wt[co * p.m + r.row];
}

fn load_b(co: KInfo, c: ColInfo) -> f32 {
    return dy[c.dy_at + co * p.ho * p.wo];
}

fn store(row: u32, col: u32, _c: ColInfo, v: f32) {
    if row < p.m && col < p.n {
        cols[row * p.n + col] = v;
    }
}
