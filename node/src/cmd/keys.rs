//! Generic key commands: DEL, EXISTS, TYPE, the EXPIRE family, TTL, PERSIST, RENAME, KEYS,
//! SCAN, RANDOMKEY, COPY, OBJECT. Source: the Redis command reference (generic group).

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::glob::glob_match;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("del", del),
    ("unlink", del),
    ("exists", exists),
    ("touch", exists),
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
    let removed = args[1..]
        .iter()
        .filter(|key| ctx.db().remove(key, now).is_some())
        .count();
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
    let Some(entry) = ctx.db().get(&args[1], now) else {
        return Ok(Reply::Int(0));
    };
    let current = entry.expires_at;
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
    Ok(Reply::Int(match ctx.db().get(&args[1], now) {
        None => -2,
        Some(entry) => entry
            .expires_at
            .map_or(-1, |at| ((at + unit_ms / 2) / unit_ms) as i64),
    }))
}

/// `TTL key` / `PTTL key` → remaining time in s (rounded) or ms; -1 without TTL, -2 if missing.
pub(crate) fn ttl(ctx: &mut Ctx, args: &[Bytes], unit_ms: u64) -> CmdResult {
    let now = ctx.now_ms;
    Ok(Reply::Int(match ctx.db().get(&args[1], now) {
        None => -2,
        Some(entry) => match entry.expires_at {
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
        .get(&args[1], now)
        .is_some_and(|e| e.expires_at.is_some());
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
    let Some(entry) = ctx.db().get(from, now).cloned() else {
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
            "HELP",
            "    Print this help.",
        ]
        .into_iter()
        .map(Reply::simple)
        .collect(),
    ))
}
