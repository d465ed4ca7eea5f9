//! Multi-key set commands whose keys live in several groups, computed in the proxy: `SINTER`,
//! `SUNION`, `SDIFF`, `SINTERCARD` and the `*STORE` forms.
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
    )
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
    let plan = match plan(name, args, keys) {
        Ok(plan) => plan,
        Err(reply) => return Pending::Ready(encode(&reply, conn.protocol)),
    };
    let (tx, rx) = oneshot::channel();
    let worker = worker.clone();
    let (protocol, db, affinity) = (conn.protocol, conn.db, conn.id);
    tokio::spawn(async move {
        let reply = run(&worker, db, affinity, plan).await;
        let _ = tx.send(encode(&reply, protocol));
    });
    Pending::Task {
        rx,
        result: None,
        group: None,
    }
}

/// One request to the primary owning `key`, in RESP2, decoded.
async fn call(worker: &Worker, db: usize, affinity: u64, key: &[u8], request: &[Bytes]) -> Reply {
    let backend = worker.groups[worker.slots.group_of_key(key)].primary();
    let rx = backend.send(Protocol::Resp2, db, affinity, encode_args(request));
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
