//! A packed run of byte strings in one exactly sized allocation: the flat form small hashes
//! and sets take, as Redis's `listpack` does. Each string is preceded by its length in LEB128
//! (one byte below 128), so a 10-byte string costs 11 bytes and no allocation of its own.
//! Lookups walk the run; every change rebuilds it at its new exact size, which is cheap while
//! the run is small (the owners convert to a hash table past their size limits).

use std::ops::Range;

use super::varint;

/// Byte strings laid end to end, each after its LEB128 length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pack {
    buf: Box<[u8]>,
}

impl Pack {
    /// Bytes the run occupies.
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// The strings, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.spans().map(|(_, item)| item)
    }

    /// The strings with the byte range each occupies (length prefix included), in order.
    pub(crate) fn spans(&self) -> Spans<'_> {
        Spans {
            buf: &self.buf,
            at: 0,
        }
    }

    /// Appends `items`.
    pub(crate) fn push(&mut self, items: &[&[u8]]) {
        let end = self.buf.len();
        self.splice(end..end, items);
    }

    /// Replaces the bytes `range` (which must start and end on string boundaries, as
    /// [`Pack::spans`] reports them) with `items`, reallocating to the exact new size.
    pub(crate) fn splice(&mut self, range: Range<usize>, items: &[&[u8]]) {
        let added: usize = items.iter().map(|i| prefix_len(i.len()) + i.len()).sum();
        let mut out = Vec::with_capacity(self.buf.len() - range.len() + added);
        out.extend_from_slice(&self.buf[..range.start]);
        for item in items {
            put_len(&mut out, item.len());
            out.extend_from_slice(item);
        }
        out.extend_from_slice(&self.buf[range.end..]);
        self.buf = out.into_boxed_slice();
    }

    /// Overwrites the string occupying `span` with `item` of the same length, in place.
    pub(crate) fn overwrite(&mut self, span: Range<usize>, item: &[u8]) {
        let start = span.end - item.len();
        self.buf[start..span.end].copy_from_slice(item);
    }
}

/// Iterator over a [`Pack`]'s strings and their byte ranges.
#[derive(Clone, Debug)]
pub(crate) struct Spans<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Spans<'a> {
    type Item = (Range<usize>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.at;
        if start >= self.buf.len() {
            return None;
        }
        let mut i = start;
        let len = varint::get(self.buf, &mut i) as usize;
        self.at = i + len;
        Some((start..self.at, &self.buf[i..self.at]))
    }
}

/// Bytes the LEB128 length of an `n`-byte string takes.
fn prefix_len(n: usize) -> usize {
    varint::len(n as u64)
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    varint::put(out, n as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_of_every_length_round_trip_and_splice() {
        let long = vec![b'x'; 300];
        let mut pack = Pack::default();
        pack.push(&[b"", b"a", &long, &[7u8; 127], &[8u8; 128]]);
        assert_eq!(pack.bytes(), 1 + 2 + 302 + 128 + 130);
        let got: Vec<&[u8]> = pack.iter().collect();
        assert_eq!(got, [&b""[..], b"a", &long, &[7u8; 127], &[8u8; 128]]);

        let spans: Vec<_> = pack.spans().map(|(r, _)| r).collect();
        pack.splice(spans[1].start..spans[2].end, &[b"mid"]);
        let got: Vec<&[u8]> = pack.iter().collect();
        assert_eq!(got, [&b""[..], b"mid", &[7u8; 127], &[8u8; 128]]);
        let (span, _) = pack.spans().nth(1).unwrap();
        pack.overwrite(span, b"MID");
        assert_eq!(pack.iter().nth(1), Some(&b"MID"[..]));
        assert_eq!(prefix_len(0), 1);
        assert_eq!(prefix_len(16384), 3);
    }
}
