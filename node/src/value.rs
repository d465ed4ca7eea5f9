//! The values a key can hold, and their Redis type and encoding names. Each collection type
//! lives in its own module; a collection key exists only while it holds at least one element.

pub(crate) mod bits;
pub(crate) mod compact;
pub(crate) mod geo;
pub(crate) mod hash;
pub(crate) mod hll;
pub(crate) mod lcs;
pub(crate) mod list;
mod pack;
pub(crate) mod set;
pub(crate) mod stream;
pub(crate) mod table;
mod varint;
pub(crate) mod zset;

use bytes::Bytes;

pub(crate) use compact::CompactBytes;
pub(crate) use hash::{HashLimits, HashValue};
pub(crate) use list::ListValue;
pub(crate) use set::{SetLimits, SetValue};
pub(crate) use stream::StreamValue;
pub(crate) use zset::ZSetValue;

/// A value stored under a key: 24 bytes. Collections are boxed so a key holding a short string
/// (most keys) costs no more than the string needs; the enum's tag shares the string's tag
/// byte, so it costs nothing either.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A string (Redis type `string`).
    Str(RString),
    /// A hash of field → value (Redis type `hash`).
    Hash(Box<HashValue>),
    /// A list (Redis type `list`).
    List(Box<ListValue>),
    /// A set (Redis type `set`).
    Set(Box<SetValue>),
    /// A sorted set (Redis type `zset`).
    ZSet(Box<ZSetValue>),
    /// A stream with its consumer groups (Redis type `stream`). Unlike the other collections,
    /// a stream key outlives its last entry (XDEL and XTRIM leave it in place).
    Stream(Box<StreamValue>),
}

impl Value {
    /// The Redis type name, as `TYPE` prints it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The internal encoding name, as `OBJECT ENCODING` prints it.
    pub(crate) fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }
}

/// A string value (Redis type `string`). A string written whole (`SET`, `INCR`...) is a
/// [`CompactBytes`]: up to 22 bytes inline in the value, longer in an exact-size buffer. A
/// string modified in place (`APPEND`, `SETRANGE`) switches to a growable buffer so repeated
/// appends cost amortised O(1), as Redis's `raw` strings do; that buffer sits behind a pointer
/// so a string, and so a [`Value`], stays 24 bytes.
#[derive(Clone, Debug)]
pub(crate) enum RString {
    /// Written whole; reported as `int`, `embstr` or `raw` by content and length.
    Compact(CompactBytes),
    /// Modified in place (`APPEND`, `SETRANGE`, results of `BITOP` and the `PF*` commands);
    /// always reported as `raw`.
    #[allow(clippy::box_collection)] // Boxed so the enum stays 24 bytes; rare and long-lived.
    Growable(Box<Vec<u8>>),
}

const _: () = assert!(std::mem::size_of::<RString>() == 24);
const _: () = assert!(std::mem::size_of::<Value>() == 24);

/// Longest string Redis stores with the `embstr` encoding (bytes).
const EMBSTR_MAX_LEN: usize = 44;

impl RString {
    /// A string written whole holding a copy of `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> RString {
        RString::Compact(CompactBytes::from(bytes))
    }

    /// A growable (`raw`) string taking `bytes` over.
    pub(crate) fn growable(bytes: Vec<u8>) -> RString {
        RString::Growable(Box::new(bytes))
    }

    /// The string's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            RString::Compact(b) => b,
            RString::Growable(v) => v,
        }
    }

    /// A shared copy of the string (for a reply: one allocation and copy, as Redis copies a
    /// value into its reply buffer).
    pub(crate) fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Bytes of heap the string holds beyond the value itself (0 when inline): the exact
    /// length of a long whole string, the capacity and header of a growable one.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            RString::Compact(b) if b.is_heap() => b.len(),
            RString::Compact(_) => 0,
            RString::Growable(v) => v.capacity() + std::mem::size_of::<Vec<u8>>(),
        }
    }

    /// A growable buffer holding the string, converting it in place if needed.
    pub(crate) fn make_growable(&mut self) -> &mut Vec<u8> {
        if let RString::Compact(b) = self {
            *self = RString::growable(b.to_vec());
        }
        match self {
            RString::Growable(v) => v,
            RString::Compact(_) => unreachable!("converted above"),
        }
    }

    /// `int` when the string is the canonical text of a 64-bit integer, else `embstr` up to 44
    /// bytes, else `raw` (Redis's rules for `OBJECT ENCODING`).
    pub(crate) fn encoding(&self) -> &'static str {
        match self {
            RString::Growable(_) => "raw",
            RString::Compact(b) if parse_canonical_i64(b).is_some() => "int",
            RString::Compact(b) if b.len() <= EMBSTR_MAX_LEN => "embstr",
            RString::Compact(_) => "raw",
        }
    }
}

impl From<Bytes> for RString {
    fn from(bytes: Bytes) -> Self {
        RString::new(&bytes)
    }
}

impl From<&[u8]> for RString {
    fn from(bytes: &[u8]) -> Self {
        RString::new(bytes)
    }
}

impl PartialEq for RString {
    /// Equal when the bytes are, whatever the representation.
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Parses `text` as a signed 64-bit integer written the way Redis writes one: optional `-`,
/// no leading zeros, no `+`, no spaces, at most 20 bytes. Source: Redis `util.c`, `string2ll`.
pub(crate) fn parse_canonical_i64(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || text.len() > 1) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Prints the result of `INCRBYFLOAT`/`HINCRBYFLOAT` as Redis does: plain decimal, no
/// exponent, no trailing zeros. Redis adds in `long double`, where `0.1 + 0.2` prints as `0.3`;
/// with `f64` the sum carries an error in its last bits, so a value within a few ulps of a
/// 15-significant-digit decimal is printed as that decimal.
pub(crate) fn format_float_sum(value: f64) -> String {
    let rounded: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    let close = (rounded - value).abs() <= 4.0 * f64::EPSILON * value.abs();
    let value = if close { rounded } else { value };
    if value == 0.0 {
        "0".to_string()
    } else {
        format!("{value}")
    }
}

/// Parses `text` as a double the way Redis's `string2ld`/`strtold` callers accept it: decimal or
/// exponent notation, `inf`/`-inf`, no spaces; NaN is rejected.
pub(crate) fn parse_f64(text: &[u8]) -> Option<f64> {
    if text.is_empty()
        || text[0].is_ascii_whitespace()
        || text[text.len() - 1].is_ascii_whitespace()
    {
        return None;
    }
    let s = std::str::from_utf8(text).ok()?;
    let value = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if !s
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            {
                return None;
            }
            s.parse().ok()?
        }
    };
    (!value.is_nan()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        assert_eq!(parse_canonical_i64(b"123"), Some(123));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        for bad in [
            &b"01"[..],
            b"-0",
            b"+1",
            b" 1",
            b"",
            b"-",
            b"9223372036854775808",
            b"1.0",
        ] {
            assert_eq!(
                parse_canonical_i64(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn string_encodings() {
        assert_eq!(RString::new(b"12").encoding(), "int");
        assert_eq!(RString::new(b"hello").encoding(), "embstr");
        assert_eq!(RString::new(&[b'x'; 44]).encoding(), "embstr");
        assert_eq!(RString::new(&[b'x'; 45]).encoding(), "raw");
        assert_eq!(RString::growable(b"12".to_vec()).encoding(), "raw");
    }

    #[test]
    fn strings_compare_by_content_and_grow_in_place() {
        let mut s = RString::new(b"abc");
        assert_eq!(s, RString::growable(b"abc".to_vec()));
        assert_eq!(s.heap_bytes(), 0);
        s.make_growable().extend_from_slice(&[b'd'; 100]);
        assert_eq!(s.len(), 103);
        assert_eq!(&s.as_bytes()[..4], b"abcd");
        assert!(s.heap_bytes() >= 103);
        assert_eq!(RString::new(&[b'x'; 30]).heap_bytes(), 30);
        assert_eq!(RString::from(Bytes::from_static(b"v")).to_bytes(), "v");
    }

    #[test]
    fn sums_print_like_long_doubles() {
        assert_eq!(format_float_sum(0.1 + 0.2), "0.3");
        assert_eq!(format_float_sum(10.5 + 0.1), "10.6");
        assert_eq!(format_float_sum(5200.0), "5200");
        assert_eq!(format_float_sum(-0.0), "0");
        assert_eq!(format_float_sum(1e-7), "0.0000001");
        assert_eq!(format_float_sum(17179869185.5), "17179869185.5");
        assert_eq!(format_float_sum(1.0 / 3.0), "0.3333333333333333");
    }

    #[test]
    fn doubles() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
    }
}
