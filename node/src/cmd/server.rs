//! Server commands: FLUSHDB, FLUSHALL, TIME.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, CmdResult, Ctx, SYNTAX};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("time", time),
];

/// `DBSIZE` → the number of keys in the selected database.
fn dbsize(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.db().len() as i64))
}

fn flush_mode_ok(args: &[Bytes]) -> Result<(), Reply> {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "async") || is(&args[1], "sync") => Ok(()),
        _ => Err(Reply::error(SYNTAX)),
    }
}

/// `FLUSHDB [ASYNC | SYNC]` → `+OK`; empties the selected database.
pub(crate) fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode_ok(args)?;
    let removed = ctx.db().len() as u64;
    ctx.db().clear();
    ctx.store.blocking.signal_db(ctx.session.db);
    ctx.store.changed(removed);
    Ok(Reply::ok())
}

/// `FLUSHALL [ASYNC | SYNC]` → `+OK`; empties every database.
pub(crate) fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode_ok(args)?;
    let mut removed = 0;
    for (index, db) in ctx.store.dbs.iter_mut().enumerate() {
        removed += db.len() as u64;
        db.clear();
        ctx.store.blocking.signal_db(index);
    }
    ctx.store.changed(removed);
    Ok(Reply::ok())
}

/// `TIME` → `[unix seconds, microseconds]`, both as bulk strings.
pub(crate) fn time(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::bulk(now.as_secs().to_string()),
        Reply::bulk(now.subsec_micros().to_string()),
    ]))
}
