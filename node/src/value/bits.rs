//! The cores of Redis's bitmap commands on string values: `SETBIT`, `GETBIT`, `BITCOUNT`,
//! `BITPOS` and `BITOP` here, `BITFIELD`/`BITFIELD_RO` in [`bitfield`].
//!
//! Each command is split into a parser, which turns the arguments after the key into a typed
//! request or Redis's exact error reply, and an `apply`, which runs the request on the key's
//! string value: `Option<&[u8]>` for reads (`None` for a missing key), `&mut Vec<u8>` for writes
//! (an empty vector for a missing key), returning the reply and whether the value changed. Key
//! lookup, type checks (`WRONGTYPE`), storing and replication stay with the caller.
//!
//! Bit `n` of a string is bit `7 - n % 8` of byte `n / 8`: the first bit is the most
//! significant bit of the first byte (Redis `bitops.c`). Offsets that would address a byte at
//! or past `max_bytes` (the node's `proto-max-bulk-len`) are refused while parsing, before any
//! allocation, as Redis's `getBitOffsetFromArgument` does.

pub(crate) mod bitfield;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::parse_canonical_i64;

/// Redis's error for a bit offset that is not an integer, negative, or too large.
pub(crate) const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
/// Redis's error for a `SETBIT` value other than 0 or 1.
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
/// Redis's error for an argument that must be a 64-bit integer.
pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// Redis's generic syntax error.
pub(crate) const SYNTAX: &str = "ERR syntax error";
/// Redis's error for `BITPOS` with a bit other than 0 or 1.
const BITPOS_BIT_ERR: &str = "ERR The bit argument must be 1 or 0.";
/// Redis's error for `BITOP NOT` with several sources.
const BITOP_NOT_ERR: &str = "ERR BITOP NOT must be called with a single source key.";

/// Parses a 64-bit integer written as Redis's `string2ll` accepts it, or `err`.
pub(crate) fn int_arg(arg: &[u8], err: &'static str) -> Result<i64, Reply> {
    parse_canonical_i64(arg).ok_or(Reply::error(err))
}

/// Parses a bit offset: a non-negative integer whose byte (`offset / 8`) is below `max_bytes`.
/// With `width` (BITFIELD), `#n` means `n * width`. Source: Redis `getBitOffsetFromArgument`.
pub(crate) fn bit_offset(arg: &[u8], width: Option<u32>, max_bytes: u64) -> Result<u64, Reply> {
    let err = || Reply::error(BIT_OFFSET_ERR);
    let (digits, multiplier) = match (arg.strip_prefix(b"#"), width) {
        (Some(rest), Some(width)) => (rest, i64::from(width)),
        _ => (arg, 1),
    };
    let offset = parse_canonical_i64(digits)
        .ok_or_else(err)?
        .checked_mul(multiplier)
        .ok_or_else(err)?;
    let offset = u64::try_from(offset).map_err(|_| err())?;
    if offset >> 3 >= max_bytes {
        return Err(err());
    }
    Ok(offset)
}

/// Grows `value` with zero bytes so that bit `bit` exists; true if it grew. The caller has
/// bounded `bit` by `max_bytes` when parsing. Source: Redis `lookupStringForBitCommand`.
fn grow_for_bit(value: &mut Vec<u8>, bit: u64) -> bool {
    let needed = (bit >> 3) as usize + 1;
    if value.len() < needed {
        value.resize(needed, 0);
        true
    } else {
        false
    }
}

/// The value of bit `offset` in `data`, 0 past the end.
fn bit_at(data: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    data.get(byte)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// `SETBIT key offset value`: sets or clears one bit, growing the string with zero bytes.
/// Replies with the bit's previous value (`:0` or `:1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetBit {
    offset: u64,
    on: bool,
}

impl SetBit {
    /// Parses `[offset, value]`.
    ///
    /// # Errors
    /// `ERR bit offset is not an integer or out of range` for a bad or too large offset (checked
    /// first), `ERR bit is not an integer or out of range` for a value other than 0 or 1.
    pub(crate) fn parse(args: &[Bytes], max_bytes: u64) -> Result<SetBit, Reply> {
        let [offset, value] = args else {
            return Err(Reply::error(SYNTAX));
        };
        let offset = bit_offset(offset, None, max_bytes)?;
        let on = match int_arg(value, BIT_VALUE_ERR)? {
            0 => false,
            1 => true,
            _ => return Err(Reply::error(BIT_VALUE_ERR)),
        };
        Ok(SetBit { offset, on })
    }

    /// Applies the request; the value changed if it grew or the bit flipped (a missing key,
    /// passed as an empty vector, is always created).
    pub(crate) fn apply(&self, value: &mut Vec<u8>) -> (Reply, bool) {
        let grew = grow_for_bit(value, self.offset);
        let byte = &mut value[(self.offset >> 3) as usize];
        let mask = 0x80u8 >> (self.offset & 7);
        let old = *byte & mask != 0;
        if self.on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        (Reply::Int(i64::from(old)), grew || old != self.on)
    }
}

/// `GETBIT key offset`: the bit's value, 0 past the end or for a missing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GetBit {
    offset: u64,
}

impl GetBit {
    /// Parses `[offset]`.
    ///
    /// # Errors
    /// `ERR bit offset is not an integer or out of range`.
    pub(crate) fn parse(args: &[Bytes], max_bytes: u64) -> Result<GetBit, Reply> {
        let [offset] = args else {
            return Err(Reply::error(SYNTAX));
        };
        Ok(GetBit {
            offset: bit_offset(offset, None, max_bytes)?,
        })
    }

    /// Reads the bit: `:0` or `:1`.
    pub(crate) fn apply(&self, value: Option<&[u8]>) -> Reply {
        Reply::Int(i64::from(value.is_some_and(|v| bit_at(v, self.offset))))
    }
}

/// Whether a `BITCOUNT`/`BITPOS` range counts bytes (the default) or bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// `BYTE`: indexes are byte positions.
    Byte,
    /// `BIT`: indexes are bit positions.
    Bit,
}

fn parse_unit(arg: &[u8]) -> Result<Unit, Reply> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(Unit::Bit)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(Unit::Byte)
    } else {
        Err(Reply::error(SYNTAX))
    }
}

/// Resolves an inclusive `start..=end` range in `unit` over a string of `len` bytes to an
/// inclusive bit range, negative indexes counting from the end. `None` when empty. Source:
/// Redis `bitcountCommand`/`bitposCommand` (clamping).
fn bit_range(start: i64, end: i64, unit: Unit, len: usize) -> Option<(u64, u64)> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => (len as i64) << 3,
    };
    let mut start = if start < 0 { total + start } else { start };
    let mut end = if end < 0 { total + end } else { end };
    start = start.max(0);
    end = end.max(0).min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        Unit::Byte => (start << 3, (end << 3) | 7),
        Unit::Bit => (start, end),
    })
}

/// Number of set bits in `data`, a 64-bit word at a time.
pub(crate) fn popcount(data: &[u8]) -> u64 {
    let words = data.chunks_exact(8);
    let tail: u64 = words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum();
    words
        .map(|w| u64::from(u64::from_ne_bytes(w.try_into().expect("8 bytes")).count_ones()))
        .sum::<u64>()
        + tail
}

/// Number of set bits in the inclusive bit range `first..=last` of `data` (within bounds).
fn popcount_bits(data: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let head_mask = 0xffu8 >> (first & 7);
    let tail_mask = 0xffu8 << (7 - (last & 7));
    if fb == lb {
        return u64::from((data[fb] & head_mask & tail_mask).count_ones());
    }
    u64::from((data[fb] & head_mask).count_ones())
        + popcount(&data[fb + 1..lb])
        + u64::from((data[lb] & tail_mask).count_ones())
}

/// `BITCOUNT key [start end [BYTE|BIT]]`: the number of set bits in the string or a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitCount {
    /// The whole string.
    All,
    /// An inclusive range; negative indexes count from the end.
    Range { start: i64, end: i64, unit: Unit },
    /// Both indexes negative with `start > end`: Redis replies 0 before reading the unit.
    Empty,
}

impl BitCount {
    /// Parses `[]`, `[start, end]` or `[start, end, BYTE|BIT]`. Redis 7.2 parses only when the
    /// key exists ([`BitCount::reply`] keeps that order).
    ///
    /// # Errors
    /// `ERR value is not an integer or out of range` for `start`/`end`, `ERR syntax error` for
    /// another argument count or unit.
    pub(crate) fn parse(args: &[Bytes]) -> Result<BitCount, Reply> {
        match args {
            [] => Ok(BitCount::All),
            [start, end, rest @ ..] if rest.len() <= 1 => {
                let start = int_arg(start, NOT_INTEGER)?;
                let end = int_arg(end, NOT_INTEGER)?;
                if start < 0 && end < 0 && start > end {
                    return Ok(BitCount::Empty);
                }
                let unit = rest.first().map_or(Ok(Unit::Byte), |u| parse_unit(u))?;
                Ok(BitCount::Range { start, end, unit })
            }
            _ => Err(Reply::error(SYNTAX)),
        }
    }

    /// Counts in an existing string value.
    pub(crate) fn apply(&self, value: &[u8]) -> Reply {
        let count = match *self {
            BitCount::All => popcount(value),
            BitCount::Empty => 0,
            BitCount::Range { start, end, unit } => bit_range(start, end, unit, value.len())
                .map_or(0, |(first, last)| popcount_bits(value, first, last)),
        };
        Reply::Int(count as i64)
    }

    /// The whole command in Redis 7.2's order: a missing key replies 0 whatever the
    /// arguments; otherwise parse, then count.
    pub(crate) fn reply(value: Option<&[u8]>, args: &[Bytes]) -> Reply {
        match value {
            None => Reply::Int(0),
            Some(value) => BitCount::parse(args).map_or_else(|e| e, |req| req.apply(value)),
        }
    }
}

/// The first bit equal to `bit` in the inclusive bit range `first..=last` of `data` (within
/// bounds), skipping 64-bit words that cannot hold it.
fn find_bit(data: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    // Looking for a 0 is looking for a 1 in the inverted byte.
    let flip = if bit { 0 } else { 0xff };
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let head_mask = 0xffu8 >> (first & 7);
    let tail_mask = 0xffu8 << (7 - (last & 7));
    let hit = |index: usize, byte: u8| Some((index as u64) * 8 + u64::from(byte.leading_zeros()));
    if fb == lb {
        let byte = (data[fb] ^ flip) & head_mask & tail_mask;
        return if byte != 0 { hit(fb, byte) } else { None };
    }
    let byte = (data[fb] ^ flip) & head_mask;
    if byte != 0 {
        return hit(fb, byte);
    }
    let middle = &data[fb + 1..lb];
    let skip = if bit { 0 } else { u64::MAX };
    let mut words = middle.chunks_exact(8);
    let word_bytes = middle.len() - words.remainder().len();
    let start = words
        .position(|w| u64::from_ne_bytes(w.try_into().expect("8 bytes")) != skip)
        .map_or(word_bytes, |w| w * 8);
    for (i, &b) in middle.iter().enumerate().skip(start) {
        if b ^ flip != 0 {
            return hit(fb + 1 + i, b ^ flip);
        }
    }
    let byte = (data[lb] ^ flip) & tail_mask;
    if byte != 0 {
        hit(lb, byte)
    } else {
        None
    }
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`: the position of the first bit set to `bit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BitPos {
    bit: bool,
    start: Option<i64>,
    end: Option<i64>,
    unit: Unit,
}

impl BitPos {
    /// Parses `[bit]`, `[bit, start]`, `[bit, start, end]` or `[bit, start, end, BYTE|BIT]`.
    /// The bit is checked first; Redis 7.2 reads the range only when the key exists
    /// ([`BitPos::reply`] keeps that order), and reads the unit before `end`.
    ///
    /// # Errors
    /// `ERR value is not an integer or out of range`, `ERR The bit argument must be 1 or 0.`,
    /// `ERR syntax error`.
    pub(crate) fn parse_bit(args: &[Bytes]) -> Result<bool, Reply> {
        match int_arg(args.first().map_or(&b""[..], |b| b), NOT_INTEGER)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Reply::error(BITPOS_BIT_ERR)),
        }
    }

    /// Parses the whole argument list (see [`BitPos::parse_bit`] for the order).
    ///
    /// # Errors
    /// As [`BitPos::parse_bit`], then the range's integer and syntax errors.
    pub(crate) fn parse(args: &[Bytes]) -> Result<BitPos, Reply> {
        let bit = BitPos::parse_bit(args)?;
        let range = &args[1..];
        if range.len() > 3 {
            return Err(Reply::error(SYNTAX));
        }
        let start = range.first().map(|s| int_arg(s, NOT_INTEGER)).transpose()?;
        let unit = range.get(2).map_or(Ok(Unit::Byte), |u| parse_unit(u))?;
        let end = range.get(1).map(|e| int_arg(e, NOT_INTEGER)).transpose()?;
        Ok(BitPos {
            bit,
            start,
            end,
            unit,
        })
    }

    /// Searches an existing string value. A clear bit is found just past the end of the
    /// string (`len * 8`) unless an explicit `end` was given; -1 when nothing matches.
    pub(crate) fn apply(&self, value: &[u8]) -> Reply {
        let len = value.len();
        let range = match self.start {
            None => bit_range(0, -1, Unit::Byte, len),
            Some(start) => bit_range(start, self.end.unwrap_or(-1), self.unit, len),
        };
        let Some((first, last)) = range else {
            return Reply::Int(-1);
        };
        match find_bit(value, first, last, self.bit) {
            Some(pos) => Reply::Int(pos as i64),
            None if !self.bit && self.end.is_none() => Reply::Int(len as i64 * 8),
            None => Reply::Int(-1),
        }
    }

    /// The whole command in Redis 7.2's order: the bit argument, then a missing key (an
    /// endless run of zeros: 0 for a clear bit, -1 for a set bit), then the range.
    pub(crate) fn reply(value: Option<&[u8]>, args: &[Bytes]) -> Reply {
        let bit = match BitPos::parse_bit(args) {
            Ok(bit) => bit,
            Err(e) => return e,
        };
        match value {
            None => Reply::Int(if bit { -1 } else { 0 }),
            Some(value) => BitPos::parse(args).map_or_else(|e| e, |req| req.apply(value)),
        }
    }
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`: combines the sources into a string as long as
/// the longest (shorter ones read as zero-padded) stored at `destkey`; an empty result deletes
/// `destkey`. Replies with the result's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitOp {
    /// Bitwise AND.
    And,
    /// Bitwise OR.
    Or,
    /// Bitwise XOR.
    Xor,
    /// Bitwise NOT of a single source.
    Not,
}

impl BitOp {
    /// Parses the operation name given `sources` source keys.
    ///
    /// # Errors
    /// `ERR syntax error` for an unknown operation, `ERR BITOP NOT must be called with a single
    /// source key.` for NOT with several sources.
    pub(crate) fn parse(op: &[u8], sources: usize) -> Result<BitOp, Reply> {
        let op = if op.eq_ignore_ascii_case(b"and") {
            BitOp::And
        } else if op.eq_ignore_ascii_case(b"or") {
            BitOp::Or
        } else if op.eq_ignore_ascii_case(b"xor") {
            BitOp::Xor
        } else if op.eq_ignore_ascii_case(b"not") {
            BitOp::Not
        } else {
            return Err(Reply::error(SYNTAX));
        };
        if op == BitOp::Not && sources != 1 {
            return Err(Reply::error(BITOP_NOT_ERR));
        }
        Ok(op)
    }

    /// Computes the result from the source values (`None` for a missing key, read as empty);
    /// an empty result means "delete the destination". The reply is `:len`.
    pub(crate) fn apply(self, sources: &[Option<&[u8]>]) -> Vec<u8> {
        let srcs: Vec<&[u8]> = sources.iter().map(|s| s.unwrap_or_default()).collect();
        let max_len = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
        let Some((first, rest)) = srcs.split_first() else {
            return Vec::new();
        };
        let mut out = vec![0u8; max_len];
        out[..first.len()].copy_from_slice(first);
        if self == BitOp::Not {
            combine(&mut out, &[], |a, _| !a, |a, _| !a);
            return out;
        }
        for src in rest {
            let (head, tail) = out.split_at_mut(src.len());
            match self {
                BitOp::And => {
                    combine(head, src, |a, b| a & b, |a, b| a & b);
                    tail.fill(0);
                }
                BitOp::Or => combine(head, src, |a, b| a | b, |a, b| a | b),
                BitOp::Xor => combine(head, src, |a, b| a ^ b, |a, b| a ^ b),
                BitOp::Not => unreachable!("handled above"),
            }
        }
        out
    }
}

/// `out[i] = op(out[i], src[i])` a 64-bit word at a time (`src` empty: unary, reads zeros).
fn combine(out: &mut [u8], src: &[u8], word: fn(u64, u64) -> u64, byte: fn(u8, u8) -> u8) {
    let at = |i: usize| src.get(i).copied().unwrap_or(0);
    let mut chunks = out.chunks_exact_mut(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let a = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes"));
        let b = src
            .get(i..i + 8)
            .map_or(0, |s| u64::from_ne_bytes(s.try_into().expect("8 bytes")));
        chunk.copy_from_slice(&word(a, b).to_ne_bytes());
        i += 8;
    }
    for (j, out) in chunks.into_remainder().iter_mut().enumerate() {
        *out = byte(*out, at(i + j));
    }
}

#[cfg(test)]
mod tests;
