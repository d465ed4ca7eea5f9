//! Transaction commands: `MULTI`, `DISCARD`, `WATCH`, `UNWATCH`, and `EXEC` outside a
//! transaction. Queuing and `EXEC` itself are dispatch's (`crate::exec::transaction`).
//! Source: Redis's `multi.c`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx, Handler};
use crate::client::{Transaction, WatchedKey};

/// The transaction commands.
pub(crate) const COMMANDS: &[(&str, Handler)] = &[
    ("multi", multi),
    ("exec", exec),
    ("discard", discard),
    ("watch", watch),
    ("unwatch", unwatch),
];

/// `MULTI` → `+OK`; later commands are queued until `EXEC` or `DISCARD`.
/// Error: `-ERR MULTI calls can not be nested`.
fn multi(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(Reply::error("ERR MULTI calls can not be nested"));
    }
    ctx.session.multi = Some(Transaction::default());
    Ok(Reply::ok())
}

/// `EXEC` reaches its handler only outside a transaction: `-ERR EXEC without MULTI`.
fn exec(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Err(Reply::error("ERR EXEC without MULTI"))
}

/// `DISCARD` → `+OK`, dropping the queued commands and the watches.
/// Error: `-ERR DISCARD without MULTI`.
fn discard(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.session.multi.take().is_none() {
        return Err(Reply::error("ERR DISCARD without MULTI"));
    }
    unwatch_all(ctx);
    Ok(Reply::ok())
}

/// `WATCH key [key ...]` → `+OK`: `EXEC` fails (null array) if any of them is written or
/// expires before it. Error: `-ERR WATCH inside MULTI is not allowed`.
fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(Reply::error("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.session.db;
    let now = ctx.now_ms;
    for key in &args[1..] {
        if ctx
            .session
            .watched
            .iter()
            .any(|w| w.db == db && w.key == *key)
        {
            continue;
        }
        let live = ctx.store.dbs[db].contains(key, now);
        let version = ctx.store.watches.watch(db, key);
        ctx.session.watched.push(WatchedKey {
            db,
            key: key.clone(),
            version,
            live,
        });
    }
    Ok(Reply::ok())
}

/// `UNWATCH` → `+OK`, forgetting every watched key.
fn unwatch(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    unwatch_all(ctx);
    Ok(Reply::ok())
}

/// Forgets every key the client watches (`UNWATCH`, `EXEC`, `DISCARD`, `RESET`, disconnect).
pub(crate) fn unwatch_all(ctx: &mut Ctx) {
    for watched in std::mem::take(&mut ctx.session.watched) {
        ctx.store.watches.unwatch(watched.db, &watched.key);
    }
}
