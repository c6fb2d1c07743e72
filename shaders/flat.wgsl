// What every one-item-per-invocation kernel shares: 256 invocations to a workgroup,
// and a flat index over a grid that turns 2-D past 65,535 workgroups (the launchers'
// `ops::dispatch_flat` sizes it).

const WG: u32 = 256u;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid.x;
}
