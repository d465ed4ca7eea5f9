//! Client-side caching around requests (`crate::tracking` keeps the state): a top-level
//! request is framed by `begin_command` / `end_command`, so invalidations for its own
//! client, and `BCAST` messages, go out once it (a whole `EXEC` or script) has ended; after
//! each command that ran, the keys of a read are remembered for its client and the keys of a
//! write that changed the dataset invalidated. Nothing runs here while no client tracks.
//! Source: Redis 7.2's `call()` (`trackingRememberKeys`) and `signalModifiedKey`.

use bytes::Bytes;
use redoubt_protocol::command_table::{CommandFlags, Resolved};
use redoubt_protocol::Reply;

use crate::cmd::Ctx;

/// Default `tracking-table-max-keys`.
const DEFAULT_MAX_KEYS: i64 = 1_000_000;

/// Runs the request `args` through `inner` inside a tracked command, unless one is running
/// already (the request is then a script's `redis.call`).
pub(crate) fn execute(
    ctx: &mut Ctx,
    args: &[Bytes],
    inner: fn(&mut Ctx, &[Bytes]) -> (Reply, Option<Resolved>),
) -> (Reply, Option<Resolved>) {
    if ctx.store.tracking.in_command() {
        // A script's `redis.call`: part of the script's command.
        return inner(ctx, args);
    }
    let max_keys = ctx
        .store
        .config
        .params
        .get_i64("tracking-table-max-keys")
        .unwrap_or(DEFAULT_MAX_KEYS);
    let limit = ctx.store.pubsub_limit();
    let (id, protocol) = (ctx.session.handle.id, ctx.session.protocol);
    ctx.store.tracking.begin_command(id, protocol);
    let (reply, resolved) = inner(ctx, args);
    // `CLIENT CACHING` lasts for the next command, or the whole transaction after `MULTI`.
    let keep_caching =
        ctx.session.multi.is_some() || resolved.is_some_and(|r| r.command.name == "client");
    let max_keys = max_keys.max(0) as usize;
    ctx.store
        .tracking
        .end_command(keep_caching, max_keys, limit);
    (reply, resolved)
}

/// After `resolved` ran: a flush invalidates every key, a write that `changed` the dataset
/// its keys, a read (not `EVAL_RO` & co., whose commands count one by one) is remembered.
pub(crate) fn after(
    ctx: &mut Ctx,
    resolved: Resolved,
    args: &[Bytes],
    reply: &Reply,
    changed: bool,
) {
    let limit = ctx.store.pubsub_limit();
    let name = resolved.name();
    let spec = resolved.spec();
    if matches!(name, "flushdb" | "flushall") && !matches!(reply, Reply::Error(_)) {
        ctx.store.tracking.invalidate_all(limit);
    } else if changed {
        for index in spec.key_indexes(args) {
            ctx.store.tracking.invalidate(&args[index], limit);
        }
    } else if spec.flags.contains(CommandFlags::READONLY)
        && !spec.flags.contains(CommandFlags::PUBSUB)
        && !matches!(name, "eval_ro" | "evalsha_ro" | "fcall_ro")
    {
        let id = ctx.session.handle.id;
        let keys = spec.key_indexes(args);
        ctx.store
            .tracking
            .remember(id, keys.into_iter().map(|i| &args[i]));
    }
}
