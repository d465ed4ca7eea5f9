//! List commands. Source: the Redis command reference (lists group); error texts from Redis's
//! `t_list.c`. The pop and move cores are shared with the blocking commands (`cmd/blocking.rs`),
//! which run them again on behalf of a blocked client once its key has elements.

use bytes::{Bytes, BytesMut};
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::value::{parse_canonical_i64, ListValue, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("lpush", |ctx, args| {
        push(ctx, args, Side::Left, Create::Yes)
    }),
    ("rpush", |ctx, args| {
        push(ctx, args, Side::Right, Create::Yes)
    }),
    ("lpushx", |ctx, args| {
        push(ctx, args, Side::Left, Create::No)
    }),
    ("rpushx", |ctx, args| {
        push(ctx, args, Side::Right, Create::No)
    }),
    ("lpop", |ctx, args| pop(ctx, args, Side::Left)),
    ("rpop", |ctx, args| pop(ctx, args, Side::Right)),
    ("llen", llen),
    ("lindex", lindex),
    ("lrange", lrange),
    ("lset", lset),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("linsert", linsert),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
];

/// The end of a list a command works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// Whether a push creates an absent list (`LPUSH`) or leaves it absent (`LPUSHX`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Create {
    Yes,
    No,
}

/// Parses `LEFT` or `RIGHT`: true for `LEFT`.
pub(crate) fn parse_side(arg: &[u8]) -> Result<bool, Reply> {
    if is(arg, "left") {
        Ok(true)
    } else if is(arg, "right") {
        Ok(false)
    } else {
        Err(Reply::error(SYNTAX))
    }
}

/// Pushes `items` at the head (`left`) or tail of the list under `key`, creating it unless
/// `only_existing`; the new length, or `None` when the key was absent and not created.
///
/// # Errors
/// `WRONGTYPE` when `key` holds another type.
pub(crate) fn push_items(
    ctx: &mut Ctx,
    key: &[u8],
    items: impl IntoIterator<Item = Bytes>,
    left: bool,
    only_existing: bool,
) -> Result<Option<usize>, Reply> {
    let mut pushed = 0;
    let len = match ctx.write::<ListValue>(key)? {
        Some(list) => {
            for item in items {
                list.push(item, left);
                pushed += 1;
            }
            list.len()
        }
        None if only_existing => return Ok(None),
        None => {
            let mut list = ListValue::default();
            for item in items {
                list.push(item, left);
                pushed += 1;
            }
            let len = list.len();
            ctx.db().set(key, Value::List(Box::new(list)), None);
            len
        }
    };
    ctx.store.changed(pushed);
    ctx.signal_key_ready(key);
    Ok(Some(len))
}

/// Pops up to `count` elements from the head (`left`) or tail of the list under `key`, in pop
/// order, removing the key when it empties; `None` when the key is absent.
///
/// # Errors
/// `WRONGTYPE` when `key` holds another type.
pub(crate) fn pop_items(
    ctx: &mut Ctx,
    key: &[u8],
    left: bool,
    count: usize,
) -> Result<Option<Vec<Bytes>>, Reply> {
    let Some(list) = ctx.read_mut::<ListValue>(key)? else {
        return Ok(None);
    };
    let popped = list.pop(left, count);
    ctx.store.changed(popped.len() as u64);
    ctx.remove_if_empty::<ListValue>(key);
    Ok(Some(popped))
}

/// Moves one element from the `from_left` end of `source` to the `to_left` end of
/// `destination` (`LMOVE`); the element, or `None` when `source` is absent.
///
/// # Errors
/// `WRONGTYPE` when either key holds another type (nothing moves then).
pub(crate) fn move_item(
    ctx: &mut Ctx,
    source: &[u8],
    destination: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Bytes>, Reply> {
    if ctx.read_mut::<ListValue>(source)?.is_none() {
        return Ok(None);
    }
    ctx.write::<ListValue>(destination)?;
    let item = pop_items(ctx, source, from_left, 1)?
        .and_then(|mut items| items.pop())
        .expect("source list is not empty");
    push_items(ctx, destination, [item.clone()], to_left, false)?;
    Ok(Some(item))
}

/// The parsed form of `numkeys key [key ...] <side> [COUNT count]` (`LMPOP`, `BLMPOP`,
/// `ZMPOP`, `BZMPOP`).
#[derive(Debug)]
pub(crate) struct MultiPop {
    /// The keys, in the order they are tried.
    pub(crate) keys: Vec<Bytes>,
    /// True for the first side word (`LEFT`, `MIN`).
    pub(crate) first_side: bool,
    /// Elements to pop at most (1 without `COUNT`).
    pub(crate) count: usize,
}

/// Parses the `*MPOP` arguments from `args[numkeys_at]` on; `sides` are the two side words.
///
/// # Errors
/// Redis's texts for a bad `numkeys` or `COUNT`, a syntax error otherwise.
pub(crate) fn parse_multi_pop(
    args: &[Bytes],
    numkeys_at: usize,
    sides: (&str, &str),
) -> Result<MultiPop, Reply> {
    let numkeys = parse_canonical_i64(&args[numkeys_at])
        .filter(|n| *n >= 1)
        .ok_or(Reply::error("ERR numkeys should be greater than 0"))?;
    let side_at = numkeys_at + 1 + numkeys as usize;
    if numkeys as usize >= args.len() || side_at >= args.len() {
        return Err(Reply::error(SYNTAX));
    }
    let first_side = if is(&args[side_at], sides.0) {
        true
    } else if is(&args[side_at], sides.1) {
        false
    } else {
        return Err(Reply::error(SYNTAX));
    };
    let mut count = None;
    let mut i = side_at + 1;
    while i < args.len() {
        if count.is_none() && is(&args[i], "count") && i + 1 < args.len() {
            let n = parse_canonical_i64(&args[i + 1])
                .filter(|n| *n >= 1)
                .ok_or(Reply::error("ERR count should be greater than 0"))?;
            count = Some(n as usize);
            i += 2;
        } else {
            return Err(Reply::error(SYNTAX));
        }
    }
    Ok(MultiPop {
        keys: args[numkeys_at + 1..side_at].to_vec(),
        first_side,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list of `spec.keys`: `[key, [element ...]]`, or `None` when
/// every key is absent.
///
/// # Errors
/// `WRONGTYPE` for the first existing key of another type.
pub(crate) fn multi_pop(ctx: &mut Ctx, spec: &MultiPop) -> Result<Option<Reply>, Reply> {
    for key in &spec.keys {
        if let Some(items) = pop_items(ctx, key, spec.first_side, spec.count)? {
            return Ok(Some(Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::Array(items.into_iter().map(Reply::Bulk).collect()),
            ])));
        }
    }
    Ok(None)
}

/// `LPUSH key element [element ...]` (and `RPUSH`, `LPUSHX`, `RPUSHX`) → `:new length`; the
/// `X` forms answer `:0` and create nothing when the key is absent.
fn push(ctx: &mut Ctx, args: &[Bytes], side: Side, create: Create) -> CmdResult {
    let len = push_items(
        ctx,
        &args[1],
        args[2..].iter().cloned(),
        side == Side::Left,
        create == Create::No,
    )?;
    Ok(Reply::Int(len.unwrap_or(0) as i64))
}

/// `LPOP key` → the element or `$-1`; `LPOP key count` → `*n` of up to `count` elements, or
/// `*-1` when the key is absent (`*0` for a count of 0). `RPOP` from the tail.
fn pop(ctx: &mut Ctx, args: &[Bytes], side: Side) -> CmdResult {
    let left = side == Side::Left;
    if args.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return Err(Reply::error_owned(super::wrong_arity(name)));
    }
    let count = match args.get(2) {
        Some(arg) => Some(
            parse_canonical_i64(arg)
                .filter(|n| *n >= 0)
                .ok_or(Reply::error("ERR value is out of range, must be positive"))?
                as usize,
        ),
        None => None,
    };
    let items = pop_items(ctx, &args[1], left, count.unwrap_or(1))?;
    Ok(match (items, count) {
        (None, Some(_)) => Reply::NullArray,
        (None, None) => Reply::Null,
        (Some(items), Some(_)) => Reply::Array(items.into_iter().map(Reply::Bulk).collect()),
        (Some(mut items), None) => items.pop().map_or(Reply::Null, Reply::Bulk),
    })
}

/// `LLEN key` → `:length` (0 when absent).
fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        ctx.read_mut::<ListValue>(&args[1])?.map_or(0, |l| l.len()) as i64,
    ))
}

/// `LINDEX key index` → the element, or `$-1` when out of range or absent.
fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let index = parse_i64(&args[2])?;
    let Some(list) = ctx.read_mut::<ListValue>(&args[1])? else {
        return Ok(Reply::Null);
    };
    Ok(list
        .position(index)
        .and_then(|at| list.get(at))
        .map_or(Reply::Null, |item| {
            Reply::Bulk(Bytes::copy_from_slice(item))
        }))
}

/// `LRANGE key start stop` → `*n` elements of the inclusive range (negative indexes count
/// from the tail).
fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
    let Some(list) = ctx.read_mut::<ListValue>(&args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(match list.range(start, stop) {
        Some((from, to)) => bulks(list.iter_from(from, to + 1 - from), to + 1 - from),
        None => Vec::new(),
    }))
}

/// `count` elements as bulk replies that share one copy of their bytes: one allocation for a
/// whole range instead of one per element.
fn bulks<'a>(items: impl Iterator<Item = &'a [u8]>, count: usize) -> Vec<Reply> {
    let mut buf = BytesMut::new();
    let mut ends = Vec::with_capacity(count);
    for item in items {
        buf.extend_from_slice(item);
        ends.push(buf.len());
    }
    let buf = buf.freeze();
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let item = buf.slice(start..end);
            start = end;
            Reply::Bulk(item)
        })
        .collect()
}

/// `LSET key index element` → `+OK`; `ERR no such key`, `ERR index out of range`.
fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let index = parse_i64(&args[2])?;
    let list = ctx
        .read_mut::<ListValue>(&args[1])?
        .ok_or(Reply::error("ERR no such key"))?;
    let at = list
        .position(index)
        .ok_or(Reply::error("ERR index out of range"))?;
    list.set(at, &args[3]);
    ctx.store.changed(1);
    Ok(Reply::ok())
}

/// `LREM key count element` → `:removed`: the first `count` matches from the head, the last
/// `-count` from the tail, or all of them for 0.
fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = parse_i64(&args[2])?;
    let element = &args[3];
    let Some(list) = ctx.read_mut::<ListValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = list.remove_matching(element, count);
    ctx.store.changed(removed as u64);
    ctx.remove_if_empty::<ListValue>(&args[1]);
    Ok(Reply::Int(removed as i64))
}

/// `LTRIM key start stop` → `+OK`, keeping only the inclusive range.
fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
    let Some(list) = ctx.read_mut::<ListValue>(&args[1])? else {
        return Ok(Reply::ok());
    };
    match list.range(start, stop) {
        Some((from, to)) => list.trim(from, to),
        None => list.clear(),
    }
    ctx.store.changed(1);
    ctx.remove_if_empty::<ListValue>(&args[1]);
    Ok(Reply::ok())
}

/// `LINSERT key BEFORE|AFTER pivot element` → `:new length`, `:-1` when the pivot is not
/// found, `:0` when the key is absent.
fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(Reply::error(SYNTAX));
    };
    let Some(list) = ctx.read_mut::<ListValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let Some(at) = list.iter().position(|item| item == &args[3][..]) else {
        return Ok(Reply::Int(-1));
    };
    list.insert(at + usize::from(after), &args[4]);
    let len = list.len();
    ctx.store.changed(1);
    Ok(Reply::Int(len as i64))
}

/// `LPOS key element [RANK rank] [COUNT num] [MAXLEN len]` → the index of the match (or
/// `$-1`); with `COUNT`, `*n` indexes (`COUNT 0`: all). A negative rank searches from the tail.
fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut i = 3;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(Reply::error(SYNTAX));
        }
        let value = &args[i + 1];
        if is(&args[i], "rank") {
            rank = parse_i64(value)?;
            if rank == i64::MIN {
                return Err(Reply::error(
                    "ERR value is out of range, value must between -9223372036854775807 and \
                     9223372036854775807",
                ));
            }
            if rank == 0 {
                return Err(Reply::error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(&args[i], "count") {
            count = Some(non_negative(value, "ERR COUNT can't be negative")?);
        } else if is(&args[i], "maxlen") {
            maxlen = non_negative(value, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 2;
    }
    let Some(list) = ctx.read_mut::<ListValue>(&args[1])? else {
        return Ok(count.map_or(Reply::Null, |_| Reply::Array(Vec::new())));
    };
    let found = positions(list, &args[2], rank, count.unwrap_or(1), maxlen);
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(|at| Reply::Int(at as i64)).collect()),
        None => found
            .first()
            .map_or(Reply::Null, |at| Reply::Int(*at as i64)),
    })
}

/// A non-negative integer argument; `message` when negative or not an integer.
fn non_negative(arg: &[u8], message: &'static str) -> Result<usize, Reply> {
    parse_canonical_i64(arg)
        .filter(|n| *n >= 0)
        .map(|n| n as usize)
        .ok_or(Reply::error(message))
}

/// Indexes (from the head) of the matches of `element`, skipping the first `|rank| - 1`
/// matches in the search direction, returning at most `count` (0: all), comparing at most
/// `maxlen` elements (0: all).
fn positions(
    list: &ListValue,
    element: &[u8],
    rank: i64,
    count: usize,
    maxlen: usize,
) -> Vec<usize> {
    let len = list.len();
    let want = if count == 0 { usize::MAX } else { count };
    let scan = if maxlen == 0 { len } else { maxlen.min(len) };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    let mut items: Box<dyn Iterator<Item = &[u8]>> = if rank > 0 {
        Box::new(list.iter())
    } else {
        Box::new(list.iter().rev())
    };
    for step in 0..scan {
        let at = if rank > 0 { step } else { len - 1 - step };
        if items.next() != Some(element) {
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        found.push(at);
        if found.len() == want {
            break;
        }
    }
    found
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` → the element moved, or `$-1`.
fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from_left, to_left) = (parse_side(&args[3])?, parse_side(&args[4])?);
    Ok(move_item(ctx, &args[1], &args[2], from_left, to_left)?.into())
}

/// `RPOPLPUSH source destination` → `LMOVE source destination RIGHT LEFT`.
fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(move_item(ctx, &args[1], &args[2], false, true)?.into())
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]` → `[key, [element ...]]` from the
/// first non-empty list, or `*-1`.
fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let spec = parse_multi_pop(args, 1, ("left", "right"))?;
    Ok(multi_pop(ctx, &spec)?.unwrap_or(Reply::NullArray))
}
