//! Running a request: resolve its command once, check it (served, subcommand, arity,
//! authentication, memory: evict to `maxmemory` or refuse a `denyoom` command, fencing,
//! read-only standby), run its handler from the [`table`], keep its
//! statistics ([`stats`]) and stream its effect to the standbys ([`effects`]).
//!
//! The [`Resolved`] command travels with the request from here to the handler (through
//! [`Ctx::command`]), to replication and to the blocking registry: nothing looks a command up
//! by name again.

pub(crate) mod blocked;
pub(crate) mod caching;
pub(crate) mod effects;
pub(crate) mod events;
pub(crate) mod stats;
pub(crate) mod table;
pub(crate) mod transaction;

use bytes::Bytes;
use redoubt_protocol::command_table::{self, CommandFlags, Resolved};
use redoubt_protocol::{errors, Protocol, Reply};

use crate::cmd::{Ctx, Handler};
use crate::keyspace::evict::{Outcome, OOM_ERROR};

/// Runs one request. Returns the reply and the command that ran (none for a command the node
/// does not serve).
///
/// Inside `MULTI`, a checked command is queued (`+QUEUED`) instead of run, and a refused one
/// marks the transaction failed (`EXEC` then answers `EXECABORT`), as in Redis's
/// `processCommand`.
pub(crate) fn execute(ctx: &mut Ctx, args: &[Bytes]) -> (Reply, Option<Resolved>) {
    if !ctx.store.tracking.is_idle() && !ctx.session.in_atomic_unit {
        return caching::execute(ctx, args, execute_untracked);
    }
    execute_untracked(ctx, args)
}

/// [`execute`] without the client-side caching frame (see [`caching`]).
fn execute_untracked(ctx: &mut Ctx, args: &[Bytes]) -> (Reply, Option<Resolved>) {
    let checked = check(ctx, args);
    execute_checked(ctx, args, checked)
}

/// The rest of [`execute_untracked`] once the request was checked.
fn execute_checked(
    ctx: &mut Ctx,
    args: &[Bytes],
    checked: Result<(Resolved, Handler), (Reply, Option<Resolved>)>,
) -> (Reply, Option<Resolved>) {
    let (resolved, handler) = match checked {
        Ok(checked) => checked,
        Err((reply, resolved)) => {
            if resolved.is_some_and(|r| r.name() == "exec") && ctx.session.multi.is_some() {
                return (transaction::abort(ctx, &reply), resolved);
            }
            if let Some(multi) = ctx.session.multi.as_mut() {
                multi.failed = true;
            }
            return (reply, resolved);
        }
    };
    if ctx.session.multi.is_some() {
        if !transaction::is_control(resolved) {
            transaction::queue(ctx, resolved, args);
            return (Reply::simple("QUEUED"), Some(resolved));
        }
        if resolved.name() == "exec" {
            let started = stats::clock_us();
            let reply = transaction::exec(ctx);
            let usec = stats::clock_us() - started;
            stats::record(ctx.store, resolved, usec, &reply);
            stats::observe(ctx, resolved, args, usec);
            return (reply, Some(resolved));
        }
    }
    (run(ctx, resolved, handler, args), Some(resolved))
}

/// Checks a request before it runs: served, subcommand, arity, authentication, fencing,
/// read-only standby, transaction and subscribed-mode restrictions. Returns the command and
/// its handler, or the error reply.
fn check(ctx: &mut Ctx, args: &[Bytes]) -> Result<(Resolved, Handler), (Reply, Option<Resolved>)> {
    let Some(resolved) = command_table::resolve(args) else {
        return Err((stats::error(ctx.store, errors::unknown_command(args)), None));
    };
    check_resolved(ctx, resolved, args)
}

/// [`check`] for a request whose command is already resolved.
fn check_resolved(
    ctx: &mut Ctx,
    resolved: Resolved,
    args: &[Bytes],
) -> Result<(Resolved, Handler), (Reply, Option<Resolved>)> {
    let table = table::handlers();
    if !table.serves_command(resolved) {
        return Err((stats::error(ctx.store, errors::unknown_command(args)), None));
    }
    let reject = |ctx: &mut Ctx, error: &str| {
        Err((stats::reject(ctx.store, resolved, error), Some(resolved)))
    };
    let command = resolved.command;
    if !command.arity_ok(args.len()) {
        return reject(ctx, &errors::wrong_arity(command.name));
    }
    let handler = match table.handler(resolved.index) {
        Some(handler) if !(resolved.is_container_without_sub() && args.len() > 1) => handler,
        _ => match args.get(1) {
            Some(sub) => {
                let error = errors::unknown_subcommand(command.name, sub);
                return Err((stats::error(ctx.store, error), Some(resolved)));
            }
            None => return reject(ctx, &errors::wrong_arity(command.name)),
        },
    };
    if resolved.sub.is_some_and(|sub| !sub.arity_ok(args.len())) {
        return reject(ctx, &errors::wrong_arity(&resolved.to_string()));
    }
    if !ctx.session.authenticated && !is_no_auth(resolved) {
        return reject(ctx, "NOAUTH Authentication required.");
    }
    if !ctx.store.observe.monitors.is_empty()
        && ctx.store.observe.monitors.contains(ctx.session.handle.id)
        && write_or_read(resolved)
    {
        // A monitor is a replica to Redis, kept off the keyspace.
        return reject(ctx, "ERR Replica can't interact with the keyspace");
    }
    if ctx.store.config.maxmemory != 0 && !ctx.session.primary_link {
        let out_of_memory = ctx.store.evict(ctx.now_ms) == Outcome::Fail;
        if out_of_memory && resolved.spec().flags.contains(CommandFlags::DENYOOM) {
            return reject(ctx, OOM_ERROR);
        }
    }
    // A container's subcommand carries its own flags (`XGROUP CREATE` writes); `EXEC` writes
    // when a queued command does (Redis's `processCommand`), so a primary demoted or fenced
    // since the commands were queued refuses to run them.
    let write = resolved.spec().flags.contains(CommandFlags::WRITE)
        || (command.name == "exec"
            && ctx.session.multi.as_ref().is_some_and(|multi| {
                multi
                    .queued
                    .iter()
                    .any(|(queued, _)| queued.spec().flags.contains(CommandFlags::WRITE))
            }));
    if let Some(epoch) = ctx.session.epoch.filter(|e| *e < ctx.store.epoch) {
        if write || matches!(command.name, "replicaof" | "slaveof") {
            let error = format!(
                "FENCED this connection's epoch {epoch} is older than the node's epoch {}",
                ctx.store.epoch
            );
            return reject(ctx, &error);
        }
    }
    if write && ctx.store.repl.is_replica() && !ctx.session.primary_link {
        return reject(ctx, "READONLY You can't write against a read only replica.");
    }
    if ctx.session.multi.is_some() && command.flags.contains(CommandFlags::NO_MULTI) {
        return reject(ctx, "ERR Command not allowed inside a transaction");
    }
    if ctx.session.protocol == Protocol::Resp2
        && ctx.session.subs.any()
        && !matches!(
            command.name,
            "subscribe"
                | "ssubscribe"
                | "psubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "punsubscribe"
                | "ping"
                | "quit"
                | "reset"
        )
    {
        let error = format!(
            "ERR Can't execute '{resolved}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        return reject(ctx, &error);
    }
    if write || command.name == "ping" {
        if let Some(refusal) = crate::persist::write_refusal(ctx.store) {
            return reject(ctx, &refusal);
        }
    }
    Ok((resolved, handler))
}

/// Runs a checked command: its handler, statistics, and for a write that changed the dataset
/// the invalidation of watched keys, keyspace events and replication.
pub(crate) fn run(ctx: &mut Ctx, resolved: Resolved, handler: Handler, args: &[Bytes]) -> Reply {
    let write = resolved.spec().flags.contains(CommandFlags::WRITE);
    let dirty = ctx.store.dirty();
    if write && !ctx.store.watches.is_empty() {
        transaction::touch_flushed(ctx, resolved.name(), args);
    }
    let before = events::before(ctx, resolved, args);
    if !ctx.store.observe.monitors.is_empty() && stats::runs_scripts(resolved) {
        // Monitors see a script's call before the commands it runs, as in Redis.
        stats::feed_monitors(ctx, args);
    }
    let no_touch = ctx.session.no_touch && resolved.name() != "touch";
    ctx.store.set_no_touch(no_touch);
    let started = stats::clock_us();
    ctx.command = Some(resolved);
    let reply = handler(ctx, args).unwrap_or_else(|err| err);
    ctx.command = None;
    ctx.store.set_no_touch(false);
    let usec = stats::clock_us() - started;
    stats::record(ctx.store, resolved, usec, &reply);
    stats::observe(ctx, resolved, args, usec);
    // Keys this command found expired go to the stream before its own effect.
    ctx.store.propagate_expired();
    let changed = write && ctx.store.dirty() != dirty;
    if changed {
        if !ctx.store.watches.is_empty() {
            let db = ctx.session.db;
            for index in resolved.spec().key_indexes(args) {
                ctx.store.watches.touch(db, &args[index]);
            }
        }
        events::after(ctx, resolved, args, before);
        replicate(ctx, resolved, args, &reply);
    }
    if !ctx.store.tracking.is_idle() {
        caching::after(ctx, resolved, args, &reply, changed);
    }
    ctx.store.pending_effects = None;
    reply
}

/// Streams the effect of a write that changed the dataset (see [`effects`]). Does nothing on
/// a standby, which streams what it receives instead.
pub(crate) fn replicate(ctx: &mut Ctx, command: Resolved, args: &[Bytes], reply: &Reply) {
    if !ctx.store.repl.streaming() {
        return;
    }
    let db = ctx.session.db;
    match effects::effects(ctx, command.name(), args, reply) {
        None => {
            let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            ctx.store.repl.propagate(db, &refs);
        }
        Some(commands) => {
            for command in commands {
                let refs: Vec<&[u8]> = command.iter().map(|a| &a[..]).collect();
                ctx.store.repl.propagate(db, &refs);
            }
        }
    }
}

/// [`execute`] for a script's `redis.call`, whose command the script engine resolved (it is
/// not looked up again): the reply, and whether the node serves the command.
fn dispatch_for_script(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) -> (Reply, bool) {
    ctx.store.observe.script_depth += 1;
    // The script's own command holds the client-side caching frame (`caching::execute`); only
    // a call outside one takes the full path.
    let framed = ctx.store.tracking.is_idle()
        || ctx.session.in_atomic_unit
        || ctx.store.tracking.in_command();
    let (reply, ran) = if framed {
        let checked = check_resolved(ctx, resolved, args);
        execute_checked(ctx, args, checked)
    } else {
        execute(ctx, args)
    };
    ctx.store.observe.script_depth -= 1;
    (reply, ran.is_some())
}

fn write_or_read(resolved: Resolved) -> bool {
    let flags = resolved.spec().flags;
    flags.contains(CommandFlags::WRITE) || flags.contains(CommandFlags::READONLY)
}

fn is_no_auth(resolved: Resolved) -> bool {
    // AUTH, HELLO and QUIT must work before authentication (Redis's `no_auth` flag).
    matches!(resolved.name(), "auth" | "hello" | "quit")
        || resolved.command.flags.contains(CommandFlags::NO_AUTH) && resolved.sub.is_none()
}
