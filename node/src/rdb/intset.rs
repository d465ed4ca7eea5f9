//! Intsets (Redis `intset.c`), the `SET_INTSET` encoding: element width in bytes (u32 LE: 2, 4
//! or 8), element count (u32 LE), then the elements, little endian, strictly ascending.

use super::{ErrorKind, RdbError};

/// Decodes an intset found at file offset `base`.
///
/// # Errors
/// [`ErrorKind::Corrupt`] when the width is not 2/4/8, the size does not match the count, or
/// the elements are not strictly ascending (Redis `intsetValidateIntegrity`).
pub(crate) fn decode(blob: &[u8], base: usize) -> Result<Vec<i64>, RdbError> {
    let corrupt = |at: usize, reason| RdbError {
        offset: base + at,
        kind: ErrorKind::Corrupt("intset", reason),
    };
    if blob.len() < 8 {
        return Err(corrupt(0, "shorter than its header"));
    }
    let width = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(corrupt(0, "element width is not 2, 4 or 8"));
    }
    let count = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    if count.checked_mul(width) != Some(blob.len() - 8) {
        return Err(corrupt(4, "element count does not match the size"));
    }
    let mut out: Vec<i64> = Vec::with_capacity(super::initial_capacity(count));
    for (i, raw) in blob[8..].chunks_exact(width).enumerate() {
        let n = match width {
            2 => i64::from(i16::from_le_bytes(raw.try_into().expect("2 bytes"))),
            4 => i64::from(i32::from_le_bytes(raw.try_into().expect("4 bytes"))),
            _ => i64::from_le_bytes(raw.try_into().expect("8 bytes")),
        };
        if out.last().is_some_and(|&prev| prev >= n) {
            return Err(corrupt(8 + i * width, "elements not in ascending order"));
        }
        out.push(n);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An intset of `values` (ascending) at element width `width`.
    pub(crate) fn build(width: usize, values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(width as u32).to_le_bytes());
        out.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for v in values {
            out.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        out
    }

    #[test]
    fn widths_decode() {
        assert_eq!(decode(&build(2, &[-5, 1, 300]), 0).unwrap(), [-5, 1, 300]);
        assert_eq!(
            decode(&build(4, &[-70_000, 70_000]), 0).unwrap(),
            [-70_000, 70_000]
        );
        assert_eq!(
            decode(&build(8, &[i64::MIN, i64::MAX]), 0).unwrap(),
            [i64::MIN, i64::MAX]
        );
    }

    #[test]
    fn rejects_damage() {
        assert!(decode(&build(3, &[1]), 0).is_err());
        assert!(decode(&build(2, &[2, 1]), 0).is_err());
        assert!(decode(&build(2, &[1, 1]), 0).is_err());
        let blob = build(2, &[1, 2]);
        assert!(decode(&blob[..blob.len() - 1], 0).is_err());
    }
}
