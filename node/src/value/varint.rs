//! LEB128 varints, the length and number prefix every packed value uses (hash/set packs,
//! sorted-set packs, list chunks, stream blocks): 7 bits per byte, low bits first, the high
//! bit set on every byte but the last, so a value below 128 takes one byte.

/// Bytes the varint form of `value` takes (1 to 10).
#[inline]
pub(crate) fn len(value: u64) -> usize {
    (u64::BITS - value.leading_zeros()).max(1).div_ceil(7) as usize
}

/// Appends `value` in varint form.
#[inline]
pub(crate) fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads the varint at `*at` and moves `*at` past it. The caller's buffer holds a whole
/// varint there (packed values are built by [`put`]); a truncated one panics on the index.
#[inline]
pub(crate) fn get(buf: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = buf[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_in_the_length_they_announce() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = vec![0xAA];
            put(&mut out, value);
            assert_eq!(out.len() - 1, len(value), "{value}");
            let mut at = 1;
            assert_eq!(get(&out, &mut at), value);
            assert_eq!(at, out.len());
        }
    }
}
