//! Set commands. Source: the Redis command reference (sets group); error texts and argument
//! checking order from Redis 7's `t_set.c`. Writes count one change per member added or
//! removed; a set whose last member goes is deleted, and no command leaves an empty set behind.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexSet;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::glob::glob_match;
use crate::keyspace::db::Entry;
use crate::value::{SetValue, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smembers", smembers),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("spop", spop),
    ("srandmember", srandmember),
    ("smove", smove),
    ("sinter", |ctx, args| {
        intersect(ctx, &args[1..], 0).map(set_reply)
    }),
    ("sintercard", sintercard),
    ("sinterstore", |ctx, args| {
        store(ctx, &args[1], |ctx| intersect(ctx, &args[2..], 0))
    }),
    ("sunion", |ctx, args| union(ctx, &args[1..]).map(set_reply)),
    ("sunionstore", |ctx, args| {
        store(ctx, &args[1], |ctx| union(ctx, &args[2..]))
    }),
    ("sdiff", |ctx, args| {
        difference(ctx, &args[1..]).map(set_reply)
    }),
    ("sdiffstore", |ctx, args| {
        store(ctx, &args[1], |ctx| difference(ctx, &args[2..]))
    }),
    ("sscan", sscan),
];

/// A computed set as a set reply (RESP3 `~`).
fn set_reply(members: Vec<Bytes>) -> Reply {
    Reply::Set(bulks(members))
}

fn bulks(members: impl IntoIterator<Item = Bytes>) -> Vec<Reply> {
    members.into_iter().map(Reply::Bulk).collect()
}

/// Adds `members` to the set under `key`, creating it if absent; returns how many were new.
fn add_members(ctx: &mut Ctx, key: &[u8], members: &[Bytes]) -> Result<usize, Reply> {
    let limits = ctx.store.config.set_limits;
    let set = match ctx.write::<SetValue>(key)? {
        Some(set) => {
            set.reserve_hint(members.len(), &limits);
            set
        }
        None => {
            let set = SetValue::with_hint(&members[0], members.len(), &limits);
            ctx.db().set(key, Value::Set(Box::new(set)), None);
            ctx.write::<SetValue>(key)?.expect("just created")
        }
    };
    let added = members.iter().filter(|m| set.insert(m, &limits)).count();
    Ok(added)
}

/// `SADD key member [member ...]` → the number of members added.
fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let added = add_members(ctx, &args[1], &args[2..])?;
    ctx.store.changed(added as u64);
    Ok(Reply::Int(added as i64))
}

/// `SREM key member [member ...]` → the number of members removed.
fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(set) = ctx.write::<SetValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = args[2..].iter().filter(|m| set.remove(m)).count();
    ctx.remove_if_empty::<SetValue>(&args[1]);
    ctx.store.changed(removed as u64);
    Ok(Reply::Int(removed as i64))
}

/// `SMEMBERS key` → set (RESP3 `~`) of the members; empty for a missing key.
fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let members = ctx
        .read::<SetValue>(&args[1])?
        .map(|set| set.iter().map(|m| Reply::bulk(&*m)).collect())
        .unwrap_or_default();
    Ok(Reply::Set(members))
}

/// `SISMEMBER key member` → 1 or 0.
fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found = ctx
        .read::<SetValue>(&args[1])?
        .is_some_and(|set| set.contains(&args[2]));
    Ok(Reply::Int(found.into()))
}

/// `SMISMEMBER key member [member ...]` → array of 1 or 0, one per member.
fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let set = ctx.read::<SetValue>(&args[1])?;
    let found = args[2..]
        .iter()
        .map(|m| Reply::Int(set.is_some_and(|set| set.contains(m)).into()))
        .collect();
    Ok(Reply::Array(found))
}

/// `SCARD key` → the number of members (0 for a missing key).
fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let len = ctx.read::<SetValue>(&args[1])?.map_or(0, SetValue::len);
    Ok(Reply::Int(len as i64))
}

/// Parses a count that must be `>= 0` (`SPOP`).
fn parse_non_negative(arg: &[u8]) -> Result<usize, Reply> {
    match crate::value::parse_canonical_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(Reply::error("ERR value is out of range, must be positive")),
    }
}

/// Parses a count in `-i64::MAX..=i64::MAX` (`SRANDMEMBER`, `HRANDFIELD`).
pub(crate) fn parse_signed_count(arg: &[u8]) -> Result<i64, Reply> {
    match parse_i64(arg)? {
        i64::MIN => Err(Reply::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        n => Ok(n),
    }
}

/// `SPOP key` → a random member removed, or nil; `SPOP key count` → set (RESP3 `~`) of up to
/// `count` distinct members removed.
fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Reply::error(SYNTAX));
    }
    let count = args.get(2).map(|c| parse_non_negative(c)).transpose()?;
    let popped = match ctx.write::<SetValue>(&args[1])? {
        None => Vec::new(),
        Some(set) => set.pop_random(count.unwrap_or(1)),
    };
    ctx.remove_if_empty::<SetValue>(&args[1]);
    ctx.store.changed(popped.len() as u64);
    Ok(match count {
        Some(_) => Reply::Set(bulks(popped)),
        None => popped.into_iter().next().into(),
    })
}

/// `SRANDMEMBER key` → a random member, or nil; `SRANDMEMBER key count` → array of up to
/// `count` distinct members, or of `-count` members that may repeat when `count < 0`.
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Reply::error(SYNTAX));
    }
    let count = args.get(2).map(|c| parse_signed_count(c)).transpose()?;
    let picked = ctx
        .read::<SetValue>(&args[1])?
        .map(|set| set.random_members(count.unwrap_or(1)))
        .unwrap_or_default();
    Ok(match count {
        Some(_) => Reply::Array(bulks(picked)),
        None => picked.into_iter().next().into(),
    })
}

/// `SMOVE source destination member` → 1 if moved, 0 if `member` was not in `source`.
fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    if ctx.write::<SetValue>(src)?.is_none() {
        return Ok(Reply::Int(0));
    }
    ctx.write::<SetValue>(dst)?;
    if src == dst {
        let present = ctx
            .write::<SetValue>(src)?
            .is_some_and(|set| set.contains(member));
        return Ok(Reply::Int(present.into()));
    }
    if !ctx
        .write::<SetValue>(src)?
        .is_some_and(|set| set.remove(member))
    {
        return Ok(Reply::Int(0));
    }
    ctx.remove_if_empty::<SetValue>(src);
    add_members(ctx, dst, std::slice::from_ref(member))?;
    ctx.store.changed(1);
    Ok(Reply::Int(1))
}

/// The set under `key` of a command that has already type-checked it (no lookup counted).
fn stored_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a SetValue> {
    let now = ctx.now_ms;
    match ctx.db().get(key, now) {
        Some(Entry {
            value: Value::Set(set),
            ..
        }) => Some(set),
        _ => None,
    }
}

/// Looks every key up, checking their types; `None` for a missing key, else its size.
fn sizes(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Option<usize>>, Reply> {
    keys.iter()
        .map(|key| Ok(ctx.read::<SetValue>(key)?.map(SetValue::len)))
        .collect()
}

/// The intersection of the sets under `keys`, stopping at `limit` members (0: no limit).
/// Every key is type-checked even when one is missing, as Redis does.
fn intersect(ctx: &mut Ctx, keys: &[Bytes], limit: usize) -> Result<Vec<Bytes>, Reply> {
    let sizes = sizes(ctx, keys)?;
    let Some(sizes) = sizes.into_iter().collect::<Option<Vec<usize>>>() else {
        return Ok(Vec::new());
    };
    // Start from the smallest set and keep the members every other set holds, testing
    // against the largest sets last.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| sizes[i]);
    let mut out: Vec<Bytes> = match stored_set(ctx, &keys[order[0]]) {
        Some(set) => set.iter().map(|m| m.to_bytes()).collect(),
        None => return Ok(Vec::new()),
    };
    for &i in &order[1..] {
        if out.is_empty() {
            break;
        }
        if let Some(set) = stored_set(ctx, &keys[i]) {
            out.retain(|m| set.contains(m));
        }
    }
    if limit > 0 {
        out.truncate(limit);
    }
    Ok(out)
}

/// The union of the sets under `keys` (every key type-checked first).
fn union(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Bytes>, Reply> {
    sizes(ctx, keys)?;
    let mut out: IndexSet<Bytes, RandomState> = IndexSet::default();
    for key in keys {
        if let Some(set) = stored_set(ctx, key) {
            out.extend(set.iter().map(|m| m.to_bytes()));
        }
    }
    Ok(out.into_iter().collect())
}

/// The members of the first set under `keys` that none of the others holds (every key
/// type-checked first).
fn difference(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Bytes>, Reply> {
    sizes(ctx, keys)?;
    let mut out: IndexSet<Bytes, RandomState> = match stored_set(ctx, &keys[0]) {
        Some(set) => set.iter().map(|m| m.to_bytes()).collect(),
        None => return Ok(Vec::new()),
    };
    for key in &keys[1..] {
        if out.is_empty() {
            break;
        }
        if let Some(set) = stored_set(ctx, key) {
            out.retain(|m| !set.contains(m));
        }
    }
    Ok(out.into_iter().collect())
}

/// `SINTERSTORE`/`SUNIONSTORE`/`SDIFFSTORE destination key [key ...]` → the size of the
/// computed set, stored under `destination` whatever it held (TTL cleared); an empty result
/// deletes `destination`.
fn store(
    ctx: &mut Ctx,
    destination: &[u8],
    compute: impl FnOnce(&mut Ctx) -> Result<Vec<Bytes>, Reply>,
) -> CmdResult {
    let members = compute(ctx)?;
    let now = ctx.now_ms;
    let len = members.len();
    if members.is_empty() {
        ctx.db().remove(destination, now);
    } else {
        let set = SetValue::from_members(members, &ctx.store.config.set_limits);
        ctx.db().set(destination, Value::Set(Box::new(set)), None);
    }
    ctx.store.changed(1);
    Ok(Reply::Int(len as i64))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]` → the size of the intersection, counting
/// at most `limit` members (0: no limit).
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let numkeys = match crate::value::parse_canonical_i64(&args[1]) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if numkeys > args.len() - 2 {
        return Err(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if !is(&args[i], "limit") || i + 1 >= args.len() {
            return Err(Reply::error(SYNTAX));
        }
        limit = match crate::value::parse_canonical_i64(&args[i + 1]) {
            Some(n) if n >= 0 => n as usize,
            _ => return Err(Reply::error("ERR LIMIT can't be negative")),
        };
        i += 2;
    }
    let found = intersect(ctx, &args[2..2 + numkeys], limit)?;
    Ok(Reply::Int(found.len() as i64))
}

/// A scan cursor as Redis's `strtoul` reads it (a negative number wraps).
pub(crate) fn parse_cursor(arg: &[u8]) -> Result<u64, Reply> {
    let text = std::str::from_utf8(arg).unwrap_or("");
    text.parse::<u64>()
        .ok()
        .or_else(|| text.parse::<i64>().ok().map(|n| n as u64))
        .ok_or(Reply::error("ERR invalid cursor"))
}

/// The `[MATCH pattern] [COUNT count]` options of `SSCAN`/`HSCAN`, from `args`.
pub(crate) fn parse_scan_options(args: &[Bytes]) -> Result<(Option<&[u8]>, usize), Reply> {
    let (mut pattern, mut count) = (None, 10);
    for pair in args.chunks(2) {
        match pair {
            [option, value] if is(option, "match") => {
                pattern = Some(&value[..]).filter(|p| *p != b"*");
            }
            [option, value] if is(option, "count") => match parse_i64(value)? {
                n if n < 1 => return Err(Reply::error(SYNTAX)),
                n => count = n as usize,
            },
            _ => return Err(Reply::error(SYNTAX)),
        }
    }
    Ok((pattern, count))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]` → `[next cursor, [member ...]]`.
fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(set) = ctx.read::<SetValue>(&args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = parse_scan_options(&args[3..])?;
    let (next, members) = set.scan(cursor, count);
    let members = members
        .into_iter()
        .filter(|m| pattern.is_none_or(|p| glob_match(p, m, false)))
        .map(Reply::Bulk)
        .collect();
    Ok(scan_reply(next, members))
}

/// A scan step's reply: `[cursor as a bulk string, [element ...]]`.
pub(crate) fn scan_reply(next: u64, elements: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(elements)])
}
