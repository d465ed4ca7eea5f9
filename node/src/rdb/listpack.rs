//! Listpacks (Redis `listpack.c`): the compact encoding inside `*_LISTPACK` and
//! `LIST_QUICKLIST_2` values. Layout: total bytes (u32 LE), element count (u16 LE, 65535 when
//! unknown), the entries, and an end byte `0xFF`. Each entry is an encoding byte with its data,
//! then a "backlen" of 1–5 bytes giving the encoding+data size, read right to left.
//!
//! Encodings: `0xxxxxxx` 7-bit unsigned int; `10xxxxxx` string of up to 63 bytes; `110xxxxx`
//! and one more byte: 13-bit signed int; `1110xxxx` and one more byte: string of up to 4095
//! bytes; `11110000` and a u32: longer string; `11110001..=11110100` 16/24/32/64-bit signed
//! ints, little endian.

use super::{Element, ErrorKind, RdbError};

const HEADER: usize = 6;
const END: u8 = 0xff;
const UNKNOWN_COUNT: u16 = u16::MAX;

/// Decodes a whole listpack found at file offset `base`, checking its header, every entry's
/// bounds and backlen, the end byte and the element count.
///
/// # Errors
/// [`ErrorKind::Corrupt`] naming the offset of the first bad byte.
pub(crate) fn decode(blob: &[u8], base: usize) -> Result<Vec<Element<'_>>, RdbError> {
    let corrupt = |at: usize, reason| RdbError {
        offset: base + at,
        kind: ErrorKind::Corrupt("listpack", reason),
    };
    if blob.len() < HEADER + 1 {
        return Err(corrupt(0, "shorter than its header"));
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err(corrupt(0, "header size differs from the blob size"));
    }
    let count = u16::from_le_bytes([blob[4], blob[5]]);
    let mut out = Vec::with_capacity(super::initial_capacity(usize::from(count)));
    let mut p = HEADER;
    loop {
        let Some(&first) = blob.get(p) else {
            return Err(corrupt(p, "missing end byte"));
        };
        if first == END {
            break;
        }
        let (element, size) =
            entry(&blob[p..]).ok_or_else(|| corrupt(p, "entry overruns the listpack"))?;
        let back_at = p + size;
        let back_len = backlen_size(size);
        let stored = blob
            .get(back_at..back_at + back_len)
            .ok_or_else(|| corrupt(back_at, "entry overruns the listpack"))?;
        if decode_backlen(stored) != Some(size) {
            return Err(corrupt(back_at, "backlen does not match the entry"));
        }
        out.push(element);
        p = back_at + back_len;
    }
    if p + 1 != blob.len() {
        return Err(corrupt(p, "bytes after the end byte"));
    }
    if count != UNKNOWN_COUNT && usize::from(count) != out.len() {
        return Err(corrupt(4, "element count differs from the entries"));
    }
    Ok(out)
}

/// One entry at the start of `p`: the element and its encoding+data size.
fn entry(p: &[u8]) -> Option<(Element<'_>, usize)> {
    let b = p[0];
    let int = |n: usize| -> Option<i64> {
        let data = p.get(1..1 + n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(data);
        let shift = 64 - 8 * n as u32;
        Some(i64::from_le_bytes(buf) << shift >> shift)
    };
    Some(match b {
        0x00..=0x7f => (Element::Int(i64::from(b)), 1),
        0x80..=0xbf => {
            let n = usize::from(b & 0x3f);
            (Element::Str(p.get(1..1 + n)?), 1 + n)
        }
        0xc0..=0xdf => {
            let raw = (i64::from(b & 0x1f) << 8) | i64::from(*p.get(1)?);
            (
                Element::Int(if raw >= 1 << 12 { raw - (1 << 13) } else { raw }),
                2,
            )
        }
        0xe0..=0xef => {
            let n = (usize::from(b & 0x0f) << 8) | usize::from(*p.get(1)?);
            (Element::Str(p.get(2..2 + n)?), 2 + n)
        }
        0xf0 => {
            let n = u32::from_le_bytes(p.get(1..5)?.try_into().ok()?) as usize;
            (Element::Str(p.get(5..5usize.checked_add(n)?)?), 5 + n)
        }
        0xf1 => (Element::Int(int(2)?), 3),
        0xf2 => (Element::Int(int(3)?), 4),
        0xf3 => (Element::Int(int(4)?), 5),
        0xf4 => (Element::Int(int(8)?), 9),
        _ => return None,
    })
}

/// Bytes the backlen of an entry of `size` bytes takes (Redis `lpEncodeBacklen`).
fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Writes the backlen of an entry of `size` bytes: seven bits per byte, most significant
/// first, every byte but the first marked with the high bit, so it reads right to left.
fn encode_backlen(out: &mut Vec<u8>, size: usize) {
    let n = backlen_size(size);
    for i in (0..n).rev() {
        let seven = ((size >> (7 * i)) & 0x7f) as u8;
        out.push(if i == n - 1 { seven } else { seven | 0x80 });
    }
}

fn decode_backlen(stored: &[u8]) -> Option<usize> {
    let mut size = 0usize;
    for (i, &byte) in stored.iter().rev().enumerate() {
        let more = byte & 0x80 != 0;
        size |= usize::from(byte & 0x7f) << (7 * i);
        if more != (i + 1 < stored.len()) {
            return None;
        }
    }
    Some(size)
}

/// Builds listpacks entry by entry.
pub(crate) struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl ListpackWriter {
    pub(crate) fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        ListpackWriter { buf, count: 0 }
    }

    /// Bytes so far, without the end byte.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Appends `value`, as an integer when it is the canonical text of one (as Redis's
    /// `lpEncodeGetType` does).
    pub(crate) fn push(&mut self, value: &[u8]) {
        match crate::value::parse_canonical_i64(value) {
            Some(n) => self.push_int(n),
            None => self.push_str(value),
        }
    }

    pub(crate) fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        match n {
            0..=127 => self.buf.push(n as u8),
            -4096..=4095 => {
                let raw = (n as u16) & 0x1fff;
                self.buf.push(0xc0 | (raw >> 8) as u8);
                self.buf.push(raw as u8);
            }
            _ => {
                let (tag, width) = match n {
                    -32_768..=32_767 => (0xf1, 2),
                    -8_388_608..=8_388_607 => (0xf2, 3),
                    -2_147_483_648..=2_147_483_647 => (0xf3, 4),
                    _ => (0xf4, 8),
                };
                self.buf.push(tag);
                self.buf.extend_from_slice(&n.to_le_bytes()[..width]);
            }
        }
        let size = self.buf.len() - start;
        encode_backlen(&mut self.buf, size);
        self.count += 1;
    }

    pub(crate) fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xe0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let size = self.buf.len() - start;
        encode_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// The finished listpack.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(END);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(UNKNOWN_COUNT);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_round_trips() {
        let ints = [
            0i64,
            1,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        let strings: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
            vec![b'v'; 70_000],
        ];
        let mut lp = ListpackWriter::new();
        for &n in &ints {
            lp.push_int(n);
        }
        for s in &strings {
            lp.push_str(s);
        }
        let blob = lp.finish();
        let got = decode(&blob, 0).unwrap();
        let want: Vec<Element<'_>> = ints
            .iter()
            .map(|&n| Element::Int(n))
            .chain(strings.iter().map(|s| Element::Str(s)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn backlens_round_trip() {
        for size in [1, 127, 128, 16382, 16383, 2_097_150, 2_097_151, 268_435_455] {
            let mut out = Vec::new();
            encode_backlen(&mut out, size);
            assert_eq!(out.len(), backlen_size(size));
            assert_eq!(decode_backlen(&out), Some(size), "{size}");
        }
    }

    #[test]
    fn rejects_damage() {
        let mut lp = ListpackWriter::new();
        lp.push(b"hello");
        lp.push(b"12");
        let blob = lp.finish();
        assert!(decode(&blob[..blob.len() - 1], 0).is_err());
        let mut bad_count = blob.clone();
        bad_count[4] = 3;
        assert!(decode(&bad_count, 0).is_err());
        let mut bad_len = blob.clone();
        bad_len[6] = 0x80 | 40;
        let err = decode(&bad_len, 100).unwrap_err();
        assert_eq!(err.offset, 106);
        let mut bad_back = blob.clone();
        bad_back[12] = 9;
        assert!(decode(&bad_back, 0).is_err());
    }
}
