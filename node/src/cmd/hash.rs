//! Hash commands. Source: the Redis command reference (hashes group); error texts and argument
//! checking order from Redis 7's `t_hash.c`. A hash whose last field goes is deleted, and no
//! command leaves an empty hash behind.

use bytes::Bytes;
use redoubt_protocol::{Protocol, Reply};

use super::set::{parse_cursor, parse_scan_options, parse_signed_count, scan_reply};
use super::{is, parse_i64, wrong_arity, CmdResult, Ctx, NOT_FLOAT, SYNTAX};
use crate::glob::glob_match;
use crate::value::{parse_canonical_i64, parse_f64, HashValue};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hgetall", hgetall),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hdel", hdel),
    ("hexists", hexists),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

/// `HSET key field value [field value ...]` → the number of new fields.
fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_fields(ctx, args, "hset").map(|created| Reply::Int(created as i64))
}

/// `HMSET key field value [field value ...]` → `+OK`.
fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_fields(ctx, args, "hmset").map(|_| Reply::ok())
}

/// Sets the field/value pairs of `args[2..]` → how many fields are new.
fn set_fields(ctx: &mut Ctx, args: &[Bytes], name: &str) -> Result<usize, Reply> {
    if args.len() % 2 != 0 {
        return Err(Reply::error_owned(wrong_arity(name)));
    }
    let limits = ctx.store.config.hash_limits;
    let hash = ctx.write_or_create::<HashValue>(&args[1])?;
    let longest = args[2..].iter().map(Bytes::len).max().unwrap_or(0);
    hash.prepare((args.len() - 2) / 2, longest, &limits);
    let created = args[2..]
        .chunks(2)
        .filter(|pair| hash.insert(&pair[0], &pair[1], &limits))
        .count();
    ctx.store.changed((args.len() as u64 - 2) / 2);
    Ok(created)
}

/// `HSETNX key field value` → 1 if set, 0 if the field existed.
fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx
        .write::<HashValue>(&args[1])?
        .is_some_and(|hash| hash.contains(&args[2]))
    {
        return Ok(Reply::Int(0));
    }
    let limits = ctx.store.config.hash_limits;
    let hash = ctx.write_or_create::<HashValue>(&args[1])?;
    hash.prepare(1, args[2].len().max(args[3].len()), &limits);
    hash.insert(&args[2], &args[3], &limits);
    ctx.store.changed(1);
    Ok(Reply::Int(1))
}

/// `HGET key field` → the value, or nil.
fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let value = ctx
        .read::<HashValue>(&args[1])?
        .and_then(|hash| hash.get(&args[2]).map(Bytes::copy_from_slice));
    Ok(value.into())
}

/// `HMGET key field [field ...]` → array of values, nil for missing fields.
fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let hash = ctx.read::<HashValue>(&args[1])?;
    let values = args[2..]
        .iter()
        .map(|field| {
            hash.and_then(|h| h.get(field).map(Bytes::copy_from_slice))
                .into()
        })
        .collect();
    Ok(Reply::Array(values))
}

/// `HGETALL key` → map (RESP3 `%`, RESP2 flat array) of fields to values.
fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pairs = ctx
        .read::<HashValue>(&args[1])?
        .map(|hash| {
            hash.iter()
                .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Map(pairs))
}

/// `HKEYS key` → array of the fields.
fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let items = ctx
        .read::<HashValue>(&args[1])?
        .map(|hash| hash.iter().map(|(f, _)| Reply::bulk(f)).collect())
        .unwrap_or_default();
    Ok(Reply::Array(items))
}

/// `HVALS key` → array of the values.
fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let items = ctx
        .read::<HashValue>(&args[1])?
        .map(|hash| hash.iter().map(|(_, v)| Reply::bulk(v)).collect())
        .unwrap_or_default();
    Ok(Reply::Array(items))
}

/// `HDEL key field [field ...]` → the number of fields removed.
fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(hash) = ctx.write::<HashValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = args[2..].iter().filter(|f| hash.remove(f)).count();
    if hash.is_empty() {
        let now = ctx.now_ms;
        ctx.db().remove(&args[1], now);
    }
    ctx.store.changed(removed as u64);
    Ok(Reply::Int(removed as i64))
}

/// `HEXISTS key field` → 1 or 0.
fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found = ctx
        .read::<HashValue>(&args[1])?
        .is_some_and(|hash| hash.contains(&args[2]));
    Ok(Reply::Int(found.into()))
}

/// `HLEN key` → the number of fields (0 for a missing key).
fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let len = ctx.read::<HashValue>(&args[1])?.map_or(0, HashValue::len);
    Ok(Reply::Int(len as i64))
}

/// `HSTRLEN key field` → the length of the value (0 when missing).
fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let len = ctx
        .read::<HashValue>(&args[1])?
        .and_then(|hash| hash.get(&args[2]))
        .map_or(0, <[u8]>::len);
    Ok(Reply::Int(len as i64))
}

/// `HINCRBY key field increment` → the new value (a missing field counts as 0).
fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[3])?;
    let current = match ctx
        .write::<HashValue>(&args[1])?
        .and_then(|hash| hash.get(&args[2]))
    {
        None => 0,
        Some(value) => {
            parse_canonical_i64(value).ok_or(Reply::error("ERR hash value is not an integer"))?
        }
    };
    let next = current
        .checked_add(by)
        .ok_or(Reply::error("ERR increment or decrement would overflow"))?;
    let limits = ctx.store.config.hash_limits;
    ctx.write_or_create::<HashValue>(&args[1])?.insert(
        &args[2],
        itoa::Buffer::new().format(next).as_bytes(),
        &limits,
    );
    ctx.store.changed(1);
    Ok(Reply::Int(next))
}

/// `HINCRBYFLOAT key field increment` → the new value as a bulk string (a missing field
/// counts as 0).
fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_f64(&args[3]).ok_or(Reply::error(NOT_FLOAT))?;
    if by.is_infinite() {
        return Err(Reply::error("ERR value is NaN or Infinity"));
    }
    let current = match ctx
        .write::<HashValue>(&args[1])?
        .and_then(|hash| hash.get(&args[2]))
    {
        None => 0.0,
        Some(value) => parse_f64(value).ok_or(Reply::error("ERR hash value is not a float"))?,
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(Reply::error("ERR increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(crate::value::format_float_sum(next));
    let limits = ctx.store.config.hash_limits;
    ctx.write_or_create::<HashValue>(&args[1])?
        .insert(&args[2], &text, &limits);
    ctx.store.changed(1);
    Ok(Reply::Bulk(text))
}

/// `HRANDFIELD key` → a random field, or nil; `HRANDFIELD key count [WITHVALUES]` → array of
/// up to `count` distinct fields, or of `-count` fields that may repeat when `count < 0`; with
/// `WITHVALUES`, each field followed by its value (RESP2: flat; RESP3: `[field, value]` pairs).
fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = args.get(2).map(|c| parse_signed_count(c)).transpose()?;
    let with_values = match args.len() {
        2 | 3 => false,
        4 if is(&args[3], "withvalues") => true,
        _ => return Err(Reply::error(SYNTAX)),
    };
    if with_values && count.is_some_and(|n| n.unsigned_abs() > (i64::MAX / 2) as u64) {
        // Redis refuses counts whose doubled reply length would overflow.
        return Err(Reply::error("ERR value is out of range"));
    }
    let resp3 = ctx.session.protocol == Protocol::Resp3;
    let picked = ctx
        .read::<HashValue>(&args[1])?
        .map(|hash| hash.random_fields(count.unwrap_or(1)))
        .unwrap_or_default();
    let Some(_) = count else {
        return Ok(picked.into_iter().next().map(|(f, _)| f).into());
    };
    let mut items = Vec::with_capacity(picked.len() * if with_values { 2 } else { 1 });
    for (field, value) in picked {
        match (with_values, resp3) {
            (false, _) => items.push(Reply::Bulk(field)),
            (true, false) => items.extend([Reply::Bulk(field), Reply::Bulk(value)]),
            (true, true) => items.push(Reply::Array(vec![Reply::Bulk(field), Reply::Bulk(value)])),
        }
    }
    Ok(Reply::Array(items))
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]` → `[next cursor, [field, value, ...]]`;
/// `MATCH` applies to fields.
fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(hash) = ctx.read::<HashValue>(&args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = parse_scan_options(&args[3..])?;
    let (next, pairs) = hash.scan(cursor, count);
    let mut items = Vec::with_capacity(pairs.len() * 2);
    for (field, value) in pairs {
        if pattern.is_none_or(|p| glob_match(p, &field, false)) {
            items.extend([Reply::Bulk(field), Reply::Bulk(value)]);
        }
    }
    Ok(scan_reply(next, items))
}
