//! Property tests of the request parser ([`RequestParser`]) through its public API, fed the way a
//! connection feeds it: bytes appended to a buffer in reads of any size, `parse` called until it
//! needs more input or fails.
//!
//! - Garbage and mutated requests: never a panic, and the parser never holds more than its
//!   [`RequestLimits`] allow (unparsed input within `max_query_buffer`; a request that never ends
//!   fails with a limit error instead of growing).
//! - Valid pipelines of multibulk and inline requests, fed whole or split at every position, come
//!   out as the requests that went in, in order.
//!
//! Case counts are fixed per property so the whole file runs in a few seconds.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::sample::Index;
use redoubt_protocol::request::encode_request;
use redoubt_protocol::{ParseError, RequestLimits, RequestParser};

/// One request as the parser hands it out.
type Request = Vec<Bytes>;

/// Parses every complete request in `input`; stops at the first error, as a connection closes.
fn drain(parser: &mut RequestParser, input: &mut BytesMut) -> Result<Vec<Request>, ParseError> {
    let mut out = Vec::new();
    while let Some(args) = parser.parse(input)? {
        out.push(args);
    }
    Ok(out)
}

/// What a connection sees after feeding `wire` in reads of the given sizes: the requests parsed
/// and the error that closed it, if any. After every `Ok(None)` the unparsed input is checked
/// against the query buffer limit.
fn feed_in_reads(
    limits: RequestLimits,
    wire: &[u8],
    reads: &[usize],
) -> (Vec<Request>, Option<ParseError>) {
    let mut parser = RequestParser::new(limits);
    let mut input = BytesMut::new();
    let mut requests = Vec::new();
    let mut offset = 0;
    let mut reads = reads.iter().copied().cycle();
    while offset < wire.len() {
        let end = offset
            .saturating_add(reads.next().unwrap_or(wire.len()))
            .min(wire.len());
        input.extend_from_slice(&wire[offset..end]);
        offset = end;
        loop {
            match parser.parse(&mut input) {
                Ok(Some(args)) => requests.push(args),
                Ok(None) => {
                    assert!(
                        input.len() <= limits.max_query_buffer,
                        "{} unparsed bytes kept under a {}-byte query buffer limit",
                        input.len(),
                        limits.max_query_buffer
                    );
                    break;
                }
                Err(err) => return (requests, Some(err)),
            }
        }
    }
    (requests, None)
}

// --- generators ------------------------------------------------------------------------------

/// Small limits, so that garbage reaches them.
fn small_limits() -> impl Strategy<Value = RequestLimits> {
    (0usize..96, 8usize..512).prop_map(|(max_bulk_len, max_query_buffer)| RequestLimits {
        max_bulk_len,
        max_query_buffer,
    })
}

/// Bytes biased towards what the grammar reacts to, so garbage gets past the first byte.
fn protocol_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        4 => prop::sample::select(b"*$0123456789-+\r\n \t\"'\\xX".to_vec()),
    ]
}

/// Read sizes a connection might see, from one byte up.
fn read_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..48, 1..8)
}

/// A byte that can stand in an unquoted inline argument.
fn plain_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("blank or quote", |b| {
        !b.is_ascii_whitespace() && *b != b'"' && *b != b'\''
    })
}

/// One inline argument: its value and how it is written on the line (plain, `"..."` with
/// escapes, or `'...'`), as `sdssplitargs` reads them.
fn inline_arg() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        prop::collection::vec(plain_byte(), 1..12).prop_map(|v| (v.clone(), v)),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|v| {
            let mut written = vec![b'"'];
            for &b in &v {
                match b {
                    b'"' | b'\\' => written.extend_from_slice(&[b'\\', b]),
                    0x20..=0x7e => written.push(b),
                    _ => written.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                }
            }
            written.push(b'"');
            (v, written)
        }),
        prop::collection::vec(
            any::<u8>().prop_filter("newline or backslash", |b| *b != b'\n' && *b != b'\\'),
            0..16
        )
        .prop_map(|v| {
            let mut written = vec![b'\''];
            for &b in &v {
                if b == b'\'' {
                    written.push(b'\\');
                }
                written.push(b);
            }
            written.push(b'\'');
            (v, written)
        }),
    ]
}

/// One request: its arguments and its wire form, multibulk or inline.
fn request() -> impl Strategy<Value = (Request, Vec<u8>)> {
    let multibulk = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..6)
        .prop_map(|args| {
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let wire = encode_request(&refs).to_vec();
            (args.into_iter().map(Bytes::from).collect(), wire)
        });
    let inline = (
        prop::collection::vec(inline_arg(), 1..5),
        prop::sample::select(vec![&b" "[..], b"  ", b"\t"]),
        prop::sample::select(vec![&b"\r\n"[..], b"\n"]),
    )
        .prop_filter("a line starting with '*' is multibulk", |(args, _, _)| {
            args[0].1[0] != b'*'
        })
        .prop_map(|(args, blank, end)| {
            let mut wire = Vec::new();
            for (i, (_, written)) in args.iter().enumerate() {
                if i > 0 {
                    wire.extend_from_slice(blank);
                }
                wire.extend_from_slice(written);
            }
            wire.extend_from_slice(end);
            (
                args.into_iter().map(|(v, _)| Bytes::from(v)).collect(),
                wire,
            )
        });
    prop_oneof![multibulk, inline]
}

/// Several requests pipelined: the requests in order and their wire bytes back to back.
fn pipeline() -> impl Strategy<Value = (Vec<Request>, Vec<u8>)> {
    prop::collection::vec(request(), 1..6).prop_map(|requests| {
        let wire = requests.iter().flat_map(|(_, w)| w.clone()).collect();
        (requests.into_iter().map(|(r, _)| r).collect(), wire)
    })
}

/// One change to a byte string, applied at a position chosen by `Index`.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Index, u8),
    Insert(Index, u8),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), protocol_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<Index>(), protocol_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..8).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(wire: &mut Vec<u8>, mutation: &Mutation) {
    if wire.is_empty() {
        return;
    }
    match *mutation {
        Mutation::Replace(ref i, b) => {
            let at = i.index(wire.len());
            wire[at] = b;
        }
        Mutation::Insert(ref i, b) => wire.insert(i.index(wire.len() + 1), b),
        Mutation::Delete(ref i, n) => {
            let at = i.index(wire.len());
            wire.drain(at..(at + n).min(wire.len()));
        }
        Mutation::Duplicate(ref i, n) => {
            let at = i.index(wire.len());
            let copy = wire[at..(at + n).min(wire.len())].to_vec();
            wire.splice(at..at, copy);
        }
        Mutation::Truncate(ref i) => wire.truncate(i.index(wire.len())),
    }
}

/// Endless input that never finishes the request in progress, in one of the shapes a client
/// could send: argument after argument of a huge multibulk request (empty ones too), one huge
/// bulk, or an inline line that never ends.
fn endless_filler() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        (0usize..6).prop_map(|len| {
            let arg = vec![b'a'; len];
            (
                b"*2147483647\r\n".to_vec(),
                encode_request(&[&arg[..]])[4..].to_vec(),
            )
        }),
        Just((b"*1\r\n$2000000\r\n".to_vec(), b"x".repeat(64))),
        Just((Vec::new(), b"y".repeat(64))),
    ]
}

// --- properties ------------------------------------------------------------------------------

proptest! {
    // Most of the time here goes to generating biased bytes one by one; 256 cases keep it to a
    // second or two.
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes in arbitrary reads: no panic, and unparsed input stays within the limit.
    #[test]
    fn garbage_never_panics_nor_outgrows_the_limits(
        limits in small_limits(),
        wire in prop::collection::vec(protocol_byte(), 0..400),
        reads in read_sizes(),
    ) {
        feed_in_reads(limits, &wire, &reads);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Valid pipelines with a few mutations: no panic, unparsed input stays within the limit,
    /// and with default limits the requests before the first damaged one still come out whole.
    #[test]
    fn mutated_requests_never_panic_nor_outgrow_the_limits(
        limits in small_limits(),
        (requests, mut wire) in pipeline(),
        mutations in prop::collection::vec(mutation(), 1..4),
        reads in read_sizes(),
    ) {
        let pristine = wire.clone();
        for m in &mutations {
            mutate(&mut wire, m);
        }
        feed_in_reads(limits, &wire, &reads);
        let (parsed, _) = feed_in_reads(RequestLimits::default(), &wire, &reads);
        // Requests whose bytes all precede the first changed byte are untouched by the damage.
        let first_change = pristine.iter().zip(&wire).take_while(|(a, b)| a == b).count();
        let mut end = 0;
        for (i, size) in request_sizes(requests.len(), &pristine).into_iter().enumerate() {
            end += size;
            if end > first_change {
                break;
            }
            prop_assert_eq!(parsed.get(i), Some(&requests[i]), "request {} precedes the damage", i);
        }
    }

    /// A request that never ends (a huge multibulk, a huge bulk, a line without a newline) fails
    /// with an error once the parser would hold more than the query buffer limit, however it is
    /// read and whatever came before it: it never keeps growing.
    #[test]
    fn a_request_that_never_ends_hits_the_limit(
        limits in small_limits(),
        (prefix, filler) in endless_filler(),
        reads in read_sizes(),
    ) {
        let mut parser = RequestParser::new(limits);
        let mut input = BytesMut::new();
        let mut wire = prefix;
        let mut fed = 0usize;
        let mut outcome = None;
        let mut reads = reads.iter().copied().cycle();
        // Every filler byte is either unparsed input or part of an argument the parser counts at
        // no less than its wire size, so the limit is hit within one read of it.
        let budget = limits.max_query_buffer + wire.len() + 64;
        while fed <= budget && outcome.is_none() {
            while wire.len() < 64 {
                wire.extend_from_slice(&filler);
            }
            let n = reads.next().unwrap_or(1).min(wire.len());
            input.extend_from_slice(&wire[..n]);
            wire.drain(..n);
            fed += n;
            match parser.parse(&mut input) {
                Ok(None) => prop_assert!(input.len() <= limits.max_query_buffer),
                Ok(Some(args)) => panic!("a request came out of endless input: {args:?}"),
                Err(err) => outcome = Some(err),
            }
        }
        let err = outcome.expect("the parser kept taking input past its limits");
        prop_assert!(
            matches!(err, ParseError::QueryBufferLimit | ParseError::Protocol("invalid bulk length")),
            "unexpected error {:?}", err
        );
    }
}

/// The wire size of each request of a valid pipeline, taken off one request at a time.
fn request_sizes(count: usize, wire: &[u8]) -> Vec<usize> {
    let mut parser = RequestParser::default();
    let mut input = BytesMut::from(wire);
    (0..count)
        .map(|_| {
            let before = input.len();
            parser
                .parse(&mut input)
                .expect("valid pipeline")
                .expect("whole request");
            before - input.len()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A valid pipeline fed whole, byte by byte, or in two reads split at every position, gives
    /// back exactly the requests that went in, in order, and leaves nothing unparsed.
    #[test]
    fn valid_pipelines_parse_back_at_every_split((requests, wire) in pipeline()) {
        let mut parser = RequestParser::default();
        let mut input = BytesMut::from(&wire[..]);
        prop_assert_eq!(&drain(&mut parser, &mut input).unwrap(), &requests);
        prop_assert!(input.is_empty());

        let (parsed, err) = feed_in_reads(RequestLimits::default(), &wire, &[1]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(&parsed, &requests);

        for cut in 0..=wire.len() {
            let mut parser = RequestParser::default();
            let mut input = BytesMut::from(&wire[..cut]);
            let mut parsed = drain(&mut parser, &mut input).unwrap();
            input.extend_from_slice(&wire[cut..]);
            parsed.extend(drain(&mut parser, &mut input).unwrap());
            prop_assert_eq!(&parsed, &requests, "split at {}", cut);
            prop_assert!(input.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Counts are read as Redis's `string2ll` reads them: a `+` sign or a leading zero makes
    /// them invalid, with Redis's error texts (checked against redis-server 7).
    #[test]
    fn counts_with_a_sign_or_leading_zero_are_refused(n in 0u32..100_000, plus in any::<bool>()) {
        let count = if plus { format!("+{n}") } else { format!("0{n}") };
        let mut input = BytesMut::from(format!("*{count}\r\n$4\r\nPING\r\n").as_bytes());
        prop_assert_eq!(
            RequestParser::default().parse(&mut input),
            Err(ParseError::Protocol("invalid multibulk length"))
        );
        let mut input = BytesMut::from(format!("*1\r\n${count}\r\nPING\r\n").as_bytes());
        prop_assert_eq!(
            RequestParser::default().parse(&mut input),
            Err(ParseError::Protocol("invalid bulk length"))
        );
        let mut input = BytesMut::from(format!("*1\r\n${}\r\n{}\r\n", n, "x".repeat(n as usize % 64)).as_bytes());
        let ok = RequestParser::default().parse(&mut input);
        prop_assert_eq!(ok.map(|r| r.is_some()), Ok(n < 64), "${} with {} bytes", n, n % 64);
    }
}
