// Draws a batch of images from a GPU-resident set of 8-bit images packed four to a
// u32 word, scaling each pixel p to p·scale + shift (so [-1, 1] for scale 2/255, shift -1).
// indices[start + b] picks the image for batch row b, so one permutation uploaded per
// epoch serves every batch of it. `images` is one shard of the set: images
// shard_first .. shard_first + shard_count; rows whose image lies in another shard
// are left for that shard's pass.
//
// Bindings: 1 images (packed bytes), 2 indices (u32), 3 out (batch, pixels) f32.

struct Params {
    batch: u32,
    pixels: u32,
    start: u32,
    shard_first: u32,
    shard_count: u32,
    scale: f32,
    shift: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn gather_images(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid.x;
    if i >= p.batch * p.pixels { return; }
    let row = i / p.pixels;
    let image = indices[p.start + row] - p.shard_first;
    // Below shard_first, the subtraction wraps past shard_count.
    if image >= p.shard_count { return; }
    let byte = image * p.pixels + i % p.pixels;
    let value = (images[byte / 4u] >> (8u * (byte % 4u))) & 0xffu;
    out[i] = f32(value) * p.scale + p.shift;
}
