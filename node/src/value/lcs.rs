//! The core of `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]`: the longest common
//! subsequence of two strings by the classic dynamic-programming table, bounded the way Redis
//! bounds it. Key access stays with the caller: it reads both keys (a missing key is the empty
//! string; any other type gets [`NOT_STRINGS`]), parses the options, then calls [`lcs`].
//! Source: Redis 7.2 `t_string.c` (`lcsCommand`).

use bytes::Bytes;
use redoubt_protocol::Reply;

/// Redis's reply when either key holds something other than a string (checked before the
/// options are parsed).
pub(crate) const NOT_STRINGS: &str = "ERR The specified keys must contain string values";

/// The options of an `LCS` request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LcsOptions {
    /// `LEN`: reply with the length only.
    pub(crate) len: bool,
    /// `IDX`: reply with the matching ranges and the length.
    pub(crate) idx: bool,
    /// `MINMATCHLEN n`: with `IDX`, leave out ranges shorter than `n` (negative counts as 0).
    pub(crate) min_match_len: u64,
    /// `WITHMATCHLEN`: with `IDX`, give each range's length.
    pub(crate) with_match_len: bool,
}

impl LcsOptions {
    /// Parses the options from the full argument vector (`LCS key1 key2 ...`, arity checked
    /// by the command table).
    ///
    /// # Errors
    /// `ERR syntax error` for an unknown option or `MINMATCHLEN` without its value; `ERR value
    /// is not an integer or out of range`; `ERR If you want both the length and indexes,
    /// please just use IDX.` for `LEN` with `IDX`.
    pub(crate) fn parse(args: &[Bytes]) -> Result<LcsOptions, Reply> {
        let mut opts = LcsOptions::default();
        let mut i = 3;
        while i < args.len() {
            let arg = &args[i][..];
            let is = |word: &str| arg.eq_ignore_ascii_case(word.as_bytes());
            if is("idx") {
                opts.idx = true;
            } else if is("len") {
                opts.len = true;
            } else if is("withmatchlen") {
                opts.with_match_len = true;
            } else if is("minmatchlen") && i + 1 < args.len() {
                let n = super::parse_canonical_i64(&args[i + 1])
                    .ok_or(Reply::error("ERR value is not an integer or out of range"))?;
                opts.min_match_len = n.max(0) as u64;
                i += 1;
            } else {
                return Err(Reply::error("ERR syntax error"));
            }
            i += 1;
        }
        if opts.len && opts.idx {
            return Err(Reply::error(
                "ERR If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(opts)
    }
}

/// The longest common subsequence of `a` and `b`. The reply is the subsequence (a bulk
/// string); with `LEN` its length (an integer); with `IDX` a map (a flat array in RESP2)
/// `matches` → ranges from the end of the strings backwards, each
/// `[[a_start, a_end], [b_start, b_end]]` (inclusive byte offsets) plus its length with
/// `WITHMATCHLEN`, and `len` → the length. Where several subsequences are longest, the one
/// Redis's backtrack picks. `max_bytes` is `proto-max-bulk-len`: the table of
/// `(len(a) + 1) × (len(b) + 1)` 32-bit cells may not exceed it.
///
/// # Errors
/// `ERR String too long for LCS` for a string of 2^32 - 2 bytes or more; `ERR Insufficient
/// memory, transient memory for LCS exceeds proto-max-bulk-len` when the table would exceed
/// `max_bytes`; `ERR Insufficient memory, failed allocating transient memory for LCS` when
/// the allocation fails.
pub(crate) fn lcs(a: &[u8], b: &[u8], opts: &LcsOptions, max_bytes: u64) -> Result<Reply, Reply> {
    if a.len() as u64 >= u64::from(u32::MAX - 1) || b.len() as u64 >= u64::from(u32::MAX - 1) {
        return Err(Reply::error("ERR String too long for LCS"));
    }
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > u128::from(max_bytes) {
        return Err(Reply::error(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let width = b.len() + 1;
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return Err(Reply::error(
            "ERR Insufficient memory, failed allocating transient memory for LCS",
        ));
    }
    table.resize(cells as usize, 0);
    // table[i * width + j]: the LCS length of a[..i] and b[..j].
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let at = |i: usize, j: usize| table[i * width + j];
    let total = at(a.len(), b.len());
    if opts.len {
        return Ok(Reply::Int(i64::from(total)));
    }
    let (subsequence, matches) = backtrack(a, b, &at, total as usize, opts);
    if !opts.idx {
        return Ok(Reply::Bulk(Bytes::from(subsequence)));
    }
    Ok(Reply::Map(vec![
        (Reply::bulk_static("matches"), Reply::Array(matches)),
        (Reply::bulk_static("len"), Reply::Int(i64::from(total))),
    ]))
}

/// Walks the table back from its last cell, collecting the subsequence and (with `IDX`) the
/// ranges of contiguous matches, as Redis's loop does: a range closes on a mismatch step or
/// when it reaches the first byte of either string.
fn backtrack(
    a: &[u8],
    b: &[u8],
    at: &impl Fn(usize, usize) -> u32,
    total: usize,
    opts: &LcsOptions,
) -> (Vec<u8>, Vec<Reply>) {
    let mut subsequence = vec![0u8; total];
    let mut filled = total;
    let mut matches = Vec::new();
    // The open range: (a_start, a_end, b_start, b_end).
    let mut open: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            subsequence[filled - 1] = a[i - 1];
            filled -= 1;
            match &mut open {
                None => open = Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a_start, _, b_start, _)) if *a_start == i && *b_start == j => {
                    *a_start -= 1;
                    *b_start -= 1;
                }
                Some(_) => emit = true,
            }
            if open.is_some_and(|(a_start, _, b_start, _)| a_start == 0 || b_start == 0) {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = open.is_some();
        }
        if emit {
            if let Some((a_start, a_end, b_start, b_end)) = open.take() {
                let len = (a_end - a_start + 1) as u64;
                if opts.idx && len >= opts.min_match_len {
                    let pair = |s: usize, e: usize| {
                        Reply::Array(vec![Reply::Int(s as i64), Reply::Int(e as i64)])
                    };
                    let mut range = vec![pair(a_start, a_end), pair(b_start, b_end)];
                    if opts.with_match_len {
                        range.push(Reply::Int(len as i64));
                    }
                    matches.push(Reply::Array(range));
                }
            }
        }
    }
    (subsequence, matches)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use redoubt_protocol::Protocol;

    use super::*;

    /// `proto-max-bulk-len` of the server the cases were recorded on (`CONFIG SET
    /// proto-max-bulk-len 1mb`, its smallest value).
    const MAX_BYTES: u64 = 1 << 20;

    /// `(key1, key2, options, RESP2 reply, RESP3 reply or "=" when the same)`, observed on
    /// redis-server 7.0.15 (its `lcsCommand` is the same as 7.2's) by a seeded script.
    /// `@<n>a`/`@<n>b` stand for `n` bytes of `abab...`/`baba...`.
    #[rustfmt::skip]
    const CASES: &[(&str, &str, &[&str], &str, &str)] = &[
        ("ohmytext", "mynewtext", &[], "$6\r\nmytext\r\n", "="),
        ("ohmytext", "mynewtext", &["LEN"], ":6\r\n", "="),
        ("ohmytext", "mynewtext", &["IDX"], "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"),
        ("ohmytext", "mynewtext", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n"),
        ("ohmytext", "mynewtext", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n"),
        ("ohmytext", "mynewtext", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"),
        ("", "", &[], "$0\r\n\r\n", "="),
        ("", "", &["LEN"], ":0\r\n", "="),
        ("", "", &["IDX"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("", "", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("", "", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("", "", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "", &[], "$0\r\n\r\n", "="),
        ("abc", "", &["LEN"], ":0\r\n", "="),
        ("abc", "", &["IDX"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abcdef", "abcdef", &[], "$6\r\nabcdef\r\n", "="),
        ("abcdef", "abcdef", &["LEN"], ":6\r\n", "="),
        ("abcdef", "abcdef", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n$3\r\nlen\r\n:6\r\n"),
        ("abcdef", "abcdef", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n:6\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n:6\r\n$3\r\nlen\r\n:6\r\n"),
        ("abcdef", "abcdef", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n:6\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n:6\r\n$3\r\nlen\r\n:6\r\n"),
        ("abcdef", "abcdef", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:5\r\n*2\r\n:0\r\n:5\r\n$3\r\nlen\r\n:6\r\n"),
        ("abc", "xyz", &[], "$0\r\n\r\n", "="),
        ("abc", "xyz", &["LEN"], ":0\r\n", "="),
        ("abc", "xyz", &["IDX"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "xyz", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "xyz", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("abc", "xyz", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("a", "a", &[], "$1\r\na\r\n", "="),
        ("a", "a", &["LEN"], ":1\r\n", "="),
        ("a", "a", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:1\r\n"),
        ("a", "a", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:1\r\n"),
        ("a", "a", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n"),
        ("a", "a", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n"),
        ("aaaa", "aa", &[], "$2\r\naa\r\n", "="),
        ("aaaa", "aa", &["LEN"], ":2\r\n", "="),
        ("aaaa", "aa", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:2\r\n"),
        ("aaaa", "aa", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n"),
        ("aaaa", "aa", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n"),
        ("aaaa", "aa", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n"),
        ("xaxbxcx", "abc", &[], "$3\r\nabc\r\n", "="),
        ("xaxbxcx", "abc", &["LEN"], ":3\r\n", "="),
        ("xaxbxcx", "abc", &["IDX"], "*4\r\n$7\r\nmatches\r\n*3\r\n*2\r\n*2\r\n:5\r\n:5\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:3\r\n:3\r\n*2\r\n:1\r\n:1\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:3\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*2\r\n*2\r\n:5\r\n:5\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:3\r\n:3\r\n*2\r\n:1\r\n:1\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:3\r\n"),
        ("xaxbxcx", "abc", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:5\r\n:5\r\n*2\r\n:2\r\n:2\r\n:1\r\n*3\r\n*2\r\n:3\r\n:3\r\n*2\r\n:1\r\n:1\r\n:1\r\n*3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:3\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:5\r\n:5\r\n*2\r\n:2\r\n:2\r\n:1\r\n*3\r\n*2\r\n:3\r\n:3\r\n*2\r\n:1\r\n:1\r\n:1\r\n*3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:3\r\n"),
        ("xaxbxcx", "abc", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:3\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:3\r\n"),
        ("xaxbxcx", "abc", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:3\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:3\r\n"),
        ("GAC", "AGCAT", &[], "$2\r\nAC\r\n", "="),
        ("GAC", "AGCAT", &["LEN"], ":2\r\n", "="),
        ("GAC", "AGCAT", &["IDX"], "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:2\r\n"),
        ("GAC", "AGCAT", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:2\r\n:2\r\n*2\r\n:2\r\n:2\r\n:1\r\n*3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:2\r\n:2\r\n*2\r\n:2\r\n:2\r\n:1\r\n*3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:2\r\n"),
        ("GAC", "AGCAT", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n"),
        ("GAC", "AGCAT", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n"),
        ("this is a test", "this was the test", &[], "$12\r\nthis s  test\r\n", "="),
        ("this is a test", "this was the test", &["LEN"], ":12\r\n", "="),
        ("this is a test", "this was the test", &["IDX"], "*4\r\n$7\r\nmatches\r\n*3\r\n*2\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n*2\r\n*2\r\n:6\r\n:7\r\n*2\r\n:7\r\n:8\r\n*2\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n$3\r\nlen\r\n:12\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*2\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n*2\r\n*2\r\n:6\r\n:7\r\n*2\r\n:7\r\n:8\r\n*2\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n$3\r\nlen\r\n:12\r\n"),
        ("this is a test", "this was the test", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n:5\r\n*3\r\n*2\r\n:6\r\n:7\r\n*2\r\n:7\r\n:8\r\n:2\r\n*3\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n:5\r\n$3\r\nlen\r\n:12\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n:5\r\n*3\r\n*2\r\n:6\r\n:7\r\n*2\r\n:7\r\n:8\r\n:2\r\n*3\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n:5\r\n$3\r\nlen\r\n:12\r\n"),
        ("this is a test", "this was the test", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n:5\r\n*3\r\n*2\r\n:6\r\n:7\r\n*2\r\n:7\r\n:8\r\n:2\r\n*3\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n:5\r\n$3\r\nlen\r\n:12\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n:5\r\n*3\r\n*2\r\n:6\r\n:7\r\n*2\r\n:7\r\n:8\r\n:2\r\n*3\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n:5\r\n$3\r\nlen\r\n:12\r\n"),
        ("this is a test", "this was the test", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n*2\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n$3\r\nlen\r\n:12\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:9\r\n:13\r\n*2\r\n:12\r\n:16\r\n*2\r\n*2\r\n:0\r\n:4\r\n*2\r\n:0\r\n:4\r\n$3\r\nlen\r\n:12\r\n"),
        ("aaaaaaaaaaaa", "aa", &[], "$2\r\naa\r\n", "="),
        ("aaaaaaaaaaaa", "aa", &["LEN"], ":2\r\n", "="),
        ("aaaaaaaaaaaa", "aa", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:10\r\n:11\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:10\r\n:11\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:2\r\n"),
        ("aaaaaaaaaaaa", "aa", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n"),
        ("aaaaaaaaaaaa", "aa", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:2\r\n"),
        ("aaaaaaaaaaaa", "aa", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n"),
        ("bad", "b", &[], "$1\r\nb\r\n", "="),
        ("bad", "b", &["LEN"], ":1\r\n", "="),
        ("bad", "b", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:1\r\n"),
        ("bad", "b", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:1\r\n"),
        ("bad", "b", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n"),
        ("bad", "b", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:1\r\n"),
        ("aaaaaaaaa", "aaaaaaaaaaaaaaaaa", &[], "$9\r\naaaaaaaaa\r\n", "="),
        ("aaaaaaaaa", "aaaaaaaaaaaaaaaaa", &["LEN"], ":9\r\n", "="),
        ("aaaaaaaaa", "aaaaaaaaaaaaaaaaa", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n$3\r\nlen\r\n:9\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n$3\r\nlen\r\n:9\r\n"),
        ("aaaaaaaaa", "aaaaaaaaaaaaaaaaa", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n:9\r\n$3\r\nlen\r\n:9\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n:9\r\n$3\r\nlen\r\n:9\r\n"),
        ("aaaaaaaaa", "aaaaaaaaaaaaaaaaa", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n:9\r\n$3\r\nlen\r\n:9\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n:9\r\n$3\r\nlen\r\n:9\r\n"),
        ("aaaaaaaaa", "aaaaaaaaaaaaaaaaa", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n$3\r\nlen\r\n:9\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:8\r\n*2\r\n:8\r\n:16\r\n$3\r\nlen\r\n:9\r\n"),
        ("aadbcbdda", "acccddaacdaacdcdcadcb", &[], "$7\r\naadcdda\r\n", "="),
        ("aadbcbdda", "acccddaacdaacdcdcadcb", &["LEN"], ":7\r\n", "="),
        ("aadbcbdda", "acccddaacdaacdcdcadcb", &["IDX"], "*4\r\n$7\r\nmatches\r\n*6\r\n*2\r\n*2\r\n:8\r\n:8\r\n*2\r\n:17\r\n:17\r\n*2\r\n*2\r\n:7\r\n:7\r\n*2\r\n:15\r\n:15\r\n*2\r\n*2\r\n:6\r\n:6\r\n*2\r\n:13\r\n:13\r\n*2\r\n*2\r\n:4\r\n:4\r\n*2\r\n:12\r\n:12\r\n*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:9\r\n:9\r\n*2\r\n*2\r\n:0\r\n:1\r\n*2\r\n:6\r\n:7\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*6\r\n*2\r\n*2\r\n:8\r\n:8\r\n*2\r\n:17\r\n:17\r\n*2\r\n*2\r\n:7\r\n:7\r\n*2\r\n:15\r\n:15\r\n*2\r\n*2\r\n:6\r\n:6\r\n*2\r\n:13\r\n:13\r\n*2\r\n*2\r\n:4\r\n:4\r\n*2\r\n:12\r\n:12\r\n*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:9\r\n:9\r\n*2\r\n*2\r\n:0\r\n:1\r\n*2\r\n:6\r\n:7\r\n$3\r\nlen\r\n:7\r\n"),
        ("aadbcbdda", "acccddaacdaacdcdcadcb", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*6\r\n*3\r\n*2\r\n:8\r\n:8\r\n*2\r\n:17\r\n:17\r\n:1\r\n*3\r\n*2\r\n:7\r\n:7\r\n*2\r\n:15\r\n:15\r\n:1\r\n*3\r\n*2\r\n:6\r\n:6\r\n*2\r\n:13\r\n:13\r\n:1\r\n*3\r\n*2\r\n:4\r\n:4\r\n*2\r\n:12\r\n:12\r\n:1\r\n*3\r\n*2\r\n:2\r\n:2\r\n*2\r\n:9\r\n:9\r\n:1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:6\r\n:7\r\n:2\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*6\r\n*3\r\n*2\r\n:8\r\n:8\r\n*2\r\n:17\r\n:17\r\n:1\r\n*3\r\n*2\r\n:7\r\n:7\r\n*2\r\n:15\r\n:15\r\n:1\r\n*3\r\n*2\r\n:6\r\n:6\r\n*2\r\n:13\r\n:13\r\n:1\r\n*3\r\n*2\r\n:4\r\n:4\r\n*2\r\n:12\r\n:12\r\n:1\r\n*3\r\n*2\r\n:2\r\n:2\r\n*2\r\n:9\r\n:9\r\n:1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:6\r\n:7\r\n:2\r\n$3\r\nlen\r\n:7\r\n"),
        ("aadbcbdda", "acccddaacdaacdcdcadcb", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:6\r\n:7\r\n:2\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:6\r\n:7\r\n:2\r\n$3\r\nlen\r\n:7\r\n"),
        ("aadbcbdda", "acccddaacdaacdcdcadcb", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:7\r\n"),
        ("abcbbdddabddcbd", "cdcdbbabbbbadbcca", &[], "$7\r\ncddabbd\r\n", "="),
        ("abcbbdddabddcbd", "cdcdbbabbbbadbcca", &["LEN"], ":7\r\n", "="),
        ("abcbbdddabddcbd", "cdcdbbabbbbadbcca", &["IDX"], "*4\r\n$7\r\nmatches\r\n*6\r\n*2\r\n*2\r\n:14\r\n:14\r\n*2\r\n:12\r\n:12\r\n*2\r\n*2\r\n:13\r\n:13\r\n*2\r\n:10\r\n:10\r\n*2\r\n*2\r\n:8\r\n:9\r\n*2\r\n:6\r\n:7\r\n*2\r\n*2\r\n:7\r\n:7\r\n*2\r\n:3\r\n:3\r\n*2\r\n*2\r\n:6\r\n:6\r\n*2\r\n:1\r\n:1\r\n*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*6\r\n*2\r\n*2\r\n:14\r\n:14\r\n*2\r\n:12\r\n:12\r\n*2\r\n*2\r\n:13\r\n:13\r\n*2\r\n:10\r\n:10\r\n*2\r\n*2\r\n:8\r\n:9\r\n*2\r\n:6\r\n:7\r\n*2\r\n*2\r\n:7\r\n:7\r\n*2\r\n:3\r\n:3\r\n*2\r\n*2\r\n:6\r\n:6\r\n*2\r\n:1\r\n:1\r\n*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:7\r\n"),
        ("abcbbdddabddcbd", "cdcdbbabbbbadbcca", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*6\r\n*3\r\n*2\r\n:14\r\n:14\r\n*2\r\n:12\r\n:12\r\n:1\r\n*3\r\n*2\r\n:13\r\n:13\r\n*2\r\n:10\r\n:10\r\n:1\r\n*3\r\n*2\r\n:8\r\n:9\r\n*2\r\n:6\r\n:7\r\n:2\r\n*3\r\n*2\r\n:7\r\n:7\r\n*2\r\n:3\r\n:3\r\n:1\r\n*3\r\n*2\r\n:6\r\n:6\r\n*2\r\n:1\r\n:1\r\n:1\r\n*3\r\n*2\r\n:2\r\n:2\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*6\r\n*3\r\n*2\r\n:14\r\n:14\r\n*2\r\n:12\r\n:12\r\n:1\r\n*3\r\n*2\r\n:13\r\n:13\r\n*2\r\n:10\r\n:10\r\n:1\r\n*3\r\n*2\r\n:8\r\n:9\r\n*2\r\n:6\r\n:7\r\n:2\r\n*3\r\n*2\r\n:7\r\n:7\r\n*2\r\n:3\r\n:3\r\n:1\r\n*3\r\n*2\r\n:6\r\n:6\r\n*2\r\n:1\r\n:1\r\n:1\r\n*3\r\n*2\r\n:2\r\n:2\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:7\r\n"),
        ("abcbbdddabddcbd", "cdcdbbabbbbadbcca", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:8\r\n:9\r\n*2\r\n:6\r\n:7\r\n:2\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:8\r\n:9\r\n*2\r\n:6\r\n:7\r\n:2\r\n$3\r\nlen\r\n:7\r\n"),
        ("abcbbdddabddcbd", "cdcdbbabbbbadbcca", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:7\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:7\r\n"),
        ("bbbbbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbbbbb", &[], "$19\r\nbbbbbbbbbbbbbbbbbbb\r\n", "="),
        ("bbbbbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbbbbb", &["LEN"], ":19\r\n", "="),
        ("bbbbbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbbbbb", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n$3\r\nlen\r\n:19\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n$3\r\nlen\r\n:19\r\n"),
        ("bbbbbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbbbbb", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n:19\r\n$3\r\nlen\r\n:19\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n:19\r\n$3\r\nlen\r\n:19\r\n"),
        ("bbbbbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbbbbb", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n:19\r\n$3\r\nlen\r\n:19\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n:19\r\n$3\r\nlen\r\n:19\r\n"),
        ("bbbbbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbbbbb", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n$3\r\nlen\r\n:19\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:18\r\n*2\r\n:0\r\n:18\r\n$3\r\nlen\r\n:19\r\n"),
        ("bb", "bbbbbbbbbbbbbbbbbbbbbbb", &[], "$2\r\nbb\r\n", "="),
        ("bb", "bbbbbbbbbbbbbbbbbbbbbbb", &["LEN"], ":2\r\n", "="),
        ("bb", "bbbbbbbbbbbbbbbbbbbbbbb", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:1\r\n*2\r\n:21\r\n:22\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:1\r\n*2\r\n:21\r\n:22\r\n$3\r\nlen\r\n:2\r\n"),
        ("bb", "bbbbbbbbbbbbbbbbbbbbbbb", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:21\r\n:22\r\n:2\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:21\r\n:22\r\n:2\r\n$3\r\nlen\r\n:2\r\n"),
        ("bb", "bbbbbbbbbbbbbbbbbbbbbbb", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:21\r\n:22\r\n:2\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:21\r\n:22\r\n:2\r\n$3\r\nlen\r\n:2\r\n"),
        ("bb", "bbbbbbbbbbbbbbbbbbbbbbb", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:2\r\n"),
        ("aacdcbcdcca", "abdbcbd", &[], "$5\r\nadbcd\r\n", "="),
        ("aacdcbcdcca", "abdbcbd", &["LEN"], ":5\r\n", "="),
        ("aacdcbcdcca", "abdbcbd", &["IDX"], "*4\r\n$7\r\nmatches\r\n*4\r\n*2\r\n*2\r\n:7\r\n:7\r\n*2\r\n:6\r\n:6\r\n*2\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n*2\r\n*2\r\n:3\r\n:3\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:5\r\n", "%2\r\n$7\r\nmatches\r\n*4\r\n*2\r\n*2\r\n:7\r\n:7\r\n*2\r\n:6\r\n:6\r\n*2\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n*2\r\n*2\r\n:3\r\n:3\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:5\r\n"),
        ("aacdcbcdcca", "abdbcbd", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*4\r\n*3\r\n*2\r\n:7\r\n:7\r\n*2\r\n:6\r\n:6\r\n:1\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n*3\r\n*2\r\n:3\r\n:3\r\n*2\r\n:2\r\n:2\r\n:1\r\n*3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:5\r\n", "%2\r\n$7\r\nmatches\r\n*4\r\n*3\r\n*2\r\n:7\r\n:7\r\n*2\r\n:6\r\n:6\r\n:1\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n*3\r\n*2\r\n:3\r\n:3\r\n*2\r\n:2\r\n:2\r\n:1\r\n*3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:5\r\n"),
        ("aacdcbcdcca", "abdbcbd", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n$3\r\nlen\r\n:5\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n$3\r\nlen\r\n:5\r\n"),
        ("aacdcbcdcca", "abdbcbd", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:5\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:5\r\n"),
        ("adcaadbdbdcadddabbb", "", &[], "$0\r\n\r\n", "="),
        ("adcaadbdbdcadddabbb", "", &["LEN"], ":0\r\n", "="),
        ("adcaadbdbdcadddabbb", "", &["IDX"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("adcaadbdbdcadddabbb", "", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("adcaadbdbdcadddabbb", "", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("adcaadbdbdcadddabbb", "", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        ("bbbbbbbbbbbbbbbbbbbb", "bbbb", &[], "$4\r\nbbbb\r\n", "="),
        ("bbbbbbbbbbbbbbbbbbbb", "bbbb", &["LEN"], ":4\r\n", "="),
        ("bbbbbbbbbbbbbbbbbbbb", "bbbb", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n"),
        ("bbbbbbbbbbbbbbbbbbbb", "bbbb", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n"),
        ("bbbbbbbbbbbbbbbbbbbb", "bbbb", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n"),
        ("bbbbbbbbbbbbbbbbbbbb", "bbbb", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:16\r\n:19\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n"),
        ("bbadbabbbdaacdaa", "bcaadaa", &[], "$6\r\nbaadaa\r\n", "="),
        ("bbadbabbbdaacdaa", "bcaadaa", &["LEN"], ":6\r\n", "="),
        ("bbadbabbbdaacdaa", "bcaadaa", &["IDX"], "*4\r\n$7\r\nmatches\r\n*3\r\n*2\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n*2\r\n*2\r\n:10\r\n:11\r\n*2\r\n:2\r\n:3\r\n*2\r\n*2\r\n:8\r\n:8\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*2\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n*2\r\n*2\r\n:10\r\n:11\r\n*2\r\n:2\r\n:3\r\n*2\r\n*2\r\n:8\r\n:8\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:6\r\n"),
        ("bbadbabbbdaacdaa", "bcaadaa", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n:3\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:2\r\n:3\r\n:2\r\n*3\r\n*2\r\n:8\r\n:8\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*3\r\n*3\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n:3\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:2\r\n:3\r\n:2\r\n*3\r\n*2\r\n:8\r\n:8\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"),
        ("bbadbabbbdaacdaa", "bcaadaa", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n:3\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:2\r\n:3\r\n:2\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n:3\r\n*3\r\n*2\r\n:10\r\n:11\r\n*2\r\n:2\r\n:3\r\n:2\r\n$3\r\nlen\r\n:6\r\n"),
        ("bbadbabbbdaacdaa", "bcaadaa", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:13\r\n:15\r\n*2\r\n:4\r\n:6\r\n$3\r\nlen\r\n:6\r\n"),
        ("aaaaaaaaaaaaaaaaaaaaaa", "aaaa", &[], "$4\r\naaaa\r\n", "="),
        ("aaaaaaaaaaaaaaaaaaaaaa", "aaaa", &["LEN"], ":4\r\n", "="),
        ("aaaaaaaaaaaaaaaaaaaaaa", "aaaa", &["IDX"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n"),
        ("aaaaaaaaaaaaaaaaaaaaaa", "aaaa", &["IDX", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n"),
        ("aaaaaaaaaaaaaaaaaaaaaa", "aaaa", &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n"),
        ("aaaaaaaaaaaaaaaaaaaaaa", "aaaa", &["idx", "minmatchlen", "3"], "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n", "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:18\r\n:21\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n"),
        ("ohmytext", "mynewtext", &["LEN", "IDX"], "-ERR If you want both the length and indexes, please just use IDX.\r\n", "="),
        ("ohmytext", "mynewtext", &["IDX", "LEN", "bogus"], "-ERR syntax error\r\n", "="),
        ("ohmytext", "mynewtext", &["bogus"], "-ERR syntax error\r\n", "="),
        ("ohmytext", "mynewtext", &["MINMATCHLEN"], "-ERR syntax error\r\n", "="),
        ("ohmytext", "mynewtext", &["MINMATCHLEN", "x"], "-ERR value is not an integer or out of range\r\n", "="),
        ("ohmytext", "mynewtext", &["IDX", "MINMATCHLEN", "-5"], "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"),
        ("ohmytext", "mynewtext", &["IDX", "MINMATCHLEN", "9223372036854775808"], "-ERR value is not an integer or out of range\r\n", "="),
        ("ohmytext", "mynewtext", &["LEN", "WITHMATCHLEN", "MINMATCHLEN", "4"], ":6\r\n", "="),
        ("@500a", "@500b", &["LEN"], ":499\r\n", "="),
        ("@511a", "@511b", &["LEN"], ":510\r\n", "="),
        ("@512a", "@511b", &["LEN"], "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n", "="),
        ("@1000a", "@100b", &["LEN"], ":100\r\n", "="),
        ("@1a", "@262142b", &["LEN"], "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n", "="),
        ("@0a", "@262143b", &["LEN"], ":0\r\n", "="),
    ];

    fn expand(text: &str) -> Vec<u8> {
        let Some(spec) = text.strip_prefix('@') else {
            return text.as_bytes().to_vec();
        };
        let (n, first) = spec.split_at(spec.len() - 1);
        let n: usize = n.parse().unwrap();
        let pattern: &[u8] = if first == "a" { b"ab" } else { b"ba" };
        pattern.iter().copied().cycle().take(n).collect()
    }

    fn encode(reply: &Reply, protocol: Protocol) -> String {
        let mut out = BytesMut::new();
        reply.encode(protocol, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn matches_redis_replies() {
        for &(a, b, options, resp2, resp3) in CASES {
            let args: Vec<Bytes> = ["LCS", "k1", "k2"]
                .iter()
                .chain(options)
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect();
            let reply = LcsOptions::parse(&args)
                .and_then(|opts| lcs(&expand(a), &expand(b), &opts, MAX_BYTES))
                .unwrap_or_else(|e| e);
            let resp3 = if resp3 == "=" { resp2 } else { resp3 };
            let case = format!("LCS {a:?} {b:?} {options:?}");
            assert_eq!(encode(&reply, Protocol::Resp2), resp2, "{case}");
            assert_eq!(encode(&reply, Protocol::Resp3), resp3, "{case}");
        }
    }

    #[test]
    fn the_table_bound_counts_cells_of_four_bytes() {
        let opts = LcsOptions {
            len: true,
            ..LcsOptions::default()
        };
        // (3 + 1) × (4 + 1) cells × 4 bytes = 80 bytes.
        assert_eq!(lcs(b"abc", b"abcd", &opts, 80), Ok(Reply::Int(3)));
        assert!(lcs(b"abc", b"abcd", &opts, 79).is_err());
    }
}
