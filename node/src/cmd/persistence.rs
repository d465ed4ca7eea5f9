//! Persistence commands: SAVE, BGSAVE, LASTSAVE, SHUTDOWN, and DUMP/RESTORE (one value in
//! Redis's serialization). The snapshot machinery is `crate::persist`; payloads are
//! `crate::rdb::dump`. Replies and error texts from Redis 7.2 (`rdb.c`, `cluster.c`,
//! `server.c`).

use bytes::Bytes;
use redoubt_protocol::Reply;
use tracing::{error, warn};

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::persist;
use crate::rdb::{decode_dump, encode_dump};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("save", save),
    ("bgsave", bgsave),
    ("lastsave", lastsave),
    ("shutdown", shutdown),
    ("bgrewriteaof", bgrewriteaof),
    ("dump", dump),
    ("restore", restore),
];

const IN_PROGRESS: &str = "ERR Background save already in progress";

/// `SAVE` → `+OK` once the snapshot is on disk (clients wait meanwhile, as in Redis); `-ERR`
/// when it could not be written, or while a background save runs.
fn save(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.store.saves.bgsave_started.is_some() {
        return Err(Reply::error(IN_PROGRESS));
    }
    let functions = ctx.node.scripting.lock().functions.dump();
    match persist::save(ctx.store, &functions) {
        Ok(_) => Ok(Reply::ok()),
        Err(_) => Err(Reply::error("ERR")),
    }
}

/// `BGSAVE [SCHEDULE]` → `Background saving started` (status); with `SCHEDULE` while a save
/// runs, `Background saving scheduled` (it starts when that one ends).
fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is(&args[1], "schedule") => true,
        _ => return Err(Reply::error(SYNTAX)),
    };
    if ctx.store.saves.bgsave_started.is_some() || ctx.store.aof.rewriting() {
        if schedule {
            ctx.store.saves.bgsave_scheduled = true;
            return Ok(Reply::Simple("Background saving scheduled".into()));
        }
        if ctx.store.saves.bgsave_started.is_some() {
            return Err(Reply::error(IN_PROGRESS));
        }
    }
    let functions = ctx.node.scripting.lock().functions.dump();
    persist::begin_bgsave(ctx.store, functions).map_err(Reply::error)?;
    Ok(Reply::Simple("Background saving started".into()))
}

/// `BGREWRITEAOF` → `Background append only file rewriting started` (status), or
/// `... scheduled` while a background save runs; `-ERR Background append only file rewriting
/// already in progress` while one runs.
fn bgrewriteaof(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let started = crate::aof::bgrewrite(ctx.store).map_err(Reply::error_owned)?;
    Ok(Reply::Simple(started.into()))
}

/// `LASTSAVE` → Unix time (seconds) of the last successful save, or of the start.
fn lastsave(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.store.saves.last_save_unix as i64))
}

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`: saves (when `SAVE` is given, or a save
/// schedule is set and `NOSAVE` is not) and exits the process; no reply on success. A failed
/// save answers `-ERR Errors trying to SHUTDOWN. Check logs.` unless `FORCE`. `NOW` is
/// accepted: the node never waits for lagging standbys. `ABORT` answers that no shutdown is in
/// progress.
fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut force, mut abort) = (false, false, false, false);
    for arg in &args[1..] {
        if is(arg, "nosave") {
            nosave = true;
        } else if is(arg, "save") {
            save = true;
        } else if is(arg, "now") {
        } else if is(arg, "force") {
            force = true;
        } else if is(arg, "abort") {
            abort = true;
        } else {
            return Err(Reply::error(SYNTAX));
        }
    }
    if (nosave && save) || (abort && args.len() > 2) {
        return Err(Reply::error(SYNTAX));
    }
    if abort {
        return Err(Reply::error("ERR No shutdown in progress."));
    }
    if save || (!nosave && !ctx.store.config.save.is_empty()) {
        let functions = ctx.node.scripting.lock().functions.dump();
        if let Err(err) = persist::save(ctx.store, &functions) {
            if !force {
                error!(%err, "error trying to save the DB, can't exit");
                return Err(Reply::error("ERR Errors trying to SHUTDOWN. Check logs."));
            }
            warn!(%err, "error trying to save the DB, exiting anyway (FORCE)");
        }
    }
    crate::aof::shutdown(ctx.store);
    warn!("user requested shutdown; Redoubt is now ready to exit, bye bye");
    std::process::exit(0);
}

/// `DUMP key` → the value serialized as Redis does (bulk), or nil when the key is missing.
fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    match ctx.db().get(&args[1], now) {
        Some(entry) => {
            let payload = encode_dump(&entry.value);
            ctx.store.keyspace_hits += 1;
            Ok(Reply::Bulk(Bytes::from(payload)))
        }
        None => {
            ctx.store.keyspace_misses += 1;
            Ok(Reply::Null)
        }
    }
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]` → `+OK`.
/// `ttl` is milliseconds (0: none; an absolute Unix time with `ABSTTL`); a TTL already past
/// leaves the key absent. Errors as Redis: `-BUSYKEY Target key name already exists.`,
/// `-ERR Invalid TTL value, must be >= 0`, `-ERR DUMP payload version or checksum are wrong`,
/// `-ERR Bad data format`, and the `IDLETIME`/`FREQ` range errors. `IDLETIME` and `FREQ` are
/// checked and accepted; the node keeps no eviction hints.
fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut replace, mut absttl, mut idle, mut freq) = (false, false, None, None);
    let mut i = 4;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "absttl") {
            absttl = true;
        } else if is(&args[i], "idletime") && more && freq.is_none() {
            let n = parse_i64(&args[i + 1])?;
            if n < 0 {
                return Err(Reply::error("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            i += 1;
        } else if is(&args[i], "freq") && more && idle.is_none() {
            let n = parse_i64(&args[i + 1])?;
            if !(0..=255).contains(&n) {
                return Err(Reply::error(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(n);
            i += 1;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let key = &args[1];
    let now = ctx.now_ms;
    if !replace && ctx.db().contains(key, now) {
        return Err(Reply::error("BUSYKEY Target key name already exists."));
    }
    let ttl = parse_i64(&args[2])?;
    if ttl < 0 {
        return Err(Reply::error("ERR Invalid TTL value, must be >= 0"));
    }
    let value = decode_dump(&args[3]).map_err(|e| Reply::error_owned(e.to_string()))?;
    let deleted = replace && ctx.db().remove(key, now).is_some();
    let expires_at = match ttl {
        0 => None,
        ms if absttl => Some(ms as u64),
        ms => Some(now.saturating_add(ms as u64)),
    };
    if expires_at.is_some_and(|at| at <= now) {
        if deleted {
            ctx.store.changed(1);
        }
        return Ok(Reply::ok());
    }
    ctx.db().set(key, value, expires_at);
    ctx.signal_key_ready(key);
    ctx.store.changed(1);
    Ok(Reply::ok())
}
