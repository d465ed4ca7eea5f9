//! Running a request: resolve its command once, check it (served, subcommand, arity,
//! authentication, fencing, read-only standby), run its handler from the [`table`], keep its
//! statistics ([`stats`]) and stream its effect to the standbys ([`effects`]).
//!
//! The [`Resolved`] command travels with the request from here to the handler (through
//! [`Ctx::command`]), to replication and to the blocking registry: nothing looks a command up
//! by name again.

pub(crate) mod effects;
pub(crate) mod stats;
pub(crate) mod table;

use std::time::Instant;

use bytes::Bytes;
use redoubt_protocol::command_table::{self, CommandFlags, Resolved};
use redoubt_protocol::{errors, Reply};

use crate::cmd::Ctx;

/// Runs one request. Returns the reply and the command that ran (none for a command the node
/// does not serve).
pub(crate) fn execute(ctx: &mut Ctx, args: &[Bytes]) -> (Reply, Option<Resolved>) {
    let table = table::handlers();
    let unknown = || Reply::error_owned(errors::unknown_command(args));
    let Some(resolved) = command_table::resolve(args) else {
        return (unknown(), None);
    };
    if !table.serves_command(resolved) {
        return (unknown(), None);
    }
    let command = resolved.command;
    if !command.arity_ok(args.len()) {
        let error = errors::wrong_arity(command.name);
        return (stats::reject(ctx.store, resolved, &error), Some(resolved));
    }
    let handler = match table.handler(resolved.index) {
        Some(handler) if !(resolved.is_container_without_sub() && args.len() > 1) => handler,
        _ => match args.get(1) {
            Some(sub) => {
                let error = errors::unknown_subcommand(command.name, sub);
                return (Reply::error_owned(error), Some(resolved));
            }
            None => {
                let error = errors::wrong_arity(command.name);
                return (stats::reject(ctx.store, resolved, &error), Some(resolved));
            }
        },
    };
    if resolved.sub.is_some_and(|sub| !sub.arity_ok(args.len())) {
        let error = errors::wrong_arity(&resolved.to_string());
        return (stats::reject(ctx.store, resolved, &error), Some(resolved));
    }
    if !ctx.session.authenticated && !is_no_auth(resolved) {
        let error = "NOAUTH Authentication required.";
        return (stats::reject(ctx.store, resolved, error), Some(resolved));
    }
    let write = command.flags.contains(CommandFlags::WRITE);
    if let Some(epoch) = ctx.session.epoch.filter(|e| *e < ctx.store.epoch) {
        if write || matches!(command.name, "replicaof" | "slaveof") {
            let error = format!(
                "FENCED this connection's epoch {epoch} is older than the node's epoch {}",
                ctx.store.epoch
            );
            return (stats::reject(ctx.store, resolved, &error), Some(resolved));
        }
    }
    if write && ctx.store.repl.is_replica() && !ctx.session.primary_link {
        let error = "READONLY You can't write against a read only replica.";
        return (stats::reject(ctx.store, resolved, error), Some(resolved));
    }
    let dirty = ctx.store.dirty();
    let started = Instant::now();
    ctx.command = Some(resolved);
    let reply = handler(ctx, args).unwrap_or_else(|err| err);
    ctx.command = None;
    let usec = started.elapsed().as_micros() as u64;
    stats::record(ctx.store, resolved, usec, &reply);
    // Keys this command found expired go to the stream before its own effect.
    ctx.store.propagate_expired();
    if write && ctx.store.dirty() != dirty {
        replicate(ctx, resolved, args, &reply);
    }
    (reply, Some(resolved))
}

/// Streams the effect of a write that changed the dataset (see [`effects`]). Does nothing on
/// a standby, which streams what it receives instead.
pub(crate) fn replicate(ctx: &mut Ctx, command: Resolved, args: &[Bytes], reply: &Reply) {
    if ctx.store.repl.backlog.is_none() || ctx.store.repl.is_replica() {
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

/// [`execute`] for a script's `redis.call`: the reply, and whether the node serves the command.
fn dispatch_for_script(ctx: &mut Ctx, args: &[Bytes]) -> (Reply, bool) {
    let (reply, resolved) = execute(ctx, args);
    (reply, resolved.is_some())
}

fn is_no_auth(resolved: Resolved) -> bool {
    // AUTH, HELLO and QUIT must work before authentication (Redis's `no_auth` flag).
    matches!(resolved.name(), "auth" | "hello" | "quit")
        || resolved.command.flags.contains(CommandFlags::NO_AUTH) && resolved.sub.is_none()
}
