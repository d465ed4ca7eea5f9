//! Stream commands: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID, XINFO, XGROUP, XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM here; XREAD and XREADGROUP (with BLOCK) in [`read`].
//!
//! Each handler looks the key up (WRONGTYPE, creation, keyspace statistics) in the order Redis's
//! `t_stream.c` does relative to argument parsing, runs the command core from
//! `crate::value::stream`, and turns the core's `propagate` into what the standbys receive
//! (`Store::pending_effects`, read by `crate::exec::effects`). Each publishes its keyspace
//! events (class `t`) as Redis 7.2's `t_stream.c` does: `xadd` (and `xtrim` when it trimmed),
//! `xdel`, `xtrim`, `xsetid`, `xgroup-*`, and `xgroup-createconsumer` when a read or claim
//! creates a consumer.

pub(crate) mod read;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};
use crate::pubsub::events::STREAM;
use crate::value::stream::xadd::{self, XAddRequest, XSetIdRequest, XTrimRequest};
use crate::value::stream::xclaim::{self, XAutoClaimRequest, XPendingRequest};
use crate::value::stream::xgroup::{self, XGroupRequest};
use crate::value::stream::xinfo;
use crate::value::stream::xrange::{self, XRangeRequest};
use crate::value::stream::{Applied, Propagate};
use crate::value::{StreamValue, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("xadd", xadd),
    ("xrange", |ctx, args| range(ctx, args, false)),
    ("xrevrange", |ctx, args| range(ctx, args, true)),
    ("xlen", xlen),
    ("xdel", xdel),
    ("xtrim", xtrim),
    ("xsetid", xsetid),
    ("xinfo|stream", xinfo_stream),
    ("xinfo|groups", xinfo_groups),
    ("xinfo|consumers", xinfo_consumers),
    ("xinfo|help", |_, _| Ok(xinfo::help())),
    ("xgroup|create", xgroup),
    ("xgroup|setid", xgroup),
    ("xgroup|destroy", xgroup),
    ("xgroup|createconsumer", xgroup),
    ("xgroup|delconsumer", xgroup),
    ("xgroup|help", xgroup),
    ("xack", xack),
    ("xpending", xpending),
    ("xclaim", xclaim),
    ("xautoclaim", xautoclaim),
    ("xread", read::xread),
    ("xreadgroup", read::xreadgroup),
];

pub(crate) use read::serve_blocked;

/// Records a core's outcome: a change counts as one write, and its propagation is handed to
/// `exec::effects`. Returns the reply (an error reply as `Err`).
fn finish(ctx: &mut Ctx, applied: Applied) -> CmdResult {
    record(ctx, applied.propagate);
    match applied.reply {
        Reply::Error(_) => Err(applied.reply),
        reply => Ok(reply),
    }
}

/// Counts a change and stores its propagation (nothing for `Propagate::Nothing`).
fn record(ctx: &mut Ctx, propagate: Propagate) {
    let commands = match propagate {
        Propagate::Nothing => return,
        Propagate::Verbatim => None,
        Propagate::Rewritten(argv) => Some(vec![argv]),
        Propagate::Effects(list) => Some(list),
    };
    ctx.store.changed(1);
    if let Some(commands) = commands {
        ctx.store
            .pending_effects
            .get_or_insert_with(Vec::new)
            .extend(commands);
    }
}

/// As [`finish`], publishing keyspace event `event` (class `t`) on `key` when the command
/// changed the stream (Redis publishes after a change only: XDEL or XTRIM that removed
/// nothing publishes nothing).
fn finish_notifying(ctx: &mut Ctx, applied: Applied, event: &str, key: &[u8]) -> CmdResult {
    let changed = applied.propagate != Propagate::Nothing;
    let result = finish(ctx, applied);
    if changed {
        ctx.notify(STREAM, event, key);
    }
    result
}

/// Publishes `xgroup-createconsumer` on `key` when consumer `name` of `group` did not exist
/// before a read or claim (`consumers_before`: the group's consumer count then) and does now.
fn notify_created_consumer(ctx: &mut Ctx, key: &[u8], group: &[u8], consumers_before: usize) {
    let now = ctx
        .peek::<StreamValue>(key)
        .ok()
        .flatten()
        .and_then(|s| s.groups().get(group))
        .map_or(0, |g| g.consumers.len());
    if now > consumers_before {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
}

/// The number of consumers of `group` in the stream under `key` (0 when either is missing).
fn consumer_count(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> usize {
    ctx.peek::<StreamValue>(key)
        .ok()
        .flatten()
        .and_then(|s| s.groups().get(group))
        .map_or(0, |g| g.consumers.len())
}

fn now(ctx: &Ctx) -> i64 {
    ctx.now_ms as i64
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT n]] *|id field value ...` → the
/// new ID; a null bulk with NOMKSTREAM on a missing key. Wakes clients blocked in XREAD.
fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let req = XAddRequest::parse(&args[2..], ctx.session.primary_link)?;
    if req.no_mkstream && ctx.write::<StreamValue>(key)?.is_none() {
        return Ok(Reply::Null);
    }
    let now_ms = ctx.now_ms;
    let streaming = ctx.store.repl.streaming();
    let stream = ctx.write_or_create::<StreamValue>(key)?;
    let length = stream.len();
    let applied = xadd::xadd(key, &req, stream, now_ms, streaming);
    let added = !matches!(applied.reply, Reply::Error(_));
    let trimmed = added && stream.len() <= length;
    let result = finish(ctx, applied);
    if added {
        ctx.notify(STREAM, "xadd", key);
        if trimmed {
            ctx.notify(STREAM, "xtrim", key);
        }
        ctx.signal_key_ready(key);
    }
    result
}

/// `XRANGE key start end [COUNT n]` / `XREVRANGE key end start [COUNT n]` → entries.
fn range(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let req = XRangeRequest::parse(&args[2..], rev)?;
    let stream = ctx.read::<StreamValue>(&args[1])?;
    Ok(xrange::xrange(&req, stream))
}

/// `XLEN key` → entries (0 for a missing key).
fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(xadd::xlen(ctx.read::<StreamValue>(&args[1])?))
}

/// `XDEL key id ...` → entries deleted.
fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let ids = xadd::parse_xdel(&args[2..])?;
    let Some(stream) = ctx.write::<StreamValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let applied = xadd::xdel(&ids, stream);
    finish_notifying(ctx, applied, "xdel", &args[1])
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT n]` → entries removed (0 for a missing key;
/// the options are checked first, as in Redis).
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let req = XTrimRequest::parse(&args[2..], ctx.session.primary_link)?;
    let Some(stream) = ctx.write::<StreamValue>(key)? else {
        return Ok(Reply::Int(0));
    };
    let applied = xadd::xtrim(key, &req, stream);
    finish_notifying(ctx, applied, "xtrim", key)
}

/// `XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]` → `+OK`.
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let req = XSetIdRequest::parse(&args[2..])?;
    let stream = ctx.write::<StreamValue>(&args[1])?;
    let applied = xadd::xsetid(&req, stream);
    finish_notifying(ctx, applied, "xsetid", &args[1])
}

/// The stream under `key` for XINFO (`ERR no such key` when missing).
fn info_target<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a StreamValue, Reply> {
    ctx.read::<StreamValue>(key)?
        .ok_or(Reply::error("ERR no such key"))
}

/// `XINFO STREAM key [FULL [COUNT n]]`.
fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let stream = info_target(ctx, &args[2])?;
    match xinfo::xinfo_stream(stream, &args[1], &args[3..]) {
        reply @ Reply::Error(_) => Err(reply),
        reply => Ok(reply),
    }
}

/// `XINFO GROUPS key`.
fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(xinfo::xinfo_groups(info_target(ctx, &args[2])?))
}

/// `XINFO CONSUMERS key group` (NOGROUP when the group does not exist).
fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now_ms = now(ctx);
    let stream = info_target(ctx, &args[2])?;
    match xinfo::xinfo_consumers(stream, &args[2], &args[3], now_ms) {
        reply @ Reply::Error(_) => Err(reply),
        reply => Ok(reply),
    }
}

/// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...`. Destroying a group wakes
/// the clients blocked on it in XREADGROUP (they get NOGROUP).
fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let req = XGroupRequest::parse(&args[1..])?;
    let key = req.key().cloned();
    let now_ms = now(ctx);
    let (applied, created) = match &key {
        Some(key) => {
            let stream = ctx.write::<StreamValue>(key)?;
            xgroup::xgroup(&req, stream, now_ms)
        }
        None => xgroup::xgroup(&req, None, now_ms),
    };
    if let (Some(key), Some(stream)) = (&key, created) {
        ctx.db().set(key, Value::Stream(Box::new(stream)), None);
    }
    let changed = applied.propagate != Propagate::Nothing;
    let result = finish(ctx, applied);
    if let (true, Some(key)) = (changed, &key) {
        let event = match args[1].to_ascii_lowercase().as_slice() {
            b"create" => "xgroup-create",
            b"setid" => "xgroup-setid",
            b"destroy" => "xgroup-destroy",
            b"createconsumer" => "xgroup-createconsumer",
            _ => "xgroup-delconsumer",
        };
        ctx.notify(STREAM, event, key);
        if super::is(&args[1], "destroy") {
            ctx.signal_key_ready(key);
        }
    }
    result
}

/// `XACK key group id ...` → entries acknowledged.
fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let stream = ctx.write::<StreamValue>(&args[1])?;
    let applied = xgroup::xack(&args[2], &args[3..], stream);
    finish(ctx, applied)
}

/// `XPENDING key group [[IDLE ms] start end count [consumer]]`.
fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let req = XPendingRequest::parse(&args[2..])?;
    let now_ms = now(ctx);
    let stream = ctx.read::<StreamValue>(&args[1])?;
    match xclaim::xpending(&args[1], &req, stream, now_ms) {
        reply @ Reply::Error(_) => Err(reply),
        reply => Ok(reply),
    }
}

/// `XCLAIM key group consumer min-idle-time id ... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
/// [JUSTID] [LASTID id]`.
fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now_ms = now(ctx);
    let consumers = consumer_count(ctx, &args[1], &args[2]);
    let stream = ctx.write::<StreamValue>(&args[1])?;
    let applied = xclaim::xclaim(&args[1], &args[2..], stream, now_ms);
    let result = finish(ctx, applied);
    notify_created_consumer(ctx, &args[1], &args[2], consumers);
    result
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]`: WRONGTYPE first,
/// then argument errors, then NOGROUP, as in Redis.
fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.peek::<StreamValue>(&args[1])?;
    let req = XAutoClaimRequest::parse(&args[2..])?;
    let now_ms = now(ctx);
    let consumers = consumer_count(ctx, &args[1], &args[2]);
    let stream = ctx.write::<StreamValue>(&args[1])?;
    let applied = xclaim::xautoclaim(&args[1], &req, stream, now_ms);
    let result = finish(ctx, applied);
    notify_created_consumer(ctx, &args[1], &args[2], consumers);
    result
}
