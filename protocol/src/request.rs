//! The request front end: RESP multibulk requests and inline commands, with Redis's limits.
//!
//! A connection appends what it reads to a `BytesMut` and calls [`RequestParser::parse`] until it
//! returns `Ok(None)`. Every complete argument is split off the buffer as soon as it is whole and
//! kept in the parser, so a large request arriving in many reads is scanned once (the parser
//! resumes where it stopped), and a bulk whose length is known reserves its room up front.
//!
//! Errors carry Redis's texts (`Protocol error: invalid bulk length`, ...); after one the
//! connection answers `-ERR <text>` and closes, as Redis does. Source: Redis `networking.c`
//! (`processMultibulkBuffer`, `processInlineBuffer`) and the RESP specification.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Longest inline request, or `*`/`$` header line, accepted before a newline arrives (64 KB).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Limits a parser enforces, as Redis's `proto-max-bulk-len` and `client-query-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Largest bulk argument in bytes (`proto-max-bulk-len`, default 512 MB).
    pub max_bulk_len: usize,
    /// Largest query buffer in bytes, counting a request's parsed arguments (their bytes and a
    /// handle each) and unparsed input (`client-query-buffer-limit`, default 1 GB).
    pub max_query_buffer: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_bulk_len: 512 * 1024 * 1024,
            max_query_buffer: 1024 * 1024 * 1024,
        }
    }
}

/// Why a request could not be parsed; the connection must close after replying `-ERR <self>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Malformed input; the text follows Redis (`Protocol error: invalid multibulk length`).
    #[error("Protocol error: {0}")]
    Protocol(&'static str),
    /// Redis's `expected '$', got 'X'`.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    /// The query buffer outgrew `client-query-buffer-limit`; Redis closes such clients.
    #[error("Protocol error: query buffer exceeds client-query-buffer-limit")]
    QueryBufferLimit,
}

/// An incremental request parser; one per connection.
#[derive(Debug, Default)]
pub struct RequestParser {
    limits: RequestLimits,
    /// Arguments still expected by the multibulk request in progress (0: none in progress).
    pending_args: usize,
    /// Arguments of the request in progress, split off the input as each became whole.
    args: Vec<Bytes>,
    /// What `args` holds, counted against the query buffer limit: each argument's bytes plus its
    /// handle, so that a request of endless empty arguments reaches the limit too.
    args_bytes: usize,
    /// Length of the bulk whose `$len` header was read but whose data is not all here.
    bulk_len: Option<usize>,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: RequestLimits) -> Self {
        RequestParser {
            limits,
            ..Default::default()
        }
    }

    /// Changes the limits for requests parsed from now on (`CONFIG SET proto-max-bulk-len`).
    pub fn set_limits(&mut self, limits: RequestLimits) {
        self.limits = limits;
    }

    /// Takes the next complete request off the front of `input`: its arguments (the command name
    /// first), or `None` when more input is needed. Empty requests (a blank inline line, `*0`)
    /// are skipped, as Redis skips them.
    ///
    /// # Errors
    /// [`ParseError`] on malformed input or when the query buffer limit is exceeded; the
    /// connection should reply with the error and close.
    pub fn parse(&mut self, input: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ParseError> {
        loop {
            if self.pending_args == 0 {
                let Some(&first) = input.first() else {
                    return Ok(None);
                };
                let request = if first == b'*' {
                    self.start_multibulk(input)?
                } else {
                    parse_inline(input)?
                };
                match request {
                    Start::Incomplete => return self.check_limit(input).map(|()| None),
                    Start::Empty => continue,
                    Start::Request(args) => return Ok(Some(args)),
                    Start::Multibulk => {}
                }
            }
            if !self.read_bulks(input)? {
                return self.check_limit(input).map(|()| None);
            }
            self.args_bytes = 0;
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    fn check_limit(&self, input: &BytesMut) -> Result<(), ParseError> {
        if input.len() + self.args_bytes > self.limits.max_query_buffer {
            return Err(ParseError::QueryBufferLimit);
        }
        Ok(())
    }

    fn start_multibulk(&mut self, input: &mut BytesMut) -> Result<Start, ParseError> {
        let Some(line_end) = find_crlf(input) else {
            if input.len() > INLINE_MAX_BYTES {
                return Err(ParseError::Protocol("too big mbulk count string"));
            }
            return Ok(Start::Incomplete);
        };
        let count = parse_len(&input[1..line_end]).filter(|&n| n <= i32::MAX as i64);
        let Some(count) = count else {
            return Err(ParseError::Protocol("invalid multibulk length"));
        };
        input.advance(line_end + 2);
        if count <= 0 {
            return Ok(Start::Empty);
        }
        self.pending_args = count as usize;
        self.args = Vec::with_capacity(self.pending_args.min(1024));
        Ok(Start::Multibulk)
    }

    /// Reads bulk arguments until the request is whole (true) or input runs out (false).
    fn read_bulks(&mut self, input: &mut BytesMut) -> Result<bool, ParseError> {
        while self.pending_args > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(&first) = input.first() else {
                        return Ok(false);
                    };
                    if first != b'$' {
                        return Err(ParseError::ExpectedBulk(first as char));
                    }
                    let Some(line_end) = find_crlf(input) else {
                        if input.len() > INLINE_MAX_BYTES {
                            return Err(ParseError::Protocol("too big bulk count string"));
                        }
                        return Ok(false);
                    };
                    let len = parse_len(&input[1..line_end])
                        .filter(|&n| n >= 0 && n as u64 <= self.limits.max_bulk_len as u64)
                        .ok_or(ParseError::Protocol("invalid bulk length"))?
                        as usize;
                    input.advance(line_end + 2);
                    self.bulk_len = Some(len);
                    len
                }
            };
            if input.len() < len + 2 {
                // Large bulks: make room once instead of growing the buffer read by read.
                input.reserve(len + 2 - input.len());
                return Ok(false);
            }
            let arg = input.split_to(len).freeze();
            input.advance(2);
            self.bulk_len = None;
            self.args_bytes += arg.len() + std::mem::size_of::<Bytes>();
            self.args.push(arg);
            self.pending_args -= 1;
        }
        Ok(true)
    }
}

enum Start {
    Incomplete,
    Empty,
    Multibulk,
    Request(Vec<Bytes>),
}

fn find_crlf(input: &[u8]) -> Option<usize> {
    let limit = input.len().min(INLINE_MAX_BYTES + 2);
    input[..limit].windows(2).position(|w| w == b"\r\n")
}

/// A `*` or `$` count as Redis's `string2ll` reads it: an optional `-`, then digits without a
/// `+` or a leading zero (`0` alone excepted).
fn parse_len(digits: &[u8]) -> Option<i64> {
    let magnitude = digits.strip_prefix(b"-").unwrap_or(digits);
    let canonical = match magnitude {
        [b'0'] => digits == b"0",
        [first, ..] => (b'1'..=b'9').contains(first),
        [] => false,
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse::<i64>().ok()
}

/// An inline request: one line, arguments split as `redis-cli` and Redis's `sdssplitargs` do.
fn parse_inline(input: &mut BytesMut) -> Result<Start, ParseError> {
    let limit = input.len().min(INLINE_MAX_BYTES + 1);
    let Some(newline) = input[..limit].iter().position(|&b| b == b'\n') else {
        if input.len() > INLINE_MAX_BYTES {
            return Err(ParseError::Protocol("too big inline request"));
        }
        return Ok(Start::Incomplete);
    };
    let line = input.split_to(newline + 1);
    let text = line.strip_suffix(b"\n").unwrap_or(&line);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let args = split_args(text).ok_or(ParseError::Protocol("unbalanced quotes in request"))?;
    if args.is_empty() {
        return Ok(Start::Empty);
    }
    Ok(Start::Request(args.into_iter().map(Bytes::from).collect()))
}

/// Splits a line into arguments: blanks separate them; `"..."` understands `\n \r \t \b \a \\ \"`
/// and `\xHH`; `'...'` understands `\'`. `None` on unbalanced quotes, or a closing quote not
/// followed by a blank. Source: Redis `sds.c`, `sdssplitargs`.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let Some(&c) = line.get(i) else {
                if in_double || in_single {
                    return None;
                }
                break;
            };
            if in_double {
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        arg.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    arg.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if line.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    arg.push(c);
                }
            } else if in_single {
                if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                    i += 1;
                    arg.push(b'\'');
                } else if c == b'\'' {
                    if line.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    arg.push(c);
                }
            } else if c.is_ascii_whitespace() {
                break;
            } else if c == b'"' {
                in_double = true;
            } else if c == b'\'' {
                in_single = true;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        args.push(arg);
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Appends `args` to `out` as a RESP multibulk request (`*N`, then `$len` and each argument),
/// the form every Redis server accepts and replication streams carry.
pub fn encode_request_into(out: &mut BytesMut, args: &[&[u8]]) {
    let mut digits = itoa::Buffer::new();
    out.reserve(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.put_u8(b'*');
    out.put_slice(digits.format(args.len()).as_bytes());
    out.put_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        out.put_slice(digits.format(arg.len()).as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

/// `args` as a RESP multibulk request.
pub fn encode_request(args: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::new();
    encode_request_into(&mut out, args);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(
        parser: &mut RequestParser,
        input: &mut BytesMut,
    ) -> Result<Vec<Vec<Bytes>>, ParseError> {
        let mut out = Vec::new();
        while let Some(args) = parser.parse(input)? {
            out.push(args);
        }
        Ok(out)
    }

    fn encode(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn pipelined_multibulk_and_inline() {
        let mut parser = RequestParser::default();
        let mut input =
            BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\nPING\r\n\r\nset a \"b c\"\n"[..]);
        let requests = parse_all(&mut parser, &mut input).unwrap();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0], vec![Bytes::from("GET"), Bytes::from("foo")]);
        assert_eq!(requests[1], vec![Bytes::from("PING")]);
        assert_eq!(
            requests[2],
            vec![Bytes::from("set"), Bytes::from("a"), Bytes::from("b c")]
        );
        assert!(input.is_empty());
    }

    #[test]
    fn errors_use_redis_texts() {
        let cases: [(&[u8], &str); 5] = [
            (b"*abc\r\n", "Protocol error: invalid multibulk length"),
            (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$9999999999\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\n:5\r\n", "Protocol error: expected '$', got ':'"),
            (b"set \"a\n", "Protocol error: unbalanced quotes in request"),
        ];
        for (input, text) in cases {
            let mut parser = RequestParser::default();
            let err = parser.parse(&mut BytesMut::from(input)).unwrap_err();
            assert_eq!(
                err.to_string(),
                text,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn header_without_newline_is_bounded() {
        let mut parser = RequestParser::default();
        let mut input = BytesMut::from(&b"*1\r\n$"[..]);
        input.extend_from_slice(&vec![b'1'; INLINE_MAX_BYTES + 10]);
        assert_eq!(
            parser.parse(&mut input),
            Err(ParseError::Protocol("too big bulk count string"))
        );
        let mut input = BytesMut::from(vec![b'a'; INLINE_MAX_BYTES + 10].as_slice());
        assert_eq!(
            RequestParser::default().parse(&mut input),
            Err(ParseError::Protocol("too big inline request"))
        );
    }

    #[test]
    fn query_buffer_limit() {
        let limits = RequestLimits {
            max_bulk_len: 1 << 20,
            max_query_buffer: 100,
        };
        let mut parser = RequestParser::new(limits);
        let mut input = BytesMut::from(&b"*2\r\n$50\r\n"[..]);
        input.extend_from_slice(&[b'x'; 52]);
        input.extend_from_slice(b"$200\r\n");
        input.extend_from_slice(&[b'y'; 60]);
        assert_eq!(parser.parse(&mut input), Err(ParseError::QueryBufferLimit));
    }

    #[test]
    fn split_args_like_sdssplitargs() {
        let args = split_args(br#"set "a\x41\n" 'it\'s' plain"#).unwrap();
        assert_eq!(
            args,
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert_eq!(split_args(b"  "), Some(vec![]));
        assert_eq!(split_args(b"\"a\"b"), None);
        assert_eq!(split_args(b"'open"), None);
    }

    proptest! {
        #[test]
        fn any_split_of_any_pipeline_parses_the_same(
            requests in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6), 1..8),
            cuts in prop::collection::vec(1usize..64, 0..20),
        ) {
            let wire: Vec<u8> = requests.iter().flat_map(|r| encode(r)).collect();
            let mut parser = RequestParser::default();
            let mut input = BytesMut::new();
            let mut parsed = Vec::new();
            let mut offset: usize = 0;
            for cut in cuts.into_iter().chain(std::iter::once(usize::MAX)) {
                let end = offset.saturating_add(cut).min(wire.len());
                input.extend_from_slice(&wire[offset..end]);
                offset = end;
                parsed.extend(parse_all(&mut parser, &mut input).unwrap());
            }
            let expected: Vec<Vec<Bytes>> =
                requests.iter().map(|r| r.iter().map(|a| Bytes::from(a.clone())).collect()).collect();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn garbage_never_panics(input in prop::collection::vec(any::<u8>(), 0..256)) {
            let mut parser = RequestParser::default();
            let mut buf = BytesMut::from(input.as_slice());
            let _ = parse_all(&mut parser, &mut buf);
        }
    }
}
