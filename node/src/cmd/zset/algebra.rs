//! Set algebra over sorted sets (plain sets count as members with score 1): `ZUNION`,
//! `ZINTER`, `ZDIFF`, their `*STORE` forms, and `ZINTERCARD`. Inputs are visited one at a time
//! (the keyspace lends one value at a time) and folded into an accumulator of member → score.

use std::collections::HashMap;

use bytes::Bytes;
use foldhash::fast::RandomState;
use redoubt_protocol::Reply;

use super::{parse_numkeys, scored_reply, store_result};
use crate::cmd::{is, CmdResult, Ctx, SYNTAX, WRONGTYPE};
use crate::value::{SetValue, Value, ZSetValue};

/// Which combination.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    /// Members of any input.
    Union,
    /// Members of every input.
    Inter,
    /// Members of the first input and of no other.
    Diff,
}

/// How scores of a member found in several inputs combine.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: f64, value: f64) -> f64 {
        match self {
            // inf + -inf is NaN; Redis stores 0 instead.
            Aggregate::Sum => zero_if_nan(acc + value),
            Aggregate::Min => acc.min(value),
            Aggregate::Max => acc.max(value),
        }
    }
}

fn zero_if_nan(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

/// One input: a sorted set, or a set whose members all score 1.
enum Source<'a> {
    Z(&'a ZSetValue),
    S(&'a SetValue),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Z(z) => z.len(),
            Source::S(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Z(z) => z.score(member),
            Source::S(s) => s.contains(member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::S(s) => s.iter().for_each(|m| f(&m.to_bytes(), 1.0)),
        }
    }
}

/// The input under `key`: `None` if absent, `WRONGTYPE` unless a set or sorted set.
fn source<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<Source<'a>>, Reply> {
    let now = ctx.now_ms;
    match ctx.db().get(key, now).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(Source::Z(z))),
        Some(Value::Set(s)) => Ok(Some(Source::S(s))),
        Some(_) => Err(Reply::error(WRONGTYPE)),
    }
}

type Acc = HashMap<Bytes, f64, RandomState>;

/// Computes `op` over `keys` with per-key `weights`; the members and their scores.
fn compute(ctx: &mut Ctx, op: Op, keys: &[Bytes], weights: &[f64], agg: Aggregate) -> Acc {
    let mut acc = Acc::default();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if op == Op::Inter {
        // Start from the smallest input: the accumulator only shrinks from there.
        let mut sizes = Vec::with_capacity(keys.len());
        for key in keys {
            sizes.push(source(ctx, key).ok().flatten().map_or(0, |s| s.len()));
        }
        if sizes.contains(&0) {
            return acc;
        }
        order.sort_by_key(|&i| sizes[i]);
    }
    for (n, &i) in order.iter().enumerate() {
        let weight = weights[i];
        let Ok(Some(src)) = source(ctx, &keys[i]) else {
            continue;
        };
        match (op, n) {
            (Op::Diff, 0) => src.for_each(|m, s| {
                acc.insert(Bytes::copy_from_slice(m), s);
            }),
            (Op::Diff, _) => acc.retain(|m, _| src.score(m).is_none()),
            (Op::Inter, 0) | (Op::Union, _) => src.for_each(|m, s| {
                let value = zero_if_nan(s * weight);
                match acc.get_mut(m) {
                    Some(v) => *v = agg.apply(*v, value),
                    None => {
                        acc.insert(Bytes::copy_from_slice(m), value);
                    }
                }
            }),
            (Op::Inter, _) => acc.retain(|m, v| match src.score(m) {
                Some(s) => {
                    *v = agg.apply(*v, zero_if_nan(s * weight));
                    true
                }
                None => false,
            }),
        }
        if acc.is_empty() && op != Op::Union {
            break;
        }
    }
    acc
}

/// `ZUNION`/`ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM | MIN | MAX]
/// [WITHSCORES]`, `ZDIFF numkeys key [key ...] [WITHSCORES]` → the members by score (with
/// scores as `ZRANGE` gives them); the `*STORE dst ...` forms → the stored cardinality.
pub(crate) fn combine(ctx: &mut Ctx, args: &[Bytes], op: Op, output: super::Output) -> CmdResult {
    let store = output == super::Output::Store;
    let name = match op {
        Op::Union => "zunion",
        Op::Inter => "zinter",
        Op::Diff => "zdiff",
    };
    let store_suffix = if store { "store" } else { "" };
    let error = format!("ERR at least 1 input key is needed for '{name}{store_suffix}' command");
    let (keys, mut i) = parse_numkeys(args, if store { 2 } else { 1 }, &error)?;
    for key in keys {
        source(ctx, key)?;
    }
    let mut weights = vec![1.0; keys.len()];
    let (mut agg, mut with_scores) = (Aggregate::Sum, false);
    while i < args.len() {
        let left = args.len() - i - 1;
        let arg = &args[i];
        if op != Op::Diff && left >= keys.len() && is(arg, "weights") {
            for (w, text) in weights.iter_mut().zip(&args[i + 1..]) {
                *w = crate::value::parse_f64(text)
                    .ok_or(Reply::error("ERR weight value is not a float"))?;
            }
            i += keys.len();
        } else if op != Op::Diff && left >= 1 && is(arg, "aggregate") {
            let word = &args[i + 1];
            agg = match () {
                () if is(word, "sum") => Aggregate::Sum,
                () if is(word, "min") => Aggregate::Min,
                () if is(word, "max") => Aggregate::Max,
                () => return Err(Reply::error(SYNTAX)),
            };
            i += 1;
        } else if !store && is(arg, "withscores") {
            with_scores = true;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let acc = compute(ctx, op, keys, &weights, agg);
    if store {
        let result: ZSetValue = acc.into_iter().collect();
        return Ok(Reply::Int(store_result(ctx, &args[1], result)));
    }
    let mut items: Vec<(Bytes, f64)> = acc.into_iter().collect();
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    let protocol = ctx.session.protocol;
    Ok(scored_reply(
        protocol,
        items.iter().map(|(m, s)| (m, *s)),
        with_scores,
    ))
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]` → the size of the intersection, counting
/// at most `limit` (0: no limit).
pub(crate) fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let error = "ERR at least 1 input key is needed for 'zintercard' command";
    let (keys, at) = parse_numkeys(args, 1, error)?;
    for key in keys {
        source(ctx, key)?;
    }
    let limit = match &args[at..] {
        [] => 0,
        [word, n] if is(word, "limit") => match crate::value::parse_canonical_i64(n) {
            Some(n) if n >= 0 => n as usize,
            _ => return Err(Reply::error("ERR LIMIT can't be negative")),
        },
        _ => return Err(Reply::error(SYNTAX)),
    };
    let weights = vec![1.0; keys.len()];
    let n = compute(ctx, Op::Inter, keys, &weights, Aggregate::Sum).len();
    Ok(Reply::Int(if limit > 0 { n.min(limit) } else { n } as i64))
}
