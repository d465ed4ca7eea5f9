//! Reading entries: XRANGE, XREVRANGE and XREAD (one stream at a time; the caller gathers
//! several streams into XREAD's reply and handles BLOCK).
//!
//! An entry replies as `[id, [field, value, ...]]`. `XRANGE key start end [COUNT n]` replies an
//! array of entries; `XREAD [COUNT n] [BLOCK ms] STREAMS key... id...` replies, per stream with
//! something to serve, `[key, entries]` (RESP2 array of pairs; RESP3 a map key → entries), or a
//! null array when no stream has anything.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::args::{self, is, SYNTAX};
use super::entries::Entry;
use super::id::StreamId;
use super::StreamValue;

/// An entry as Redis replies it: `[id, [field, value, ...]]`.
pub(crate) fn entry_reply(entry: &Entry<'_>) -> Reply {
    let mut items = Vec::with_capacity(entry.fields.len() * 2);
    for (field, value) in &entry.fields {
        items.push(Reply::bulk(field));
        items.push(Reply::bulk(value));
    }
    Reply::Array(vec![entry.id.reply(), Reply::Array(items)])
}

/// Replies for the live entries in `start..=end`, at most `count` of them (0: all).
pub(crate) fn range_reply(
    stream: &StreamValue,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: u64,
) -> Vec<Reply> {
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    // Every ID text, field and value goes into one buffer and each bulk reply is a slice of
    // it: one allocation for the bytes of the whole range instead of one per string.
    let mut text = bytes::BytesMut::new();
    let mut shapes: Vec<usize> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut digits = itoa::Buffer::new();
    for entry in stream.range(start, end, rev).take(limit) {
        text.extend_from_slice(digits.format(entry.id.ms).as_bytes());
        text.extend_from_slice(b"-");
        text.extend_from_slice(digits.format(entry.id.seq).as_bytes());
        ends.push(text.len());
        for (field, value) in &entry.fields {
            text.extend_from_slice(field);
            ends.push(text.len());
            text.extend_from_slice(value);
            ends.push(text.len());
        }
        shapes.push(entry.fields.len() * 2);
    }
    let text = text.freeze();
    let mut from = 0;
    let mut next = ends.iter().copied();
    let mut slice = || {
        let to = next.next().expect("one end per string");
        let bulk = Reply::Bulk(text.slice(from..to));
        from = to;
        bulk
    };
    shapes
        .iter()
        .map(|&strings| {
            let id = slice();
            let items = (0..strings).map(|_| slice()).collect();
            Reply::Array(vec![id, Reply::Array(items)])
        })
        .collect()
}

/// A parsed XRANGE or XREVRANGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct XRangeRequest {
    /// Smallest ID to return.
    pub(crate) start: StreamId,
    /// Largest ID to return.
    pub(crate) end: StreamId,
    /// COUNT, `None` when not given.
    pub(crate) count: Option<u64>,
    /// XREVRANGE: newest first.
    pub(crate) rev: bool,
}

impl XRangeRequest {
    /// Parses the arguments after the key: `start end [COUNT n]`, or `end start [COUNT n]` for
    /// XREVRANGE (`xrangeGenericCommand`).
    ///
    /// # Errors
    /// Redis's ID, interval, integer and syntax errors.
    pub(crate) fn parse(args: &[Bytes], rev: bool) -> Result<XRangeRequest, Reply> {
        if args.len() < 2 {
            let name = if rev { "xrevrange" } else { "xrange" };
            return Err(Reply::error_owned(redoubt_protocol::errors::wrong_arity(
                name,
            )));
        }
        let (start_arg, end_arg) = if rev {
            (&args[1], &args[0])
        } else {
            (&args[0], &args[1])
        };
        let start = StreamId::parse_range_start(start_arg)?;
        let end = StreamId::parse_range_end(end_arg)?;
        let mut count = None;
        let mut i = 2;
        while i < args.len() {
            if is(&args[i], "count") && i + 1 < args.len() {
                count = Some(args::int(&args[i + 1])?.max(0) as u64);
                i += 2;
            } else {
                return Err(Reply::error(SYNTAX));
            }
        }
        Ok(XRangeRequest {
            start,
            end,
            count,
            rev,
        })
    }
}

/// XRANGE / XREVRANGE: an empty array for a missing key; a null array for `COUNT 0`.
pub(crate) fn xrange(req: &XRangeRequest, stream: Option<&StreamValue>) -> Reply {
    let Some(stream) = stream else {
        return Reply::Array(Vec::new());
    };
    match req.count {
        Some(0) => Reply::NullArray,
        count => Reply::Array(range_reply(
            stream,
            req.start,
            req.end,
            req.rev,
            count.unwrap_or(0),
        )),
    }
}

/// Where XREAD / XREADGROUP start reading one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadStart {
    /// `$` (XREAD): after the stream's last ID at the time of the call.
    Last,
    /// `>` (XREADGROUP): entries never delivered to the group.
    New,
    /// Entries after this ID (XREADGROUP: the consumer's pending entries after it).
    After(StreamId),
}

impl ReadStart {
    /// Parses one ID of the STREAMS list (`xreadCommand`).
    ///
    /// # Errors
    /// Redis's texts for `$` in XREADGROUP, `>` in XREAD, and invalid IDs.
    pub(crate) fn parse(arg: &[u8], group: bool) -> Result<ReadStart, Reply> {
        match arg {
            b"$" if group => Err(Reply::error(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            )),
            b"$" => Ok(ReadStart::Last),
            b">" if group => Ok(ReadStart::New),
            b">" => Err(Reply::error(
                "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            )),
            // Redis reads the largest ID as `>` (it encodes `>` that way).
            _ => match StreamId::parse_strict(arg, 0)? {
                StreamId::MAX if group => Ok(ReadStart::New),
                id => Ok(ReadStart::After(id)),
            },
        }
    }

    /// The ID reading starts after, for XREAD (`$` on a missing key is 0-0).
    pub(crate) fn resolve(self, stream: Option<&StreamValue>) -> StreamId {
        match self {
            ReadStart::Last => stream.map_or(StreamId::MIN, StreamValue::last_id),
            ReadStart::New => StreamId::MAX,
            ReadStart::After(id) => id,
        }
    }
}

/// A parsed XREAD or XREADGROUP: options and the STREAMS list, IDs still raw because they are
/// checked key by key together with the key lookups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XReadRequest {
    /// COUNT (0: no limit).
    pub(crate) count: u64,
    /// BLOCK in milliseconds (0: forever).
    pub(crate) block_ms: Option<u64>,
    /// GROUP group consumer (XREADGROUP).
    pub(crate) group: Option<(Bytes, Bytes)>,
    /// NOACK (XREADGROUP).
    pub(crate) noack: bool,
    /// The keys.
    pub(crate) keys: Vec<Bytes>,
    /// The IDs, one per key.
    pub(crate) ids: Vec<Bytes>,
}

impl XReadRequest {
    /// Parses all arguments after the command name; `group` for XREADGROUP.
    ///
    /// # Errors
    /// Redis's texts (syntax, unbalanced list, GROUP/NOACK in XREAD, missing GROUP, timeouts).
    pub(crate) fn parse(args: &[Bytes], group: bool) -> Result<XReadRequest, Reply> {
        let mut req = XReadRequest {
            count: 0,
            block_ms: None,
            group: None,
            noack: false,
            keys: Vec::new(),
            ids: Vec::new(),
        };
        let mut streams_at = None;
        let mut i = 0;
        while i < args.len() {
            let more = args.len() - 1 - i;
            let opt = &args[i];
            if is(opt, "block") && more > 0 {
                i += 1;
                let ms = args::int_or(&args[i], "ERR timeout is not an integer or out of range")?;
                if ms < 0 {
                    return Err(Reply::error("ERR timeout is negative"));
                }
                req.block_ms = Some(ms as u64);
            } else if is(opt, "count") && more > 0 {
                i += 1;
                req.count = args::int(&args[i])?.max(0) as u64;
            } else if is(opt, "streams") && more > 0 {
                let rest = args.len() - i - 1;
                if rest % 2 != 0 {
                    let (name, symbol) = if group {
                        ("xreadgroup", '>')
                    } else {
                        ("xread", '$')
                    };
                    return Err(Reply::error_owned(format!(
                        "ERR Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."
                    )));
                }
                streams_at = Some(i + 1);
                break;
            } else if is(opt, "group") && more >= 2 {
                if !group {
                    return Err(Reply::error(
                        "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                req.group = Some((args[i + 1].clone(), args[i + 2].clone()));
                i += 2;
            } else if is(opt, "noack") {
                if !group {
                    return Err(Reply::error(
                        "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                req.noack = true;
            } else {
                return Err(Reply::error(SYNTAX));
            }
            i += 1;
        }
        let Some(at) = streams_at else {
            return Err(Reply::error(SYNTAX));
        };
        if group && req.group.is_none() {
            return Err(Reply::error("ERR Missing GROUP option for XREADGROUP"));
        }
        let half = (args.len() - at) / 2;
        req.keys = args[at..at + half].to_vec();
        req.ids = args[at + half..].to_vec();
        Ok(req)
    }
}

/// XREAD for one stream: its entries after `after` (at most `count`, 0: all), or `None` when it
/// has nothing newer (the stream is then left out of the reply, or the client blocks).
pub(crate) fn xread_one(stream: &StreamValue, after: StreamId, count: u64) -> Option<Reply> {
    let newest = stream.last_entry_id()?;
    if newest <= after {
        return None;
    }
    let start = after.next()?;
    Some(Reply::Array(range_reply(
        stream,
        start,
        StreamId::MAX,
        false,
        count,
    )))
}
