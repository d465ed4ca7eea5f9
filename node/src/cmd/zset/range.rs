//! Sorted-set reads by rank, score and member: `ZRANGE` and its older forms (`ZREVRANGE`,
//! `ZRANGEBYSCORE`, `ZREVRANGEBYSCORE`, `ZRANGEBYLEX`, `ZREVRANGEBYLEX`), `ZRANGESTORE`,
//! `ZCOUNT`, `ZLEXCOUNT`, `ZRANK`, `ZREVRANK`, `ZSCORE`, `ZMSCORE`, `ZCARD`. Every range is
//! first turned into an interval of ascending ranks (O(log n)), then walked (O(m)).

use std::ops::Range;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{parse_lex_bound, parse_score_bound, scored_reply, store_result};
use crate::cmd::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::value::zset::{LexBound, ScoreBound};
use crate::value::ZSetValue;

/// How a range's two bounds are read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// Indexes (negative from the end).
    Rank,
    /// Scores (`BYSCORE`).
    Score,
    /// Members in byte order (`BYLEX`).
    Lex,
}

/// A parsed range.
#[derive(Clone, Debug)]
pub(crate) enum Interval {
    /// `start stop` indexes.
    Rank(i64, i64),
    /// `min max` scores.
    Score(ScoreBound, ScoreBound),
    /// `min max` members.
    Lex(LexBound, LexBound),
}

/// Parses the bounds `min` and `max` (`start` and `stop` for ranks) of a `kind` range.
pub(crate) fn parse_interval(kind: Kind, min: &Bytes, max: &Bytes) -> Result<Interval, Reply> {
    Ok(match kind {
        Kind::Rank => Interval::Rank(parse_i64(min)?, parse_i64(max)?),
        Kind::Score => Interval::Score(parse_score_bound(min)?, parse_score_bound(max)?),
        Kind::Lex => Interval::Lex(parse_lex_bound(min)?, parse_lex_bound(max)?),
    })
}

impl Interval {
    /// The ascending ranks the interval covers in `z`. Rank intervals count from the top
    /// when `rev` (as `ZREVRANGE` does); score and lex intervals do not depend on direction.
    pub(crate) fn ranks(&self, z: &ZSetValue, rev: bool) -> Range<usize> {
        match self {
            Interval::Rank(start, stop) => {
                let len = z.len() as i64;
                let start = if *start < 0 {
                    (len + start).max(0)
                } else {
                    *start
                };
                let stop = if *stop < 0 {
                    len + stop
                } else {
                    (*stop).min(len - 1)
                };
                if start > stop || start >= len {
                    return 0..0;
                }
                let (start, stop) = (start as usize, stop as usize);
                if rev {
                    let last = z.len() - 1;
                    last - stop..last - start + 1
                } else {
                    start..stop + 1
                }
            }
            Interval::Score(min, max) => z.score_ranks(*min, *max),
            Interval::Lex(min, max) => z.lex_ranks(min, max),
        }
    }
}

/// Which `ZRANGE` form is running: what it fixes in advance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Preset {
    /// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`.
    Zrange,
    /// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`.
    Store,
    /// `ZREVRANGE key start stop [WITHSCORES]`.
    Rank {
        /// Counting from the top.
        rev: bool,
    },
    /// `ZRANGEBYSCORE key min max` / `ZREVRANGEBYSCORE key max min`, `[WITHSCORES] [LIMIT
    /// offset count]`.
    Score {
        /// Highest first.
        rev: bool,
    },
    /// `ZRANGEBYLEX key min max` / `ZREVRANGEBYLEX key max min`, `[LIMIT offset count]`.
    Lex {
        /// Highest first.
        rev: bool,
    },
}

/// A parsed `ZRANGE`-family request.
struct Request {
    kind: Kind,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_scores: bool,
}

/// Parses the options after the bounds (from `args[from]`), with Redis's error order.
fn parse_options(args: &[Bytes], from: usize, preset: Preset) -> Result<Request, Reply> {
    let (mut kind, mut rev) = match preset {
        Preset::Zrange | Preset::Store => (None, None),
        Preset::Rank { rev } => (Some(Kind::Rank), Some(rev)),
        Preset::Score { rev } => (Some(Kind::Score), Some(rev)),
        Preset::Lex { rev } => (Some(Kind::Lex), Some(rev)),
    };
    let (mut limit, mut with_scores) = (None, false);
    let mut i = from;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "withscores") && preset != Preset::Store {
            with_scores = true;
        } else if is(arg, "limit") && i + 2 < args.len() {
            limit = Some((parse_i64(&args[i + 1])?, parse_i64(&args[i + 2])?));
            i += 2;
        } else if is(arg, "rev") && rev.is_none() {
            rev = Some(true);
        } else if is(arg, "bylex") && kind.is_none() {
            kind = Some(Kind::Lex);
        } else if is(arg, "byscore") && kind.is_none() {
            kind = Some(Kind::Score);
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let kind = kind.unwrap_or(Kind::Rank);
    if limit.is_some() && kind == Kind::Rank {
        return Err(Reply::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == Kind::Lex {
        return Err(Reply::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(Request {
        kind,
        rev: rev.unwrap_or(false),
        limit,
        with_scores,
    })
}

/// Narrows ascending `ranks` to `LIMIT offset count`, counted from the top when `rev`. A
/// negative offset selects nothing; a negative count means all the rest.
fn apply_limit(ranks: Range<usize>, limit: Option<(i64, i64)>, rev: bool) -> Range<usize> {
    let Some((offset, count)) = limit else {
        return ranks;
    };
    if offset < 0 {
        return ranks.start..ranks.start;
    }
    let n = ranks.len();
    let skip = (offset as u64).min(n as u64) as usize;
    let take = if count < 0 {
        n - skip
    } else {
        (count as u64).min((n - skip) as u64) as usize
    };
    if rev {
        ranks.end - skip - take..ranks.end - skip
    } else {
        ranks.start + skip..ranks.start + skip + take
    }
}

/// The `ZRANGE` family. Replies: an array of members (with scores: flat in RESP2, `[member,
/// score]` pairs in RESP3); `ZRANGESTORE` → the number of members stored.
pub(crate) fn zrange(ctx: &mut Ctx, args: &[Bytes], preset: Preset) -> CmdResult {
    let at = if preset == Preset::Store { 2 } else { 1 };
    let req = parse_options(args, at + 3, preset)?;
    // Reverse score and lex ranges name the higher bound first.
    let (min, max) = if req.rev && req.kind != Kind::Rank {
        (&args[at + 2], &args[at + 1])
    } else {
        (&args[at + 1], &args[at + 2])
    };
    let interval = parse_interval(req.kind, min, max)?;
    let protocol = ctx.session.protocol;
    let Some(z) = ctx.read::<ZSetValue>(&args[at])? else {
        return Ok(match preset {
            Preset::Store => Reply::Int(store_result(ctx, &args[1], ZSetValue::default())),
            _ => Reply::Array(Vec::new()),
        });
    };
    let ranks = apply_limit(interval.ranks(z, req.rev), req.limit, req.rev);
    let items = z.range(ranks, req.rev);
    if preset == Preset::Store {
        let result: ZSetValue = items.map(|(m, s)| (Bytes::copy_from_slice(m), s)).collect();
        return Ok(Reply::Int(store_result(ctx, &args[1], result)));
    }
    Ok(scored_reply(protocol, items, req.with_scores))
}

/// `ZCOUNT key min max` / `ZLEXCOUNT key min max` → the number of members in the range.
pub(crate) fn zcount(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> CmdResult {
    let interval = parse_interval(kind, &args[2], &args[3])?;
    let n = ctx
        .read::<ZSetValue>(&args[1])?
        .map_or(0, |z| interval.ranks(z, false).len());
    Ok(Reply::Int(n as i64))
}

/// `ZCARD key` → the number of members (0 for a missing key).
pub(crate) fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        ctx.read::<ZSetValue>(&args[1])?.map_or(0, ZSetValue::len) as i64,
    ))
}

/// `ZSCORE key member` → the score (double) or nil.
pub(crate) fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let score = ctx
        .read::<ZSetValue>(&args[1])?
        .and_then(|z| z.score(&args[2]));
    Ok(score.map_or(Reply::Null, Reply::Double))
}

/// `ZMSCORE key member [member ...]` → an array of scores (doubles) or nils.
pub(crate) fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let z = ctx.read::<ZSetValue>(&args[1])?;
    let scores = args[2..]
        .iter()
        .map(|m| {
            z.and_then(|z| z.score(m))
                .map_or(Reply::Null, Reply::Double)
        })
        .collect();
    Ok(Reply::Array(scores))
}

/// `ZRANK key member [WITHSCORE]` / `ZREVRANK ...` → the 0-based rank or nil; with WITHSCORE
/// `[rank, score]` or a null array.
pub(crate) fn zrank(ctx: &mut Ctx, args: &[Bytes], order: super::Order) -> CmdResult {
    let rev = order == super::Order::Descending;
    let with_score = match args.get(3) {
        None => false,
        Some(arg) if is(arg, "withscore") && args.len() == 4 => true,
        Some(_) => return Err(Reply::error(SYNTAX)),
    };
    let z = ctx.read::<ZSetValue>(&args[1])?;
    let found = z.and_then(|z| {
        let (rank, score) = z.rank(&args[2])?;
        Some((if rev { z.len() - 1 - rank } else { rank }, score))
    });
    Ok(match (found, with_score) {
        (Some((rank, _)), false) => Reply::Int(rank as i64),
        (Some((rank, score)), true) => {
            Reply::Array(vec![Reply::Int(rank as i64), Reply::Double(score)])
        }
        (None, false) => Reply::Null,
        (None, true) => Reply::NullArray,
    })
}
