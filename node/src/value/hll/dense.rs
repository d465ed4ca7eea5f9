//! The hash, the dense register array and the cardinality estimator of Redis's HyperLogLog.
//!
//! Facts from Redis `hyperloglog.c`: MurmurHash64A with seed `0xadc83b19` (read as little
//! endian on every platform); the low 14 bits of the hash pick one of 16384 registers and the
//! run of zeros above them, plus one, is the value offered to it; dense registers are 6 bits,
//! packed from the least significant bit of each byte upwards; the estimate is Otmar Ertl's
//! improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
//! arXiv:1702.01284) computed from the histogram of register values.

/// Registers addressed by the low bits of the hash (`HLL_P`).
pub(crate) const P: u32 = 14;
/// Number of registers (`HLL_REGISTERS`).
pub(crate) const REGISTERS: usize = 1 << P;
/// Bits of the hash left for the zero run (`HLL_Q`).
pub(crate) const Q: usize = 64 - P as usize;
/// Bits per dense register (`HLL_BITS`).
const BITS: usize = 6;
/// Largest register value (`HLL_REGISTER_MAX`).
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Bytes of the packed dense registers.
pub(crate) const DENSE_BYTES: usize = (REGISTERS * BITS).div_ceil(8);
/// Seed Redis hashes elements with.
const SEED: u64 = 0xadc8_3b19;
/// `0.5 / ln(2)` (`HLL_ALPHA_INF`).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// MurmurHash2, 64-bit version (`MurmurHash64A`), reading 8-byte blocks as little endian.
pub(crate) fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let blocks = key.chunks_exact(8);
    let tail = blocks.remainder();
    for block in blocks {
        let mut k = u64::from_le_bytes(block.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the value it offers: the length of the `0...01`
/// pattern above the index bits, 1..=51. Source: Redis `hllPatLen`.
pub(crate) fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `index` of the packed array `regs` (`HLL_DENSE_GET_REGISTER`).
pub(crate) fn get(regs: &[u8], index: usize) -> u8 {
    let byte = index * BITS / 8;
    let shift = index * BITS % 8;
    let b0 = u16::from(regs[byte]);
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    ((b0 >> shift) | (b1 << (8 - shift))) as u8 & REGISTER_MAX
}

/// Sets register `index` of `regs` to `value` (at most 63) (`HLL_DENSE_SET_REGISTER`).
pub(crate) fn set(regs: &mut [u8], index: usize, value: u8) {
    let byte = index * BITS / 8;
    let shift = index * BITS % 8;
    let spread = u16::from(value & REGISTER_MAX) << shift;
    let mask = u16::from(REGISTER_MAX) << shift;
    regs[byte] = (regs[byte] & !(mask as u8)) | spread as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (spread >> 8) as u8;
    }
}

/// Raises register `index` to `value` if that is larger; true if it changed (`hllDenseSet`).
pub(crate) fn raise(regs: &mut [u8], index: usize, value: u8) -> bool {
    if value > get(regs, index) {
        set(regs, index, value);
        true
    } else {
        false
    }
}

/// Adds the histogram of the dense registers to `histo`, 16 registers (12 bytes) at a time.
pub(crate) fn histogram(regs: &[u8], histo: &mut [u32; 64]) {
    for g in regs.chunks_exact(12) {
        let word = |i: usize| u128::from(g[i]) << (8 * i);
        let packed: u128 = (0..12).map(word).fold(0, |a, w| a | w);
        for r in 0..16 {
            histo[((packed >> (6 * r)) & 63) as usize] += 1;
        }
    }
}

/// Ertl's `sigma` helper.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// Ertl's `tau` helper.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The estimated cardinality from the histogram of register values (`hllCount`).
pub(crate) fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of one byte per register (`HLL_RAW`, used when merging).
pub(crate) fn estimate_raw(registers: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in registers {
        histo[usize::from(r & 63)] += 1;
    }
    estimate(&histo)
}
