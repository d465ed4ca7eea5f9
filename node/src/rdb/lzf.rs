//! LZF, the compression Redis applies to long strings in RDB files (`rdbcompression yes`).
//!
//! The stream is a sequence of runs, each introduced by a control byte `c` (Redis `lzf_d.c`):
//! - `c < 32`: a literal run; the next `c + 1` bytes are copied out.
//! - otherwise a back reference: length `c >> 5` (when 7, one more byte is added), plus 2;
//!   offset `((c & 31) << 8) + next byte + 1` bytes back from the end of the output so far.
//!   A reference may overlap the bytes it produces (a run of repeats).
//!
//! The compressor here is this crate's own: a 3-byte hash finds earlier occurrences within
//! the 8 KB window; anything it emits is a valid LZF stream for any decompressor.

/// Longest literal run one control byte introduces.
const MAX_LITERAL: usize = 32;
/// Farthest back a reference reaches.
const MAX_OFFSET: usize = 1 << 13;
/// Longest match one reference copies: 2 + 7 + 255.
const MAX_MATCH: usize = 264;
/// Hash table size (log2) for finding earlier 3-byte sequences.
const HASH_BITS: u32 = 14;

/// Why an LZF stream could not be decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LzfError {
    /// The stream ended inside a run.
    Truncated,
    /// A back reference points before the start of the output.
    BadReference,
    /// The output is longer or shorter than the length the file gave.
    WrongLength,
}

impl LzfError {
    /// A short description for error messages.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            LzfError::Truncated => "lzf stream ends inside a run",
            LzfError::BadReference => "lzf back reference before the start of the output",
            LzfError::WrongLength => "lzf output length differs from the stated length",
        }
    }
}

/// Decompresses `input`, which must expand to exactly `expected` bytes.
///
/// The output grows as data is produced rather than being sized from `expected` up front, so a
/// corrupt length cannot make it allocate more than the stream really expands to (at most 88
/// bytes per input byte: a 3-byte reference copies 264).
pub(crate) fn decompress(input: &[u8], expected: usize) -> Result<Vec<u8>, LzfError> {
    let mut out = Vec::with_capacity(expected.min(input.len().saturating_mul(4)));
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let literal = input.get(ip..ip + run).ok_or(LzfError::Truncated)?;
            if out.len() + run > expected {
                return Err(LzfError::WrongLength);
            }
            out.extend_from_slice(literal);
            ip += run;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += usize::from(*input.get(ip).ok_or(LzfError::Truncated)?);
            ip += 1;
        }
        len += 2;
        let low = usize::from(*input.get(ip).ok_or(LzfError::Truncated)?);
        ip += 1;
        let back = ((ctrl & 0x1f) << 8) + low + 1;
        if back > out.len() {
            return Err(LzfError::BadReference);
        }
        if out.len() + len > expected {
            return Err(LzfError::WrongLength);
        }
        let start = out.len() - back;
        if back >= len {
            out.extend_from_within(start..start + len);
        } else {
            for i in 0..len {
                out.push(out[start + i]);
            }
        }
    }
    if out.len() != expected {
        return Err(LzfError::WrongLength);
    }
    Ok(out)
}

/// Compresses `input`; `None` when the result would not be at most `limit` bytes (Redis asks
/// for at least 4 bytes saved, `rdbSaveLzfStringObject`).
pub(crate) fn compress(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(limit);
    // A table sized to the input: zeroing 2^14 slots for every short string dominated
    // snapshots of many small values.
    let bits = (usize::BITS - input.len().leading_zeros()).clamp(4, HASH_BITS);
    let mut table = vec![0u32; 1 << bits];
    // Position of the current literal run's control byte in `out`, and its length so far.
    let mut literal_at = usize::MAX;
    let mut literal_len = 0usize;
    let mut ip = 0;
    let push_literal = |out: &mut Vec<u8>, at: &mut usize, len: &mut usize, byte: u8| {
        if *len == 0 {
            *at = out.len();
            out.push(0);
        }
        out.push(byte);
        *len += 1;
        out[*at] = (*len - 1) as u8;
        if *len == MAX_LITERAL {
            *len = 0;
        }
    };
    while ip + 2 < input.len() {
        let hash = hash3(&input[ip..ip + 3], bits);
        // Table entries hold position + 1, so 0 means empty.
        let candidate = table[hash] as usize;
        table[hash] = (ip + 1) as u32;
        if candidate > 0 {
            let from = candidate - 1;
            let back = ip - from;
            if back <= MAX_OFFSET && input[from..from + 3] == input[ip..ip + 3] {
                let max = (input.len() - ip).min(MAX_MATCH);
                let mut len = 3;
                while len < max && input[from + len] == input[ip + len] {
                    len += 1;
                }
                literal_len = 0;
                let code = len - 2;
                let offset = back - 1;
                if code < 7 {
                    out.push(((code << 5) | (offset >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (offset >> 8)) as u8);
                    out.push((code - 7) as u8);
                }
                out.push((offset & 0xff) as u8);
                // Index the positions inside the match so later data can refer to them.
                for p in ip + 1..(ip + len).min(input.len().saturating_sub(2)) {
                    table[hash3(&input[p..p + 3], bits)] = (p + 1) as u32;
                }
                ip += len;
                if out.len() > limit {
                    return None;
                }
                continue;
            }
        }
        push_literal(&mut out, &mut literal_at, &mut literal_len, input[ip]);
        ip += 1;
        if out.len() > limit {
            return None;
        }
    }
    while ip < input.len() {
        push_literal(&mut out, &mut literal_at, &mut literal_len, input[ip]);
        ip += 1;
    }
    (out.len() <= limit).then_some(out)
}

fn hash3(bytes: &[u8], bits: u32) -> usize {
    let v = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"abc".to_vec(),
            vec![b'x'; 10_000],
            b"hello hello hello hello world world world".repeat(40),
        ];
        let pseudo: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        samples.push(pseudo.clone());
        let mut mixed = pseudo[..3000].to_vec();
        mixed.extend_from_slice(&pseudo[..3000]);
        mixed.extend_from_slice(&[7u8; 700]);
        samples.push(mixed);
        for sample in samples {
            let packed = compress(&sample, sample.len() + sample.len() / 16 + 64).unwrap();
            assert_eq!(decompress(&packed, sample.len()).unwrap(), sample);
        }
    }

    #[test]
    fn compresses_repeats_and_respects_the_limit() {
        let data = vec![b'x'; 10_000];
        let packed = compress(&data, data.len() - 4).unwrap();
        assert!(packed.len() < 200, "{}", packed.len());
        let noise: Vec<u8> = (0..100u32).map(|i| (i * 97 % 251) as u8).collect();
        assert_eq!(compress(&noise, noise.len() - 4), None);
    }

    #[test]
    fn decodes_a_hand_built_stream() {
        // "ab" as a literal, then a reference 2 back of length 6: "ababab".
        let stream = [1, b'a', b'b', (4 << 5), 1];
        assert_eq!(decompress(&stream, 8).unwrap(), b"abababab");
    }

    #[test]
    fn rejects_corrupt_streams() {
        assert_eq!(decompress(&[5, b'a'], 6), Err(LzfError::Truncated));
        assert_eq!(
            decompress(&[0, b'a', 0x20, 5], 4),
            Err(LzfError::BadReference)
        );
        assert_eq!(decompress(&[0, b'a'], 2), Err(LzfError::WrongLength));
        assert_eq!(decompress(&[1, b'a', b'b'], 1), Err(LzfError::WrongLength));
        assert_eq!(decompress(&[0xe0], 10), Err(LzfError::Truncated));
    }
}
