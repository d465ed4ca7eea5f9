//! The commands that add and remove entries: XADD, XTRIM, XDEL, XLEN, XSETID.
//!
//! `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] <*|id> field value ...`
//! replies the new ID as a bulk string (a null bulk with NOMKSTREAM on a missing key, which
//! the caller answers). `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]` and
//! `XDEL key id ...` reply an integer; `XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]`
//! replies `+OK`.

use bytes::Bytes;
use redoubt_protocol::{errors::wrong_arity, Reply};

use super::args::{self, is, SYNTAX};
use super::id::{AddId, StreamId};
use super::{Applied, Propagate, StreamValue, Trim, TrimStrategy};

/// Default LIMIT of an approximate trim: 100 blocks' worth (`100 * stream-node-max-entries`).
const DEFAULT_APPROX_LIMIT: u64 = 100 * super::entries::BLOCK_MAX_ENTRIES as u64;

/// Parsed trim options and where the threshold argument sits (for the replicated rewrite).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrimArgs {
    /// The trim to apply.
    pub(crate) trim: Trim,
    /// Index, in the arguments after the key, of the threshold.
    pub(crate) threshold_at: usize,
}

/// A parsed XADD, borrowing its arguments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct XAddRequest<'a> {
    args: &'a [Bytes],
    /// NOMKSTREAM: do not create a missing key (the caller replies a null bulk).
    pub(crate) no_mkstream: bool,
    /// Trim to apply after adding.
    pub(crate) trim: Option<TrimArgs>,
    /// The ID argument.
    pub(crate) id: AddId,
    id_at: usize,
}

/// Parses the options XADD and XTRIM share (`streamParseAddOrTrimArgsOrReply`). Returns the
/// trim, NOMKSTREAM, and for XADD the position of the ID. `from_primary`: a replicated command,
/// whose LIMIT is ignored.
fn parse_options(
    args: &[Bytes],
    xadd: bool,
    from_primary: bool,
) -> Result<(Option<TrimArgs>, bool, usize), Reply> {
    let mut strategy = None;
    let mut approx = false;
    let mut threshold_at = 0;
    let mut limit: Option<u64> = None;
    let mut no_mkstream = false;
    let mut i = 0;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && opt.as_ref() == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if strategy.is_some() {
                return Err(Reply::error(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            approx = false;
            let next = args[i + 1].as_ref();
            if more >= 2 && (next == b"~" || next == b"=") {
                approx = next == b"~";
                i += 1;
            }
            let value = &args[i + 1];
            strategy = Some(if is(opt, "maxlen") {
                let max = args::int(value)?;
                if max < 0 {
                    return Err(Reply::error("ERR The MAXLEN argument must be >= 0."));
                }
                TrimStrategy::MaxLen(max as u64)
            } else {
                TrimStrategy::MinId(StreamId::parse_strict(value, 0)?)
            });
            i += 1;
            threshold_at = i;
        } else if is(opt, "limit") && more > 0 {
            let value = args::int(&args[i + 1])?;
            if value < 0 {
                return Err(Reply::error("ERR The LIMIT argument must be >= 0."));
            }
            limit = Some(value as u64);
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            no_mkstream = true;
        } else if xadd {
            // The ID, validated by the caller.
            break;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    if limit.is_some_and(|l| l > 0) && strategy.is_none() {
        return Err(Reply::error(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && strategy.is_none() {
        return Err(Reply::error(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    let limit = if from_primary {
        0
    } else {
        match limit {
            Some(_) if !approx => {
                return Err(Reply::error(
                    "ERR syntax error, LIMIT cannot be used without the special ~ option",
                ))
            }
            Some(limit) => limit,
            None if approx => DEFAULT_APPROX_LIMIT,
            None => 0,
        }
    };
    let trim = strategy.map(|strategy| TrimArgs {
        trim: Trim {
            strategy,
            approx,
            limit,
        },
        threshold_at,
    });
    Ok((trim, no_mkstream, i))
}

impl<'a> XAddRequest<'a> {
    /// Parses XADD's arguments after the key. Redis answers a `0-0` ID here, before looking the
    /// key up, so a rejected XADD never creates the key.
    ///
    /// # Errors
    /// Syntax and ID errors with Redis's texts; the arity error when the field/value pairs are
    /// missing or odd; `ERR The ID specified in XADD must be greater than 0-0`.
    pub(crate) fn parse(args: &'a [Bytes], from_primary: bool) -> Result<XAddRequest<'a>, Reply> {
        let (trim, no_mkstream, id_at) = parse_options(args, true, from_primary)?;
        // Redis parses the ID inside the option loop, so a bad ID wins over the arity check.
        let id = match args.get(id_at) {
            Some(arg) => AddId::parse(arg)?,
            None => return Err(Reply::error_owned(wrong_arity("xadd"))),
        };
        let fields = args.len() - id_at - 1;
        if fields < 2 || fields % 2 == 1 {
            return Err(Reply::error_owned(wrong_arity("xadd")));
        }
        if id == AddId::Explicit(StreamId::MIN) {
            return Err(Reply::error(
                "ERR The ID specified in XADD must be greater than 0-0",
            ));
        }
        Ok(XAddRequest {
            args,
            no_mkstream,
            trim,
            id,
            id_at,
        })
    }
}

/// Applies XADD to a stream (the caller creates a missing one unless `no_mkstream`). Replies the
/// new ID; propagates the command with the concrete ID and, after an approximate trim,
/// `= <resulting threshold>` (`xaddCommand`). `streaming`: whether anything reads the
/// replication stream (standbys, the append-only file); without it the rewritten command is
/// not built, since nothing would read it.
pub(crate) fn xadd(
    key: &Bytes,
    req: &XAddRequest<'_>,
    stream: &mut StreamValue,
    now_ms: u64,
    streaming: bool,
) -> Applied {
    let pairs = &req.args[req.id_at + 1..];
    let id = match stream.append(req.id, pairs, now_ms) {
        Ok(id) => id,
        Err(text) => return Applied::read(Reply::error(text)),
    };
    if !streaming {
        if let Some(trim) = req.trim {
            stream.trim(trim.trim);
        }
        return Applied {
            reply: id.reply(),
            propagate: Propagate::Verbatim,
        };
    }
    let mut rewritten = false;
    let mut args = req.args.to_vec();
    if let Some(trim) = req.trim {
        stream.trim(trim.trim);
        if trim.trim.approx {
            args[trim.threshold_at - 1] = args::word("=");
            args[trim.threshold_at] = stream.trim_rewrite_arg(trim.trim.strategy);
            rewritten = true;
        }
    }
    if !matches!(req.id, AddId::Explicit(_)) {
        args[req.id_at] = id.to_bytes();
        rewritten = true;
    }
    let propagate = if rewritten {
        Propagate::Rewritten(full_argv("XADD", key, args))
    } else {
        Propagate::Verbatim
    };
    Applied {
        reply: id.reply(),
        propagate,
    }
}

fn full_argv(name: &'static str, key: &Bytes, args: Vec<Bytes>) -> Vec<Bytes> {
    let mut argv = Vec::with_capacity(args.len() + 2);
    argv.push(args::word(name));
    argv.push(key.clone());
    argv.extend(args);
    argv
}

/// A parsed XTRIM.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct XTrimRequest {
    args: Vec<Bytes>,
    /// The trim.
    pub(crate) trim: TrimArgs,
}

impl XTrimRequest {
    /// Parses XTRIM's arguments after the key.
    ///
    /// # Errors
    /// Redis's syntax, integer and ID errors.
    pub(crate) fn parse(args: &[Bytes], from_primary: bool) -> Result<XTrimRequest, Reply> {
        let (trim, _, _) = parse_options(args, false, from_primary)?;
        Ok(XTrimRequest {
            args: args.to_vec(),
            trim: trim.expect("XTRIM parsing demands a strategy"),
        })
    }
}

/// Applies XTRIM (a missing key replies 0 without calling this). Replies the entries removed;
/// an approximate trim that removed entries propagates as an exact one.
pub(crate) fn xtrim(key: &Bytes, req: &XTrimRequest, stream: &mut StreamValue) -> Applied {
    let removed = stream.trim(req.trim.trim);
    let reply = Reply::Int(removed as i64);
    if removed == 0 {
        return Applied::read(reply);
    }
    if !req.trim.trim.approx {
        return Applied::verbatim(reply);
    }
    let mut args = req.args.clone();
    args[req.trim.threshold_at - 1] = args::word("=");
    args[req.trim.threshold_at] = stream.trim_rewrite_arg(req.trim.trim.strategy);
    Applied {
        reply,
        propagate: Propagate::Rewritten(full_argv("XTRIM", key, args)),
    }
}

/// Parses XDEL's IDs (all are checked before any is deleted).
///
/// # Errors
/// [`super::id::INVALID_ID`].
pub(crate) fn parse_xdel(args: &[Bytes]) -> Result<Vec<StreamId>, Reply> {
    args.iter().map(|a| StreamId::parse_strict(a, 0)).collect()
}

/// Applies XDEL (a missing key replies 0 without calling this).
pub(crate) fn xdel(ids: &[StreamId], stream: &mut StreamValue) -> Applied {
    let deleted = stream.delete(ids);
    let reply = Reply::Int(deleted as i64);
    if deleted > 0 {
        Applied::verbatim(reply)
    } else {
        Applied::read(reply)
    }
}

/// XLEN: the entry count, 0 for a missing key.
pub(crate) fn xlen(stream: Option<&StreamValue>) -> Reply {
    Reply::Int(stream.map_or(0, |s| s.len() as i64))
}

/// A parsed XSETID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct XSetIdRequest {
    /// The new last ID.
    pub(crate) last_id: StreamId,
    /// ENTRIESADDED.
    pub(crate) entries_added: Option<u64>,
    /// MAXDELETEDID (0-0 means not given, as in Redis).
    pub(crate) max_deleted: StreamId,
}

impl XSetIdRequest {
    /// Parses XSETID's arguments after the key.
    ///
    /// # Errors
    /// Redis's ID, integer and syntax errors, `ERR entries_added must be positive`, and
    /// `ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id`.
    pub(crate) fn parse(args: &[Bytes]) -> Result<XSetIdRequest, Reply> {
        let Some(first) = args.first() else {
            return Err(Reply::error_owned(wrong_arity("xsetid")));
        };
        let last_id = StreamId::parse_strict(first, 0)?;
        let mut req = XSetIdRequest {
            last_id,
            entries_added: None,
            max_deleted: StreamId::MIN,
        };
        let mut i = 1;
        while i < args.len() {
            let more = args.len() - 1 - i;
            if is(&args[i], "entriesadded") && more > 0 {
                let n = args::int(&args[i + 1])?;
                if n < 0 {
                    return Err(Reply::error("ERR entries_added must be positive"));
                }
                req.entries_added = Some(n as u64);
            } else if is(&args[i], "maxdeletedid") && more > 0 {
                let id = StreamId::parse_strict(&args[i + 1], 0)?;
                if last_id < id {
                    return Err(Reply::error(
                        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                    ));
                }
                req.max_deleted = id;
            } else {
                return Err(Reply::error(SYNTAX));
            }
            i += 2;
        }
        Ok(req)
    }
}

/// Applies XSETID; a missing key replies `ERR no such key`.
pub(crate) fn xsetid(req: &XSetIdRequest, stream: Option<&mut StreamValue>) -> Applied {
    let Some(stream) = stream else {
        return Applied::read(Reply::error("ERR no such key"));
    };
    // Redis 7.2 (7.0 did not check this).
    if req.last_id < stream.max_deleted_id() {
        return Applied::read(Reply::error(
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ));
    }
    if let Some(top) = stream.last_entry_id() {
        if req.last_id < top {
            return Applied::read(Reply::error(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if req.entries_added.is_some_and(|added| stream.len() > added) {
            return Applied::read(Reply::error(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    let max_deleted = (!req.max_deleted.is_zero()).then_some(req.max_deleted);
    stream.set_id(req.last_id, req.entries_added, max_deleted);
    Applied::verbatim(Reply::ok())
}
