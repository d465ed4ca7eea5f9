//! Sorted-set writes: `ZADD`, `ZINCRBY`, `ZREM`, `ZREMRANGEBY*`, `ZPOPMIN`/`ZPOPMAX`, `ZMPOP`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::range::{parse_interval, Kind};
use super::{pairs_reply, parse_numkeys, scored_reply};
use crate::cmd::{is, parse_f64, CmdResult, Ctx, SYNTAX};
use crate::value::{Value, ZSetValue};

/// `ZADD` options.
#[derive(Clone, Copy, Debug, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one score-member pair did to the set.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Added,
    Updated,
    /// The member is there with this score, unchanged (an `INCR` by 0, or the same score).
    Unchanged,
    /// NX, XX, GT or LT prevented the write.
    Skipped,
}

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

/// Applies one pair with Redis's `zsetAdd` rules; returns the outcome and the member's score.
fn add_one(
    z: &mut ZSetValue,
    member: &Bytes,
    score: f64,
    f: AddFlags,
) -> Result<(Outcome, f64), Reply> {
    z.update(member, |current| match current {
        Some(current) => {
            if f.nx {
                return (None, Ok((Outcome::Skipped, current)));
            }
            let score = if f.incr { current + score } else { score };
            if score.is_nan() {
                return (None, Err(Reply::error(NAN_SCORE)));
            }
            if f.lt && score >= current || f.gt && score <= current {
                return (None, Ok((Outcome::Skipped, current)));
            }
            if score == current {
                return (None, Ok((Outcome::Unchanged, current)));
            }
            (Some(score), Ok((Outcome::Updated, score)))
        }
        None if f.xx => (None, Ok((Outcome::Skipped, 0.0))),
        None => (Some(score), Ok((Outcome::Added, score))),
    })
}

/// Adds the pairs to the set under `key` (created unless XX): `(added, changed, last
/// outcome and score)`.
fn add_pairs(
    ctx: &mut Ctx,
    key: &Bytes,
    pairs: &[(f64, Bytes)],
    f: AddFlags,
) -> Result<(usize, usize, Outcome, f64), Reply> {
    if ctx.write::<ZSetValue>(key)?.is_none() {
        if f.xx {
            return Ok((0, 0, Outcome::Skipped, 0.0));
        }
        ctx.db().set(key, Value::ZSet(Box::default()), None);
    }
    let z = ctx
        .write::<ZSetValue>(key)?
        .expect("present or just created");
    let (mut added, mut updated, mut last) = (0, 0, (Outcome::Skipped, 0.0));
    let mut failed = None;
    for (score, member) in pairs {
        match add_one(z, member, *score, f) {
            Ok(outcome) => {
                added += usize::from(outcome.0 == Outcome::Added);
                updated += usize::from(outcome.0 == Outcome::Updated);
                last = outcome;
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    ctx.store.changed((added + updated) as u64);
    ctx.remove_if_empty::<ZSetValue>(key);
    if added > 0 {
        ctx.signal_key_ready(key);
    }
    match failed {
        Some(e) => Err(e),
        None => Ok((added, updated, last.0, last.1)),
    }
}

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]` → the number of
/// members added (or added and changed, with CH); with INCR the new score (double) or nil.
pub(crate) fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        let flag = match () {
            () if is(arg, "nx") => &mut f.nx,
            () if is(arg, "xx") => &mut f.xx,
            () if is(arg, "gt") => &mut f.gt,
            () if is(arg, "lt") => &mut f.lt,
            () if is(arg, "ch") => &mut f.ch,
            () if is(arg, "incr") => &mut f.incr,
            () => break,
        };
        *flag = true;
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(Reply::error(SYNTAX));
    }
    if f.nx && f.xx {
        return Err(Reply::error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if f.nx && (f.gt || f.lt) || f.gt && f.lt {
        return Err(Reply::error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(Reply::error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest
        .chunks(2)
        .map(|p| Ok((parse_f64(&p[0])?, p[1].clone())))
        .collect::<Result<Vec<_>, Reply>>()?;
    let (added, updated, last, score) = add_pairs(ctx, &args[1], &pairs, f)?;
    Ok(if f.incr {
        match last {
            Outcome::Skipped => Reply::Null,
            _ => Reply::Double(score),
        }
    } else {
        Reply::Int((added + if f.ch { updated } else { 0 }) as i64)
    })
}

/// `ZINCRBY key increment member` → the new score (double).
pub(crate) fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_f64(&args[2])?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    let (_, _, _, score) = add_pairs(ctx, &args[1], &[(by, args[3].clone())], f)?;
    Ok(Reply::Double(score))
}

/// `ZREM key member [member ...]` → the number of members removed.
pub(crate) fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(z) = ctx.write::<ZSetValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = args[2..].iter().filter(|m| z.remove(m).is_some()).count();
    ctx.store.changed(removed as u64);
    ctx.remove_if_empty::<ZSetValue>(&args[1]);
    Ok(Reply::Int(removed as i64))
}

/// `ZREMRANGEBYRANK key start stop`, `ZREMRANGEBYSCORE key min max`, `ZREMRANGEBYLEX key min
/// max` → the number of members removed.
pub(crate) fn zremrange(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> CmdResult {
    let interval = parse_interval(kind, &args[2], &args[3])?;
    let Some(z) = ctx.write::<ZSetValue>(&args[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = z.remove_ranks(interval.ranks(z, false));
    ctx.store.changed(removed as u64);
    ctx.remove_if_empty::<ZSetValue>(&args[1]);
    Ok(Reply::Int(removed as i64))
}

/// Parses a pop count: a non-negative integer.
fn parse_count(arg: &[u8]) -> Result<usize, Reply> {
    crate::value::parse_canonical_i64(arg)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(Reply::error("ERR value is out of range, must be positive"))
}

/// Pops up to `count` members from the set under `key`, removing the key when it empties; the
/// popped pairs, in pop order (the effect to replicate).
fn pop_from(
    ctx: &mut Ctx,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Vec<(Bytes, f64)>, Reply> {
    let Some(z) = ctx.write::<ZSetValue>(key)? else {
        return Ok(Vec::new());
    };
    let popped = z.pop(max, count);
    ctx.store.changed(popped.len() as u64);
    ctx.remove_if_empty::<ZSetValue>(key);
    Ok(popped)
}

/// `ZPOPMIN key [count]` / `ZPOPMAX key [count]` → without count a flat `[member, score]`
/// (empty when the key is missing); with count the members with scores, as `ZRANGE
/// WITHSCORES` replies (RESP3: pairs).
pub(crate) fn zpop(ctx: &mut Ctx, args: &[Bytes], end: super::End) -> CmdResult {
    let max = end == super::End::Max;
    if args.len() > 3 {
        return Err(Reply::error(SYNTAX));
    }
    let count = match args.get(2) {
        Some(arg) => Some(parse_count(arg)?),
        None => None,
    };
    let popped = pop_from(ctx, &args[1], max, count.unwrap_or(1))?;
    if count.is_none() {
        let flat = popped
            .into_iter()
            .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
            .collect();
        return Ok(Reply::Array(flat));
    }
    let protocol = ctx.session.protocol;
    Ok(scored_reply(
        protocol,
        popped.iter().map(|(m, s)| (m, *s)),
        true,
    ))
}

/// `ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]` → `[key, [[member, score], ...]]`
/// from the first non-empty key, or a null array.
pub(crate) fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, at) = parse_numkeys(args, 1, "ERR numkeys should be greater than 0")?;
    let max = match args.get(at) {
        Some(arg) if is(arg, "min") => false,
        Some(arg) if is(arg, "max") => true,
        _ => return Err(Reply::error(SYNTAX)),
    };
    let count = match &args[at + 1..] {
        [] => 1,
        [word, n] if is(word, "count") => match crate::value::parse_canonical_i64(n) {
            Some(n) if n > 0 => n as usize,
            _ => return Err(Reply::error("ERR count should be greater than 0")),
        },
        _ => return Err(Reply::error(SYNTAX)),
    };
    for key in keys {
        let popped = pop_from(ctx, key, max, count)?;
        if !popped.is_empty() {
            return Ok(Reply::Array(vec![
                Reply::Bulk(key.clone()),
                pairs_reply(&popped),
            ]));
        }
    }
    Ok(Reply::NullArray)
}
