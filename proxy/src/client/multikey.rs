//! Multi-key commands whose keys live in several groups, computed in the proxy: `SINTER`,
//! `SUNION`, `SDIFF`, `SINTERCARD`, `ZUNION`, `ZINTER`, `ZDIFF` (`WEIGHTS`, `AGGREGATE`,
//! `WITHSCORES`), `ZINTERCARD`, the `*STORE` forms, and `MSETNX`.
//!
//! A task reads each source set (`SMEMBERS`, in the client's database, from the primary that
//! owns it), computes the result as Redis defines it, and for a `*STORE` writes the
//! destination on its own group (`DEL` then `SADD`, pipelined on one connection, so the group
//! sees them in that order). A source of another type gives Redis's `WRONGTYPE`. Keys of one
//! group never come here: they run as one command on that group. Not atomic across groups: the
//! sources are read one after the other (see the README's compatibility table).

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::reply_decoder::decode;
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::oneshot;

use super::conn::ClientConn;
use super::pending::{encode, encode_args, Pending};
use crate::state::Worker;

/// The set operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// What a request asks.
#[derive(Debug)]
struct Plan {
    op: Op,
    /// Source keys, in argument order.
    sources: Vec<Bytes>,
    /// `*STORE`: the destination.
    store: Option<Bytes>,
    /// `SINTERCARD`: the count only, up to this limit (0: none).
    card_limit: Option<u64>,
}

/// True for the commands this module computes across groups.
pub(crate) fn handles(name: &str) -> bool {
    matches!(
        name,
        "sinter" | "sunion" | "sdiff" | "sintercard" | "sinterstore" | "sunionstore" | "sdiffstore"
    ) || zset_op(name).is_some()
        || name == "msetnx"
}

/// The sorted-set operation of `name`, and whether it stores.
fn zset_op(name: &str) -> Option<(Op, bool)> {
    Some(match name {
        "zunion" => (Op::Union, false),
        "zinter" | "zintercard" => (Op::Inter, false),
        "zdiff" => (Op::Diff, false),
        "zunionstore" => (Op::Union, true),
        "zinterstore" => (Op::Inter, true),
        "zdiffstore" => (Op::Diff, true),
        _ => return None,
    })
}

/// How scores of one member in several inputs combine (`AGGREGATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// A sorted-set request, parsed.
#[derive(Debug)]
struct ZPlan {
    op: Op,
    sources: Vec<Bytes>,
    store: Option<Bytes>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// `ZINTERCARD`: count only, up to this limit (0: none).
    card_limit: Option<u64>,
}

fn parse_f64(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

/// Parses `ZUNION|ZINTER|ZDIFF[STORE] [dst] numkeys key... [WEIGHTS w...] [AGGREGATE
/// SUM|MIN|MAX] [WITHSCORES]` and `ZINTERCARD numkeys key... [LIMIT n]`, with Redis's errors.
fn zplan(name: &str, args: &[Bytes], keys: &[usize]) -> Result<ZPlan, Reply> {
    let (op, stores) = zset_op(name).ok_or(Reply::error("ERR syntax error"))?;
    let store = stores.then(|| args[1].clone());
    let sources: Vec<Bytes> = keys
        .iter()
        .skip(usize::from(stores))
        .map(|&k| args[k].clone())
        .collect();
    let mut plan = ZPlan {
        op,
        sources,
        store,
        weights: Vec::new(),
        aggregate: Aggregate::Sum,
        withscores: false,
        card_limit: None,
    };
    let mut i = keys.last().map_or(args.len(), |&k| k + 1);
    if name == "zintercard" {
        plan.card_limit = Some(0);
    }
    while i < args.len() {
        let word = &args[i];
        if name == "zintercard" && word.eq_ignore_ascii_case(b"limit") && i + 1 < args.len() {
            let limit = std::str::from_utf8(&args[i + 1])
                .ok()
                .and_then(|l| l.parse::<i64>().ok())
                .ok_or(Reply::error("ERR value is not an integer or out of range"))?;
            if limit < 0 {
                return Err(Reply::error("ERR LIMIT can't be negative"));
            }
            plan.card_limit = Some(limit as u64);
            i += 2;
        } else if op != Op::Diff
            && name != "zintercard"
            && word.eq_ignore_ascii_case(b"weights")
            && i + plan.sources.len() < args.len()
        {
            plan.weights = args[i + 1..=i + plan.sources.len()]
                .iter()
                .map(|w| parse_f64(w))
                .collect::<Option<_>>()
                .ok_or(Reply::error("ERR weight value is not a float"))?;
            i += 1 + plan.sources.len();
        } else if op != Op::Diff
            && name != "zintercard"
            && word.eq_ignore_ascii_case(b"aggregate")
            && i + 1 < args.len()
        {
            plan.aggregate = match &args[i + 1] {
                a if a.eq_ignore_ascii_case(b"sum") => Aggregate::Sum,
                a if a.eq_ignore_ascii_case(b"min") => Aggregate::Min,
                a if a.eq_ignore_ascii_case(b"max") => Aggregate::Max,
                _ => return Err(Reply::error("ERR syntax error")),
            };
            i += 2;
        } else if !stores && name != "zintercard" && word.eq_ignore_ascii_case(b"withscores") {
            plan.withscores = true;
            i += 1;
        } else {
            return Err(Reply::error("ERR syntax error"));
        }
    }
    Ok(plan)
}

/// The sorted-set operation over `inputs` (member, score; the first input first), weighted and
/// aggregated as Redis does, sorted by score then member.
fn zcombine(plan: &ZPlan, inputs: &[Vec<(Bytes, f64)>]) -> Vec<(Bytes, f64)> {
    use std::collections::HashMap;
    let weight = |i: usize| plan.weights.get(i).copied().unwrap_or(1.0);
    let fold = |a: f64, b: f64| {
        let v = match plan.aggregate {
            Aggregate::Sum => a + b,
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        };
        // inf + -inf: Redis makes it 0.
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let scaled = |score: f64, w: f64| {
        let v = score * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut result: Vec<(Bytes, f64)> = match plan.op {
        Op::Diff => {
            let Some((first, rest)) = inputs.split_first() else {
                return Vec::new();
            };
            let others: Vec<HashSet<&Bytes>> = rest
                .iter()
                .map(|s| s.iter().map(|(m, _)| m).collect())
                .collect();
            first
                .iter()
                .filter(|(m, _)| !others.iter().any(|s| s.contains(m)))
                .cloned()
                .collect()
        }
        Op::Union | Op::Inter => {
            let mut scores: HashMap<Bytes, (f64, usize)> = HashMap::new();
            for (i, input) in inputs.iter().enumerate() {
                for (member, score) in input {
                    let value = scaled(*score, weight(i));
                    scores
                        .entry(member.clone())
                        .and_modify(|(s, n)| {
                            *s = fold(*s, value);
                            *n += 1;
                        })
                        .or_insert((value, 1));
                }
            }
            scores
                .into_iter()
                .filter(|(_, (_, n))| plan.op == Op::Union || *n == inputs.len())
                .map(|(m, (s, _))| (m, s))
                .collect()
        }
    };
    result.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    result
}

fn plan(name: &str, args: &[Bytes], keys: &[usize]) -> Result<Plan, Reply> {
    let op = match name {
        "sinter" | "sintercard" | "sinterstore" => Op::Inter,
        "sunion" | "sunionstore" => Op::Union,
        _ => Op::Diff,
    };
    let store = name.ends_with("store").then(|| args[1].clone());
    let sources: Vec<Bytes> = keys
        .iter()
        .skip(usize::from(store.is_some()))
        .map(|&k| args[k].clone())
        .collect();
    let card_limit = if name == "sintercard" {
        let after = keys.last().map_or(args.len(), |&k| k + 1);
        match &args[after..] {
            [] => Some(0),
            [word, limit] if word.eq_ignore_ascii_case(b"limit") => {
                let limit = std::str::from_utf8(limit)
                    .ok()
                    .and_then(|l| l.parse::<i64>().ok())
                    .ok_or(Reply::error("ERR value is not an integer or out of range"))?;
                if limit < 0 {
                    return Err(Reply::error("ERR LIMIT can't be negative"));
                }
                Some(limit as u64)
            }
            _ => return Err(Reply::error("ERR syntax error")),
        }
    } else {
        None
    };
    Ok(Plan {
        op,
        sources,
        store,
        card_limit,
    })
}

/// Computes `args` (keys at `keys`, in several groups) in a task; its reply is the returned
/// [`Pending`].
pub(crate) fn send(
    worker: &Arc<Worker>,
    conn: &ClientConn,
    name: &str,
    args: &[Bytes],
    keys: &[usize],
) -> Pending {
    let (tx, rx) = oneshot::channel();
    let worker = worker.clone();
    let (protocol, db, affinity) = (conn.protocol, conn.db, conn.id);
    if name == "msetnx" {
        let pairs: Vec<(Bytes, Bytes)> = keys
            .iter()
            .map(|&k| (args[k].clone(), args[k + 1].clone()))
            .collect();
        tokio::spawn(async move {
            let reply = msetnx(&worker, db, affinity, pairs).await;
            let _ = tx.send(encode(&reply, protocol));
        });
    } else if zset_op(name).is_some() {
        let plan = match zplan(name, args, keys) {
            Ok(plan) => plan,
            Err(reply) => return Pending::Ready(encode(&reply, conn.protocol)),
        };
        tokio::spawn(async move {
            let reply = run_zset(&worker, db, affinity, plan, protocol == Protocol::Resp3).await;
            let _ = tx.send(encode(&reply, protocol));
        });
    } else {
        let plan = match plan(name, args, keys) {
            Ok(plan) => plan,
            Err(reply) => return Pending::Ready(encode(&reply, conn.protocol)),
        };
        tokio::spawn(async move {
            let reply = run(&worker, db, affinity, plan).await;
            let _ = tx.send(encode(&reply, protocol));
        });
    }
    Pending::Task {
        rx,
        result: None,
        group: None,
    }
}

/// One request to the primary owning `key`, in RESP2, decoded.
async fn call(worker: &Worker, db: usize, affinity: u64, key: &[u8], request: &[Bytes]) -> Reply {
    let backend = worker.groups[worker.slots.group_of_key(key)].primary();
    let rx = backend.send(Protocol::Resp2, db, affinity, encode_args(request), 1);
    match tokio::time::timeout(worker.config.request_timeout, rx).await {
        Ok(Ok(Ok(bytes))) => decode(&bytes).unwrap_or(Reply::error("ERR malformed node reply")),
        Ok(Ok(Err(err))) => Reply::error_owned(err.to_string()),
        _ => Reply::error_owned(format!("ERR node {} timed out", backend.addr)),
    }
}

async fn run(worker: &Worker, db: usize, affinity: u64, plan: Plan) -> Reply {
    let mut sets: Vec<Vec<Bytes>> = Vec::with_capacity(plan.sources.len());
    for key in &plan.sources {
        let request = [Bytes::from_static(b"SMEMBERS"), key.clone()];
        match call(worker, db, affinity, key, &request).await {
            Reply::Array(members) | Reply::Set(members) => sets.push(
                members
                    .into_iter()
                    .filter_map(|m| match m {
                        Reply::Bulk(b) => Some(b),
                        _ => None,
                    })
                    .collect(),
            ),
            error @ Reply::Error(_) => return error,
            _ => sets.push(Vec::new()),
        }
    }
    let result = combine(plan.op, &sets);
    if let Some(limit) = plan.card_limit {
        let count = result.len() as u64;
        return Reply::Int(if limit == 0 { count } else { count.min(limit) } as i64);
    }
    let Some(destination) = plan.store else {
        return Reply::Set(result.into_iter().map(Reply::Bulk).collect());
    };
    let count = result.len() as i64;
    let delete = [Bytes::from_static(b"DEL"), destination.clone()];
    if let error @ Reply::Error(_) = call(worker, db, affinity, &destination, &delete).await {
        return error;
    }
    if !result.is_empty() {
        let mut add = vec![Bytes::from_static(b"SADD"), destination.clone()];
        add.extend(result);
        if let error @ Reply::Error(_) = call(worker, db, affinity, &destination, &add).await {
            return error;
        }
    }
    Reply::Int(count)
}

/// `MSETNX` over groups: nothing is set if any key exists (checked first, key by key), else
/// every key is set, group by group. Not atomic: a key created meanwhile is overwritten.
async fn msetnx(worker: &Worker, db: usize, affinity: u64, pairs: Vec<(Bytes, Bytes)>) -> Reply {
    for (key, _) in &pairs {
        match call(
            worker,
            db,
            affinity,
            key,
            &[Bytes::from_static(b"EXISTS"), key.clone()],
        )
        .await
        {
            Reply::Int(0) => {}
            Reply::Int(_) => return Reply::Int(0),
            error => return error,
        }
    }
    for (key, value) in pairs {
        let request = [Bytes::from_static(b"SET"), key.clone(), value];
        if let error @ Reply::Error(_) = call(worker, db, affinity, &key, &request).await {
            return error;
        }
    }
    Reply::Int(1)
}

/// Reads each source of `plan` (sorted sets, or sets as scores of 1), combines them, and
/// answers or stores the result.
async fn run_zset(worker: &Worker, db: usize, affinity: u64, plan: ZPlan, resp3: bool) -> Reply {
    let mut inputs = Vec::with_capacity(plan.sources.len());
    for key in &plan.sources {
        let request = [
            Bytes::from_static(b"ZRANGE"),
            key.clone(),
            Bytes::from_static(b"0"),
            Bytes::from_static(b"-1"),
            Bytes::from_static(b"WITHSCORES"),
        ];
        let input: Vec<(Bytes, f64)> = match call(worker, db, affinity, key, &request).await {
            Reply::Array(flat) => flat
                .chunks(2)
                .filter_map(|pair| match pair {
                    [Reply::Bulk(m), Reply::Bulk(s)] => Some((m.clone(), parse_f64(s)?)),
                    _ => None,
                })
                .collect(),
            Reply::Error(e) if e.starts_with("WRONGTYPE") => {
                // A set counts as a sorted set whose scores are all 1.
                let request = [Bytes::from_static(b"SMEMBERS"), key.clone()];
                match call(worker, db, affinity, key, &request).await {
                    Reply::Array(members) | Reply::Set(members) => members
                        .into_iter()
                        .filter_map(|m| match m {
                            Reply::Bulk(m) => Some((m, 1.0)),
                            _ => None,
                        })
                        .collect(),
                    other => return other,
                }
            }
            error @ Reply::Error(_) => return error,
            _ => Vec::new(),
        };
        inputs.push(input);
    }
    let result = zcombine(&plan, &inputs);
    if let Some(limit) = plan.card_limit {
        let count = result.len() as u64;
        return Reply::Int(if limit == 0 { count } else { count.min(limit) } as i64);
    }
    let Some(destination) = plan.store else {
        // WITHSCORES: [member, score] pairs in RESP3, flat in RESP2, as Redis replies.
        return Reply::Array(if plan.withscores && resp3 {
            result
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect()
        } else if plan.withscores {
            result
                .into_iter()
                .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
                .collect()
        } else {
            result.into_iter().map(|(m, _)| Reply::Bulk(m)).collect()
        });
    };
    let count = result.len() as i64;
    let delete = [Bytes::from_static(b"DEL"), destination.clone()];
    if let error @ Reply::Error(_) = call(worker, db, affinity, &destination, &delete).await {
        return error;
    }
    for part in result.chunks(512) {
        let mut add = vec![Bytes::from_static(b"ZADD"), destination.clone()];
        for (member, score) in part {
            add.push(Bytes::from(redoubt_protocol::reply::format_double(*score)));
            add.push(member.clone());
        }
        if let error @ Reply::Error(_) = call(worker, db, affinity, &destination, &add).await {
            return error;
        }
    }
    Reply::Int(count)
}

/// The set operation over `sets` (the first set first), members kept in first-seen order.
fn combine(op: Op, sets: &[Vec<Bytes>]) -> Vec<Bytes> {
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let others: Vec<HashSet<&Bytes>> = rest.iter().map(|s| s.iter().collect()).collect();
    match op {
        Op::Inter => first
            .iter()
            .filter(|m| others.iter().all(|s| s.contains(m)))
            .cloned()
            .collect(),
        Op::Diff => first
            .iter()
            .filter(|m| !others.iter().any(|s| s.contains(m)))
            .cloned()
            .collect(),
        Op::Union => {
            let mut seen = HashSet::new();
            sets.iter()
                .flatten()
                .filter(|m| seen.insert(*m))
                .cloned()
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(members: &[&str]) -> Vec<Bytes> {
        members
            .iter()
            .map(|m| Bytes::copy_from_slice(m.as_bytes()))
            .collect()
    }

    #[test]
    fn set_operations_follow_redis() {
        let sets = [
            set(&["a", "b", "c", "d"]),
            set(&["c"]),
            set(&["a", "c", "e"]),
        ];
        assert_eq!(combine(Op::Inter, &sets), set(&["c"]));
        assert_eq!(combine(Op::Diff, &sets), set(&["b", "d"]));
        assert_eq!(combine(Op::Union, &sets), set(&["a", "b", "c", "d", "e"]));
        assert_eq!(combine(Op::Inter, &[set(&["a"]), set(&[])]), set(&[]));
    }

    #[test]
    fn sintercard_limit_is_parsed_as_redis_does() {
        let args = |words: &[&str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        let plan_of = |words: &[&str]| plan("sintercard", &args(words), &[2, 3]);
        assert_eq!(
            plan_of(&["SINTERCARD", "2", "a", "b"]).unwrap().card_limit,
            Some(0)
        );
        assert_eq!(
            plan_of(&["SINTERCARD", "2", "a", "b", "LIMIT", "5"])
                .unwrap()
                .card_limit,
            Some(5)
        );
        assert_eq!(
            plan_of(&["SINTERCARD", "2", "a", "b", "LIMIT", "-1"]).unwrap_err(),
            Reply::error("ERR LIMIT can't be negative")
        );
    }
}
