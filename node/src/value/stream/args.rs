//! Small argument helpers shared by the stream command cores, with Redis's error texts.

use bytes::Bytes;
use redoubt_protocol::Reply;

/// `ERR syntax error`.
pub(crate) const SYNTAX: &str = "ERR syntax error";
/// `ERR value is not an integer or out of range`.
pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// True when `arg` equals `word`, ignoring ASCII case.
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Parses a signed 64-bit integer as Redis's `string2ll` does.
///
/// # Errors
/// [`NOT_INTEGER`].
pub(crate) fn int(arg: &[u8]) -> Result<i64, Reply> {
    int_or(arg, NOT_INTEGER)
}

/// Parses a signed 64-bit integer, replying `error` when it is not one.
///
/// # Errors
/// `error` (a full error text with its prefix).
pub(crate) fn int_or(arg: &[u8], error: &'static str) -> Result<i64, Reply> {
    crate::value::parse_canonical_i64(arg).ok_or(Reply::error(error))
}

/// Redis's `addReplySubcommandSyntaxError`:
/// `ERR unknown subcommand or wrong number of arguments for 'sub'. Try CMD HELP.`
pub(crate) fn subcommand_syntax(container: &str, sub: &[u8]) -> Reply {
    let sub: String = String::from_utf8_lossy(sub).chars().take(128).collect();
    Reply::error_owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {container} HELP."
    ))
}

/// Text of a key or name for an error message.
pub(crate) fn text(arg: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(arg)
}

/// A command's argv from static words and arguments.
pub(crate) fn argv<const N: usize>(words: [&Bytes; N]) -> Vec<Bytes> {
    words.into_iter().cloned().collect()
}

/// A static word as an argument.
pub(crate) fn word(w: &'static str) -> Bytes {
    Bytes::from_static(w.as_bytes())
}

/// An integer as an argument.
pub(crate) fn num(n: impl itoa::Integer) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes())
}
