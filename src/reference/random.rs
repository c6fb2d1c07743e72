//! CPU twins of `ops::random`: the same Philox4x32-10, so the bits agree exactly.

use super::Array;

/// Philox4x32-10 of `counter` under the 64-bit key `seed`.
pub fn philox(counter: [u32; 4], seed: u64) -> [u32; 4] {
    let mut c = counter;
    let mut k = [seed as u32, (seed >> 32) as u32];
    for _ in 0..10 {
        let p0 = u64::from(0xD251_1F53u32) * u64::from(c[0]);
        let p1 = u64::from(0xCD9E_8D57u32) * u64::from(c[2]);
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
        k = [
            k[0].wrapping_add(0x9E37_79B9),
            k[1].wrapping_add(0xBB67_AE85),
        ];
    }
    c
}

fn bits(i: usize, seed: u64, offset: u64) -> [u32; 4] {
    philox([i as u32, offset as u32, (offset >> 32) as u32, 0], seed)
}

fn unit(word: u32) -> f64 {
    f64::from(word >> 8) / 16_777_216.0
}

pub fn fill_uniform(t: &mut Array, lo: f32, hi: f32, seed: u64, offset: u64) {
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    for (i, v) in t.data.iter_mut().enumerate() {
        *v = lo + (hi - lo) * unit(bits(i, seed, offset)[0]);
    }
}

pub fn fill_normal(t: &mut Array, mean: f32, std: f32, seed: u64, offset: u64) {
    fill_normal_part(t, mean, std, seed, offset, 0);
}

pub fn fill_normal_part(t: &mut Array, mean: f32, std: f32, seed: u64, offset: u64, first: usize) {
    for (i, v) in t.data.iter_mut().enumerate() {
        let r = bits(first + i, seed, offset);
        let u1 = unit(r[0]) + 1.0 / 16_777_216.0;
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * unit(r[1])).cos();
        *v = f64::from(mean) + f64::from(std) * z;
    }
}

pub fn dropout(x: &Array, rate: f32, seed: u64, offset: u64) -> Array {
    let rate = f64::from(rate);
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if unit(bits(i, seed, offset)[0]) >= rate {
                v / (1.0 - rate)
            } else {
                0.0
            }
        })
        .collect();
    Array::new(&x.shape, data)
}

pub fn dropout_backward(dy: &Array, rate: f32, seed: u64, offset: u64) -> Array {
    dropout(dy, rate, seed, offset)
}
