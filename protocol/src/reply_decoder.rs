//! Reading a node's replies: [`ReplyDecoder`] splits a byte stream into whole RESP2/RESP3
//! frames without decoding them (a proxy passes them through as they are), and [`decode`]
//! turns one whole frame into a [`Reply`] when its content is needed (merging the parts of a
//! split request, reading `INFO`).
//!
//! The scanner remembers where it stopped, so a reply that arrives in many reads is scanned
//! once in total. What it accepts is bounded: a header line of at most [`MAX_LINE`] bytes, a
//! bulk of at most [`MAX_BULK`] bytes (Redis's `proto-max-bulk-len` default), aggregates nested
//! at most [`MAX_DEPTH`] deep; anything else is [`MalformedReply`].

use bytes::{Bytes, BytesMut};

use crate::reply::Reply;

/// Longest header or simple line (`+`, `-`, `:`, `$n`...) in bytes, without its CRLF.
pub const MAX_LINE: usize = 1024 * 1024;
/// Longest bulk, verbatim or blob-error payload in bytes (Redis's `proto-max-bulk-len`, 512mb).
pub const MAX_BULK: usize = 512 * 1024 * 1024;
/// Deepest nesting of aggregates (arrays, maps, sets, pushes, attributes).
pub const MAX_DEPTH: usize = 128;
/// Most bytes reserved ahead at once for the rest of a large bulk, so a frame that announces a
/// huge payload cannot make the buffer grow faster than its bytes arrive.
const RESERVE_AHEAD: usize = 1024 * 1024;

/// The bytes are not a RESP reply (or exceed the limits above).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply")]
pub struct MalformedReply;

/// Splits a stream of replies of either protocol into whole frames.
///
/// Feed it the connection's read buffer after every read; each call to [`ReplyDecoder::next`]
/// splits off at most one whole frame. Between calls it keeps how far the current frame was
/// scanned and which aggregates are open, so nothing is scanned twice.
#[derive(Debug, Default)]
pub struct ReplyDecoder {
    /// Bytes of the current frame already scanned.
    pos: usize,
    /// Elements still expected by each open aggregate, innermost last.
    open: Vec<u64>,
    /// Whole frames scanned (within `pos`) towards the group [`ReplyDecoder::next_frames`]
    /// splits off together.
    done: u32,
}

/// A frame's header line: its type byte, the text after it up to the CRLF, and the line's
/// length with the CRLF.
type Header<'a> = (u8, &'a [u8], usize);

/// The header line at the start of `rest`; `None` until its CRLF has arrived.
fn header(rest: &[u8]) -> Result<Option<Header<'_>>, MalformedReply> {
    let window = &rest[..rest.len().min(MAX_LINE + 2)];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(end) if end > 0 => Ok(Some((rest[0], &rest[1..end], end + 2))),
        Some(_) => Err(MalformedReply),
        None if rest.len() > MAX_LINE + 1 => Err(MalformedReply),
        None => Ok(None),
    }
}

fn number(text: &[u8]) -> Result<i64, MalformedReply> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(MalformedReply)
}

/// Length of a bulk-like payload (`$`, `=`, `!`): `None` for the RESP2 null (`-1`).
fn payload_len(text: &[u8]) -> Result<Option<usize>, MalformedReply> {
    match number(text)? {
        -1 => Ok(None),
        n if (0..=MAX_BULK as i64).contains(&n) => Ok(Some(n as usize)),
        _ => Err(MalformedReply),
    }
}

/// Elements an aggregate header announces: `None` for the RESP2 null array (`*-1`).
fn aggregate_len(kind: u8, text: &[u8]) -> Result<Option<u64>, MalformedReply> {
    let n = number(text)?;
    if n == -1 && kind == b'*' {
        return Ok(None);
    }
    let n = u64::try_from(n).map_err(|_| MalformedReply)?;
    Ok(Some(match kind {
        b'%' => n.checked_mul(2).ok_or(MalformedReply)?,
        // An attribute's pairs, then the value it annotates.
        b'|' => n
            .checked_mul(2)
            .and_then(|n| n.checked_add(1))
            .ok_or(MalformedReply)?,
        _ => n,
    }))
}

impl ReplyDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        ReplyDecoder::default()
    }

    /// The next whole frame's raw bytes, split off the front of `buf`; `Ok(None)` when it has
    /// not all arrived (call again once more bytes are appended to `buf`).
    ///
    /// `buf` must be the same stream on every call, only ever appended to between calls.
    ///
    /// # Errors
    /// [`MalformedReply`] when the bytes are not RESP2/RESP3 or break the module's limits; the
    /// stream cannot be resynchronised after that.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, MalformedReply> {
        self.next_frames(buf, 1)
    }

    /// The next `count` whole frames' raw bytes together (the replies to a request of several
    /// commands, such as a whole `MULTI` ... `EXEC`), split off the front of `buf` at once;
    /// `Ok(None)` until the last of them has all arrived. `count` (at least 1) must stay the
    /// same from call to call until the group is returned; `buf` as for [`ReplyDecoder::next`].
    ///
    /// # Errors
    /// As [`ReplyDecoder::next`].
    pub fn next_frames(
        &mut self,
        buf: &mut BytesMut,
        count: u32,
    ) -> Result<Option<Bytes>, MalformedReply> {
        while self.scan_frame(buf)? {
            self.done += 1;
            if self.done >= count {
                self.done = 0;
                let len = std::mem::take(&mut self.pos);
                return Ok(Some(buf.split_to(len).freeze()));
            }
        }
        Ok(None)
    }

    /// Scans one more whole frame after `pos`: true once it has all arrived (`pos` then ends
    /// it), false until then.
    fn scan_frame(&mut self, buf: &mut BytesMut) -> Result<bool, MalformedReply> {
        loop {
            let rest = &buf[self.pos..];
            let Some((kind, text, header_len)) = header(rest)? else {
                return Ok(false);
            };
            match kind {
                b'+' | b'-' | b':' | b',' | b'#' | b'(' => self.pos += header_len,
                b'_' if text.is_empty() => self.pos += header_len,
                b'$' | b'=' | b'!' => match payload_len(text)? {
                    None if kind == b'$' => self.pos += header_len,
                    None => return Err(MalformedReply),
                    Some(n) => {
                        let total = header_len + n + 2;
                        if rest.len() < total {
                            buf.reserve((total - rest.len()).min(RESERVE_AHEAD));
                            return Ok(false);
                        }
                        if &rest[total - 2..total] != b"\r\n" {
                            return Err(MalformedReply);
                        }
                        self.pos += total;
                    }
                },
                b'*' | b'~' | b'>' | b'%' | b'|' => {
                    let items = aggregate_len(kind, text)?;
                    self.pos += header_len;
                    if let Some(items @ 1..) = items {
                        if self.open.len() >= MAX_DEPTH {
                            return Err(MalformedReply);
                        }
                        self.open.push(items);
                        continue;
                    }
                }
                _ => return Err(MalformedReply),
            }
            // One element finished: close every aggregate it completes.
            while let Some(left) = self.open.last_mut() {
                *left -= 1;
                if *left > 0 {
                    break;
                }
                self.open.pop();
            }
            if self.open.is_empty() {
                return Ok(true);
            }
        }
    }
}

/// Decodes one whole frame (as [`ReplyDecoder::next`] returns it) into a [`Reply`].
///
/// RESP3 types without a [`Reply`] of their own map to the nearest one: a push to an array, a
/// big number or a verbatim string to a bulk (the verbatim's payload after its `xxx:` format),
/// a blob error to an error; attributes are skipped, leaving the value they annotate. Bytes
/// after the frame are ignored.
///
/// # Errors
/// [`MalformedReply`] when `frame` is not one whole RESP2/RESP3 frame within the module's
/// limits.
pub fn decode(frame: &[u8]) -> Result<Reply, MalformedReply> {
    let mut at = 0;
    decode_at(frame, &mut at, 0)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn decode_at(frame: &[u8], at: &mut usize, depth: usize) -> Result<Reply, MalformedReply> {
    if depth > MAX_DEPTH {
        return Err(MalformedReply);
    }
    let (kind, line, header_len) = header(&frame[*at..])?.ok_or(MalformedReply)?;
    *at += header_len;
    let items = |count: u64, at: &mut usize| -> Result<Vec<Reply>, MalformedReply> {
        // Each element takes at least three bytes: no larger allocation than the frame allows.
        let room = (frame.len() - *at) / 3;
        let mut out = Vec::with_capacity((count as usize).min(room));
        for _ in 0..count {
            out.push(decode_at(frame, at, depth + 1)?);
        }
        Ok(out)
    };
    Ok(match kind {
        b'+' => Reply::Simple(text(line).into()),
        b'-' => Reply::Error(text(line).into()),
        b':' => Reply::Int(number(line)?),
        b',' => Reply::Double(parse_double(line)?),
        b'#' => match line {
            b"t" => Reply::Bool(true),
            b"f" => Reply::Bool(false),
            _ => return Err(MalformedReply),
        },
        b'(' => Reply::Bulk(Bytes::copy_from_slice(line)),
        b'_' if line.is_empty() => Reply::Null,
        b'$' | b'=' | b'!' => {
            let Some(n) = payload_len(line)? else {
                return if kind == b'$' {
                    Ok(Reply::Null)
                } else {
                    Err(MalformedReply)
                };
            };
            let end = at.checked_add(n).ok_or(MalformedReply)?;
            if frame.len() < end + 2 || &frame[end..end + 2] != b"\r\n" {
                return Err(MalformedReply);
            }
            let payload = &frame[*at..end];
            *at = end + 2;
            match kind {
                b'$' => Reply::Bulk(Bytes::copy_from_slice(payload)),
                b'!' => Reply::Error(text(payload).into()),
                _ if payload.len() >= 4 && payload[3] == b':' => {
                    Reply::Bulk(Bytes::copy_from_slice(&payload[4..]))
                }
                _ => return Err(MalformedReply),
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let Some(count) = aggregate_len(kind, line)? else {
                return Ok(Reply::NullArray);
            };
            match kind {
                b'*' | b'>' => Reply::Array(items(count, at)?),
                b'~' => Reply::Set(items(count, at)?),
                b'%' => {
                    let mut flat = items(count, at)?.into_iter();
                    let mut pairs = Vec::with_capacity(flat.len() / 2);
                    while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
                        pairs.push((key, value));
                    }
                    Reply::Map(pairs)
                }
                _ => {
                    // The attribute's pairs, then the annotated value, which is the reply.
                    items(count - 1, at)?;
                    decode_at(frame, at, depth + 1)?
                }
            }
        }
        _ => return Err(MalformedReply),
    })
}

/// A RESP3 double: `inf`, `-inf`, `nan` or a decimal.
fn parse_double(line: &[u8]) -> Result<f64, MalformedReply> {
    let text = std::str::from_utf8(line).map_err(|_| MalformedReply)?;
    match text {
        "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        "nan" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| MalformedReply),
    }
}

#[cfg(test)]
mod tests;
