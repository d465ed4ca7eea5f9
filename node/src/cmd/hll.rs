//! HyperLogLog commands: `PFADD`, `PFCOUNT`, `PFMERGE`, `PFDEBUG`, `PFSELFTEST`. The cores
//! (Redis's byte layout, estimates, error texts) are in [`crate::value::hll`]; this module
//! looks keys up in Redis's order (a non-string is the plain `WRONGTYPE`, a string that is not
//! a HyperLogLog the core's own `WRONGTYPE Key is not a valid HyperLogLog string value.`),
//! creates and replaces keys and counts the changes that replicate. Source: Redis 7.2
//! `hyperloglog.c`.
//!
//! `hll-sparse-max-bytes` (the store's configuration) bounds a sparse value: `PFADD` and
//! `PFMERGE` turn a value dense past it, as Redis does.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};
use crate::value::hll;
use crate::value::{RString, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("pfadd", pfadd),
    ("pfcount", pfcount),
    ("pfmerge", pfmerge),
    ("pfdebug", pfdebug),
    ("pfselftest", |ctx, _| {
        Ok(hll::pfselftest(ctx.store.config.hll_sparse_max_bytes))
    }),
];

/// `PFADD key [element ...]` → `:1` when a register changed or the key was created, else
/// `:0`.
fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let sparse_max = ctx.store.config.hll_sparse_max_bytes;
    let created = ctx.write::<RString>(key)?.is_none();
    let value = ctx.write_or_create::<RString>(key)?.make_growable();
    let (reply, changed) = hll::pfadd(value, created, &args[2..], sparse_max);
    if changed {
        ctx.store.changed(1);
    }
    Ok(reply)
}

/// String values read from keys, `None` for a missing key.
type Strings = Vec<Option<Bytes>>;

/// Reads `keys` as strings in order, counting lookups as Redis's `lookupKeyRead` does. A key
/// of another type stops the walk: `Err` carries the values read before it and the
/// `WRONGTYPE` reply, so the caller can first report an invalid HyperLogLog among them, as
/// Redis, which checks each key in turn, would.
fn read_strings(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Strings, (Strings, Reply)> {
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        match ctx.read::<RString>(key) {
            Ok(value) => values.push(value.map(RString::to_bytes)),
            Err(wrongtype) => return Err((values, wrongtype)),
        }
    }
    Ok(values)
}

fn views(values: &[Option<Bytes>]) -> Vec<Option<&[u8]>> {
    values.iter().map(|v| v.as_deref()).collect()
}

/// `PFCOUNT key [key ...]` → the estimated cardinality. With one key, a stale cached
/// cardinality is refreshed in the value; Redis propagates that `PFCOUNT` (`server.dirty++`
/// in a read-only command), so it is streamed to the standbys here, which then hold the same
/// bytes.
fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return match read_strings(ctx, &args[1..]) {
            Ok(values) => Ok(hll::pfcount_many(&views(&values))),
            Err((before, wrongtype)) => match hll::pfcount_many(&views(&before)) {
                Reply::Int(_) => Err(wrongtype),
                error => Err(error),
            },
        };
    }
    let key = &args[1];
    let (reply, changed) = match ctx.read_mut::<RString>(key)? {
        None => hll::pfcount_one(None),
        Some(value) => {
            // Validate before copying a shared buffer: an invalid value stays untouched.
            hll::validate(value.as_bytes())?;
            hll::pfcount_one(Some(value.make_growable()))
        }
    };
    if changed {
        ctx.store.changed(1);
        let db = ctx.session.db;
        ctx.store.repl.propagate(db, &[b"PFCOUNT", key]);
    }
    Ok(reply)
}

/// `PFMERGE destkey [sourcekey ...]` → `+OK`; `destkey` holds the union, keeping its time to
/// live. Every key is looked up first (`destkey` too), in order.
fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sparse_max = ctx.store.config.hll_sparse_max_bytes;
    let values = match read_strings(ctx, &args[1..]) {
        Ok(values) => values,
        Err((before, wrongtype)) => {
            if let Some((dest, sources)) = before.split_first() {
                hll::pfmerge(dest.as_deref(), &views(sources), sparse_max)?;
            }
            return Err(wrongtype);
        }
    };
    let (dest, sources) = values.split_first().expect("arity: a destination key");
    let merged = hll::pfmerge(dest.as_deref(), &views(sources), sparse_max)?;
    let key = &args[1];
    let now = ctx.now_ms;
    match ctx.db().get_mut(key, now) {
        Some(entry) => entry.value = Value::Str(RString::growable(merged)),
        None => ctx
            .db()
            .set(key, Value::Str(RString::growable(merged)), None),
    }
    ctx.store.changed(1);
    Ok(Reply::ok())
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key`: the key is checked before the subcommand.
fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (reply, changed) = match ctx.write::<RString>(&args[2])? {
        None => hll::pfdebug(&args[1], None),
        Some(value) => {
            hll::validate(value.as_bytes())?;
            hll::pfdebug(&args[1], Some(value.make_growable()))
        }
    };
    if changed {
        ctx.store.changed(1);
    }
    Ok(reply)
}
