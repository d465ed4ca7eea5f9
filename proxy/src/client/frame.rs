//! The common case of reading a request, without copies: a whole RESP multibulk of bulk
//! strings already in the input buffer is split off as one piece, its raw bytes kept to be
//! forwarded to a node as they arrived, its arguments read in place ([`Args`]). Anything else
//! (an inline request, a request not all here yet, malformed or unusual input) is left to
//! [`RequestParser`](redoubt_protocol::RequestParser), which gives Redis's errors.

use bytes::{Bytes, BytesMut};

/// Most arguments a request may have to take the fast path (`MSET` of 500 pairs still does).
const MAX_ARGS: usize = 1024;
/// Longest count or length line the fast path reads (digits).
const MAX_DIGITS: usize = 10;

/// Arguments kept inline by [`Args`]; a request with more keeps the rest in a `Vec`.
const INLINE: usize = 8;

/// A request's arguments (the name first): slices of the request's raw bytes when [`take`]
/// split it off, else as the parser gave them. Reading one costs no allocation and no
/// reference count; [`Args::to_vec`] makes the `Bytes` the less common paths take.
#[derive(Debug)]
pub(crate) enum Args {
    /// Split off by [`take`].
    Framed {
        /// The request exactly as the client sent it.
        raw: Bytes,
        /// Where each argument is in `raw`.
        frame: Frame,
    },
    /// Read by the general parser.
    Parsed(Vec<Bytes>),
}

/// Read access to a request's arguments, owned ([`Args`]) or in a transaction's block
/// ([`BlockRequest`]).
pub(crate) trait Words {
    /// How many arguments (the name included).
    fn len(&self) -> usize;
    /// Argument `i`, if there is one.
    fn get(&self, i: usize) -> Option<&[u8]>;
    /// The arguments as `Bytes`.
    fn to_vec(&self) -> Vec<Bytes>;
    /// Argument `i`; panics past the end, as indexing a slice does.
    fn arg(&self, i: usize) -> &[u8] {
        self.get(i).expect("argument index in bounds")
    }
}

impl Words for Args {
    fn len(&self) -> usize {
        Args::len(self)
    }
    fn get(&self, i: usize) -> Option<&[u8]> {
        Args::get(self, i)
    }
    fn to_vec(&self) -> Vec<Bytes> {
        Args::to_vec(self)
    }
}

impl Args {
    /// How many arguments (the name included).
    pub(crate) fn len(&self) -> usize {
        match self {
            Args::Framed { frame, .. } => frame.count,
            Args::Parsed(args) => args.len(),
        }
    }

    /// Argument `i`, if there is one.
    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            Args::Framed { raw, frame } => frame.span(i).map(|span| &raw[span]),
            Args::Parsed(args) => args.get(i).map(|a| &a[..]),
        }
    }

    /// Argument `i`; panics past the end, as indexing a slice does.
    pub(crate) fn arg(&self, i: usize) -> &[u8] {
        self.get(i).expect("argument index in bounds")
    }

    /// The request as the client sent it, when [`take`] read it.
    pub(crate) fn raw(&self) -> Option<&Bytes> {
        match self {
            Args::Framed { raw, .. } => Some(raw),
            Args::Parsed(_) => None,
        }
    }

    /// The arguments as `Bytes` (slices of the raw request, no copy).
    pub(crate) fn to_vec(&self) -> Vec<Bytes> {
        match self {
            Args::Framed { raw, frame } => frame.spans().map(|span| raw.slice(span)).collect(),
            Args::Parsed(args) => args.clone(),
        }
    }
}

/// Splits the first request off `input` when it is a whole, well-formed multibulk of at
/// least one bulk string (`*N\r\n` then `N` times `$len\r\n<len bytes>\r\n`, counts as
/// Redis reads them: digits, no sign, no leading zero); `None` leaves `input` untouched for
/// the general parser.
pub(crate) fn take(input: &mut BytesMut) -> Option<Args> {
    let frame = scan(input)?;
    let raw = input.split_to(frame.end).freeze();
    Some(Args::Framed { raw, frame })
}

/// A transaction's block split off the input (the requests after `MULTI`, `EXEC` last): its
/// bytes, and where each request is in them. Its requests are read in place
/// ([`Block::request`]); only a block that takes the general path becomes [`Args`].
#[derive(Debug)]
pub(crate) struct Block {
    whole: Bytes,
    /// Each request: where it starts in `whole`, and its frame (offsets from that start).
    frames: Vec<(usize, Frame)>,
}

impl Block {
    /// The block's bytes, as the client sent them.
    pub(crate) fn whole(&self) -> &Bytes {
        &self.whole
    }

    /// How many requests (`EXEC` included).
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Request `i`, read in place.
    pub(crate) fn request(&self, i: usize) -> BlockRequest<'_> {
        let (start, ref frame) = self.frames[i];
        BlockRequest {
            raw: &self.whole[start..start + frame.end],
            frame,
        }
    }

    /// The requests as [`Args`] (slices of the block's bytes), for the general path.
    pub(crate) fn into_args(self) -> Vec<Args> {
        let whole = self.whole;
        self.frames
            .into_iter()
            .map(|(start, frame)| Args::Framed {
                raw: whole.slice(start..start + frame.end),
                frame,
            })
            .collect()
    }
}

/// One request of a [`Block`], borrowed from it: reading it takes no reference count.
pub(crate) struct BlockRequest<'a> {
    raw: &'a [u8],
    frame: &'a Frame,
}

impl Words for BlockRequest<'_> {
    fn len(&self) -> usize {
        self.frame.count
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        self.frame.span(i).map(|span| &self.raw[span])
    }

    fn to_vec(&self) -> Vec<Bytes> {
        self.frame
            .spans()
            .map(|span| Bytes::copy_from_slice(&self.raw[span]))
            .collect()
    }
}

/// Splits a transaction's block off `input` when `input` starts with at most `max_requests`
/// whole requests that [`take`] would split off, the last of them `EXEC`, in at most
/// `max_bytes`. `None` leaves `input` untouched: a block is looked at whole before any of it
/// is taken.
pub(crate) fn take_block(
    input: &mut BytesMut,
    max_requests: usize,
    max_bytes: usize,
) -> Option<Block> {
    // Room for a transaction of a few commands without growing.
    let mut frames = Vec::with_capacity(8);
    let mut at = 0;
    loop {
        if frames.len() == max_requests {
            return None;
        }
        let frame = scan(&input[at..])?;
        let (start, end) = frame.inline[0];
        let exec = input[at + start as usize..at + end as usize].eq_ignore_ascii_case(b"exec");
        let len = frame.end;
        frames.push((at, frame));
        at += len;
        if at > max_bytes {
            return None;
        }
        if exec {
            break;
        }
    }
    let whole = input.split_to(at).freeze();
    Some(Block { whole, frames })
}

/// A whole request at the start of a buffer, as [`take`] reads it: where it ends and where
/// each of its arguments is, from its first byte.
#[derive(Debug)]
pub(crate) struct Frame {
    /// Where it ends (bytes).
    end: usize,
    /// Each argument's `(start, end)`, the first [`INLINE`] here...
    inline: [(u32, u32); INLINE],
    /// ...the rest here.
    more: Vec<(u32, u32)>,
    /// How many arguments.
    count: usize,
}

impl Frame {
    /// Where argument `i` is, if there is one.
    fn span(&self, i: usize) -> Option<std::ops::Range<usize>> {
        if i >= self.count {
            return None;
        }
        let (start, end) = if i < INLINE {
            self.inline[i]
        } else {
            self.more[i - INLINE]
        };
        Some(start as usize..end as usize)
    }

    /// Where each argument is, in order.
    fn spans(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.inline[..self.count.min(INLINE)]
            .iter()
            .chain(&self.more)
            .map(|&(start, end)| start as usize..end as usize)
    }
}

fn scan(buf: &[u8]) -> Option<Frame> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let (count, mut at) = number(buf, 1)?;
    if count == 0 || count > MAX_ARGS {
        return None;
    }
    let mut inline = [(0u32, 0u32); INLINE];
    let mut more: Vec<(u32, u32)> = Vec::new();
    for i in 0..count {
        if buf.get(at) != Some(&b'$') {
            return None;
        }
        let (len, start) = number(buf, at + 1)?;
        let end = start.checked_add(len)?;
        if buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        // A request this large goes to the parser (it is rare, and spans fit in u32).
        let span = (u32::try_from(start).ok()?, u32::try_from(end).ok()?);
        match inline.get_mut(i) {
            Some(slot) => *slot = span,
            None => more.push(span),
        }
        at = end + 2;
    }
    Some(Frame {
        end: at,
        inline,
        more,
        count,
    })
}

/// Reads the decimal number starting at `at` up to its `\r\n`: the number and the position
/// after the line. `None` when the line is not all here or not canonical digits.
fn number(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let digits = buf.get(at..)?;
    let len = digits
        .iter()
        .take(MAX_DIGITS + 1)
        .position(|&b| b == b'\r')?;
    if len == 0 || len > MAX_DIGITS || (len > 1 && digits[0] == b'0') {
        return None;
    }
    if digits.get(len + 1) != Some(&b'\n') {
        return None;
    }
    let mut value = 0usize;
    for &d in &digits[..len] {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + usize::from(d - b'0');
    }
    Some((value, at + len + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(input: &[u8]) -> (Option<Args>, BytesMut) {
        let mut buf = BytesMut::from(input);
        let frame = take(&mut buf);
        (frame, buf)
    }

    #[test]
    fn take_block_splits_a_whole_block_or_nothing() {
        // After MULTI is taken: SET, then EXEC (any case), then a later request.
        let block = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nexec\r\n";
        let mut input = BytesMut::from(&block[..]);
        input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let taken = take_block(&mut input, 8, 1024).expect("a block");
        assert_eq!(&taken.whole()[..], &block[..]);
        assert_eq!(&input[..], b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(taken.len(), 2);
        let set = taken.request(0);
        assert_eq!(
            (set.len(), set.arg(0), set.get(2)),
            (3, &b"SET"[..], Some(&b"v"[..]))
        );
        assert_eq!(set.get(3), None);
        assert_eq!(set.to_vec(), vec![&b"SET"[..], b"k", b"v"]);
        let requests = taken.into_args();
        assert_eq!(requests[0].to_vec(), vec![&b"SET"[..], b"k", b"v"]);
        assert_eq!(
            &requests[1].raw().expect("raw")[..],
            b"*1\r\n$4\r\nexec\r\n"
        );
        // Not all here yet, too many requests, too many bytes, an inline request: nothing is
        // taken.
        for (bytes, requests, max) in [
            (&block[..block.len() - 1], 8, 1024),
            (&block[..], 1, 1024),
            (&block[..], 8, block.len() - 1),
            (&b"SET k v\r\nEXEC\r\n"[..], 8, 1024),
        ] {
            let mut input = BytesMut::from(bytes);
            assert!(take_block(&mut input, requests, max).is_none());
            assert_eq!(&input[..], bytes);
        }
    }

    #[test]
    fn a_whole_request_is_split_off_with_its_raw_bytes() {
        let (f, rest) = frame(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n");
        let f = f.expect("whole");
        assert_eq!(
            &f.raw().expect("raw")[..],
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
        );
        assert_eq!(f.to_vec(), vec![&b"SET"[..], b"k", b""]);
        assert_eq!(f.len(), 3);
        assert_eq!(f.arg(1), b"k");
        assert_eq!(f.get(3), None);
        assert_eq!(&rest[..], b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn many_arguments_keep_their_order() {
        let mut input = b"*40\r\n".to_vec();
        for i in 0..40 {
            let word = format!("a{i}");
            input.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
        }
        let (f, rest) = frame(&input);
        let f = f.expect("whole");
        assert_eq!(f.len(), 40);
        for (i, arg) in f.to_vec().iter().enumerate() {
            assert_eq!(&arg[..], format!("a{i}").as_bytes());
            assert_eq!(f.arg(i), format!("a{i}").as_bytes());
        }
        assert!(rest.is_empty());
    }

    #[test]
    fn anything_else_is_left_for_the_parser() {
        for input in [
            &b"PING\r\n"[..],
            b"*2\r\n$3\r\nGET\r\n$1\r\n",
            b"*2\r\n$3\r\nGET\r\n$1\r\nkk\r\n",
            b"*0\r\n",
            b"*-1\r\n",
            b"*01\r\n$4\r\nPING\r\n",
            b"*1\r\n$04\r\nPING\r\n",
            b"*1\r\n$+4\r\nPING\r\n",
            b"*1\r\n:4\r\nPING\r\n",
            b"*1\r\n$4\r\nPING",
            b"*1\r\n$99999999999\r\nPING\r\n",
            b"*1",
            b"",
        ] {
            let (f, rest) = frame(input);
            assert!(f.is_none(), "{input:?}");
            assert_eq!(&rest[..], input);
        }
    }
}
