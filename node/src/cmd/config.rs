//! `CONFIG GET`, `CONFIG SET`, `CONFIG RESETSTAT`, `CONFIG REWRITE`, `CONFIG HELP`, over the
//! table of every Redis 7.2 parameter (see `params`). Source: Redis 7.2 `config.c`.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};
use crate::params::SetContext;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("config|get", get),
    ("config|set", set),
    ("config|resetstat", resetstat),
    ("config|rewrite", rewrite),
    ("config|help", help),
];

/// `CONFIG GET pattern [pattern ...]` → map of the matching parameters and their values.
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let pairs = ctx.store.config.get(&patterns);
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk(k), Reply::bulk(v)))
            .collect(),
    ))
}

/// `CONFIG SET parameter value [parameter value ...]`: all or nothing, as Redis 7; the
/// changed parameters take effect at once.
fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(Reply::error_owned(super::wrong_arity("config|set")));
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..]
        .chunks(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect();
    let context = SetContext {
        local_client: ctx.session.handle.addr.ip().is_loopback(),
        loading: false,
    };
    let changed = ctx
        .store
        .config
        .set(&pairs, context)
        .map_err(Reply::error_owned)?;
    if changed
        .iter()
        .any(|n| matches!(*n, "appendonly" | "appendfsync"))
    {
        crate::aof::apply_config(ctx.store).map_err(Reply::error_owned)?;
    }
    if changed.contains(&"repl-backlog-size") {
        let size = ctx.store.config.repl_backlog_size as usize;
        ctx.store.repl.set_backlog_size(size);
    }
    if changed
        .iter()
        .any(|n| matches!(*n, "maxmemory-policy" | "lfu-log-factor" | "lfu-decay-time"))
    {
        ctx.store.eviction.clear();
        ctx.store.apply_touch_mode();
    }
    Ok(Reply::ok())
}

/// `CONFIG RESETSTAT` → `+OK`, with the statistics Redis's `resetServerStats` clears:
/// command and error statistics, commands processed, keyspace hits and misses, expired and
/// evicted keys, connections received and rejected, network bytes, full and partial syncs,
/// and the memory peak.
fn resetstat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let store = &mut *ctx.store;
    store.command_stats.clear();
    store.error_stats.clear();
    store.commands_processed = 0;
    store.keyspace_hits = 0;
    store.keyspace_misses = 0;
    store.evicted_keys = 0;
    for db in &mut store.dbs {
        db.expired_keys = 0;
    }
    store.repl.sync_full = 0;
    store.repl.sync_partial_ok = 0;
    store.repl.sync_partial_err = 0;
    let net = &ctx.node.net;
    for counter in [
        &net.connections_received,
        &net.rejected_connections,
        &net.input_bytes,
        &net.output_bytes,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    crate::memory::reset_peak();
    Ok(Reply::ok())
}

/// `CONFIG REWRITE` → `+OK` once the node's configuration file holds the current values.
fn rewrite(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.store.config.rewrite().map_err(Reply::error_owned)?;
    Ok(Reply::ok())
}

/// `CONFIG HELP` → the subcommands, one status line each (Redis's text).
fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    const LINES: &[&str] = &[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ];
    Ok(Reply::Array(
        LINES.iter().map(|l| Reply::simple(l)).collect(),
    ))
}
