//! Transactions and atomic units. `MULTI` makes the connection queue its checked commands;
//! `EXEC` runs them back to back within the one store lock acquisition that runs `EXEC`
//! itself, so the transaction is atomic however its requests were split across reads and
//! batches. The run is an atomic unit ([`run_unit`]): its writes stream to the standbys as
//! one `MULTI` ... `EXEC` block, and blocking commands in it behave as their non-blocking
//! forms. Scripts reuse [`begin_unit`], [`run_in_unit`] and [`end_unit`].
//! Source of the semantics: Redis's `multi.c` and `execCommand`.

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::Reply;

use crate::cmd::{transaction::unwatch_all, Ctx};

/// `EXEC` of a transaction that had a refused command.
const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// True for the commands that act on a transaction instead of being queued in it.
pub(crate) fn is_control(resolved: Resolved) -> bool {
    matches!(
        resolved.name(),
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Queues a checked command in the client's transaction.
pub(crate) fn queue(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) {
    if let Some(multi) = ctx.session.multi.as_mut() {
        multi.queued.push((resolved, args.to_vec()));
    }
}

/// `EXEC` inside `MULTI`: `EXECABORT` if a command was refused while queuing, a null array
/// if a watched key was touched, else the array of the queued commands' replies (errors
/// included). The watches end either way.
pub(crate) fn exec(ctx: &mut Ctx) -> Reply {
    let Some(multi) = ctx.session.multi.take() else {
        return Reply::error("ERR EXEC without MULTI");
    };
    if multi.failed {
        unwatch_all(ctx);
        return Reply::error(EXECABORT);
    }
    let touched = watched_touched(ctx);
    unwatch_all(ctx);
    if touched {
        return Reply::NullArray;
    }
    Reply::Array(run_unit(ctx, multi.queued))
}

/// `EXEC` refused by a check (a queued write on a standby, or from a fenced connection): the
/// transaction is discarded and the refusal reported as Redis's `execCommandAbort` does,
/// `-EXECABORT Transaction discarded because of: <error>`.
pub(crate) fn abort(ctx: &mut Ctx, refusal: &Reply) -> Reply {
    ctx.session.multi = None;
    unwatch_all(ctx);
    let why = match refusal {
        Reply::Error(text) => text.as_ref(),
        _ => "",
    };
    Reply::error_owned(format!("EXECABORT Transaction discarded because of: {why}"))
}

/// True when a key the client watches was written, or expired, since it was watched.
fn watched_touched(ctx: &mut Ctx) -> bool {
    let now = ctx.now_ms;
    let mut touched = false;
    for watched in &ctx.session.watched {
        if ctx.store.watches.version(watched.db, &watched.key) != watched.version
            || (watched.live && !ctx.store.dbs[watched.db].contains(&watched.key, now))
        {
            touched = true;
            break;
        }
    }
    ctx.store.propagate_expired();
    touched
}

/// Runs `commands` as one atomic unit; their replies in order.
pub(crate) fn run_unit(ctx: &mut Ctx, commands: Vec<(Resolved, Vec<Bytes>)>) -> Vec<Reply> {
    begin_unit(ctx);
    let replies = commands
        .into_iter()
        .map(|(resolved, args)| run_in_unit(ctx, resolved, &args))
        .collect();
    end_unit(ctx);
    replies
}

/// Opens an atomic unit (see [`crate::replication::Replication::begin_unit`]).
pub(crate) fn begin_unit(ctx: &mut Ctx) {
    ctx.session.in_atomic_unit = true;
    ctx.store.repl.begin_unit();
}

/// Closes an atomic unit opened by [`begin_unit`].
pub(crate) fn end_unit(ctx: &mut Ctx) {
    ctx.store.repl.end_unit();
    ctx.session.in_atomic_unit = false;
}

/// Runs one checked command inside an atomic unit. A blocking command that would block
/// answers at once as if its timeout had passed (`BLPOP` → null array, `BLMOVE` → null).
pub(crate) fn run_in_unit(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) -> Reply {
    let Some(handler) = super::table::handlers().handler(resolved.index) else {
        return Reply::error_owned(redoubt_protocol::errors::unknown_command(args));
    };
    let reply = super::run(ctx, resolved, handler, args);
    if ctx.store.blocking.remove(ctx.session.handle.id).is_some() {
        return match resolved.name() {
            "blmove" | "brpoplpush" => Reply::Null,
            _ => Reply::NullArray,
        };
    }
    reply
}

/// Before a write that empties databases (`FLUSHDB`, `FLUSHALL`, `SWAPDB`) or moves a key to
/// another one (`MOVE`): touches the watched keys it affects that exist.
pub(crate) fn touch_flushed(ctx: &mut Ctx, name: &str, args: &[Bytes]) {
    let now = ctx.now_ms;
    let store = &mut *ctx.store;
    let dbs: Vec<usize> = match name {
        "flushdb" => vec![ctx.session.db],
        "flushall" => (0..store.dbs.len()).collect(),
        "swapdb" => args[1..]
            .iter()
            .filter_map(|a| std::str::from_utf8(a).ok()?.parse().ok())
            .filter(|db| *db < store.dbs.len())
            .collect(),
        "move" => {
            let target = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|t| t.parse::<usize>().ok());
            if let Some(target) = target {
                store.watches.touch(target, &args[1]);
            }
            return;
        }
        _ => return,
    };
    for db in dbs {
        let keys = &mut store.dbs[db];
        store.watches.touch_db(db, |key| keys.contains(key, now));
    }
}
