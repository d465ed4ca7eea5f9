//! Sorted-set commands. Source: the Redis command reference (sorted sets group); error texts
//! and reply shapes from Redis 7's `t_zset.c`. Handlers are grouped by role: `write` (adds,
//! removals, pops), `range` (ranks, scores and ranges), `algebra` (union, intersection,
//! difference) and `sample` (`ZRANDMEMBER`, `ZSCAN`). This module holds what they share: key
//! access, interval parsing and the scored-member reply shapes.

mod algebra;
mod range;
mod sample;
mod write;

use bytes::Bytes;
use redoubt_protocol::{Protocol, Reply};

use super::Ctx;
use crate::value::zset::{LexBound, ScoreBound};
use crate::value::{Value, ZSetValue};
use algebra::Op;
use range::{Kind, Preset};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("zadd", write::zadd),
    ("zincrby", write::zincrby),
    ("zrem", write::zrem),
    ("zremrangebyrank", |ctx, args| {
        write::zremrange(ctx, args, Kind::Rank)
    }),
    ("zremrangebyscore", |ctx, args| {
        write::zremrange(ctx, args, Kind::Score)
    }),
    ("zremrangebylex", |ctx, args| {
        write::zremrange(ctx, args, Kind::Lex)
    }),
    ("zpopmin", |ctx, args| write::zpop(ctx, args, End::Min)),
    ("zpopmax", |ctx, args| write::zpop(ctx, args, End::Max)),
    ("zmpop", write::zmpop),
    ("zcard", range::zcard),
    ("zscore", range::zscore),
    ("zmscore", range::zmscore),
    ("zrank", |ctx, args| {
        range::zrank(ctx, args, Order::Ascending)
    }),
    ("zrevrank", |ctx, args| {
        range::zrank(ctx, args, Order::Descending)
    }),
    ("zcount", |ctx, args| range::zcount(ctx, args, Kind::Score)),
    ("zlexcount", |ctx, args| range::zcount(ctx, args, Kind::Lex)),
    ("zrange", |ctx, args| {
        range::zrange(ctx, args, Preset::Zrange)
    }),
    ("zrangestore", |ctx, args| {
        range::zrange(ctx, args, Preset::Store)
    }),
    ("zrevrange", |ctx, args| {
        range::zrange(ctx, args, Preset::Rank { rev: true })
    }),
    ("zrangebyscore", |ctx, args| {
        range::zrange(ctx, args, Preset::Score { rev: false })
    }),
    ("zrevrangebyscore", |ctx, args| {
        range::zrange(ctx, args, Preset::Score { rev: true })
    }),
    ("zrangebylex", |ctx, args| {
        range::zrange(ctx, args, Preset::Lex { rev: false })
    }),
    ("zrevrangebylex", |ctx, args| {
        range::zrange(ctx, args, Preset::Lex { rev: true })
    }),
    ("zunion", |ctx, args| {
        algebra::combine(ctx, args, Op::Union, Output::Reply)
    }),
    ("zinter", |ctx, args| {
        algebra::combine(ctx, args, Op::Inter, Output::Reply)
    }),
    ("zdiff", |ctx, args| {
        algebra::combine(ctx, args, Op::Diff, Output::Reply)
    }),
    ("zunionstore", |ctx, args| {
        algebra::combine(ctx, args, Op::Union, Output::Store)
    }),
    ("zinterstore", |ctx, args| {
        algebra::combine(ctx, args, Op::Inter, Output::Store)
    }),
    ("zdiffstore", |ctx, args| {
        algebra::combine(ctx, args, Op::Diff, Output::Store)
    }),
    ("zintercard", algebra::zintercard),
    ("zrandmember", sample::zrandmember),
    ("zscan", sample::zscan),
];

/// Which end of a sorted set a pop takes from: lowest scores (`ZPOPMIN`) or highest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Min,
    Max,
}

/// The order ranks count in: by ascending score (`ZRANK`) or descending (`ZREVRANK`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    Descending,
}

/// Where a combination goes: back to the client (`ZUNION`) or into a key (`ZUNIONSTORE`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    Reply,
    Store,
}

/// Writes `result` to `dst` as a `*STORE` command does: replaces any value (and TTL) there, or
/// deletes `dst` when `result` is empty. Returns the stored cardinality.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: ZSetValue) -> i64 {
    let now = ctx.now_ms;
    let len = result.len();
    if len == 0 {
        if ctx.db().remove(dst, now).is_some() {
            ctx.store.changed(1);
        }
    } else {
        ctx.db().set(dst, Value::ZSet(Box::new(result)), None);
        ctx.store.changed(1);
        ctx.signal_key_ready(dst);
    }
    len as i64
}

/// Parses a score bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
fn parse_score_bound(arg: &[u8]) -> Result<ScoreBound, Reply> {
    let (text, exclusive) = match arg.strip_prefix(b"(") {
        Some(rest) => (rest, true),
        None => (arg, false),
    };
    // Redis reads the bound with `strtod`, which takes an empty string for 0.
    let value = if text.is_empty() {
        Some(0.0)
    } else {
        crate::value::parse_f64(text)
    };
    value
        .map(|value| ScoreBound { value, exclusive })
        .ok_or(Reply::error("ERR min or max is not a float"))
}

/// Parses a lexicographic bound: `-`, `+`, `[member`, `(member`.
fn parse_lex_bound(arg: &Bytes) -> Result<LexBound, Reply> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Ok(LexBound::Min),
        Some(b'+') if arg.len() == 1 => Ok(LexBound::Max),
        Some(b'[') => Ok(LexBound::Inclusive(arg.slice(1..))),
        Some(b'(') => Ok(LexBound::Exclusive(arg.slice(1..))),
        _ => Err(Reply::error("ERR min or max not valid string range item")),
    }
}

/// Members, optionally with scores: RESP2 flattens them (`member, score, ...`), RESP3 pairs
/// them (`[member, score], ...`), as Redis 7 does for `ZRANGE ... WITHSCORES` and its kin.
fn scored_reply<M: AsRef<[u8]>>(
    protocol: Protocol,
    items: impl Iterator<Item = (M, f64)>,
    with_scores: bool,
) -> Reply {
    let mut out = Vec::with_capacity(items.size_hint().0 * if with_scores { 2 } else { 1 });
    for (member, score) in items {
        let member = Reply::Bulk(Bytes::copy_from_slice(member.as_ref()));
        if !with_scores {
            out.push(member);
        } else if protocol == Protocol::Resp3 {
            out.push(Reply::Array(vec![member, Reply::Double(score)]));
        } else {
            out.push(member);
            out.push(Reply::Double(score));
        }
    }
    Reply::Array(out)
}

/// `[member, score]` pairs in both protocols (`ZMPOP`, `BZMPOP`).
fn pairs_reply(items: &[(Bytes, f64)]) -> Reply {
    Reply::Array(
        items
            .iter()
            .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m.clone()), Reply::Double(*s)]))
            .collect(),
    )
}

/// Parses `numkeys` followed by that many keys starting at `args[at]`; returns the keys and
/// the index after them. `error` is the text for a count below 1.
fn parse_numkeys<'a>(
    args: &'a [Bytes],
    at: usize,
    error: &str,
) -> Result<(&'a [Bytes], usize), Reply> {
    let n = super::parse_i64(&args[at])?;
    if n < 1 {
        return Err(Reply::error_owned(error.to_string()));
    }
    let first = at + 1;
    if n as u64 > (args.len() - first) as u64 {
        return Err(Reply::error(super::SYNTAX));
    }
    let end = first + n as usize;
    Ok((&args[first..end], end))
}
