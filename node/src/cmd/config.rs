//! `CONFIG GET`, `CONFIG SET`, `CONFIG RESETSTAT`, `CONFIG REWRITE`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("config|get", get),
    ("config|set", set),
    ("config|resetstat", resetstat),
    ("config|rewrite", rewrite),
];

/// `CONFIG GET pattern [pattern ...]` → map of the matching parameters and their values.
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let pairs = ctx.store.config.get(&patterns);
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk_static(k), Reply::bulk(v)))
            .collect(),
    ))
}

/// `CONFIG RESETSTAT` → `+OK`, with command, error and keyspace statistics cleared.
fn resetstat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let store = &mut *ctx.store;
    store.command_stats.clear();
    store.error_stats.clear();
    store.commands_processed = 0;
    store.keyspace_hits = 0;
    store.keyspace_misses = 0;
    for db in &mut store.dbs {
        db.expired_keys = 0;
    }
    Ok(Reply::ok())
}

/// `CONFIG REWRITE` → an error: the node runs without a config file to rewrite.
fn rewrite(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Err(Reply::error(
        "ERR The server is running without a config file",
    ))
}

/// `CONFIG SET parameter value [parameter value ...]`: all or nothing, as Redis 7.
fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(Reply::error_owned(super::wrong_arity("config|set")));
    }
    let mut updated = ctx.store.config.clone();
    for pair in args[2..].chunks(2) {
        updated
            .set(&pair[0], &pair[1])
            .map_err(Reply::error_owned)?;
    }
    let backlog_size = updated.repl_backlog_size as usize;
    ctx.store.config = updated;
    if backlog_size != ctx.store.repl.backlog_size {
        ctx.store.repl.set_backlog_size(backlog_size);
    }
    Ok(Reply::ok())
}
