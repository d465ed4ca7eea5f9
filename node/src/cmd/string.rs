//! String commands. Source: the Redis command reference (strings group); error texts from
//! Redis's `t_string.c`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, NOT_INTEGER, SYNTAX};
use crate::value::{parse_canonical_i64, RString, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", |ctx, args| setex(ctx, args, 1000)),
    ("psetex", |ctx, args| setex(ctx, args, 1)),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("getset", getset),
    ("getdel", getdel),
    ("getex", getex),
    ("append", append),
    ("strlen", strlen),
    ("incr", |ctx, args| incr_by(ctx, &args[1], 1)),
    ("decr", |ctx, args| incr_by(ctx, &args[1], -1)),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("getrange", getrange),
    ("substr", getrange),
    ("setrange", setrange),
    ("lcs", lcs),
];

fn string_value(data: &[u8]) -> Value {
    Value::Str(RString::new(data))
}

fn get_bytes(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Reply> {
    Ok(ctx.read::<RString>(key)?.map(RString::to_bytes))
}

/// `GET key` → bulk string or nil.
pub(crate) fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(get_bytes(ctx, &args[1])?.into())
}

/// When a new value expires: unchanged, cleared, or at a Unix time in ms.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expiry {
    Keep,
    Persist,
    At(u64),
}

/// Parses `EX seconds | PX ms | EXAT s | PXAT ms` (the option word at `args[i]`, its value at
/// `args[i + 1]`) into an absolute time; `command` names the command in the error text.
fn parse_expiry(ctx: &Ctx, option: &[u8], value: &[u8], command: &str) -> Result<u64, Reply> {
    let n = parse_i64(value)?;
    let invalid = || Reply::error_owned(format!("ERR invalid expire time in '{command}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let (unit, absolute) = match option.to_ascii_lowercase().as_slice() {
        b"ex" => (1000, false),
        b"px" => (1, false),
        b"exat" => (1000, true),
        _ => (1, true),
    };
    let ms = n.checked_mul(unit).ok_or_else(invalid)?;
    if absolute {
        return Ok(ms as u64);
    }
    ms.checked_add(ctx.now_ms as i64)
        .map(|at| at as u64)
        .ok_or_else(invalid)
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]` → `+OK`, nil
/// when NX/XX prevented the write, or with GET the old value.
pub(crate) fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut get, mut expiry) = (false, false, false, Expiry::Persist);
    let mut expiry_given = false;
    let mut i = 3;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "nx") && !xx {
            nx = true;
        } else if is(arg, "xx") && !nx {
            xx = true;
        } else if is(arg, "get") {
            get = true;
        } else if is(arg, "keepttl") && !expiry_given {
            expiry = Expiry::Keep;
            expiry_given = true;
        } else if ["ex", "px", "exat", "pxat"].iter().any(|o| is(arg, o))
            && !expiry_given
            && i + 1 < args.len()
        {
            expiry = Expiry::At(parse_expiry(ctx, arg, &args[i + 1], "set")?);
            expiry_given = true;
            i += 1;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let key = &args[1];
    let now = ctx.now_ms;
    let old = if get {
        ctx.peek::<RString>(key)?.map(RString::to_bytes)
    } else {
        None
    };
    // Only NX and XX need to know whether the key exists: a plain SET looks it up once.
    let write = if nx || xx {
        let exists = ctx.db().contains(key, now);
        !(nx && exists || xx && !exists)
    } else {
        true
    };
    if write {
        let expires_at = match expiry {
            Expiry::Keep => ctx.db().get_with_expiry(key, now).and_then(|(_, at)| at),
            Expiry::Persist => None,
            Expiry::At(at) => Some(at),
        };
        if expires_at.is_some_and(|at| at <= now) && !ctx.session.primary_link {
            // Already in the past: the write happens and the key is gone at once.
            ctx.db().remove(key, now);
        } else {
            ctx.db().set(key, string_value(&args[2]), expires_at);
        }
        ctx.store.changed(1);
    }
    Ok(match (get, write) {
        (true, _) => old.into(),
        (false, true) => Reply::ok(),
        (false, false) => Reply::Null,
    })
}

/// `SETNX key value` → 1 if set, 0 if the key existed.
pub(crate) fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    if ctx.db().contains(&args[1], now) {
        return Ok(Reply::Int(0));
    }
    ctx.db().set(&args[1], string_value(&args[2]), None);
    ctx.store.changed(1);
    Ok(Reply::Int(1))
}

/// `SETEX key seconds value` / `PSETEX key milliseconds value` → `+OK`.
pub(crate) fn setex(ctx: &mut Ctx, args: &[Bytes], unit_ms: i64) -> CmdResult {
    let (option, command) = if unit_ms == 1000 {
        ("ex", "setex")
    } else {
        ("px", "psetex")
    };
    let at = parse_expiry(ctx, option.as_bytes(), &args[2], command)?;
    ctx.db().set(&args[1], string_value(&args[3]), Some(at));
    ctx.store.changed(1);
    Ok(Reply::ok())
}

/// `MGET key [key ...]` → array of bulk strings, nil for missing keys and non-strings.
pub(crate) fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        // A key of another type reads as nil.
        let value = ctx
            .read::<RString>(key)
            .ok()
            .flatten()
            .map(RString::to_bytes);
        out.push(value.into());
    }
    Ok(Reply::Array(out))
}

/// `MSET key value [key value ...]` → `+OK`; all keys are written atomically.
pub(crate) fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(Reply::error_owned(super::wrong_arity("mset")));
    }
    for pair in args[1..].chunks(2) {
        ctx.db().set(&pair[0], string_value(&pair[1]), None);
    }
    ctx.store.changed((args.len() / 2) as u64);
    Ok(Reply::ok())
}

/// `MSETNX key value [key value ...]` → 1 if all were set, 0 (and nothing set) if any existed.
pub(crate) fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(Reply::error_owned(super::wrong_arity("msetnx")));
    }
    let now = ctx.now_ms;
    if args[1..]
        .chunks(2)
        .any(|pair| ctx.db().contains(&pair[0], now))
    {
        return Ok(Reply::Int(0));
    }
    mset(ctx, args)?;
    Ok(Reply::Int(1))
}

/// `GETSET key value` → the old value or nil; the new value has no TTL.
pub(crate) fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let old = get_bytes(ctx, &args[1])?;
    ctx.db().set(&args[1], string_value(&args[2]), None);
    ctx.store.changed(1);
    Ok(old.into())
}

/// `GETDEL key` → the value (then deleted) or nil.
pub(crate) fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let old = get_bytes(ctx, &args[1])?;
    if old.is_some() {
        let now = ctx.now_ms;
        ctx.db().remove(&args[1], now);
        ctx.store.changed(1);
    }
    Ok(old.into())
}

/// `GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]` → the value or nil, changing its TTL.
pub(crate) fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut expiry = Expiry::Keep;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "persist") && expiry == Expiry::Keep {
            expiry = Expiry::Persist;
        } else if ["ex", "px", "exat", "pxat"].iter().any(|o| is(arg, o))
            && expiry == Expiry::Keep
            && i + 1 < args.len()
        {
            expiry = Expiry::At(parse_expiry(ctx, arg, &args[i + 1], "getex")?);
            i += 1;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let value = get_bytes(ctx, &args[1])?;
    if value.is_some() {
        let now = ctx.now_ms;
        match expiry {
            Expiry::Keep => {}
            Expiry::Persist => {
                ctx.db().set_expiry(&args[1], None);
            }
            Expiry::At(at) if at <= now && !ctx.session.primary_link => {
                ctx.db().remove(&args[1], now);
            }
            Expiry::At(at) => {
                ctx.db().set_expiry(&args[1], Some(at));
            }
        }
        if expiry != Expiry::Keep {
            ctx.store.changed(1);
        }
    }
    Ok(value.into())
}

fn too_big() -> Reply {
    Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// `APPEND key value` → the new length.
pub(crate) fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if let Some(current) = ctx.peek::<RString>(&args[1])? {
        if (current.len() + args[2].len()) as u64 > ctx.store.config.proto_max_bulk_len {
            return Err(too_big());
        }
    }
    let s = ctx.write_or_create::<RString>(&args[1])?;
    s.make_growable().extend_from_slice(&args[2]);
    let len = s.len();
    ctx.store.changed(1);
    Ok(Reply::Int(len as i64))
}

/// `STRLEN key` → length in bytes, 0 if missing.
pub(crate) fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        ctx.peek::<RString>(&args[1])?.map_or(0, RString::len) as i64,
    ))
}

/// `INCRBY key increment` → the new value.
fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[2])?;
    incr_by(ctx, &args[1], by)
}

/// `DECRBY key decrement` → the new value.
fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[2])?
        .checked_neg()
        .ok_or(Reply::error("ERR decrement would overflow"))?;
    incr_by(ctx, &args[1], by)
}

/// Adds `by` to the integer under `key` (0 if missing), keeping its TTL → the new value.
pub(crate) fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let overflow = || Reply::error("ERR increment or decrement would overflow");
    let next = match ctx.write::<RString>(key)? {
        Some(s) => {
            let current = parse_canonical_i64(s.as_bytes()).ok_or(Reply::error(NOT_INTEGER))?;
            let next = current.checked_add(by).ok_or_else(overflow)?;
            *s = integer_text(next);
            next
        }
        None => {
            ctx.db().set(key, Value::Str(integer_text(by)), None);
            by
        }
    };
    ctx.store.changed(1);
    Ok(Reply::Int(next))
}

fn integer_text(n: i64) -> RString {
    let mut digits = itoa::Buffer::new();
    RString::new(digits.format(n).as_bytes())
}

fn store_keeping_ttl(ctx: &mut Ctx, key: &[u8], text: Bytes) {
    let now = ctx.now_ms;
    match ctx.db().get_mut(key, now) {
        Some(entry) => entry.value = Value::Str(RString::from(text)),
        None => ctx.db().set(key, Value::Str(RString::from(text)), None),
    }
    ctx.store.changed(1);
}

/// `INCRBYFLOAT key increment` → the new value as a bulk string, printed without exponent.
pub(crate) fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = super::parse_f64(&args[2])?;
    let current = match ctx.peek::<RString>(&args[1])? {
        Some(s) => crate::value::parse_f64(s.as_bytes()).ok_or(Reply::error(super::NOT_FLOAT))?,
        None => 0.0,
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(Reply::error("ERR increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(crate::value::format_float_sum(next));
    store_keeping_ttl(ctx, &args[1], text.clone());
    Ok(Reply::Bulk(text))
}

/// Resolves Redis's inclusive `start`/`end` (negative from the end) against `len`.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    (start <= end && start < len && len > 0).then_some((start as usize, end as usize))
}

/// `GETRANGE key start end` → the substring (inclusive, negative offsets from the end).
pub(crate) fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let Some(s) = ctx.peek::<RString>(&args[1])? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(match clamp_range(start, end, s.len()) {
        Some((from, to)) => Reply::bulk(&s.as_bytes()[from..=to]),
        None => Reply::Bulk(Bytes::new()),
    })
}

/// `SETRANGE key offset value` → the new length; pads with zero bytes.
pub(crate) fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = parse_i64(&args[2])?;
    if offset < 0 {
        return Err(Reply::error("ERR offset is out of range"));
    }
    let value = &args[3];
    let current_len = ctx.peek::<RString>(&args[1])?.map(RString::len);
    if value.is_empty() {
        return Ok(Reply::Int(current_len.unwrap_or(0) as i64));
    }
    if offset as u64 + value.len() as u64 > ctx.store.config.proto_max_bulk_len {
        return Err(too_big());
    }
    let s = ctx.write_or_create::<RString>(&args[1])?;
    let buf = s.make_growable();
    let end = offset as usize + value.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset as usize..end].copy_from_slice(value);
    let len = buf.len();
    ctx.store.changed(1);
    Ok(Reply::Int(len as i64))
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]` → the longest common
/// subsequence (see [`crate::value::lcs`]). Both keys are looked up first (a missing key is the
/// empty string); a key of another type answers `ERR The specified keys must contain string
/// values` before the options are read.
pub(crate) fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    use crate::value::lcs::{lcs, LcsOptions, NOT_STRINGS};
    let a = ctx
        .read::<RString>(&args[1])
        .map(|v| v.map(RString::to_bytes));
    let b = ctx
        .read::<RString>(&args[2])
        .map(|v| v.map(RString::to_bytes));
    let (Ok(a), Ok(b)) = (a, b) else {
        return Err(Reply::error(NOT_STRINGS));
    };
    let opts = LcsOptions::parse(args)?;
    lcs(
        a.as_deref().unwrap_or_default(),
        b.as_deref().unwrap_or_default(),
        &opts,
        ctx.store.config.proto_max_bulk_len,
    )
}

#[cfg(test)]
mod tests {
    use super::clamp_range;

    #[test]
    fn ranges() {
        assert_eq!(clamp_range(0, 3, 10), Some((0, 3)));
        assert_eq!(clamp_range(-3, -1, 10), Some((7, 9)));
        assert_eq!(clamp_range(0, -1, 10), Some((0, 9)));
        assert_eq!(clamp_range(10, 100, 5), None);
        assert_eq!(clamp_range(0, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(0, 0, 0), None);
    }
}
