//! `XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...` and `XREADGROUP GROUP g c [COUNT n]
//! [BLOCK ms] [NOACK] STREAMS key ... id ...`, over several streams, blocking or not.
//!
//! All keys (and, for XREADGROUP, their groups) are checked before any stream is served, as in
//! Redis's `xreadCommand`. The reply holds, per stream with something to serve, its entries: a
//! RESP2 array of `[key, entries]` pairs, a RESP3 map key → entries; a null array when nothing
//! was served (after BLOCK's timeout too). With BLOCK and nothing to serve the client registers
//! in the blocking registry (`BlockKind::Stream`) with its request rewritten so `$` means the
//! last ID at the time it blocked; an XADD (from any client, or from the primary's stream on a
//! standby) makes the key ready and the request runs again through [`serve_blocked`]. BLOCK 0
//! waits forever. While blocking is forbidden (`BlockingRegistry::may_block`, as inside
//! `EXEC`) BLOCK answers at once. A blocked XREADGROUP whose key is deleted gets
//! `UNBLOCKED the stream key no longer exists`; one whose group is destroyed gets NOGROUP.

use std::time::Duration;

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::{Protocol, Reply};
use tokio::time::Instant;

use super::super::{CmdResult, Ctx};
use crate::blocking::{BlockKind, BlockWait, Blocked};
use crate::value::stream::id::StreamId;
use crate::value::stream::xgroup::xreadgroup_one;
use crate::value::stream::xrange::{xread_one, ReadStart, XReadRequest};
use crate::value::stream::Propagate;
use crate::value::StreamValue;

/// Redis's error to a blocked XREADGROUP whose key was deleted (or now holds another type).
const KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";

/// `XREAD`.
pub(crate) fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, false)
}

/// `XREADGROUP`.
pub(crate) fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, true)
}

fn run(ctx: &mut Ctx, args: &[Bytes], group: bool) -> CmdResult {
    let req = XReadRequest::parse(&args[1..], group)?;
    let starts = resolve(ctx, &req)?;
    if let Some(reply) = serve(ctx, &req, &starts)? {
        return Ok(reply);
    }
    let Some(block_ms) = req.block_ms else {
        return Ok(Reply::NullArray);
    };
    if !ctx.store.blocking.may_block() {
        return Ok(Reply::NullArray);
    }
    // Run again later with `$` fixed to the IDs it stood for now.
    let mut stored = args.to_vec();
    let first_id = stored.len() - req.ids.len();
    for (i, start) in starts.iter().enumerate() {
        if let ReadStart::After(id) = start {
            stored[first_id + i] = id.to_bytes();
        }
    }
    let command = ctx.command.expect("dispatch sets the running command");
    let deadline =
        (block_ms > 0).then(|| Instant::now() + Duration::from_millis(block_ms.min(1 << 40)));
    ctx.store.blocking.block(Blocked {
        handle: ctx.session.handle.clone(),
        db: ctx.session.db,
        keys: req.keys.clone(),
        command,
        args: stored,
        kind: BlockKind::Stream,
        wait: BlockWait {
            slot: Default::default(),
            deadline,
        },
    });
    // Placeholder: the connection sees its client blocked and waits for the real reply.
    Ok(Reply::NullArray)
}

/// Runs a blocked XREAD/XREADGROUP again for its client: the reply, or `None` while there is
/// still nothing to serve.
pub(crate) fn serve_blocked(ctx: &mut Ctx, command: Resolved, args: &[Bytes]) -> Option<Reply> {
    let group = command.name() == "xreadgroup";
    let req = XReadRequest::parse(&args[1..], group).ok()?;
    if group {
        for key in &req.keys {
            if ctx.peek::<StreamValue>(key).map_or(true, |s| s.is_none()) {
                return Some(Reply::error(KEY_GONE));
            }
        }
    }
    let result = resolve(ctx, &req).and_then(|starts| serve(ctx, &req, &starts));
    match result {
        Ok(reply) => reply,
        Err(error) => Some(error),
    }
}

/// Checks every key (WRONGTYPE; for XREADGROUP, NOGROUP) and parses its ID, resolving `$`.
fn resolve(ctx: &mut Ctx, req: &XReadRequest) -> Result<Vec<ReadStart>, Reply> {
    let mut starts = Vec::with_capacity(req.keys.len());
    for (key, id) in req.keys.iter().zip(&req.ids) {
        let stream = ctx.read::<StreamValue>(key)?;
        if let Some((group, _)) = &req.group {
            if !stream.is_some_and(|s| s.groups().contains_key(group)) {
                return Err(Reply::error_owned(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(group)
                )));
            }
        }
        let start = ReadStart::parse(id, req.group.is_some())?;
        starts.push(match start {
            ReadStart::Last => ReadStart::After(start.resolve(stream)),
            other => other,
        });
    }
    Ok(starts)
}

/// Serves every stream that has something: the reply, or `None` when none had anything.
fn serve(ctx: &mut Ctx, req: &XReadRequest, starts: &[ReadStart]) -> Result<Option<Reply>, Reply> {
    let now_ms = ctx.now_ms as i64;
    let mut served: Vec<(Reply, Reply)> = Vec::new();
    for (key, start) in req.keys.iter().zip(starts) {
        let entries = match &req.group {
            None => {
                let after = match start {
                    ReadStart::After(id) => *id,
                    _ => StreamId::MAX,
                };
                ctx.peek::<StreamValue>(key)?
                    .and_then(|stream| xread_one(stream, after, req.count))
            }
            Some((group, consumer)) => {
                let consumers = super::consumer_count(ctx, key, group);
                let stream = ctx.write::<StreamValue>(key)?.expect("checked by resolve");
                let read = xreadgroup_one(
                    key, stream, group, consumer, *start, req.count, req.noack, now_ms,
                )?;
                if !read.effects.is_empty() {
                    super::record(ctx, Propagate::Effects(read.effects));
                }
                super::notify_created_consumer(ctx, key, group, consumers);
                read.entries
            }
        };
        if let Some(entries) = entries {
            served.push((Reply::Bulk(key.clone()), entries));
        }
    }
    if served.is_empty() {
        return Ok(None);
    }
    Ok(Some(if ctx.session.protocol == Protocol::Resp3 {
        Reply::Map(served)
    } else {
        Reply::Array(
            served
                .into_iter()
                .map(|(key, entries)| Reply::Array(vec![key, entries]))
                .collect(),
        )
    }))
}
