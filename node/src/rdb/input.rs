//! A cursor over RDB bytes: the primitive encodings every record is built from (lengths,
//! strings with their integer and LZF forms, doubles), each failure naming its byte offset.
//!
//! Lengths (Redis `rdbLoadLenByRef`): the top two bits of the first byte select 6 bits, 14 bits
//! (big endian), or a following 32/64-bit big-endian integer (`0x80`/`0x81`); `11` marks a
//! specially encoded string: an 8/16/32-bit little-endian integer or an LZF block.

use super::{lzf, ErrorKind, RdbError};

/// Special string encodings (the low six bits after a `11` length prefix).
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// A length, or the marker of a specially encoded string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Length {
    Plain(u64),
    Encoded(u8),
}

/// Reads from a byte slice; `base` is the offset of `data[0]` in the whole file, so errors
/// inside an embedded blob still name a file offset.
pub(crate) struct Input<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`, which begins at file offset `base`.
    pub(crate) fn new(data: &'a [u8], base: usize) -> Self {
        Input { data, pos: 0, base }
    }

    /// The file offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Everything read so far.
    pub(crate) fn consumed(&self) -> &'a [u8] {
        &self.data[..self.pos]
    }

    /// An error of `kind` at the current offset.
    pub(crate) fn error(&self, kind: ErrorKind) -> RdbError {
        RdbError {
            offset: self.offset(),
            kind,
        }
    }

    /// An error of `kind` at file offset `offset`.
    pub(crate) fn error_at(&self, offset: usize, kind: ErrorKind) -> RdbError {
        RdbError { offset, kind }
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() {
            return Err(self.error(ErrorKind::Truncated(what)));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, RdbError> {
        Ok(self.bytes(1, what)?[0])
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], RdbError> {
        Ok(self.bytes(N, what)?.try_into().expect("length checked"))
    }

    /// A length or a special-encoding marker.
    pub(crate) fn length_or_encoding(&mut self) -> Result<Length, RdbError> {
        let first = self.u8("length")?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => {
                let second = self.u8("length")?;
                Length::Plain(u64::from(first & 0x3f) << 8 | u64::from(second))
            }
            2 => match first {
                0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.array("length")?))),
                0x81 => Length::Plain(u64::from_be_bytes(self.array("length")?)),
                _ => {
                    return Err(self.error_at(
                        self.offset() - 1,
                        ErrorKind::Corrupt("length", "unknown length prefix"),
                    ))
                }
            },
            _ => Length::Encoded(first & 0x3f),
        })
    }

    /// A plain length.
    pub(crate) fn length(&mut self) -> Result<u64, RdbError> {
        let at = self.offset();
        match self.length_or_encoding()? {
            Length::Plain(n) => Ok(n),
            Length::Encoded(_) => Err(self.error_at(
                at,
                ErrorKind::Corrupt("length", "string encoding where a length belongs"),
            )),
        }
    }

    /// A length that counts items each taking at least `min_bytes` bytes of what remains; a
    /// count the input cannot hold is rejected before anything is allocated for it.
    pub(crate) fn count(
        &mut self,
        min_bytes: usize,
        what: &'static str,
    ) -> Result<usize, RdbError> {
        let at = self.offset();
        let n = self.length()?;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(min_bytes) <= self.remaining() => Ok(n),
            _ => Err(self.error_at(at, ErrorKind::Truncated(what))),
        }
    }

    /// A string in any of its encodings. Plain strings borrow from the input; integer and
    /// LZF forms are materialised.
    pub(crate) fn string(&mut self) -> Result<std::borrow::Cow<'a, [u8]>, RdbError> {
        use std::borrow::Cow;
        let at = self.offset();
        match self.length_or_encoding()? {
            Length::Plain(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                Ok(Cow::Borrowed(self.bytes(n, "string")?))
            }
            Length::Encoded(ENC_INT8) => {
                let v = i8::from_le_bytes(self.array("integer string")?);
                Ok(Cow::Owned(
                    itoa::Buffer::new().format(v).as_bytes().to_vec(),
                ))
            }
            Length::Encoded(ENC_INT16) => {
                let v = i16::from_le_bytes(self.array("integer string")?);
                Ok(Cow::Owned(
                    itoa::Buffer::new().format(v).as_bytes().to_vec(),
                ))
            }
            Length::Encoded(ENC_INT32) => {
                let v = i32::from_le_bytes(self.array("integer string")?);
                Ok(Cow::Owned(
                    itoa::Buffer::new().format(v).as_bytes().to_vec(),
                ))
            }
            Length::Encoded(ENC_LZF) => {
                let compressed = self.length()?;
                let plain = self.length()?;
                let compressed = usize::try_from(compressed).unwrap_or(usize::MAX);
                let plain = usize::try_from(plain).unwrap_or(usize::MAX);
                let block_at = self.offset();
                let block = self.bytes(compressed, "lzf string")?;
                lzf::decompress(block, plain).map(Cow::Owned).map_err(|e| {
                    self.error_at(block_at, ErrorKind::Corrupt("lzf string", e.reason()))
                })
            }
            Length::Encoded(_) => {
                Err(self.error_at(at, ErrorKind::Corrupt("string", "unknown string encoding")))
            }
        }
    }

    /// A string as owned shared bytes.
    pub(crate) fn bytes_value(&mut self) -> Result<bytes::Bytes, RdbError> {
        Ok(match self.string()? {
            std::borrow::Cow::Borrowed(b) => bytes::Bytes::copy_from_slice(b),
            std::borrow::Cow::Owned(v) => bytes::Bytes::from(v),
        })
    }

    /// An 8-byte little-endian IEEE double (`ZSET_2` scores).
    pub(crate) fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array("double")?))
    }

    /// A double as text with a 1-byte length; 253, 254, 255 stand for NaN, +inf, -inf (the old
    /// `ZSET` encoding, Redis `rdbLoadDoubleValue`).
    pub(crate) fn text_double(&mut self) -> Result<f64, RdbError> {
        let at = self.offset();
        match self.u8("double")? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.bytes(usize::from(n), "double")?;
                std::str::from_utf8(text)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or_else(|| self.error_at(at, ErrorKind::Corrupt("double", "not a number")))
            }
        }
    }
}
