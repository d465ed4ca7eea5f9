//! Zipmaps (Redis `zipmap.c`), the `HASH_ZIPMAP` encoding of RDB files older than Redis 2.6.
//! Only read. Layout: a count byte (254 or more: unknown), then per pair: key length, key,
//! value length, a "free" byte, the value and `free` unused bytes; then the end byte `0xFF`.
//! Lengths are one byte below 254, else `0xFE` and a u32 LE.

use super::{ErrorKind, RdbError};

const END: u8 = 0xff;

/// A field and its value, borrowed from the zipmap.
pub(crate) type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a zipmap found at file offset `base` into (field, value) pairs.
///
/// # Errors
/// [`ErrorKind::Corrupt`] naming the offset of the first bad byte.
pub(crate) fn decode(blob: &[u8], base: usize) -> Result<Vec<Pair<'_>>, RdbError> {
    let corrupt = |at: usize, reason| RdbError {
        offset: base + at,
        kind: ErrorKind::Corrupt("zipmap", reason),
    };
    let overrun = |at: usize| corrupt(at, "entry overruns the zipmap");
    let Some(&count) = blob.first() else {
        return Err(corrupt(0, "empty blob"));
    };
    let length = |p: &mut usize| -> Result<usize, RdbError> {
        let first = *blob.get(*p).ok_or_else(|| overrun(*p))?;
        match first {
            0..=253 => {
                *p += 1;
                Ok(usize::from(first))
            }
            254 => {
                let raw = blob.get(*p + 1..*p + 5).ok_or_else(|| overrun(*p))?;
                *p += 5;
                Ok(u32::from_le_bytes(raw.try_into().expect("4 bytes")) as usize)
            }
            _ => Err(corrupt(*p, "end byte where a length belongs")),
        }
    };
    let mut out = Vec::new();
    let mut p = 1;
    loop {
        match blob.get(p) {
            None => return Err(corrupt(p, "missing end byte")),
            Some(&END) => break,
            Some(_) => {}
        }
        let key_len = length(&mut p)?;
        let key = blob
            .get(p..p.saturating_add(key_len))
            .ok_or_else(|| overrun(p))?;
        p += key_len;
        let value_len = length(&mut p)?;
        let free = usize::from(*blob.get(p).ok_or_else(|| overrun(p))?);
        p += 1;
        let value = blob
            .get(p..p.saturating_add(value_len))
            .ok_or_else(|| overrun(p))?;
        p += value_len + free;
        out.push((key, value));
    }
    if p + 1 != blob.len() {
        return Err(corrupt(p, "bytes after the end byte"));
    }
    if count < 254 && usize::from(count) != out.len() {
        return Err(corrupt(0, "pair count differs from the entries"));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A zipmap of `pairs`, each value followed by `free` spare bytes.
    pub(crate) fn build(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
        let mut out = vec![pairs.len() as u8];
        let len = |out: &mut Vec<u8>, n: usize| {
            if n < 254 {
                out.push(n as u8);
            } else {
                out.push(254);
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        for (k, v) in pairs {
            len(&mut out, k.len());
            out.extend_from_slice(k);
            len(&mut out, v.len());
            out.push(free);
            out.extend_from_slice(v);
            out.extend(std::iter::repeat_n(0, usize::from(free)));
        }
        out.push(END);
        out
    }

    #[test]
    fn decodes_pairs() {
        let long = vec![b'v'; 400];
        let pairs: [(&[u8], &[u8]); 3] = [(b"a", b"1"), (b"field", &long), (b"", b"empty key")];
        assert_eq!(decode(&build(&pairs, 2), 0).unwrap(), pairs);
    }

    #[test]
    fn rejects_damage() {
        let blob = build(&[(b"a", b"1")], 0);
        assert!(decode(&blob[..blob.len() - 1], 0).is_err());
        let mut bad = blob.clone();
        bad[1] = 50;
        assert!(decode(&bad, 0).is_err());
    }
}
