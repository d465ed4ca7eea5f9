//! Replies, independent of the wire protocol, and their RESP2/RESP3 encodings.
//!
//! Command handlers build a [`Reply`]; the connection encodes it with the protocol the client
//! negotiated (`HELLO 2|3`). Types that only RESP3 has degrade the way Redis degrades them on a
//! RESP2 connection: a map becomes a flat array of key, value, key, value; a set becomes an array;
//! a double becomes a bulk string; a boolean becomes the integer 1 or 0; both nulls become `$-1`
//! or `*-1`. Source: the Redis protocol specification (RESP3 section, "RESP2 compatibility").
//!
//! Encoding is our own rather than `redis-protocol`'s frame encoder because replies must keep
//! their order (RESP3 maps there are hash maps) and the hot path writes straight into the
//! connection's output buffer without building intermediate frames.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

/// The protocol version a connection speaks (`HELLO 2` or `HELLO 3`; new connections speak 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

impl Protocol {
    /// The number a client passes to `HELLO` and sees in its `proto` field.
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// One reply to one command, in protocol-neutral form.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A status reply such as `+OK`.
    Simple(Cow<'static, str>),
    /// An error reply; the text carries its Redis prefix (`ERR ...`, `WRONGTYPE ...`).
    Error(Cow<'static, str>),
    /// An integer reply.
    Int(i64),
    /// A bulk string.
    Bulk(Bytes),
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    Null,
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    NullArray,
    /// An array of replies.
    Array(Vec<Reply>),
    /// An ordered map (RESP3 `%`; a flat array in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// A set (RESP3 `~`; an array in RESP2).
    Set(Vec<Reply>),
    /// A double (RESP3 `,`; a bulk string in RESP2), printed as [`format_double`] does.
    Double(f64),
    /// A boolean (RESP3 `#`; the integer 1 or 0 in RESP2).
    Bool(bool),
    /// A verbatim string with a three-letter format such as `txt` (RESP3 `=`; bulk in RESP2).
    Verbatim(&'static str, Bytes),
    /// Out-of-band data such as a pub/sub message (RESP3 `>`; an array in RESP2).
    Push(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub const fn ok() -> Reply {
        Reply::Simple(Cow::Borrowed("OK"))
    }

    /// A status reply from static text.
    pub const fn simple(text: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(text))
    }

    /// An error reply from static text, which must start with its prefix (`ERR `, `WRONGTYPE `).
    pub const fn error(text: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(text))
    }

    /// An error reply from formatted text, which must start with its prefix.
    pub fn error_owned(text: String) -> Reply {
        Reply::Error(Cow::Owned(text))
    }

    /// A bulk string copied from `data`.
    pub fn bulk(data: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(data.as_ref()))
    }

    /// A bulk string from a static string, without copying.
    pub fn bulk_static(data: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(data.as_bytes()))
    }

    /// True for error replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends this reply's encoding in `protocol` to `out`.
    pub fn encode(&self, protocol: Protocol, out: &mut BytesMut) {
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Reply::Simple(text) => line(out, b'+', text.as_bytes()),
            Reply::Error(text) => error_line(out, text.as_bytes()),
            Reply::Int(n) => int_line(out, b':', *n),
            Reply::Bulk(data) => bulk(out, data),
            Reply::Null if resp3 => out.put_slice(b"_\r\n"),
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                int_line(out, b'*', items.len() as i64);
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Reply::Set(items) => {
                int_line(out, if resp3 { b'~' } else { b'*' }, items.len() as i64);
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Reply::Map(pairs) => {
                if resp3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (key, value) in pairs {
                    key.encode(protocol, out);
                    value.encode(protocol, out);
                }
            }
            Reply::Double(value) => {
                let text = format_double(*value);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, text.as_bytes());
                }
            }
            Reply::Bool(value) if resp3 => {
                out.put_slice(if *value { b"#t\r\n" } else { b"#f\r\n" })
            }
            Reply::Bool(value) => int_line(out, b':', i64::from(*value)),
            Reply::Verbatim(format, data) if resp3 => {
                int_line(out, b'=', (data.len() + 4) as i64);
                out.put_slice(format.as_bytes());
                out.put_u8(b':');
                out.put_slice(data);
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(_, data) => bulk(out, data),
            Reply::Push(items) => {
                int_line(out, if resp3 { b'>' } else { b'*' }, items.len() as i64);
                for item in items {
                    item.encode(protocol, out);
                }
            }
        }
    }
}

impl From<i64> for Reply {
    fn from(n: i64) -> Reply {
        Reply::Int(n)
    }
}

impl From<Bytes> for Reply {
    fn from(data: Bytes) -> Reply {
        Reply::Bulk(data)
    }
}

impl From<Option<Bytes>> for Reply {
    fn from(data: Option<Bytes>) -> Reply {
        data.map_or(Reply::Null, Reply::Bulk)
    }
}

fn line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

/// An error line. Errors often quote client input (a command name, an argument, a script), so
/// CR and LF become spaces, as Redis's `addReplyErrorFormat` does: one line, whatever the
/// input, keeps the client's parser in step with the stream.
fn error_line(out: &mut BytesMut, text: &[u8]) {
    let start = out.len();
    line(out, b'-', text);
    let end = out.len() - 2;
    for byte in &mut out[start + 1..end] {
        if *byte == b'\r' || *byte == b'\n' {
            *byte = b' ';
        }
    }
}

fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut digits = itoa::Buffer::new();
    line(out, prefix, digits.format(n).as_bytes());
}

fn bulk(out: &mut BytesMut, data: &[u8]) {
    int_line(out, b'$', data.len() as i64);
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Prints a double the way Redis 7.2+ does in replies: the shortest text that reads back to the
/// same value, integral values without a fraction (`3`, not `3.0`), `inf`/`-inf`/`nan`, and
/// exponent notation (`1e+300`) only far from 1.
pub fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-5..1e21).contains(&magnitude) {
        let text = format!("{value}");
        return if text == "-0" { "-0".to_string() } else { text };
    }
    let text = format!("{value:e}");
    match text.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply, protocol: Protocol) -> String {
        let mut out = BytesMut::new();
        reply.encode(protocol, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn errors_stay_on_one_line() {
        let reply = Reply::error_owned("ERR unknown command 'a\r\nb', with args\n".into());
        assert_eq!(
            encoded(&reply, Protocol::Resp2),
            "-ERR unknown command 'a  b', with args \r\n"
        );
    }

    #[test]
    fn scalars() {
        assert_eq!(encoded(&Reply::ok(), Protocol::Resp2), "+OK\r\n");
        assert_eq!(encoded(&Reply::Int(-42), Protocol::Resp2), ":-42\r\n");
        assert_eq!(encoded(&Reply::bulk("hi"), Protocol::Resp2), "$2\r\nhi\r\n");
        assert_eq!(encoded(&Reply::Null, Protocol::Resp2), "$-1\r\n");
        assert_eq!(encoded(&Reply::NullArray, Protocol::Resp2), "*-1\r\n");
        assert_eq!(encoded(&Reply::Null, Protocol::Resp3), "_\r\n");
        assert_eq!(
            encoded(&Reply::error("ERR no"), Protocol::Resp3),
            "-ERR no\r\n"
        );
    }

    #[test]
    fn resp3_types_degrade_in_resp2() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(encoded(&map, Protocol::Resp2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(encoded(&map, Protocol::Resp3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(
            encoded(&Reply::Double(1.5), Protocol::Resp2),
            "$3\r\n1.5\r\n"
        );
        assert_eq!(encoded(&Reply::Double(1.5), Protocol::Resp3), ",1.5\r\n");
        assert_eq!(encoded(&Reply::Bool(true), Protocol::Resp2), ":1\r\n");
        assert_eq!(encoded(&Reply::Bool(false), Protocol::Resp3), "#f\r\n");
        let set = Reply::Set(vec![Reply::bulk("x")]);
        assert_eq!(encoded(&set, Protocol::Resp3), "~1\r\n$1\r\nx\r\n");
        let verbatim = Reply::Verbatim("txt", Bytes::from_static(b"hi"));
        assert_eq!(encoded(&verbatim, Protocol::Resp3), "=6\r\ntxt:hi\r\n");
        assert_eq!(encoded(&verbatim, Protocol::Resp2), "$2\r\nhi\r\n");
    }

    #[test]
    fn doubles_print_like_redis() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1.1), "1.1");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(1e300), "1e+300");
        assert_eq!(format_double(1.5e-7), "1.5e-7");
        assert_eq!(format_double(0.0), "0");
    }
}
