//! Stream entry IDs (`<ms>-<seq>`) and the ways commands spell them: `ms-seq`, `ms` (the
//! sequence filled in by context), `ms-*` and `*` (XADD), `-` and `+` (range ends), `(id`
//! (exclusive range ends), `$` and `>` (XREAD / XREADGROUP / XGROUP). Parsing follows
//! `streamGenericParseIDOrReply` in Redis's `t_stream.c`.

use std::fmt;

use bytes::Bytes;
use redoubt_protocol::Reply;

/// Redis's reply to an ID it cannot parse.
pub(crate) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// A stream entry ID: milliseconds and a sequence number, ordered as a pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct StreamId {
    /// Milliseconds part.
    pub(crate) ms: u64,
    /// Sequence part.
    pub(crate) seq: u64,
}

impl StreamId {
    /// `0-0`, the smallest ID (never a valid entry ID).
    pub(crate) const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// `18446744073709551615-18446744073709551615`, the largest ID.
    pub(crate) const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An ID from its two parts.
    pub(crate) const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID in order, or `None` past [`StreamId::MAX`] (`streamIncrID`).
    pub(crate) fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID in order, or `None` before `0-0` (`streamDecrID`).
    pub(crate) fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// True for `0-0`.
    pub(crate) fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The ID as `ms-seq` text.
    pub(crate) fn to_bytes(self) -> Bytes {
        let (mut ms, mut seq) = (itoa::Buffer::new(), itoa::Buffer::new());
        let (ms, seq) = (ms.format(self.ms), seq.format(self.seq));
        let mut out = Vec::with_capacity(ms.len() + 1 + seq.len());
        out.extend_from_slice(ms.as_bytes());
        out.push(b'-');
        out.extend_from_slice(seq.as_bytes());
        Bytes::from(out)
    }

    /// The ID as a bulk string reply.
    pub(crate) fn reply(self) -> Reply {
        Reply::Bulk(self.to_bytes())
    }

    /// Parses an ID that may be `-` or `+`; a bare `ms` gets `missing_seq`
    /// (`streamParseIDOrReply`).
    ///
    /// # Errors
    /// [`INVALID_ID`] for anything else that is not `ms` or `ms-seq`.
    pub(crate) fn parse(arg: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
        match arg {
            b"-" => Ok(StreamId::MIN),
            b"+" => Ok(StreamId::MAX),
            _ => StreamId::parse_strict(arg, missing_seq),
        }
    }

    /// Parses an ID that must be `ms` or `ms-seq` (`streamParseStrictIDOrReply`).
    ///
    /// # Errors
    /// [`INVALID_ID`], including for `-` and `+`.
    pub(crate) fn parse_strict(arg: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
        match parse_parts(arg, false) {
            Some((ms, Some(seq))) => Ok(StreamId::new(ms, seq)),
            Some((ms, None)) => Ok(StreamId::new(ms, missing_seq)),
            None => Err(Reply::error(INVALID_ID)),
        }
    }

    /// Parses a range end: `-`, `+`, `ms`, `ms-seq`, or one of the last two after `(` for an
    /// exclusive end (`streamParseIntervalIDOrReply`). Returns the ID and whether it is
    /// exclusive; the caller steps an exclusive end inward.
    ///
    /// # Errors
    /// [`INVALID_ID`].
    pub(crate) fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Reply> {
        if arg.len() > 1 && arg[0] == b'(' {
            Ok((StreamId::parse_strict(&arg[1..], missing_seq)?, true))
        } else {
            Ok((StreamId::parse(arg, missing_seq)?, false))
        }
    }

    /// The first ID of a range whose start is `arg` (`-`, `ms`, `ms-seq`, `(id`).
    ///
    /// # Errors
    /// [`INVALID_ID`]; `ERR invalid start ID for the interval` for `(` before the largest ID.
    pub(crate) fn parse_range_start(arg: &[u8]) -> Result<StreamId, Reply> {
        let (id, exclusive) = StreamId::parse_interval(arg, 0)?;
        if !exclusive {
            return Ok(id);
        }
        id.next()
            .ok_or(Reply::error("ERR invalid start ID for the interval"))
    }

    /// The last ID of a range whose end is `arg` (`+`, `ms`, `ms-seq`, `(id`).
    ///
    /// # Errors
    /// [`INVALID_ID`]; `ERR invalid end ID for the interval` for `(0-0`.
    pub(crate) fn parse_range_end(arg: &[u8]) -> Result<StreamId, Reply> {
        let (id, exclusive) = StreamId::parse_interval(arg, u64::MAX)?;
        if !exclusive {
            return Ok(id);
        }
        id.prev()
            .ok_or(Reply::error("ERR invalid end ID for the interval"))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The ID argument of `XADD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddId {
    /// `*`: the server picks the ID from the clock.
    Auto,
    /// `ms-*`: the server picks the sequence.
    AutoSeq(u64),
    /// `ms` or `ms-seq` (a bare `ms` means `ms-0`).
    Explicit(StreamId),
}

impl AddId {
    /// Parses XADD's ID argument.
    ///
    /// # Errors
    /// [`INVALID_ID`] (also for `-` and `+`).
    pub(crate) fn parse(arg: &[u8]) -> Result<AddId, Reply> {
        if arg == b"*" {
            return Ok(AddId::Auto);
        }
        match parse_parts(arg, true) {
            Some((ms, Some(seq))) => Ok(AddId::Explicit(StreamId::new(ms, seq))),
            Some((ms, None)) if arg.ends_with(b"-*") => Ok(AddId::AutoSeq(ms)),
            Some((ms, None)) => Ok(AddId::Explicit(StreamId::new(ms, 0))),
            None => Err(Reply::error(INVALID_ID)),
        }
    }
}

/// Splits `ms[-seq]` into its numbers; `ms-*` (allowed with `star_seq`) gives no sequence.
fn parse_parts(arg: &[u8], star_seq: bool) -> Option<(u64, Option<u64>)> {
    // Redis copies the argument into a 128-byte buffer and rejects longer ones.
    if arg.len() > 127 {
        return None;
    }
    match arg.iter().position(|&b| b == b'-') {
        None => Some((parse_u64(arg)?, None)),
        Some(dash) => {
            let ms = parse_u64(&arg[..dash])?;
            let seq = &arg[dash + 1..];
            if star_seq && seq == b"*" {
                Some((ms, None))
            } else {
                Some((ms, Some(parse_u64(seq)?)))
            }
        }
    }
}

/// An unsigned 64-bit decimal, as Redis's `string2ull` reads one (an optional `+`, leading zeros
/// allowed, no overflow).
fn parse_u64(text: &[u8]) -> Option<u64> {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    #[test]
    fn parses_the_forms_commands_accept() {
        assert_eq!(StreamId::parse(b"5-3", 0), Ok(id(5, 3)));
        assert_eq!(StreamId::parse(b"5", 0), Ok(id(5, 0)));
        assert_eq!(StreamId::parse(b"5", u64::MAX), Ok(id(5, u64::MAX)));
        assert_eq!(StreamId::parse(b"-", 7), Ok(StreamId::MIN));
        assert_eq!(StreamId::parse(b"+", 7), Ok(StreamId::MAX));
        assert_eq!(
            StreamId::parse(b"18446744073709551615-18446744073709551615", 0),
            Ok(StreamId::MAX)
        );
        for bad in [
            &b"18446744073709551616"[..],
            b"1-2-3",
            b"a",
            b"",
            b"1-",
            b"-1",
            b"1.5",
        ] {
            assert_eq!(
                StreamId::parse(bad, 0),
                Err(Reply::error(INVALID_ID)),
                "{bad:?}"
            );
        }
        assert!(StreamId::parse_strict(b"-", 0).is_err());
        assert!(StreamId::parse_strict(b"+", 0).is_err());
    }

    #[test]
    fn range_ends_step_inward_when_exclusive() {
        assert_eq!(StreamId::parse_range_start(b"(1-0"), Ok(id(1, 1)));
        assert_eq!(StreamId::parse_range_end(b"(2-0"), Ok(id(1, u64::MAX)));
        // A bare `ms` end means `ms-<max>`, so `(2` is `2-<max - 1>`.
        assert_eq!(StreamId::parse_range_end(b"(2"), Ok(id(2, u64::MAX - 1)));
        assert_eq!(StreamId::parse_range_end(b"2"), Ok(id(2, u64::MAX)));
        assert_eq!(
            StreamId::parse_range_end(b"(0-0"),
            Err(Reply::error("ERR invalid end ID for the interval"))
        );
        assert_eq!(
            StreamId::parse_range_start(b"(18446744073709551615-18446744073709551615"),
            Err(Reply::error("ERR invalid start ID for the interval"))
        );
        // `(-` and `(+` are strict IDs, hence invalid.
        assert!(StreamId::parse_range_start(b"(-").is_err());
        // A lone `(` is parsed as an ID, and is not one.
        assert!(StreamId::parse_range_start(b"(").is_err());
    }

    #[test]
    fn xadd_ids() {
        assert_eq!(AddId::parse(b"*"), Ok(AddId::Auto));
        assert_eq!(AddId::parse(b"7-*"), Ok(AddId::AutoSeq(7)));
        assert_eq!(AddId::parse(b"7"), Ok(AddId::Explicit(id(7, 0))));
        assert_eq!(AddId::parse(b"7-2"), Ok(AddId::Explicit(id(7, 2))));
        assert!(AddId::parse(b"*-1").is_err());
        assert!(AddId::parse(b"+").is_err());
    }

    #[test]
    fn steps_carry_between_parts() {
        assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
        assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::MIN.prev(), None);
        assert_eq!(id(3, 4).to_string(), "3-4");
    }
}
