//! Generic key commands: DEL, EXISTS, TYPE, the EXPIRE family, TTL, PERSIST, RENAME, KEYS,
//! SCAN, RANDOMKEY, COPY, MOVE, SWAPDB, OBJECT. Source: the Redis command reference (generic group).

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::glob::glob_match;
use crate::keyspace::db::Item;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("del", del),
    ("unlink", del),
    ("exists", exists),
    ("touch", touch),
    ("type", type_of),
    ("expire", |ctx, args| {
        expire(ctx, args, 1000, When::Relative)
    }),
    ("pexpire", |ctx, args| expire(ctx, args, 1, When::Relative)),
    ("expireat", |ctx, args| {
        expire(ctx, args, 1000, When::Absolute)
    }),
    ("pexpireat", |ctx, args| {
        expire(ctx, args, 1, When::Absolute)
    }),
    ("expiretime", |ctx, args| expiretime(ctx, args, 1000)),
    ("pexpiretime", |ctx, args| expiretime(ctx, args, 1)),
    ("ttl", |ctx, args| ttl(ctx, args, 1000)),
    ("pttl", |ctx, args| ttl(ctx, args, 1)),
    ("persist", persist),
    ("rename", |ctx, args| rename(ctx, args, Rename::Always)),
    ("renamenx", |ctx, args| rename(ctx, args, Rename::IfNew)),
    ("keys", keys),
    ("scan", scan),
    ("randomkey", randomkey),
    ("copy", copy),
    ("object|encoding", object_encoding),
    ("object|refcount", object_refcount),
    ("object|help", object_help),
    ("object|freq", object_freq),
    ("object|idletime", object_idletime),
    ("move", move_key),
    ("swapdb", swapdb),
];

/// Whether an expiry argument is a time from now or a Unix time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Relative,
    Absolute,
}

/// Whether `RENAME` may replace an existing destination (`RENAMENX` may not).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rename {
    Always,
    IfNew,
}

/// `DEL key [key ...]` / `UNLINK` → number of keys removed.
pub(crate) fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let mut removed = 0;
    for key in &args[1..] {
        if ctx.db().remove(key, now).is_some() {
            removed += 1;
            // Clients blocked in XREADGROUP on a deleted stream are told it is gone.
            ctx.signal_key_ready(key);
        }
    }
    ctx.store.changed(removed as u64);
    Ok(Reply::Int(removed as i64))
}

/// `EXISTS key [key ...]` / `TOUCH` → number of keys that exist (repeats count again).
pub(crate) fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    Ok(Reply::Int(
        args[1..]
            .iter()
            .filter(|key| ctx.db().contains(key, now))
            .count() as i64,
    ))
}

/// `TOUCH key [key ...]` → number of keys that exist, each counted as accessed (its idle
/// time restarts); `EXISTS` leaves idle times alone, as Redis's `LOOKUP_NOTOUCH`.
pub(crate) fn touch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    Ok(Reply::Int(
        args[1..]
            .iter()
            .filter(|key| ctx.db().get(key, now).is_some())
            .count() as i64,
    ))
}

/// `TYPE key` → `+string`, ..., or `+none`.
pub(crate) fn type_of(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let name = ctx
        .db()
        .get(&args[1], now)
        .map_or("none", |e| e.value.type_name());
    Ok(Reply::simple(name))
}

/// `EXPIRE key seconds [NX | XX | GT | LT]` and its `PEXPIRE`, `EXPIREAT`, `PEXPIREAT`
/// siblings → 1 if the timeout was set (or the key deleted for a time in the past), else 0.
/// GT and LT treat a key without TTL as having an infinite one.
fn expire(ctx: &mut Ctx, args: &[Bytes], unit_ms: i64, when: When) -> CmdResult {
    let absolute = when == When::Absolute;
    let command = match (unit_ms, absolute) {
        (1000, false) => "expire",
        (1, false) => "pexpire",
        (1000, true) => "expireat",
        _ => "pexpireat",
    };
    let n = parse_i64(&args[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for arg in &args[3..] {
        if is(arg, "nx") {
            nx = true;
        } else if is(arg, "xx") {
            xx = true;
        } else if is(arg, "gt") {
            gt = true;
        } else if is(arg, "lt") {
            lt = true;
        } else {
            return Err(Reply::error_owned(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(arg)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Reply::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Reply::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || Reply::error_owned(format!("ERR invalid expire time in '{command}' command"));
    let ms = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?
    };
    let now = ctx.now_ms;
    let Some((_, current)) = ctx.db().get_with_expiry(&args[1], now) else {
        return Ok(Reply::Int(0));
    };
    let allowed = match current {
        None => !xx && !gt,
        Some(cur) => !(nx || gt && at <= cur as i64 || lt && at >= cur as i64),
    };
    if !allowed {
        return Ok(Reply::Int(0));
    }
    // A standby applying its primary's stream keeps the key: the primary streams its DEL.
    if at <= now as i64 && !ctx.session.primary_link {
        ctx.db().remove(&args[1], now);
    } else {
        ctx.db().set_expiry(&args[1], Some(at as u64));
    }
    ctx.store.changed(1);
    Ok(Reply::Int(1))
}

/// `EXPIRETIME key` / `PEXPIRETIME key` → absolute Unix time in s or ms; -1 without TTL, -2
/// when the key does not exist.
pub(crate) fn expiretime(ctx: &mut Ctx, args: &[Bytes], unit_ms: u64) -> CmdResult {
    let now = ctx.now_ms;
    Ok(Reply::Int(match ctx.db().get_with_expiry(&args[1], now) {
        None => -2,
        Some((_, expires_at)) => expires_at.map_or(-1, |at| ((at + unit_ms / 2) / unit_ms) as i64),
    }))
}

/// `TTL key` / `PTTL key` → remaining time in s (rounded) or ms; -1 without TTL, -2 if missing.
pub(crate) fn ttl(ctx: &mut Ctx, args: &[Bytes], unit_ms: u64) -> CmdResult {
    let now = ctx.now_ms;
    Ok(Reply::Int(match ctx.db().get_with_expiry(&args[1], now) {
        None => -2,
        Some((_, expires_at)) => match expires_at {
            None => -1,
            Some(at) => {
                let left = at.saturating_sub(now);
                ((left + unit_ms / 2) / unit_ms) as i64
            }
        },
    }))
}

/// `PERSIST key` → 1 if a TTL was removed, else 0.
pub(crate) fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let had_ttl = ctx
        .db()
        .get_with_expiry(&args[1], now)
        .is_some_and(|(_, at)| at.is_some());
    if had_ttl {
        ctx.db().set_expiry(&args[1], None);
        ctx.store.changed(1);
    }
    Ok(Reply::Int(i64::from(had_ttl)))
}

/// `RENAME key newkey` → `+OK` (`ERR no such key` if missing); `RENAMENX` → 1, or 0 when
/// `newkey` exists. The TTL moves with the value.
fn rename(ctx: &mut Ctx, args: &[Bytes], mode: Rename) -> CmdResult {
    let only_if_new = mode == Rename::IfNew;
    let now = ctx.now_ms;
    let (from, to) = (&args[1], &args[2]);
    if !ctx.db().contains(from, now) {
        return Err(Reply::error("ERR no such key"));
    }
    if from == to {
        return Ok(if only_if_new {
            Reply::Int(0)
        } else {
            Reply::ok()
        });
    }
    if only_if_new && ctx.db().contains(to, now) {
        return Ok(Reply::Int(0));
    }
    let entry = ctx.db().remove(from, now).expect("checked above");
    ctx.db().set(to, entry.value, entry.expires_at);
    ctx.store.changed(1);
    ctx.signal_key_ready(from);
    ctx.signal_key_ready(to);
    Ok(if only_if_new {
        Reply::Int(1)
    } else {
        Reply::ok()
    })
}

/// `KEYS pattern` → every key matching the glob.
pub(crate) fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let keys = ctx.db().keys(&args[1], now);
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]` → `[next cursor, [key ...]]`.
pub(crate) fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(Reply::error("ERR invalid cursor"))?;
    let (mut pattern, mut count, mut kind): (Option<&[u8]>, usize, Option<String>) =
        (None, 10, None);
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(Reply::error(SYNTAX));
        }
        if is(&args[i], "match") {
            pattern = Some(&args[i + 1]);
        } else if is(&args[i], "count") {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(Reply::error(SYNTAX));
            }
            count = n as usize;
        } else if is(&args[i], "type") {
            kind = Some(String::from_utf8_lossy(&args[i + 1]).to_ascii_lowercase());
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 2;
    }
    let now = ctx.now_ms;
    let pattern = pattern.filter(|p| *p != b"*");
    let (next, keys) = ctx.db().scan(cursor, count, now, |key, entry| {
        pattern.is_none_or(|p| glob_match(p, key, false))
            && kind.as_deref().is_none_or(|k| entry.value.type_name() == k)
    });
    Ok(Reply::Array(vec![
        Reply::bulk(next.to_string()),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ]))
}

/// `RANDOMKEY` → a random key, or nil when the database is empty.
pub(crate) fn randomkey(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    Ok(ctx.db().random_key(now).into())
}

/// `COPY source destination [DB destination-db] [REPLACE]` → 1 if copied, else 0.
pub(crate) fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut target_db = ctx.session.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            let index = parse_i64(&args[i + 1])?;
            if index < 0 || index as usize >= ctx.store.dbs.len() {
                return Err(Reply::error("ERR DB index is out of range"));
            }
            target_db = index as usize;
            i += 1;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let (from, to) = (&args[1], &args[2]);
    if target_db == ctx.session.db && from == to {
        return Err(Reply::error(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now_ms;
    let Some(entry) = ctx.db().get_with_expiry(from, now).map(|(e, at)| Item {
        value: e.value.clone(),
        expires_at: at,
    }) else {
        return Ok(Reply::Int(0));
    };
    let target = &mut ctx.store.dbs[target_db];
    if target.contains(to, now) && !replace {
        return Ok(Reply::Int(0));
    }
    target.set(to, entry.value, entry.expires_at);
    ctx.store.changed(1);
    ctx.store.blocking.signal(target_db, to);
    Ok(Reply::Int(1))
}

/// `OBJECT ENCODING key` → the encoding name, or nil; `OBJECT REFCOUNT key` → 1.
fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    Ok(ctx
        .db()
        .get(&args[2], now)
        .map_or(Reply::Null, |e| Reply::bulk_static(e.value.encoding())))
}

/// `OBJECT REFCOUNT key` → 1 for a present key (values are never shared), nil otherwise.
fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    Ok(ctx
        .db()
        .get(&args[2], now)
        .map_or(Reply::Null, |_| Reply::Int(1)))
}

/// A 32-bit database index argument (Redis's `getIntFromObjectOrReply`), `message` when it is
/// not one.
fn db_index(arg: &[u8], message: &'static str) -> Result<i64, Reply> {
    parse_i64(arg)
        .ok()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or(Reply::error(message))
}

/// `MOVE key db` → 1 when the key moved (with its time to live) to database `db`, 0 when it
/// is missing here or already present there.
///
/// # Errors
/// `ERR value is not an integer or out of range`, `ERR DB index is out of range`, `ERR source
/// and destination objects are the same`.
fn move_key(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let target = db_index(&args[2], super::NOT_INTEGER)?;
    if target < 0 || target as usize >= ctx.store.dbs.len() {
        return Err(Reply::error("ERR DB index is out of range"));
    }
    let (source, target) = (ctx.session.db, target as usize);
    if source == target {
        return Err(Reply::error(
            "ERR source and destination objects are the same",
        ));
    }
    let (key, now) = (&args[1], ctx.now_ms);
    if !ctx.store.dbs[source].contains(key, now) || ctx.store.dbs[target].contains(key, now) {
        return Ok(Reply::Int(0));
    }
    let entry = ctx.store.dbs[source]
        .remove(key, now)
        .expect("present: checked above");
    ctx.store.dbs[target].set(key, entry.value, entry.expires_at);
    ctx.store.changed(1);
    ctx.store.blocking.signal(target, key);
    Ok(Reply::Int(1))
}

/// `SWAPDB index1 index2` → `+OK`: the two databases exchange their keys; a client blocked
/// on a key that now holds a value is served, as Redis's `scanDatabaseForReadyKeys` does.
///
/// # Errors
/// `ERR invalid first DB index`, `ERR invalid second DB index`, `ERR DB index is out of
/// range`.
fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let first = db_index(&args[1], "ERR invalid first DB index")?;
    let second = db_index(&args[2], "ERR invalid second DB index")?;
    let count = ctx.store.dbs.len() as i64;
    if !(0..count).contains(&first) || !(0..count).contains(&second) {
        return Err(Reply::error("ERR DB index is out of range"));
    }
    let (first, second) = (first as usize, second as usize);
    if first != second {
        let dbs = &mut ctx.store.dbs;
        dbs.swap(first, second);
        // The keys move; how each database treats expiry and its counters stay.
        let (low, high) = dbs.split_at_mut(first.max(second));
        let (a, b) = (&mut low[first.min(second)], &mut high[0]);
        std::mem::swap(&mut a.mode, &mut b.mode);
        std::mem::swap(&mut a.expired_keys, &mut b.expired_keys);
        std::mem::swap(&mut a.expired_log, &mut b.expired_log);
        if !ctx.store.blocking.is_empty() {
            for db in [first, second] {
                let keys: Vec<Bytes> = ctx.store.dbs[db]
                    .iter()
                    .map(|(k, _)| k.to_bytes())
                    .collect();
                for key in keys {
                    ctx.store.blocking.signal(db, &key);
                }
            }
        }
    }
    ctx.store.changed(1);
    Ok(Reply::ok())
}

/// `OBJECT FREQ key` → the key's LFU access counter, nil for a missing key; an error unless
/// an LFU policy is set. Does not count as an access.
fn object_freq(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (now, decay) = (ctx.now_ms, ctx.store.config.lfu_decay_time);
    // A missing key answers nil before the policy is checked, as Redis's `objectCommand`.
    if !ctx.db().contains(&args[2], now) {
        return Ok(Reply::Null);
    }
    if !matches!(
        ctx.store.config.maxmemory_policy,
        crate::config::Policy::Lfu { .. }
    ) {
        return Err(Reply::error(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let db = ctx.db();
    if !db.contains(&args[2], now) {
        return Ok(Reply::Null);
    }
    Ok(db.peek_entry(&args[2]).map_or(Reply::Null, |e| {
        Reply::Int(i64::from(crate::keyspace::evict::lfu_freq(e, now, decay)))
    }))
}

/// `OBJECT IDLETIME key` → seconds since the key was last read or written, nil for a missing
/// key; an error under an LFU policy. Does not count as an access.
fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    if !ctx.db().contains(&args[2], now) {
        return Ok(Reply::Null);
    }
    if matches!(
        ctx.store.config.maxmemory_policy,
        crate::config::Policy::Lfu { .. }
    ) {
        return Err(Reply::error(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let db = ctx.db();
    if !db.contains(&args[2], now) {
        return Ok(Reply::Null);
    }
    Ok(db.peek_entry(&args[2]).map_or(Reply::Null, |e| {
        Reply::Int((crate::keyspace::evict::idle_ms(e, now) / 1000) as i64)
    }))
}

/// `OBJECT HELP` → the subcommands' summary.
fn object_help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "HELP",
            "    Print this help.",
        ]
        .into_iter()
        .map(Reply::simple)
        .collect(),
    ))
}
