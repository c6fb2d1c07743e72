// Per-row readouts of a classifier's logits (N, C): nothing here is differentiated.
//
// Bindings: 1 logits, 2 out (N), 3 labels (correct only).
// Entry points:
//   argmax       logits -> out[row] = first index of the row's largest logit
//   max_softmax  logits -> out[row] = max_c softmax(z)_c = 1 / Σ exp(z - max)
//   correct      logits, labels -> out[row] = 1 if argmax == label, else 0
// Labels and indices are f32, as in the losses, so they share tensors with them.

struct Params {
    n: u32,       // rows
    classes: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<f32>;

// @include flat

// Ties go to the lower index, as in NumPy and PyTorch.
fn row_argmax(row: u32) -> u32 {
    var best = 0u;
    var best_value = logits[row * p.classes];
    for (var c = 1u; c < p.classes; c++) {
        let v = logits[row * p.classes + c];
        if v > best_value {
            best = c;
            best_value = v;
        }
    }
    return best;
}

@compute @workgroup_size(256)
fn argmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    out[row] = f32(row_argmax(row));
}

@compute @workgroup_size(256)
fn max_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    let m = logits[row * p.classes + row_argmax(row)];
    var s = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        s += exp(logits[row * p.classes + c] - m);
    }
    out[row] = 1.0 / s;
}

@compute @workgroup_size(256)
fn correct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_index(wid, nwg, lid);
    if row >= p.n { return; }
    out[row] = select(0.0, 1.0, f32(row_argmax(row)) == labels[row]);
}
