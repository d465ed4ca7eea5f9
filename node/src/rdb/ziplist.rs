//! Ziplists (Redis `ziplist.c`), the compact encoding RDB files before version 10 use for small
//! lists, hashes and sorted sets. Only read: Redis 7 writes listpacks instead.
//!
//! Layout: total bytes (u32 LE), offset of the last entry (u32 LE), entry count (u16 LE, 65535
//! when unknown), the entries, end byte `0xFF`. An entry is the previous entry's length (1 byte,
//! or `0xFE` + u32 LE), an encoding, and data: `00xxxxxx` string ≤ 63 bytes, `01xxxxxx` + 1
//! byte string (14-bit length, big endian), `10000000` + u32 BE string; `0xC0` i16, `0xD0`
//! i32, `0xE0` i64, `0xF0` i24, `0xFE` i8 (little endian), `0xF1..=0xFD` the values 0..=12.

use super::{Element, ErrorKind, RdbError};

const HEADER: usize = 10;
const END: u8 = 0xff;

/// Decodes a whole ziplist found at file offset `base`.
///
/// # Errors
/// [`ErrorKind::Corrupt`] naming the offset of the first bad byte.
pub(crate) fn decode(blob: &[u8], base: usize) -> Result<Vec<Element<'_>>, RdbError> {
    let corrupt = |at: usize, reason| RdbError {
        offset: base + at,
        kind: ErrorKind::Corrupt("ziplist", reason),
    };
    if blob.len() < HEADER + 1 {
        return Err(corrupt(0, "shorter than its header"));
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err(corrupt(0, "header size differs from the blob size"));
    }
    let tail = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    let count = u16::from_le_bytes([blob[8], blob[9]]);
    let mut out = Vec::with_capacity(super::initial_capacity(usize::from(count)));
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last = HEADER;
    loop {
        let Some(&first) = blob.get(p) else {
            return Err(corrupt(p, "missing end byte"));
        };
        if first == END {
            break;
        }
        let (prevlen, header) = if first < 0xfe {
            (usize::from(first), 1)
        } else {
            let raw = blob
                .get(p + 1..p + 5)
                .ok_or_else(|| corrupt(p, "entry overruns the ziplist"))?;
            (
                u32::from_le_bytes(raw.try_into().expect("4 bytes")) as usize,
                5,
            )
        };
        if prevlen != prev_size {
            return Err(corrupt(p, "previous-entry length does not match"));
        }
        let (element, body) =
            entry(&blob[p + header..]).ok_or_else(|| corrupt(p, "entry overruns the ziplist"))?;
        out.push(element);
        last = p;
        prev_size = header + body;
        p += prev_size;
    }
    if p + 1 != blob.len() {
        return Err(corrupt(p, "bytes after the end byte"));
    }
    if tail != last {
        return Err(corrupt(4, "tail offset does not point at the last entry"));
    }
    if count != u16::MAX && usize::from(count) != out.len() {
        return Err(corrupt(8, "entry count differs from the entries"));
    }
    Ok(out)
}

/// The entry at the start of `p` (after its previous-length field), and its size.
fn entry(p: &[u8]) -> Option<(Element<'_>, usize)> {
    let b = *p.first()?;
    let int = |n: usize| -> Option<i64> {
        let data = p.get(1..1 + n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(data);
        let shift = 64 - 8 * n as u32;
        Some(i64::from_le_bytes(buf) << shift >> shift)
    };
    Some(match b >> 6 {
        0 => {
            let n = usize::from(b & 0x3f);
            (Element::Str(p.get(1..1 + n)?), 1 + n)
        }
        1 => {
            let n = (usize::from(b & 0x3f) << 8) | usize::from(*p.get(1)?);
            (Element::Str(p.get(2..2 + n)?), 2 + n)
        }
        2 => {
            if b != 0x80 {
                return None;
            }
            let n = u32::from_be_bytes(p.get(1..5)?.try_into().ok()?) as usize;
            (Element::Str(p.get(5..5usize.checked_add(n)?)?), 5 + n)
        }
        _ => match b {
            0xc0 => (Element::Int(int(2)?), 3),
            0xd0 => (Element::Int(int(4)?), 5),
            0xe0 => (Element::Int(int(8)?), 9),
            0xf0 => (Element::Int(int(3)?), 4),
            0xfe => (Element::Int(int(1)?), 2),
            0xf1..=0xfd => (Element::Int(i64::from(b & 0x0f) - 1), 1),
            _ => return None,
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ziplist the way Redis lays one out (test input for the decoders).
    pub(crate) fn build(items: &[Element<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut last = HEADER;
        for item in items {
            let start = body.len();
            last = HEADER + start;
            if prev < 0xfe {
                body.push(prev as u8);
            } else {
                body.push(0xfe);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match *item {
                Element::Int(n @ 0..=12) => body.push(0xf1 + n as u8),
                Element::Int(n) if i8::try_from(n).is_ok() => {
                    body.push(0xfe);
                    body.push(n as u8);
                }
                Element::Int(n) if i16::try_from(n).is_ok() => {
                    body.push(0xc0);
                    body.extend_from_slice(&(n as i16).to_le_bytes());
                }
                Element::Int(n) if (-(1 << 23)..1 << 23).contains(&n) => {
                    body.push(0xf0);
                    body.extend_from_slice(&n.to_le_bytes()[..3]);
                }
                Element::Int(n) if i32::try_from(n).is_ok() => {
                    body.push(0xd0);
                    body.extend_from_slice(&(n as i32).to_le_bytes());
                }
                Element::Int(n) => {
                    body.push(0xe0);
                    body.extend_from_slice(&n.to_le_bytes());
                }
                Element::Str(s) if s.len() < 64 => {
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Element::Str(s) if s.len() < 16384 => {
                    body.push(0x40 | (s.len() >> 8) as u8);
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Element::Str(s) => {
                    body.push(0x80);
                    body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    body.extend_from_slice(s);
                }
            }
            prev = body.len() - start;
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((HEADER + body.len() + 1) as u32).to_le_bytes());
        out.extend_from_slice(&(last as u32).to_le_bytes());
        out.extend_from_slice(&(items.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(END);
        out
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'q'; 300];
        let huge = vec![b'h'; 20_000];
        let items = [
            Element::Int(0),
            Element::Int(12),
            Element::Int(13),
            Element::Int(-128),
            Element::Int(300),
            Element::Int(-70_000),
            Element::Int(1 << 30),
            Element::Int(i64::MIN),
            Element::Str(b""),
            Element::Str(b"abc"),
            Element::Str(&long),
            Element::Str(&huge),
            Element::Str(b"after a long one"),
        ];
        assert_eq!(decode(&build(&items), 0).unwrap(), items);
        assert_eq!(decode(&build(&[]), 0).unwrap(), []);
    }

    #[test]
    fn rejects_damage() {
        let blob = build(&[Element::Str(b"one"), Element::Int(5)]);
        let mut bad_prev = blob.clone();
        bad_prev[HEADER + 5] = 9;
        assert!(decode(&bad_prev, 0).is_err());
        let mut bad_tail = blob.clone();
        bad_tail[4] = 0;
        assert!(decode(&bad_tail, 0).is_err());
        assert!(decode(&blob[..blob.len() - 1], 0).is_err());
    }
}
