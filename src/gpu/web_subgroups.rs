//! WebGPU's `subgroups` feature, which wgpu 30's browser backend neither requests nor
//! reports (its feature table stops short of it), while the adapter says how wide its
//! subgroups are. On Chromium's SwiftShader, the CPU device a browser without a GPU
//! gets, a GEMM that broadcasts A within 4-lane subgroups loads half as much per lane
//! as the portable core, and loads are what SwiftShader runs slowest (GemmCore::SUBGROUP4).
//! So before the device is requested, `ask` wraps `GPUAdapter.requestDevice` to add
//! the feature where the adapter has it, and `granted` says whether the device got it.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(inline_js = r#"
export function ask() {
    const proto = globalThis.GPUAdapter && globalThis.GPUAdapter.prototype;
    if (!proto || proto.requestDevice.duelAsksForSubgroups) return;
    const request = proto.requestDevice;
    const wrapped = async function (descriptor) {
        const wanted = Array.from((descriptor && descriptor.requiredFeatures) || []);
        const more = this.features.has("subgroups") && !wanted.includes("subgroups");
        const device = await request.call(
            this, more ? { ...descriptor, requiredFeatures: [...wanted, "subgroups"] } : descriptor);
        globalThis.duelDeviceHasSubgroups = device.features.has("subgroups");
        return device;
    };
    wrapped.duelAsksForSubgroups = true;
    proto.requestDevice = wrapped;
}
export function granted() { return globalThis.duelDeviceHasSubgroups === true; }
"#)]
extern "C" {
    /// Makes every later device request ask for `subgroups` where its adapter has them.
    pub fn ask();
    /// Whether the device requested last has `subgroups`.
    pub fn granted() -> bool;
}
